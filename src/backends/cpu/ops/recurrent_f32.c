/*
 * recurrent_f32.c - the recurrent cell loop in float32 (for float16,
 * bfloat16 and float32 inputs): an instance of recurrent_impl.h, with a
 * float tanh about three times as fast as libm's tanhf and as accurate
 * (within 3 ulp): tanh is most of an LSTM's or GRU's gate math.
 */
#include "backends/cpu/ops/recurrent_internal.h"

#include <math.h>

static float tanh_f32(float x)
{
    float a = fabsf(x);
    if (a < 0.3f) {
        /* Taylor series through x^11: below 1e-8 relative error here,
         * where (1 - e) / (1 + e) would cancel */
        float x2 = x * x, p = -1382.0f / 155925.0f;
        p = p * x2 + 62.0f / 2835.0f;
        p = p * x2 - 17.0f / 315.0f;
        p = p * x2 + 2.0f / 15.0f;
        p = p * x2 - 1.0f / 3.0f;
        return x + x * x2 * p;
    }
    float e = expf(-2.0f * a);
    return copysignf((1.0f - e) / (1.0f + e), x);
}

#define RNN_T float
#define RNN_DTYPE KILN_FLOAT32
#define RNN_GEMM cblas_sgemm
#define RNN_GEMV cblas_sgemv
#define RNN_TANH tanh_f32
#define RNN_ENTRY kiln_rnn_compute_f32

#include "backends/cpu/ops/recurrent_impl.h"
