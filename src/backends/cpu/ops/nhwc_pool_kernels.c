/*
 * nhwc_pool_kernels.c - float32 loops of the channels-last pools (see
 * nhwc_pool_kernels.h). For each output pixel the window's taps are walked
 * in row-major order and each tap is one pass over the contiguous channels.
 * Average sums are kept in float64 (as the NCHW kernels stage them), in
 * blocks of channels on the stack so that no scratch is allocated.
 */
#include "backends/cpu/ops/nhwc_pool_kernels.h"

#include "backends/cpu/cpu_simd.h"

/* Channels summed at once in a float64 accumulator on the stack. */
#define SUM_BLOCK 64

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The taps of a window on axis a starting at input position s: [lo, hi)
 * fall inside the input, [0, padded) inside the padded input. */
typedef struct axis_taps {
    int64_t s, lo, hi, padded;
} axis_taps;

static axis_taps taps_on_axis(const kiln_window *w, int a, int64_t o)
{
    axis_taps t;
    int64_t k = w->kernel[a], d = w->dilation[a];
    t.s = o * w->stride[a] - w->pad_begin[a];
    t.lo = clamp64(kiln_ceil_div(-t.s, d), 0, k);
    t.hi = clamp64(kiln_ceil_div(w->in[a] - t.s, d), t.lo, k);
    t.padded = clamp64(kiln_ceil_div(w->in[a] + w->pad_end[a] - t.s, d), 0, k);
    return t;
}

/* Output row r of a windowed pool: its image in X, its place in Y and its
 * taps on the row axis. */
typedef struct pool_row {
    const float *x; /* the row's image, [H, W, C] */
    float *y;       /* the row, [OW, C] */
    axis_taps ti;
    int64_t iw, ch, d0, d1;
} pool_row;

static pool_row row_at(const kiln_nhwc_pool_f32 *p, int64_t r)
{
    const kiln_window *w = p->w;
    int64_t oh = w->out[0];
    pool_row row = {p->x + (r / oh) * w->in[0] * w->in[1] * p->channels, p->y + r * w->out[1] * p->channels,
                    taps_on_axis(w, 0, r % oh), w->in[1], p->channels, w->dilation[0], w->dilation[1]};
    return row;
}

/* The channels of tap (i, j) of the window whose column taps are tj. */
static inline const float *tap(const pool_row *row, const axis_taps *tj, int64_t i, int64_t j)
{
    return row->x + ((row->ti.s + i * row->d0) * row->iw + tj->s + j * row->d1) * row->ch;
}

KILN_SIMD_FN void kiln_nhwc_max_row_f32(const kiln_nhwc_pool_f32 *p, int64_t r)
{
    pool_row row = row_at(p, r);
    int64_t ch = row.ch;
    axis_taps ti = row.ti;
    for (int64_t col = 0; col < p->w->out[1]; col++) {
        float *restrict yp = row.y + col * ch;
        axis_taps tj = taps_on_axis(p->w, 1, col);
        if (ti.lo == ti.hi || tj.lo == tj.hi) {
            for (int64_t c = 0; c < ch; c++)
                yp[c] = 0.0f;
            continue;
        }
        for (int64_t i = ti.lo; i < ti.hi; i++)
            for (int64_t j = tj.lo; j < tj.hi; j++) {
                const float *restrict xp = tap(&row, &tj, i, j);
                if (i == ti.lo && j == tj.lo) {
                    for (int64_t c = 0; c < ch; c++)
                        yp[c] = xp[c];
                } else {
                    for (int64_t c = 0; c < ch; c++)
                        yp[c] = xp[c] > yp[c] ? xp[c] : yp[c];
                }
            }
    }
}

KILN_SIMD_FN void kiln_nhwc_avg_row_f32(const kiln_nhwc_pool_f32 *p, int64_t r)
{
    pool_row row = row_at(p, r);
    int64_t ch = row.ch;
    axis_taps ti = row.ti;
    for (int64_t col = 0; col < p->w->out[1]; col++) {
        float *restrict yp = row.y + col * ch;
        axis_taps tj = taps_on_axis(p->w, 1, col);
        /* windows start inside the padded input, so with count_include_pad
         * its taps are [0, padded) on each axis */
        int64_t count = p->count_include_pad ? ti.padded * tj.padded : (ti.hi - ti.lo) * (tj.hi - tj.lo);
        double n = (double)count;
        for (int64_t cb = 0; cb < ch; cb += SUM_BLOCK) {
            int64_t nb = ch - cb < SUM_BLOCK ? ch - cb : SUM_BLOCK;
            double acc[SUM_BLOCK];
            for (int64_t c = 0; c < nb; c++)
                acc[c] = 0.0;
            for (int64_t i = ti.lo; i < ti.hi; i++)
                for (int64_t j = tj.lo; j < tj.hi; j++) {
                    const float *restrict xp = tap(&row, &tj, i, j) + cb;
                    for (int64_t c = 0; c < nb; c++)
                        acc[c] += xp[c];
                }
            for (int64_t c = 0; c < nb; c++)
                yp[cb + c] = count > 0 ? (float)(acc[c] / n) : 0.0f;
        }
    }
}

KILN_SIMD_FN void kiln_nhwc_global_avg_f32(const float *x, int64_t pixels, int64_t stride, int64_t n, float *y)
{
    for (int64_t cb = 0; cb < n; cb += SUM_BLOCK) {
        int64_t nb = n - cb < SUM_BLOCK ? n - cb : SUM_BLOCK;
        double acc[SUM_BLOCK];
        for (int64_t c = 0; c < nb; c++)
            acc[c] = 0.0;
        for (int64_t px = 0; px < pixels; px++) {
            const float *restrict xp = x + px * stride + cb;
            for (int64_t c = 0; c < nb; c++)
                acc[c] += xp[c];
        }
        for (int64_t c = 0; c < nb; c++)
            y[cb + c] = pixels > 0 ? (float)(acc[c] / (double)pixels) : 0.0f;
    }
}

KILN_SIMD_FN void kiln_nhwc_global_max_f32(const float *x, int64_t pixels, int64_t stride, int64_t n, float *y)
{
    float *restrict yp = y;
    if (pixels < 1) {
        for (int64_t c = 0; c < n; c++)
            yp[c] = 0.0f;
        return;
    }
    for (int64_t c = 0; c < n; c++)
        yp[c] = x[c];
    for (int64_t px = 1; px < pixels; px++) {
        const float *restrict xp = x + px * stride;
        for (int64_t c = 0; c < n; c++)
            yp[c] = xp[c] > yp[c] ? xp[c] : yp[c];
    }
}
