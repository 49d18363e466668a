/*
 * fused_matmul.c - shape inference for kiln's fused matrix products and
 * additions (domain "kiln"), each with the activation attributes
 * activation / activation_alpha / activation_beta:
 *   FusedMatMul(A, B, bias?) = act(MatMul(A, B) + bias), bias a vector
 *                              along the output's last dim
 *   FusedGemm(A, B, C?)      = act(Gemm(A, B, C)), with Gemm's attributes
 *   FusedAdd(A, B)           = act(A + B), numpy broadcasting
 */
#include "core/dtype.h"
#include "ir/infer/fused_view.h"
#include "ir/infer/infer_util.h"

static kiln_status check_bias(const kiln_op_ctx *ctx)
{
    const kiln_tensor *b = kiln_opt_in(ctx, 2), *y = ctx->out[0];
    if (!b || b->rank < 0 || y->rank < 0)
        return KILN_OK;
    char sb[128], sy[128];
    if (b->dtype != y->dtype)
        return kiln_error(KILN_ERR_GRAPH, "bias '%s' is %s, the product gives %s", kiln_fused_input_name(ctx, 2),
                          kiln_dtype_name(b->dtype), kiln_dtype_name(y->dtype));
    int64_t n = y->rank > 0 ? y->dims[y->rank - 1] : 0;
    if (y->rank == 0 || b->rank != 1 || (b->dims[0] != n && b->dims[0] >= 0 && n >= 0))
        return kiln_error(KILN_ERR_SHAPE, "bias '%s' of shape %s is not a vector along the last dim of %s",
                          kiln_fused_input_name(ctx, 2), kiln_shape_str(b->dims, b->rank, sb, sizeof sb),
                          kiln_shape_str(y->dims, y->rank, sy, sizeof sy));
    return KILN_OK;
}

static kiln_status infer_fused_matmul(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_fused_infer(ctx, "MatMul", 2));
    return check_bias(ctx);
}

static kiln_status infer_fused_gemm(kiln_op_ctx *ctx) { return kiln_fused_infer(ctx, "Gemm", 3); }

static kiln_status infer_fused_add(kiln_op_ctx *ctx) { return kiln_fused_infer(ctx, "Add", 2); }

/* {name, min_inputs, max_inputs, min_outputs, max_outputs, flags, infer} */
const kiln_op_schema kiln_schemas_fused_matmul[] = {
    {"FusedMatMul", 2, 3, 1, 1, 0, infer_fused_matmul},
    {"FusedGemm", 2, 3, 1, 1, 0, infer_fused_gemm},
    {"FusedAdd", 2, 2, 1, 1, 0, infer_fused_add},
    {NULL, 0, 0, 0, 0, 0, NULL},
};
