/*
 * linalg.c - shape inference for the linalg op family: MatMul, Gemm,
 * Softmax / LogSoftmax / Hardmax, Einsum, MatMulInteger, QLinearMatMul, Det.
 */
#include "ir/infer/linalg_infer.h"

#include "core/dtype.h"

int kiln_la_is_matmul_type(kiln_dtype dt)
{
    return kiln_is_std_float(dt) || dt == KILN_INT32 || dt == KILN_INT64 || dt == KILN_UINT32 || dt == KILN_UINT64;
}

int kiln_la_is_einsum_type(kiln_dtype dt)
{
    return kiln_is_std_float(dt) || (kiln_dtype_is_int(dt) && !kiln_dtype_is_subbyte(dt));
}

int kiln_la_is_quant_type(kiln_dtype dt)
{
    return kiln_is_8bit(dt) || dt == KILN_FLOAT8E4M3FN || dt == KILN_FLOAT8E4M3FNUZ || dt == KILN_FLOAT8E5M2 ||
           dt == KILN_FLOAT8E5M2FNUZ;
}

/* Inputs i and j must have one dtype. */
static kiln_status same_dtype(const kiln_op_ctx *ctx, int i, int j)
{
    kiln_dtype a = ctx->in[i]->dtype, b = ctx->in[j]->dtype;
    if (a != b)
        return kiln_error(KILN_ERR_GRAPH, "%s input %d is %s but input %d is %s", ctx->node->op_type, i,
                          kiln_dtype_name(a), j, kiln_dtype_name(b));
    return KILN_OK;
}

/* numpy.matmul's output shape; rank -1 when either rank is not known. */
static kiln_status matmul_shape(const kiln_tensor *a, const kiln_tensor *b, int *rank, int64_t *dims)
{
    char sa[128], sb[128];
    if (a->rank < 0 || b->rank < 0) {
        *rank = -1;
        return KILN_OK;
    }
    if (a->rank == 0 || b->rank == 0)
        return kiln_error(KILN_ERR_SHAPE, "matrix product of a scalar (ranks %d and %d)", a->rank, b->rank);
    int64_t ka = a->dims[a->rank - 1];
    int64_t kb = b->dims[b->rank == 1 ? 0 : b->rank - 2];
    if (ka >= 0 && kb >= 0 && ka != kb)
        return kiln_error(KILN_ERR_SHAPE, "inner dims differ: A is %s, B is %s",
                          kiln_shape_str(a->dims, a->rank, sa, sizeof sa),
                          kiln_shape_str(b->dims, b->rank, sb, sizeof sb));
    int batch_a = a->rank > 2 ? a->rank - 2 : 0, batch_b = b->rank > 2 ? b->rank - 2 : 0;
    KILN_TRY(kiln_broadcast_shape(batch_a, a->dims, batch_b, b->dims, rank, dims));
    if (a->rank >= 2)
        dims[(*rank)++] = a->dims[a->rank - 2];
    if (b->rank >= 2)
        dims[(*rank)++] = b->dims[b->rank - 1];
    return KILN_OK;
}

static kiln_status infer_matmul(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(kiln_need_input(ctx, 1));
    if (!kiln_la_is_matmul_type(ctx->in[0]->dtype))
        return kiln_unsupported_dtype(ctx, "input A", ctx->in[0]->dtype);
    KILN_TRY(same_dtype(ctx, 0, 1));
    int rank;
    int64_t dims[KILN_MAX_RANK];
    KILN_TRY(matmul_shape(ctx->in[0], ctx->in[1], &rank, dims));
    kiln_infer_set(ctx, 0, ctx->in[0]->dtype, rank, dims);
    return KILN_OK;
}

/* Gemm's C against (M, N): unidirectional broadcast, or the exact shape
 * (opsets before 7 with broadcast = 0). */
