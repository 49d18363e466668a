/*
 * resize_sample_resize.c - the Resize and Upsample kernel.
 *
 * Every axis gets a sampling plan (resize_sample_plan.c); then one of three
 * executors runs:
 *  - nearest: a gather that copies elements, for every dtype;
 *  - float32 with only the last two axes resized (NCHW images): per plane,
 *    the input rows resized horizontally, then blended vertically, in
 *    float32;
 *  - anything else: one separable pass per resized axis in double, then
 *    rounding into the output type (integers round half to even and
 *    saturate, as ONNX's reference does).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/ops/resize_sample_internal.h"
#include "backends/cpu/cpu_util.h"

typedef struct rs_job {
    const kiln_tensor *x;
    kiln_tensor *y;
    rs_axis ax[KILN_MAX_RANK];
    int rank;
    double extrapolation;
    size_t max_bytes;
} rs_job;

/* ---- nearest: gather ---------------------------------------------------- */

/* Input offset and extrapolation flag of the output row at idx (every
 * axis but the last). */
static int64_t row_base(const rs_job *j, const int64_t *idx, const int64_t *strides, int *outside)
{
    int64_t base = 0;
    *outside = 0;
    for (int d = 0; d < j->rank - 1; d++) {
        const rs_axis *a = &j->ax[d];
        if (a->identity) {
            base += idx[d] * strides[d];
            continue;
        }
        base += a->idx[idx[d]] * strides[d];
        *outside |= a->outside[idx[d]];
    }
    return base;
}

/* d[o] = s[idx[o]], or the extrapolation value where flagged. */
#define RS_GATHER_ROW(T)                                                                                               \
    do {                                                                                                               \
        const T *s_ = (const T *)src;                                                                                  \
        T *d_ = (T *)dst;                                                                                              \
        T e_;                                                                                                          \
        memcpy(&e_, extrap, sizeof e_);                                                                                \
        if (!flags)                                                                                                    \
            for (int64_t o = 0; o < n; o++)                                                                            \
                d_[o] = s_[idx[o]];                                                                                    \
        else                                                                                                           \
            for (int64_t o = 0; o < n; o++)                                                                            \
                d_[o] = flags[o] ? e_ : s_[idx[o]];                                                                    \
    } while (0)

/* One output row of the last axis; extrap is one element of the dtype;
 * flags is NULL when no index of the axis extrapolates. */
static void gather_row(const void *src, void *dst, int64_t n, const rs_axis *last, const uint8_t *flags, size_t es,
                       const void *extrap)
{
    const int64_t *idx = last->idx;
    if (last->identity) {
        memcpy(dst, src, (size_t)n * es);
        return;
    }
    switch (es) {
    case 1:
        RS_GATHER_ROW(uint8_t);
        break;
    case 2:
        RS_GATHER_ROW(uint16_t);
        break;
    case 4:
        RS_GATHER_ROW(uint32_t);
        break;
    default:
        RS_GATHER_ROW(uint64_t);
        break;
    }
}

static const uint8_t *outside_flags(const rs_axis *a)
{
    for (int64_t o = 0; !a->identity && o < a->out; o++)
        if (a->outside[o])
            return a->outside;
    return NULL;
}

/* Row by row; a row that reads the same input row as the previous one
 * (upsampling) is a copy of it. */
