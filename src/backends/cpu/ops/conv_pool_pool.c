/*
 * conv_pool_pool.c - CPU kernels for MaxPool (with Indices), AveragePool,
 * LpPool and the global pools.
 *
 * Every (batch, channel) plane is staged in float64, pooled and converted
 * back: exact for max pooling of every allowed dtype (int8 / uint8 too),
 * and at least as precise as float32 for the sums of the other pools.
 * 2-D float32 MaxPool without Indices skips the staging (conv_pool_maxpool.c).
 * The planes are split over the thread pool.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_util.h"
#include "backends/cpu/ops/conv_pool_kernels.h"
#include "backends/cpu/ops/conv_pool_maxpool.h"
#include "core/dtype.h"
#include "core/thread_pool.h"
#include "ir/infer/conv_pool_infer.h"

/* Input elements per chunk of planes run on one thread. */
#define POOL_GRAIN 32768

typedef enum pool_kind { POOL_MAX, POOL_AVG, POOL_LP } pool_kind;

typedef struct pool_job {
    const kiln_window *w;
    pool_kind kind;
    int count_include_pad; /* AveragePool */
    double p;              /* LpPool */
    int column_major;      /* MaxPool storage_order 1 */
    const int64_t *taps;   /* plane offsets of a whole window's taps from its start, or NULL */
} pool_job;

/* Windows with at most this many taps get the precomputed-offset fast path
 * when they lie wholly inside the input. */
#define POOL_MAX_FAST_TAPS 4096

/* The taps of one window: on axis d the window starts at input position
 * start[d]; taps [lo[d], hi[d]) fall inside the input, taps below
 * padded_hi[d] inside the padded input. */
typedef struct window_taps {
    int64_t start[KILN_MAX_RANK], lo[KILN_MAX_RANK], hi[KILN_MAX_RANK], padded_hi[KILN_MAX_RANK];
} window_taps;

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The taps of the window of output position o. */
static void taps_at(const kiln_window *w, const int64_t *o, window_taps *t)
{
    for (int d = 0; d < w->n; d++) {
        int64_t s = o[d] * w->stride[d] - w->pad_begin[d], dil = w->dilation[d], k = w->kernel[d];
        t->start[d] = s;
        t->lo[d] = clamp64(kiln_ceil_div(-s, dil), 0, k);
        t->hi[d] = clamp64(kiln_ceil_div(w->in[d] - s, dil), t->lo[d], k);
        t->padded_hi[d] = clamp64(kiln_ceil_div(w->in[d] + w->pad_end[d] - s, dil), 0, k);
    }
}

/* Row-major position in the plane of the tap k (per axis) of window t. */
static int64_t tap_offset(const kiln_window *w, const window_taps *t, const int64_t *k)
{
    int64_t off = 0;
    for (int d = 0; d < w->n; d++)
        off = off * w->in[d] + t->start[d] + k[d] * w->dilation[d];
    return off;
}

/* Advances the counter k over [lo, hi) per axis; 0 once it wraps. */
static int next_tap(int n, const window_taps *t, int64_t *k)
{
    for (int d = n - 1; d >= 0; d--) {
        if (++k[d] < t->hi[d])
            return 1;
        k[d] = t->lo[d];
    }
    return 0;
}

/* Sets k to the first input tap of window t; 0 when it has none. */
static int first_tap(int n, const window_taps *t, int64_t *k)
{
    for (int d = 0; d < n; d++) {
        if (t->lo[d] >= t->hi[d])
            return 0;
        k[d] = t->lo[d];
    }
    return 1;
}

/* Max of one window: the value, and its row-major plane position in *arg
 * (-1 for a window without input taps, which gives 0). */
static double window_max(const kiln_window *w, const window_taps *t, const double *x, int64_t *arg)
{
    int64_t k[KILN_MAX_RANK];
    double best = 0.0;
    *arg = -1;
    if (!first_tap(w->n, t, k))
        return best;
    do {
        int64_t off = tap_offset(w, t, k);
        if (*arg < 0 || x[off] > best) {
            best = x[off];
            *arg = off;
        }
    } while (next_tap(w->n, t, k));
    return best;
}

/* |v|^p and its inverse, exact for the common p = 1 and 2 */
static double lp_term(double v, double p)
{
    return p == 1.0 ? fabs(v) : p == 2.0 ? v * v : pow(fabs(v), p);
}

static double lp_root(double sum, double p)
{
    return p == 1.0 ? sum : p == 2.0 ? sqrt(sum) : pow(sum, 1.0 / p);
}

/* Sum of x (POOL_AVG) or |x|^p (POOL_LP) over a window's input taps; *count
 * gets the number of taps. */
