/*
 * cast_quant.c - CPU kernels for Cast, CastLike and BitCast, and the
 * cast_quant family table (the quantization kernels are in
 * cast_quant_qdq.c).
 *
 * Cast converts in blocks through an intermediate: int64 for integer and
 * bool sources (so integer to integer is exact and wraps, as ONNX asks),
 * double for float sources. Floats become integers by truncation toward
 * zero (NaN -> 0, saturating at the int64 range) and then wrap to the
 * target's width, which is what the ONNX reference (numpy / ml_dtypes)
 * does for the values its tests use.
 */
#include <math.h>
#include <string.h>

#include "backends/cpu/ops/cast_quant_internal.h"
#include "backends/cpu/cpu_util.h"
#include "core/thread_pool.h"

#define CQ_BLOCK 256

float cq_f64_to_f32_odd(double d)
{
    float f = (float)d;
    if (isnan(d) || isinf(f) || (double)f == d)
        return f;
    /* t: d truncated toward zero; then force its last bit to 1 */
    float t = fabs((double)f) > fabs(d) ? nextafterf(f, 0.0f) : f;
    uint32_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits |= 1;
    memcpy(&t, &bits, sizeof t);
    return t;
}

/* ---- loads into the intermediate -------------------------------------- */

/* The body of one switch case: n elements of type T through conv, then
 * break. */
#define CQ_LOAD(T, conv)                                                                                               \
    for (size_t i = 0; i < n; i++)                                                                                     \
        buf[i] = conv(((const T *)src)[i]);                                                                            \
    break

#define CQ_ID(x) (x)

static void load_ints(const void *src, kiln_dtype dt, size_t n, int64_t *buf)
{
    switch (dt) {
    case KILN_INT8:
    case KILN_INT4:
    case KILN_INT2:
        CQ_LOAD(int8_t, (int64_t));
    case KILN_UINT8:
    case KILN_UINT4:
    case KILN_UINT2:
    case KILN_BOOL:
        CQ_LOAD(uint8_t, (int64_t));
    case KILN_INT16:
        CQ_LOAD(int16_t, (int64_t));
    case KILN_UINT16:
        CQ_LOAD(uint16_t, (int64_t));
    case KILN_INT32:
        CQ_LOAD(int32_t, (int64_t));
    case KILN_UINT32:
        CQ_LOAD(uint32_t, (int64_t));
    case KILN_INT64:
        CQ_LOAD(int64_t, CQ_ID);
    case KILN_UINT64:
        CQ_LOAD(uint64_t, (int64_t));
    default:
        memset(buf, 0, n * sizeof *buf);
        break;
    }
}

static void load_floats(const void *src, kiln_dtype dt, size_t n, double *buf)
{
    switch (dt) {
    case KILN_FLOAT32:
        CQ_LOAD(float, (double));
    case KILN_FLOAT64:
        CQ_LOAD(double, CQ_ID);
    case KILN_FLOAT16:
        CQ_LOAD(uint16_t, kiln_f16_to_f32);
    case KILN_BFLOAT16:
        CQ_LOAD(uint16_t, kiln_bf16_to_f32);
    case KILN_FLOAT8E4M3FN:
    case KILN_FLOAT8E4M3FNUZ:
    case KILN_FLOAT8E5M2:
    case KILN_FLOAT8E5M2FNUZ:
    case KILN_FLOAT4E2M1:
    case KILN_FLOAT8E8M0:
        for (size_t i = 0; i < n; i++)
            buf[i] = kiln_minifloat_to_f32(dt, ((const uint8_t *)src)[i]);
        break;
    default:
        memset(buf, 0, n * sizeof *buf);
        break;
    }
}

/* ---- stores from the intermediate ------------------------------------- */

/* The body of one switch case: n intermediates through conv into T, then
 * break. */
#define CQ_STORE(T, conv)                                                                                              \
    for (size_t i = 0; i < n; i++)                                                                                     \
        ((T *)dst)[i] = (T)(conv(buf[i]));                                                                             \
    break

/* Integers wrap to the target width; bool is "not zero". */
static void store_ints_as_int(void *dst, kiln_dtype dt, size_t n, const int64_t *buf)
{
    switch (dt) {
    case KILN_INT8:
        CQ_STORE(int8_t, CQ_ID);
    case KILN_UINT8:
        CQ_STORE(uint8_t, CQ_ID);
    case KILN_INT4:
    case KILN_UINT4:
    case KILN_INT2:
    case KILN_UINT2:
        for (size_t i = 0; i < n; i++)
            kiln_store_i64(dst, dt, i, buf[i]); /* wraps to the type's bits */
        break;
    case KILN_BOOL:
        CQ_STORE(uint8_t, 0 !=);
    case KILN_INT16:
        CQ_STORE(int16_t, CQ_ID);
    case KILN_UINT16:
        CQ_STORE(uint16_t, CQ_ID);
    case KILN_INT32:
        CQ_STORE(int32_t, CQ_ID);
    case KILN_UINT32:
        CQ_STORE(uint32_t, CQ_ID);
    case KILN_INT64:
        CQ_STORE(int64_t, CQ_ID);
    case KILN_UINT64:
        CQ_STORE(uint64_t, CQ_ID);
    default:
        break;
    }
}

