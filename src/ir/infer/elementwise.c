/*
 * elementwise.c - shape inference for the elementwise op family: unary math
 * and activations, numpy-broadcasting binary ops, comparisons, logical and
 * bitwise ops, variadic Min/Max/Sum/Mean, Where, PRelu, Pow and Clip.
 *
 * Every function checks the input dtypes against the op's ONNX type
 * constraint (the newest opset's, which includes the older ones).
 */
#include <stdio.h>
#include <string.h>

#include "core/dtype.h"
#include "ir/infer/elementwise_infer.h"
#include "ir/infer/infer_util.h"

/* dtype sets of the type constraints */
enum {
    M_FLOAT = 1u << 0, /* float16, float32, float64, bfloat16 */
    M_SINT = 1u << 1,  /* int8 .. int64 */
    M_UINT = 1u << 2,  /* uint8 .. uint64 */
    M_BOOL = 1u << 3,
    M_F8 = 1u << 4, /* the four float8 types */
};
#define M_INT (M_SINT | M_UINT)
#define M_NUM (M_FLOAT | M_INT)
#define M_SIGNED (M_FLOAT | M_SINT)

static unsigned dtype_set(kiln_dtype dt)
{
    switch (dt) {
    case KILN_FLOAT16: case KILN_FLOAT32: case KILN_FLOAT64: case KILN_BFLOAT16:
        return M_FLOAT;
    case KILN_INT8: case KILN_INT16: case KILN_INT32: case KILN_INT64:
        return M_SINT;
    case KILN_UINT8: case KILN_UINT16: case KILN_UINT32: case KILN_UINT64:
        return M_UINT;
    case KILN_BOOL:
        return M_BOOL;
    case KILN_FLOAT8E4M3FN: case KILN_FLOAT8E4M3FNUZ: case KILN_FLOAT8E5M2: case KILN_FLOAT8E5M2FNUZ:
        return M_F8;
    default:
        return 0;
    }
}

/* Input i must be present with a dtype in `mask`. */
static kiln_status need_dtype(const kiln_op_ctx *ctx, int i, unsigned mask)
{
    KILN_TRY(kiln_need_input(ctx, i));
    if (!(dtype_set(ctx->in[i]->dtype) & mask)) {
        char which[32];
        snprintf(which, sizeof which, "input %d", i);
        return kiln_unsupported_dtype(ctx, which, ctx->in[i]->dtype);
    }
    return KILN_OK;
}

/* Input i must be present with the dtype of input `ref`. */
static kiln_status need_same_dtype(const kiln_op_ctx *ctx, int i, int ref)
{
    KILN_TRY(kiln_need_input(ctx, i));
    kiln_dtype a = ctx->in[ref]->dtype, b = ctx->in[i]->dtype;
    if (a != b)
        return kiln_error(KILN_ERR_GRAPH, "input %d has dtype %s but input %d has %s (they must match)", i,
                          kiln_dtype_name(b) ? kiln_dtype_name(b) : "(invalid)", ref,
                          kiln_dtype_name(a) ? kiln_dtype_name(a) : "(invalid)");
    return KILN_OK;
}

/* On a broadcast failure, puts the input shapes in front of the message. */
static kiln_status shapes_prefix(const kiln_op_ctx *ctx, kiln_status st, int first, int last)
{
    char text[400] = "", buf[96];
    size_t len = 0;
    for (int i = first; i <= last && i < ctx->n_in && len < sizeof text; i++) {
        const kiln_tensor *t = ctx->in[i];
        len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", i > first ? ", " : "",
                                t ? kiln_shape_str(t->dims, t->rank, buf, sizeof buf) : "absent");
    }
    return kiln_error_prefix(st, "inputs of shapes %s do not broadcast", text);
}

/* ---- unary ------------------------------------------------------------ */

static kiln_status infer_unary(kiln_op_ctx *ctx, unsigned mask, int bool_out)
{
    KILN_TRY(need_dtype(ctx, 0, mask));
    const kiln_tensor *x = ctx->in[0];
    kiln_infer_set(ctx, 0, bool_out ? KILN_BOOL : x->dtype, x->rank, x->dims);
    return KILN_OK;
}

static kiln_status infer_unary_float(kiln_op_ctx *ctx) { return infer_unary(ctx, M_FLOAT, 0); }
static kiln_status infer_unary_signed(kiln_op_ctx *ctx) { return infer_unary(ctx, M_SIGNED, 0); }
static kiln_status infer_unary_num(kiln_op_ctx *ctx) { return infer_unary(ctx, M_NUM, 0); }
static kiln_status infer_unary_int(kiln_op_ctx *ctx) { return infer_unary(ctx, M_INT, 0); }
static kiln_status infer_not(kiln_op_ctx *ctx) { return infer_unary(ctx, M_BOOL, 0); }
static kiln_status infer_isnan(kiln_op_ctx *ctx) { return infer_unary(ctx, M_FLOAT | M_F8, 1); }