static double window_sum(const pool_job *job, const window_taps *t, const double *x, int64_t *count)
{
    const kiln_window *w = job->w;
    int64_t k[KILN_MAX_RANK];
    double sum = 0.0;
    *count = 0;
    if (!first_tap(w->n, t, k))
        return sum;
    do {
        double v = x[tap_offset(w, t, k)];
        sum += job->kind == POOL_LP ? lp_term(v, job->p) : v;
        ++*count;
    } while (next_tap(w->n, t, k));
    return sum;
}

/* A row-major plane position in column-major order (storage_order 1). */
static int64_t column_major(const kiln_window *w, int64_t pos)
{
    int64_t idx = 0, scale = 1, coord[KILN_MAX_RANK];
    for (int d = w->n - 1; d >= 0; d--) {
        coord[d] = pos % w->in[d];
        pos /= w->in[d];
    }
    for (int d = 0; d < w->n; d++) {
        idx += coord[d] * scale;
        scale *= w->in[d];
    }
    return idx;
}

/* 1 when every tap of window t falls inside the input. */
static int window_inside(const kiln_window *w, const window_taps *t)
{
    for (int d = 0; d < w->n; d++)
        if (t->lo[d] != 0 || t->hi[d] != w->kernel[d])
            return 0;
    return 1;
}

/* Pools a window wholly inside the input through the tap offsets. */
static double window_fast(const pool_job *job, const window_taps *t, const double *x, int64_t *arg)
{
    const kiln_window *w = job->w;
    int64_t n = kiln_cp_prod(w->kernel, w->n), start = 0; /* at most POOL_MAX_FAST_TAPS */
    for (int d = 0; d < w->n; d++)
        start = start * w->in[d] + t->start[d];
    const double *xs = x + start;
    *arg = -1;
    if (job->kind == POOL_MAX) {
        int64_t best = 0;
        for (int64_t i = 1; i < n; i++)
            if (xs[job->taps[i]] > xs[job->taps[best]])
                best = i;
        *arg = start + job->taps[best];
        return xs[job->taps[best]];
    }
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double v = xs[job->taps[i]];
        sum += job->kind == POOL_LP ? lp_term(v, job->p) : v;
    }
    return job->kind == POOL_AVG ? sum / (double)n : lp_root(sum, job->p);
}

/* The pooled value of window t; *arg gets the plane position of a max
 * (-1 when there is none). */
static double pool_window(const pool_job *job, const window_taps *t, const double *x, int64_t *arg)
{
    const kiln_window *w = job->w;
    if (job->taps && window_inside(w, t))
        return window_fast(job, t, x, arg);
    if (job->kind == POOL_MAX)
        return window_max(w, t, x, arg);
    int64_t count;
    double sum = window_sum(job, t, x, &count);
    *arg = -1;
    if (job->kind == POOL_LP)
        return lp_root(sum, job->p);
    double n = (double)count;
    if (job->count_include_pad) {
        /* windows start inside the padded input: taps [0, padded_hi) count */
        n = 1.0;
        for (int d = 0; d < w->n; d++)
            n *= (double)t->padded_hi[d];
    }
    return n > 0 ? sum / n : 0.0;
}

/* Pools one plane x into y; for MaxPool with indices, writes them (offset
 * by base, the plane's first element in the whole tensor) into ind. */
static void pool_plane(const pool_job *job, const double *x, double *y, int64_t *ind, int64_t base)
{
    const kiln_window *w = job->w;
    int64_t o[KILN_MAX_RANK] = {0}, i = 0;
    do {
        window_taps t;
        int64_t arg;
        taps_at(w, o, &t);
        y[i] = pool_window(job, &t, x, &arg);
        if (ind)
            ind[i] = arg < 0 ? -1 : base + (job->column_major ? column_major(w, arg) : arg);
        i++;
    } while (kiln_nd_next(w->n, w->out, o, 0, NULL, NULL));
}

/* n elements of src (dtype dt) into float64, float32 on a direct path. */
static void plane_in(const void *src, kiln_dtype dt, double *dst, int64_t n)
{
    if (dt != KILN_FLOAT32) {
        kiln_convert(src, dt, dst, KILN_FLOAT64, (size_t)n);
        return;
    }
    for (int64_t i = 0; i < n; i++)
        dst[i] = ((const float *)src)[i];
}

static void plane_out(const double *src, void *dst, kiln_dtype dt, int64_t n)
{
    if (dt != KILN_FLOAT32) {
        kiln_convert(src, KILN_FLOAT64, dst, dt, (size_t)n);
        return;
    }
    for (int64_t i = 0; i < n; i++)
        ((float *)dst)[i] = (float)src[i];
}