static kiln_status check_gemm_bias(const kiln_tensor *c, const int64_t *mn, int exact)
{
    char sc[128];
    if (c->rank < 0)
        return KILN_OK;
    int bad = c->rank > 2 || (exact && c->rank != 2);
    for (int i = 0; i < c->rank && !bad; i++) {
        int64_t d = c->dims[i], want = mn[2 - c->rank + i];
        if (d >= 0 && want >= 0 && d != want && (exact || d != 1))
            bad = 1;
    }
    if (bad)
        return kiln_error(KILN_ERR_SHAPE, "Gemm C of shape %s does not %s (%lld, %lld)",
                          kiln_shape_str(c->dims, c->rank, sc, sizeof sc), exact ? "equal" : "broadcast to",
                          (long long)mn[0], (long long)mn[1]);
    return KILN_OK;
}

static kiln_status infer_gemm(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(kiln_need_input(ctx, 1));
    if (ctx->opset < 11)
        KILN_TRY(kiln_need_input(ctx, 2));
    const kiln_tensor *a = ctx->in[0], *b = ctx->in[1];
    if (!kiln_la_is_matmul_type(a->dtype))
        return kiln_unsupported_dtype(ctx, "input A", a->dtype);
    KILN_TRY(same_dtype(ctx, 0, 1));
    int ta = kiln_attr_int(ctx->node, "transA", 0) != 0, tb = kiln_attr_int(ctx->node, "transB", 0) != 0;
    int64_t mn[2] = {KILN_DIM_UNKNOWN, KILN_DIM_UNKNOWN}, ka = KILN_DIM_UNKNOWN, kb = KILN_DIM_UNKNOWN;
    if (a->rank >= 0) {
        if (a->rank != 2)
            return kiln_error(KILN_ERR_SHAPE, "Gemm A must have rank 2, not %d", a->rank);
        mn[0] = a->dims[ta ? 1 : 0];
        ka = a->dims[ta ? 0 : 1];
    }
    if (b->rank >= 0) {
        if (b->rank != 2)
            return kiln_error(KILN_ERR_SHAPE, "Gemm B must have rank 2, not %d", b->rank);
        mn[1] = b->dims[tb ? 0 : 1];
        kb = b->dims[tb ? 1 : 0];
    }
    if (ka >= 0 && kb >= 0 && ka != kb)
        return kiln_error(KILN_ERR_SHAPE, "Gemm inner dims differ: %lld (A) vs %lld (B)", (long long)ka, (long long)kb);
    if (ctx->n_in > 2 && ctx->in[2]) {
        KILN_TRY(same_dtype(ctx, 0, 2));
        int exact = ctx->opset < 7 && kiln_attr_int(ctx->node, "broadcast", 0) == 0;
        KILN_TRY(check_gemm_bias(ctx->in[2], mn, exact));
    }
    kiln_infer_set(ctx, 0, a->dtype, 2, mn);
    return KILN_OK;
}

kiln_status kiln_softmax_axis(const kiln_op_ctx *ctx, int *axis)
{
    int64_t a = kiln_attr_int(ctx->node, "axis", ctx->opset < 13 ? 1 : -1);
    return kiln_norm_axis(a, ctx->in[0]->rank, "axis", axis);
}

/* Softmax, LogSoftmax and Hardmax. */
static kiln_status infer_softmax(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    if (!kiln_is_std_float(ctx->in[0]->dtype))
        return kiln_unsupported_dtype(ctx, "input", ctx->in[0]->dtype);
    if (ctx->in[0]->rank >= 0) {
        int axis;
        KILN_TRY(kiln_softmax_axis(ctx, &axis));
    }
    kiln_infer_copy(ctx, 0, 0);
    return KILN_OK;
}

static kiln_status infer_det(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    const kiln_tensor *x = ctx->in[0];
    if (!kiln_is_std_float(x->dtype))
        return kiln_unsupported_dtype(ctx, "input", x->dtype);
    if (x->rank < 0) {
        kiln_infer_set(ctx, 0, x->dtype, -1, NULL);
        return KILN_OK;
    }
    if (x->rank < 2)
        return kiln_error(KILN_ERR_SHAPE, "Det input must have rank >= 2, not %d", x->rank);
    int64_t m = x->dims[x->rank - 2], n = x->dims[x->rank - 1];
    if (m >= 0 && n >= 0 && m != n)
        return kiln_error(KILN_ERR_SHAPE, "Det of non-square matrices (%lld x %lld)", (long long)m, (long long)n);
    kiln_infer_set(ctx, 0, x->dtype, x->rank - 2, x->dims);
    return KILN_OK;
}

