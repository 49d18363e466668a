/*
 * elementwise_unary.c - CPU kernels of the unary elementwise ops: math
 * functions, activations, IsNaN/IsInf, Not/BitwiseNot, and Clip.
 *
 * One table lists each op with up to two attributes (name and default) and
 * its scalar functions per compute class (see kiln_ew_class): float for
 * float16/bfloat16/float32, double for float64, int64 / uint64 for integers.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "backends/cpu/cpu_simd.h"
#include "backends/cpu/ops/elementwise_common.h"
#include "core/thread_pool.h"

/* Elements per chunk of a parallel float32 loop: a few microseconds. */
#define UNARY_GRAIN 16384

/* The op's attributes, in the order its table entry names them. */
typedef struct uparams {
    float a, b;
} uparams;

typedef struct unop {
    const char *name;
    const char *attr[2]; /* attribute names, NULL when unused */
    float def[2];        /* their defaults */
    int out_bool;        /* the output is bool (IsNaN, IsInf) */
    int bool_in;         /* the input is bool (Not) */
    float (*f32)(float, const uparams *);
    double (*f64)(double, const uparams *);
    int64_t (*i64)(int64_t, const uparams *);
    uint64_t (*u64)(uint64_t, const uparams *);
} unop;

/* ---- scalar functions ------------------------------------------------- */

/* libm functions in both precisions */
#define LIBM(name, ffn, dfn)                                                                                           \
    static float name##_f(float x, const uparams *p) { return ffn(x); }                                               \
    static double name##_d(double x, const uparams *p) { return dfn(x); }

LIBM(exp, expf, exp)
LIBM(log, logf, log)
LIBM(sqrt, sqrtf, sqrt)
LIBM(erf, erff, erf)
LIBM(tanh, tanhf, tanh)
LIBM(floor, floorf, floor)
LIBM(ceil, ceilf, ceil)
LIBM(sin, sinf, sin)
LIBM(cos, cosf, cos)
LIBM(tan, tanf, tan)
LIBM(asin, asinf, asin)
LIBM(acos, acosf, acos)
LIBM(atan, atanf, atan)
LIBM(sinh, sinhf, sinh)
LIBM(cosh, coshf, cosh)
LIBM(asinh, asinhf, asinh)
LIBM(acosh, acoshf, acosh)
LIBM(atanh, atanhf, atanh)

static float relu_f(float x, const uparams *p) { return x > 0 ? x : 0.0f; }
static double relu_d(double x, const uparams *p) { return x > 0 ? x : 0.0; }
static int64_t relu_i(int64_t x, const uparams *p) { return x > 0 ? x : 0; }

static float neg_f(float x, const uparams *p) { return -x; }
static double neg_d(double x, const uparams *p) { return -x; }
static int64_t neg_i(int64_t x, const uparams *p) { return kiln_ew_wrap(0 - (uint64_t)x); }

static float abs_f(float x, const uparams *p) { return fabsf(x); }
static double abs_d(double x, const uparams *p) { return fabs(x); }
static int64_t abs_i(int64_t x, const uparams *p) { return x < 0 ? neg_i(x, p) : x; }
static uint64_t ident_u(uint64_t x, const uparams *p) { return x; }

static float sign_f(float x, const uparams *p) { return x > 0 ? 1.0f : x < 0 ? -1.0f : x; }
static double sign_d(double x, const uparams *p) { return x > 0 ? 1.0 : x < 0 ? -1.0 : x; }
static int64_t sign_i(int64_t x, const uparams *p) { return (x > 0) - (x < 0); }
static uint64_t sign_u(uint64_t x, const uparams *p) { return x != 0; }

static float recip_f(float x, const uparams *p) { return 1.0f / x; }
static double recip_d(double x, const uparams *p) { return 1.0 / x; }

