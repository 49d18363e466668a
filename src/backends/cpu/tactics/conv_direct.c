/*
 * conv_direct.c - direct convolution without im2col: for few input
 * channels per group, each kernel tap is added to a whole output row (a
 * vectorizable loop over the columns whose input lies inside the row); for
 * depthwise convolutions (one channel per group, one filter per group),
 * each output element is summed over its taps in a register.
 */
#include "backends/cpu/ops/conv_pool_kernels.h"
#include "backends/cpu/tactics/conv_tactics.h"
#include "core/thread_pool.h"

/* Input channels per group up to which direct convolution is offered. */
#define DIRECT_MAX_CHANNELS 16

bool kiln_ct_direct_supports(const kiln_op_ctx *ctx)
{
    kiln_ct_conv c;
    return kiln_ct_basic(ctx, &c) && c.cg <= DIRECT_MAX_CHANNELS;
}

bool kiln_ct_depthwise_supports(const kiln_op_ctx *ctx)
{
    kiln_ct_conv c;
    return kiln_ct_basic(ctx, &c) && c.cg == 1 && c.mg == 1;
}

/* The output columns [*c0, *c1) whose input column c * s + off lies in
 * [0, iw). */
static void column_range(int64_t off, int64_t s, int64_t iw, int64_t ow, int64_t *c0, int64_t *c1)
{
    *c0 = kiln_ceil_div(-off, s);
    *c1 = kiln_ceil_div(iw - off, s);
    *c0 = *c0 < 0 ? 0 : *c0 > ow ? ow : *c0;
    *c1 = *c1 > ow ? ow : *c1 < *c0 ? *c0 : *c1;
}

static void fill(float *y, int64_t n, float v)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = v;
}

/* Output planes [begin, end) (image * filters + filter), on the pool. */
static void direct_planes(void *user, int64_t begin, int64_t end, int thread)
{
    const kiln_ct_conv *c = user;
    const kiln_window *w = &c->win;
    int64_t in_plane = w->in[0] * w->in[1], out_plane = w->out[0] * w->out[1], ksize = w->kernel[0] * w->kernel[1];
    (void)thread;
    for (int64_t p = begin; p < end; p++) {
        int64_t b = p / c->filters, m = p % c->filters, g = m / c->mg;
        float *y = c->y + p * out_plane;
        fill(y, out_plane, c->b ? c->b[m] : 0.0f);
        for (int64_t ch = 0; ch < c->cg; ch++)
            kiln_cp_add_plane_2d(w, c->x + (b * c->channels + g * c->cg + ch) * in_plane,
                                 c->w + (m * c->cg + ch) * ksize, y);
    }
}

kiln_status kiln_ct_direct_core(const kiln_ct_conv *c, void *workspace)
{
    (void)workspace;
    kiln_parallel_for(c->batch * c->filters, direct_planes, (void *)c);
    return KILN_OK;
}

/* One output element of a depthwise plane, its taps bounds-checked. */
static float tap_sum(const kiln_window *w, const float *x, const float *k, int64_t r, int64_t col, float acc)
{
    for (int64_t i = 0; i < w->kernel[0]; i++) {
        int64_t yi = r * w->stride[0] - w->pad_begin[0] + i * w->dilation[0];
        if (yi < 0 || yi >= w->in[0])
            continue;
        for (int64_t j = 0; j < w->kernel[1]; j++) {
            int64_t xi = col * w->stride[1] - w->pad_begin[1] + j * w->dilation[1];
            if (xi >= 0 && xi < w->in[1])
                acc += k[i * w->kernel[1] + j] * x[yi * w->in[1] + xi];
        }
    }
    return acc;
}

/* One output plane of a depthwise convolution: columns whose taps all lie
 * inside the row skip the column checks. */
static void depthwise_plane(const kiln_window *w, const float *x, const float *k, float bias, float *y)
{
    int64_t ow = w->out[1], kw = w->kernel[1], a0, a1, b0, b1;
    column_range(-w->pad_begin[1], w->stride[1], w->in[1], ow, &a0, &a1);
    column_range((kw - 1) * w->dilation[1] - w->pad_begin[1], w->stride[1], w->in[1], ow, &b0, &b1);
    int64_t c0 = a0 > b0 ? a0 : b0, c1 = a1 < b1 ? a1 : b1;
    for (int64_t r = 0; r < w->out[0]; r++) {
        float *yr = y + r * ow;
        for (int64_t col = 0; col < ow; col++) {
            if (col < c0 || col >= c1) {
                yr[col] = tap_sum(w, x, k, r, col, bias);
                continue;
            }
            float acc = bias;
            for (int64_t i = 0; i < w->kernel[0]; i++) {
                int64_t yi = r * w->stride[0] - w->pad_begin[0] + i * w->dilation[0];
                if (yi < 0 || yi >= w->in[0])
                    continue;
                const float *xr = x + yi * w->in[1] + col * w->stride[1] - w->pad_begin[1];
                for (int64_t j = 0; j < kw; j++)
                    acc += k[i * kw + j] * xr[j * w->dilation[1]];
            }
            yr[col] = acc;
        }
    }
}

/* Depthwise planes [begin, end) (image * channels + channel), on the pool. */
static void depthwise_planes(void *user, int64_t begin, int64_t end, int thread)
{
    const kiln_ct_conv *c = user;
    const kiln_window *w = &c->win;
    int64_t in_plane = w->in[0] * w->in[1], out_plane = w->out[0] * w->out[1], ksize = w->kernel[0] * w->kernel[1];
    (void)thread;
    for (int64_t p = begin; p < end; p++) {
        int64_t m = p % c->filters;
        depthwise_plane(w, c->x + p * in_plane, c->w + m * ksize, c->b ? c->b[m] : 0.0f, c->y + p * out_plane);
    }
}

kiln_status kiln_ct_depthwise_core(const kiln_ct_conv *c, void *workspace)
{
    (void)workspace;
    kiln_parallel_for(c->batch * c->filters, depthwise_planes, (void *)c);
    return KILN_OK;
}
