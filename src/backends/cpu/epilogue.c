/*
 * epilogue.c - fused activations for float32 and float64 buffers. The
 * formulas are ONNX's for each activation op. Relu, LeakyRelu and Clip on
 * float32 (exact in float) have their own vectorisable loops; the other
 * activations go through double per element.
 */
#include "backends/cpu/epilogue.h"

#include <math.h>
#include <string.h>

#include "backends/cpu/cpu_simd.h"

#include "core/status.h"

static const struct {
    const char *name;
    kiln_act_kind kind;
} act_names[] = {
    {"", KILN_ACT_NONE},           {"Relu", KILN_ACT_RELU},     {"LeakyRelu", KILN_ACT_LEAKY_RELU},
    {"Clip", KILN_ACT_CLIP},       {"Sigmoid", KILN_ACT_SIGMOID}, {"HardSigmoid", KILN_ACT_HARD_SIGMOID},
    {"HardSwish", KILN_ACT_HARD_SWISH}, {"Tanh", KILN_ACT_TANH}, {"Gelu", KILN_ACT_GELU},
    {"GeluTanh", KILN_ACT_GELU_TANH}, {"Swish", KILN_ACT_SWISH},
};

kiln_status kiln_epilogue_from_node(const kiln_node *n, kiln_epilogue *e)
{
    const char *name = kiln_attr_string(n, "activation", "");
    e->alpha = kiln_attr_float(n, "activation_alpha", 0);
    e->beta = kiln_attr_float(n, "activation_beta", 0);
    for (size_t i = 0; i < sizeof act_names / sizeof act_names[0]; i++)
        if (!strcmp(act_names[i].name, name)) {
            e->kind = act_names[i].kind;
            return KILN_OK;
        }
    return kiln_error(KILN_ERR_UNSUPPORTED, "fused activation '%s' is not supported", name);
}

/* One element in double; float32 buffers round the result once. */
static double act(const kiln_epilogue *e, double x)
{
    switch (e->kind) {
    case KILN_ACT_NONE: return x;
    case KILN_ACT_RELU: return x > 0 ? x : 0;
    case KILN_ACT_LEAKY_RELU: return x >= 0 ? x : e->alpha * x;
    case KILN_ACT_CLIP: return x < e->alpha ? e->alpha : x > e->beta ? e->beta : x;
    case KILN_ACT_SIGMOID: return 1 / (1 + exp(-x));
    case KILN_ACT_HARD_SIGMOID: return fmax(0, fmin(1, e->alpha * x + e->beta));
    case KILN_ACT_HARD_SWISH: return x * fmax(0, fmin(1, x / 6 + 0.5));
    case KILN_ACT_TANH: return tanh(x);
    case KILN_ACT_GELU: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    case KILN_ACT_GELU_TANH: return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    case KILN_ACT_SWISH: return x / (1 + exp(-x));
    }
    return x;
}

/* y[i] = f(y[i] + a[i]) (a may be NULL) for an expression f of v. */
#define ADD_ACT_LOOP(expr)                                                                                             \
    do {                                                                                                               \
        if (a) {                                                                                                       \
            for (int64_t i = 0; i < n; i++) {                                                                          \
                float v = y[i] + a[i];                                                                                 \
                y[i] = (expr);                                                                                         \
            }                                                                                                          \
        } else {                                                                                                       \
            for (int64_t i = 0; i < n; i++) {                                                                          \
                float v = y[i];                                                                                        \
                y[i] = (expr);                                                                                         \
            }                                                                                                          \
        }                                                                                                              \
    } while (0)

KILN_SIMD_FN static void add_only(float *restrict y, const float *restrict a, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] += a[i];
}

KILN_SIMD_FN static void relu_add(float *restrict y, const float *restrict a, int64_t n)
{
    ADD_ACT_LOOP(v > 0 ? v : 0.0f);
}

KILN_SIMD_FN static void clip_add(float *restrict y, const float *restrict a, int64_t n, float lo, float hi)
{
    ADD_ACT_LOOP(v < lo ? lo : v > hi ? hi : v);
}

KILN_SIMD_FN static void leaky_add(float *restrict y, const float *restrict a, int64_t n, float alpha)
{
    ADD_ACT_LOOP(v >= 0 ? v : alpha * v);
}

void kiln_epilogue_apply_add_f32(const kiln_epilogue *e, float *y, const float *a, int64_t n)
{
    switch (e->kind) {
    case KILN_ACT_NONE:
        if (a)
            add_only(y, a, n);
        return;
    case KILN_ACT_RELU: relu_add(y, a, n); return;
    case KILN_ACT_CLIP: clip_add(y, a, n, e->alpha, e->beta); return;
    case KILN_ACT_LEAKY_RELU: leaky_add(y, a, n, e->alpha); return;
    default: break;
    }
    if (a)
        add_only(y, a, n);
    for (int64_t i = 0; i < n; i++)
        y[i] = (float)act(e, y[i]);
}

void kiln_epilogue_apply_f32(const kiln_epilogue *e, float *y, int64_t n)
{
    kiln_epilogue_apply_add_f32(e, y, NULL, n);
}

void kiln_epilogue_apply_f64(const kiln_epilogue *e, double *y, int64_t n)
{
    for (int64_t i = 0; e->kind != KILN_ACT_NONE && i < n; i++)
        y[i] = act(e, y[i]);
}
