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
/* This thread's provider for now (kiln_sgemm_scope), or -1: `provider`. */
static _Thread_local int scoped = -1;
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
/* Tiles are multiples of these in height and width (the steps of the BLAS kernels). */
#define ROW_STEP 8
#define COL_STEP 16

typedef struct gemm_job {
    int provider; /* index into providers: the caller's, for every tile whichever thread computes it */
    int trans_a, trans_b;
    int64_t m, n, k, lda, ldb, ldc;
    float alpha, beta;
    const float *a, *b;
    float *c;
    int64_t rows, cols;   /* the tile of C each part computes */
    int64_t tiles_across; /* tiles per band of rows */
    kiln_gemm_tile_fn then;
    void *user;
} gemm_job;

static void sgemm_direct(const gemm_job *g, int64_t m, int64_t n, const float *a, const float *b, float *c)
{
#ifdef KILN_HAVE_ONEDNN
    if (!strcmp(providers[g->provider], "onednn")) {
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

/* Computes tiles [begin, end) of C, each a single-threaded product. */
static void run_tiles(void *user, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const gemm_job *g = user;
    for (int64_t t = begin; t < end; t++) {
        int64_t r0 = t / g->tiles_across * g->rows, c0 = t % g->tiles_across * g->cols;
        int64_t rows = g->m - r0 < g->rows ? g->m - r0 : g->rows, cols = g->n - c0 < g->cols ? g->n - c0 : g->cols;
        const float *a = g->trans_a ? g->a + r0 : g->a + r0 * g->lda;
        const float *b = g->trans_b ? g->b + c0 * g->ldb : g->b + c0;
        sgemm_direct(g, rows, cols, a, b, g->c + r0 * g->ldc + c0);
        if (g->then)
            g->then(g->user, r0, rows, c0, cols, g->c + r0 * g->ldc + c0, g->ldc);
    }
}

static int64_t round_up(int64_t v, int64_t step)
{
    return (v + step - 1) / step * step;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

/* Cuts C into at most `threads` tiles, bands of rows times columns: of the
 * grids pr x pc (pr * pc <= threads) whose tiles stay at least a step high
 * and wide, the one whose tiles are smallest in rows + columns, since each
 * part packs its rows of A (rows x k) and its columns of B (k x cols). */
static void choose_tiles(gemm_job *g, int threads)
{
    int64_t best = INT64_MAX;
    g->rows = g->m;
    g->cols = g->n;
    for (int pr = 1; pr <= threads; pr++) {
        int pc = threads / pr;
        int64_t rows = round_up(ceil_div(g->m, pr), ROW_STEP), cols = round_up(ceil_div(g->n, pc), COL_STEP);
        if (rows > g->m)
            rows = g->m;
        if (cols > g->n)
            cols = g->n;
        int64_t tiles = ceil_div(g->m, rows) * ceil_div(g->n, cols);
        /* fewer tiles than threads leaves threads idle: count that as a larger tile */
        int64_t cost = (rows + cols) * ceil_div(threads, tiles);
        if (cost < best) {
            best = cost;
            g->rows = rows;
            g->cols = cols;
        }
    }
    g->tiles_across = ceil_div(g->n, g->cols);
}

void kiln_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    kiln_sgemm_then(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, NULL, NULL);
}

void kiln_sgemm_then(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                     int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc, kiln_gemm_tile_fn then,
                     void *user)
{
    pthread_once(&provider_once, pick_provider);
    gemm_job g = {kiln_sgemm_active(), trans_a, trans_b, m, n, k, lda, ldb, ldc, alpha, beta, a, b, c, m, n, 1,
                  then, user};
    if (m <= 0 || n <= 0)
        return;
    int threads = kiln_thread_pool_threads();
    if (threads > 1 && (double)m * (double)n * (double)k >= MIN_SPLIT_MACS)
        choose_tiles(&g, threads);
    kiln_parallel_for(ceil_div(m, g.rows) * g.tiles_across, run_tiles, &g); /* one tile: on the caller */
}

/* One small product on the calling pool thread. */
static void prepare_on_thread(void *user, int64_t begin, int64_t end, int thread)
{
    (void)user;
    (void)thread;
    float a[16 * 16], b[16 * 16], c[16 * 16];
    for (int i = 0; i < 16 * 16; i++)
        a[i] = b[i] = (float)(i % 7) - 3.0f;
    for (int64_t t = begin; t < end; t++) {
        gemm_job g = {provider, 0, 0, 16, 16, 16, 16, 16, 16, 1.0f, 0.0f, a, b, c, 16, 16, 1, NULL, NULL};
        sgemm_direct(&g, 16, 16, a, b, c);
    }
}

int kiln_sgemm_active(void)
{
    pthread_once(&provider_once, pick_provider);
    return scoped >= 0 ? scoped : provider;
}

int kiln_sgemm_scope(int index)
{
    int was = scoped;
    scoped = index >= 0 && index < N_PROVIDERS ? index : -1;
    return was;
}

int kiln_sgemm_provider_index(const char *name)
{
    return find_provider(name);
}

void kiln_sgemm_prepare(void)
{
    pthread_once(&provider_once, pick_provider);
    /* one iteration per thread: each worker (and the caller) takes one */
    kiln_parallel_for_grain(kiln_thread_pool_threads(), 1, prepare_on_thread, NULL);
}

