/*
 * cpu_gemm.c - kiln_sgemm: cblas_sgemm split over the thread pool (see
 * cpu_gemm.h).
 */
#include "backends/cpu/cpu_gemm.h"

#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/thread_pool.h"

#ifdef KILN_HAVE_ONEDNN
#include <dnnl.h>
/* libgomp: oneDNN's sgemm runs on the calling thread's OpenMP team */
void omp_set_num_threads(int n);
static const char *const providers[] = {"onednn", "openblas"};
#else
static const char *const providers[] = {"openblas"};
#endif
#define N_PROVIDERS ((int)(sizeof providers / sizeof *providers))

static int provider = -1; /* index into providers */
static pthread_once_t provider_once = PTHREAD_ONCE_INIT;

static int find_provider(const char *name)
{
    for (int i = 0; name && i < N_PROVIDERS; i++)
        if (!strcmp(providers[i], name))
            return i;
    return -1;
}

static void pick_provider(void)
{
    int env = find_provider(getenv("KILN_GEMM"));
    if (provider < 0)
        provider = env >= 0 ? env : 0;
}

int kiln_sgemm_num_providers(void)
{
    return N_PROVIDERS;
}

const char *kiln_sgemm_provider(int index)
{
    return index >= 0 && index < N_PROVIDERS ? providers[index] : NULL;
}

const char *kiln_sgemm_current(void)
{
    pthread_once(&provider_once, pick_provider);
    return providers[provider];
}

kiln_status kiln_sgemm_use(const char *name)
{
    pthread_once(&provider_once, pick_provider);
    int i = find_provider(name);
    if (i < 0)
        return kiln_error(KILN_ERR_NOT_FOUND, "matrix products: no provider '%s' in this build", name ? name : "");
    provider = i;
    return KILN_OK;
}

/* Below this many multiply-adds a product runs on its caller alone. */
#define MIN_SPLIT_MACS (1 << 18)
/* Slabs are multiples of these (the shapes OpenBLAS's kernels step by). */
#define ROW_STEP 8
#define COL_STEP 16

typedef struct gemm_job {
    int trans_a, trans_b;
    int64_t m, n, k, lda, ldb, ldc;
    float alpha, beta;
    const float *a, *b;
    float *c;
    int split_rows; /* 1: slabs of rows of C; 0: of columns */
    int64_t slab;   /* rows or columns per slab */
} gemm_job;

static void sgemm_direct(const gemm_job *g, int64_t m, int64_t n, const float *a, const float *b, float *c)
{
#ifdef KILN_HAVE_ONEDNN
    if (!strcmp(providers[provider], "onednn")) {
        omp_set_num_threads(1); /* one slab per pool thread: no OpenMP team */
        if (dnnl_sgemm(g->trans_a ? 'T' : 'N', g->trans_b ? 'T' : 'N', m, n, g->k, g->alpha, a, g->lda, b, g->ldb,
                       g->beta, c, g->ldc) == dnnl_success)
            return;
        /* oneDNN refused (it checks its arguments): OpenBLAS computes the same product */
    }
#endif
    cblas_sgemm(CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans, g->trans_b ? CblasTrans : CblasNoTrans,
                (blasint)m, (blasint)n, (blasint)g->k, g->alpha, a, (blasint)g->lda, b, (blasint)g->ldb, g->beta, c,
                (blasint)g->ldc);
}

static void run_slabs(void *user, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const gemm_job *g = user;
    for (int64_t s = begin; s < end; s++) {
        int64_t lo = s * g->slab;
        if (g->split_rows) {
            int64_t rows = g->m - lo < g->slab ? g->m - lo : g->slab;
            const float *a = g->trans_a ? g->a + lo : g->a + lo * g->lda;
            sgemm_direct(g, rows, g->n, a, g->b, g->c + lo * g->ldc);
        } else {
            int64_t cols = g->n - lo < g->slab ? g->n - lo : g->slab;
            const float *b = g->trans_b ? g->b + lo * g->ldb : g->b + lo;
            sgemm_direct(g, g->m, cols, g->a, b, g->c + lo);
        }
    }
}

static int64_t round_up(int64_t v, int64_t step)
{
    return (v + step - 1) / step * step;
}

void kiln_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    gemm_job g = {trans_a, trans_b, m, n, k, lda, ldb, ldc, alpha, beta, a, b, c, 1, m};
    pthread_once(&provider_once, pick_provider);
    int threads = kiln_thread_pool_threads();
    if (threads == 1 || m <= 0 || n <= 0 || (double)m * (double)n * (double)k < MIN_SPLIT_MACS) {
        if (m > 0 && n > 0)
            sgemm_direct(&g, m, n, a, b, c);
        return;
    }
    /* cut the longer side of C (rows when the slabs stay at least a step tall) */
    g.split_rows = m >= n || n < COL_STEP * threads ? m >= ROW_STEP * 2 : 0;
    if (!g.split_rows && n < COL_STEP * 2) {
        sgemm_direct(&g, m, n, a, b, c);
        return;
    }
    int64_t len = g.split_rows ? m : n, step = g.split_rows ? ROW_STEP : COL_STEP;
    g.slab = round_up((len + threads - 1) / threads, step);
    kiln_parallel_for((len + g.slab - 1) / g.slab, run_slabs, &g);
}