/* Plane offsets of every tap of a window from the window's start. */
static void tap_offsets(const kiln_window *w, int64_t *taps)
{
    int64_t k[KILN_MAX_RANK] = {0}, i = 0;
    window_taps t;
    for (int d = 0; d < w->n; d++) {
        t.start[d] = t.lo[d] = 0;
        t.hi[d] = w->kernel[d];
    }
    do {
        taps[i++] = tap_offset(w, &t, k);
    } while (next_tap(w->n, &t, k));
}

/* A pool over planes split across the thread pool: each thread stages its
 * planes in its own pair of float64 buffers. */
typedef struct pool_par {
    const pool_job *job;
    const kiln_tensor *x;
    kiln_tensor *y, *ind;
    int64_t in_plane, out_plane;
    double *bufs; /* per thread: in_plane then out_plane values */
    int f32_max;  /* float32 MaxPool without Indices: pool_max_f32 */
} pool_par;

static void pool_planes(void *user, int64_t begin, int64_t end, int thread)
{
    const pool_par *pp = user;
    const kiln_tensor *x = pp->x;
    kiln_tensor *y = pp->y;
    size_t xes = kiln_dtype_size(x->dtype), yes = kiln_dtype_size(y->dtype);
    for (int64_t pl = begin; pl < end; pl++) {
        if (pp->f32_max) {
            kiln_cp_max_plane_f32(pp->job->w, (const float *)x->data + pl * pp->in_plane,
                                  (float *)y->data + pl * pp->out_plane);
            continue;
        }
        double *xbuf = pp->bufs + (size_t)thread * (size_t)(pp->in_plane + pp->out_plane);
        double *ybuf = xbuf + pp->in_plane;
        plane_in((const char *)x->data + (size_t)(pl * pp->in_plane) * xes, x->dtype, xbuf, pp->in_plane);
        pool_plane(pp->job, xbuf, ybuf, pp->ind ? (int64_t *)pp->ind->data + pl * pp->out_plane : NULL,
                   pl * pp->in_plane);
        plane_out(ybuf, (char *)y->data + (size_t)(pl * pp->out_plane) * yes, y->dtype, pp->out_plane);
    }
}

/* Runs job over every plane of in[0] into out[0] (and out[1], Indices). */
static kiln_status pool_run(kiln_op_ctx *ctx, pool_job *job)
{
    const kiln_tensor *x = ctx->in[0];
    kiln_tensor *y = ctx->out[0], *ind = ctx->n_out > 1 ? ctx->out[1] : NULL;
    const kiln_window *w = job->w;
    int64_t in_plane = kiln_cp_prod(w->in, w->n), out_plane = kiln_cp_prod(w->out, w->n);
    int64_t planes = x->dims[0] * x->dims[1];
    pool_par pp = {job, x, y, ind, in_plane, out_plane, NULL, 0};
    pp.f32_max = job->kind == POOL_MAX && !ind && w->n == 2 && x->dtype == KILN_FLOAT32 && y->dtype == KILN_FLOAT32;
    /* the kernel comes from attributes: its product may be huge */
    int64_t n_taps = 1;
    for (int d = 0; d < w->n && n_taps <= POOL_MAX_FAST_TAPS; d++)
        n_taps *= w->kernel[d];
    void *bufs = NULL, *taps = NULL;
    kiln_status st = KILN_OK;
    if (!pp.f32_max) {
        int threads = kiln_thread_pool_threads();
        st = kiln_cp_alloc((in_plane + out_plane) * threads, 8, ctx->max_bytes, "pool planes", &bufs);
    }
    if (st == KILN_OK && !pp.f32_max && n_taps > 0 && n_taps <= POOL_MAX_FAST_TAPS) {
        st = kiln_cp_alloc(n_taps, 8, ctx->max_bytes, "pool taps", &taps);
        if (st == KILN_OK)
            tap_offsets(w, taps);
    }
    job->taps = taps;
    pp.bufs = bufs;
    if (st == KILN_OK && planes > 0) {
        int64_t grain = POOL_GRAIN / (in_plane > 0 ? in_plane : 1);
        kiln_parallel_for_grain(planes, grain > 0 ? grain : 1, pool_planes, &pp);
    }
    free(bufs);
    free(taps);
    return st;
}