/* The float8e8m0 code of x for round modes down and nearest (up is the
 * shared encoder's), following ONNX's bit-level reference. */
static uint8_t e8m0_encode(float x, int saturate, cq_round_mode mode)
{
    if (mode == CQ_ROUND_UP)
        return kiln_f32_to_minifloat(KILN_FLOAT8E8M0, x, saturate);
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    uint32_t exp = (bits >> 23) & 0xff;
    if (exp == 0xff || mode == CQ_ROUND_DOWN)
        return (uint8_t)exp;
    int g = (bits & 0x400000) != 0, r = (bits & 0x200000) != 0, s = (bits & 0x1fffff) != 0;
    int round_up = g && (r || s || exp > 0);
    if (round_up && !(saturate && exp == 0xfe))
        exp++;
    return (uint8_t)exp;
}

/* A float in the intermediate (double) to a narrower float format. */
static void store_narrow_floats(void *dst, kiln_dtype dt, size_t n, const double *buf, int saturate, cq_round_mode mode)
{
    uint8_t *d8 = dst;
    uint16_t *d16 = dst;
    for (size_t i = 0; i < n; i++) {
        float f = cq_f64_to_f32_odd(buf[i]);
        switch (dt) {
        case KILN_FLOAT16:
            d16[i] = kiln_f32_to_f16(f);
            break;
        case KILN_BFLOAT16:
            d16[i] = kiln_f32_to_bf16(f);
            break;
        /* ONNX converts to float32 first (round to nearest) for e8m0 */
        case KILN_FLOAT8E8M0:
            d8[i] = e8m0_encode((float)buf[i], saturate, mode);
            break;
        default:
            d8[i] = kiln_f32_to_minifloat(dt, f, saturate);
            break;
        }
    }
}

static void store_ints_as_float(void *dst, kiln_dtype dt, size_t n, const int64_t *buf, int src_u64, int saturate,
                                cq_round_mode mode)
{
    if (dt == KILN_FLOAT32) {
        for (size_t i = 0; i < n; i++)
            ((float *)dst)[i] = src_u64 ? (float)(uint64_t)buf[i] : (float)buf[i];
        return;
    }
    double tmp[CQ_BLOCK];
    for (size_t i = 0; i < n; i++)
        tmp[i] = src_u64 ? (double)(uint64_t)buf[i] : (double)buf[i];
    if (dt == KILN_FLOAT64)
        memcpy(dst, tmp, n * sizeof *tmp);
    else
        store_narrow_floats(dst, dt, n, tmp, saturate, mode);
}

static void store_floats(void *dst, kiln_dtype dt, size_t n, const double *buf, int saturate, cq_round_mode mode)
{
    int64_t tmp[CQ_BLOCK];
    switch (dt) {
    case KILN_FLOAT32:
        CQ_STORE(float, CQ_ID);
    case KILN_FLOAT64:
        CQ_STORE(double, CQ_ID);
    case KILN_BOOL:
        CQ_STORE(uint8_t, 0 !=);
    case KILN_UINT64:
        for (size_t i = 0; i < n; i++)
            ((uint64_t *)dst)[i] = buf[i] >= 9223372036854775808.0
                                       ? (buf[i] >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)buf[i])
                                       : (uint64_t)kiln_f64_to_i64_sat(buf[i]);
        break;
    default:
        if (kiln_dtype_is_int(dt)) {
            for (size_t i = 0; i < n; i++)
                tmp[i] = kiln_f64_to_i64_sat(buf[i]);
            store_ints_as_int(dst, dt, n, tmp);
        } else {
            store_narrow_floats(dst, dt, n, buf, saturate, mode);
        }
        break;
    }
}

void cq_cast(const void *src, kiln_dtype src_dt, void *dst, kiln_dtype dst_dt, size_t n, int saturate,
             cq_round_mode round_mode)
{
    size_t ss = kiln_dtype_size(src_dt), ds = kiln_dtype_size(dst_dt);
    if (src_dt == dst_dt) {
        memcpy(dst, src, n * ss);
        return;
    }
    int src_float = kiln_dtype_is_float(src_dt), dst_float = kiln_dtype_is_float(dst_dt);
    for (size_t at = 0; at < n; at += CQ_BLOCK) {
        size_t m = n - at < CQ_BLOCK ? n - at : CQ_BLOCK;
        const char *s = (const char *)src + at * ss;
        char *d = (char *)dst + at * ds;
        if (src_float) {
            double buf[CQ_BLOCK];
            load_floats(s, src_dt, m, buf);
            store_floats(d, dst_dt, m, buf, saturate, round_mode);
        } else {
            int64_t buf[CQ_BLOCK];
            load_ints(s, src_dt, m, buf);
            if (dst_float)
                store_ints_as_float(d, dst_dt, m, buf, src_dt == KILN_UINT64, saturate, round_mode);
            else
                store_ints_as_int(d, dst_dt, m, buf);
        }
    }
}

