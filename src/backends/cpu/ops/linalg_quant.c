/*
 * linalg_quant.c - CPU kernels for MatMulInteger and QLinearMatMul.
 *
 * Both subtract the zero points (per tensor, per row of A, per column of B)
 * into float64 copies of the operands and multiply those with cblas_dgemm:
 * 8-bit products summed in float64 are exact integers (up to 2^53), so the
 * result equals integer accumulation; MatMulInteger then wraps to int32.
 * QLinearMatMul scales the exact sums by a_scale * b_scale / y_scale,
 * computed in the scales' type as the ONNX reference does, and rounds half to
 * even into y's type with saturation.
 */
#include "backends/cpu/ops/linalg_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static kiln_status alloc_f64(int64_t n, size_t max_bytes, double **out)
{
    return kiln_alloc_elems(KILN_FLOAT64, n, max_bytes, "quantized matmul buffer", (void **)out);
}
/* Strides that read the quantization parameter p (of operand `x`, A when
 * !is_b) broadcast over a tensor of shape (rank, dims). */
static kiln_status param_strides(const kiln_tensor *p, const kiln_tensor *x, int is_b, const char *what, int rank,
                                 const int64_t *dims, int64_t *strides)
{
    kiln_tensor view;
    memset(&view, 0, sizeof view);
    KILN_TRY(kiln_quant_matmul_param(p, x, is_b, what, &view.rank, view.dims));
    if (view.rank < 0 || view.rank > rank)
        return kiln_error(KILN_ERR_SHAPE, "%s does not fit its operand", what);
    kiln_bcast_strides(&view, rank, dims, strides);
    return KILN_OK;
}

/* x's n elements as float64 (8-bit integers without a per-element switch). */
static void load_f64(const kiln_tensor *x, int64_t n, double *out)
{
    if (x->dtype == KILN_INT8)
        for (int64_t i = 0; i < n; i++)
            out[i] = ((const int8_t *)x->data)[i];
    else if (x->dtype == KILN_UINT8)
        for (int64_t i = 0; i < n; i++)
            out[i] = ((const uint8_t *)x->data)[i];
    else
        kiln_convert(x->data, x->dtype, out, KILN_FLOAT64, (size_t)n);
}

/* x - zero_point (zp may be NULL) as float64. */
static kiln_status centered(const kiln_op_ctx *ctx, const kiln_tensor *x, const kiln_tensor *zp, int is_b,
                            const char *what, double **out)
{
    int64_t n, idx[KILN_MAX_RANK] = {0}, zs[KILN_MAX_RANK], off = 0;
    int64_t *strides[1] = {zs};
    KILN_TRY(kiln_shape_numel(x->dims, x->rank, &n, what));
    if (zp && zp->dtype != x->dtype)
        return kiln_error(KILN_ERR_GRAPH, "%s is %s, its operand %s", what, kiln_dtype_name(zp->dtype),
                          kiln_dtype_name(x->dtype));
    if (zp)
        KILN_TRY(param_strides(zp, x, is_b, what, x->rank, x->dims, zs));
    KILN_TRY(alloc_f64(n, ctx->max_bytes, out));
    load_f64(x, n, *out);
    if (!zp)
        return KILN_OK;
    int per_tensor = 1;
    for (int d = 0; d < x->rank; d++)
        per_tensor &= zs[d] == 0;
    if (per_tensor) {
        double z = kiln_load_f64(zp->data, zp->dtype, 0);
        for (int64_t i = 0; i < n; i++)
            (*out)[i] -= z;
        return KILN_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        (*out)[i] -= kiln_load_f64(zp->data, zp->dtype, (size_t)off);
        kiln_nd_next(x->rank, x->dims, idx, 1, strides, &off);
    }
    return KILN_OK;
}

/* The exact sums of (a - a_zero_point) @ (b - b_zero_point), as float64, in
 * *acc (caller frees); p gets the product's plan. */
static kiln_status centered_matmul(const kiln_op_ctx *ctx, int ia, int iza, int ib, int izb, kiln_la_matmul *p,
                                   double **acc)
{
    const kiln_tensor *a = ctx->in[ia], *b = ctx->in[ib];
    const kiln_tensor *za = iza < ctx->n_in ? ctx->in[iza] : NULL, *zb = izb < ctx->n_in ? ctx->in[izb] : NULL;
    KILN_TRY(kiln_la_matmul_plan(a, b, p));
    KILN_TRY(kiln_la_check_out(ctx->out[0], p->out_rank, p->out_dims));
    int64_t n;
    KILN_TRY(kiln_shape_numel(p->out_dims, p->out_rank, &n, "output"));
    double *ca = NULL, *cb = NULL;
    kiln_status st = centered(ctx, a, za, 0, "a_zero_point", &ca);
    if (st == KILN_OK)
        st = centered(ctx, b, zb, 1, "b_zero_point", &cb);
    if (st == KILN_OK)
        st = alloc_f64(n, ctx->max_bytes, acc);
    if (st == KILN_OK) {
        st = kiln_la_matmul_run(p, KILN_LA_F64, ca, cb, *acc);
        if (st != KILN_OK)
            free(*acc);
    }
    free(ca);
    free(cb);
    return st;
}

kiln_status kiln_cpu_matmul_integer(kiln_op_ctx *ctx)
{
    kiln_tensor *y = ctx->out[0];
    if (!kiln_is_8bit(ctx->in[0]->dtype))
        return kiln_unsupported_dtype(ctx, "input A", ctx->in[0]->dtype);
    if (!kiln_is_8bit(ctx->in[1]->dtype))
        return kiln_unsupported_dtype(ctx, "input B", ctx->in[1]->dtype);
    if (y->dtype != KILN_INT32)
        return kiln_unsupported_dtype(ctx, "output", y->dtype);
    kiln_la_matmul p;
    double *acc;
    KILN_TRY(centered_matmul(ctx, 0, 2, 1, 3, &p, &acc));
    int64_t n = kiln_tensor_numel(y);
    /* through int64, so sums past the int32 range wrap as int32 accumulation does */
    for (int64_t i = 0; i < n; i++)
        ((int32_t *)y->data)[i] = (int32_t)(uint32_t)(uint64_t)(int64_t)acc[i];
    free(acc);
    return KILN_OK;
}

