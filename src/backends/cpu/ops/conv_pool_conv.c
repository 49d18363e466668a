/*
 * conv_pool_conv.c - CPU kernels for Conv, ConvInteger and QLinearConv, and
 * the grouped-convolution driver they share: im2col + GEMM per image and
 * group, 1x1 stride-1 unpadded convolutions straight to GEMM, and a direct
 * loop for 2-D float32 depthwise convolutions (one input channel per group).
 *
 * ConvInteger and QLinearConv subtract the zero points and run the driver
 * in float64: the products and sums of 8-bit values are exact there.
 */
#include <math.h>
#include <stdlib.h>

#include "backends/cpu/cpu_simd.h"
#include "backends/cpu/cpu_util.h"
#include "backends/cpu/depthwise_f32.h"
#include "backends/cpu/ops/conv_pool_kernels.h"
#include "core/dtype.h"
#include "core/thread_pool.h"
#include "ir/infer/conv_pool_infer.h"

static int is_pointwise(const kiln_window *w)
{
    for (int i = 0; i < w->n; i++)
        if (w->kernel[i] != 1 || w->stride[i] != 1 || w->pad_begin[i] != 0 || w->pad_end[i] != 0)
            return 0;
    return 1;
}

/* One output plane of a 2-D depthwise convolution in float32. Each kernel
 * tap is added to a whole output row at once (a vectorizable loop over the
 * columns whose input lies inside the row), in the same tap order as a
 * direct convolution. */
KILN_SIMD_FN void kiln_cp_add_plane_2d(const kiln_window *w, const float *x, const float *k, float *y)
{
    int64_t ih = w->in[0], iw = w->in[1], ow = w->out[1], kh = w->kernel[0], kw = w->kernel[1];
    int64_t s1 = w->stride[1];
    for (int64_t r = 0; r < w->out[0]; r++) {
        float *yr = y + r * ow;
        for (int64_t i = 0; i < kh; i++) {
            int64_t yi = r * w->stride[0] - w->pad_begin[0] + i * w->dilation[0];
            if (yi < 0 || yi >= ih)
                continue;
            const float *xr = x + yi * iw;
            for (int64_t j = 0; j < kw; j++) {
                int64_t off = j * w->dilation[1] - w->pad_begin[1];
                int64_t c0 = kiln_ceil_div(-off, s1), c1 = kiln_ceil_div(iw - off, s1);
                float kv = k[i * kw + j];
                c0 = c0 < 0 ? 0 : c0;
                c1 = c1 > ow ? ow : c1;
                if (s1 == 1)
                    for (int64_t c = c0; c < c1; c++)
                        yr[c] += kv * xr[c + off];
                else
                    for (int64_t c = c0; c < c1; c++)
                        yr[c] += kv * xr[c * s1 + off];
            }
        }
    }
}

typedef struct depthwise_job {
    const kiln_cp_conv *job;
    int64_t in_plane, out_plane;
} depthwise_job;

/* Output planes [begin, end) (image * filters + filter), on the pool. */
static void depthwise_planes(void *user, int64_t begin, int64_t end, int thread)
{
    const depthwise_job *d = user;
    const kiln_cp_conv *job = d->job;
    const kiln_window *w = job->win;
    int64_t mg = job->filters / job->group, ksize = w->kernel[0] * w->kernel[1];
    (void)thread;
    for (int64_t p = begin; p < end; p++) {
        int64_t b = p / job->filters, m = p % job->filters;
        const float *x = (const float *)job->x + (b * job->channels + m / mg) * d->in_plane;
        float bias = job->b ? ((const float *)job->b)[m] : 0.0f;
        float *y = (float *)job->y + p * d->out_plane;
        kiln_dw_plane_f32(w, x, (const float *)job->w + m * ksize, bias, y);
    }
}

/* Direct convolution of every (image, filter) plane when each group has one
 * input channel (depthwise, with any channel multiplier). */
static void depthwise_2d(const kiln_cp_conv *job, int64_t in_plane, int64_t out_plane)
{
    depthwise_job d = {job, in_plane, out_plane};
    kiln_parallel_for(job->batch * job->filters, depthwise_planes, &d);
}

