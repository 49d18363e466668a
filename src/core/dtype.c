/*
 * dtype.c - element type properties and per-element conversions.
 */
#include "core/dtype.h"

#include <math.h>
#include <string.h>

static const char *const dtype_names[KILN_DTYPE_COUNT] = {
    [KILN_UNDEFINED] = "undefined",
    [KILN_FLOAT32] = "float32",
    [KILN_UINT8] = "uint8",
    [KILN_INT8] = "int8",
    [KILN_UINT16] = "uint16",
    [KILN_INT16] = "int16",
    [KILN_INT32] = "int32",
    [KILN_INT64] = "int64",
    [KILN_STRING] = "string",
    [KILN_BOOL] = "bool",
    [KILN_FLOAT16] = "float16",
    [KILN_FLOAT64] = "float64",
    [KILN_UINT32] = "uint32",
    [KILN_UINT64] = "uint64",
    [KILN_COMPLEX64] = "complex64",
    [KILN_COMPLEX128] = "complex128",
    [KILN_BFLOAT16] = "bfloat16",
    [KILN_FLOAT8E4M3FN] = "float8e4m3fn",
    [KILN_FLOAT8E4M3FNUZ] = "float8e4m3fnuz",
    [KILN_FLOAT8E5M2] = "float8e5m2",
    [KILN_FLOAT8E5M2FNUZ] = "float8e5m2fnuz",
    [KILN_UINT4] = "uint4",
    [KILN_INT4] = "int4",
    [KILN_FLOAT4E2M1] = "float4e2m1",
    [KILN_FLOAT8E8M0] = "float8e8m0",
    [KILN_UINT2] = "uint2",
    [KILN_INT2] = "int2",
};

static const unsigned char dtype_sizes[KILN_DTYPE_COUNT] = {
    [KILN_FLOAT32] = 4, [KILN_UINT8] = 1,        [KILN_INT8] = 1,         [KILN_UINT16] = 2,
    [KILN_INT16] = 2,   [KILN_INT32] = 4,        [KILN_INT64] = 8,        [KILN_BOOL] = 1,
    [KILN_FLOAT16] = 2, [KILN_FLOAT64] = 8,      [KILN_UINT32] = 4,       [KILN_UINT64] = 8,
    [KILN_BFLOAT16] = 2, [KILN_FLOAT8E4M3FN] = 1, [KILN_FLOAT8E4M3FNUZ] = 1, [KILN_FLOAT8E5M2] = 1,
    [KILN_FLOAT8E5M2FNUZ] = 1, [KILN_UINT4] = 1, [KILN_INT4] = 1,        [KILN_FLOAT4E2M1] = 1,
    [KILN_FLOAT8E8M0] = 1, [KILN_UINT2] = 1, [KILN_INT2] = 1,
};

const char *kiln_dtype_name(kiln_dtype dt)
{
    if ((int)dt < 0 || dt >= KILN_DTYPE_COUNT)
        return NULL;
    return dtype_names[dt];
}

size_t kiln_dtype_size(kiln_dtype dt)
{
    if ((int)dt < 0 || dt >= KILN_DTYPE_COUNT)
        return 0;
    return dtype_sizes[dt];
}

int kiln_dtype_valid(kiln_dtype dt) { return kiln_dtype_size(dt) != 0; }

int kiln_dtype_is_float(kiln_dtype dt)
{
    switch (dt) {
    case KILN_FLOAT32: case KILN_FLOAT16: case KILN_FLOAT64: case KILN_BFLOAT16:
    case KILN_FLOAT8E4M3FN: case KILN_FLOAT8E4M3FNUZ: case KILN_FLOAT8E5M2: case KILN_FLOAT8E5M2FNUZ:
    case KILN_FLOAT4E2M1: case KILN_FLOAT8E8M0:
        return 1;
    default:
        return 0;
    }
}

