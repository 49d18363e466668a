/*
 * elementwise_special.c - CPU kernels of the broadcasting ops with their own
 * type rules: Pow (base and exponent of different dtypes), BitShift (the
 * result depends on the bit width) and Where (any dtype, three inputs).
 */
#include <math.h>
#include <string.h>

#include "backends/cpu/ops/elementwise_common.h"

/* ---- Pow ---------------------------------------------------------------- */

typedef struct pow_job {
    const kiln_tensor *a, *b;
    kiln_tensor *y;
    kiln_ew_class ca, cb;
} pow_job;

/* x^e on integers by squaring, wrapping like a C cast of the exact result.
 * A negative exponent truncates 1 / x^|e| toward zero (0 for |x| > 1; 0 for
 * x = 0 instead of dividing by zero). */
static int64_t ipow(int64_t x, uint64_t e, int negative)
{
    if (negative)
        return x == 1 ? 1 : x == -1 ? ((e & 1) ? -1 : 1) : 0;
    uint64_t r = 1, base = (uint64_t)x;
    while (e) {
        if (e & 1)
            r *= base;
        base *= base;
        e >>= 1;
    }
    return kiln_ew_wrap(r);
}

/* Pow of an integer base: exact for an integer exponent, else computed in
 * double and truncated. */
static void pow_int_element(const pow_job *j, int64_t out, int64_t ia, int64_t ib)
{
    int64_t x = kiln_load_i64(j->a->data, j->a->dtype, (size_t)ia);
    int64_t r;
    if (j->cb == KILN_EW_I64) {
        int64_t e = kiln_load_i64(j->b->data, j->b->dtype, (size_t)ib);
        r = ipow(x, e < 0 ? 0 - (uint64_t)e : (uint64_t)e, e < 0);
    } else if (j->cb == KILN_EW_U64) {
        r = ipow(x, kiln_load_u64(j->b->data, j->b->dtype, (size_t)ib), 0);
    } else {
        kiln_store_f64(j->y->data, j->y->dtype, (size_t)out,
                       pow((double)x, kiln_load_f64(j->b->data, j->b->dtype, (size_t)ib)));
        return;
    }
    kiln_store_i64(j->y->data, j->y->dtype, (size_t)out, r);
}

/* Floats compute pow in double and round once to the output type. */
static void pow_row(void *user, int64_t out, const int64_t *off, const int64_t *step, int64_t n)
{
    const pow_job *j = user;
    int64_t ia = off[0], ib = off[1];
    for (int64_t i = 0; i < n; i++, ia += step[0], ib += step[1]) {
        if (j->ca == KILN_EW_F32 || j->ca == KILN_EW_F64) {
            double x = kiln_ew_ld_f64(j->a->data, j->a->dtype, ia);
            double e = kiln_ew_ld_f64(j->b->data, j->b->dtype, ib);
            kiln_ew_st_f64(j->y->data, j->y->dtype, out + i, pow(x, e));
        } else {
            pow_int_element(j, out + i, ia, ib);
        }
    }
}

/* float32 base with one float exponent: the common squares and roots
 * without pow(). Returns 0 when the case does not apply. */
static int pow_f32_scalar(const kiln_tensor *a, const kiln_tensor *b, kiln_tensor *y)
{
    if (a->dtype != KILN_FLOAT32 || y->dtype != KILN_FLOAT32 || kiln_tensor_numel(b) != 1 ||
        kiln_tensor_numel(a) != kiln_tensor_numel(y) || kiln_ew_class_of(b->dtype) == KILN_EW_NONE)
        return 0;
    double e = kiln_load_f64(b->data, b->dtype, 0);
    const float *x = a->data;
    float *r = y->data;
    int64_t n = kiln_tensor_numel(y);
    if (e == 2.0) {
        for (int64_t i = 0; i < n; i++)
            r[i] = x[i] * x[i];
    } else if (e == 0.5) {
        for (int64_t i = 0; i < n; i++)
            r[i] = sqrtf(x[i]);
    } else if (e == 1.0) {
        memmove(r, x, (size_t)n * sizeof *r);
    } else {
        float ef = (float)e;
        for (int64_t i = 0; i < n; i++)
            r[i] = powf(x[i], ef);
    }
    return 1;
}

kiln_status kiln_ew_pow(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_ew_need_io(ctx, 2));
    const kiln_tensor *a = ctx->in[0];
    kiln_tensor *y = ctx->out[0];
    kiln_tensor b;
    KILN_TRY(kiln_ew_legacy_view(ctx, a, ctx->in[1], &b));
    pow_job job = {a, &b, y, kiln_ew_class_of(a->dtype), kiln_ew_class_of(b.dtype)};
    if (job.ca == KILN_EW_NONE || a->dtype == KILN_BOOL)
        return kiln_unsupported_dtype(ctx, "input 0 (base)", a->dtype);
    if (job.cb == KILN_EW_NONE || b.dtype == KILN_BOOL)
        return kiln_unsupported_dtype(ctx, "input 1 (exponent)", b.dtype);
    KILN_TRY(kiln_ew_need_out_dtype(y, a->dtype));
    kiln_ew_plan plan;
    const kiln_tensor *ins[2] = {a, &b};
    KILN_TRY(kiln_ew_plan_init(&plan, y, 2, ins));
    if (!pow_f32_scalar(a, &b, y))
        kiln_ew_plan_run(&plan, pow_row, &job);
    return KILN_OK;
}

