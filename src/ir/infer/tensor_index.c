/*
 * tensor_index.c - shape inference for ops driven by index or mask data:
 * Gather, GatherElements, GatherND, ScatterND, ScatterElements (and the
 * deprecated Scatter), TensorScatter, OneHot, Compress, NonZero and Unique.
 * Index values themselves are checked by the kernels.
 */
#include <string.h>

#include "core/dtype.h"
#include "ir/infer/tensor_infer.h"

static kiln_status need_int_indices(const kiln_op_ctx *ctx, int i)
{
    KILN_TRY(kiln_need_input(ctx, i));
    if (!kiln_dtype_is_int(ctx->in[i]->dtype))
        return kiln_unsupported_dtype(ctx, "indices", ctx->in[i]->dtype);
    return KILN_OK;
}

kiln_status kiln_infer_gather(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 1, KILN_MAX_RANK));
    KILN_TRY(need_int_indices(ctx, 1));
    const kiln_tensor *x = ctx->in[0], *idx = ctx->in[1];
    int axis, r = x->rank + idx->rank - 1;
    int64_t dims[KILN_MAX_RANK];
    KILN_TRY(kiln_tensor_axis_attr(ctx, "axis", 0, x->rank, &axis));
    if (r > KILN_MAX_RANK)
        return kiln_error(KILN_ERR_LIMIT, "Gather's output rank %d is over kiln's limit %d", r, KILN_MAX_RANK);
    int k = 0;
    for (int i = 0; i < axis; i++)
        dims[k++] = x->dims[i];
    for (int i = 0; i < idx->rank; i++)
        dims[k++] = idx->dims[i];
    for (int i = axis + 1; i < x->rank; i++)
        dims[k++] = x->dims[i];
    kiln_infer_set(ctx, 0, x->dtype, r, dims);
    return KILN_OK;
}

kiln_status kiln_infer_gather_elements(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 1, KILN_MAX_RANK));
    KILN_TRY(need_int_indices(ctx, 1));
    const kiln_tensor *x = ctx->in[0], *idx = ctx->in[1];
    int axis;
    KILN_TRY(kiln_tensor_axis_attr(ctx, "axis", 0, x->rank, &axis));
    if (idx->rank != x->rank)
        return kiln_error(KILN_ERR_SHAPE, "indices have rank %d, the data rank %d", idx->rank, x->rank);
    for (int i = 0; i < x->rank; i++)
        if (i != axis && x->dims[i] >= 0 && idx->dims[i] > x->dims[i])
            return kiln_error(KILN_ERR_SHAPE, "indices extent %lld on axis %d exceeds the data's %lld",
                              (long long)idx->dims[i], i, (long long)x->dims[i]);
    kiln_infer_set(ctx, 0, x->dtype, idx->rank, idx->dims);
    return KILN_OK;
}

kiln_status kiln_infer_gather_nd(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 1, KILN_MAX_RANK));
    KILN_TRY(kiln_need_rank(ctx, 1, 1, KILN_MAX_RANK));
    KILN_TRY(need_int_indices(ctx, 1));
    const kiln_tensor *x = ctx->in[0], *idx = ctx->in[1];
    int64_t b = kiln_attr_int(ctx->node, "batch_dims", 0), k = idx->dims[idx->rank - 1], dims[KILN_MAX_RANK];
    int q = idx->rank, r = x->rank;
    if (b < 0 || b >= q || b >= r)
        return kiln_error(KILN_ERR_SHAPE, "batch_dims %lld must be below both ranks (%d, %d)", (long long)b, q, r);
    for (int i = 0; i < b; i++)
        if (x->dims[i] >= 0 && idx->dims[i] >= 0 && x->dims[i] != idx->dims[i])
            return kiln_error(KILN_ERR_SHAPE, "batch dim %d: data %lld, indices %lld", i, (long long)x->dims[i],
                              (long long)idx->dims[i]);
    if (k < 0) {
        kiln_infer_set(ctx, 0, x->dtype, -1, dims);
        return KILN_OK;
    }
    if (k < 1 || k > r - b)
        return kiln_error(KILN_ERR_SHAPE, "indices' last extent %lld must be in 1..%lld", (long long)k,
                          (long long)(r - b));
    int out_r = q - 1 + r - (int)b - (int)k, n = 0;
    if (out_r > KILN_MAX_RANK)
        return kiln_error(KILN_ERR_LIMIT, "GatherND's output rank %d is over kiln's limit %d", out_r, KILN_MAX_RANK);
    for (int i = 0; i < q - 1; i++)
        dims[n++] = idx->dims[i];
    for (int i = (int)(b + k); i < r; i++)
        dims[n++] = x->dims[i];
    kiln_infer_set(ctx, 0, x->dtype, out_r, dims);
    return KILN_OK;
}