/* Which dim of the operand K is: the last of A, the second last of B. */
static int k_dim(const kiln_tensor *operand, int is_b)
{
    return is_b && operand->rank >= 2 ? operand->rank - 2 : operand->rank - 1;
}

kiln_status kiln_quant_matmul_param(const kiln_tensor *p, const kiln_tensor *operand, int is_b, const char *what,
                                    int *rank, int64_t *dims)
{
    char sp[128], so[128];
    int64_t n = kiln_tensor_numel(p);
    *rank = -1;
    if (p->rank < 0 || operand->rank < 0 || n < 0)
        return KILN_OK;
    if (n == 1) {
        *rank = 0;
        return KILN_OK;
    }
    int r = p->rank;
    for (int i = 0; i < r && i < KILN_MAX_RANK; i++)
        dims[i] = p->dims[i];
    if (!is_b && r == 1 && operand->rank >= 2) {
        /* A's per-row vector [M] stands for [M, 1] */
        dims[1] = 1;
        r = 2;
    }
    int bad = r > operand->rank;
    int kp = r - (operand->rank - k_dim(operand, is_b));
    for (int i = 0; i < r && !bad; i++) {
        int64_t want = operand->dims[operand->rank - r + i];
        if (dims[i] >= 0 && want >= 0 && dims[i] != want && dims[i] != 1)
            bad = 1;
        if (i == kp && dims[i] != 1 && want != 1)
            bad = 1;
    }
    if (bad)
        return kiln_error(KILN_ERR_SHAPE, "%s of shape %s is neither one value nor per %s of an operand of shape %s",
                          what, kiln_shape_str(p->dims, p->rank, sp, sizeof sp), is_b ? "column" : "row",
                          kiln_shape_str(operand->dims, operand->rank, so, sizeof so));
    *rank = r;
    return KILN_OK;
}

/* An optional zero point (or a scale) of operand `op` must have its type
 * (when `same_as_op`) and fit its shape. */
static kiln_status check_quant_param(const kiln_op_ctx *ctx, int i, int op, int same_as_op, const char *what)
{
    if (i >= ctx->n_in || !ctx->in[i])
        return KILN_OK;
    if (same_as_op)
        KILN_TRY(same_dtype(ctx, op, i));
    int rank;
    int64_t dims[KILN_MAX_RANK];
    return kiln_quant_matmul_param(ctx->in[i], ctx->in[op], op != 0, what, &rank, dims);
}

static kiln_status infer_matmul_integer(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(kiln_need_input(ctx, 1));
    for (int i = 0; i < 2; i++) {
        kiln_dtype dt = ctx->in[i]->dtype;
        if (dt != KILN_INT8 && dt != KILN_UINT8)
            return kiln_unsupported_dtype(ctx, i ? "input B" : "input A", dt);
    }
    KILN_TRY(check_quant_param(ctx, 2, 0, 1, "a_zero_point"));
    KILN_TRY(check_quant_param(ctx, 3, 1, 1, "b_zero_point"));
    int rank;
    int64_t dims[KILN_MAX_RANK];
    KILN_TRY(matmul_shape(ctx->in[0], ctx->in[1], &rank, dims));
    kiln_infer_set(ctx, 0, KILN_INT32, rank, dims);
    return KILN_OK;
}

