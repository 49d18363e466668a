/*
 * linalg_internal.h - private to the linalg family's CPU kernels: the
 * element type a kernel computes in (inputs and outputs are staged into it
 * with cpu_util.h), matrix products (OpenBLAS for floats, exact loops for
 * integers) and numpy.matmul's batch broadcasting.
 */
#ifndef KILN_BACKENDS_CPU_OPS_LINALG_INTERNAL_H
#define KILN_BACKENDS_CPU_OPS_LINALG_INTERNAL_H

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_util.h"
#include "ir/infer/linalg_infer.h"

/* What a kernel computes in: float32 (for float16, bfloat16 and float32),
 * float64, or int64 with two's-complement wrap-around (every integer type:
 * the low bits of the result are exact). */
typedef enum kiln_la_kind { KILN_LA_F32, KILN_LA_F64, KILN_LA_I64 } kiln_la_kind;

kiln_la_kind kiln_la_kind_of(kiln_dtype dt);
/* FLOAT32, FLOAT64 or INT64. */
kiln_dtype kiln_la_dtype(kiln_la_kind kind);
size_t kiln_la_size(kiln_la_kind kind);

/* C = alpha * op(A) * op(B) + beta * C with row-major m x k op(A), k x n
 * op(B) and m x n C; op transposes when trans_*. For KILN_LA_I64 alpha must
 * be 1 and beta 0 or 1. */
typedef struct kiln_la_gemm {
    int trans_a, trans_b;
    int64_t m, n, k;
    int64_t lda, ldb, ldc;
    double alpha, beta;
} kiln_la_gemm;

kiln_status kiln_la_gemm_run(kiln_la_kind kind, const kiln_la_gemm *g, const void *a, const void *b, void *c);

/* numpy.matmul of an A and a B shape: 1-D operands, broadcast batch dims. */
typedef struct kiln_la_matmul {
    int batch_rank;
    int64_t batch[KILN_MAX_RANK];
    int64_t a_step[KILN_MAX_RANK], b_step[KILN_MAX_RANK]; /* elements per batch index; 0 when broadcast */
    int64_t m, n, k, n_batch;
    int out_rank;
    int64_t out_dims[KILN_MAX_RANK];
} kiln_la_matmul;

kiln_status kiln_la_matmul_plan(const kiln_tensor *a, const kiln_tensor *b, kiln_la_matmul *p);
/* Requires out to have the plan's shape. */
kiln_status kiln_la_check_out(const kiln_tensor *out, int rank, const int64_t *dims);
/* c = a @ b for contiguous a, b, c in the kind's type. */
kiln_status kiln_la_matmul_run(const kiln_la_matmul *p, kiln_la_kind kind, const void *a, const void *b, void *c);

/* linalg_quant.c */
kiln_status kiln_cpu_matmul_integer(kiln_op_ctx *ctx);
kiln_status kiln_cpu_qlinear_matmul(kiln_op_ctx *ctx);
/* linalg_softmax.c */
kiln_status kiln_cpu_softmax(kiln_op_ctx *ctx);
kiln_status kiln_cpu_log_softmax(kiln_op_ctx *ctx);
kiln_status kiln_cpu_hardmax(kiln_op_ctx *ctx);
/* linalg_einsum.c */
kiln_status kiln_cpu_einsum(kiln_op_ctx *ctx);

#endif
