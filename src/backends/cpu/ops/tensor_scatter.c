/*
 * tensor_scatter.c - kernels that write updates into a copy of the data:
 * ScatterND, ScatterElements (and its deprecated alias Scatter), each with
 * the none/add/mul/max/min reductions, and TensorScatter (KV-cache update).
 */
#include <math.h>
#include <string.h>

#include "backends/cpu/cpu_util.h"
#include "backends/cpu/ops/tensor_kernels.h"
#include "core/dtype.h"

typedef enum reduction { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN } reduction;

static kiln_status get_reduction(const kiln_op_ctx *ctx, reduction *red)
{
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    const char *s = kiln_attr_string(ctx->node, "reduction", "none");
    if (strcmp(ctx->node->op_type, "Scatter") == 0)
        s = "none";
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) {
            *red = (reduction)i;
            return KILN_OK;
        }
    return kiln_error(KILN_ERR_UNSUPPORTED, "reduction '%s' is not supported", s);
}

static double reduce_f64(reduction red, double a, double b)
{
    switch (red) {
    case RED_ADD:
        return a + b;
    case RED_MUL:
        return a * b;
    case RED_MAX:
        return isnan(a) ? a : isnan(b) ? b : a > b ? a : b; /* NaN propagates, as numpy */
    case RED_MIN:
        return isnan(a) ? a : isnan(b) ? b : a < b ? a : b;
    default:
        return b;
    }
}

/* Signed and unsigned integers in wrapping 64-bit arithmetic, stored back
 * at the type's width (so the result wraps like the type's own). */
static void reduce_int(kiln_dtype dt, reduction red, void *dst, const void *src)
{
    if (kiln_dtype_is_signed(dt)) {
        int64_t a = kiln_load_i64(dst, dt, 0), b = kiln_load_i64(src, dt, 0);
        int64_t r = red == RED_ADD   ? (int64_t)((uint64_t)a + (uint64_t)b)
                    : red == RED_MUL ? (int64_t)((uint64_t)a * (uint64_t)b)
                    : red == RED_MAX ? (a > b ? a : b)
                                     : (a < b ? a : b);
        kiln_store_i64(dst, dt, 0, r);
        return;
    }
    uint64_t a = kiln_load_u64(dst, dt, 0), b = kiln_load_u64(src, dt, 0);
    uint64_t r = red == RED_ADD ? a + b : red == RED_MUL ? a * b : red == RED_MAX ? (a > b ? a : b) : (a < b ? a : b);
    kiln_store_u64(dst, dt, 0, r);
}

/* dst = f(dst, src) for one element. */
static void combine(kiln_dtype dt, size_t es, reduction red, char *dst, const char *src)
{
    if (red == RED_NONE) {
        memcpy(dst, src, es);
    } else if (dt == KILN_BOOL) {
        /* numpy on bool: add and max are or, mul and min are and */
        int a = *dst != 0, b = *src != 0;
        *dst = (char)((red == RED_ADD || red == RED_MAX) ? (a | b) : (a & b));
    } else if (kiln_dtype_is_float(dt)) {
        kiln_store_f64(dst, dt, 0, reduce_f64(red, kiln_load_f64(dst, dt, 0), kiln_load_f64(src, dt, 0)));
    } else {
        reduce_int(dt, red, dst, src);
    }
}

/* Output starts as a copy of the data; input `updates` must share its type. */
static kiln_status start_from_data(kiln_op_ctx *ctx, int updates, size_t *es)
{
    const kiln_tensor *x = ctx->in[0];
    kiln_tensor *y = ctx->out[0];
    KILN_TRY(kiln_tensor_esize(ctx, 0, es));
    if (y->nbytes != x->nbytes || ctx->in[updates]->dtype != x->dtype)
        return kiln_error(KILN_ERR_INTERNAL, "%s: output and data differ", ctx->node->op_type);
    if (y->nbytes)
        memcpy(y->data, x->data, x->nbytes);
    return KILN_OK;
}

