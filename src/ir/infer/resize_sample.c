/*
 * resize_sample.c - shape inference for the resize_sample op family:
 * Resize, Upsample, GridSample, AffineGrid, RoiAlign and NonMaxSuppression,
 * and the table, which also lists the signal ops of resize_sample_signal.c.
 */
#include "core/dtype.h"
#include "ir/infer/infer_util.h"
#include "ir/infer/resize_sample_params.h"

static kiln_status need_float(const kiln_op_ctx *ctx, int i, const char *which)
{
    KILN_TRY(kiln_need_input(ctx, i));
    if (!kiln_is_std_float(ctx->in[i]->dtype))
        return kiln_unsupported_dtype(ctx, which, ctx->in[i]->dtype);
    return KILN_OK;
}

static kiln_status infer_resize(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    kiln_dtype dt = ctx->in[0]->dtype;
    if (!kiln_dtype_valid(dt) || kiln_dtype_is_subbyte(dt) || dt == KILN_FLOAT8E8M0)
        return kiln_unsupported_dtype(ctx, "X", dt);
    if (ctx->in[0]->rank < 0) {
        kiln_infer_set(ctx, 0, dt, -1, NULL);
        return KILN_OK;
    }
    kiln_resize_params p;
    KILN_TRY(kiln_resize_params_parse(ctx, &p));
    kiln_infer_set(ctx, 0, dt, p.rank, p.out_dims);
    return KILN_OK;
}

/* GridSample: X (N, C, D1..Dr), grid (N, H1..Hr, r) -> (N, C, H1..Hr). */
static kiln_status infer_grid_sample(kiln_op_ctx *ctx)
{
    KILN_TRY(need_float(ctx, 0, "X"));
    KILN_TRY(need_float(ctx, 1, "grid"));
    const kiln_tensor *x = ctx->in[0], *g = ctx->in[1];
    int64_t dims[KILN_MAX_RANK];
    if (x->rank < 0 || g->rank < 0) {
        kiln_infer_set_unknown(ctx, 0, x->dtype, x->rank >= 0 ? x->rank : g->rank);
        return KILN_OK;
    }
    if (x->rank < 3 || x->rank != g->rank)
        return kiln_error(KILN_ERR_SHAPE, "GridSample needs X of rank >= 3 and a grid of the same rank (%d, %d)",
                          x->rank, g->rank);
    if (g->dims[g->rank - 1] >= 0 && g->dims[g->rank - 1] != x->rank - 2)
        return kiln_error(KILN_ERR_SHAPE, "the grid's last dim is %lld, expected %d", (long long)g->dims[g->rank - 1],
                          x->rank - 2);
    dims[0] = x->dims[0] >= 0 ? x->dims[0] : g->dims[0];
    dims[1] = x->dims[1];
    for (int d = 2; d < x->rank; d++)
        dims[d] = g->dims[d - 1];
    kiln_infer_set(ctx, 0, x->dtype, x->rank, dims);
    return KILN_OK;
}

/* AffineGrid: theta (N, 2, 3) or (N, 3, 4), size [N, C, H, W] or
 * [N, C, D, H, W] -> grid (N, H, W, 2) or (N, D, H, W, 3). */
static kiln_status infer_affine_grid(kiln_op_ctx *ctx)
{
    KILN_TRY(need_float(ctx, 0, "theta"));
    KILN_TRY(kiln_need_input(ctx, 1));
    const kiln_tensor *size = ctx->in[1];
    int64_t n = kiln_tensor_numel(size);
    if (n >= 0 && n != 4 && n != 5)
        return kiln_error(KILN_ERR_SHAPE, "AffineGrid size has %lld values, expected 4 or 5", (long long)n);
    if (!size->data) {
        int rank = n < 0 ? -1 : (int)n;
        int64_t dims[KILN_MAX_RANK] = {KILN_DIM_UNKNOWN, KILN_DIM_UNKNOWN, KILN_DIM_UNKNOWN, KILN_DIM_UNKNOWN,
                                       KILN_DIM_UNKNOWN};
        if (rank > 0)
            dims[rank - 1] = rank - 2;
        kiln_infer_set(ctx, 0, ctx->in[0]->dtype, rank, dims);
        return KILN_OK;
    }
    int64_t sz[5], dims[KILN_MAX_RANK];
    int count;
    KILN_TRY(kiln_read_ints(size, sz, 5, &count, "size"));
    for (int i = 0; i < count; i++)
        if (sz[i] < 0)
            return kiln_error(KILN_ERR_SHAPE, "size[%d] is negative", i);
    dims[0] = sz[0];
    for (int i = 2; i < count; i++)
        dims[i - 1] = sz[i];
    dims[count - 1] = count - 2;
    kiln_infer_set(ctx, 0, ctx->in[0]->dtype, count, dims);
    return KILN_OK;
}

