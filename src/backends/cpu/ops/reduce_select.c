/*
 * reduce_select.c - the selecting reductions: ArgMax / ArgMin (first or last
 * extreme along one axis) and TopK (k largest or smallest along one axis,
 * sorted, ties in index order). Elements are compared in their own type:
 * floats as double, integers exactly.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_util.h"
#include "backends/cpu/ops/reduce_kernels.h"
#include "ir/infer/reduce_infer.h"

typedef union key {
    double f;
    int64_t i;
    uint64_t u;
} key;

static kiln_status key_kind_of(const kiln_op_ctx *ctx, kiln_dtype dt, kiln_red_kind *kind)
{
    *kind = kiln_red_kind_of(dt);
    return *kind == KILN_RED_NONE ? kiln_unsupported_dtype(ctx, "input 0", dt) : KILN_OK;
}

static key load_key(kiln_red_kind kind, const kiln_tensor *t, int64_t i)
{
    key k;
    if (kind == KILN_RED_FLOAT)
        k.f = kiln_load_f64(t->data, t->dtype, (size_t)i);
    else if (kind == KILN_RED_SIGNED)
        k.i = kiln_load_i64(t->data, t->dtype, (size_t)i);
    else
        k.u = kiln_load_u64(t->data, t->dtype, (size_t)i);
    return k;
}

/* <0, 0, >0 as a < b, a == b, a > b; NaN sorts above every number (numpy's
 * sort order) and equal to NaN. */
static int key_cmp(kiln_red_kind kind, key a, key b)
{
    switch (kind) {
    case KILN_RED_FLOAT:
        if (isnan(a.f) || isnan(b.f))
            return isnan(a.f) - isnan(b.f);
        return (a.f > b.f) - (a.f < b.f);
    case KILN_RED_SIGNED:
        return (a.i > b.i) - (a.i < b.i);
    default:
        return (a.u > b.u) - (a.u < b.u);
    }
}

/* ---- ArgMax / ArgMin ---------------------------------------------------- */

/* >0 when a is preferred over b. NaN is preferred by both ops, as numpy's
 * argmax and argmin return the first NaN. */
static int arg_pref(kiln_red_kind kind, key a, key b, int is_max)
{
    if (kind == KILN_RED_FLOAT && (isnan(a.f) || isnan(b.f)))
        return isnan(a.f) - isnan(b.f);
    int c = key_cmp(kind, a, b);
    return is_max ? c : -c;
}

/* The position of the preferred element of the line at base (stride inner). */
static int64_t arg_line(const kiln_tensor *x, kiln_red_kind kind, int64_t base, int64_t len, int64_t inner, int is_max,
                        int last)
{
    int64_t best_at = 0;
    key best = load_key(kind, x, base);
    for (int64_t l = 1; l < len; l++) {
        key v = load_key(kind, x, base + l * inner);
        int p = arg_pref(kind, v, best, is_max);
        if (p > 0 || (p == 0 && last)) {
            best = v;
            best_at = l;
        }
    }
    return best_at;
}

static kiln_status arg_reduce(kiln_op_ctx *ctx, int is_max)
{
    const kiln_tensor *x = ctx->in[0];
    kiln_red_kind kind = KILN_RED_FLOAT;
    int axis;
    int64_t outer, len, inner, n;
    KILN_TRY(key_kind_of(ctx, x->dtype, &kind));
    KILN_TRY(kiln_shape_numel(x->dims, x->rank, &n, "input 0"));
    KILN_TRY(kiln_norm_axis(kiln_attr_int(ctx->node, "axis", 0), x->rank, "axis", &axis));
    int last = ctx->opset >= 12 && kiln_attr_int(ctx->node, "select_last_index", 0) != 0;
    if (x->dims[axis] == 0)
        return kiln_error(KILN_ERR_SHAPE, "%s over axis %d, which is empty", ctx->node->op_type, axis);
    KILN_CHECK(kiln_tensor_numel(ctx->out[0]) == n / x->dims[axis] && ctx->out[0]->dtype == KILN_INT64);
    if (n == 0)
        return KILN_OK;
    KILN_TRY(kiln_split_at_axis(x, axis, &outer, &len, &inner));
    int64_t *y = ctx->out[0]->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++)
            y[o * inner + i] = arg_line(x, kind, o * len * inner + i, len, inner, is_max, last);
    return KILN_OK;
}

kiln_status kiln_cpu_argmax(kiln_op_ctx *ctx)
{
    return arg_reduce(ctx, 1);
}

kiln_status kiln_cpu_argmin(kiln_op_ctx *ctx)
{
    return arg_reduce(ctx, 0);
}