int kiln_dtype_is_int(kiln_dtype dt)
{
    switch (dt) {
    case KILN_UINT8: case KILN_INT8: case KILN_UINT16: case KILN_INT16: case KILN_INT32: case KILN_INT64:
    case KILN_UINT32: case KILN_UINT64: case KILN_UINT4: case KILN_INT4: case KILN_UINT2: case KILN_INT2:
        return 1;
    default:
        return 0;
    }
}

int kiln_dtype_is_signed(kiln_dtype dt)
{
    switch (dt) {
    case KILN_INT8: case KILN_INT16: case KILN_INT32: case KILN_INT64: case KILN_INT4: case KILN_INT2:
        return 1;
    default:
        return kiln_dtype_is_float(dt);
    }
}

int kiln_dtype_is_subbyte(kiln_dtype dt) { return kiln_dtype_bits(dt) < 8; }

int kiln_dtype_bits(kiln_dtype dt)
{
    switch (dt) {
    case KILN_INT4: case KILN_UINT4: case KILN_FLOAT4E2M1: return 4;
    case KILN_INT2: case KILN_UINT2: return 2;
    default: return (int)kiln_dtype_size(dt) * 8;
    }
}

float kiln_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        /* zero or subnormal: value = man * 2^-24 */
        float v = (float)man * 5.9604644775390625e-8f;
        return sign ? -v : v;
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t kiln_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) /* inf or NaN */
        return (uint16_t)(sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 : 0));
    if (ax >= 0x477ff000u) /* rounds to >= 65520: overflow to inf */
        return (uint16_t)(sign | 0x7c00);
    if (ax < 0x38800000u) {
        /* result is subnormal or zero: round ax * 2^24 to an integer, ties to even */
        float a;
        memcpy(&a, &ax, 4);
        float scaled = a * 16777216.0f;
        float r = rintf(scaled);
        return (uint16_t)(sign | (uint16_t)r);
    }
    uint32_t man = ax & 0x7fffff;
    uint32_t exp = (ax >> 23) - 112;
    uint32_t half = (exp << 10) | (man >> 13);
    uint32_t rest = man & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1)))
        half++;
    return (uint16_t)(sign | half);
}

float kiln_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t kiln_f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x40);
    uint32_t lsb = (x >> 16) & 1;
    x += 0x7fff + lsb;
    return (uint16_t)(x >> 16);
}

int64_t kiln_f64_to_i64_sat(double v)
{
    if (isnan(v))
        return 0;
    if (v >= 9223372036854775807.0)
        return INT64_MAX;
    if (v <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)v;
}

static uint64_t f64_to_u64_sat(double v)
{
    if (isnan(v) || v <= 0.0)
        return 0;
    if (v >= 18446744073709551615.0)
        return UINT64_MAX;
    return (uint64_t)v;
}

static double clamp_d(double v, double lo, double hi)
{
    if (isnan(v))
        return 0;
    return v < lo ? lo : v > hi ? hi : v;
}

double kiln_load_f64(const void *base, kiln_dtype dt, size_t i)
{
    switch (dt) {
    case KILN_FLOAT32: return ((const float *)base)[i];
    case KILN_FLOAT64: return ((const double *)base)[i];
    case KILN_FLOAT16: return kiln_f16_to_f32(((const uint16_t *)base)[i]);
    case KILN_BFLOAT16: return kiln_bf16_to_f32(((const uint16_t *)base)[i]);
    case KILN_INT8: return ((const int8_t *)base)[i];
    case KILN_INT4: case KILN_INT2: return ((const int8_t *)base)[i];
    case KILN_UINT8: case KILN_UINT4: case KILN_UINT2: case KILN_BOOL: return ((const uint8_t *)base)[i];
    case KILN_INT16: return ((const int16_t *)base)[i];
    case KILN_UINT16: return ((const uint16_t *)base)[i];
    case KILN_INT32: return ((const int32_t *)base)[i];
    case KILN_UINT32: return ((const uint32_t *)base)[i];
    case KILN_INT64: return (double)((const int64_t *)base)[i];
    case KILN_UINT64: return (double)((const uint64_t *)base)[i];
    case KILN_FLOAT8E4M3FN: case KILN_FLOAT8E4M3FNUZ: case KILN_FLOAT8E5M2: case KILN_FLOAT8E5M2FNUZ:
    case KILN_FLOAT4E2M1: case KILN_FLOAT8E8M0:
        return kiln_minifloat_to_f32(dt, ((const uint8_t *)base)[i]);
    default: return 0;
    }
}

