/*
 * elementwise_binary.c - CPU kernels of the numpy-broadcasting binary ops
 * (arithmetic, Mod, PRelu, comparisons, logic, bitwise) and the variadic
 * Min, Max, Sum and Mean.
 *
 * One table holds each op's scalar functions per compute class (see
 * kiln_ew_class); a generic row loop applies them. Add, Sub, Mul and Div on
 * float32 also have loops the compiler can vectorise (same shape, a scalar
 * operand, a per-channel operand). Large outputs are split over the thread
 * pool.
 */
#include <math.h>
#include <string.h>

#include "backends/cpu/cpu_simd.h"
#include "backends/cpu/ops/elementwise_common.h"

enum { FAST_NONE, FAST_ADD, FAST_SUB, FAST_MUL, FAST_DIV };
enum { BOOL_NO, BOOL_TOO, BOOL_ONLY };

typedef struct binop {
    const char *name;
    int fast;       /* float32 vectorisable loop, FAST_* */
    int out_bool;   /* the output is bool (comparisons, logic) */
    int bools;      /* BOOL_*: whether inputs may be bool */
    float (*f32)(float, float);
    double (*f64)(double, double);
    int64_t (*i64)(int64_t, int64_t);
    uint64_t (*u64)(uint64_t, uint64_t);
} binop;

/* ---- scalar functions ------------------------------------------------- */

static float add_f(float a, float b) { return a + b; }
static double add_d(double a, double b) { return a + b; }
static int64_t add_i(int64_t a, int64_t b) { return kiln_ew_wrap((uint64_t)a + (uint64_t)b); }
static uint64_t add_u(uint64_t a, uint64_t b) { return a + b; }

static float sub_f(float a, float b) { return a - b; }
static double sub_d(double a, double b) { return a - b; }
static int64_t sub_i(int64_t a, int64_t b) { return kiln_ew_wrap((uint64_t)a - (uint64_t)b); }
static uint64_t sub_u(uint64_t a, uint64_t b) { return a - b; }

static float mul_f(float a, float b) { return a * b; }
static double mul_d(double a, double b) { return a * b; }
static int64_t mul_i(int64_t a, int64_t b) { return kiln_ew_wrap((uint64_t)a * (uint64_t)b); }
static uint64_t mul_u(uint64_t a, uint64_t b) { return a * b; }

/* Integer division truncates toward zero; x / 0 gives 0 and INT64_MIN / -1
 * wraps to INT64_MIN instead of trapping. */
static float div_f(float a, float b) { return a / b; }
static double div_d(double a, double b) { return a / b; }
static int64_t div_i(int64_t a, int64_t b) { return b == 0 ? 0 : b == -1 ? kiln_ew_wrap(0 - (uint64_t)a) : a / b; }
static uint64_t div_u(uint64_t a, uint64_t b) { return b == 0 ? 0 : a / b; }

/* Mod with fmod=0 follows numpy.mod: the result takes the divisor's sign
 * (a zero result too); x mod +-inf is x when the signs agree, else the
 * divisor; integer x mod 0 gives 0. */
static double mod_floor_d(double a, double b)
{
    double m = fmod(a, b);
    if (b == 0 || isnan(m))
        return m;
    if (m == 0)
        return copysign(0.0, b);
    return (b < 0) != (m < 0) ? m + b : m;
}
static float mod_floor_f(float a, float b) { return (float)mod_floor_d(a, b); }
static int64_t mod_floor_i(int64_t a, int64_t b)
{
    if (b == 0 || b == -1)
        return 0;
    int64_t m = a % b;
    return m != 0 && (m < 0) != (b < 0) ? m + b : m;
}
static uint64_t mod_u(uint64_t a, uint64_t b) { return b == 0 ? 0 : a % b; }

/* Mod with fmod=1 is C's fmod: the result takes the dividend's sign. */
static float fmod_f(float a, float b) { return fmodf(a, b); }
static int64_t fmod_i(int64_t a, int64_t b) { return b == 0 || b == -1 ? 0 : a % b; }

