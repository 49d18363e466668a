/*
 * cast_quant.c - shape inference for the cast_quant op family: Cast,
 * CastLike, BitCast, QuantizeLinear, DequantizeLinear and
 * DynamicQuantizeLinear. Every output keeps the shape of input 0; the ops
 * differ in how the output dtype is chosen.
 */
#include <string.h>

#include "core/dtype.h"
#include "ir/infer/infer_util.h"

/* A numeric or bool dtype kiln stores (strings and complex are not). */
static int castable(kiln_dtype dt)
{
    return kiln_dtype_valid(dt);
}

static kiln_status need_castable(const kiln_op_ctx *ctx, const char *which, kiln_dtype dt)
{
    if (!castable(dt))
        return kiln_unsupported_dtype(ctx, which, dt);
    return KILN_OK;
}

/* The `to` attribute as a dtype kiln can produce. */
static kiln_status to_attr(const kiln_op_ctx *ctx, kiln_dtype *out)
{
    const kiln_attr *a = kiln_attr_find(ctx->node, "to");
    if (!a)
        return kiln_error(KILN_ERR_GRAPH, "%s needs the attribute 'to'", ctx->node->op_type);
    if (a->i < 0 || a->i >= KILN_DTYPE_COUNT || !castable((kiln_dtype)a->i))
        return kiln_error(KILN_ERR_UNSUPPORTED, "%s to data type %lld is not supported", ctx->node->op_type,
                          (long long)a->i);
    *out = (kiln_dtype)a->i;
    return KILN_OK;
}

/* The round_mode attribute of Cast / CastLike (only float8e8m0 uses it). */
static kiln_status check_round_mode(const kiln_op_ctx *ctx)
{
    const char *m = kiln_attr_string(ctx->node, "round_mode", "up");
    if (strcmp(m, "up") && strcmp(m, "down") && strcmp(m, "nearest"))
        return kiln_error(KILN_ERR_UNSUPPORTED, "round_mode '%s' is not supported", m);
    return KILN_OK;
}

static kiln_status infer_cast(kiln_op_ctx *ctx)
{
    kiln_dtype to;
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(need_castable(ctx, "input 0", ctx->in[0]->dtype));
    KILN_TRY(to_attr(ctx, &to));
    KILN_TRY(check_round_mode(ctx));
    kiln_infer_set(ctx, 0, to, ctx->in[0]->rank, ctx->in[0]->dims);
    return KILN_OK;
}

static kiln_status infer_cast_like(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(kiln_need_input(ctx, 1));
    KILN_TRY(need_castable(ctx, "input 0", ctx->in[0]->dtype));
    KILN_TRY(need_castable(ctx, "target_type", ctx->in[1]->dtype));
    KILN_TRY(check_round_mode(ctx));
    kiln_infer_set(ctx, 0, ctx->in[1]->dtype, ctx->in[0]->rank, ctx->in[0]->dims);
    return KILN_OK;
}

static kiln_status infer_bitcast(kiln_op_ctx *ctx)
{
    kiln_dtype to;
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(need_castable(ctx, "input 0", ctx->in[0]->dtype));
    KILN_TRY(to_attr(ctx, &to));
    /* sub-byte types are stored one per byte but are narrower */
    if (kiln_dtype_bits(to) != kiln_dtype_bits(ctx->in[0]->dtype))
        return kiln_error(KILN_ERR_SHAPE, "BitCast from %s to %s: the bit widths differ",
                          kiln_dtype_name(ctx->in[0]->dtype), kiln_dtype_name(to));
    kiln_infer_set(ctx, 0, to, ctx->in[0]->rank, ctx->in[0]->dims);
    return KILN_OK;
}

/* The integer and float formats QuantizeLinear produces. */
static int quant_type(kiln_dtype dt)
{
    switch (dt) {
    case KILN_UINT8:
    case KILN_INT8:
    case KILN_UINT16:
    case KILN_INT16:
    case KILN_UINT4:
    case KILN_INT4:
    case KILN_UINT2:
    case KILN_INT2:
    case KILN_FLOAT8E4M3FN:
    case KILN_FLOAT8E4M3FNUZ:
    case KILN_FLOAT8E5M2:
    case KILN_FLOAT8E5M2FNUZ:
    case KILN_FLOAT4E2M1:
        return 1;
    default:
        return 0;
    }
}

static int scale_type(kiln_dtype dt)
{
    return dt == KILN_FLOAT32 || dt == KILN_FLOAT16 || dt == KILN_BFLOAT16 || dt == KILN_FLOAT8E8M0;
}

/* Scale and zero point shapes: a scalar or 1-element tensor (per tensor), a
 * 1-D tensor (per axis), or the input's rank (blocked). Checked fully by
 * the kernels; here only what can be seen from ranks. */
