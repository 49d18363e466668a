/*
 * reduce_axes.c - shape inference for the Reduce* ops and ArgMax / ArgMin,
 * and the reading of a Reduce* node's axes (shared with the CPU kernels).
 */
#include <string.h>

#include "ir/infer/reduce_infer.h"

/* The opset from which the op takes axes as its second input instead of an
 * attribute: 13 for ReduceSum, 18 for the other Reduce* ops. */
static int axes_input_opset(const kiln_node *n)
{
    return strcmp(n->op_type, "ReduceSum") == 0 ? 13 : 18;
}

/* Reads the axes list into vals / *count; sets *known = 0 (and *count to the
 * list's length, or -1) when it comes from an input whose data is unknown. */
static kiln_status read_axes_list(const kiln_op_ctx *ctx, int64_t *vals, int *count, int *known)
{
    int from = axes_input_opset(ctx->node);
    const kiln_tensor *in = ctx->n_in > 1 ? ctx->in[1] : NULL;
    *known = 1;
    *count = 0;
    if (ctx->opset < from) {
        if (in)
            return kiln_error(KILN_ERR_GRAPH, "%s takes axes as an input only from opset %d (the model has %d)",
                              ctx->node->op_type, from, ctx->opset);
        const int64_t *a;
        int64_t n;
        if (!kiln_attr_ints(ctx->node, "axes", &a, &n))
            return KILN_OK;
        if (n > KILN_MAX_RANK)
            return kiln_error(KILN_ERR_SHAPE, "axes has %lld entries, more than kiln's rank limit %d", (long long)n,
                              KILN_MAX_RANK);
        memcpy(vals, a, (size_t)n * sizeof *a);
        *count = (int)n;
        return KILN_OK;
    }
    if (kiln_attr_find(ctx->node, "axes"))
        return kiln_error(KILN_ERR_GRAPH, "%s takes axes as an input from opset %d, not as an attribute",
                          ctx->node->op_type, from);
    if (!in)
        return KILN_OK;
    int64_t n = kiln_tensor_numel(in);
    if (n == 0) /* an empty list is known even without data */
        return KILN_OK;
    if (in->data)
        return kiln_read_ints(in, vals, KILN_MAX_RANK, count, "axes");
    *known = 0;
    *count = n > INT32_MAX ? INT32_MAX : (int)n;
    return KILN_OK;
}

kiln_status kiln_reduce_get_axes(const kiln_op_ctx *ctx, kiln_reduce_axes *ax)
{
    int rank = ctx->in[0]->rank;
    int64_t vals[KILN_MAX_RANK];
    int count;
    memset(ax, 0, sizeof *ax);
    ax->keepdims = kiln_attr_int(ctx->node, "keepdims", 1) != 0;
    KILN_TRY(read_axes_list(ctx, vals, &count, &ax->known));
    if (!ax->known) {
        ax->n_axes = count;
        return KILN_OK;
    }
    if (count == 0) {
        /* empty axes: all axes, or none at all with noop_with_empty_axes */
        int noop = kiln_attr_int(ctx->node, "noop_with_empty_axes", 0) != 0;
        for (int d = 0; d < rank; d++)
            ax->reduced[d] = !noop;
        return KILN_OK;
    }
    for (int i = 0; i < count; i++) {
        int a;
        KILN_TRY(kiln_norm_axis(vals[i], rank, "axis", &a));
        if (ax->reduced[a])
            return kiln_error(KILN_ERR_SHAPE, "axis %lld appears more than once in axes", (long long)vals[i]);
        ax->reduced[a] = 1;
    }
    return KILN_OK;
}

/* The output shape when the axes are not known: rank only (if at all). */
static void unknown_axes_shape(const kiln_tensor *x, const kiln_reduce_axes *ax, int *rank, int64_t *dims)
{
    if (ax->keepdims) {
        *rank = x->rank;
        for (int d = 0; d < x->rank; d++)
            dims[d] = x->dims[d] == 1 ? 1 : KILN_DIM_UNKNOWN;
        return;
    }
    *rank = ax->n_axes >= 0 && ax->n_axes <= x->rank ? x->rank - ax->n_axes : -1;
    for (int d = 0; d < *rank; d++)
        dims[d] = KILN_DIM_UNKNOWN;
}

kiln_status kiln_infer_reduce(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    const kiln_tensor *x = ctx->in[0];
    int64_t dims[KILN_MAX_RANK];
    int rank = 0;
    if (x->rank < 0) {
        kiln_infer_set(ctx, 0, x->dtype, -1, dims);
        return KILN_OK;
    }
    kiln_reduce_axes ax;
    KILN_TRY(kiln_reduce_get_axes(ctx, &ax));
    if (!ax.known) {
        unknown_axes_shape(x, &ax, &rank, dims);
    } else {
        for (int d = 0; d < x->rank; d++)
            if (!ax.reduced[d])
                dims[rank++] = x->dims[d];
            else if (ax.keepdims)
                dims[rank++] = 1;
    }
    kiln_infer_set(ctx, 0, x->dtype, rank, dims);
    return KILN_OK;
}

kiln_status kiln_infer_arg_reduce(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    const kiln_tensor *x = ctx->in[0];
    int64_t dims[KILN_MAX_RANK];
    if (x->rank < 0) {
        kiln_infer_set(ctx, 0, KILN_INT64, -1, dims);
        return KILN_OK;
    }
    int axis, rank = 0;
    KILN_TRY(kiln_norm_axis(kiln_attr_int(ctx->node, "axis", 0), x->rank, "axis", &axis));
    if (x->dims[axis] == 0)
        return kiln_error(KILN_ERR_SHAPE, "%s over axis %d, which is empty", ctx->node->op_type, axis);
    int keepdims = kiln_attr_int(ctx->node, "keepdims", 1) != 0;
    for (int d = 0; d < x->rank; d++)
        if (d != axis)
            dims[rank++] = x->dims[d];
        else if (keepdims)
            dims[rank++] = 1;
    kiln_infer_set(ctx, 0, KILN_INT64, rank, dims);
    return KILN_OK;
}