static void gather(const rs_job *j)
{
    size_t es = kiln_dtype_size(j->x->dtype);
    uint64_t extrap = 0;
    kiln_store_f64(&extrap, j->x->dtype, 0, j->extrapolation);
    if (j->rank == 0) {
        memcpy(j->y->data, j->x->data, es);
        return;
    }
    int64_t strides[KILN_MAX_RANK], idx[KILN_MAX_RANK] = {0}, zero_off = 0, prev_base = -1;
    kiln_strides(j->x->dims, j->rank, strides);
    const rs_axis *last = &j->ax[j->rank - 1];
    const uint8_t *flags = outside_flags(last);
    int64_t n = j->y->dims[j->rank - 1];
    int64_t rows = kiln_tensor_numel(j->y) / (n > 0 ? n : 1);
    char *dst = j->y->data;
    size_t row_bytes = (size_t)n * es;
    int64_t *no_strides[1] = {&zero_off};
    for (int64_t r = 0; r < rows && n > 0; r++, dst += row_bytes) {
        int outside;
        int64_t base = row_base(j, idx, strides, &outside);
        if (outside)
            for (int64_t o = 0; o < n; o++)
                memcpy(dst + (size_t)o * es, &extrap, es);
        else if (base == prev_base)
            memcpy(dst, dst - row_bytes, row_bytes);
        else
            gather_row((const char *)j->x->data + (size_t)base * es, dst, n, last, flags, es, &extrap);
        prev_base = outside ? -1 : base;
        kiln_nd_next(j->rank - 1, j->y->dims, idx, 0, no_strides, &zero_off);
    }
}

/* ---- float32, last two axes: per plane, rows then columns ---------------- */

typedef struct rs_taps_f32 {
    const int64_t *idx;
    float *w;
    const uint8_t *outside;
    int taps;
} rs_taps_f32;

static kiln_status taps_f32(const rs_axis *a, int64_t n, rs_taps_f32 *t)
{
    t->taps = a->taps;
    t->idx = a->idx;
    t->outside = a->outside;
    t->w = malloc((size_t)n * (size_t)a->taps * sizeof *t->w + 1);
    if (!t->w)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "cannot allocate Resize weights");
    for (int64_t i = 0; i < n * a->taps; i++)
        t->w[i] = (float)a->w[i];
    return KILN_OK;
}

/* Horizontal pass: input row `row` resized along the last axis. */
static void resize_row(const float *row, const rs_taps_f32 *w, int64_t wo, float *out)
{
    if (w->taps == 2) {
        for (int64_t o = 0; o < wo; o++)
            out[o] = w->w[2 * o] * row[w->idx[2 * o]] + w->w[2 * o + 1] * row[w->idx[2 * o + 1]];
        return;
    }
    for (int64_t o = 0; o < wo; o++) {
        float acc = 0;
        for (int b = 0; b < w->taps; b++)
            acc += w->w[o * w->taps + b] * row[w->idx[o * w->taps + b]];
        out[o] = acc;
    }
}

/* Vertical pass: output row oh from the horizontally resized rows. */
static void blend_rows(const float *tmp, const rs_taps_f32 *h, int64_t oh, int64_t wo, float *out)
{
    const float *r0 = tmp + h->idx[oh * h->taps] * wo;
    float a0 = h->w[oh * h->taps];
    for (int64_t o = 0; o < wo; o++)
        out[o] = a0 * r0[o];
    for (int a = 1; a < h->taps; a++) {
        const float *r = tmp + h->idx[oh * h->taps + a] * wo;
        float wa = h->w[oh * h->taps + a];
        for (int64_t o = 0; o < wo; o++)
            out[o] += wa * r[o];
    }
}

typedef struct rs_plane {
    int64_t hi, wi, ho, wo;
    float extrap;
    float *tmp;          /* hi x wo: input rows resized horizontally */
    const uint8_t *used; /* hi: rows some output row reads */
} rs_plane;

static void resize_plane(const rs_plane *g, const float *in, float *out, const rs_taps_f32 *h, const rs_taps_f32 *w)
{
    for (int64_t r = 0; r < g->hi; r++)
        if (g->used[r])
            resize_row(in + r * g->wi, w, g->wo, g->tmp + r * g->wo);
    for (int64_t oh = 0; oh < g->ho; oh++) {
        float *row = out + oh * g->wo;
        if (h->outside[oh]) {
            for (int64_t o = 0; o < g->wo; o++)
                row[o] = g->extrap;
            continue;
        }
        blend_rows(g->tmp, h, oh, g->wo, row);
        for (int64_t o = 0; o < g->wo; o++)
            if (w->outside[o])
                row[o] = g->extrap;
    }
}