/* ---- BitShift ----------------------------------------------------------- */

typedef struct shift_job {
    const kiln_tensor *a, *b;
    kiln_tensor *y;
    int left, is_signed;
    int64_t bits;
} shift_job;

/* Shifts by a negative amount or by the width or more leave only the sign
 * fill: -1 for a right shift of a negative value, else 0. Signed right
 * shifts are arithmetic; signed left shifts work on the unsigned bits. */
static int64_t shift_signed(const shift_job *j, int64_t x, int64_t s)
{
    if (s < 0 || s >= j->bits)
        return !j->left && x < 0 ? -1 : 0;
    if (j->left)
        return kiln_ew_wrap((uint64_t)x << s);
    return x < 0 ? ~(~x >> s) : x >> s;
}

static uint64_t shift_unsigned(const shift_job *j, uint64_t x, uint64_t s)
{
    if (s >= (uint64_t)j->bits)
        return 0;
    return j->left ? x << s : x >> s;
}

static void shift_row(void *user, int64_t out, const int64_t *off, const int64_t *step, int64_t n)
{
    const shift_job *j = user;
    const void *a = j->a->data, *b = j->b->data;
    kiln_dtype dt = j->a->dtype;
    int64_t ia = off[0], ib = off[1];
    for (int64_t i = 0; i < n; i++, ia += step[0], ib += step[1]) {
        if (j->is_signed)
            kiln_store_i64(j->y->data, dt, (size_t)(out + i),
                           shift_signed(j, kiln_load_i64(a, dt, (size_t)ia), kiln_load_i64(b, dt, (size_t)ib)));
        else
            kiln_store_u64(j->y->data, dt, (size_t)(out + i),
                           shift_unsigned(j, kiln_load_u64(a, dt, (size_t)ia), kiln_load_u64(b, dt, (size_t)ib)));
    }
}

kiln_status kiln_ew_bitshift(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_ew_need_io(ctx, 2));
    const kiln_tensor *a = ctx->in[0], *b = ctx->in[1];
    kiln_tensor *y = ctx->out[0];
    const char *dir = kiln_attr_string(ctx->node, "direction", "");
    if (strcmp(dir, "LEFT") != 0 && strcmp(dir, "RIGHT") != 0)
        return kiln_error(KILN_ERR_UNSUPPORTED, "attribute direction='%s' is not supported (LEFT or RIGHT)", dir);
    if (!kiln_dtype_is_int(a->dtype) || kiln_dtype_is_subbyte(a->dtype))
        return kiln_unsupported_dtype(ctx, "input 0", a->dtype);
    KILN_TRY(kiln_ew_need_same_dtype(b, 1, a, 0));
    KILN_TRY(kiln_ew_need_out_dtype(y, a->dtype));
    const kiln_tensor *ins[2] = {a, b};
    shift_job job = {a, b, y, strcmp(dir, "LEFT") == 0, kiln_dtype_is_signed(a->dtype),
                     (int64_t)kiln_dtype_size(a->dtype) * 8};
    return kiln_ew_broadcast(y, 2, ins, shift_row, &job);
}

/* ---- Where -------------------------------------------------------------- */

typedef struct where_job {
    const uint8_t *c;
    const uint8_t *x, *y;
    uint8_t *out;
    size_t size;
} where_job;

/* Copies whole elements by size, so every dtype works without conversion. */
static void where_row(void *user, int64_t out, const int64_t *off, const int64_t *step, int64_t n)
{
    const where_job *j = user;
    size_t es = j->size;
    int64_t ic = off[0], ix = off[1], iy = off[2];
    uint8_t *dst = j->out + (size_t)out * es;
    for (int64_t i = 0; i < n; i++, ic += step[0], ix += step[1], iy += step[2]) {
        const uint8_t *src = j->c[ic] ? j->x + (size_t)ix * es : j->y + (size_t)iy * es;
        switch (es) {
        case 4: memcpy(dst + 4 * (size_t)i, src, 4); break;
        case 8: memcpy(dst + 8 * (size_t)i, src, 8); break;
        default: memcpy(dst + es * (size_t)i, src, es); break;
        }
    }
}

kiln_status kiln_ew_where(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_ew_need_io(ctx, 3));
    const kiln_tensor *c = ctx->in[0], *x = ctx->in[1], *y = ctx->in[2];
    kiln_tensor *out = ctx->out[0];
    if (c->dtype != KILN_BOOL)
        return kiln_unsupported_dtype(ctx, "input 0 (condition)", c->dtype);
    if (!kiln_dtype_valid(x->dtype))
        return kiln_unsupported_dtype(ctx, "input 1", x->dtype);
    KILN_TRY(kiln_ew_need_same_dtype(y, 2, x, 1));
    KILN_TRY(kiln_ew_need_out_dtype(out, x->dtype));
    const kiln_tensor *ins[3] = {c, x, y};
    where_job job = {c->data, x->data, y->data, out->data, kiln_dtype_size(x->dtype)};
    return kiln_ew_broadcast(out, 3, ins, where_row, &job);
}
