/*
 * linalg_einsum.c - CPU kernel for Einsum.
 *
 * Operands are contracted pairwise, left to right. Each operand is a view:
 * one extent and stride per distinct label (a label repeated within a term,
 * a diagonal, has the sum of its strides). Contracting view L with view R:
 *   - labels of one side that no later step needs are summed out first;
 *   - labels of both sides split into batch labels (still needed) and
 *     contracted labels (not needed); the rest are free labels of L or R;
 *   - L is laid out as [batch, free L, contracted] and R as [batch,
 *     contracted, free R] (or either transposed), copying only when the
 *     view is not already laid out so, and every batch is one gemm.
 * So "bhid,bhjd->bhij" is a batched sgemm with no copies. Extents of 1
 * broadcast against larger ones, as in numpy.
 */
#include "backends/cpu/ops/linalg_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXL KILN_EINSUM_MAX_LABELS

typedef struct ein_view {
    int rank;
    unsigned char labels[MAXL];
    int64_t dims[MAXL];
    int64_t strides[MAXL]; /* in elements */
    const void *data;
    void *owned; /* freed with the view; NULL when data is borrowed */
} ein_view;

/* What one Einsum run shares between its steps. */
typedef struct ein_run {
    kiln_la_kind kind;
    size_t es; /* bytes per element */
    size_t max_bytes;
    int64_t label_dims[MAXL];
} ein_run;

static int find_label(const ein_view *v, int label)
{
    for (int p = 0; p < v->rank; p++)
        if (v->labels[p] == label)
            return p;
    return -1;
}

static void view_free(ein_view *v)
{
    free(v->owned);
    v->owned = NULL;
}

/* The view of input tensor t under its term's labels. */
static kiln_status view_input(const ein_run *r, const kiln_tensor *t, const unsigned char *labels, ein_view *v)
{
    int64_t strides[KILN_MAX_RANK];
    kiln_strides(t->dims, t->rank, strides);
    v->rank = 0;
    for (int d = 0; d < t->rank; d++) {
        int p = find_label(v, labels[d]);
        if (p >= 0) {
            v->strides[p] += strides[d];
            continue;
        }
        v->labels[v->rank] = labels[d];
        v->dims[v->rank] = t->dims[d];
        v->strides[v->rank++] = strides[d];
    }
    return kiln_stage_in(t, kiln_la_dtype(r->kind), r->max_bytes, &v->data, &v->owned);
}

/* dst[doff + j * ds] += src[soff + j * ss] for j < n. */
static void accumulate(kiln_la_kind kind, const void *src, int64_t soff, int64_t ss, void *dst, int64_t doff,
                       int64_t ds, int64_t n)
{
    if (kind == KILN_LA_F32) {
        const float *s = (const float *)src + soff;
        float *d = (float *)dst + doff;
        for (int64_t j = 0; j < n; j++)
            d[j * ds] += s[j * ss];
    } else if (kind == KILN_LA_F64) {
        const double *s = (const double *)src + soff;
        double *d = (double *)dst + doff;
        for (int64_t j = 0; j < n; j++)
            d[j * ds] += s[j * ss];
    } else {
        const uint64_t *s = (const uint64_t *)src + soff;
        uint64_t *d = (uint64_t *)dst + doff;
        for (int64_t j = 0; j < n; j++)
            d[j * ds] += s[j * ss];
    }
}

/* Element count of up to MAXL extents (intermediates may exceed the rank
 * limit of kiln_shape_numel). */
static kiln_status count_elems(const int64_t *dims, int n, int64_t *out)
{
    int64_t c = 1;
    for (int i = 0; i < n; i++) {
        if (dims[i] < 0)
            return kiln_error(KILN_ERR_INTERNAL, "Einsum extent %lld", (long long)dims[i]);
        if (dims[i] != 0 && c > INT64_MAX / dims[i])
            return kiln_error(KILN_ERR_LIMIT, "Einsum intermediate: the element count overflows 64 bits");
        c *= dims[i];
    }
    *out = c;
    return KILN_OK;
}

static kiln_status alloc_zeroed(const ein_run *r, int64_t n, void **out)
{
    return kiln_alloc_zeroed(kiln_la_dtype(r->kind), n, r->max_bytes, "Einsum intermediate", out);
}
/*
 * A new contiguous view with labels `labels` (extents `dims`) from src:
 * src labels missing from `labels` are summed, extents of 1 in src broadcast
 * to dims. The walk covers the destination's labels, then src's others.
 */