static kiln_status run_2d_f32(const rs_job *j, const rs_taps_f32 *h, const rs_taps_f32 *w)
{
    int r = j->rank;
    rs_plane g = {j->x->dims[r - 2],
                  j->x->dims[r - 1],
                  j->y->dims[r - 2],
                  j->y->dims[r - 1],
                  (float)j->extrapolation,
                  NULL,
                  NULL};
    int64_t planes = g.ho * g.wo > 0 ? kiln_tensor_numel(j->y) / (g.ho * g.wo) : 0;
    int64_t n_tmp;
    float *tmp;
    KILN_TRY(kiln_shape_numel((const int64_t[]){g.hi, g.wo}, 2, &n_tmp, "Resize row buffer"));
    KILN_TRY(kiln_alloc_elems(KILN_FLOAT32, n_tmp, j->max_bytes, "Resize row buffer", (void **)&tmp));
    uint8_t *used = calloc((size_t)g.hi + 1, 1);
    if (!used) {
        free(tmp);
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "cannot allocate %lld bytes", (long long)g.hi + 1);
    }
    for (int64_t i = 0; i < g.ho * h->taps; i++)
        used[h->idx[i]] = 1;
    g.tmp = tmp;
    g.used = used;
    const float *in = j->x->data;
    float *out = j->y->data;
    for (int64_t p = 0; p < planes; p++)
        resize_plane(&g, in + p * g.hi * g.wi, out + p * g.ho * g.wo, h, w);
    free(tmp);
    free(used);
    return KILN_OK;
}

/* A float32 view of an identity axis's plan (one tap, weight 1). */
static kiln_status identity_plan(rs_axis *a, size_t max_bytes)
{
    rs_axis id = {a->in, a->out, 1, 0, NULL, NULL, NULL};
    if ((uint64_t)a->out > max_bytes / 16)
        return kiln_error(KILN_ERR_LIMIT, "Resize plan too large");
    id.idx = malloc((size_t)a->out * sizeof *id.idx + 1);
    id.w = malloc((size_t)a->out * sizeof *id.w + 1);
    id.outside = calloc((size_t)a->out + 1, 1);
    if (!id.idx || !id.w || !id.outside) {
        rs_axis_free(&id);
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "cannot allocate a Resize plan");
    }
    for (int64_t i = 0; i < a->out; i++) {
        id.idx[i] = i;
        id.w[i] = 1;
    }
    *a = id;
    return KILN_OK;
}

static kiln_status direct_2d(rs_job *j)
{
    int r = j->rank;
    for (int d = r - 2; d < r; d++)
        if (j->ax[d].identity)
            KILN_TRY(identity_plan(&j->ax[d], j->max_bytes));
    rs_taps_f32 h, w = {0};
    KILN_TRY(taps_f32(&j->ax[r - 2], j->y->dims[r - 2], &h));
    kiln_status st = taps_f32(&j->ax[r - 1], j->y->dims[r - 1], &w);
    if (st == KILN_OK)
        st = run_2d_f32(j, &h, &w);
    free(h.w);
    free(w.w);
    return st;
}

/* ---- general: separable passes in double -------------------------------- */

/* Resizes axis d of cur (dims) into next. */
static void pass_axis(const double *cur, double *next, const int64_t *dims, int d, int rank, const rs_axis *a,
                      double extrap)
{
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < d; k++)
        outer *= dims[k];
    for (int k = d + 1; k < rank; k++)
        inner *= dims[k];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t y = 0; y < a->out; y++) {
            double *dst = next + (o * a->out + y) * inner;
            for (int64_t i = 0; i < inner; i++)
                dst[i] = a->outside[y] ? extrap : 0;
            for (int t = 0; t < a->taps && !a->outside[y]; t++) {
                const double *src = cur + (o * a->in + a->idx[y * a->taps + t]) * inner;
                double wt = a->w[y * a->taps + t];
                for (int64_t i = 0; i < inner; i++)
                    dst[i] += wt * src[i];
            }
        }
}

