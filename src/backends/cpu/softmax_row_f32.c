/*
 * softmax_row_f32.c - the float32 softmax of one contiguous row (see
 * softmax_row_f32.h): a pass for the maximum, one for the exponentials and
 * their sum, one to scale, each in blocks of LANES elements so that the
 * compiler vectorizes them at -O2 (and for AVX2, cpu_simd.h).
 */
#include "backends/cpu/softmax_row_f32.h"

#include <math.h>
#include <string.h>

#include "backends/cpu/cpu_simd.h"

enum { LANES = 8 };

typedef union fbits {
    float f;
    uint32_t u;
} fbits;

/*
 * e^x for x <= 0 (NaN passes through), without branches so that a block of
 * them vectorizes. Cephes' expf: x = n ln2 + r with n = round(x / ln2),
 * rounded by adding 1.5 * 2^23; ln2 in two parts so that r is exact to
 * rounding; e^r for |r| <= ln2 / 2 by a degree-7 polynomial; 2^n built in
 * the exponent bits. Against exp() in double, on every float in [-87, 0],
 * the error is below 1 ulp (0.99 ulp at worst). Below -87 (-inf included)
 * the result is 0: e^x < 2^-125 there is nothing beside the 1 that the row
 * maximum contributes, and 2^n would leave the normal range.
 */
static inline float exp_nonpos(float x)
{
    const float round_magic = 12582912.0f; /* 1.5 * 2^23 */
    fbits t, magic = {round_magic}, scale, y;
    t.f = x * 1.44269504088896341f + round_magic;
    float n = t.f - round_magic;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float poly = 1.9875691500e-4f;
    poly = poly * r + 1.3981999507e-3f;
    poly = poly * r + 8.3334519073e-3f;
    poly = poly * r + 4.1665795894e-2f;
    poly = poly * r + 1.6666665459e-1f;
    poly = poly * r + 5.0000001201e-1f;
    poly = poly * r * r + r + 1.0f;
    /* n sits in the low mantissa bits of t */
    scale.u = (t.u - magic.u + 127u) << 23;
    y.f = poly * scale.f;
    /* all ones, keeping y, unless x < -87; a NaN x compares false and stays NaN */
    y.u &= (uint32_t)(x < -87.0f) - 1u;
    return y.f;
}

static inline void max_block(const float *restrict x, float *restrict m)
{
    for (int k = 0; k < LANES; k++)
        m[k] = x[k] > m[k] ? x[k] : m[k];
}

/* x[k] = e^(x[k] - mx), summed into sum[k] */
static inline void exp_block(float *restrict x, float mx, double *restrict sum)
{
    for (int k = 0; k < LANES; k++) {
        x[k] = exp_nonpos(x[k] - mx);
        sum[k] += x[k];
    }
}

static inline void scale_block(float *restrict x, float s)
{
    for (int k = 0; k < LANES; k++)
        x[k] *= s;
}

KILN_SIMD_FN float kiln_softmax_row_f32(float *row, int64_t n)
{
    float lane_max[LANES], tail[LANES];
    double lane_sum[LANES] = {0};
    int64_t full = n - n % LANES, j;
    for (int k = 0; k < LANES; k++)
        lane_max[k] = -INFINITY;
    for (j = 0; j < full; j += LANES)
        max_block(row + j, lane_max);
    float mx = -INFINITY;
    for (int k = 0; k < LANES; k++)
        mx = lane_max[k] > mx ? lane_max[k] : mx;
    for (j = full; j < n; j++)
        mx = row[j] > mx ? row[j] : mx;
    float row_max = mx;
    if (mx == -INFINITY)
        mx = 0;
    for (j = 0; j < full; j += LANES)
        exp_block(row + j, mx, lane_sum);
    if (full < n) {
        /* the last partial block, padded with -inf (adding e^-inf = 0) */
        for (int k = 0; k < LANES; k++)
            tail[k] = full + k < n ? row[full + k] : -INFINITY;
        exp_block(tail, mx, lane_sum);
        memcpy(row + full, tail, (size_t)(n - full) * sizeof(float));
    }
    double sum = 0;
    for (int k = 0; k < LANES; k++)
        sum += lane_sum[k];
    if (sum == 0)
        sum = 1;
    float inv = (float)(1.0 / sum);
    for (j = 0; j < full; j += LANES)
        scale_block(row + j, inv);
    for (j = full; j < n; j++)
        row[j] *= inv;
    return row_max;
}