static kiln_status gather(const ein_run *r, const ein_view *src, int rank, const unsigned char *labels,
                          const int64_t *dims, ein_view *dst)
{
    int64_t it_dims[MAXL + 1], s_src[MAXL + 1], s_dst[MAXL + 1], n_dst;
    int n_it = 0;
    KILN_TRY(count_elems(dims, rank, &n_dst));
    memset(dst, 0, sizeof *dst);
    dst->rank = rank;
    memcpy(dst->labels, labels, (size_t)rank);
    memcpy(dst->dims, dims, sizeof(int64_t) * (size_t)rank);
    kiln_strides(dims, rank, dst->strides);
    for (int d = 0; d < rank; d++) {
        int p = find_label(src, labels[d]);
        if (p >= 0 && src->dims[p] != dims[d] && src->dims[p] != 1)
            return kiln_error(KILN_ERR_INTERNAL, "Einsum gather of extent %lld into %lld", (long long)src->dims[p],
                              (long long)dims[d]);
        it_dims[n_it] = dims[d];
        s_dst[n_it] = dst->strides[d];
        s_src[n_it++] = p >= 0 && src->dims[p] != 1 ? src->strides[p] : 0;
    }
    for (int p = 0; p < src->rank; p++)
        if (!memchr(labels, src->labels[p], (size_t)rank)) {
            it_dims[n_it] = src->dims[p];
            s_dst[n_it] = 0;
            s_src[n_it++] = src->strides[p];
        }
    if (n_it == 0) {
        it_dims[0] = 1;
        s_dst[0] = s_src[0] = 0;
        n_it = 1;
    }
    int64_t n_outer;
    KILN_TRY(count_elems(it_dims, n_it - 1, &n_outer));
    KILN_TRY(alloc_zeroed(r, n_dst, &dst->owned));
    dst->data = dst->owned;
    if (it_dims[n_it - 1] == 0)
        return KILN_OK;
    /* outer dims by counter, the last dim as a strided inner loop */
    int64_t idx[MAXL + 1] = {0}, off[2] = {0, 0};
    int64_t *steps[2] = {s_src, s_dst};
    for (int64_t o = 0; o < n_outer; o++) {
        accumulate(r->kind, src->data, off[0], s_src[n_it - 1], dst->owned, off[1], s_dst[n_it - 1], it_dims[n_it - 1]);
        kiln_nd_next(n_it - 1, it_dims, idx, 2, steps, off);
    }
    return KILN_OK;
}

/* Whether v holds exactly `order` (extents dims) contiguously, row-major. */
static int laid_out_as(const ein_view *v, int n, const unsigned char *order, const int64_t *dims)
{
    if (v->rank != n)
        return 0;
    int64_t s = 1;
    for (int d = n - 1; d >= 0; d--) {
        int p = find_label(v, order[d]);
        if (p < 0 || v->dims[p] != dims[d] || (dims[d] != 1 && v->strides[p] != s))
            return 0;
        s *= dims[d];
    }
    return 1;
}

/* Sums out labels of v that are neither in `other` nor needed later. */
static kiln_status drop_unneeded(const ein_run *r, ein_view *v, const ein_view *other, const unsigned char *needed)
{
    unsigned char keep[MAXL];
    int64_t dims[MAXL];
    int n = 0;
    for (int p = 0; p < v->rank; p++)
        if (needed[v->labels[p]] || find_label(other, v->labels[p]) >= 0) {
            keep[n] = v->labels[p];
            dims[n++] = v->dims[p];
        }
    if (n == v->rank)
        return KILN_OK;
    ein_view g;
    KILN_TRY(gather(r, v, n, keep, dims, &g));
    view_free(v);
    *v = g;
    return KILN_OK;
}

/* The label groups of one contraction, with their extents. */
typedef struct ein_groups {
    int nb, nl, nk, nr; /* batch, free of L, contracted, free of R */
    unsigned char batch[MAXL], lfree[MAXL], con[MAXL], rfree[MAXL];
} ein_groups;

static void split_labels(const ein_view *l, const ein_view *rv, const unsigned char *needed, ein_groups *g)
{
    g->nb = g->nl = g->nk = g->nr = 0;
    for (int p = 0; p < l->rank; p++) {
        int lab = l->labels[p];
        if (find_label(rv, lab) < 0)
            g->lfree[g->nl++] = (unsigned char)lab;
        else if (needed[lab])
            g->batch[g->nb++] = (unsigned char)lab;
        else
            g->con[g->nk++] = (unsigned char)lab;
    }
    for (int p = 0; p < rv->rank; p++)
        if (find_label(l, rv->labels[p]) < 0)
            g->rfree[g->nr++] = rv->labels[p];
}

/* Concatenates label groups into order[] with their global extents. */
static int concat(const ein_run *r, unsigned char *order, int64_t *dims, int n_groups, const unsigned char *const *grp,
                  const int *len)
{
    int n = 0;
    for (int k = 0; k < n_groups; k++)
        for (int j = 0; j < len[k]; j++) {
            order[n] = grp[k][j];
            dims[n++] = r->label_dims[grp[k][j]];
        }
    return n;
}