static kiln_status check_qparams(const kiln_op_ctx *ctx)
{
    const kiln_tensor *s = ctx->in[1];
    const kiln_tensor *z = ctx->n_in > 2 ? ctx->in[2] : NULL;
    int64_t block = kiln_attr_int(ctx->node, "block_size", 0);
    if (block < 0)
        return kiln_error(KILN_ERR_SHAPE, "block_size %lld is negative", (long long)block);
    if (block == 0 && s->rank > 1)
        return kiln_error(KILN_ERR_SHAPE, "the scale has rank %d; without block_size it must be a scalar or 1-D",
                          s->rank);
    if (block > 0 && s->rank >= 0 && ctx->in[0]->rank >= 0 && s->rank != ctx->in[0]->rank)
        return kiln_error(KILN_ERR_SHAPE, "blocked quantization needs a scale of rank %d, not %d", ctx->in[0]->rank,
                          s->rank);
    if (z && z->rank >= 0 && s->rank >= 0 && z->rank != s->rank && kiln_tensor_numel(z) != kiln_tensor_numel(s))
        return kiln_error(KILN_ERR_SHAPE, "the zero point's shape differs from the scale's");
    return KILN_OK;
}

static kiln_status infer_quantize(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(kiln_need_input(ctx, 1));
    kiln_dtype xt = ctx->in[0]->dtype, st = ctx->in[1]->dtype;
    if (xt != KILN_FLOAT32 && xt != KILN_FLOAT16 && xt != KILN_BFLOAT16 && xt != KILN_INT32 && xt != KILN_FLOAT64)
        return kiln_unsupported_dtype(ctx, "x", xt);
    if (!scale_type(st) && st != KILN_INT32 && st != KILN_FLOAT64)
        return kiln_unsupported_dtype(ctx, "y_scale", st);
    kiln_dtype out = (kiln_dtype)kiln_attr_int(ctx->node, "output_dtype", 0);
    const kiln_tensor *z = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (z) {
        if (out != KILN_UNDEFINED && out != z->dtype)
            return kiln_error(KILN_ERR_GRAPH, "output_dtype %d differs from the zero point's type %s", (int)out,
                              kiln_dtype_name(z->dtype) ? kiln_dtype_name(z->dtype) : "?");
        out = z->dtype;
    }
    if (out == KILN_UNDEFINED)
        out = KILN_UINT8;
    if (!quant_type(out))
        return kiln_unsupported_dtype(ctx, "y", out);
    KILN_TRY(check_qparams(ctx));
    kiln_infer_set(ctx, 0, out, ctx->in[0]->rank, ctx->in[0]->dims);
    return KILN_OK;
}

static kiln_status infer_dequantize(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(kiln_need_input(ctx, 1));
    kiln_dtype xt = ctx->in[0]->dtype;
    if (!quant_type(xt) && xt != KILN_INT32)
        return kiln_unsupported_dtype(ctx, "x", xt);
    if (!scale_type(ctx->in[1]->dtype) && ctx->in[1]->dtype != KILN_FLOAT64)
        return kiln_unsupported_dtype(ctx, "x_scale", ctx->in[1]->dtype);
    const kiln_tensor *z = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (z && z->dtype != xt)
        return kiln_error(KILN_ERR_GRAPH, "the zero point's type %s differs from x's %s", kiln_dtype_name(z->dtype),
                          kiln_dtype_name(xt));
    kiln_dtype out = (kiln_dtype)kiln_attr_int(ctx->node, "output_dtype", 0);
    if (out == KILN_UNDEFINED)
        out = ctx->in[1]->dtype;
    if (out != KILN_FLOAT32 && out != KILN_FLOAT16 && out != KILN_BFLOAT16 && out != KILN_FLOAT64)
        return kiln_unsupported_dtype(ctx, "y", out);
    KILN_TRY(check_qparams(ctx));
    kiln_infer_set(ctx, 0, out, ctx->in[0]->rank, ctx->in[0]->dims);
    return KILN_OK;
}

static kiln_status infer_dynamic_quantize(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    if (ctx->in[0]->dtype != KILN_FLOAT32)
        return kiln_unsupported_dtype(ctx, "x", ctx->in[0]->dtype);
    kiln_infer_set(ctx, 0, KILN_UINT8, ctx->in[0]->rank, ctx->in[0]->dims);
    kiln_infer_set(ctx, 1, KILN_FLOAT32, 0, NULL);
    kiln_infer_set(ctx, 2, KILN_UINT8, 0, NULL);
    return KILN_OK;
}

const kiln_op_schema kiln_schemas_cast_quant[] = {
    {"Cast", 1, 1, 1, 1, 0, infer_cast},
    {"CastLike", 2, 2, 1, 1, 0, infer_cast_like},
    {"BitCast", 1, 1, 1, 1, 0, infer_bitcast},
    {"QuantizeLinear", 2, 3, 1, 1, 0, infer_quantize},
    {"DequantizeLinear", 2, 3, 1, 1, 0, infer_dequantize},
    {"DynamicQuantizeLinear", 1, 1, 3, 3, 0, infer_dynamic_quantize},
    {NULL, 0, 0, 0, 0, 0, NULL},
};
