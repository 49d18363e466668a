/*
 * conv_pool_maxpool.c - float32 2-D max pooling plane by plane. For each
 * output row, the columns whose windows lie inside the input row take the
 * taps one at a time as whole vectorisable row passes (first tap copied,
 * the others kept where greater); the border columns take bounds-checked
 * loops.
 */
#include "backends/cpu/ops/conv_pool_maxpool.h"

#include "backends/cpu/cpu_simd.h"

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* y[c] = a[c * s] (first) or the greater of it and y[c], for n columns. */
KILN_SIMD_FN static void row_max(float *restrict y, const float *restrict a, int64_t s, int64_t n, int first)
{
    if (first) {
        for (int64_t c = 0; c < n; c++)
            y[c] = a[c * s];
    } else if (s == 1) {
        for (int64_t c = 0; c < n; c++)
            y[c] = a[c] > y[c] ? a[c] : y[c];
    } else if (s == 2) {
        for (int64_t c = 0; c < n; c++)
            y[c] = a[2 * c] > y[c] ? a[2 * c] : y[c];
    } else {
        for (int64_t c = 0; c < n; c++)
            y[c] = a[c * s] > y[c] ? a[c * s] : y[c];
    }
}

/* One border column: its taps in rows [i0, i1) (from input row rs). */
static float column_max(const kiln_window *w, const float *x, int64_t rs, int64_t i0, int64_t i1, int64_t col)
{
    int64_t iw = w->in[1], d1 = w->dilation[1], cs = col * w->stride[1] - w->pad_begin[1];
    int64_t j0 = clamp64(kiln_ceil_div(-cs, d1), 0, w->kernel[1]);
    int64_t j1 = clamp64(kiln_ceil_div(iw - cs, d1), j0, w->kernel[1]);
    if (j0 == j1)
        return 0.0f;
    float best = 0.0f;
    int first = 1;
    for (int64_t i = i0; i < i1; i++) {
        const float *xr = x + (rs + i * w->dilation[0]) * iw + cs;
        for (int64_t j = j0; j < j1; j++) {
            float v = xr[j * d1];
            if (first || v > best)
                best = v;
            first = 0;
        }
    }
    return best;
}

void kiln_cp_max_plane_f32(const kiln_window *w, const float *x, float *y)
{
    int64_t ih = w->in[0], iw = w->in[1], ow = w->out[1], k0 = w->kernel[0], k1 = w->kernel[1];
    int64_t s1 = w->stride[1], d1 = w->dilation[1], p1 = w->pad_begin[1];
    /* interior columns: c * s1 - p1 >= 0 and c * s1 - p1 + (k1 - 1) * d1 < iw */
    int64_t last = iw - 1 - (k1 - 1) * d1 + p1;
    int64_t c0 = clamp64(kiln_ceil_div(p1, s1), 0, ow), c1 = last >= 0 ? clamp64(last / s1 + 1, c0, ow) : c0;
    for (int64_t r = 0; r < w->out[0]; r++) {
        float *yr = y + r * ow;
        int64_t rs = r * w->stride[0] - w->pad_begin[0];
        int64_t i0 = clamp64(kiln_ceil_div(-rs, w->dilation[0]), 0, k0);
        int64_t i1 = clamp64(kiln_ceil_div(ih - rs, w->dilation[0]), i0, k0);
        for (int64_t col = 0; col < ow; col++) {
            if (col == c0 && c1 > c0)
                col = c1;
            if (col < ow)
                yr[col] = i0 < i1 ? column_max(w, x, rs, i0, i1, col) : 0.0f;
        }
        if (c1 == c0)
            continue;
        if (i0 == i1) {
            for (int64_t col = c0; col < c1; col++)
                yr[col] = 0.0f;
            continue;
        }
        int first = 1;
        for (int64_t i = i0; i < i1; i++) {
            const float *xr = x + (rs + i * w->dilation[0]) * iw + c0 * s1 - p1;
            for (int64_t j = 0; j < k1; j++, first = 0)
                row_max(yr + c0, xr + j * d1, s1, c1 - c0, first);
        }
    }
}
