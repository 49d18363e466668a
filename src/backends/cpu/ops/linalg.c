/*
 * linalg.c - CPU reference kernels for the linalg op family: MatMul, Gemm
 * and Det here, the rest in linalg_*.c; and the family's kernel table.
 */
#include "backends/cpu/ops/linalg_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Inputs 0..n_in-1 that are present and the output share one allowed dtype. */
static kiln_status check_types(const kiln_op_ctx *ctx, int n_in)
{
    kiln_dtype dt = ctx->in[0]->dtype;
    if (!kiln_la_is_matmul_type(dt))
        return kiln_unsupported_dtype(ctx, "input A", dt);
    for (int i = 1; i < n_in && i < ctx->n_in; i++)
        if (ctx->in[i] && ctx->in[i]->dtype != dt)
            return kiln_error(KILN_ERR_GRAPH, "input %d is %s, input 0 is %s", i, kiln_dtype_name(ctx->in[i]->dtype),
                              kiln_dtype_name(dt));
    if (ctx->out[0]->dtype != dt)
        return kiln_error(KILN_ERR_GRAPH, "output is %s, input 0 is %s", kiln_dtype_name(ctx->out[0]->dtype),
                          kiln_dtype_name(dt));
    return KILN_OK;
}

static kiln_status run_matmul(kiln_op_ctx *ctx)
{
    kiln_tensor *y = ctx->out[0];
    kiln_la_matmul p;
    KILN_TRY(check_types(ctx, 2));
    KILN_TRY(kiln_la_matmul_plan(ctx->in[0], ctx->in[1], &p));
    KILN_TRY(kiln_la_check_out(y, p.out_rank, p.out_dims));
    kiln_la_kind kind = kiln_la_kind_of(y->dtype);
    kiln_dtype dt = kiln_la_dtype(kind);
    const void *a = NULL, *b = NULL;
    void *c = NULL, *own_a = NULL, *own_b = NULL, *own_c = NULL;
    kiln_status st = kiln_stage_in(ctx->in[0], dt, ctx->max_bytes, &a, &own_a);
    if (st == KILN_OK)
        st = kiln_stage_in(ctx->in[1], dt, ctx->max_bytes, &b, &own_b);
    if (st == KILN_OK)
        st = kiln_stage_out(y, dt, ctx->max_bytes, &c, &own_c);
    if (st == KILN_OK)
        st = kiln_la_matmul_run(&p, kind, a, b, c);
    kiln_stage_out_end(y, dt, own_c, st);
    free(own_a);
    free(own_b);
    return st;
}

/* Gemm's C read as (M, N): element (i, j) is at i * row_step + j * col_step. */
typedef struct gemm_bias {
    const void *data;
    int64_t row_step, col_step;
} gemm_bias;

static kiln_status bias_steps(const kiln_tensor *c, int64_t m, int64_t n, gemm_bias *bias)
{
    char sc[128];
    int64_t cm = c->rank == 2 ? c->dims[0] : 1, cn = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
    if (c->rank > 2 || (cm != 1 && cm != m) || (cn != 1 && cn != n))
        return kiln_error(KILN_ERR_SHAPE, "Gemm C of shape %s does not broadcast to (%lld, %lld)",
                          kiln_shape_str(c->dims, c->rank, sc, sizeof sc), (long long)m, (long long)n);
    bias->col_step = cn == 1 ? 0 : 1;
    bias->row_step = cm == 1 ? 0 : cn;
    return KILN_OK;
}

/* y = beta * C, broadcast; integers take C as is (beta is 1 then). */
static void fill_bias(kiln_la_kind kind, const gemm_bias *bias, double beta, int64_t m, int64_t n, void *y)
{
    if (kind == KILN_LA_F32 && bias->col_step == 1) {
        /* a row of C per row of Y: the common (N) bias of a dense layer */
        const float *src = bias->data;
        float fb = (float)beta, *dst = y;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                dst[i * n + j] = fb * src[i * bias->row_step + j];
        return;
    }
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            int64_t at = i * bias->row_step + j * bias->col_step, o = i * n + j;
            if (kind == KILN_LA_F32)
                ((float *)y)[o] = (float)beta * ((const float *)bias->data)[at];
            else if (kind == KILN_LA_F64)
                ((double *)y)[o] = beta * ((const double *)bias->data)[at];
            else
                ((int64_t *)y)[o] = ((const int64_t *)bias->data)[at];
        }
}