int64_t kiln_load_i64(const void *base, kiln_dtype dt, size_t i)
{
    switch (dt) {
    case KILN_INT8: case KILN_INT4: case KILN_INT2: return ((const int8_t *)base)[i];
    case KILN_UINT8: case KILN_UINT4: case KILN_UINT2: case KILN_BOOL: return ((const uint8_t *)base)[i];
    case KILN_INT16: return ((const int16_t *)base)[i];
    case KILN_UINT16: return ((const uint16_t *)base)[i];
    case KILN_INT32: return ((const int32_t *)base)[i];
    case KILN_UINT32: return ((const uint32_t *)base)[i];
    case KILN_INT64: return ((const int64_t *)base)[i];
    case KILN_UINT64: return (int64_t)((const uint64_t *)base)[i];
    default: return kiln_f64_to_i64_sat(kiln_load_f64(base, dt, i));
    }
}

uint64_t kiln_load_u64(const void *base, kiln_dtype dt, size_t i)
{
    if (dt == KILN_UINT64)
        return ((const uint64_t *)base)[i];
    if (kiln_dtype_is_float(dt))
        return f64_to_u64_sat(kiln_load_f64(base, dt, i));
    return (uint64_t)kiln_load_i64(base, dt, i);
}

void kiln_store_i64(void *base, kiln_dtype dt, size_t i, int64_t v)
{
    switch (dt) {
    case KILN_INT8: ((int8_t *)base)[i] = (int8_t)v; break;
    case KILN_UINT8: ((uint8_t *)base)[i] = (uint8_t)v; break;
    case KILN_INT4: ((int8_t *)base)[i] = (int8_t)(((v & 0xf) ^ 8) - 8); break;
    case KILN_UINT4: ((uint8_t *)base)[i] = (uint8_t)(v & 0xf); break;
    case KILN_INT2: ((int8_t *)base)[i] = (int8_t)(((v & 0x3) ^ 2) - 2); break;
    case KILN_UINT2: ((uint8_t *)base)[i] = (uint8_t)(v & 0x3); break;
    case KILN_BOOL: ((uint8_t *)base)[i] = v != 0; break;
    case KILN_INT16: ((int16_t *)base)[i] = (int16_t)v; break;
    case KILN_UINT16: ((uint16_t *)base)[i] = (uint16_t)v; break;
    case KILN_INT32: ((int32_t *)base)[i] = (int32_t)v; break;
    case KILN_UINT32: ((uint32_t *)base)[i] = (uint32_t)v; break;
    case KILN_INT64: ((int64_t *)base)[i] = v; break;
    case KILN_UINT64: ((uint64_t *)base)[i] = (uint64_t)v; break;
    default: kiln_store_f64(base, dt, i, (double)v); break;
    }
}

void kiln_store_u64(void *base, kiln_dtype dt, size_t i, uint64_t v)
{
    if (kiln_dtype_is_float(dt))
        kiln_store_f64(base, dt, i, (double)v);
    else
        kiln_store_i64(base, dt, i, (int64_t)v);
}