/* Min and Max propagate NaN as numpy.minimum / numpy.maximum do. */
static float max_f(float a, float b) { return isnan(a) ? a : isnan(b) ? b : a > b ? a : b; }
static double max_d(double a, double b) { return isnan(a) ? a : isnan(b) ? b : a > b ? a : b; }
static int64_t max_i(int64_t a, int64_t b) { return a > b ? a : b; }
static uint64_t max_u(uint64_t a, uint64_t b) { return a > b ? a : b; }
static float min_f(float a, float b) { return isnan(a) ? a : isnan(b) ? b : a < b ? a : b; }
static double min_d(double a, double b) { return isnan(a) ? a : isnan(b) ? b : a < b ? a : b; }
static int64_t min_i(int64_t a, int64_t b) { return a < b ? a : b; }
static uint64_t min_u(uint64_t a, uint64_t b) { return a < b ? a : b; }

static float prelu_f(float x, float s) { return x > 0 ? x : x * s; }
static double prelu_d(double x, double s) { return x > 0 ? x : x * s; }
static int64_t prelu_i(int64_t x, int64_t s) { return x > 0 ? x : mul_i(x, s); }
static uint64_t prelu_u(uint64_t x, uint64_t s) { return x; }

static int64_t and_i(int64_t a, int64_t b) { return a & b; }
static uint64_t and_u(uint64_t a, uint64_t b) { return a & b; }
static int64_t or_i(int64_t a, int64_t b) { return a | b; }
static uint64_t or_u(uint64_t a, uint64_t b) { return a | b; }
static int64_t xor_i(int64_t a, int64_t b) { return a ^ b; }
static uint64_t xor_u(uint64_t a, uint64_t b) { return a ^ b; }

/* Comparisons return 1 or 0 in the compute type; the bool store keeps v != 0. */
static float eq_f(float a, float b) { return a == b; }
static double eq_d(double a, double b) { return a == b; }
static int64_t eq_i(int64_t a, int64_t b) { return a == b; }
static uint64_t eq_u(uint64_t a, uint64_t b) { return a == b; }
static float lt_f(float a, float b) { return a < b; }
static double lt_d(double a, double b) { return a < b; }
static int64_t lt_i(int64_t a, int64_t b) { return a < b; }
static uint64_t lt_u(uint64_t a, uint64_t b) { return a < b; }
static float gt_f(float a, float b) { return a > b; }
static double gt_d(double a, double b) { return a > b; }
static int64_t gt_i(int64_t a, int64_t b) { return a > b; }
static uint64_t gt_u(uint64_t a, uint64_t b) { return a > b; }
static float le_f(float a, float b) { return a <= b; }
static double le_d(double a, double b) { return a <= b; }
static int64_t le_i(int64_t a, int64_t b) { return a <= b; }
static uint64_t le_u(uint64_t a, uint64_t b) { return a <= b; }
static float ge_f(float a, float b) { return a >= b; }
static double ge_d(double a, double b) { return a >= b; }
static int64_t ge_i(int64_t a, int64_t b) { return a >= b; }
static uint64_t ge_u(uint64_t a, uint64_t b) { return a >= b; }

static uint64_t land_u(uint64_t a, uint64_t b) { return a && b; }
static uint64_t lor_u(uint64_t a, uint64_t b) { return a || b; }
static uint64_t lxor_u(uint64_t a, uint64_t b) { return !a != !b; }

