/*
 * cast_quant_qdq.c - CPU kernels for QuantizeLinear, DequantizeLinear and
 * DynamicQuantizeLinear.
 *
 * Scale and zero point come per tensor (one element), per axis (1-D, the
 * length of x's `axis`) or blocked (x's rank, with ceil(D / block_size)
 * entries along `axis`). x is walked as outer x axis_len x inner, so the
 * scale index of every element is found without a division per element.
 */
#include <math.h>
#include <stdlib.h>

#include "backends/cpu/ops/cast_quant_internal.h"
#include "backends/cpu/cpu_util.h"

typedef enum { QM_TENSOR, QM_AXIS, QM_BLOCK } qmode;

typedef struct qlayout {
    qmode mode;
    int64_t outer, axis_len, inner; /* x viewed as outer x axis_len x inner */
    int64_t block;                  /* QM_BLOCK: elements of `axis` per scale */
    int64_t n_blocks;               /* QM_BLOCK: the scale's extent along `axis` */
} qlayout;

/* The index into scale / zero point of element (o, a, i). */
static int64_t scale_index(const qlayout *q, int64_t o, int64_t a, int64_t i)
{
    switch (q->mode) {
    case QM_AXIS:
        return a;
    case QM_BLOCK:
        return (o * q->n_blocks + a / q->block) * q->inner + i;
    default:
        return 0;
    }
}

static kiln_status check_zero_point(const kiln_tensor *s, const kiln_tensor *z)
{
    if (!z)
        return KILN_OK;
    if (kiln_tensor_numel(z) != kiln_tensor_numel(s))
        return kiln_error(KILN_ERR_SHAPE, "the zero point has %lld elements, the scale %lld",
                          (long long)kiln_tensor_numel(z), (long long)kiln_tensor_numel(s));
    for (int d = 0; z->rank == s->rank && d < s->rank; d++)
        if (z->dims[d] != s->dims[d])
            return kiln_error(KILN_ERR_SHAPE, "the zero point's shape differs from the scale's");
    return KILN_OK;
}

static kiln_status blocked_layout(const kiln_tensor *x, const kiln_tensor *s, int axis, int64_t block, qlayout *q)
{
    if (s->rank != x->rank)
        return kiln_error(KILN_ERR_SHAPE, "blocked quantization needs a scale of rank %d, not %d", x->rank, s->rank);
    for (int d = 0; d < x->rank; d++) {
        int64_t want = d != axis ? x->dims[d] : x->dims[d] == 0 ? 0 : (x->dims[d] - 1) / block + 1;
        if (s->dims[d] != want)
            return kiln_error(KILN_ERR_SHAPE, "scale dim %d is %lld; with block_size %lld it must be %lld", d,
                              (long long)s->dims[d], (long long)block, (long long)want);
    }
    q->mode = QM_BLOCK;
    q->block = block;
    q->n_blocks = s->dims[axis];
    return KILN_OK;
}

static kiln_status parse_layout(const kiln_op_ctx *ctx, qlayout *q)
{
    const kiln_tensor *x = ctx->in[0], *s = ctx->in[1];
    const kiln_tensor *z = ctx->n_in > 2 ? ctx->in[2] : NULL;
    KILN_TRY(check_zero_point(s, z));
    int64_t block = kiln_attr_int(ctx->node, "block_size", 0);
    int64_t n = kiln_tensor_numel(x);
    *q = (qlayout){QM_TENSOR, 1, n, 1, 0, 0};
    if (kiln_tensor_numel(s) == 1)
        return KILN_OK;
    if (block < 0)
        return kiln_error(KILN_ERR_SHAPE, "block_size %lld is negative", (long long)block);
    int axis;
    KILN_TRY(kiln_norm_axis(kiln_attr_int(ctx->node, "axis", 1), x->rank, "axis", &axis));
    q->axis_len = x->dims[axis];
    for (int d = 0; d < axis; d++)
        q->outer *= x->dims[d];
    for (int d = axis + 1; d < x->rank; d++)
        q->inner *= x->dims[d];
    if (block > 0)
        return blocked_layout(x, s, axis, block, q);
    if (s->rank != 1 || s->dims[0] != x->dims[axis])
        return kiln_error(KILN_ERR_SHAPE, "a per-axis scale must be 1-D of length %lld (axis %d)",
                          (long long)x->dims[axis], axis);
    q->mode = QM_AXIS;
    return KILN_OK;
}

