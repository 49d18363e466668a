/*
 * linalg_gemm.c - the linalg kernels' shared machinery: staging into the
 * compute type, matrix products (cblas_sgemm / cblas_dgemm for floats, an
 * exact wrap-around loop for integers) and numpy.matmul batching; a batch
 * of products is shared over the thread pool, one product per thread.
 */
#include "backends/cpu/ops/linalg_internal.h"

#include <cblas.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "backends/cpu/cpu_gemm.h"
#include "core/thread_pool.h"

kiln_la_kind kiln_la_kind_of(kiln_dtype dt)
{
    if (dt == KILN_FLOAT64)
        return KILN_LA_F64;
    return kiln_dtype_is_float(dt) ? KILN_LA_F32 : KILN_LA_I64;
}

kiln_dtype kiln_la_dtype(kiln_la_kind kind)
{
    return kind == KILN_LA_F32 ? KILN_FLOAT32 : kind == KILN_LA_F64 ? KILN_FLOAT64 : KILN_INT64;
}

size_t kiln_la_size(kiln_la_kind kind)
{
    return kind == KILN_LA_F32 ? 4 : 8;
}

/* C = beta * C (beta 0 clears, so NaN in C does not survive). */
static void scale_c(kiln_la_kind kind, const kiln_la_gemm *g, void *c)
{
    for (int64_t i = 0; i < g->m; i++)
        for (int64_t j = 0; j < g->n; j++) {
            int64_t at = i * g->ldc + j;
            if (kind == KILN_LA_F32)
                ((float *)c)[at] = g->beta == 0 ? 0.0f : (float)g->beta * ((float *)c)[at];
            else if (kind == KILN_LA_F64)
                ((double *)c)[at] = g->beta == 0 ? 0.0 : g->beta * ((double *)c)[at];
            else if (g->beta == 0)
                ((int64_t *)c)[at] = 0;
        }
}

/* Exact integer product with wrap-around (in uint64, so overflow is
 * defined); loops i, p, j so that the innermost loop runs along rows of B
 * when B is not transposed. */
static void gemm_i64(const kiln_la_gemm *g, const int64_t *a, const int64_t *b, int64_t *c)
{
    int64_t as_i = g->trans_a ? 1 : g->lda, as_p = g->trans_a ? g->lda : 1;
    int64_t bs_p = g->trans_b ? 1 : g->ldb, bs_j = g->trans_b ? g->ldb : 1;
    for (int64_t i = 0; i < g->m; i++) {
        uint64_t *crow = (uint64_t *)c + i * g->ldc;
        for (int64_t p = 0; p < g->k; p++) {
            uint64_t av = (uint64_t)a[i * as_i + p * as_p];
            const int64_t *brow = b + p * bs_p;
            for (int64_t j = 0; j < g->n; j++)
                crow[j] += av * (uint64_t)brow[j * bs_j];
        }
    }
}

static int fits_blas(const kiln_la_gemm *g)
{
    return g->m <= INT_MAX && g->n <= INT_MAX && g->k <= INT_MAX && g->lda <= INT_MAX && g->ldb <= INT_MAX &&
           g->ldc <= INT_MAX;
}