/*
 * Lays v out as [batch, free, contracted] or [batch, contracted, free]
 * (*con_first), reusing its storage when it already is one of them, else
 * copying it into the first.
 */
static kiln_status as_matrices(const ein_run *r, ein_view *v, const ein_groups *g, const unsigned char *free_lab,
                               int n_free, int *con_first)
{
    unsigned char order[MAXL];
    int64_t dims[MAXL];
    const unsigned char *free_first[3] = {g->batch, free_lab, g->con}, *con_lead[3] = {g->batch, g->con, free_lab};
    int len_ff[3] = {g->nb, n_free, g->nk}, len_cf[3] = {g->nb, g->nk, n_free};
    int n = concat(r, order, dims, 3, con_lead, len_cf);
    if (laid_out_as(v, n, order, dims)) {
        *con_first = 1;
        return KILN_OK;
    }
    concat(r, order, dims, 3, free_first, len_ff);
    *con_first = 0;
    if (laid_out_as(v, n, order, dims))
        return KILN_OK;
    ein_view c;
    KILN_TRY(gather(r, v, n, order, dims, &c));
    view_free(v);
    *v = c;
    return KILN_OK;
}

static int64_t group_size(const ein_run *r, const unsigned char *labels, int n)
{
    int64_t s = 1;
    for (int j = 0; j < n; j++)
        s *= r->label_dims[labels[j]];
    return s;
}

/* out[b] = dot(l[b], r[b]) over k elements each, for nb batches (the
 * M = N = 1 case, where a BLAS call per batch would dominate). */
static void batched_dot(kiln_la_kind kind, const void *l, const void *rv, int64_t nb, int64_t k, void *out)
{
    for (int64_t b = 0; b < nb; b++) {
        int64_t at = b * k;
        if (kind == KILN_LA_F32) {
            float acc = 0;
            for (int64_t j = 0; j < k; j++)
                acc += ((const float *)l)[at + j] * ((const float *)rv)[at + j];
            ((float *)out)[b] = acc;
        } else if (kind == KILN_LA_F64) {
            double acc = 0;
            for (int64_t j = 0; j < k; j++)
                acc += ((const double *)l)[at + j] * ((const double *)rv)[at + j];
            ((double *)out)[b] = acc;
        } else {
            uint64_t acc = 0;
            for (int64_t j = 0; j < k; j++)
                acc += ((const uint64_t *)l)[at + j] * ((const uint64_t *)rv)[at + j];
            ((uint64_t *)out)[b] = acc;
        }
    }
}

/* One gemm per batch: C[b] (M x N) = L[b] (M x K) * R[b] (K x N). */
static kiln_status batched_gemm(const ein_run *r, const ein_view *l, int l_trans, const ein_view *rv, int r_trans,
                                const ein_groups *g, ein_view *out)
{
    int64_t nb = group_size(r, g->batch, g->nb), m = group_size(r, g->lfree, g->nl);
    int64_t k = group_size(r, g->con, g->nk), n = group_size(r, g->rfree, g->nr);
    const unsigned char *grp[3] = {g->batch, g->lfree, g->rfree};
    int len[3] = {g->nb, g->nl, g->nr};
    memset(out, 0, sizeof *out);
    out->rank = concat(r, out->labels, out->dims, 3, grp, len);
    kiln_strides(out->dims, out->rank, out->strides);
    int64_t count;
    KILN_TRY(count_elems(out->dims, out->rank, &count));
    KILN_TRY(alloc_zeroed(r, count, &out->owned));
    out->data = out->owned;
    if (m == 1 && n == 1) {
        batched_dot(r->kind, l->data, rv->data, nb, k, out->owned);
        return KILN_OK;
    }
    kiln_la_gemm gm = {l_trans, r_trans, m, n, k, l_trans ? m : k, r_trans ? k : n, n, 1.0, 0.0};
    for (int64_t b = 0; b < nb; b++) {
        const char *lb = (const char *)l->data + (size_t)(b * m * k) * r->es;
        const char *rb = (const char *)rv->data + (size_t)(b * k * n) * r->es;
        KILN_TRY(kiln_la_gemm_run(r->kind, &gm, lb, rb, (char *)out->owned + (size_t)(b * m * n) * r->es));
    }
    return KILN_OK;
}

/* *l = contraction of *l and *rv; both views are consumed. */
static kiln_status contract(const ein_run *r, ein_view *l, ein_view *rv, const unsigned char *needed)
{
    ein_groups g;
    int l_con_first = 0, r_con_first = 0;
    ein_view out;
    KILN_TRY(drop_unneeded(r, l, rv, needed));
    KILN_TRY(drop_unneeded(r, rv, l, needed));
    split_labels(l, rv, needed, &g);
    KILN_TRY(as_matrices(r, l, &g, g.lfree, g.nl, &l_con_first));
    KILN_TRY(as_matrices(r, rv, &g, g.rfree, g.nr, &r_con_first));
    /* L in [batch, K, M] is transposed; R in [batch, N, K] is transposed */
    kiln_status st = batched_gemm(r, l, l_con_first, rv, !r_con_first, &g, &out);
    if (st != KILN_OK) {
        view_free(&out);
        return st;
    }
    view_free(l);
    view_free(rv);
    *l = out;
    return KILN_OK;
}

