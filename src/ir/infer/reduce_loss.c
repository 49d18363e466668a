/*
 * reduce_loss.c - shape inference for SoftmaxCrossEntropyLoss and
 * NegativeLogLikelihoodLoss: scores / log-probabilities (N, C, d1..dk),
 * labels (N, d1..dk), optional per-class weights (C).
 */
#include <string.h>

#include "ir/infer/reduce_infer.h"

/* Two dims that must agree: the known one, or unknown; fails on a mismatch. */
static kiln_status merge_dim(int64_t a, int64_t b, const char *what, int64_t *out)
{
    if (a >= 0 && b >= 0 && a != b)
        return kiln_error(KILN_ERR_SHAPE, "%s: %lld vs %lld", what, (long long)a, (long long)b);
    *out = a >= 0 ? a : b;
    return KILN_OK;
}

/* Checks the three inputs against each other and gives the per-sample loss
 * shape (N, d1..dk), rank -1 when unknown. */
static kiln_status loss_sample_shape(const kiln_op_ctx *ctx, int *rank, int64_t *dims)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(kiln_need_input(ctx, 1));
    const kiln_tensor *x = ctx->in[0], *labels = ctx->in[1];
    const kiln_tensor *w = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (x->rank >= 0 && x->rank < 2)
        return kiln_error(KILN_ERR_SHAPE, "input 0 has rank %d; it must be (N, C, d1..dk)", x->rank);
    if (x->rank >= 0 && labels->rank >= 0 && labels->rank != x->rank - 1)
        return kiln_error(KILN_ERR_SHAPE, "labels have rank %d; input 0 of rank %d needs rank %d", labels->rank,
                          x->rank, x->rank - 1);
    if (w && w->rank >= 0 && w->rank != 1)
        return kiln_error(KILN_ERR_SHAPE, "weights have rank %d; they must be 1-D (C)", w->rank);
    if (w && w->rank == 1 && x->rank >= 2 && w->dims[0] >= 0 && x->dims[1] >= 0 && w->dims[0] != x->dims[1])
        return kiln_error(KILN_ERR_SHAPE, "weights have %lld entries for %lld classes", (long long)w->dims[0],
                          (long long)x->dims[1]);
    *rank = labels->rank >= 0 ? labels->rank : x->rank >= 0 ? x->rank - 1 : -1;
    for (int d = 0; d < *rank; d++) {
        int64_t from_x = x->rank < 0 ? KILN_DIM_UNKNOWN : x->dims[d == 0 ? 0 : d + 1];
        int64_t from_labels = labels->rank < 0 ? KILN_DIM_UNKNOWN : labels->dims[d];
        KILN_TRY(merge_dim(from_x, from_labels, "labels do not match the input's (N, d1..dk)", &dims[d]));
    }
    return KILN_OK;
}

/* reduction "none" keeps the per-sample shape; "sum" and "mean" give a scalar. */
static kiln_status loss_output(kiln_op_ctx *ctx)
{
    int rank = -1;
    int64_t dims[KILN_MAX_RANK];
    KILN_TRY(loss_sample_shape(ctx, &rank, dims));
    const char *reduction = kiln_attr_string(ctx->node, "reduction", "mean");
    if (strcmp(reduction, "sum") == 0 || strcmp(reduction, "mean") == 0)
        rank = 0;
    else if (strcmp(reduction, "none") != 0)
        return kiln_error(KILN_ERR_UNSUPPORTED, "reduction '%s' is not one of none, sum, mean", reduction);
    kiln_infer_set(ctx, 0, ctx->in[0]->dtype, rank, dims);
    return KILN_OK;
}

kiln_status kiln_infer_sce_loss(kiln_op_ctx *ctx)
{
    KILN_TRY(loss_output(ctx));
    kiln_infer_copy(ctx, 1, 0);
    return KILN_OK;
}

kiln_status kiln_infer_nll_loss(kiln_op_ctx *ctx)
{
    return loss_output(ctx);
}
