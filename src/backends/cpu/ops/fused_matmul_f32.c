/*
 * fused_matmul_f32.c - the float32 epilogue of the fused matrix products
 * (see fused_matmul_f32.h). The output is cut into blocks of BLOCK elements
 * shared over the thread pool; inside a block, bias and activation run on
 * each stretch of a row in one pass, in loops of a fixed LANES trip count so
 * that the compiler vectorizes them at -O2 (and for AVX2, cpu_simd.h).
 */
#include "backends/cpu/ops/fused_matmul_f32.h"

#include "backends/cpu/cpu_simd.h"
#include "core/thread_pool.h"

enum { LANES = 8, BLOCK = 1024 };

typedef union fbits {
    float f;
    uint32_t u;
} fbits;

/* v where keep holds, else 0, without a branch (a NaN v with keep false
 * gives 0). */
static inline float keep_if(float v, int keep)
{
    fbits b = {v};
    b.u &= 0u - (uint32_t)keep;
    return b.f;
}

/*
 * erf as x * P(x^2) / Q(x^2) on [-4, 4] (outside, erf is +-1 to float
 * precision): the rational minimax fit Eigen and XLA use for float erf.
 * Against erf() in double its error is below 4.3e-7 everywhere.
 */
static inline float erf_rational(float x)
{
    /* |x| clamped to 4 by bit selection (branches would stop the
     * vectorizer); a NaN x stays NaN */
    fbits v = {x}, four = {4.0f}, mag, sign;
    mag.u = v.u & 0x7fffffffu;
    sign.u = v.u & 0x80000000u;
    uint32_t big = 0u - (uint32_t)(mag.f > 4.0f);
    mag.u = (mag.u & ~big) | (four.u & big);
    mag.u |= sign.u;
    x = mag.f;
    float x2 = x * x;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    float q = -1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return x * p / q;
}

float kiln_erf_f32(float x)
{
    return erf_rational(x);
}

static inline float gelu(float x)
{
    return 0.5f * x * (1.0f + erf_rational(x * 0.70710678118654752f));
}

KILN_SIMD_FN static void gelu_span(float *restrict y, const float *restrict b, int64_t n)
{
    int64_t j = 0;
    if (b) {
        for (; j + LANES <= n; j += LANES)
            for (int k = 0; k < LANES; k++)
                y[j + k] = gelu(y[j + k] + b[j + k]);
        for (; j < n; j++)
            y[j] = gelu(y[j] + b[j]);
        return;
    }
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++)
            y[j + k] = gelu(y[j + k]);
    for (; j < n; j++)
        y[j] = gelu(y[j]);
}

KILN_SIMD_FN static void add_span(float *restrict y, const float *restrict b, int64_t n)
{
    int64_t j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++)
            y[j + k] += b[j + k];
    for (; j < n; j++)
        y[j] += b[j];
}

/* y = max(y, 0); the bias is added first (the stretch is still in cache) */
KILN_SIMD_FN static void relu_span(float *restrict y, int64_t n)
{
    int64_t j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++)
            y[j + k] = keep_if(y[j + k], y[j + k] > 0.0f);
    for (; j < n; j++)
        y[j] = keep_if(y[j], y[j] > 0.0f);
}

typedef struct epi_job {
    const kiln_epilogue *e;
    float *y;
    const float *bias;
    int64_t n, len;
} epi_job;

/* Bias and activation on y[0, n) (n within one row), bias NULL or at the
 * stretch's first column. */
static void span(const kiln_epilogue *e, float *y, const float *b, int64_t n)
{
    switch (e->kind) {
    case KILN_ACT_GELU: gelu_span(y, b, n); return;
    case KILN_ACT_RELU:
        if (b)
            add_span(y, b, n);
        relu_span(y, n);
        return;
    default:
        if (b)
            add_span(y, b, n);
        kiln_epilogue_apply_f32(e, y, n);
    }
}

static void run_blocks(void *user, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const epi_job *j = user;
    int64_t lo = begin * BLOCK, hi = end * BLOCK < j->n ? end * BLOCK : j->n;
    while (lo < hi) {
        int64_t col = lo % j->len, stop = lo - col + j->len;
        stop = stop < hi ? stop : hi;
        span(j->e, j->y + lo, j->bias ? j->bias + col : NULL, stop - lo);
        lo = stop;
    }
}

/* Blocks per chunk, so that one chunk is several microseconds of work
 * (measured single-threaded: a bias add 0.08 ns an element, GELU 0.6 ns). */
static int64_t grain_for(kiln_act_kind kind)
{
    switch (kind) {
    case KILN_ACT_NONE:
    case KILN_ACT_RELU: return 64;
    case KILN_ACT_GELU: return 8;
    default: return 2;
    }
}

void kiln_epilogue_rows_f32(const kiln_epilogue *e, float *y, const float *bias, int64_t rows, int64_t len)
{
    if (!bias && e->kind == KILN_ACT_NONE)
        return;
    epi_job j = {e, y, bias, rows * len, len};
    kiln_parallel_for_grain((j.n + BLOCK - 1) / BLOCK, grain_for(e->kind), run_blocks, &j);
}
