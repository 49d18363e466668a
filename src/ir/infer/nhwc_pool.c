/*
 * nhwc_pool.c - shape inference for kiln's channels-last pools (domain
 * "kiln"), made by the layout pass from the pools between channels-last
 * convolutions:
 *   NhwcMaxPool(X) -> Y, NhwcAveragePool(X) -> Y
 *       X [N, H, W, C], Y [N, OH, OW, C]; the attributes of ONNX MaxPool /
 *       AveragePool (pads as [top, left, bottom, right]). NhwcMaxPool has
 *       no Indices output: its storage_order is checked and means nothing.
 *   NhwcGlobalAveragePool(X) -> Y, NhwcGlobalMaxPool(X) -> Y
 *       X [N, H, W, C], Y [N, 1, 1, C].
 * 2-D pools only (rank 4), float dtypes; Y has X's dtype. N and C pass
 * through as they are (symbols included); OH and OW come from
 * conv_pool_geometry.h and are unknown where H or W is.
 */
#include "ir/infer/conv_pool_geometry.h"
#include "ir/infer/infer_util.h"

/* X present with a float dtype, and rank 4 when its rank is known. */
static kiln_status check_input(const kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    const kiln_tensor *x = ctx->in[0];
    if (!kiln_is_std_float(x->dtype))
        return kiln_unsupported_dtype(ctx, "input 0", x->dtype);
    if (x->rank >= 0)
        KILN_TRY(kiln_need_rank(ctx, 0, 4, 4));
    return KILN_OK;
}

/* An INT attribute that must be 0 or 1 (0 when absent). */
static kiln_status check_flag(const kiln_op_ctx *ctx, const char *name)
{
    int64_t v = kiln_attr_int(ctx->node, name, 0);
    if (v != 0 && v != 1)
        return kiln_error(KILN_ERR_UNSUPPORTED, "attribute %s is %lld, expected 0 or 1", name, (long long)v);
    return KILN_OK;
}

/* The windowed pools; `flag` is the op's own 0/1 attribute. The window's
 * attributes are checked even while X's rank is unknown. */
static kiln_status infer_window_pool(kiln_op_ctx *ctx, const char *flag)
{
    KILN_TRY(check_input(ctx));
    KILN_TRY(check_flag(ctx, flag));
    const kiln_tensor *x = ctx->in[0];
    kiln_window w;
    KILN_TRY(kiln_window_read(ctx, 2, NULL, &w));
    if (x->rank < 0) {
        kiln_infer_set_unknown(ctx, 0, x->dtype, 4);
        return KILN_OK;
    }
    int64_t in[2] = {x->dims[1], x->dims[2]};
    KILN_TRY(kiln_window_forward(&w, in));
    int64_t dims[4] = {x->dims[0], w.out[0], w.out[1], x->dims[3]};
    kiln_infer_set(ctx, 0, x->dtype, 4, dims);
    return KILN_OK;
}

static kiln_status infer_nhwc_max_pool(kiln_op_ctx *ctx)
{
    return infer_window_pool(ctx, "storage_order");
}

static kiln_status infer_nhwc_average_pool(kiln_op_ctx *ctx)
{
    return infer_window_pool(ctx, "count_include_pad");
}

static kiln_status infer_nhwc_global_pool(kiln_op_ctx *ctx)
{
    KILN_TRY(check_input(ctx));
    const kiln_tensor *x = ctx->in[0];
    if (x->rank < 0) {
        int64_t dims[4] = {KILN_DIM_UNKNOWN, 1, 1, KILN_DIM_UNKNOWN};
        kiln_infer_set(ctx, 0, x->dtype, 4, dims);
        return KILN_OK;
    }
    int64_t dims[4] = {x->dims[0], 1, 1, x->dims[3]};
    kiln_infer_set(ctx, 0, x->dtype, 4, dims);
    return KILN_OK;
}

/* {name, min_inputs, max_inputs, min_outputs, max_outputs, flags, infer} */
const kiln_op_schema kiln_schemas_nhwc_pool[] = {
    {"NhwcMaxPool", 1, 1, 1, 1, 0, infer_nhwc_max_pool},
    {"NhwcAveragePool", 1, 1, 1, 1, 0, infer_nhwc_average_pool},
    {"NhwcGlobalAveragePool", 1, 1, 1, 1, 0, infer_nhwc_global_pool},
    {"NhwcGlobalMaxPool", 1, 1, 1, 1, 0, infer_nhwc_global_pool},
    {NULL, 0, 0, 0, 0, 0, NULL},
};