static kiln_status infer_gelu(kiln_op_ctx *ctx)
{
    const char *approx = kiln_attr_string(ctx->node, "approximate", "none");
    if (strcmp(approx, "none") != 0 && strcmp(approx, "tanh") != 0)
        return kiln_error(KILN_ERR_UNSUPPORTED, "attribute approximate='%s' is not supported (none or tanh)", approx);
    return infer_unary(ctx, M_FLOAT, 0);
}

/* Clip: min and max (inputs 1 and 2 from opset 11) are optional scalars of
 * the input's dtype. */
static kiln_status infer_clip(kiln_op_ctx *ctx)
{
    KILN_TRY(need_dtype(ctx, 0, ctx->opset < 11 ? M_FLOAT : M_NUM));
    for (int i = 1; i < ctx->n_in && i < 3; i++) {
        const kiln_tensor *t = ctx->in[i];
        if (!t)
            continue;
        KILN_TRY(need_same_dtype(ctx, i, 0));
        int64_t n = kiln_tensor_numel(t);
        if (t->rank >= 0 && n != -1 && n != 1)
            return kiln_error(KILN_ERR_SHAPE, "input %d (%s) must be a scalar, has %lld elements", i,
                              i == 1 ? "min" : "max", (long long)n);
    }
    kiln_infer_copy(ctx, 0, 0);
    return KILN_OK;
}

/* ---- binary ----------------------------------------------------------- */

kiln_status kiln_ew_legacy_rank(const kiln_op_ctx *ctx, const kiln_tensor *a, const kiln_tensor *b, int *rank)
{
    *rank = b->rank;
    if (kiln_attr_int(ctx->node, "broadcast", 0) == 0 || a->rank < 0 || b->rank < 0)
        return KILN_OK;
    int64_t axis = kiln_attr_int(ctx->node, "axis", a->rank - b->rank);
    if (axis < 0)
        axis += a->rank;
    if (axis < 0 || axis + b->rank > a->rank)
        return kiln_error(KILN_ERR_SHAPE, "attribute axis=%lld does not fit B (rank %d) into A (rank %d)",
                          (long long)kiln_attr_int(ctx->node, "axis", 0), b->rank, a->rank);
    *rank = (int)(a->rank - axis);
    return KILN_OK;
}

/* Sets out[0] to inputs 0 and 1 broadcast (with the legacy rule), dtype dt. */
static kiln_status set_binary_out(kiln_op_ctx *ctx, kiln_dtype dt)
{
    const kiln_tensor *a = ctx->in[0], *b = ctx->in[1];
    int rb, rank;
    int64_t db[KILN_MAX_RANK], dims[KILN_MAX_RANK];
    memcpy(db, b->dims, sizeof b->dims);
    KILN_TRY(kiln_ew_legacy_rank(ctx, a, b, &rb));
    for (int i = b->rank; i < rb; i++)
        db[i] = 1;
    kiln_status st = kiln_broadcast_shape(a->rank, a->dims, rb, db, &rank, dims);
    if (st != KILN_OK)
        return shapes_prefix(ctx, st, 0, 1);
    kiln_infer_set(ctx, 0, dt, rank, dims);
    return KILN_OK;
}

/* Two inputs of one dtype in `mask`; output broadcast, dtype out_dt (or the
 * input's when KILN_UNDEFINED). */
static kiln_status infer_binary(kiln_op_ctx *ctx, unsigned mask, kiln_dtype out_dt)
{
    KILN_TRY(need_dtype(ctx, 0, mask));
    KILN_TRY(need_same_dtype(ctx, 1, 0));
    return set_binary_out(ctx, out_dt != KILN_UNDEFINED ? out_dt : ctx->in[0]->dtype);
}

static kiln_status infer_arith(kiln_op_ctx *ctx) { return infer_binary(ctx, M_NUM, KILN_UNDEFINED); }
static kiln_status infer_bitwise(kiln_op_ctx *ctx) { return infer_binary(ctx, M_INT, KILN_UNDEFINED); }
static kiln_status infer_compare(kiln_op_ctx *ctx) { return infer_binary(ctx, M_NUM, KILN_BOOL); }
static kiln_status infer_equal(kiln_op_ctx *ctx) { return infer_binary(ctx, M_NUM | M_BOOL, KILN_BOOL); }
static kiln_status infer_logical(kiln_op_ctx *ctx) { return infer_binary(ctx, M_BOOL, KILN_BOOL); }