/* Round halves to even; the sign of zero results follows x. */
static double round_d(double x, const uparams *p)
{
    double r = floor(x), d = x - r;
    if (d > 0.5 || (d == 0.5 && fmod(r, 2.0) != 0))
        r += 1.0;
    return copysign(r, x);
}
static float round_f(float x, const uparams *p) { return (float)round_d(x, p); }

static float sigmoid_f(float x, const uparams *p)
{
    if (x >= 0)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}
static double sigmoid_d(double x, const uparams *p)
{
    if (x >= 0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* log(1 + e^x) without overflow */
static float softplus_f(float x, const uparams *p) { return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x))); }
static double softplus_d(double x, const uparams *p) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }

static float softsign_f(float x, const uparams *p) { return x / (1.0f + fabsf(x)); }
static double softsign_d(double x, const uparams *p) { return x / (1.0 + fabs(x)); }

static float mish_f(float x, const uparams *p) { return x * tanhf(softplus_f(x, p)); }
static double mish_d(double x, const uparams *p) { return x * tanh(softplus_d(x, p)); }

#define SQRT1_2 0.70710678118654752440 /* 1 / sqrt(2) */

static float gelu_f(float x, const uparams *p) { return 0.5f * x * (1.0f + erff(x * (float)SQRT1_2)); }
static double gelu_d(double x, const uparams *p) { return 0.5 * x * (1.0 + erf(x * SQRT1_2)); }

/* Gelu with approximate="tanh": 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))) */
static float gelu_tanh_f(float x, const uparams *p)
{
    const float k = 0.7978845608028654f;
    return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}
static double gelu_tanh_d(double x, const uparams *p)
{
    const double k = 0.7978845608028654;
    return 0.5 * x * (1.0 + tanh(k * (x + 0.044715 * x * x * x)));
}

static float hardswish_f(float x, const uparams *p) { return x * fmaxf(0.0f, fminf(1.0f, x / 6.0f + 0.5f)); }
static double hardswish_d(double x, const uparams *p) { return x * fmax(0.0, fmin(1.0, x / 6.0 + 0.5)); }

/* alpha = p->a */
static float leaky_f(float x, const uparams *p) { return x >= 0 ? x : p->a * x; }
static double leaky_d(double x, const uparams *p) { return x >= 0 ? x : p->a * x; }

static float elu_f(float x, const uparams *p) { return x > 0 ? x : p->a * expm1f(x); }
static double elu_d(double x, const uparams *p) { return x > 0 ? x : p->a * expm1(x); }

static float celu_f(float x, const uparams *p) { return fmaxf(0.0f, x) + fminf(0.0f, p->a * expm1f(x / p->a)); }
static double celu_d(double x, const uparams *p)
{
    return fmax(0.0, x) + fmin(0.0, (double)p->a * expm1(x / (double)p->a));
}

static float thresholded_f(float x, const uparams *p) { return x > p->a ? x : 0.0f; }
static double thresholded_d(double x, const uparams *p) { return x > p->a ? x : 0.0; }

static float swish_f(float x, const uparams *p)
{
    uparams none = {0, 0};
    return x * sigmoid_f(p->a * x, &none);
}
static double swish_d(double x, const uparams *p)
{
    uparams none = {0, 0};
    return x * sigmoid_d(p->a * x, &none);
}

/* Selu: alpha = p->a, gamma = p->b */
static float selu_f(float x, const uparams *p) { return p->b * (x > 0 ? x : p->a * expm1f(x)); }
static double selu_d(double x, const uparams *p) { return p->b * (x > 0 ? x : p->a * expm1(x)); }

/* HardSigmoid: alpha = p->a, beta = p->b */
static float hardsigmoid_f(float x, const uparams *p) { return fmaxf(0.0f, fminf(1.0f, p->a * x + p->b)); }
static double hardsigmoid_d(double x, const uparams *p)
{
    return fmax(0.0, fmin(1.0, (double)p->a * x + (double)p->b));
}

