/*
 * depthwise_f32.c - float32 depthwise convolution planes. The common 3x3
 * kernel at stride 1 or 2 without dilation (MobileNet's) sums its nine taps
 * per output element in a vectorisable loop over the row's interior
 * columns, the three input rows read once; the rows and columns that touch
 * the padding take bounds-checked loops. Other windows add one tap at a
 * time to whole output rows (kiln_cp_add_plane_2d).
 */
#include "backends/cpu/depthwise_f32.h"

#include "backends/cpu/cpu_simd.h"
#include "backends/cpu/cpu_util.h"
#include "backends/cpu/ops/conv_pool_kernels.h"

/* One output element, its taps bounds-checked. */
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

/* y[i] = bias + the 3x3 taps of output column i, input rows a, b, c
 * starting at the column's first tap; stride 1 and stride 2. */
KILN_SIMD_FN static void row3x3_s1(float *restrict y, const float *restrict a, const float *restrict b,
                                   const float *restrict c, const float *restrict k, float bias, int64_t n)
{
    float k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6], k7 = k[7], k8 = k[8];
    for (int64_t i = 0; i < n; i++)
        y[i] = bias + k0 * a[i] + k1 * a[i + 1] + k2 * a[i + 2] + k3 * b[i] + k4 * b[i + 1] + k5 * b[i + 2] +
               k6 * c[i] + k7 * c[i + 1] + k8 * c[i + 2];
}

KILN_SIMD_FN static void row3x3_s2(float *restrict y, const float *restrict a, const float *restrict b,
                                   const float *restrict c, const float *restrict k, float bias, int64_t n)
{
    float k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6], k7 = k[7], k8 = k[8];
    for (int64_t i = 0; i < n; i++)
        y[i] = bias + k0 * a[2 * i] + k1 * a[2 * i + 1] + k2 * a[2 * i + 2] + k3 * b[2 * i] + k4 * b[2 * i + 1] +
               k5 * b[2 * i + 2] + k6 * c[2 * i] + k7 * c[2 * i + 1] + k8 * c[2 * i + 2];
}

/* y[i] += the three taps k of one input row a, at stride s (1 or 2). */
KILN_SIMD_FN static void add_row3(float *restrict y, const float *restrict a, const float *restrict k, int64_t s,
                                  int64_t n)
{
    float k0 = k[0], k1 = k[1], k2 = k[2];
    if (s == 1)
        for (int64_t i = 0; i < n; i++)
            y[i] += k0 * a[i] + k1 * a[i + 1] + k2 * a[i + 2];
    else
        for (int64_t i = 0; i < n; i++)
            y[i] += k0 * a[2 * i] + k1 * a[2 * i + 1] + k2 * a[2 * i + 2];
}

static int is_3x3_fast(const kiln_window *w)
{
    return w->kernel[0] == 3 && w->kernel[1] == 3 && w->dilation[0] == 1 && w->dilation[1] == 1 &&
           w->stride[0] == w->stride[1] && (w->stride[0] == 1 || w->stride[0] == 2) && w->pad_begin[0] >= 0 &&
           w->pad_begin[1] >= 0;
}

static void plane_3x3(const kiln_window *w, const float *x, const float *k, float bias, float *y)
{
    int64_t ih = w->in[0], iw = w->in[1], oh = w->out[0], ow = w->out[1], s = w->stride[0];
    int64_t pt = w->pad_begin[0], pl = w->pad_begin[1];
    /* interior columns: c * s - pl >= 0 and c * s - pl + 2 < iw */
    int64_t c0 = kiln_ceil_div(pl, s), c1 = iw - 3 + pl >= 0 ? (iw - 3 + pl) / s + 1 : 0;
    c0 = c0 > ow ? ow : c0;
    c1 = c1 > ow ? ow : c1 < c0 ? c0 : c1;
    for (int64_t r = 0; r < oh; r++) {
        float *yr = y + r * ow;
        int64_t top = r * s - pt;
        for (int64_t col = 0; col < c0; col++)
            yr[col] = tap_sum(w, x, k, r, col, bias);
        for (int64_t col = c1; col < ow; col++)
            yr[col] = tap_sum(w, x, k, r, col, bias);
        if (c1 == c0)
            continue;
        int64_t shift = c0 * s - pl;
        if (top >= 0 && top + 2 < ih) {
            const float *a = x + top * iw + shift;
            if (s == 1)
                row3x3_s1(yr + c0, a, a + iw, a + 2 * iw, k, bias, c1 - c0);
            else
                row3x3_s2(yr + c0, a, a + iw, a + 2 * iw, k, bias, c1 - c0);
            continue;
        }
        for (int64_t col = c0; col < c1; col++)
            yr[col] = bias;
        for (int64_t i = 0; i < 3; i++)
            if (top + i >= 0 && top + i < ih)
                add_row3(yr + c0, x + (top + i) * iw + shift, k + 3 * i, s, c1 - c0);
    }
}

void kiln_dw_plane_f32(const kiln_window *w, const float *x, const float *k, float bias, float *y)
{
    if (is_3x3_fast(w)) {
        plane_3x3(w, x, k, bias, y);
        return;
    }
    int64_t n = w->out[0] * w->out[1];
    for (int64_t i = 0; i < n; i++)
        y[i] = bias;
    kiln_cp_add_plane_2d(w, x, k, y);
}
