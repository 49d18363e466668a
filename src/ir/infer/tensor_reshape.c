/*
 * tensor_reshape.c - shape inference for ops that change the shape but not
 * the order of elements (Flatten, Reshape, Squeeze, Unsqueeze) and for the
 * replicating ops Expand and Tile.
 */
#include <string.h>

#include "core/dtype.h"
#include "ir/infer/tensor_infer.h"

/* Product of n dims: KILN_DIM_UNKNOWN when one is unknown, an error past 64 bits. */
static kiln_status dims_product(const int64_t *dims, int n, int64_t *out)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        if (dims[i] < 0) {
            *out = KILN_DIM_UNKNOWN;
            return KILN_OK;
        }
    KILN_TRY(kiln_shape_numel(dims, n, &p, "shape"));
    *out = p;
    return KILN_OK;
}

kiln_status kiln_infer_flatten(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 0, KILN_MAX_RANK));
    const kiln_tensor *x = ctx->in[0];
    int64_t axis = kiln_attr_int(ctx->node, "axis", 1), dims[2];
    if (axis < -x->rank || axis > x->rank)
        return kiln_error(KILN_ERR_SHAPE, "axis %lld is out of range for rank %d", (long long)axis, x->rank);
    if (axis < 0)
        axis += x->rank;
    KILN_TRY(dims_product(x->dims, (int)axis, &dims[0]));
    KILN_TRY(dims_product(x->dims + axis, x->rank - (int)axis, &dims[1]));
    kiln_infer_set(ctx, 0, x->dtype, 2, dims);
    return KILN_OK;
}

/* ---- Reshape ------------------------------------------------------------- */

/* Fills the -1 entry at index neg from the element count of x. */
static kiln_status reshape_fill(const kiln_tensor *x, int64_t *dims, int n, int neg)
{
    int64_t in_n, rest = 1;
    KILN_TRY(dims_product(x->dims, x->rank, &in_n));
    dims[neg] = 1;
    KILN_TRY(dims_product(dims, n, &rest));
    dims[neg] = KILN_DIM_UNKNOWN;
    if (in_n < 0 || rest < 0)
        return KILN_OK;
    if (rest == 0 || in_n % rest != 0)
        return kiln_error(KILN_ERR_SHAPE, "cannot reshape %lld elements: the other dims hold %lld", (long long)in_n,
                          (long long)rest);
    dims[neg] = in_n / rest;
    return KILN_OK;
}

/* Resolves 0 (copy the input dim, unless allowzero) and -1 (inferred). */
static kiln_status reshape_resolve(const kiln_tensor *x, const int64_t *shape, int n, int allowzero, int64_t *dims)
{
    int neg = -1, zero = 0;
    for (int i = 0; i < n; i++) {
        int64_t v = shape[i];
        dims[i] = v;
        if (v < -1)
            return kiln_error(KILN_ERR_SHAPE, "shape[%d] is %lld", i, (long long)v);
        if (v == -1) {
            if (neg >= 0)
                return kiln_error(KILN_ERR_SHAPE, "shape has -1 at both %d and %d", neg, i);
            neg = i;
        } else if (v == 0 && allowzero) {
            zero = 1;
        } else if (v == 0) {
            if (i >= x->rank)
                return kiln_error(KILN_ERR_SHAPE, "shape[%d] is 0 (copy) but the input has rank %d", i, x->rank);
            dims[i] = x->dims[i];
        }
    }
    if (neg >= 0 && zero)
        return kiln_error(KILN_ERR_SHAPE, "shape has both 0 and -1 with allowzero = 1");
    if (neg >= 0)
        return reshape_fill(x, dims, n, neg);
    int64_t in_n, out_n;
    KILN_TRY(dims_product(x->dims, x->rank, &in_n));
    KILN_TRY(dims_product(dims, n, &out_n));
    if (in_n >= 0 && out_n >= 0 && in_n != out_n)
        return kiln_error(KILN_ERR_SHAPE, "cannot reshape %lld elements into %lld", (long long)in_n, (long long)out_n);
    return KILN_OK;
}