/* Integer Gemm with alpha != 1 or beta other than 0 and 1: y holds A'B'
 * exactly; scale in float64 as the ONNX reference does. */
static void scale_int_result(const gemm_bias *bias, double alpha, double beta, int64_t m, int64_t n, int64_t *y)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double v = alpha * (double)y[i * n + j];
            if (bias->data)
                v += beta * (double)((const int64_t *)bias->data)[i * bias->row_step + j * bias->col_step];
            y[i * n + j] = kiln_f64_to_i64_sat(v);
        }
}

/* Runs Gemm on staged operands; g describes op(A) op(B). */
static kiln_status gemm_compute(kiln_la_kind kind, kiln_la_gemm *g, const void *a, const void *b, const gemm_bias *bias,
                                void *y)
{
    double alpha = g->alpha, beta = g->beta;
    int exact = kind != KILN_LA_I64 || (alpha == 1 && (!bias->data || beta == 1));
    g->beta = 0;
    if (exact && bias->data) {
        fill_bias(kind, bias, beta, g->m, g->n, y);
        g->beta = 1;
    }
    if (!exact)
        g->alpha = 1;
    KILN_TRY(kiln_la_gemm_run(kind, g, a, b, y));
    if (!exact)
        scale_int_result(bias, alpha, beta, g->m, g->n, y);
    return KILN_OK;
}

/* Gemm's attributes and shapes: g describes op(A) op(B) into Y, bias the
 * broadcast of C (data still NULL; no bias when C is absent or beta is 0). */
static kiln_status gemm_plan(const kiln_op_ctx *ctx, kiln_la_gemm *g, gemm_bias *bias)
{
    const kiln_tensor *ta = ctx->in[0], *tb = ctx->in[1];
    const kiln_tensor *tc = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (ta->rank != 2 || tb->rank != 2)
        return kiln_error(KILN_ERR_SHAPE, "Gemm A and B must have rank 2 (got %d and %d)", ta->rank, tb->rank);
    g->trans_a = kiln_attr_int(ctx->node, "transA", 0) != 0;
    g->trans_b = kiln_attr_int(ctx->node, "transB", 0) != 0;
    g->alpha = kiln_attr_float(ctx->node, "alpha", 1.0f);
    g->beta = kiln_attr_float(ctx->node, "beta", 1.0f);
    g->m = ta->dims[g->trans_a ? 1 : 0];
    g->k = ta->dims[g->trans_a ? 0 : 1];
    g->n = tb->dims[g->trans_b ? 0 : 1];
    if (tb->dims[g->trans_b ? 1 : 0] != g->k)
        return kiln_error(KILN_ERR_SHAPE, "Gemm inner dims differ: %lld (A) vs %lld (B)", (long long)g->k,
                          (long long)tb->dims[g->trans_b ? 1 : 0]);
    g->lda = ta->dims[1];
    g->ldb = tb->dims[1];
    g->ldc = g->n;
    int64_t mn[2] = {g->m, g->n};
    KILN_TRY(kiln_la_check_out(ctx->out[0], 2, mn));
    memset(bias, 0, sizeof *bias);
    if (tc && g->beta != 0)
        KILN_TRY(bias_steps(tc, g->m, g->n, bias));
    return KILN_OK;
}