/* RoiAlign: X (N, C, H, W), rois (R, 4), batch_indices (R) ->
 * (R, C, output_height, output_width). */
static kiln_status infer_roi_align(kiln_op_ctx *ctx)
{
    KILN_TRY(need_float(ctx, 0, "X"));
    KILN_TRY(need_float(ctx, 1, "rois"));
    KILN_TRY(kiln_need_input(ctx, 2));
    if (ctx->in[2]->dtype != KILN_INT64 && ctx->in[2]->dtype != KILN_INT32)
        return kiln_unsupported_dtype(ctx, "batch_indices", ctx->in[2]->dtype);
    const kiln_tensor *x = ctx->in[0], *rois = ctx->in[1];
    if ((x->rank >= 0 && x->rank != 4) || (rois->rank >= 0 && rois->rank != 2))
        return kiln_error(KILN_ERR_SHAPE, "RoiAlign needs X of rank 4 and rois of rank 2");
    int64_t oh = kiln_attr_int(ctx->node, "output_height", 1), ow = kiln_attr_int(ctx->node, "output_width", 1);
    if (oh <= 0 || ow <= 0)
        return kiln_error(KILN_ERR_SHAPE, "output_height and output_width must be positive");
    int64_t dims[4] = {rois->rank == 2 ? rois->dims[0] : KILN_DIM_UNKNOWN, x->rank == 4 ? x->dims[1] : KILN_DIM_UNKNOWN,
                       oh, ow};
    kiln_infer_set(ctx, 0, x->dtype, 4, dims);
    return KILN_OK;
}

/* Known values, or no values at all. */
static int data_known(const kiln_tensor *t)
{
    int64_t n = kiln_tensor_numel(t);
    return n == 0 || (n > 0 && t->data);
}

/* NonMaxSuppression: selected_indices (num_selected, 3) int64; the count
 * depends on the data. */
static kiln_status infer_nms(kiln_op_ctx *ctx)
{
    KILN_TRY(need_float(ctx, 0, "boxes"));
    KILN_TRY(need_float(ctx, 1, "scores"));
    int64_t dims[2] = {KILN_DIM_UNKNOWN, 3};
    int known = 1;
    for (int i = 0; i < ctx->n_in; i++)
        if (ctx->in[i] && !data_known(ctx->in[i]))
            known = 0;
    if (known)
        KILN_TRY(kiln_nms_run(ctx, NULL, &dims[0]));
    kiln_infer_set(ctx, 0, KILN_INT64, 2, dims);
    return KILN_OK;
}

const kiln_op_schema kiln_schemas_resize_sample[] = {
    {"Resize", 1, 4, 1, 1, 0, infer_resize},
    {"Upsample", 1, 2, 1, 1, 0, infer_resize},
    {"GridSample", 2, 2, 1, 1, 0, infer_grid_sample},
    {"AffineGrid", 2, 2, 1, 1, 0, infer_affine_grid},
    {"RoiAlign", 3, 3, 1, 1, 0, infer_roi_align},
    {"NonMaxSuppression", 2, 5, 1, 1, 0, infer_nms},
    {"DFT", 1, 3, 1, 1, 0, kiln_infer_dft},
    {"STFT", 2, 4, 1, 1, 0, kiln_infer_stft},
    {"HannWindow", 1, 1, 1, 1, 0, kiln_infer_window},
    {"HammingWindow", 1, 1, 1, 1, 0, kiln_infer_window},
    {"BlackmanWindow", 1, 1, 1, 1, 0, kiln_infer_window},
    {"MelWeightMatrix", 5, 5, 1, 1, 0, kiln_infer_mel_weight_matrix},
    {NULL, 0, 0, 0, 0, 0, NULL},
};