kiln_status kiln_cpu_scatter_nd(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0], *idx = ctx->in[1], *upd = ctx->in[2];
    reduction red;
    size_t es;
    int64_t xs[KILN_MAX_RANK], tuples, slice, v, k = idx->dims[idx->rank - 1];
    KILN_TRY(get_reduction(ctx, &red));
    KILN_TRY(start_from_data(ctx, 2, &es));
    if (k < 1 || k > x->rank)
        return kiln_error(KILN_ERR_SHAPE, "indices' last extent %lld must be in 1..%d", (long long)k, x->rank);
    KILN_TRY(kiln_shape_numel(idx->dims, idx->rank - 1, &tuples, "index tuples"));
    KILN_TRY(kiln_shape_numel(x->dims + k, x->rank - (int)k, &slice, "updated slice"));
    if (kiln_tensor_numel(upd) != tuples * slice)
        return kiln_error(KILN_ERR_SHAPE, "updates hold %lld elements, expected %lld",
                          (long long)kiln_tensor_numel(upd), (long long)(tuples * slice));
    kiln_strides(x->dims, x->rank, xs);
    char *y = ctx->out[0]->data;
    const char *u = upd->data;
    for (int64_t t = 0; t < tuples; t++) {
        int64_t off = 0;
        for (int64_t j = 0; j < k; j++) {
            KILN_TRY(kiln_load_index(idx, t * k + j, x->dims[j], &v));
            off += v * xs[j];
        }
        char *dst = y + (size_t)off * es;
        const char *src = u + (size_t)(t * slice) * es;
        if (red == RED_NONE) {
            memcpy(dst, src, (size_t)slice * es);
            continue;
        }
        for (int64_t e = 0; e < slice; e++)
            combine(x->dtype, es, red, dst + (size_t)e * es, src + (size_t)e * es);
    }
    return KILN_OK;
}

typedef struct scatter_job {
    kiln_dtype dt;
    size_t es;
    reduction red;
    char *y;
    const char *u;
} scatter_job;

static void scatter_element(void *user, int64_t i, int64_t at)
{
    const scatter_job *j = user;
    combine(j->dt, j->es, j->red, j->y + (size_t)at * j->es, j->u + (size_t)i * j->es);
}

kiln_status kiln_cpu_scatter_elements(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0], *idx = ctx->in[1], *upd = ctx->in[2];
    reduction red;
    size_t es;
    int axis, r = x->rank;
    KILN_TRY(get_reduction(ctx, &red));
    KILN_TRY(start_from_data(ctx, 2, &es));
    KILN_TRY(kiln_tensor_axis_attr(ctx, "axis", 0, r, &axis));
    if (idx->rank != r || upd->rank != r)
        return kiln_error(KILN_ERR_SHAPE, "indices and updates must have the data's rank %d", r);
    for (int i = 0; i < r; i++)
        if (idx->dims[i] != upd->dims[i] || (i != axis && idx->dims[i] > x->dims[i]))
            return kiln_error(KILN_ERR_SHAPE, "indices extent %lld on axis %d does not fit the data or updates",
                              (long long)idx->dims[i], i);
    scatter_job job = {x->dtype, es, red, ctx->out[0]->data, upd->data};
    return kiln_walk_elements(x, idx, axis, scatter_element, &job);
}

kiln_status kiln_cpu_tensor_scatter(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0], *upd = ctx->in[1];
    const kiln_tensor *w = ctx->n_in > 2 ? ctx->in[2] : NULL;
    int axis;
    size_t es;
    int64_t prefix, max_len, inner, per_batch;
    KILN_TRY(kiln_tensor_scatter_axis(ctx, &axis));
    KILN_TRY(start_from_data(ctx, 1, &es));
    int circular = strcmp(kiln_attr_string(ctx->node, "mode", "linear"), "circular") == 0;
    KILN_TRY(kiln_split_at_axis(x, axis, &prefix, &max_len, &inner));
    per_batch = x->dims[0] ? prefix / x->dims[0] : 0;
    int64_t seq = upd->dims[axis];
    size_t block = (size_t)inner * es;
    for (int64_t p = 0; p < prefix; p++) {
        int64_t batch = p / per_batch, start = w ? kiln_load_i64(w->data, w->dtype, (size_t)batch) : 0;
        for (int64_t s = 0; s < seq; s++) {
            int64_t c = start + s;
            if (circular)
                c = ((c % max_len) + max_len) % max_len;
            else if (start < 0 || start > max_len - seq)
                return kiln_error(KILN_ERR_SHAPE, "write_indices[%lld] = %lld: %lld rows do not fit %lld",
                                  (long long)batch, (long long)start, (long long)seq, (long long)max_len);
            memcpy((char *)ctx->out[0]->data + (size_t)(p * max_len + c) * block,
                   (const char *)upd->data + (size_t)(p * seq + s) * block, block);
        }
    }
    return KILN_OK;
}