/* Shrink: bias = p->a, lambd = p->b; integers compute in double */
static double shrink_d(double x, const uparams *p) { return x < -p->b ? x + p->a : x > p->b ? x - p->a : 0.0; }
static float shrink_f(float x, const uparams *p) { return x < -p->b ? x + p->a : x > p->b ? x - p->a : 0.0f; }
static int64_t shrink_i(int64_t x, const uparams *p)
{
    double r = shrink_d((double)x, p);
    return isnan(r) ? 0 : r >= 0x1p63 ? INT64_MAX : r < -0x1p63 ? INT64_MIN : (int64_t)r;
}
static uint64_t shrink_u(uint64_t x, const uparams *p)
{
    double r = shrink_d((double)x, p);
    return isnan(r) || r <= 0 ? 0 : r >= 0x1p64 ? UINT64_MAX : (uint64_t)r;
}

static float isnan_f(float x, const uparams *p) { return isnan(x) != 0; }
static double isnan_d(double x, const uparams *p) { return isnan(x) != 0; }

/* IsInf: detect_negative = p->a, detect_positive = p->b */
static double isinf_d(double x, const uparams *p)
{
    return (x == -INFINITY && p->a != 0) || (x == INFINITY && p->b != 0);
}
static float isinf_f(float x, const uparams *p) { return (float)isinf_d(x, p); }

static uint64_t not_u(uint64_t x, const uparams *p) { return !x; }
static int64_t bitnot_i(int64_t x, const uparams *p) { return ~x; }
static uint64_t bitnot_u(uint64_t x, const uparams *p) { return ~x; }

#define NOATTR {NULL, NULL}, {0, 0}
#define FLOATS(name) name##_f, name##_d, NULL, NULL

/* "Gelu:tanh" is Gelu with approximate="tanh". */
static const unop unops[] = {
    {"Relu", NOATTR, 0, 0, relu_f, relu_d, relu_i, NULL},
    {"Neg", NOATTR, 0, 0, neg_f, neg_d, neg_i, NULL},
    {"Abs", NOATTR, 0, 0, abs_f, abs_d, abs_i, ident_u},
    {"Sign", NOATTR, 0, 0, sign_f, sign_d, sign_i, sign_u},
    {"Shrink", {"bias", "lambd"}, {0.0f, 0.5f}, 0, 0, shrink_f, shrink_d, shrink_i, shrink_u},
    {"BitwiseNot", NOATTR, 0, 0, NULL, NULL, bitnot_i, bitnot_u},
    {"Not", NOATTR, 0, 1, NULL, NULL, NULL, not_u},
    {"IsNaN", NOATTR, 1, 0, FLOATS(isnan)},
    {"IsInf", {"detect_negative", "detect_positive"}, {1, 1}, 1, 0, FLOATS(isinf)},
    {"Exp", NOATTR, 0, 0, FLOATS(exp)},
    {"Log", NOATTR, 0, 0, FLOATS(log)},
    {"Sqrt", NOATTR, 0, 0, FLOATS(sqrt)},
    {"Erf", NOATTR, 0, 0, FLOATS(erf)},
    {"Tanh", NOATTR, 0, 0, FLOATS(tanh)},
    {"Floor", NOATTR, 0, 0, FLOATS(floor)},
    {"Ceil", NOATTR, 0, 0, FLOATS(ceil)},
    {"Round", NOATTR, 0, 0, FLOATS(round)},
    {"Reciprocal", NOATTR, 0, 0, FLOATS(recip)},
    {"Sin", NOATTR, 0, 0, FLOATS(sin)},
    {"Cos", NOATTR, 0, 0, FLOATS(cos)},
    {"Tan", NOATTR, 0, 0, FLOATS(tan)},
    {"Asin", NOATTR, 0, 0, FLOATS(asin)},
    {"Acos", NOATTR, 0, 0, FLOATS(acos)},
    {"Atan", NOATTR, 0, 0, FLOATS(atan)},
    {"Sinh", NOATTR, 0, 0, FLOATS(sinh)},
    {"Cosh", NOATTR, 0, 0, FLOATS(cosh)},
    {"Asinh", NOATTR, 0, 0, FLOATS(asinh)},
    {"Acosh", NOATTR, 0, 0, FLOATS(acosh)},
    {"Atanh", NOATTR, 0, 0, FLOATS(atanh)},
    {"Sigmoid", NOATTR, 0, 0, FLOATS(sigmoid)},
    {"Softplus", NOATTR, 0, 0, FLOATS(softplus)},
    {"Softsign", NOATTR, 0, 0, FLOATS(softsign)},
    {"Mish", NOATTR, 0, 0, FLOATS(mish)},
    {"Gelu", NOATTR, 0, 0, FLOATS(gelu)},
    {"Gelu:tanh", NOATTR, 0, 0, FLOATS(gelu_tanh)},
    {"HardSwish", NOATTR, 0, 0, FLOATS(hardswish)},
    {"LeakyRelu", {"alpha", NULL}, {0.01f, 0}, 0, 0, FLOATS(leaky)},
    {"Elu", {"alpha", NULL}, {1.0f, 0}, 0, 0, FLOATS(elu)},
    {"Celu", {"alpha", NULL}, {1.0f, 0}, 0, 0, FLOATS(celu)},
    {"ThresholdedRelu", {"alpha", NULL}, {1.0f, 0}, 0, 0, FLOATS(thresholded)},
    {"Swish", {"alpha", NULL}, {1.0f, 0}, 0, 0, FLOATS(swish)},
    {"Selu", {"alpha", "gamma"}, {1.67326319217681884765625f, 1.05070102214813232421875f}, 0, 0, FLOATS(selu)},
    {"HardSigmoid", {"alpha", "beta"}, {0.2f, 0.5f}, 0, 0, FLOATS(hardsigmoid)},
};