kiln_status kiln_la_gemm_run(kiln_la_kind kind, const kiln_la_gemm *g, const void *a, const void *b, void *c)
{
    if (g->m == 0 || g->n == 0)
        return KILN_OK;
    if (kind == KILN_LA_I64 && (g->alpha != 1 || (g->beta != 0 && g->beta != 1)))
        return kiln_error(KILN_ERR_INTERNAL, "integer matrix product with alpha %g, beta %g", g->alpha, g->beta);
    if (g->k == 0 || (kind == KILN_LA_I64 && g->beta == 0))
        scale_c(kind, g, c);
    if (g->k == 0)
        return KILN_OK;
    if (kind == KILN_LA_I64) {
        gemm_i64(g, a, b, c);
        return KILN_OK;
    }
    if (!fits_blas(g))
        return kiln_error(KILN_ERR_LIMIT, "matrix product of %lld x %lld by %lld x %lld is too large for BLAS",
                          (long long)g->m, (long long)g->k, (long long)g->k, (long long)g->n);
    enum CBLAS_TRANSPOSE ta = g->trans_a ? CblasTrans : CblasNoTrans, tb = g->trans_b ? CblasTrans : CblasNoTrans;
    if (kind == KILN_LA_F32)
        kiln_sgemm(g->trans_a, g->trans_b, g->m, g->n, g->k, (float)g->alpha, a, g->lda, b, g->ldb, (float)g->beta, c,
                   g->ldc);
    else
        cblas_dgemm(CblasRowMajor, ta, tb, (int)g->m, (int)g->n, (int)g->k, g->alpha, a, (int)g->lda, b, (int)g->ldb,
                    g->beta, c, (int)g->ldc);
    return KILN_OK;
}

/* Steps between consecutive matrices of an operand along each output batch
 * dim (0 where the operand broadcasts or lacks the dim). */
static void batch_steps(const kiln_tensor *t, int batch_rank, const int64_t *batch, int64_t matrix, int64_t *step)
{
    int own = t->rank > 2 ? t->rank - 2 : 0;
    int64_t s = matrix;
    for (int d = batch_rank - 1; d >= 0; d--) {
        int td = d - (batch_rank - own);
        if (td < 0) {
            step[d] = 0;
            continue;
        }
        step[d] = t->dims[td] == 1 && batch[d] != 1 ? 0 : s;
        s *= t->dims[td];
    }
}

kiln_status kiln_la_matmul_plan(const kiln_tensor *a, const kiln_tensor *b, kiln_la_matmul *p)
{
    char sa[128], sb[128];
    if (a->rank < 1 || b->rank < 1)
        return kiln_error(KILN_ERR_SHAPE, "matrix product of a scalar (ranks %d and %d)", a->rank, b->rank);
    p->m = a->rank >= 2 ? a->dims[a->rank - 2] : 1;
    p->k = a->dims[a->rank - 1];
    p->n = b->rank >= 2 ? b->dims[b->rank - 1] : 1;
    int64_t kb = b->dims[b->rank >= 2 ? b->rank - 2 : 0];
    if (kb != p->k)
        return kiln_error(KILN_ERR_SHAPE, "inner dims differ: A is %s, B is %s",
                          kiln_shape_str(a->dims, a->rank, sa, sizeof sa),
                          kiln_shape_str(b->dims, b->rank, sb, sizeof sb));
    int batch_a = a->rank > 2 ? a->rank - 2 : 0, batch_b = b->rank > 2 ? b->rank - 2 : 0;
    KILN_TRY(kiln_broadcast_shape(batch_a, a->dims, batch_b, b->dims, &p->batch_rank, p->batch));
    KILN_TRY(kiln_shape_numel(p->batch, p->batch_rank, &p->n_batch, "matrix product batch"));
    batch_steps(a, p->batch_rank, p->batch, p->m * p->k, p->a_step);
    batch_steps(b, p->batch_rank, p->batch, p->k * p->n, p->b_step);
    p->out_rank = p->batch_rank;
    memcpy(p->out_dims, p->batch, sizeof(int64_t) * (size_t)p->batch_rank);
    if (a->rank >= 2)
        p->out_dims[p->out_rank++] = p->m;
    if (b->rank >= 2)
        p->out_dims[p->out_rank++] = p->n;
    return KILN_OK;
}

kiln_status kiln_la_check_out(const kiln_tensor *out, int rank, const int64_t *dims)
{
    char so[128], sw[128];
    if (!kiln_has_shape(out, rank, dims))
        return kiln_error(KILN_ERR_SHAPE, "output has shape %s, expected %s",
                          kiln_shape_str(out->dims, out->rank, so, sizeof so),
                          kiln_shape_str(dims, rank, sw, sizeof sw));
    return KILN_OK;
}