kiln_status kiln_infer_reshape(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 0, KILN_MAX_RANK));
    const kiln_tensor *x = ctx->in[0];
    int64_t shape[KILN_MAX_RANK], dims[KILN_MAX_RANK];
    int n, known = 1;
    if (ctx->opset < 5) {
        const int64_t *v;
        int64_t count;
        if (!kiln_attr_ints(ctx->node, "shape", &v, &count))
            return kiln_error(KILN_ERR_GRAPH, "Reshape-1 needs the shape attribute");
        if (count > KILN_MAX_RANK)
            return kiln_error(KILN_ERR_LIMIT, "shape has %lld entries, more than %d", (long long)count, KILN_MAX_RANK);
        memcpy(shape, v, (size_t)count * sizeof *v);
        n = (int)count;
    } else {
        KILN_TRY(kiln_tensor_read_input(ctx, 1, shape, KILN_MAX_RANK, &n, &known, "shape"));
    }
    if (!known) {
        kiln_infer_set_unknown(ctx, 0, x->dtype, n);
        return KILN_OK;
    }
    int allowzero = ctx->opset >= 14 && kiln_attr_int(ctx->node, "allowzero", 0) != 0;
    KILN_TRY(reshape_resolve(x, shape, n, allowzero, dims));
    kiln_infer_set(ctx, 0, x->dtype, n, dims);
    return KILN_OK;
}

/* ---- Squeeze, Unsqueeze ------------------------------------------------------ */

/* The axes of (Un)Squeeze: the attribute before opset 13, input 1 from 13.
 * *n = -1 when absent (Squeeze: every extent-1 axis). */
static kiln_status squeeze_axes(const kiln_op_ctx *ctx, int64_t *axes, int *n, int *known)
{
    *n = -1;
    *known = 1;
    if (ctx->opset >= 13) {
        if (ctx->n_in < 2 || !ctx->in[1])
            return KILN_OK;
        return kiln_tensor_read_input(ctx, 1, axes, KILN_MAX_RANK, n, known, "axes");
    }
    const int64_t *v;
    int64_t count;
    if (!kiln_attr_ints(ctx->node, "axes", &v, &count))
        return KILN_OK;
    if (count > KILN_MAX_RANK)
        return kiln_error(KILN_ERR_LIMIT, "axes has %lld entries, more than %d", (long long)count, KILN_MAX_RANK);
    memcpy(axes, v, (size_t)count * sizeof *v);
    *n = (int)count;
    return KILN_OK;
}

/* Squeeze without axes: every axis of extent 1 (unknown rank when an extent is unknown). */
static void squeeze_all(kiln_op_ctx *ctx, const kiln_tensor *x)
{
    int64_t dims[KILN_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        if (x->dims[i] < 0) {
            kiln_infer_set(ctx, 0, x->dtype, -1, dims);
            return;
        }
        if (x->dims[i] != 1)
            dims[r++] = x->dims[i];
    }
    kiln_infer_set(ctx, 0, x->dtype, r, dims);
}

kiln_status kiln_infer_squeeze(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 0, KILN_MAX_RANK));
    const kiln_tensor *x = ctx->in[0];
    int64_t axes_v[KILN_MAX_RANK], dims[KILN_MAX_RANK];
    int n, known, axes[KILN_MAX_RANK], r = 0;
    unsigned char drop[KILN_MAX_RANK] = {0};
    KILN_TRY(squeeze_axes(ctx, axes_v, &n, &known));
    if (n < 0 && known) {
        squeeze_all(ctx, x);
        return KILN_OK;
    }
    if (!known) {
        kiln_infer_set_unknown(ctx, 0, x->dtype, n < 0 || n > x->rank ? -1 : x->rank - n);
        return KILN_OK;
    }
    KILN_TRY(kiln_tensor_norm_axes(axes_v, n, x->rank, "axes", axes));
    for (int i = 0; i < n; i++) {
        if (x->dims[axes[i]] >= 0 && x->dims[axes[i]] != 1)
            return kiln_error(KILN_ERR_SHAPE, "cannot squeeze axis %d of extent %lld", axes[i],
                              (long long)x->dims[axes[i]]);
        drop[axes[i]] = 1;
    }
    for (int i = 0; i < x->rank; i++)
        if (!drop[i])
            dims[r++] = x->dims[i];
    kiln_infer_set(ctx, 0, x->dtype, r, dims);
    return KILN_OK;
}