static kiln_status infer_qlinear_matmul(kiln_op_ctx *ctx)
{
    static const char *const names[8] = {"a",       "a_scale",      "a_zero_point", "b",
                                         "b_scale", "b_zero_point", "y_scale",      "y_zero_point"};
    for (int i = 0; i < 8; i++)
        KILN_TRY(kiln_need_input(ctx, i));
    static const int quantized[3] = {0, 3, 7}, scales[3] = {1, 4, 6};
    for (int j = 0; j < 3; j++) {
        kiln_dtype q = ctx->in[quantized[j]]->dtype, s = ctx->in[scales[j]]->dtype;
        if (!kiln_la_is_quant_type(q))
            return kiln_unsupported_dtype(ctx, names[quantized[j]], q);
        if (s != KILN_FLOAT32 && s != KILN_FLOAT16 && s != KILN_BFLOAT16)
            return kiln_unsupported_dtype(ctx, names[scales[j]], s);
    }
    KILN_TRY(check_quant_param(ctx, 1, 0, 0, "a_scale"));
    KILN_TRY(check_quant_param(ctx, 2, 0, 1, "a_zero_point"));
    KILN_TRY(check_quant_param(ctx, 4, 3, 0, "b_scale"));
    KILN_TRY(check_quant_param(ctx, 5, 3, 1, "b_zero_point"));
    for (int i = 6; i < 8; i++) {
        int64_t n = kiln_tensor_numel(ctx->in[i]);
        if (n >= 0 && n != 1)
            return kiln_error(KILN_ERR_SHAPE, "%s must hold one value, not %lld", names[i], (long long)n);
    }
    int rank;
    int64_t dims[KILN_MAX_RANK];
    KILN_TRY(matmul_shape(ctx->in[0], ctx->in[3], &rank, dims));
    kiln_infer_set(ctx, 0, ctx->in[7]->dtype, rank, dims);
    return KILN_OK;
}

static kiln_status infer_einsum(kiln_op_ctx *ctx)
{
    int ranks[KILN_EINSUM_MAX_INPUTS], known = 1;
    if (ctx->n_in > KILN_EINSUM_MAX_INPUTS)
        return kiln_error(KILN_ERR_UNSUPPORTED, "Einsum with %d inputs (kiln takes up to %d)", ctx->n_in,
                          KILN_EINSUM_MAX_INPUTS);
    for (int i = 0; i < ctx->n_in; i++) {
        KILN_TRY(kiln_need_input(ctx, i));
        KILN_TRY(same_dtype(ctx, 0, i));
        ranks[i] = ctx->in[i]->rank;
        known &= ranks[i] >= 0;
    }
    KILN_TRY(kiln_need_input(ctx, 0));
    kiln_dtype dt = ctx->in[0]->dtype;
    if (!kiln_la_is_einsum_type(dt))
        return kiln_unsupported_dtype(ctx, "input", dt);
    if (!known) {
        kiln_infer_set(ctx, 0, dt, -1, NULL);
        return KILN_OK;
    }
    kiln_einsum_eq eq;
    int64_t label_dims[KILN_EINSUM_MAX_LABELS], dims[KILN_MAX_RANK];
    KILN_TRY(kiln_einsum_parse(kiln_attr_string(ctx->node, "equation", NULL), ctx->n_in, ranks, &eq));
    KILN_TRY(kiln_einsum_label_dims(&eq, ctx->in, label_dims));
    for (int d = 0; d < eq.out_rank; d++)
        dims[d] = label_dims[eq.out_labels[d]];
    kiln_infer_set(ctx, 0, dt, eq.out_rank, dims);
    return KILN_OK;
}

const kiln_op_schema kiln_schemas_linalg[] = {
    {"MatMul", 2, 2, 1, 1, 0, infer_matmul},
    {"Gemm", 2, 3, 1, 1, 0, infer_gemm},
    {"Softmax", 1, 1, 1, 1, 0, infer_softmax},
    {"LogSoftmax", 1, 1, 1, 1, 0, infer_softmax},
    {"Hardmax", 1, 1, 1, 1, 0, infer_softmax},
    {"Einsum", 1, -1, 1, 1, 0, infer_einsum},
    {"MatMulInteger", 2, 4, 1, 1, 0, infer_matmul_integer},
    {"QLinearMatMul", 8, 8, 1, 1, 0, infer_qlinear_matmul},
    {"Det", 1, 1, 1, 1, 0, infer_det},
    {NULL, 0, 0, 0, 0, 0, NULL},
};