/* Scale and zero point as doubles (zero point 0 when absent). */
static kiln_status load_params(const kiln_op_ctx *ctx, size_t max_bytes, double **scale, double **zero)
{
    const kiln_tensor *z = ctx->n_in > 2 ? ctx->in[2] : NULL;
    KILN_TRY(kiln_to_f64(ctx->in[1], max_bytes, scale));
    if (!z) {
        *zero = calloc((size_t)kiln_tensor_numel(ctx->in[1]) + 1, sizeof **zero);
        if (!*zero) {
            free(*scale);
            return kiln_error(KILN_ERR_OUT_OF_MEMORY, "cannot allocate the zero point");
        }
        return KILN_OK;
    }
    kiln_status st = kiln_to_f64(z, max_bytes, zero);
    if (st != KILN_OK)
        free(*scale);
    return st;
}

/* ---- QuantizeLinear ----------------------------------------------------- */

typedef struct qrange {
    double lo, hi;
} qrange;

static int int_range(kiln_dtype dt, qrange *r)
{
    switch (dt) {
    case KILN_UINT8:
        *r = (qrange){0, 255};
        return 1;
    case KILN_INT8:
        *r = (qrange){-128, 127};
        return 1;
    case KILN_UINT16:
        *r = (qrange){0, 65535};
        return 1;
    case KILN_INT16:
        *r = (qrange){-32768, 32767};
        return 1;
    case KILN_UINT4:
        *r = (qrange){0, 15};
        return 1;
    case KILN_INT4:
        *r = (qrange){-8, 7};
        return 1;
    case KILN_UINT2:
        *r = (qrange){0, 3};
        return 1;
    case KILN_INT2:
        *r = (qrange){-2, 1};
        return 1;
    default:
        return 0;
    }
}

/* x / scale rounded to the division's precision (ONNX: the scale's type,
 * or the `precision` attribute). */
static double divide(double x, double s, kiln_dtype precision)
{
    double q = x / s;
    switch (precision) {
    case KILN_FLOAT32:
        return (float)q;
    case KILN_FLOAT16:
        return kiln_f16_to_f32(kiln_f32_to_f16(cq_f64_to_f32_odd(q)));
    case KILN_BFLOAT16:
        return kiln_bf16_to_f32(kiln_f32_to_bf16(cq_f64_to_f32_odd(q)));
    default:
        return q;
    }
}

typedef struct qjob {
    const kiln_tensor *x;
    kiln_tensor *y;
    const double *scale, *zero;
    kiln_dtype precision;
    int saturate;
} qjob;

/* One quantized element: round half to even, add the zero point, clamp
 * (integers); float8 ignores the zero point, as the ONNX reference does. */
static void quantize_one(const qjob *j, size_t e, int64_t si)
{
    double q = divide(kiln_load_f64(j->x->data, j->x->dtype, e), j->scale[si], j->precision);
    kiln_dtype dt = j->y->dtype;
    qrange r;
    if (int_range(dt, &r)) {
        double v = isnan(q) ? r.lo : rint(q) + j->zero[si];
        kiln_store_i64(j->y->data, dt, e, (int64_t)(v < r.lo ? r.lo : v > r.hi ? r.hi : v));
    } else if (dt == KILN_FLOAT4E2M1) {
        ((uint8_t *)j->y->data)[e] = kiln_f32_to_minifloat(dt, cq_f64_to_f32_odd(q + j->zero[si]), 1);
    } else {
        ((uint8_t *)j->y->data)[e] = kiln_f32_to_minifloat(dt, cq_f64_to_f32_odd(q), j->saturate);
    }
}

static kiln_status quant_precision(const kiln_op_ctx *ctx, kiln_dtype *out)
{
    kiln_dtype p = (kiln_dtype)kiln_attr_int(ctx->node, "precision", 0);
    if (p == KILN_UNDEFINED)
        p = ctx->in[1]->dtype;
    if (p == KILN_FLOAT8E8M0 || p == KILN_INT32)
        p = KILN_FLOAT64; /* exact: powers of two, or integers */
    if (p != KILN_FLOAT32 && p != KILN_FLOAT16 && p != KILN_BFLOAT16 && p != KILN_FLOAT64)
        return kiln_error(KILN_ERR_UNSUPPORTED, "QuantizeLinear precision %d is not supported", (int)p);
    *out = p;
    return KILN_OK;
}

