/*
 * fused_conv.c - shape inference for kiln's fused convolution (domain
 * "kiln"):
 *   FusedConv(X, W, B?, Z?) = act(Conv(X, W, B) + Z)
 * with Conv's attributes and activation / activation_alpha /
 * activation_beta (passes/fuse_activation.h). Z, the residual, has the
 * convolution's output shape and dtype.
 */
#include "core/dtype.h"
#include "ir/infer/fused_view.h"
#include "ir/infer/infer_util.h"

static kiln_status check_residual(const kiln_op_ctx *ctx)
{
    const kiln_tensor *z = kiln_opt_in(ctx, 3), *y = ctx->out[0];
    if (!z || z->rank < 0 || y->rank < 0)
        return KILN_OK;
    char sz[128], sy[128];
    if (z->dtype != y->dtype)
        return kiln_error(KILN_ERR_GRAPH, "residual Z '%s' is %s, the convolution gives %s",
                          kiln_fused_input_name(ctx, 3), kiln_dtype_name(z->dtype), kiln_dtype_name(y->dtype));
    int same = z->rank == y->rank;
    for (int d = 0; same && d < y->rank; d++)
        same = z->dims[d] == y->dims[d] || z->dims[d] == KILN_DIM_UNKNOWN || y->dims[d] == KILN_DIM_UNKNOWN;
    if (!same)
        return kiln_error(KILN_ERR_SHAPE, "residual Z '%s' has shape %s, the convolution gives %s",
                          kiln_fused_input_name(ctx, 3), kiln_shape_str(z->dims, z->rank, sz, sizeof sz),
                          kiln_shape_str(y->dims, y->rank, sy, sizeof sy));
    return KILN_OK;
}

static kiln_status infer_fused_conv(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_fused_infer(ctx, "Conv", 3));
    return check_residual(ctx);
}

/* {name, min_inputs, max_inputs, min_outputs, max_outputs, flags, infer} */
const kiln_op_schema kiln_schemas_fused_conv[] = {
    {"FusedConv", 2, 4, 1, 1, 0, infer_fused_conv},
    {NULL, 0, 0, 0, 0, 0, NULL},
};