kiln_status kiln_infer_unsqueeze(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 0, KILN_MAX_RANK));
    const kiln_tensor *x = ctx->in[0];
    int64_t axes_v[KILN_MAX_RANK], dims[KILN_MAX_RANK];
    int n, known, axes[KILN_MAX_RANK];
    unsigned char added[KILN_MAX_RANK] = {0};
    KILN_TRY(squeeze_axes(ctx, axes_v, &n, &known));
    if (n < 0 && known)
        return kiln_error(KILN_ERR_GRAPH, "Unsqueeze needs axes");
    int r = n < 0 ? -1 : x->rank + n;
    if (r > KILN_MAX_RANK)
        return kiln_error(KILN_ERR_LIMIT, "Unsqueeze to rank %d is over kiln's limit %d", r, KILN_MAX_RANK);
    if (!known) {
        kiln_infer_set_unknown(ctx, 0, x->dtype, r);
        return KILN_OK;
    }
    KILN_TRY(kiln_tensor_norm_axes(axes_v, n, r, "axes", axes));
    for (int i = 0; i < n; i++)
        added[axes[i]] = 1;
    for (int i = 0, k = 0; i < r; i++)
        dims[i] = added[i] ? 1 : x->dims[k++];
    kiln_infer_set(ctx, 0, x->dtype, r, dims);
    return KILN_OK;
}

/* ---- Expand, Tile ---------------------------------------------------------- */

kiln_status kiln_infer_expand(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 0, KILN_MAX_RANK));
    const kiln_tensor *x = ctx->in[0];
    int64_t shape[KILN_MAX_RANK], dims[KILN_MAX_RANK];
    int n, known, r;
    KILN_TRY(kiln_tensor_read_input(ctx, 1, shape, KILN_MAX_RANK, &n, &known, "shape"));
    if (n < 0) {
        kiln_infer_set(ctx, 0, x->dtype, -1, dims);
        return KILN_OK;
    }
    if (known) {
        for (int i = 0; i < n; i++)
            if (shape[i] < 0)
                return kiln_error(KILN_ERR_SHAPE, "shape[%d] is %lld, negative", i, (long long)shape[i]);
        KILN_TRY(kiln_broadcast_shape(x->rank, x->dims, n, shape, &r, dims));
        kiln_infer_set(ctx, 0, x->dtype, r, dims);
        return kiln_tensor_check_outputs(ctx);
    }
    /* shape unknown: an input extent other than 1 survives the broadcast */
    r = x->rank > n ? x->rank : n;
    for (int i = 0; i < r; i++) {
        int xi = i - (r - x->rank);
        int64_t d = xi >= 0 ? x->dims[xi] : 1;
        dims[i] = (d >= 0 && d != 1) ? d : KILN_DIM_UNKNOWN;
    }
    kiln_infer_set(ctx, 0, x->dtype, r, dims);
    return KILN_OK;
}

kiln_status kiln_tensor_tile_repeats(const kiln_op_ctx *ctx, int64_t *reps, int *known)
{
    int r = ctx->in[0]->rank, n;
    if (ctx->opset < 6) {
        /* Tile-1: input 1 is the repeat count, input 2 the axis */
        int64_t tiles, axis;
        int ax;
        *known = ctx->n_in > 2 && ctx->in[1] && ctx->in[2] && ctx->in[1]->data && ctx->in[2]->data;
        if (!*known)
            return KILN_OK;
        KILN_TRY(kiln_tensor_read_scalar(ctx, 1, &tiles, "tiles"));
        KILN_TRY(kiln_tensor_read_scalar(ctx, 2, &axis, "axis"));
        KILN_TRY(kiln_norm_axis(axis, r, "axis", &ax));
        for (int i = 0; i < r; i++)
            reps[i] = i == ax ? tiles : 1;
    } else {
        KILN_TRY(kiln_tensor_read_input(ctx, 1, reps, KILN_MAX_RANK, &n, known, "repeats"));
        if (n >= 0 && n != r)
            return kiln_error(KILN_ERR_SHAPE, "repeats has %d entries for an input of rank %d", n, r);
    }
    for (int i = 0; i < r && *known; i++)
        if (reps[i] < 0)
            return kiln_error(KILN_ERR_SHAPE, "repeats[%d] is %lld, negative", i, (long long)reps[i]);
    return KILN_OK;
}

kiln_status kiln_infer_tile(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 0, KILN_MAX_RANK));
    const kiln_tensor *x = ctx->in[0];
    int64_t reps[KILN_MAX_RANK], dims[KILN_MAX_RANK];
    int known;
    KILN_TRY(kiln_tensor_tile_repeats(ctx, reps, &known));
    for (int i = 0; i < x->rank; i++) {
        dims[i] = KILN_DIM_UNKNOWN;
        if (!known || x->dims[i] < 0)
            continue;
        if (reps[i] != 0 && x->dims[i] > INT64_MAX / reps[i])
            return kiln_error(KILN_ERR_LIMIT, "Tile's output extent on axis %d overflows", i);
        dims[i] = x->dims[i] * reps[i];
    }
    kiln_infer_set(ctx, 0, x->dtype, x->rank, dims);
    return kiln_tensor_check_outputs(ctx);
}
