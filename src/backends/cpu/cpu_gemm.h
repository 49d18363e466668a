/*
 * cpu_gemm.h - float32 matrix products on kiln's thread pool. OpenBLAS runs
 * on one thread per call (thread_pool.h); a product large enough to share
 * is cut into one slab of rows or columns per thread, each a single-threaded
 * product.
 *
 * Providers: where kiln is built with oneDNN its sgemm (JIT-compiled for
 * this CPU's ISA) computes each slab, else OpenBLAS's cblas_sgemm; the
 * environment variable KILN_GEMM=openblas or =onednn picks one.
 */
#ifndef KILN_BACKENDS_CPU_GEMM_H
#define KILN_BACKENDS_CPU_GEMM_H

#include <stdint.h>

#include "core/status.h"

/* Row-major C = alpha * op(A) * op(B) + beta * C, with op(A) m x k and
 * op(B) k x n (trans_a / trans_b: 1 when the operand is stored
 * transposed), as cblas_sgemm. */
void kiln_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

/* Called on each finished tile of C, on the thread that computed it, while
 * the tile is still in that core's cache: rows [r0, r0 + rows) and columns
 * [c0, c0 + cols) of C, whose first element is at c (row stride ldc). */
typedef void (*kiln_gemm_tile_fn)(void *user, int64_t r0, int64_t rows, int64_t c0, int64_t cols, float *c,
                                  int64_t ldc);
/* kiln_sgemm, then then(user, ...) on every tile (the whole of C when it is
 * not split): an epilogue without another pass over C. */
void kiln_sgemm_then(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                     int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc, kiln_gemm_tile_fn then,
                     void *user);

/* Does the provider's one-time setup (oneDNN compiles its kernels on the
 * first product of a process, some tens of ms; OpenBLAS sets up its
 * buffers) on every pool thread now, so that a first inference does not pay
 * it. */
void kiln_sgemm_prepare(void);

/* The providers this build has, by name ("onednn", "openblas"), and the
 * one in use; kiln_sgemm_use(name) switches (KILN_ERR_NOT_FOUND for a
 * provider this build lacks). Not while a product runs. */
int kiln_sgemm_num_providers(void);
const char *kiln_sgemm_provider(int index);
const char *kiln_sgemm_current(void);
kiln_status kiln_sgemm_use(const char *name);

/* Per layer (the matrix-product tactics): the index of provider `name`
 * (-1 when this build lacks it); kiln_sgemm_scope(index) makes the
 * calling thread's products use it (-1: the process-wide one again) and
 * returns the previous scope, to restore; kiln_sgemm_active is the index
 * this thread's products use now. A product's tiles use its caller's
 * provider on whichever thread computes them. */
int kiln_sgemm_provider_index(const char *name);
int kiln_sgemm_scope(int index);
int kiln_sgemm_active(void);

#endif