static kiln_status infer_mod(kiln_op_ctx *ctx)
{
    int64_t fmod = kiln_attr_int(ctx->node, "fmod", 0);
    if (fmod != 0 && fmod != 1)
        return kiln_error(KILN_ERR_UNSUPPORTED, "attribute fmod=%lld is not supported (0 or 1)", (long long)fmod);
    return infer_binary(ctx, M_NUM, KILN_UNDEFINED);
}

static kiln_status infer_bitshift(kiln_op_ctx *ctx)
{
    const char *dir = kiln_attr_string(ctx->node, "direction", "");
    if (strcmp(dir, "LEFT") != 0 && strcmp(dir, "RIGHT") != 0)
        return kiln_error(KILN_ERR_UNSUPPORTED, "attribute direction='%s' is not supported (LEFT or RIGHT)", dir);
    return infer_binary(ctx, M_INT, KILN_UNDEFINED);
}

/* Pow: base and exponent may have different dtypes; the output has the
 * base's. */
static kiln_status infer_pow(kiln_op_ctx *ctx)
{
    KILN_TRY(need_dtype(ctx, 0, M_NUM));
    KILN_TRY(need_dtype(ctx, 1, M_NUM));
    return set_binary_out(ctx, ctx->in[0]->dtype);
}

/* PRelu: slope broadcasts to X (unidirectionally); the output has X's shape. */
static kiln_status infer_prelu(kiln_op_ctx *ctx)
{
    KILN_TRY(need_dtype(ctx, 0, M_NUM));
    KILN_TRY(need_same_dtype(ctx, 1, 0));
    const kiln_tensor *x = ctx->in[0], *s = ctx->in[1];
    int rank;
    int64_t dims[KILN_MAX_RANK];
    kiln_status st = kiln_broadcast_shape(x->rank, x->dims, s->rank, s->dims, &rank, dims);
    if (st != KILN_OK)
        return shapes_prefix(ctx, st, 0, 1);
    if (x->rank >= 0 && rank >= 0) {
        int bad = rank != x->rank;
        for (int i = 0; !bad && i < rank; i++)
            bad = x->dims[i] >= 0 && dims[i] >= 0 && x->dims[i] != dims[i];
        if (bad)
            return kiln_error(KILN_ERR_SHAPE, "slope (input 1, rank %d) does not broadcast to X (rank %d)", s->rank,
                              x->rank);
    }
    kiln_infer_copy(ctx, 0, 0);
    return KILN_OK;
}

/* ---- variadic and ternary ---------------------------------------------- */

static kiln_status infer_nary(kiln_op_ctx *ctx, unsigned mask)
{
    KILN_TRY(need_dtype(ctx, 0, mask));
    for (int i = 1; i < ctx->n_in; i++)
        KILN_TRY(need_same_dtype(ctx, i, 0));
    int rank;
    int64_t dims[KILN_MAX_RANK];
    kiln_status st = kiln_broadcast_inputs(ctx, 0, ctx->n_in - 1, &rank, dims);
    if (st != KILN_OK)
        return shapes_prefix(ctx, st, 0, ctx->n_in - 1);
    kiln_infer_set(ctx, 0, ctx->in[0]->dtype, rank, dims);
    return KILN_OK;
}

static kiln_status infer_minmax(kiln_op_ctx *ctx) { return infer_nary(ctx, M_NUM); }
static kiln_status infer_sum(kiln_op_ctx *ctx) { return infer_nary(ctx, M_FLOAT); }

static kiln_status infer_where(kiln_op_ctx *ctx)
{
    KILN_TRY(need_dtype(ctx, 0, M_BOOL));
    KILN_TRY(need_dtype(ctx, 1, M_NUM | M_BOOL));
    KILN_TRY(need_same_dtype(ctx, 2, 1));
    int rank;
    int64_t dims[KILN_MAX_RANK];
    kiln_status st = kiln_broadcast_inputs(ctx, 0, 2, &rank, dims);
    if (st != KILN_OK)
        return shapes_prefix(ctx, st, 0, 2);
    kiln_infer_set(ctx, 0, ctx->in[1]->dtype, rank, dims);
    return KILN_OK;
}

