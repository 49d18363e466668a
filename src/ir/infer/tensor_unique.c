/*
 * tensor_unique.c - Unique's grouping of equal elements (or of equal slices
 * along an axis), shared by shape inference (which needs the count) and the
 * CPU kernel: a stable merge sort of slice positions, then runs of equal
 * slices. Ordering follows numpy.unique: ascending by value, slices
 * compared lexicographically, NaN after every number and equal to NaN.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "ir/infer/tensor_infer.h"

int kiln_tensor_nonzero_at(const kiln_tensor *t, int64_t i)
{
    size_t es = kiln_dtype_size(t->dtype);
    if (kiln_dtype_is_float(t->dtype))
        return kiln_load_f64(t->data, t->dtype, (size_t)i) != 0;
    const unsigned char *p = (const unsigned char *)t->data + (size_t)i * es;
    for (size_t b = 0; b < es; b++)
        if (p[b])
            return 1;
    return 0;
}

/* How slices are laid out: slice s, element k sits at
 * ((k / inner) * extent + s) * inner + k % inner. */
typedef struct slice_view {
    const void *data;
    kiln_dtype dtype;
    int64_t extent, inner, len; /* len: elements per slice */
} slice_view;

static int cmp_elem(const slice_view *v, size_t a, size_t b)
{
    if (kiln_dtype_is_float(v->dtype)) {
        double x = kiln_load_f64(v->data, v->dtype, a), y = kiln_load_f64(v->data, v->dtype, b);
        if (isnan(x) || isnan(y))
            return isnan(x) - isnan(y);
        return (x > y) - (x < y);
    }
    if (kiln_dtype_is_signed(v->dtype)) {
        int64_t x = kiln_load_i64(v->data, v->dtype, a), y = kiln_load_i64(v->data, v->dtype, b);
        return (x > y) - (x < y);
    }
    uint64_t x = kiln_load_u64(v->data, v->dtype, a), y = kiln_load_u64(v->data, v->dtype, b);
    return (x > y) - (x < y);
}

static int cmp_slice(const slice_view *v, int64_t s, int64_t t)
{
    for (int64_t k = 0; k < v->len; k++) {
        int64_t base = (k / v->inner) * v->extent * v->inner + k % v->inner;
        int c = cmp_elem(v, (size_t)(base + s * v->inner), (size_t)(base + t * v->inner));
        if (c)
            return c;
    }
    return 0;
}

/* Stable bottom-up merge sort of the slice positions in perm (tmp: scratch of the same length). */
static void merge_sort(const slice_view *v, int64_t *perm, int64_t *tmp, int64_t n)
{
    for (int64_t width = 1; width < n; width *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * width) {
            int64_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            int64_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = cmp_slice(v, perm[j], perm[i]) < 0 ? perm[j++] : perm[i++];
            while (i < mid)
                tmp[k++] = perm[i++];
            while (j < hi)
                tmp[k++] = perm[j++];
        }
        memcpy(perm, tmp, (size_t)n * sizeof *perm);
    }
}

void kiln_unique_free(kiln_unique_result *r)
{
    free(r->first);
    free(r->inverse);
    free(r->counts);
    r->first = r->inverse = r->counts = NULL;
}

static kiln_status alloc_i64(int64_t n, size_t max_bytes, int64_t **out)
{
    return kiln_alloc_elems(KILN_INT64, n, max_bytes, "Unique scratch", (void **)out);
}
/* Runs of equal slices in sorted order become groups: first occurrence,
 * count, and each slice's group (in inverse). */
static void group_runs(const slice_view *v, const int64_t *perm, int64_t n, kiln_unique_result *r)
{
    int64_t g = -1;
    for (int64_t i = 0; i < n; i++) {
        if (i == 0 || cmp_slice(v, perm[i - 1], perm[i]) != 0) {
            g++;
            r->first[g] = perm[i];
            r->counts[g] = 0;
        }
        r->counts[g]++;
        r->inverse[perm[i]] = g;
    }
    r->n_unique = g + 1;
}

/* sorted = 0: renumbers the groups by first occurrence. Scratch of n
 * entries each: pos (element -> group), old2new, counts_copy. */
static void order_by_occurrence(kiln_unique_result *r, int64_t n, int64_t *pos, int64_t *old2new, int64_t *counts_copy)
{
    memcpy(counts_copy, r->counts, (size_t)r->n_unique * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++)
        pos[i] = -1;
    for (int64_t g = 0; g < r->n_unique; g++)
        pos[r->first[g]] = g;
    int64_t next = 0;
    for (int64_t i = 0; i < n; i++) {
        if (pos[i] < 0)
            continue;
        old2new[pos[i]] = next;
        r->first[next] = i;
        r->counts[next] = counts_copy[pos[i]];
        next++;
    }
    for (int64_t i = 0; i < n; i++)
        r->inverse[i] = old2new[r->inverse[i]];
}

static kiln_status unique_view(const kiln_op_ctx *ctx, kiln_unique_result *r, slice_view *v)
{
    const kiln_tensor *x = ctx->in[0];
    int64_t numel;
    KILN_TRY(kiln_shape_numel(x->dims, x->rank, &numel, "Unique input"));
    v->data = x->data;
    v->dtype = x->dtype;
    r->axis = -1;
    v->extent = numel;
    v->inner = 1;
    v->len = 1;
    if (kiln_attr_find(ctx->node, "axis")) {
        KILN_TRY(kiln_tensor_axis_attr(ctx, "axis", 0, x->rank, &r->axis));
        v->extent = x->dims[r->axis];
        KILN_TRY(kiln_shape_numel(x->dims + r->axis + 1, x->rank - r->axis - 1, &v->inner, "Unique input"));
        v->len = v->extent ? numel / v->extent : 0;
    }
    r->n_slices = v->extent;
    return KILN_OK;
}

kiln_status kiln_unique_compute(const kiln_op_ctx *ctx, kiln_unique_result *r)
{
    slice_view v;
    int64_t *perm = NULL, *tmp = NULL, *extra = NULL;
    int sorted = kiln_attr_int(ctx->node, "sorted", 1) != 0;
    memset(r, 0, sizeof *r);
    KILN_TRY(unique_view(ctx, r, &v));
    if (!kiln_dtype_valid(v.dtype))
        return kiln_unsupported_dtype(ctx, "X", v.dtype);
    int64_t n = r->n_slices;
    kiln_status st = alloc_i64(n, ctx->max_bytes, &perm);
    if (st == KILN_OK)
        st = alloc_i64(n, ctx->max_bytes, &tmp);
    if (st == KILN_OK)
        st = alloc_i64(n, ctx->max_bytes, &r->first);
    if (st == KILN_OK)
        st = alloc_i64(n, ctx->max_bytes, &r->counts);
    if (st == KILN_OK)
        st = alloc_i64(n, ctx->max_bytes, &r->inverse);
    if (st == KILN_OK && !sorted)
        st = alloc_i64(n, ctx->max_bytes, &extra);
    if (st == KILN_OK) {
        for (int64_t i = 0; i < n; i++)
            perm[i] = i;
        merge_sort(&v, perm, tmp, n);
        group_runs(&v, perm, n, r);
        if (!sorted)
            order_by_occurrence(r, n, perm, tmp, extra);
    }
    free(perm);
    free(tmp);
    free(extra);
    if (st != KILN_OK)
        kiln_unique_free(r);
    return st;
}