/* Unknown extents agree with anything. */
static int dims_agree(int64_t a, int64_t b)
{
    return a < 0 || b < 0 || a == b;
}

kiln_status kiln_infer_scatter_nd(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 1, KILN_MAX_RANK));
    KILN_TRY(kiln_need_rank(ctx, 1, 1, KILN_MAX_RANK));
    KILN_TRY(need_int_indices(ctx, 1));
    KILN_TRY(kiln_need_input(ctx, 2));
    const kiln_tensor *x = ctx->in[0], *idx = ctx->in[1], *upd = ctx->in[2];
    int q = idx->rank, r = x->rank;
    int64_t k = idx->dims[q - 1];
    if (upd->dtype != x->dtype)
        return kiln_error(KILN_ERR_SHAPE, "updates are %s, the data %s", kiln_dtype_name(upd->dtype),
                          kiln_dtype_name(x->dtype));
    if (k >= 0) {
        if (k < 1 || k > r)
            return kiln_error(KILN_ERR_SHAPE, "indices' last extent %lld must be in 1..%d", (long long)k, r);
        if (upd->rank != q - 1 + r - k)
            return kiln_error(KILN_ERR_SHAPE, "updates have rank %d, expected %lld", upd->rank,
                              (long long)(q - 1 + r - k));
        for (int i = 0; i < upd->rank; i++) {
            int64_t want = i < q - 1 ? idx->dims[i] : x->dims[k + i - (q - 1)];
            if (!dims_agree(upd->dims[i], want))
                return kiln_error(KILN_ERR_SHAPE, "updates extent %lld on axis %d, expected %lld",
                                  (long long)upd->dims[i], i, (long long)want);
        }
    }
    kiln_infer_copy(ctx, 0, 0);
    return KILN_OK;
}

kiln_status kiln_infer_scatter_elements(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 1, KILN_MAX_RANK));
    KILN_TRY(need_int_indices(ctx, 1));
    KILN_TRY(kiln_need_input(ctx, 2));
    const kiln_tensor *x = ctx->in[0], *idx = ctx->in[1], *upd = ctx->in[2];
    int axis;
    KILN_TRY(kiln_tensor_axis_attr(ctx, "axis", 0, x->rank, &axis));
    if (idx->rank != x->rank || upd->rank != x->rank)
        return kiln_error(KILN_ERR_SHAPE, "indices (rank %d) and updates (rank %d) must have the data's rank %d",
                          idx->rank, upd->rank, x->rank);
    if (upd->dtype != x->dtype)
        return kiln_error(KILN_ERR_SHAPE, "updates are %s, the data %s", kiln_dtype_name(upd->dtype),
                          kiln_dtype_name(x->dtype));
    for (int i = 0; i < x->rank; i++) {
        if (!dims_agree(idx->dims[i], upd->dims[i]))
            return kiln_error(KILN_ERR_SHAPE, "indices and updates differ on axis %d", i);
        if (i != axis && x->dims[i] >= 0 && idx->dims[i] > x->dims[i])
            return kiln_error(KILN_ERR_SHAPE, "indices extent %lld on axis %d exceeds the data's %lld",
                              (long long)idx->dims[i], i, (long long)x->dims[i]);
    }
    kiln_infer_copy(ctx, 0, 0);
    return KILN_OK;
}