/* {name, min_inputs, max_inputs, min_outputs, max_outputs, flags, infer} */
const kiln_op_schema kiln_schemas_elementwise[] = {
    /* binary arithmetic, numpy broadcasting */
    {"Add", 2, 2, 1, 1, 0, infer_arith},
    {"Sub", 2, 2, 1, 1, 0, infer_arith},
    {"Mul", 2, 2, 1, 1, 0, infer_arith},
    {"Div", 2, 2, 1, 1, 0, infer_arith},
    {"Mod", 2, 2, 1, 1, 0, infer_mod},
    {"Pow", 2, 2, 1, 1, 0, infer_pow},
    {"PRelu", 2, 2, 1, 1, 0, infer_prelu},
    {"BitShift", 2, 2, 1, 1, 0, infer_bitshift},
    {"BitwiseAnd", 2, 2, 1, 1, 0, infer_bitwise},
    {"BitwiseOr", 2, 2, 1, 1, 0, infer_bitwise},
    {"BitwiseXor", 2, 2, 1, 1, 0, infer_bitwise},
    /* comparisons and logic */
    {"Equal", 2, 2, 1, 1, 0, infer_equal},
    {"Less", 2, 2, 1, 1, 0, infer_compare},
    {"Greater", 2, 2, 1, 1, 0, infer_compare},
    {"LessOrEqual", 2, 2, 1, 1, 0, infer_compare},
    {"GreaterOrEqual", 2, 2, 1, 1, 0, infer_compare},
    {"And", 2, 2, 1, 1, 0, infer_logical},
    {"Or", 2, 2, 1, 1, 0, infer_logical},
    {"Xor", 2, 2, 1, 1, 0, infer_logical},
    {"Not", 1, 1, 1, 1, 0, infer_not},
    /* variadic and ternary */
    {"Min", 1, -1, 1, 1, 0, infer_minmax},
    {"Max", 1, -1, 1, 1, 0, infer_minmax},
    {"Sum", 1, -1, 1, 1, 0, infer_sum},
    {"Mean", 1, -1, 1, 1, 0, infer_sum},
    {"Where", 3, 3, 1, 1, 0, infer_where},
    /* unary */
    {"IsNaN", 1, 1, 1, 1, 0, infer_isnan},
    {"IsInf", 1, 1, 1, 1, 0, infer_isnan},
    {"BitwiseNot", 1, 1, 1, 1, 0, infer_unary_int},
    {"Relu", 1, 1, 1, 1, 0, infer_unary_signed},
    {"Neg", 1, 1, 1, 1, 0, infer_unary_signed},
    {"Abs", 1, 1, 1, 1, 0, infer_unary_num},
    {"Sign", 1, 1, 1, 1, 0, infer_unary_num},
    {"Shrink", 1, 1, 1, 1, 0, infer_unary_num},
    {"Clip", 1, 3, 1, 1, 0, infer_clip},
    {"Gelu", 1, 1, 1, 1, 0, infer_gelu},
    {"LeakyRelu", 1, 1, 1, 1, 0, infer_unary_float},
    {"Sigmoid", 1, 1, 1, 1, 0, infer_unary_float},
    {"Tanh", 1, 1, 1, 1, 0, infer_unary_float},
    {"HardSigmoid", 1, 1, 1, 1, 0, infer_unary_float},
    {"HardSwish", 1, 1, 1, 1, 0, infer_unary_float},
    {"Erf", 1, 1, 1, 1, 0, infer_unary_float},
    {"Exp", 1, 1, 1, 1, 0, infer_unary_float},
    {"Log", 1, 1, 1, 1, 0, infer_unary_float},
    {"Sqrt", 1, 1, 1, 1, 0, infer_unary_float},
    {"Reciprocal", 1, 1, 1, 1, 0, infer_unary_float},
    {"Floor", 1, 1, 1, 1, 0, infer_unary_float},
    {"Ceil", 1, 1, 1, 1, 0, infer_unary_float},
    {"Round", 1, 1, 1, 1, 0, infer_unary_float},
    {"Sin", 1, 1, 1, 1, 0, infer_unary_float},
    {"Cos", 1, 1, 1, 1, 0, infer_unary_float},
    {"Tan", 1, 1, 1, 1, 0, infer_unary_float},
    {"Asin", 1, 1, 1, 1, 0, infer_unary_float},
    {"Acos", 1, 1, 1, 1, 0, infer_unary_float},
    {"Atan", 1, 1, 1, 1, 0, infer_unary_float},
    {"Sinh", 1, 1, 1, 1, 0, infer_unary_float},
    {"Cosh", 1, 1, 1, 1, 0, infer_unary_float},
    {"Asinh", 1, 1, 1, 1, 0, infer_unary_float},
    {"Acosh", 1, 1, 1, 1, 0, infer_unary_float},
    {"Atanh", 1, 1, 1, 1, 0, infer_unary_float},
    {"Elu", 1, 1, 1, 1, 0, infer_unary_float},
    {"Selu", 1, 1, 1, 1, 0, infer_unary_float},
    {"Celu", 1, 1, 1, 1, 0, infer_unary_float},
    {"Softplus", 1, 1, 1, 1, 0, infer_unary_float},
    {"Softsign", 1, 1, 1, 1, 0, infer_unary_float},
    {"ThresholdedRelu", 1, 1, 1, 1, 0, infer_unary_float},
    {"Mish", 1, 1, 1, 1, 0, infer_unary_float},
    {"Swish", 1, 1, 1, 1, 0, infer_unary_float},
    {NULL, 0, 0, 0, 0, 0, NULL},
};