/* The table entry for the node, with attribute-selected variants. */
static kiln_status find_unop(const kiln_op_ctx *ctx, const unop **out)
{
    const char *name = ctx->node->op_type;
    if (strcmp(name, "Gelu") == 0) {
        const char *approx = kiln_attr_string(ctx->node, "approximate", "none");
        if (strcmp(approx, "tanh") == 0)
            name = "Gelu:tanh";
        else if (strcmp(approx, "none") != 0)
            return kiln_error(KILN_ERR_UNSUPPORTED, "attribute approximate='%s' is not supported (none or tanh)",
                              approx);
    }
    for (size_t i = 0; i < sizeof unops / sizeof unops[0]; i++)
        if (strcmp(unops[i].name, name) == 0) {
            *out = &unops[i];
            return KILN_OK;
        }
    return kiln_error(KILN_ERR_UNSUPPORTED, "no elementwise kernel for %s", ctx->node->op_type);
}

/* A float or int attribute as float, or def when absent. */
static float attr_number(const kiln_node *node, const char *name, float def)
{
    const kiln_attr *a = name ? kiln_attr_find(node, name) : NULL;
    if (!a)
        return def;
    return a->type == KILN_ATTR_INT ? (float)a->i : a->f;
}

/* float32 loops: Relu (hot in CNNs) written out so it vectorises, the rest
 * through the table's function. */
KILN_SIMD_FN static void run_f32(const unop *op, const uparams *p, const float *x, float *y, int64_t n)
{
    if (op->f32 == relu_f) {
        for (int64_t i = 0; i < n; i++)
            y[i] = x[i] > 0 ? x[i] : 0.0f;
        return;
    }
    for (int64_t i = 0; i < n; i++)
        y[i] = op->f32(x[i], p);
}

/* A float32 unary op (or Clip, when op is NULL) split over the pool. */
typedef struct f32_job {
    const unop *op;
    const uparams *p;
    const float *x;
    float *y;
    float lo, hi; /* Clip */
} f32_job;

