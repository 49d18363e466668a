/*
 * infer_util.c - shared shape-inference helpers.
 */
#include "ir/infer/infer_util.h"

#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"

kiln_status kiln_broadcast_shape(int ra, const int64_t *da, int rb, const int64_t *db, int *rank, int64_t *dims)
{
    int r = ra > rb ? ra : rb;
    if (ra < 0 || rb < 0) {
        *rank = -1;
        return KILN_OK;
    }
    for (int i = 0; i < r; i++) {
        int ia = i - (r - ra), ib = i - (r - rb);
        int64_t a = ia >= 0 ? da[ia] : 1;
        int64_t b = ib >= 0 ? db[ib] : 1;
        int64_t d;
        if (a == 1)
            d = b;
        else if (b == 1)
            d = a;
        else if (a < 0)
            d = b; /* unknown broadcast against a known extent: the extent */
        else if (b < 0)
            d = a;
        else if (a == b)
            d = a;
        else
            return kiln_error(KILN_ERR_SHAPE, "cannot broadcast dim %d: %lld vs %lld", i, (long long)a,
                              (long long)b);
        dims[i] = d;
    }
    *rank = r;
    return KILN_OK;
}

kiln_status kiln_broadcast_inputs(const kiln_op_ctx *ctx, int first, int last, int *rank, int64_t *dims)
{
    int r = 0;
    int64_t d[KILN_MAX_RANK];
    for (int i = first; i <= last && i < ctx->n_in; i++) {
        const kiln_tensor *t = ctx->in[i];
        int64_t next[KILN_MAX_RANK];
        if (!t)
            continue;
        /* into a separate array: a growing rank shifts dims right */
        KILN_TRY(kiln_broadcast_shape(r, d, t->rank, t->dims, &r, next));
        if (r < 0)
            break;
        memcpy(d, next, sizeof(int64_t) * (size_t)r);
    }
    *rank = r;
    for (int i = 0; i < r; i++)
        dims[i] = d[i];
    return KILN_OK;
}

void kiln_infer_copy(kiln_op_ctx *ctx, int o, int i)
{
    if (o < ctx->n_out && ctx->out[o] && i < ctx->n_in && ctx->in[i])
        kiln_tensor_set_shape(ctx->out[o], ctx->in[i]->dtype, ctx->in[i]->rank, ctx->in[i]->dims);
}

void kiln_infer_set(kiln_op_ctx *ctx, int o, kiln_dtype dt, int rank, const int64_t *dims)
{
    if (o < ctx->n_out && ctx->out[o])
        kiln_tensor_set_shape(ctx->out[o], dt, rank, dims);
}

void kiln_infer_set_unknown(kiln_op_ctx *ctx, int o, kiln_dtype dt, int rank)
{
    int64_t dims[KILN_MAX_RANK];
    for (int i = 0; i < rank && i < KILN_MAX_RANK; i++)
        dims[i] = KILN_DIM_UNKNOWN;
    kiln_infer_set(ctx, o, dt, rank, dims);
}

kiln_status kiln_norm_axis(int64_t axis, int rank, const char *what, int *out)
{
    if (axis < -rank || axis >= rank || rank < 0)
        return kiln_error(KILN_ERR_SHAPE, "%s %lld is out of range for rank %d", what, (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return KILN_OK;
}

/* t's element count, when its data is known and it has at most max elements. */
static kiln_status known_count(const kiln_tensor *t, int max, const char *what, int64_t *n)
{
    if (!t || !t->data)
        return kiln_error(KILN_ERR_UNSUPPORTED, "%s must be known before running (a constant)", what);
    *n = kiln_tensor_numel(t);
    if (*n < 0 || *n > max)
        return kiln_error(KILN_ERR_SHAPE, "%s has %lld elements, more than %d", what, (long long)*n, max);
    return KILN_OK;
}

kiln_status kiln_read_ints(const kiln_tensor *t, int64_t *vals, int max, int *count, const char *what)
{
    int64_t n;
    KILN_TRY(known_count(t, max, what, &n));
    if (!kiln_dtype_is_int(t->dtype))
        return kiln_error(KILN_ERR_UNSUPPORTED, "%s must be an integer tensor, not %s", what,
                          kiln_dtype_name(t->dtype));
    for (int64_t i = 0; i < n; i++)
        vals[i] = kiln_load_i64(t->data, t->dtype, (size_t)i);
    *count = (int)n;
    return KILN_OK;
}

kiln_status kiln_read_floats(const kiln_tensor *t, double *vals, int max, int *count, const char *what)
{
    int64_t n;
    KILN_TRY(known_count(t, max, what, &n));
    for (int64_t i = 0; i < n; i++)
        vals[i] = kiln_load_f64(t->data, t->dtype, (size_t)i);
    *count = (int)n;
    return KILN_OK;
}

kiln_status kiln_need_input(const kiln_op_ctx *ctx, int i)
{
    if (i >= ctx->n_in || !ctx->in[i])
        return kiln_error(KILN_ERR_GRAPH, "input %d is required", i);
    return KILN_OK;
}

kiln_status kiln_need_rank(const kiln_op_ctx *ctx, int i, int lo, int hi)
{
    KILN_TRY(kiln_need_input(ctx, i));
    int r = ctx->in[i]->rank;
    if (r < 0)
        return kiln_error(KILN_ERR_SHAPE, "input %d has an unknown rank", i);
    if (r < lo || r > hi)
        return kiln_error(KILN_ERR_SHAPE, "input %d has rank %d, expected %d..%d", i, r, lo, hi);
    return KILN_OK;
}

kiln_status kiln_unsupported_dtype(const kiln_op_ctx *ctx, const char *which, kiln_dtype dt)
{
    return kiln_error(KILN_ERR_UNSUPPORTED, "unsupported dtype %s for %s of %s (opset %d)",
                      kiln_dtype_name(dt) ? kiln_dtype_name(dt) : "(invalid)", which, ctx->node->op_type,
                      ctx->opset);
}

/* n elements of dt, zeroed when zero, refusing more than max_bytes. */
static kiln_status alloc_elems(kiln_dtype dt, int64_t n, size_t max_bytes, const char *what, int zero, void **out)
{
    size_t bytes;
    KILN_TRY(kiln_bytes_for(dt, n, max_bytes, &bytes, what));
    /* one byte minimum so empty buffers still have a valid pointer */
    *out = zero ? calloc(bytes ? bytes : 1, 1) : malloc(bytes ? bytes : 1);
    if (!*out)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", what, bytes);
    return KILN_OK;
}

kiln_status kiln_alloc_elems(kiln_dtype dt, int64_t n, size_t max_bytes, const char *what, void **out)
{
    return alloc_elems(dt, n, max_bytes, what, 0, out);
}

kiln_status kiln_alloc_zeroed(kiln_dtype dt, int64_t n, size_t max_bytes, const char *what, void **out)
{
    return alloc_elems(dt, n, max_bytes, what, 1, out);
}
