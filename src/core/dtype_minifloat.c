/*
 * dtype_minifloat.c - float8 (e4m3fn, e4m3fnuz, e5m2, e5m2fnuz), float4e2m1
 * and float8e8m0 to and from float32.
 *
 * Decoding follows each format's definition. Encoding searches the sorted
 * table of the format's positive finite values and rounds to nearest, ties
 * to the even code, which is exactly IEEE round-to-nearest-even on these
 * small formats without any per-format bit tricks.
 */
#include <math.h>

#include "core/dtype.h"

typedef struct minifloat_format {
    int ebits, mbits, bias;
    int has_inf;  /* e5m2: exponent all ones is inf / NaN */
    int uz;       /* "unsigned zero": 0x80 is the only NaN, no negative zero */
    int fn_nan;   /* e4m3fn: S.1111.111 is NaN */
    int max_code; /* largest finite positive code */
} minifloat_format;

static const minifloat_format *format_of(kiln_dtype dt)
{
    static const minifloat_format e4m3fn = {4, 3, 7, 0, 0, 1, 0x7e};
    static const minifloat_format e4m3fnuz = {4, 3, 8, 0, 1, 0, 0x7f};
    static const minifloat_format e5m2 = {5, 2, 15, 1, 0, 0, 0x7b};
    static const minifloat_format e5m2fnuz = {5, 2, 16, 0, 1, 0, 0x7f};
    static const minifloat_format e2m1 = {2, 1, 1, 0, 0, 0, 0x7};
    switch (dt) {
    case KILN_FLOAT8E4M3FN: return &e4m3fn;
    case KILN_FLOAT8E4M3FNUZ: return &e4m3fnuz;
    case KILN_FLOAT8E5M2: return &e5m2;
    case KILN_FLOAT8E5M2FNUZ: return &e5m2fnuz;
    case KILN_FLOAT4E2M1: return &e2m1;
    default: return NULL;
    }
}

static float decode_positive(const minifloat_format *f, int code)
{
    int exp = code >> f->mbits;
    int man = code & ((1 << f->mbits) - 1);
    if (exp == 0)
        return ldexpf((float)man, 1 - f->bias - f->mbits);
    return ldexpf((float)((1 << f->mbits) + man), exp - f->bias - f->mbits);
}

float kiln_minifloat_to_f32(kiln_dtype dt, uint8_t bits)
{
    if (dt == KILN_FLOAT8E8M0)
        return bits == 0xff ? NAN : ldexpf(1.0f, (int)bits - 127);
    const minifloat_format *f = format_of(dt);
    if (!f)
        return NAN;
    int nbits = 1 + f->ebits + f->mbits;
    int sign_bit = 1 << (nbits - 1);
    bits &= (uint8_t)((1 << nbits) - 1);
    if (f->uz && bits == sign_bit)
        return NAN;
    int sign = bits & sign_bit;
    int code = bits & (sign_bit - 1);
    float v;
    if (f->fn_nan && code == (sign_bit - 1))
        v = NAN;
    else if (f->has_inf && (code >> f->mbits) == (1 << f->ebits) - 1)
        v = (code & ((1 << f->mbits) - 1)) ? NAN : INFINITY;
    else
        v = decode_positive(f, code);
    return sign ? -v : v;
}

static uint8_t encode_e8m0(float x)
{
    if (isnan(x) || x <= 0 || isinf(x))
        return isinf(x) && x > 0 ? 0xfe : (x <= 0 ? 0 : 0xff);
    int e;
    float m = frexpf(x, &e); /* x = m * 2^e, m in [0.5, 1) */
    int b = e - 1 + 127;     /* 2^(e-1) <= x < 2^e: round up when above the lower power */
    if (m > 0.5f)
        b++;
    return (uint8_t)(b < 0 ? 0 : b > 0xfe ? 0xfe : b);
}

uint8_t kiln_f32_to_minifloat(kiln_dtype dt, float x, int saturate)
{
    if (dt == KILN_FLOAT8E8M0)
        return encode_e8m0(x);
    const minifloat_format *f = format_of(dt);
    if (!f)
        return 0;
    int nbits = 1 + f->ebits + f->mbits;
    uint8_t sign_bit = (uint8_t)(1 << (nbits - 1));
    uint8_t nan_code = f->uz ? sign_bit : f->fn_nan ? (uint8_t)(sign_bit - 1) : (uint8_t)(0x7f);
    if (isnan(x))
        return dt == KILN_FLOAT4E2M1 ? 0 : nan_code;
    uint8_t sign = signbit(x) ? sign_bit : 0;
    float a = fabsf(x);
    float max = decode_positive(f, f->max_code);
    uint8_t code;
    if (isinf(a)) {
        if (saturate || dt == KILN_FLOAT4E2M1)
            code = (uint8_t)f->max_code;
        else if (f->has_inf)
            code = 0x7c;
        else
            return nan_code;
    } else if (a > max) {
        /* Round against the next value after max, one ulp further. */
        float ulp = max - decode_positive(f, f->max_code - 1);
        if (saturate || dt == KILN_FLOAT4E2M1 || a < max + ulp / 2)
            code = (uint8_t)f->max_code;
        else if (f->has_inf)
            code = 0x7c;
        else
            return nan_code;
    } else {
        int lo = 0, hi = f->max_code;
        while (hi - lo > 1) {
            int mid = (lo + hi) / 2;
            if (decode_positive(f, mid) <= a)
                lo = mid;
            else
                hi = mid;
        }
        float vlo = decode_positive(f, lo), vhi = decode_positive(f, hi);
        if (a - vlo < vhi - a)
            code = (uint8_t)lo;
        else if (a - vlo > vhi - a)
            code = (uint8_t)hi;
        else
            code = (uint8_t)((lo & 1) ? hi : lo);
        if (a <= vlo)
            code = (uint8_t)lo;
    }
    if (f->uz && code == 0)
        return 0;
    return (uint8_t)(sign | code);
}