/* "Mod:fmod" is Mod with fmod=1; Sum and Mean accumulate with "Add". */
static const binop binops[] = {
    {"Add", FAST_ADD, 0, BOOL_NO, add_f, add_d, add_i, add_u},
    {"Sub", FAST_SUB, 0, BOOL_NO, sub_f, sub_d, sub_i, sub_u},
    {"Mul", FAST_MUL, 0, BOOL_NO, mul_f, mul_d, mul_i, mul_u},
    {"Div", FAST_DIV, 0, BOOL_NO, div_f, div_d, div_i, div_u},
    {"Mod", FAST_NONE, 0, BOOL_NO, mod_floor_f, mod_floor_d, mod_floor_i, mod_u},
    {"Mod:fmod", FAST_NONE, 0, BOOL_NO, fmod_f, fmod, fmod_i, mod_u},
    {"Max", FAST_NONE, 0, BOOL_NO, max_f, max_d, max_i, max_u},
    {"Min", FAST_NONE, 0, BOOL_NO, min_f, min_d, min_i, min_u},
    {"PRelu", FAST_NONE, 0, BOOL_NO, prelu_f, prelu_d, prelu_i, prelu_u},
    {"BitwiseAnd", FAST_NONE, 0, BOOL_NO, NULL, NULL, and_i, and_u},
    {"BitwiseOr", FAST_NONE, 0, BOOL_NO, NULL, NULL, or_i, or_u},
    {"BitwiseXor", FAST_NONE, 0, BOOL_NO, NULL, NULL, xor_i, xor_u},
    {"Equal", FAST_NONE, 1, BOOL_TOO, eq_f, eq_d, eq_i, eq_u},
    {"Less", FAST_NONE, 1, BOOL_NO, lt_f, lt_d, lt_i, lt_u},
    {"Greater", FAST_NONE, 1, BOOL_NO, gt_f, gt_d, gt_i, gt_u},
    {"LessOrEqual", FAST_NONE, 1, BOOL_NO, le_f, le_d, le_i, le_u},
    {"GreaterOrEqual", FAST_NONE, 1, BOOL_NO, ge_f, ge_d, ge_i, ge_u},
    {"And", FAST_NONE, 1, BOOL_ONLY, NULL, NULL, NULL, land_u},
    {"Or", FAST_NONE, 1, BOOL_ONLY, NULL, NULL, NULL, lor_u},
    {"Xor", FAST_NONE, 1, BOOL_ONLY, NULL, NULL, NULL, lxor_u},
};

static const binop *find_binop(const char *name)
{
    for (size_t i = 0; i < sizeof binops / sizeof binops[0]; i++)
        if (strcmp(binops[i].name, name) == 0)
            return &binops[i];
    return NULL;
}

/* ---- row loops -------------------------------------------------------- */

typedef struct bin_job {
    const binop *op;
    kiln_ew_class cls;
    const kiln_tensor *a, *b;
    kiln_tensor *y;
} bin_job;

/* y[i] = expr(x, z) for float32 rows, with x from a and z from b; the
 * contiguous and scalar cases are separate loops so they vectorise. */
#define F32_ROW(expr)                                                                                                  \
    do {                                                                                                               \
        if (sa == 1 && sb == 1) {                                                                                      \
            for (int64_t i = 0; i < n; i++) {                                                                          \
                float x = a[i], z = b[i];                                                                              \
                y[i] = (expr);                                                                                         \
            }                                                                                                          \
        } else if (sa == 1 && sb == 0) {                                                                               \
            float z = b[0];                                                                                            \
            for (int64_t i = 0; i < n; i++) {                                                                          \
                float x = a[i];                                                                                        \
                y[i] = (expr);                                                                                         \
            }                                                                                                          \
        } else if (sa == 0 && sb == 1) {                                                                               \
            float x = a[0];                                                                                            \
            for (int64_t i = 0; i < n; i++) {                                                                          \
                float z = b[i];                                                                                        \
                y[i] = (expr);                                                                                         \
            }                                                                                                          \
        } else {                                                                                                       \
            for (int64_t i = 0; i < n; i++) {                                                                          \
                float x = a[i * sa], z = b[i * sb];                                                                    \
                y[i] = (expr);                                                                                         \
            }                                                                                                          \
        }                                                                                                              \
    } while (0)