kiln_status cq_quantize_linear(kiln_op_ctx *ctx)
{
    qlayout q;
    qjob j = {ctx->in[0], ctx->out[0], NULL, NULL, KILN_FLOAT32, kiln_attr_int(ctx->node, "saturate", 1) != 0};
    qrange r;
    if (!int_range(j.y->dtype, &r) && !kiln_dtype_is_float(j.y->dtype))
        return kiln_unsupported_dtype(ctx, "y", j.y->dtype);
    KILN_TRY(quant_precision(ctx, &j.precision));
    KILN_TRY(parse_layout(ctx, &q));
    double *scale, *zero;
    KILN_TRY(load_params(ctx, ctx->max_bytes, &scale, &zero));
    j.scale = scale;
    j.zero = zero;
    size_t e = 0;
    for (int64_t o = 0; o < q.outer; o++)
        for (int64_t a = 0; a < q.axis_len; a++)
            for (int64_t i = 0; i < q.inner; i++)
                quantize_one(&j, e++, scale_index(&q, o, a, i));
    free(scale);
    free(zero);
    return KILN_OK;
}

/* ---- DequantizeLinear --------------------------------------------------- */

/* One rounding from double to y's float type. */
static void store_real(kiln_tensor *y, size_t e, double v)
{
    if (y->dtype == KILN_FLOAT32)
        ((float *)y->data)[e] = (float)v;
    else
        kiln_store_f64(y->data, y->dtype, e, y->dtype == KILN_FLOAT64 ? v : cq_f64_to_f32_odd(v));
}

kiln_status cq_dequantize_linear(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0];
    kiln_tensor *y = ctx->out[0];
    qlayout q;
    KILN_TRY(parse_layout(ctx, &q));
    double *scale, *zero;
    KILN_TRY(load_params(ctx, ctx->max_bytes, &scale, &zero));
    /* ONNX's reference subtracts the zero point only for integer x, and
     * multiplies in float32 unless int32 x or a float64 scale ask more. */
    int use_zero = kiln_dtype_is_int(x->dtype);
    int wide = x->dtype == KILN_INT32 || ctx->in[1]->dtype == KILN_FLOAT64;
    size_t e = 0;
    for (int64_t o = 0; o < q.outer; o++)
        for (int64_t a = 0; a < q.axis_len; a++)
            for (int64_t i = 0; i < q.inner; i++, e++) {
                int64_t si = scale_index(&q, o, a, i);
                double v = kiln_load_f64(x->data, x->dtype, e) - (use_zero ? zero[si] : 0);
                double out = wide ? v * scale[si] : (double)((float)v * (float)scale[si]);
                store_real(y, e, out);
            }
    free(scale);
    free(zero);
    return KILN_OK;
}

/* ---- DynamicQuantizeLinear ---------------------------------------------- */

/* uint8 quantization over the range of x widened to include 0, in float32
 * exactly as ONNX's reference computes it. */
kiln_status cq_dynamic_quantize_linear(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0];
    if (x->dtype != KILN_FLOAT32)
        return kiln_unsupported_dtype(ctx, "x", x->dtype);
    const float *xs = x->data;
    int64_t n = kiln_tensor_numel(x);
    float maxx = 0, minx = 0;
    for (int64_t i = 0; i < n; i++) {
        maxx = xs[i] > maxx ? xs[i] : maxx;
        minx = xs[i] < minx ? xs[i] : minx;
    }
    float scale = (maxx == minx ? 1.0f : maxx - minx) / 255.0f;
    float zp = 0.0f - minx / scale;
    zp = rintf(zp < 0 ? 0 : zp > 255 ? 255 : zp);
    uint8_t *y = ctx->out[0]->data;
    for (int64_t i = 0; i < n; i++) {
        float v = rintf(xs[i] / scale) + zp;
        y[i] = (uint8_t)(isnan(v) || v < 0 ? 0 : v > 255 ? 255 : v);
    }
    if (ctx->n_out > 1 && ctx->out[1])
        *(float *)ctx->out[1]->data = scale;
    if (ctx->n_out > 2 && ctx->out[2])
        *(uint8_t *)ctx->out[2]->data = (uint8_t)zp;
    return KILN_OK;
}