void kiln_store_f64(void *base, kiln_dtype dt, size_t i, double v)
{
    switch (dt) {
    case KILN_FLOAT32: ((float *)base)[i] = (float)v; break;
    case KILN_FLOAT64: ((double *)base)[i] = v; break;
    case KILN_FLOAT16: ((uint16_t *)base)[i] = kiln_f32_to_f16((float)v); break;
    case KILN_BFLOAT16: ((uint16_t *)base)[i] = kiln_f32_to_bf16((float)v); break;
    case KILN_BOOL: ((uint8_t *)base)[i] = v != 0; break;
    case KILN_INT8: ((int8_t *)base)[i] = (int8_t)clamp_d(v, -128, 127); break;
    case KILN_UINT8: ((uint8_t *)base)[i] = (uint8_t)clamp_d(v, 0, 255); break;
    case KILN_INT4: ((int8_t *)base)[i] = (int8_t)clamp_d(v, -8, 7); break;
    case KILN_UINT4: ((uint8_t *)base)[i] = (uint8_t)clamp_d(v, 0, 15); break;
    case KILN_INT2: ((int8_t *)base)[i] = (int8_t)clamp_d(v, -2, 1); break;
    case KILN_UINT2: ((uint8_t *)base)[i] = (uint8_t)clamp_d(v, 0, 3); break;
    case KILN_INT16: ((int16_t *)base)[i] = (int16_t)clamp_d(v, -32768, 32767); break;
    case KILN_UINT16: ((uint16_t *)base)[i] = (uint16_t)clamp_d(v, 0, 65535); break;
    case KILN_INT32: ((int32_t *)base)[i] = (int32_t)clamp_d(v, -2147483648.0, 2147483647.0); break;
    case KILN_UINT32: ((uint32_t *)base)[i] = (uint32_t)clamp_d(v, 0, 4294967295.0); break;
    case KILN_INT64: ((int64_t *)base)[i] = kiln_f64_to_i64_sat(v); break;
    case KILN_UINT64: ((uint64_t *)base)[i] = f64_to_u64_sat(v); break;
    case KILN_FLOAT8E4M3FN: case KILN_FLOAT8E4M3FNUZ: case KILN_FLOAT8E5M2: case KILN_FLOAT8E5M2FNUZ:
    case KILN_FLOAT4E2M1: case KILN_FLOAT8E8M0:
        ((uint8_t *)base)[i] = kiln_f32_to_minifloat(dt, (float)v, 1);
        break;
    default: break;
    }
}

void kiln_convert(const void *src, kiln_dtype src_dt, void *dst, kiln_dtype dst_dt, size_t n)
{
    if (src_dt == dst_dt) {
        memmove(dst, src, n * kiln_dtype_size(src_dt));
    } else if (src_dt == KILN_FLOAT32 && dst_dt == KILN_FLOAT16) {
        for (size_t i = 0; i < n; i++)
            ((uint16_t *)dst)[i] = kiln_f32_to_f16(((const float *)src)[i]);
    } else if (src_dt == KILN_FLOAT16 && dst_dt == KILN_FLOAT32) {
        for (size_t i = 0; i < n; i++)
            ((float *)dst)[i] = kiln_f16_to_f32(((const uint16_t *)src)[i]);
    } else if (src_dt == KILN_FLOAT32 && dst_dt == KILN_FLOAT64) {
        for (size_t i = 0; i < n; i++)
            ((double *)dst)[i] = ((const float *)src)[i];
    } else if (src_dt == KILN_FLOAT64 && dst_dt == KILN_FLOAT32) {
        for (size_t i = 0; i < n; i++)
            ((float *)dst)[i] = (float)((const double *)src)[i];
    } else if (kiln_dtype_is_float(dst_dt) || kiln_dtype_is_float(src_dt)) {
        for (size_t i = 0; i < n; i++)
            kiln_store_f64(dst, dst_dt, i, kiln_load_f64(src, src_dt, i));
    } else if (src_dt == KILN_UINT64) {
        for (size_t i = 0; i < n; i++)
            kiln_store_u64(dst, dst_dt, i, kiln_load_u64(src, src_dt, i));
    } else {
        for (size_t i = 0; i < n; i++)
            kiln_store_i64(dst, dst_dt, i, kiln_load_i64(src, src_dt, i));
    }
}