KILN_SIMD_FN static void row_f32_fast(void *user, int64_t out, const int64_t *off, const int64_t *step, int64_t n)
{
    const bin_job *j = user;
    const float *a = (const float *)j->a->data + off[0], *b = (const float *)j->b->data + off[1];
    float *y = (float *)j->y->data + out;
    int64_t sa = step[0], sb = step[1];
    switch (j->op->fast) {
    case FAST_ADD: F32_ROW(x + z); break;
    case FAST_SUB: F32_ROW(x - z); break;
    case FAST_MUL: F32_ROW(x * z); break;
    default: F32_ROW(x / z); break;
    }
}

/* One loop per compute class, so the class test stays out of the loop. */
static void row_generic(void *user, int64_t out, const int64_t *off, const int64_t *step, int64_t n)
{
    const bin_job *j = user;
    const binop *op = j->op;
    const void *a = j->a->data, *b = j->b->data;
    void *y = j->y->data;
    kiln_dtype ad = j->a->dtype, bd = j->b->dtype, yd = j->y->dtype;
    int64_t ia = off[0], ib = off[1], sa = step[0], sb = step[1];
    switch (j->cls) {
    case KILN_EW_F32:
        for (int64_t i = 0; i < n; i++, ia += sa, ib += sb)
            kiln_ew_st_f32(y, yd, out + i, op->f32(kiln_ew_ld_f32(a, ad, ia), kiln_ew_ld_f32(b, bd, ib)));
        break;
    case KILN_EW_F64:
        for (int64_t i = 0; i < n; i++, ia += sa, ib += sb)
            kiln_ew_st_f64(y, yd, out + i, op->f64(kiln_ew_ld_f64(a, ad, ia), kiln_ew_ld_f64(b, bd, ib)));
        break;
    case KILN_EW_I64:
        for (int64_t i = 0; i < n; i++, ia += sa, ib += sb)
            kiln_store_i64(y, yd, (size_t)(out + i),
                           op->i64(kiln_load_i64(a, ad, (size_t)ia), kiln_load_i64(b, bd, (size_t)ib)));
        break;
    default:
        for (int64_t i = 0; i < n; i++, ia += sa, ib += sb)
            kiln_store_u64(y, yd, (size_t)(out + i),
                           op->u64(kiln_load_u64(a, ad, (size_t)ia), kiln_load_u64(b, bd, (size_t)ib)));
        break;
    }
}

/* ---- drivers ---------------------------------------------------------- */

/* y /= d for float y (Mean). */
static void divide(kiln_tensor *y, kiln_ew_class cls, int d)
{
    int64_t n = kiln_tensor_numel(y);
    for (int64_t i = 0; i < n; i++) {
        if (cls == KILN_EW_F64)
            kiln_ew_st_f64(y->data, y->dtype, i, kiln_ew_ld_f64(y->data, y->dtype, i) / d);
        else
            kiln_ew_st_f32(y->data, y->dtype, i, kiln_ew_ld_f32(y->data, y->dtype, i) / (float)d);
    }
}

/* The op's dtype check: a compute class with a function, bool only where the
 * op takes it. */
static kiln_status check_op_dtype(const kiln_op_ctx *ctx, const binop *op, kiln_dtype dt, kiln_ew_class *cls)
{
    *cls = kiln_ew_class_of(dt);
    int ok = (*cls == KILN_EW_F32 && op->f32) || (*cls == KILN_EW_F64 && op->f64) ||
             (*cls == KILN_EW_I64 && op->i64) || (*cls == KILN_EW_U64 && op->u64);
    if (dt == KILN_BOOL)
        ok = op->bools != BOOL_NO;
    else if (op->bools == BOOL_ONLY)
        ok = 0;
    if (!ok)
        return kiln_unsupported_dtype(ctx, "input 0", dt);
    return KILN_OK;
}