kiln_status kiln_cp_conv_run(const kiln_cp_conv *job)
{
    const kiln_window *w = job->win;
    size_t es = job->esize;
    int64_t in_plane = kiln_cp_prod(w->in, w->n), out_plane = kiln_cp_prod(w->out, w->n);
    int64_t ksize = kiln_cp_prod(w->kernel, w->n);
    int64_t cg = job->channels / job->group, mg = job->filters / job->group;
    if (es == 4 && cg == 1 && w->n == 2) {
        depthwise_2d(job, in_plane, out_plane);
        return KILN_OK;
    }
    int pointwise = is_pointwise(w);
    void *col = NULL;
    if (!pointwise)
        KILN_TRY(kiln_cp_alloc_matrix(cg * ksize, out_plane, es, job->max_bytes, "im2col buffer", &col));
    kiln_cp_patches p;
    kiln_cp_patches_forward(w, &p);
    kiln_status st = KILN_OK;
    for (int64_t b = 0; b < job->batch && st == KILN_OK; b++) {
        for (int64_t g = 0; g < job->group && st == KILN_OK; g++) {
            const char *xg = (const char *)job->x + (size_t)((b * job->channels + g * cg) * in_plane) * es;
            const char *wg = (const char *)job->w + (size_t)(g * mg * cg * ksize) * es;
            char *yg = (char *)job->y + (size_t)((b * job->filters + g * mg) * out_plane) * es;
            if (job->b)
                kiln_cp_fill_rows(yg, es, mg, out_plane, (const char *)job->b + (size_t)(g * mg) * es);
            if (!pointwise)
                kiln_cp_im2col(&p, cg, es, xg, col);
            st = kiln_cp_gemm(es, 0, mg, out_plane, cg * ksize, wg, pointwise ? xg : col, job->b ? 1.0 : 0.0, yg);
        }
    }
    free(col);
    return st;
}

/* Input i, when present, must be a vector of m elements (per output
 * channel), or a single element when scalar_ok. */
static kiln_status check_channel_vector(const kiln_op_ctx *ctx, int i, int64_t m, int scalar_ok, const char *what)
{
    const kiln_tensor *t = i < ctx->n_in ? ctx->in[i] : NULL;
    if (!t)
        return KILN_OK;
    int64_t n = kiln_tensor_numel(t);
    if (t->rank <= 1 && (n == m || (scalar_ok && n == 1)))
        return KILN_OK;
    return kiln_error(KILN_ERR_SHAPE, "input %d (%s) has %lld elements, expected %s%lld", i, what, (long long)n,
                      scalar_ok ? "1 or " : "", (long long)m);
}

kiln_status kiln_cp_check_conv_out(const kiln_op_ctx *ctx, const kiln_cp_conv *job)
{
    int64_t dims[KILN_MAX_RANK] = {job->batch, job->filters};
    for (int i = 0; i < job->win->n; i++)
        dims[2 + i] = job->win->out[i];
    return kiln_cp_check_out(ctx, 0, job->win->n + 2, dims);
}

kiln_status kiln_cp_check_float_conv(const kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0], *bias = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (!kiln_is_std_float(x->dtype))
        return kiln_unsupported_dtype(ctx, "input 0", x->dtype);
    if (ctx->in[1]->dtype != x->dtype || (bias && bias->dtype != x->dtype))
        return kiln_error(KILN_ERR_SHAPE, "inputs 1 and 2 must have the dtype of input 0 (%s)",
                          kiln_dtype_name(x->dtype));
    return KILN_OK;
}

kiln_status kiln_cp_conv_staged(kiln_op_ctx *ctx, kiln_cp_conv *job, kiln_status (*run)(const kiln_cp_conv *job))
{
    kiln_dtype dt = kiln_cp_dtype(job->esize);
    void *own_x = NULL, *own_w = NULL, *own_b = NULL, *own_y = NULL;
    kiln_status st = kiln_stage_in(ctx->in[0], dt, ctx->max_bytes, &job->x, &own_x);
    if (st == KILN_OK)
        st = kiln_stage_in(ctx->in[1], dt, ctx->max_bytes, &job->w, &own_w);
    if (st == KILN_OK)
        st = kiln_stage_in(ctx->n_in > 2 ? ctx->in[2] : NULL, dt, ctx->max_bytes, &job->b, &own_b);
    if (st == KILN_OK)
        st = kiln_stage_out(ctx->out[0], dt, ctx->max_bytes, &job->y, &own_y);
    if (st == KILN_OK)
        st = run(job);
    kiln_stage_out_end(ctx->out[0], dt, own_y, st);
    free(own_x);
    free(own_w);
    free(own_b);
    return st;
}