/* ---- kernels ---------------------------------------------------------- */

/* Cast shares its elements over the thread pool in chunks of CAST_CHUNK,
 * at least CAST_GRAIN chunks (some 16K elements) per thread. */
#define CAST_CHUNK 1024
#define CAST_GRAIN 16

static kiln_status round_mode_attr(const kiln_op_ctx *ctx, cq_round_mode *out)
{
    const char *m = kiln_attr_string(ctx->node, "round_mode", "up");
    if (!strcmp(m, "up"))
        *out = CQ_ROUND_UP;
    else if (!strcmp(m, "down"))
        *out = CQ_ROUND_DOWN;
    else if (!strcmp(m, "nearest"))
        *out = CQ_ROUND_NEAREST;
    else
        return kiln_error(KILN_ERR_UNSUPPORTED, "round_mode '%s' is not supported", m);
    return KILN_OK;
}

typedef struct cast_job {
    const char *src;
    char *dst;
    kiln_dtype from, to;
    size_t n;
    int saturate;
    cq_round_mode mode;
} cast_job;

/* Elements [begin, end) * CAST_CHUNK of the cast. */
static void cast_range(void *user, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const cast_job *j = user;
    size_t lo = (size_t)begin * CAST_CHUNK, hi = (size_t)end * CAST_CHUNK;
    hi = hi < j->n ? hi : j->n;
    cq_cast(j->src + lo * kiln_dtype_size(j->from), j->from, j->dst + lo * kiln_dtype_size(j->to), j->to, hi - lo,
            j->saturate, j->mode);
}

static kiln_status run_cast_to(kiln_op_ctx *ctx, kiln_dtype to)
{
    const kiln_tensor *x = ctx->in[0];
    kiln_tensor *y = ctx->out[0];
    if (!kiln_dtype_valid(x->dtype))
        return kiln_unsupported_dtype(ctx, "input 0", x->dtype);
    if (!kiln_dtype_valid(to) || y->dtype != to)
        return kiln_unsupported_dtype(ctx, "output", to);
    cq_round_mode mode = CQ_ROUND_UP;
    KILN_TRY(round_mode_attr(ctx, &mode));
    int saturate = kiln_attr_int(ctx->node, "saturate", 1) != 0;
    int64_t n = kiln_tensor_numel(x);
    if (n < 0 || n != kiln_tensor_numel(y))
        return kiln_error(KILN_ERR_SHAPE, "output has %lld elements, input %lld", (long long)kiln_tensor_numel(y),
                          (long long)n);
    cast_job job = {x->data, y->data, x->dtype, to, (size_t)n, saturate, mode};
    kiln_parallel_for_grain((n + CAST_CHUNK - 1) / CAST_CHUNK, CAST_GRAIN, cast_range, &job);
    return KILN_OK;
}

static kiln_status run_cast(kiln_op_ctx *ctx)
{
    const kiln_attr *to = kiln_attr_find(ctx->node, "to");
    if (!to || to->i < 0 || to->i >= KILN_DTYPE_COUNT)
        return kiln_error(KILN_ERR_UNSUPPORTED, "Cast needs a 'to' data type kiln supports");
    return run_cast_to(ctx, (kiln_dtype)to->i);
}

static kiln_status run_cast_like(kiln_op_ctx *ctx)
{
    return run_cast_to(ctx, ctx->in[1]->dtype);
}

/* Same bits, another type. Sub-byte values sit one per byte: keep the low
 * bits, sign-extended for signed integer types. */
static kiln_status run_bitcast(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0];
    kiln_tensor *y = ctx->out[0];
    if (!kiln_dtype_valid(x->dtype) || !kiln_dtype_valid(y->dtype) || y->nbytes != x->nbytes ||
        kiln_dtype_bits(x->dtype) != kiln_dtype_bits(y->dtype))
        return kiln_error(KILN_ERR_SHAPE, "BitCast from %s to %s: the bit widths differ", kiln_dtype_name(x->dtype),
                          kiln_dtype_name(y->dtype));
    if (!kiln_dtype_is_subbyte(y->dtype)) {
        memcpy(y->data, x->data, x->nbytes);
        return KILN_OK;
    }
    const uint8_t *s = x->data;
    uint8_t *d = y->data;
    uint8_t mask = (uint8_t)((1u << kiln_dtype_bits(y->dtype)) - 1);
    int to_int = kiln_dtype_is_int(y->dtype);
    for (size_t i = 0; i < x->nbytes; i++) {
        if (to_int)
            kiln_store_i64(d, y->dtype, i, s[i]); /* wraps to the type's bits */
        else
            d[i] = s[i] & mask;
    }
    return KILN_OK;
}

const kiln_cpu_kernel kiln_cpu_cast_quant[] = {
    {"Cast", run_cast},
    {"CastLike", run_cast_like},
    {"BitCast", run_bitcast},
    {"QuantizeLinear", cq_quantize_linear},
    {"DequantizeLinear", cq_dequantize_linear},
    {"DynamicQuantizeLinear", cq_dynamic_quantize_linear},
    {NULL, NULL},
};
