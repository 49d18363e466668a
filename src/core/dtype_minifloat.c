/*
 * dtype_minifloat.c - float8 (e4m3fn, e4m3fnuz, e5m2, e5m2fnuz), float4e2m1
 * and float8e8m0 to and from float32, bit-exact with ONNX (whose reference
 * uses ml_dtypes).
 *
 * Encoding scales |x| so that one unit is the spacing of the format at x's
 * exponent, rounds to the nearest integer with ties to even (rint under the
 * default rounding mode), and assembles the code from the rounded value. A
 * code past the largest finite one is an overflow: it saturates, or becomes
 * inf (e5m2) or NaN (the other float8 types). float4e2m1 has neither inf nor
 * NaN and always saturates; NaN encodes as 0b1000, as ml_dtypes does.
 * float8e8m0 (a bare power-of-two exponent) rounds up, as ONNX's default.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/dtype.h"

typedef struct minifloat_format {
    int ebits, mbits, bias;
    int has_inf;  /* e5m2: exponent all ones is inf / NaN */
    int uz;       /* "unsigned zero": the negative-zero code is the only NaN */
    int fn_nan;   /* e4m3fn: S.1111.111 is NaN */
    int max_code; /* largest finite positive code */
    int nan_code; /* the NaN an encoder writes (ml_dtypes' choice), before the sign */
} minifloat_format;

static const minifloat_format *format_of(kiln_dtype dt)
{
    static const minifloat_format e4m3fn = {4, 3, 7, 0, 0, 1, 0x7e, 0x7f};
    static const minifloat_format e4m3fnuz = {4, 3, 8, 0, 1, 0, 0x7f, 0x80};
    static const minifloat_format e5m2 = {5, 2, 15, 1, 0, 0, 0x7b, 0x7e};
    static const minifloat_format e5m2fnuz = {5, 2, 16, 0, 1, 0, 0x7f, 0x80};
    static const minifloat_format e2m1 = {2, 1, 1, 0, 0, 0, 0x7, 0};
    switch (dt) {
    case KILN_FLOAT8E4M3FN:
        return &e4m3fn;
    case KILN_FLOAT8E4M3FNUZ:
        return &e4m3fnuz;
    case KILN_FLOAT8E5M2:
        return &e5m2;
    case KILN_FLOAT8E5M2FNUZ:
        return &e5m2fnuz;
    case KILN_FLOAT4E2M1:
        return &e2m1;
    default:
        return NULL;
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

/* The code of finite a >= 0 rounded to nearest even, with no upper bound:
 * the result may exceed max_code (an overflow the caller handles). */
static int round_positive(const minifloat_format *f, float a)
{
    if (a == 0)
        return 0;
    int emin = 1 - f->bias; /* exponent of the smallest normal */
    int e;
    frexpf(a, &e); /* a = m * 2^e, m in [0.5, 1): a's exponent is e - 1 */
    int q_exp = (e - 1 < emin ? emin : e - 1) - f->mbits;
    /* a / 2^q_exp is exact in double; rint rounds ties to even */
    double units = rint(ldexp((double)a, -q_exp));
    if (units < (double)(1 << f->mbits))
        return (int)units; /* subnormal (exponent field 0) */
    int exp_field = q_exp + f->mbits - emin + 1;
    if (units >= (double)(2 << f->mbits)) { /* rounded up into the next binade */
        units /= 2;
        exp_field++;
    }
    if (exp_field > 0xff >> f->mbits)
        return 0x100; /* far past any format's range */
    return (exp_field << f->mbits) | ((int)units - (1 << f->mbits));
}

/* e8m0 keeps the float32 exponent field, rounding up when any fraction bit
 * is set; NaN and inf become 0xff; the sign is ignored. */
static uint8_t encode_e8m0(float x, int saturate)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    uint32_t exp = (bits >> 23) & 0xff;
    if (exp == 0xff)
        return 0xff;
    if ((bits & 0x7fffff) && !(saturate && exp == 0xfe))
        exp++;
    return (uint8_t)exp;
}

uint8_t kiln_f32_to_minifloat(kiln_dtype dt, float x, int saturate)
{
    if (dt == KILN_FLOAT8E8M0)
        return encode_e8m0(x, saturate);
    const minifloat_format *f = format_of(dt);
    if (!f)
        return 0;
    int nbits = 1 + f->ebits + f->mbits;
    uint8_t sign_bit = (uint8_t)(1 << (nbits - 1));
    uint8_t sign = signbit(x) ? sign_bit : 0;
    uint8_t nan_code = (uint8_t)f->nan_code;
    int is_fp4 = dt == KILN_FLOAT4E2M1;
    if (isnan(x) && is_fp4)
        return (uint8_t)(sign ^ sign_bit); /* no NaN in float4: ml_dtypes writes zero of the opposite sign */
    if (isnan(x))
        return f->uz ? nan_code : (uint8_t)(sign | nan_code);
    int code = isinf(x) ? 0x100 : round_positive(f, fabsf(x));
    if (code > f->max_code) {
        if (saturate || is_fp4)
            code = f->max_code;
        else if (f->has_inf)
            code = ((1 << f->ebits) - 1) << f->mbits; /* infinity: exponent all ones, mantissa 0 */
        else
            return f->uz ? nan_code : (uint8_t)(sign | nan_code);
    }
    if (f->uz && code == 0)
        return 0;
    return (uint8_t)(sign | code);
}