/* Reads the geometry of X (input 0) and W (input wi) into w, fills the
 * job's shape fields and checks out[0] against [N, M, out...]. */
static kiln_status conv_job(const kiln_op_ctx *ctx, int wi, kiln_window *w, kiln_cp_conv *job)
{
    const kiln_tensor *x = ctx->in[0];
    int64_t group;
    KILN_TRY(kiln_conv_geometry(ctx, 0, wi, w, &group));
    job->win = w;
    job->batch = x->dims[0];
    job->channels = x->dims[1];
    job->filters = ctx->in[wi]->dims[0];
    job->group = group;
    job->max_bytes = ctx->max_bytes;
    return kiln_cp_check_conv_out(ctx, job);
}

kiln_status kiln_cpu_conv(kiln_op_ctx *ctx)
{
    kiln_window w;
    kiln_cp_conv job;
    KILN_TRY(conv_job(ctx, 1, &w, &job));
    KILN_TRY(kiln_cp_check_float_conv(ctx));
    KILN_TRY(check_channel_vector(ctx, 2, job.filters, 0, "B"));
    job.esize = kiln_cp_esize(ctx->in[0]->dtype);
    return kiln_cp_conv_staged(ctx, &job, kiln_cp_conv_run);
}

/* t's values as float64 minus a zero point: zp is absent, a scalar, or one
 * value per slice of t's first axis (per output channel of a weight). */
static kiln_status stage_shifted(const kiln_tensor *t, const kiln_tensor *zp, size_t max_bytes, double **out)
{
    int64_t n = kiln_tensor_numel(t), zn = zp ? kiln_tensor_numel(zp) : 0;
    if (zn > 1 && (t->rank < 1 || zn != t->dims[0]))
        return kiln_error(KILN_ERR_SHAPE, "a zero point has %lld values, expected 1 or %lld", (long long)zn,
                          (long long)(t->rank >= 1 ? t->dims[0] : 1));
    void *buf;
    KILN_TRY(kiln_cp_alloc(n, 8, max_bytes, "zero-point staging buffer", &buf));
    double *d = buf;
    int64_t inner = zn > 1 ? n / zn : 1;
    for (int64_t i = 0; i < n; i++) {
        int64_t z = zn > 0 ? kiln_load_i64(zp->data, zp->dtype, (size_t)(zn > 1 ? i / inner : 0)) : 0;
        d[i] = (double)(kiln_load_i64(t->data, t->dtype, (size_t)i) - z);
    }
    *out = d;
    return KILN_OK;
}

/* Runs an integer convolution: x at input 0 with zero point xz, w at input
 * wi with zero point wz, bias b (int32, or NULL); accumulators into acc. */
static kiln_status integer_conv(kiln_op_ctx *ctx, kiln_cp_conv *job, int wi, const kiln_tensor *xz,
                                const kiln_tensor *wz, const kiln_tensor *b, double *acc)
{
    double *x = NULL, *w = NULL, *bias = NULL;
    if (xz && kiln_tensor_numel(xz) != 1)
        return kiln_error(KILN_ERR_SHAPE, "the zero point of input 0 must be a scalar");
    kiln_status st = stage_shifted(ctx->in[0], xz, ctx->max_bytes, &x);
    if (st == KILN_OK)
        st = stage_shifted(ctx->in[wi], wz, ctx->max_bytes, &w);
    if (st == KILN_OK && b)
        st = kiln_to_f64(b, ctx->max_bytes, &bias);
    if (st == KILN_OK) {
        job->esize = 8;
        job->x = x;
        job->w = w;
        job->b = bias;
        job->y = acc;
        st = kiln_cp_conv_run(job);
    }
    free(x);
    free(w);
    free(bias);
    return st;
}

kiln_status kiln_cpu_conv_integer(kiln_op_ctx *ctx)
{
    kiln_window w;
    kiln_cp_conv job;
    KILN_TRY(conv_job(ctx, 1, &w, &job));
    if (!kiln_is_8bit(ctx->in[0]->dtype) || !kiln_is_8bit(ctx->in[1]->dtype))
        return kiln_unsupported_dtype(ctx, "inputs 0 and 1",
                                      kiln_is_8bit(ctx->in[0]->dtype) ? ctx->in[1]->dtype : ctx->in[0]->dtype);
    const kiln_tensor *xz = ctx->n_in > 2 ? ctx->in[2] : NULL, *wz = ctx->n_in > 3 ? ctx->in[3] : NULL;
    KILN_TRY(check_channel_vector(ctx, 3, job.filters, 1, "w_zero_point"));
    void *acc;
    KILN_TRY(kiln_cp_alloc(kiln_tensor_numel(ctx->out[0]), 8, ctx->max_bytes, "accumulator buffer", &acc));
    kiln_status st = integer_conv(ctx, &job, 1, xz, wz, NULL, acc);
    /* the int32 output takes the (integral) float64 accumulators */
    kiln_stage_out_end(ctx->out[0], KILN_FLOAT64, acc, st);
    return st;
}