KILN_SIMD_FN static void clip_f32(const float *x, float *y, int64_t n, float l, float h)
{
    for (int64_t i = 0; i < n; i++) {
        float v = x[i] < l ? l : x[i];
        y[i] = v > h ? h : v;
    }
}

static void f32_chunk(void *user, int64_t begin, int64_t end, int thread)
{
    const f32_job *j = user;
    (void)thread;
    if (j->op)
        run_f32(j->op, j->p, j->x + begin, j->y + begin, end - begin);
    else
        clip_f32(j->x + begin, j->y + begin, end - begin, j->lo, j->hi);
}

static void run_f32_parallel(const f32_job *j, int64_t n)
{
    kiln_parallel_for_grain(n, UNARY_GRAIN, f32_chunk, (void *)j);
}

static void run_unary(const unop *op, const uparams *p, kiln_ew_class cls, const kiln_tensor *x, kiln_tensor *y)
{
    int64_t n = kiln_tensor_numel(x);
    kiln_dtype xd = x->dtype, yd = y->dtype;
    if (cls == KILN_EW_F32 && xd == KILN_FLOAT32 && yd == KILN_FLOAT32) {
        f32_job j = {op, p, x->data, y->data, 0, 0};
        run_f32_parallel(&j, n);
        return;
    }
    switch (cls) {
    case KILN_EW_F32:
        for (int64_t i = 0; i < n; i++)
            kiln_ew_st_f32(y->data, yd, i, op->f32(kiln_ew_ld_f32(x->data, xd, i), p));
        break;
    case KILN_EW_F64:
        for (int64_t i = 0; i < n; i++)
            kiln_ew_st_f64(y->data, yd, i, op->f64(kiln_ew_ld_f64(x->data, xd, i), p));
        break;
    case KILN_EW_I64:
        for (int64_t i = 0; i < n; i++)
            kiln_store_i64(y->data, yd, (size_t)i, op->i64(kiln_load_i64(x->data, xd, (size_t)i), p));
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            kiln_store_u64(y->data, yd, (size_t)i, op->u64(kiln_load_u64(x->data, xd, (size_t)i), p));
        break;
    }
}

kiln_status kiln_ew_unary(kiln_op_ctx *ctx)
{
    const unop *op = NULL;
    KILN_TRY(find_unop(ctx, &op));
    KILN_TRY(kiln_ew_need_io(ctx, 1));
    const kiln_tensor *x = ctx->in[0];
    kiln_ew_class cls = kiln_ew_class_of(x->dtype);
    int ok = (cls == KILN_EW_F32 && op->f32) || (cls == KILN_EW_F64 && op->f64) ||
             (cls == KILN_EW_I64 && op->i64) || (cls == KILN_EW_U64 && op->u64);
    if (!ok || (x->dtype == KILN_BOOL) != (op->bool_in != 0))
        return kiln_unsupported_dtype(ctx, "input 0", x->dtype);
    KILN_TRY(kiln_ew_check_out(ctx->out[0], op->out_bool ? KILN_BOOL : x->dtype, x));
    uparams p = {attr_number(ctx->node, op->attr[0], op->def[0]), attr_number(ctx->node, op->attr[1], op->def[1])};
    run_unary(op, &p, cls, x, ctx->out[0]);
    return KILN_OK;
}

/* ---- Clip --------------------------------------------------------------- */

/* Bound input i (min 1, max 2) when present: one element of x's dtype. */
static kiln_status clip_bound(const kiln_op_ctx *ctx, int i, const kiln_tensor **out)
{
    *out = i < ctx->n_in ? ctx->in[i] : NULL;
    if (!*out)
        return KILN_OK;
    if ((*out)->dtype != ctx->in[0]->dtype)
        return kiln_error(KILN_ERR_GRAPH, "input %d (%s) has dtype %s but input 0 has %s", i, i == 1 ? "min" : "max",
                          kiln_ew_dtype_name((*out)->dtype), kiln_ew_dtype_name(ctx->in[0]->dtype));
    if (kiln_tensor_numel(*out) != 1)
        return kiln_error(KILN_ERR_SHAPE, "input %d (%s) must be a scalar, has %lld elements", i,
                          i == 1 ? "min" : "max", (long long)kiln_tensor_numel(*out));
    return KILN_OK;
}