kiln_status kiln_tensor_scatter_axis(const kiln_op_ctx *ctx, int *axis)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 2, KILN_MAX_RANK));
    KILN_TRY(kiln_need_input(ctx, 1));
    const kiln_tensor *x = ctx->in[0], *upd = ctx->in[1];
    KILN_TRY(kiln_tensor_axis_attr(ctx, "axis", -2, x->rank, axis));
    if (*axis == 0)
        return kiln_error(KILN_ERR_SHAPE, "axis must not be the batch axis 0");
    if (upd->rank != x->rank || upd->dtype != x->dtype)
        return kiln_error(KILN_ERR_SHAPE, "update must have the cache's rank and type");
    for (int i = 0; i < x->rank; i++) {
        int ok = i == *axis ? (x->dims[i] < 0 || upd->dims[i] <= x->dims[i]) : dims_agree(x->dims[i], upd->dims[i]);
        if (!ok)
            return kiln_error(KILN_ERR_SHAPE, "update extent %lld on axis %d does not fit the cache's %lld",
                              (long long)upd->dims[i], i, (long long)x->dims[i]);
    }
    if (ctx->n_in > 2 && ctx->in[2]) {
        const kiln_tensor *w = ctx->in[2];
        if (w->rank != 1 || !dims_agree(w->dims[0], x->dims[0]) || !kiln_dtype_is_int(w->dtype))
            return kiln_error(KILN_ERR_SHAPE, "write_indices must be an integer vector of the batch size");
    }
    const char *mode = kiln_attr_string(ctx->node, "mode", "linear");
    if (strcmp(mode, "linear") != 0 && strcmp(mode, "circular") != 0)
        return kiln_error(KILN_ERR_UNSUPPORTED, "TensorScatter mode '%s' is not supported", mode);
    return KILN_OK;
}

kiln_status kiln_infer_tensor_scatter(kiln_op_ctx *ctx)
{
    int axis;
    KILN_TRY(kiln_tensor_scatter_axis(ctx, &axis));
    kiln_infer_copy(ctx, 0, 0);
    return KILN_OK;
}

/* ---- OneHot, Compress, NonZero, Unique ------------------------------------ */

kiln_status kiln_tensor_one_hot_params(const kiln_op_ctx *ctx, int *axis, int64_t *depth)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 0, KILN_MAX_RANK - 1));
    for (int i = 1; i < 3; i++)
        KILN_TRY(kiln_need_input(ctx, i));
    const kiln_tensor *idx = ctx->in[0], *d = ctx->in[1], *v = ctx->in[2];
    int64_t a = kiln_attr_int(ctx->node, "axis", -1);
    if (!kiln_dtype_is_int(idx->dtype) && !kiln_dtype_is_float(idx->dtype))
        return kiln_unsupported_dtype(ctx, "indices", idx->dtype);
    KILN_TRY(kiln_norm_axis(a, idx->rank + 1, "axis", axis));
    if (v->rank != 1 || (v->dims[0] >= 0 && v->dims[0] != 2))
        return kiln_error(KILN_ERR_SHAPE, "values must hold exactly [off_value, on_value]");
    if (d->rank > 1 || (d->rank == 1 && d->dims[0] >= 0 && d->dims[0] != 1))
        return kiln_error(KILN_ERR_SHAPE, "depth must hold exactly one value");
    *depth = KILN_DIM_UNKNOWN;
    if (!d->data)
        return KILN_OK;
    if (!kiln_dtype_is_int(d->dtype) && !kiln_dtype_is_float(d->dtype))
        return kiln_unsupported_dtype(ctx, "depth", d->dtype);
    *depth = kiln_load_i64(d->data, d->dtype, 0);
    if (*depth < 0)
        return kiln_error(KILN_ERR_SHAPE, "depth is %lld, negative", (long long)*depth);
    return KILN_OK;
}

kiln_status kiln_infer_one_hot(kiln_op_ctx *ctx)
{
    int axis;
    int64_t depth, dims[KILN_MAX_RANK];
    KILN_TRY(kiln_tensor_one_hot_params(ctx, &axis, &depth));
    const kiln_tensor *idx = ctx->in[0];
    for (int i = 0, k = 0; i < idx->rank + 1; i++)
        dims[i] = i == axis ? depth : idx->dims[k++];
    kiln_infer_set(ctx, 0, ctx->in[2]->dtype, idx->rank + 1, dims);
    return kiln_tensor_check_outputs(ctx);
}