/* y = saturate(round_half_even(acc * x_scale * w_scale[m] / y_scale) + y_zero_point),
 * the scale product taken in float32 as ONNX's reference does. */
static void requantize(const kiln_op_ctx *ctx, const kiln_cp_conv *job, const double *acc)
{
    const kiln_tensor *ws = ctx->in[4], *yz = ctx->in[7];
    kiln_tensor *y = ctx->out[0];
    float xs = (float)kiln_load_f64(ctx->in[1]->data, KILN_FLOAT32, 0);
    float ys = (float)kiln_load_f64(ctx->in[6]->data, KILN_FLOAT32, 0);
    double zp = (double)kiln_load_i64(yz->data, yz->dtype, 0);
    double lo = yz->dtype == KILN_INT8 ? -128.0 : 0.0, hi = yz->dtype == KILN_INT8 ? 127.0 : 255.0;
    int64_t plane = kiln_cp_prod(job->win->out, job->win->n), nw = kiln_tensor_numel(ws);
    for (int64_t b = 0; b < job->batch; b++) {
        for (int64_t m = 0; m < job->filters; m++) {
            float wsm = (float)kiln_load_f64(ws->data, KILN_FLOAT32, (size_t)(nw > 1 ? m : 0));
            float scale = xs * wsm / ys;
            int64_t base = (b * job->filters + m) * plane;
            for (int64_t i = 0; i < plane; i++) {
                double r = nearbyint(acc[base + i] * (double)scale + zp);
                r = r < lo ? lo : r > hi ? hi : r;
                kiln_store_i64(y->data, y->dtype, (size_t)(base + i), (int64_t)r);
            }
        }
    }
}

kiln_status kiln_cpu_qlinear_conv(kiln_op_ctx *ctx)
{
    kiln_window w;
    kiln_cp_conv job;
    KILN_TRY(conv_job(ctx, 3, &w, &job));
    if (!kiln_is_8bit(ctx->in[0]->dtype) || !kiln_is_8bit(ctx->in[3]->dtype) || !kiln_is_8bit(ctx->in[7]->dtype))
        return kiln_error(KILN_ERR_UNSUPPORTED, "QLinearConv needs int8 or uint8 inputs 0, 3 and 7");
    if (ctx->in[1]->dtype != KILN_FLOAT32 || ctx->in[4]->dtype != KILN_FLOAT32 || ctx->in[6]->dtype != KILN_FLOAT32)
        return kiln_error(KILN_ERR_UNSUPPORTED, "QLinearConv needs float32 scales (inputs 1, 4 and 6)");
    const kiln_tensor *bias = ctx->n_in > 8 ? ctx->in[8] : NULL;
    if (bias && bias->dtype != KILN_INT32)
        return kiln_unsupported_dtype(ctx, "input 8", bias->dtype);
    KILN_TRY(check_channel_vector(ctx, 1, 1, 0, "x_scale"));
    KILN_TRY(check_channel_vector(ctx, 4, job.filters, 1, "w_scale"));
    KILN_TRY(check_channel_vector(ctx, 5, job.filters, 1, "w_zero_point"));
    KILN_TRY(check_channel_vector(ctx, 6, 1, 0, "y_scale"));
    KILN_TRY(check_channel_vector(ctx, 7, 1, 0, "y_zero_point"));
    KILN_TRY(check_channel_vector(ctx, 8, job.filters, 0, "B"));
    void *acc;
    KILN_TRY(kiln_cp_alloc(kiln_tensor_numel(ctx->out[0]), 8, ctx->max_bytes, "accumulator buffer", &acc));
    kiln_status st = integer_conv(ctx, &job, 3, ctx->in[2], ctx->in[5], bias, acc);
    if (st == KILN_OK)
        requantize(ctx, &job, acc);
    free(acc);
    return st;
}