/* Writes the final view into y in the output's label order. */
static kiln_status write_output(const ein_run *r, const kiln_einsum_eq *eq, ein_view *v, kiln_tensor *y)
{
    int64_t dims[KILN_MAX_RANK];
    for (int d = 0; d < eq->out_rank; d++)
        dims[d] = r->label_dims[eq->out_labels[d]];
    KILN_TRY(kiln_la_check_out(y, eq->out_rank, dims));
    if (!laid_out_as(v, eq->out_rank, eq->out_labels, dims)) {
        ein_view g;
        KILN_TRY(gather(r, v, eq->out_rank, eq->out_labels, dims, &g));
        view_free(v);
        *v = g;
    }
    kiln_convert(v->data, kiln_la_dtype(r->kind), y->data, y->dtype, (size_t)kiln_tensor_numel(y));
    return KILN_OK;
}

static kiln_status check_inputs(const kiln_op_ctx *ctx, int *ranks)
{
    kiln_dtype dt = ctx->in[0] ? ctx->in[0]->dtype : KILN_UNDEFINED;
    if (ctx->n_in > KILN_EINSUM_MAX_INPUTS)
        return kiln_error(KILN_ERR_UNSUPPORTED, "Einsum with %d inputs (kiln takes up to %d)", ctx->n_in,
                          KILN_EINSUM_MAX_INPUTS);
    if (!kiln_la_is_einsum_type(dt))
        return kiln_unsupported_dtype(ctx, "input", dt);
    for (int i = 0; i < ctx->n_in; i++) {
        if (!ctx->in[i] || ctx->in[i]->dtype != dt)
            return kiln_error(KILN_ERR_GRAPH, "Einsum input %d is missing or not %s", i, kiln_dtype_name(dt));
        ranks[i] = ctx->in[i]->rank;
    }
    if (ctx->out[0]->dtype != dt)
        return kiln_error(KILN_ERR_GRAPH, "Einsum output is %s, inputs %s", kiln_dtype_name(ctx->out[0]->dtype),
                          kiln_dtype_name(dt));
    return KILN_OK;
}

/* Contracts operands 1.. into *acc (operand 0's view). */
static kiln_status contract_all(const kiln_op_ctx *ctx, const ein_run *r, const kiln_einsum_eq *eq, ein_view *acc)
{
    /* last_use[l]: the last operand with label l; the output counts as operand n_in */
    int last_use[MAXL] = {0};
    for (int i = 0; i < eq->n_in; i++)
        for (int d = 0; d < eq->rank[i]; d++)
            last_use[eq->labels[i][d]] = i;
    for (int d = 0; d < eq->out_rank; d++)
        last_use[eq->out_labels[d]] = eq->n_in;
    for (int i = 1; i < eq->n_in; i++) {
        unsigned char needed[MAXL];
        for (int l = 0; l < MAXL; l++)
            needed[l] = last_use[l] > i;
        ein_view v;
        memset(&v, 0, sizeof v);
        kiln_status st = view_input(r, ctx->in[i], eq->labels[i], &v);
        if (st == KILN_OK)
            st = contract(r, acc, &v, needed);
        view_free(&v);
        KILN_TRY(st);
    }
    return KILN_OK;
}

kiln_status kiln_cpu_einsum(kiln_op_ctx *ctx)
{
    int ranks[KILN_EINSUM_MAX_INPUTS];
    kiln_einsum_eq eq;
    ein_run r;
    KILN_TRY(check_inputs(ctx, ranks));
    KILN_TRY(kiln_einsum_parse(kiln_attr_string(ctx->node, "equation", NULL), ctx->n_in, ranks, &eq));
    KILN_TRY(kiln_einsum_label_dims(&eq, ctx->in, r.label_dims));
    r.kind = kiln_la_kind_of(ctx->in[0]->dtype);
    r.es = kiln_la_size(r.kind);
    r.max_bytes = ctx->max_bytes;
    ein_view acc;
    memset(&acc, 0, sizeof acc);
    kiln_status st = view_input(&r, ctx->in[0], eq.labels[0], &acc);
    if (st == KILN_OK)
        st = contract_all(ctx, &r, &eq, &acc);
    if (st == KILN_OK)
        st = write_output(&r, &eq, &acc, ctx->out[0]);
    view_free(&acc);
    return st;
}