static kiln_status run_gemm(kiln_op_ctx *ctx)
{
    kiln_tensor *y = ctx->out[0];
    kiln_la_gemm g;
    gemm_bias bias;
    KILN_TRY(check_types(ctx, 3));
    KILN_TRY(gemm_plan(ctx, &g, &bias));
    int has_bias = ctx->n_in > 2 && ctx->in[2] && g.beta != 0;
    kiln_la_kind kind = kiln_la_kind_of(y->dtype);
    kiln_dtype dt = kiln_la_dtype(kind);
    const void *a = NULL, *b = NULL;
    void *c = NULL, *own_a = NULL, *own_b = NULL, *own_bias = NULL, *own_y = NULL;
    kiln_status st = kiln_stage_in(ctx->in[0], dt, ctx->max_bytes, &a, &own_a);
    if (st == KILN_OK)
        st = kiln_stage_in(ctx->in[1], dt, ctx->max_bytes, &b, &own_b);
    if (st == KILN_OK && has_bias)
        st = kiln_stage_in(ctx->in[2], dt, ctx->max_bytes, &bias.data, &own_bias);
    if (st == KILN_OK)
        st = kiln_stage_out(y, dt, ctx->max_bytes, &c, &own_y);
    if (st == KILN_OK)
        st = gemm_compute(kind, &g, a, b, &bias, c);
    kiln_stage_out_end(y, dt, own_y, st);
    free(own_a);
    free(own_b);
    free(own_bias);
    return st;
}

/* Determinant by LU decomposition with partial pivoting; overwrites a. */
static double det_lu(double *a, int64_t n)
{
    double det = 1.0;
    for (int64_t c = 0; c < n; c++) {
        int64_t piv = c;
        for (int64_t r = c + 1; r < n; r++)
            if (fabs(a[r * n + c]) > fabs(a[piv * n + c]))
                piv = r;
        if (a[piv * n + c] == 0.0)
            return 0.0;
        if (piv != c) {
            for (int64_t j = 0; j < n; j++) {
                double t = a[c * n + j];
                a[c * n + j] = a[piv * n + j];
                a[piv * n + j] = t;
            }
            det = -det;
        }
        double d = a[c * n + c];
        det *= d;
        for (int64_t r = c + 1; r < n; r++) {
            double f = a[r * n + c] / d;
            for (int64_t j = c + 1; j < n; j++)
                a[r * n + j] -= f * a[c * n + j];
        }
    }
    return det;
}

/* Det of every [n, n] matrix of x, computed in float64. */
static kiln_status run_det(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0];
    kiln_tensor *y = ctx->out[0];
    kiln_dtype dt = x->dtype;
    if (!kiln_is_std_float(dt) || y->dtype != dt)
        return kiln_unsupported_dtype(ctx, "input", dt);
    if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2])
        return kiln_error(KILN_ERR_SHAPE, "Det needs square matrices in the last two dims");
    KILN_TRY(kiln_la_check_out(y, x->rank - 2, x->dims));
    int64_t n = x->dims[x->rank - 1], count;
    double *a, *dets;
    KILN_TRY(kiln_shape_numel(x->dims, x->rank - 2, &count, "Det batch"));
    KILN_TRY(kiln_alloc_elems(KILN_FLOAT64, count, ctx->max_bytes, "Det results", (void **)&dets));
    kiln_status st = kiln_to_f64(x, ctx->max_bytes, &a);
    if (st == KILN_OK) {
        for (int64_t i = 0; i < count; i++)
            dets[i] = det_lu(a + i * n * n, n);
        kiln_from_f64(y, dets, count);
        free(a);
    }
    free(dets);
    return st;
}

const kiln_cpu_kernel kiln_cpu_linalg[] = {
    {"MatMul", run_matmul},
    {"Gemm", run_gemm},
    {"Softmax", kiln_cpu_softmax},
    {"LogSoftmax", kiln_cpu_log_softmax},
    {"Hardmax", kiln_cpu_hardmax},
    {"Einsum", kiln_cpu_einsum},
    {"MatMulInteger", kiln_cpu_matmul_integer},
    {"QLinearMatMul", kiln_cpu_qlinear_matmul},
    {"Det", run_det},
    {NULL, NULL},
};