/* y = op(a, b) broadcast into y's shape. */
static kiln_status run_binary(const binop *op, kiln_ew_class cls, const kiln_tensor *a, const kiln_tensor *b,
                              kiln_tensor *y)
{
    const kiln_tensor *ins[2] = {a, b};
    bin_job job = {op, cls, a, b, y};
    int fast = op->fast != FAST_NONE && a->dtype == KILN_FLOAT32 && b->dtype == KILN_FLOAT32 &&
               y->dtype == KILN_FLOAT32;
    kiln_ew_plan plan;
    KILN_TRY(kiln_ew_plan_init(&plan, y, 2, ins));
    kiln_ew_plan_run_parallel(&plan, fast ? row_f32_fast : row_generic, &job);
    return KILN_OK;
}

kiln_status kiln_ew_binary(kiln_op_ctx *ctx)
{
    const char *name = ctx->node->op_type;
    if (strcmp(name, "Mod") == 0 && kiln_attr_int(ctx->node, "fmod", 0) != 0)
        name = "Mod:fmod";
    const binop *op = find_binop(name);
    if (!op)
        return kiln_error(KILN_ERR_UNSUPPORTED, "no elementwise kernel for %s", ctx->node->op_type);
    KILN_TRY(kiln_ew_need_io(ctx, 2));
    const kiln_tensor *a = ctx->in[0];
    kiln_tensor *y = ctx->out[0];
    kiln_tensor b;
    KILN_TRY(kiln_ew_legacy_view(ctx, a, ctx->in[1], &b));
    KILN_TRY(kiln_ew_need_same_dtype(&b, 1, a, 0));
    kiln_ew_class cls;
    KILN_TRY(check_op_dtype(ctx, op, a->dtype, &cls));
    kiln_dtype yd = op->out_bool ? KILN_BOOL : a->dtype;
    KILN_TRY(kiln_ew_need_out_dtype(y, yd));
    /* PRelu's slope broadcasts to X only, never the other way */
    if (strcmp(op->name, "PRelu") == 0)
        KILN_TRY(kiln_ew_check_out(y, yd, a));
    return run_binary(op, cls, a, &b, y);
}

/* Min, Max, Sum and Mean over 1..N inputs: y = in0 op in1, then y = y op
 * in_k; Mean then divides by N. */
kiln_status kiln_ew_variadic(kiln_op_ctx *ctx)
{
    const char *name = ctx->node->op_type;
    int mean = strcmp(name, "Mean") == 0, sum = mean || strcmp(name, "Sum") == 0;
    const binop *op = find_binop(sum ? "Add" : name);
    if (!op)
        return kiln_error(KILN_ERR_UNSUPPORTED, "no elementwise kernel for %s", name);
    if (ctx->n_in < 1)
        return kiln_error(KILN_ERR_GRAPH, "%s needs at least one input", name);
    KILN_TRY(kiln_ew_need_io(ctx, ctx->n_in));
    const kiln_tensor *x0 = ctx->in[0];
    kiln_tensor *y = ctx->out[0];
    for (int i = 1; i < ctx->n_in; i++)
        KILN_TRY(kiln_ew_need_same_dtype(ctx->in[i], i, x0, 0));
    kiln_ew_class cls;
    KILN_TRY(check_op_dtype(ctx, op, x0->dtype, &cls));
    if (sum && cls != KILN_EW_F32 && cls != KILN_EW_F64)
        return kiln_unsupported_dtype(ctx, "input 0", x0->dtype);
    KILN_TRY(kiln_ew_need_out_dtype(y, x0->dtype));
    if (ctx->n_in == 1) {
        KILN_TRY(kiln_ew_check_out(y, x0->dtype, x0));
        kiln_convert(x0->data, x0->dtype, y->data, y->dtype, (size_t)kiln_tensor_numel(y));
    } else {
        KILN_TRY(run_binary(op, cls, x0, ctx->in[1], y));
        for (int i = 2; i < ctx->n_in; i++)
            KILN_TRY(run_binary(op, cls, y, ctx->in[i], y));
    }
    if (mean)
        divide(y, cls, ctx->n_in);
    return KILN_OK;
}