/* ---- TopK ----------------------------------------------------------------- */

typedef struct sort_ctx {
    const key *keys;
    kiln_red_kind kind;
    int largest;
} sort_ctx;

static int goes_before(const sort_ctx *s, int64_t a, int64_t b)
{
    int c = key_cmp(s->kind, s->keys[a], s->keys[b]);
    return s->largest ? c > 0 : c < 0;
}

/* Stable merge sort of the positions v[0..n) by their keys; equal keys keep
 * their order, so ties come out lower index first. */
static void merge_sort(const sort_ctx *s, int64_t *v, int64_t *tmp, int64_t n)
{
    if (n < 2)
        return;
    int64_t h = n / 2, i = 0, j = h, o = 0;
    merge_sort(s, v, tmp, h);
    merge_sort(s, v + h, tmp, n - h);
    while (i < h && j < n)
        tmp[o++] = goes_before(s, v[j], v[i]) ? v[j++] : v[i++];
    while (i < h)
        tmp[o++] = v[i++];
    while (j < n)
        tmp[o++] = v[j++];
    memcpy(v, tmp, (size_t)n * sizeof *v);
}

/* One TopK run: the sort context, the tensors and the per-line buffers. */
typedef struct topk_job {
    sort_ctx s;
    const kiln_tensor *x;
    kiln_tensor *values, *indices;
    key *keys;
    int64_t *pos, *tmp;
    int64_t len, inner, k;
} topk_job;

/* Sorts the line (outer o, inner i) and writes its first k elements; the
 * values are copied bit for bit. */
static void topk_line(const topk_job *j, int64_t o, int64_t i)
{
    size_t es = kiln_dtype_size(j->x->dtype);
    const unsigned char *src = j->x->data;
    unsigned char *values = j->values->data;
    int64_t *indices = j->indices->data;
    for (int64_t l = 0; l < j->len; l++) {
        j->keys[l] = load_key(j->s.kind, j->x, (o * j->len + l) * j->inner + i);
        j->pos[l] = l;
    }
    merge_sort(&j->s, j->pos, j->tmp, j->len);
    for (int64_t r = 0; r < j->k; r++) {
        int64_t dst = (o * j->k + r) * j->inner + i;
        int64_t from = (o * j->len + j->pos[r]) * j->inner + i;
        memcpy(values + (size_t)dst * es, src + (size_t)from * es, es);
        indices[dst] = j->pos[r];
    }
}

kiln_status kiln_cpu_topk(kiln_op_ctx *ctx)
{
    topk_job j = {.x = ctx->in[0], .values = ctx->out[0], .indices = ctx->n_out > 1 ? ctx->out[1] : NULL};
    int known, axis;
    int64_t outer;
    KILN_TRY(key_kind_of(ctx, j.x->dtype, &j.s.kind));
    KILN_TRY(kiln_topk_get_k(ctx, &known, &j.k));
    KILN_CHECK(known);
    KILN_TRY(kiln_norm_axis(kiln_attr_int(ctx->node, "axis", -1), j.x->rank, "axis", &axis));
    if (j.k > j.x->dims[axis])
        return kiln_error(KILN_ERR_SHAPE, "TopK's k is %lld, more than the %lld elements along axis %d", (long long)j.k,
                          (long long)j.x->dims[axis], axis);
    KILN_CHECK(j.values && j.indices && j.values->dims[axis] == j.k && j.indices->dtype == KILN_INT64);
    if (kiln_tensor_numel(j.values) == 0)
        return KILN_OK;
    KILN_TRY(kiln_split_at_axis(j.x, axis, &outer, &j.len, &j.inner));
    j.s.largest = ctx->opset < 11 || kiln_attr_int(ctx->node, "largest", 1) != 0;
    if ((uint64_t)j.len > ctx->max_bytes / (sizeof(key) + 2 * sizeof(int64_t)))
        return kiln_error(KILN_ERR_LIMIT, "TopK: %lld elements along the axis are over the allocation limit",
                          (long long)j.len);
    j.keys = malloc((size_t)j.len * sizeof *j.keys);
    j.pos = malloc((size_t)j.len * 2 * sizeof *j.pos);
    kiln_status st = KILN_OK;
    if (!j.keys || !j.pos) {
        st = kiln_error(KILN_ERR_OUT_OF_MEMORY, "TopK: cannot allocate sort buffers for %lld elements",
                        (long long)j.len);
    } else {
        j.s.keys = j.keys;
        j.tmp = j.pos + j.len;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < j.inner; i++)
                topk_line(&j, o, i);
    }
    free(j.keys);
    free(j.pos);
    return st;
}