/* v rounded to the scales' type (float16 and bfloat16 arithmetic done in
 * float32 and rounded after each operation, which is exact IEEE). */
static float round_to(kiln_dtype dt, float v)
{
    if (dt == KILN_FLOAT16)
        return kiln_f16_to_f32(kiln_f32_to_f16(v));
    if (dt == KILN_BFLOAT16)
        return kiln_bf16_to_f32(kiln_f32_to_bf16(v));
    return v;
}

static kiln_status check_qlinear_types(const kiln_op_ctx *ctx)
{
    static const char *const names[8] = {"a",       "a_scale",      "a_zero_point", "b",
                                         "b_scale", "b_zero_point", "y_scale",      "y_zero_point"};
    kiln_dtype ts = ctx->in[1]->dtype;
    if (ts != KILN_FLOAT32 && ts != KILN_FLOAT16 && ts != KILN_BFLOAT16)
        return kiln_unsupported_dtype(ctx, "a_scale", ts);
    for (int i = 0; i < 8; i++) {
        if (!ctx->in[i])
            return kiln_error(KILN_ERR_GRAPH, "QLinearMatMul input %s is required", names[i]);
        int is_scale = i == 1 || i == 4 || i == 6;
        if (is_scale && ctx->in[i]->dtype != ts)
            return kiln_error(KILN_ERR_GRAPH, "%s is %s, a_scale is %s", names[i], kiln_dtype_name(ctx->in[i]->dtype),
                              kiln_dtype_name(ts));
        if (!is_scale && !kiln_la_is_quant_type(ctx->in[i]->dtype))
            return kiln_unsupported_dtype(ctx, names[i], ctx->in[i]->dtype);
    }
    if (kiln_tensor_numel(ctx->in[6]) != 1 || kiln_tensor_numel(ctx->in[7]) != 1)
        return kiln_error(KILN_ERR_SHAPE, "y_scale and y_zero_point must hold one value each");
    if (ctx->out[0]->dtype != ctx->in[7]->dtype)
        return kiln_error(KILN_ERR_GRAPH, "output is %s, y_zero_point is %s", kiln_dtype_name(ctx->out[0]->dtype),
                          kiln_dtype_name(ctx->in[7]->dtype));
    return KILN_OK;
}

/* y = saturate(round(acc * a_scale * b_scale / y_scale) + y_zero_point),
 * walking the output as [batch..., M, N] so that A's per-row scales
 * ([..., M, 1]) and B's per-column scales ([..., 1, N]) broadcast onto it. */
static kiln_status requantize(const kiln_op_ctx *ctx, const kiln_la_matmul *p, const double *acc)
{
    const kiln_tensor *sa = ctx->in[1], *sb = ctx->in[4], *sy = ctx->in[6], *zy = ctx->in[7];
    kiln_tensor *y = ctx->out[0];
    int rank = p->batch_rank + 2;
    int64_t dims[KILN_MAX_RANK + 2], idx[KILN_MAX_RANK + 2] = {0}, off[2] = {0, 0};
    int64_t as[KILN_MAX_RANK + 2], bs[KILN_MAX_RANK + 2];
    int64_t *strides[2] = {as, bs};
    if (rank > KILN_MAX_RANK)
        return kiln_error(KILN_ERR_UNSUPPORTED, "QLinearMatMul output rank over %d", KILN_MAX_RANK);
    memcpy(dims, p->batch, sizeof(int64_t) * (size_t)p->batch_rank);
    dims[rank - 2] = p->m;
    dims[rank - 1] = p->n;
    KILN_TRY(param_strides(sa, ctx->in[0], 0, "a_scale", rank, dims, as));
    KILN_TRY(param_strides(sb, ctx->in[3], 1, "b_scale", rank, dims, bs));
    kiln_dtype ts = sa->dtype;
    float y_scale = (float)kiln_load_f64(sy->data, ts, 0);
    double y_zero = kiln_load_f64(zy->data, zy->dtype, 0);
    int round = !kiln_dtype_is_float(y->dtype);
    int64_t n = kiln_tensor_numel(y);
    for (int64_t i = 0; i < n; i++) {
        float a_scale = (float)kiln_load_f64(sa->data, ts, (size_t)off[0]);
        float b_scale = (float)kiln_load_f64(sb->data, ts, (size_t)off[1]);
        float mult = round_to(ts, round_to(ts, a_scale * b_scale) / y_scale);
        double v = acc[i] * (double)mult + y_zero;
        if (round)
            v = nearbyint(v);
        kiln_store_f64(y->data, y->dtype, (size_t)i, v);
        kiln_nd_next(rank, dims, idx, 2, strides, off);
    }
    return KILN_OK;
}

kiln_status kiln_cpu_qlinear_matmul(kiln_op_ctx *ctx)
{
    if (ctx->n_in < 8)
        return kiln_error(KILN_ERR_GRAPH, "QLinearMatMul needs 8 inputs, got %d", ctx->n_in);
    KILN_TRY(check_qlinear_types(ctx));
    kiln_la_matmul p;
    double *acc;
    KILN_TRY(centered_matmul(ctx, 0, 2, 3, 5, &p, &acc));
    kiln_status st = requantize(ctx, &p, acc);
    free(acc);
    return st;
}