/* y = min(max(x, lo), hi): lo > hi gives hi, as numpy.clip does; NaN stays. */
static void clip_float(const kiln_tensor *x, kiln_tensor *y, double lo, double hi)
{
    int64_t n = kiln_tensor_numel(x);
    if (x->dtype == KILN_FLOAT32) {
        f32_job j = {NULL, NULL, x->data, y->data, (float)lo, (float)hi};
        run_f32_parallel(&j, n);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        double v = kiln_ew_ld_f64(x->data, x->dtype, i);
        v = v < lo ? lo : v;
        kiln_ew_st_f64(y->data, y->dtype, i, v > hi ? hi : v);
    }
}

/* y = min(max(x, lo), hi) for integers, computed in T (int64 or uint64). */
#define DEFINE_CLIP_INT(SFX, T, LOAD, STORE)                                                                           \
    static void clip_##SFX(const kiln_tensor *x, kiln_tensor *y, T lo, T hi)                                           \
    {                                                                                                                  \
        int64_t n = kiln_tensor_numel(x);                                                                              \
        for (int64_t i = 0; i < n; i++) {                                                                              \
            T v = LOAD(x->data, x->dtype, (size_t)i);                                                                  \
            v = v < lo ? lo : v;                                                                                       \
            STORE(y->data, y->dtype, (size_t)i, v > hi ? hi : v);                                                      \
        }                                                                                                              \
    }

DEFINE_CLIP_INT(signed, int64_t, kiln_load_i64, kiln_store_i64)
DEFINE_CLIP_INT(unsigned, uint64_t, kiln_load_u64, kiln_store_u64)

/* Clip: before opset 11 the bounds are float attributes min and max; from
 * 11 they are optional scalar inputs. */
kiln_status kiln_ew_clip(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_ew_need_io(ctx, 1));
    const kiln_tensor *x = ctx->in[0], *lo = NULL, *hi = NULL;
    kiln_ew_class cls = kiln_ew_class_of(x->dtype);
    if (cls == KILN_EW_NONE || x->dtype == KILN_BOOL || (ctx->opset < 11 && cls != KILN_EW_F32 && cls != KILN_EW_F64))
        return kiln_unsupported_dtype(ctx, "input 0", x->dtype);
    KILN_TRY(kiln_ew_check_out(ctx->out[0], x->dtype, x));
    if (ctx->opset < 11) {
        clip_float(x, ctx->out[0], kiln_attr_float(ctx->node, "min", -FLT_MAX),
                   kiln_attr_float(ctx->node, "max", FLT_MAX));
        return KILN_OK;
    }
    KILN_TRY(clip_bound(ctx, 1, &lo));
    KILN_TRY(clip_bound(ctx, 2, &hi));
    if (cls == KILN_EW_I64)
        clip_signed(x, ctx->out[0], lo ? kiln_load_i64(lo->data, lo->dtype, 0) : INT64_MIN,
                    hi ? kiln_load_i64(hi->data, hi->dtype, 0) : INT64_MAX);
    else if (cls == KILN_EW_U64)
        clip_unsigned(x, ctx->out[0], lo ? kiln_load_u64(lo->data, lo->dtype, 0) : 0,
                      hi ? kiln_load_u64(hi->data, hi->dtype, 0) : UINT64_MAX);
    else
        clip_float(x, ctx->out[0], lo ? kiln_load_f64(lo->data, lo->dtype, 0) : -INFINITY,
                   hi ? kiln_load_f64(hi->data, hi->dtype, 0) : INFINITY);
    return KILN_OK;
}