/* A's matrices lie one after another for every output batch index and B
 * is one shared matrix: the batch folds into M. */
static int folds_into_m(const kiln_la_matmul *p)
{
    int64_t s = p->m * p->k;
    for (int d = p->batch_rank - 1; d >= 0; d--) {
        if (p->b_step[d] != 0 || (p->batch[d] != 1 && p->a_step[d] != s))
            return 0;
        s *= p->batch[d];
    }
    return 1;
}

/* Offsets of output batch index i's matrices in A and B. */
static void batch_offsets(const kiln_la_matmul *p, int64_t i, int64_t *oa, int64_t *ob)
{
    *oa = *ob = 0;
    for (int d = p->batch_rank - 1; d >= 0; d--) {
        int64_t idx = i % p->batch[d];
        i /= p->batch[d];
        *oa += idx * p->a_step[d];
        *ob += idx * p->b_step[d];
    }
}

typedef struct batch_job {
    int provider; /* the caller's matrix-product provider, for the workers too */
    const kiln_la_matmul *p;
    const kiln_la_gemm *g;
    kiln_la_kind kind;
    const char *a, *b;
    char *c;
} batch_job;

/* Products [begin, end) of the batch; each is checked to fit beforehand,
 * so none can fail. */
static void run_batch_range(void *user, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const batch_job *j = user;
    size_t es = kiln_la_size(j->kind);
    int was = kiln_sgemm_scope(j->provider);
    for (int64_t i = begin; i < end; i++) {
        int64_t oa, ob;
        batch_offsets(j->p, i, &oa, &ob);
        (void)kiln_la_gemm_run(j->kind, j->g, j->a + (size_t)oa * es, j->b + (size_t)ob * es,
                               j->c + (size_t)(i * j->p->m * j->p->n) * es);
    }
    kiln_sgemm_scope(was);
}

/* Multiply-adds a chunk of the batch loop should hold at least. */
#define BATCH_GRAIN_MACS (1 << 18)

kiln_status kiln_la_matmul_run(const kiln_la_matmul *p, kiln_la_kind kind, const void *a, const void *b, void *c)
{
    kiln_la_gemm g = {0, 0, p->m, p->n, p->k, p->k, p->n, p->n, 1.0, 0.0};
    if (p->n_batch == 0)
        return KILN_OK;
    if (folds_into_m(p)) {
        g.m = p->m * p->n_batch;
        return kiln_la_gemm_run(kind, &g, a, b, c);
    }
    if (p->n_batch == 1)
        return kiln_la_gemm_run(kind, &g, a, b, c);
    if (kind != KILN_LA_I64 && !fits_blas(&g))
        return kiln_error(KILN_ERR_LIMIT, "matrix product of %lld x %lld by %lld x %lld is too large for BLAS",
                          (long long)g.m, (long long)g.k, (long long)g.k, (long long)g.n);
    /* A batch of products: one product per thread at a time, unless a few
     * large products do better each split over the pool (kiln_sgemm). */
    double macs = (double)p->m * (double)p->n * (double)p->k;
    int threads = kiln_thread_pool_threads();
    batch_job job = {kiln_sgemm_active(), p, &g, kind, a, b, c};
    if (p->n_batch < 2 * threads && macs >= BATCH_GRAIN_MACS && kind == KILN_LA_F32) {
        run_batch_range(&job, 0, p->n_batch, 0);
        return KILN_OK;
    }
    int64_t grain = macs >= BATCH_GRAIN_MACS ? 1 : (int64_t)(BATCH_GRAIN_MACS / (macs + 1)) + 1;
    kiln_parallel_for_grain(p->n_batch, grain, run_batch_range, &job);
    return KILN_OK;
}