/* Geometry and output checks shared by the windowed pools. */
static kiln_status pool_setup(kiln_op_ctx *ctx, kiln_window *w)
{
    KILN_TRY(kiln_pool_geometry(ctx, w));
    const kiln_tensor *x = ctx->in[0];
    int64_t dims[KILN_MAX_RANK] = {x->dims[0], x->dims[1]};
    for (int i = 0; i < w->n; i++)
        dims[2 + i] = w->out[i];
    for (int o = 0; o < ctx->n_out; o++)
        if (ctx->out[o])
            KILN_TRY(kiln_cp_check_out(ctx, o, w->n + 2, dims));
    if (ctx->n_out > 1 && ctx->out[1] && ctx->out[1]->dtype != KILN_INT64)
        return kiln_unsupported_dtype(ctx, "output 1", ctx->out[1]->dtype);
    return KILN_OK;
}

kiln_status kiln_cpu_max_pool(kiln_op_ctx *ctx)
{
    kiln_window w;
    int64_t order;
    KILN_TRY(pool_setup(ctx, &w));
    KILN_TRY(kiln_cp_max_pool_attrs(ctx, &order));
    pool_job job = {&w, POOL_MAX, 0, 0, (int)order, NULL};
    return pool_run(ctx, &job);
}

kiln_status kiln_cpu_average_pool(kiln_op_ctx *ctx)
{
    kiln_window w;
    int64_t cip;
    KILN_TRY(pool_setup(ctx, &w));
    KILN_TRY(kiln_cp_average_pool_attrs(ctx, &cip));
    pool_job job = {&w, POOL_AVG, (int)cip, 0, 0, NULL};
    return pool_run(ctx, &job);
}

kiln_status kiln_cpu_lp_pool(kiln_op_ctx *ctx)
{
    kiln_window w;
    KILN_TRY(pool_setup(ctx, &w));
    if (!kiln_is_std_float(ctx->in[0]->dtype))
        return kiln_unsupported_dtype(ctx, "input 0", ctx->in[0]->dtype);
    pool_job job = {&w, POOL_LP, 0, 2, 0, NULL};
    KILN_TRY(kiln_cp_read_p(ctx, &job.p));
    return pool_run(ctx, &job);
}

/* GlobalAveragePool on float32: each plane's mean, summed in float64 as
 * the staged path does, planes split over the thread pool. */
typedef struct plane_mean_job {
    const float *x;
    float *y;
    int64_t plane;
} plane_mean_job;

static void plane_means(void *user, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const plane_mean_job *j = user;
    for (int64_t p = begin; p < end; p++) {
        const float *x = j->x + p * j->plane;
        double sum = 0;
        for (int64_t i = 0; i < j->plane; i++)
            sum += x[i];
        j->y[p] = (float)(sum / (double)j->plane);
    }
}

/* A global pool: one window covering each whole plane. */
static kiln_status global_pool(kiln_op_ctx *ctx, pool_kind kind)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 2, KILN_MAX_RANK));
    const kiln_tensor *x = ctx->in[0];
    if (!kiln_is_std_float(x->dtype))
        return kiln_unsupported_dtype(ctx, "input 0", x->dtype);
    int64_t dims[KILN_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        dims[i] = i < 2 ? x->dims[i] : 1;
    KILN_TRY(kiln_cp_check_out(ctx, 0, x->rank, dims));
    if (kind == POOL_AVG && x->dtype == KILN_FLOAT32 && x->rank > 2) {
        plane_mean_job j = {x->data, ctx->out[0]->data, 1};
        for (int i = 2; i < x->rank; i++)
            j.plane *= x->dims[i];
        int64_t planes = x->dims[0] * x->dims[1];
        if (j.plane > 0) {
            kiln_parallel_for_grain(planes, 16384 / j.plane + 1, plane_means, &j);
            return KILN_OK;
        }
    }
    /* a rank-2 input pools single elements: a window of one */
    kiln_window w;
    memset(&w, 0, sizeof w);
    w.n = x->rank > 2 ? x->rank - 2 : 1;
    for (int i = 0; i < w.n; i++) {
        w.in[i] = w.kernel[i] = x->rank > 2 ? x->dims[2 + i] : 1;
        w.out[i] = w.stride[i] = w.dilation[i] = 1;
    }
    pool_job job = {&w, kind, 0, 2, 0, NULL};
    if (kind == POOL_LP)
        KILN_TRY(kiln_cp_read_p(ctx, &job.p));
    return pool_run(ctx, &job);
}

kiln_status kiln_cpu_global_average_pool(kiln_op_ctx *ctx)
{
    return global_pool(ctx, POOL_AVG);
}

kiln_status kiln_cpu_global_max_pool(kiln_op_ctx *ctx)
{
    return global_pool(ctx, POOL_MAX);
}

kiln_status kiln_cpu_global_lp_pool(kiln_op_ctx *ctx)
{
    return global_pool(ctx, POOL_LP);
}
