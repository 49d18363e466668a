/*
 * reduce_topk_cum.c - shape inference for TopK and for the cumulative ops
 * CumSum / CumProd, and the reading of their k / axis inputs (shared with
 * the CPU kernels).
 */
#include "ir/infer/reduce_infer.h"

/* A one-element integer input (shape [] or [1]): *known = 0 without data. */
static kiln_status read_scalar_input(const kiln_op_ctx *ctx, int i, const char *what, int *known, int64_t *v)
{
    KILN_TRY(kiln_need_input(ctx, i));
    const kiln_tensor *t = ctx->in[i];
    int64_t n = kiln_tensor_numel(t);
    if (n >= 0 && (n != 1 || t->rank > 1))
        return kiln_error(KILN_ERR_SHAPE, "%s must hold exactly one value (shape [] or [1])", what);
    *known = t->data != NULL;
    if (!*known)
        return KILN_OK;
    int count;
    return kiln_read_ints(t, v, 1, &count, what);
}

kiln_status kiln_topk_get_k(const kiln_op_ctx *ctx, int *known, int64_t *k)
{
    if (ctx->opset >= 10) {
        KILN_TRY(read_scalar_input(ctx, 1, "K", known, k));
    } else {
        if (ctx->n_in > 1 && ctx->in[1])
            return kiln_error(KILN_ERR_GRAPH, "TopK takes K as an input only from opset 10 (the model has %d)",
                              ctx->opset);
        if (!kiln_attr_find(ctx->node, "k"))
            return kiln_error(KILN_ERR_GRAPH, "TopK before opset 10 needs the attribute k");
        *known = 1;
        *k = kiln_attr_int(ctx->node, "k", 0);
    }
    if (*known && *k < 0)
        return kiln_error(KILN_ERR_SHAPE, "TopK's k is %lld; it must not be negative", (long long)*k);
    return KILN_OK;
}

kiln_status kiln_infer_topk(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    const kiln_tensor *x = ctx->in[0];
    int64_t dims[KILN_MAX_RANK];
    int known, axis;
    int64_t k = 0;
    KILN_TRY(kiln_topk_get_k(ctx, &known, &k));
    if (x->rank >= 0) {
        KILN_TRY(kiln_norm_axis(kiln_attr_int(ctx->node, "axis", -1), x->rank, "axis", &axis));
        if (known && x->dims[axis] >= 0 && k > x->dims[axis])
            return kiln_error(KILN_ERR_SHAPE, "TopK's k is %lld, more than the %lld elements along axis %d",
                              (long long)k, (long long)x->dims[axis], axis);
        for (int d = 0; d < x->rank; d++)
            dims[d] = x->dims[d];
        dims[axis] = known ? k : KILN_DIM_UNKNOWN;
    }
    kiln_infer_set(ctx, 0, x->dtype, x->rank, dims);
    kiln_infer_set(ctx, 1, KILN_INT64, x->rank, dims);
    return KILN_OK;
}

kiln_status kiln_cumulative_get_axis(const kiln_op_ctx *ctx, int *known, int *axis)
{
    int64_t a = 0;
    KILN_TRY(read_scalar_input(ctx, 1, "axis", known, &a));
    if (*known)
        return kiln_norm_axis(a, ctx->in[0]->rank, "axis", axis);
    return KILN_OK;
}

kiln_status kiln_infer_cumulative(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    if (ctx->in[0]->rank >= 0) {
        int known, axis;
        KILN_TRY(kiln_cumulative_get_axis(ctx, &known, &axis));
    }
    kiln_infer_copy(ctx, 0, 0);
    return KILN_OK;
}