/* Rounds the result into y: integers half to even, saturating. */
static void store_result(kiln_tensor *y, const double *v, int64_t n)
{
    if (!kiln_dtype_is_int(y->dtype)) {
        kiln_from_f64(y, v, n);
        return;
    }
    for (int64_t i = 0; i < n; i++)
        kiln_store_f64(y->data, y->dtype, (size_t)i, rint(v[i]));
}

static kiln_status separable(rs_job *j)
{
    double *cur;
    KILN_TRY(kiln_to_f64(j->x, j->max_bytes, &cur));
    int64_t dims[KILN_MAX_RANK];
    memcpy(dims, j->x->dims, sizeof dims);
    for (int d = 0; d < j->rank; d++) {
        if (j->ax[d].identity)
            continue;
        int64_t in_dim = dims[d], n;
        dims[d] = j->ax[d].out;
        double *next = NULL;
        kiln_status st = kiln_shape_numel(dims, j->rank, &n, "Resize intermediate");
        if (st == KILN_OK)
            st = kiln_alloc_elems(KILN_FLOAT64, n, j->max_bytes, "Resize intermediate", (void **)&next);
        if (st != KILN_OK) {
            free(cur);
            return st;
        }
        dims[d] = in_dim;
        pass_axis(cur, next, dims, d, j->rank, &j->ax[d], j->extrapolation);
        dims[d] = j->ax[d].out;
        free(cur);
        cur = next;
    }
    store_result(j->y, cur, kiln_tensor_numel(j->y));
    free(cur);
    return KILN_OK;
}

/* ---- entry -------------------------------------------------------------- */

static int pure_gather(const rs_job *j, const kiln_resize_params *p)
{
    if (p->mode != RS_NEAREST)
        return 0;
    for (int d = 0; d < j->rank; d++)
        for (int64_t o = 0; !j->ax[d].identity && o < j->ax[d].out; o++)
            if (j->ax[d].w[o] != 1)
                return 0;
    return 1;
}

static int last_two_only(const rs_job *j)
{
    if (j->x->dtype != KILN_FLOAT32 || j->rank < 2)
        return 0;
    for (int d = 0; d < j->rank - 2; d++)
        if (!j->ax[d].identity)
            return 0;
    return 1;
}

static kiln_status execute(rs_job *j, const kiln_resize_params *p)
{
    if (pure_gather(j, p)) {
        gather(j);
        return KILN_OK;
    }
    if (last_two_only(j))
        return direct_2d(j);
    return separable(j);
}

kiln_status rs_resize(kiln_op_ctx *ctx)
{
    kiln_resize_params p;
    KILN_TRY(kiln_resize_params_parse(ctx, &p));
    kiln_dtype dt = ctx->in[0]->dtype;
    if (!kiln_dtype_valid(dt) || kiln_dtype_is_subbyte(dt) || dt == KILN_FLOAT8E8M0 ||
        (dt == KILN_BOOL && p.mode != RS_NEAREST))
        return kiln_unsupported_dtype(ctx, "X", dt);
    rs_job j = {ctx->in[0], ctx->out[0], {{0}}, p.rank, p.extrapolation, ctx->max_bytes};
    for (int d = 0; d < p.rank; d++)
        if (p.out_dims[d] != j.y->dims[d] || j.y->rank != p.rank)
            return kiln_error(KILN_ERR_INTERNAL, "Resize output dim %d is %lld, expected %lld", d,
                              (long long)j.y->dims[d], (long long)p.out_dims[d]);
    kiln_status st = KILN_OK;
    for (int d = 0; d < p.rank && st == KILN_OK; d++)
        st = rs_plan_axis(&p, d, j.x->dims[d], ctx->max_bytes, &j.ax[d]);
    if (st == KILN_OK)
        st = execute(&j, &p);
    for (int d = 0; d < p.rank; d++)
        rs_axis_free(&j.ax[d]);
    return st;
}