kiln_status kiln_tensor_compress_params(const kiln_op_ctx *ctx, int *axis, int64_t *count)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 1, KILN_MAX_RANK));
    KILN_TRY(kiln_need_rank(ctx, 1, 1, 1));
    const kiln_tensor *x = ctx->in[0], *c = ctx->in[1];
    int64_t extent = kiln_tensor_numel(x);
    *axis = -1;
    if (kiln_attr_find(ctx->node, "axis")) {
        KILN_TRY(kiln_tensor_axis_attr(ctx, "axis", 0, x->rank, axis));
        extent = x->dims[*axis];
    }
    *count = KILN_DIM_UNKNOWN;
    if (!c->data || c->dims[0] < 0)
        return KILN_OK;
    int64_t n = 0;
    for (int64_t i = 0; i < c->dims[0]; i++) {
        if (!kiln_tensor_nonzero_at(c, i))
            continue;
        if (extent >= 0 && i >= extent)
            return kiln_error(KILN_ERR_SHAPE, "condition[%lld] is true past the extent %lld", (long long)i,
                              (long long)extent);
        n++;
    }
    *count = n;
    return KILN_OK;
}

kiln_status kiln_infer_compress(kiln_op_ctx *ctx)
{
    int axis;
    int64_t count, dims[KILN_MAX_RANK];
    KILN_TRY(kiln_tensor_compress_params(ctx, &axis, &count));
    const kiln_tensor *x = ctx->in[0];
    if (axis < 0) {
        kiln_infer_set(ctx, 0, x->dtype, 1, &count);
        return KILN_OK;
    }
    memcpy(dims, x->dims, sizeof dims);
    dims[axis] = count;
    kiln_infer_set(ctx, 0, x->dtype, x->rank, dims);
    return KILN_OK;
}

kiln_status kiln_infer_nonzero(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 0, KILN_MAX_RANK));
    const kiln_tensor *x = ctx->in[0];
    int64_t dims[2] = {x->rank, KILN_DIM_UNKNOWN}, n = kiln_tensor_numel(x);
    if (x->data && n >= 0) {
        if (!kiln_dtype_valid(x->dtype))
            return kiln_unsupported_dtype(ctx, "X", x->dtype);
        dims[1] = 0;
        for (int64_t i = 0; i < n; i++)
            dims[1] += kiln_tensor_nonzero_at(x, i);
    }
    kiln_infer_set(ctx, 0, KILN_INT64, 2, dims);
    return KILN_OK;
}

kiln_status kiln_infer_unique(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 0, KILN_MAX_RANK));
    const kiln_tensor *x = ctx->in[0];
    int64_t dims[KILN_MAX_RANK], n_unique = KILN_DIM_UNKNOWN, n_slices = kiln_tensor_numel(x);
    int axis = -1;
    if (!kiln_dtype_valid(x->dtype))
        return kiln_unsupported_dtype(ctx, "X", x->dtype);
    if (kiln_attr_find(ctx->node, "axis")) {
        KILN_TRY(kiln_tensor_axis_attr(ctx, "axis", 0, x->rank, &axis));
        n_slices = x->dims[axis];
    }
    if (x->data) {
        kiln_unique_result u;
        KILN_TRY(kiln_unique_compute(ctx, &u));
        n_unique = u.n_unique;
        kiln_unique_free(&u);
    }
    if (axis < 0) {
        kiln_infer_set(ctx, 0, x->dtype, 1, &n_unique);
    } else {
        memcpy(dims, x->dims, sizeof dims);
        dims[axis] = n_unique;
        kiln_infer_set(ctx, 0, x->dtype, x->rank, dims);
    }
    kiln_infer_set(ctx, 1, KILN_INT64, 1, &n_unique);
    kiln_infer_set(ctx, 2, KILN_INT64, 1, &n_slices);
    kiln_infer_set(ctx, 3, KILN_INT64, 1, &n_unique);
    return KILN_OK;
}
