/*
 * test_thread_pool.c - the CPU thread pool and what runs on it: the thread
 * count through the public API (default, explicit, bad values), parallel
 * fors that cover every iteration exactly once (with and without a grain),
 * and kiln_sgemm, the pool-split float32 product, against a float64
 * reference on fresh random matrices at 1 and several threads, in every
 * transpose combination, with C poisoned before a beta = 0 product, for
 * every provider the build has (oneDNN, OpenBLAS).
 */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/cpu/cpu_gemm.h"
#include "core/thread_pool.h"
#include "kiln.h"
#include "test_util.h"

static uint64_t rng_state;

static double uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static void test_thread_count(void)
{
    int def = kiln_thread_pool_default_threads();
    CHECK(def >= 1);
    CHECK(kiln_get_threads() >= 1);
    CHECK(kiln_set_threads(3) == KILN_OK && kiln_get_threads() == 3);
    CHECK(kiln_set_threads(0) == KILN_OK && kiln_get_threads() == def);
    CHECK_ERR(kiln_set_threads(-1), KILN_ERR_INVALID_ARGUMENT, "kiln_set_threads");
    CHECK_ERR(kiln_set_threads(100000), KILN_ERR_INVALID_ARGUMENT, "outside");
    CHECK(kiln_set_threads(1) == KILN_OK && kiln_get_threads() == 1);
}

typedef struct cover {
    atomic_int *hits;
    atomic_int max_thread;
    atomic_int_fast64_t min_chunk;
} cover;

static void mark(void *user, int64_t begin, int64_t end, int thread)
{
    cover *c = user;
    for (int64_t i = begin; i < end; i++)
        atomic_fetch_add(&c->hits[i], 1);
    int_fast64_t low = atomic_load(&c->min_chunk);
    while (end - begin < low && !atomic_compare_exchange_weak(&c->min_chunk, &low, end - begin))
        ;
    int m = atomic_load(&c->max_thread);
    while (thread > m && !atomic_compare_exchange_weak(&c->max_thread, &m, thread))
        ;
}

static void test_parallel_for(void)
{
    const int64_t sizes[] = {1, 2, 7, 64, 1000, 12345};
    for (int threads = 1; threads <= 4; threads += 3) {
        CHECK(kiln_set_threads(threads) == KILN_OK);
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            for (int grain = 0; grain <= 1; grain++) {
                int64_t n = sizes[s];
                cover c = {calloc((size_t)n, sizeof(atomic_int)), 0, INT64_MAX};
                if (grain)
                    kiln_parallel_for_grain(n, 500, mark, &c);
                else
                    kiln_parallel_for(n, mark, &c);
                int once = 1;
                for (int64_t i = 0; i < n; i++)
                    once &= atomic_load(&c.hits[i]) == 1;
                CHECK(once);
                CHECK(atomic_load(&c.max_thread) < threads);
                /* with a grain, every chunk but the last holds >= 500 iterations; small loops stay whole */
                if (grain && n < 1000)
                    CHECK(atomic_load(&c.min_chunk) == n && atomic_load(&c.max_thread) == 0);
                free(c.hits);
            }
        }
    }
    kiln_parallel_for(0, mark, NULL); /* nothing to run, nothing touched */
}

/* Many short parallel fors back to back, more threads than this machine may
 * have cores, with sizes that change every time: workers wake late, find a
 * newer job or none, and must never run a chunk of one job with another's
 * function or count a chunk twice. Each job adds its own tag to every
 * element: after all of them each element holds the sum of the tags. */
typedef struct tagged {
    atomic_int_fast64_t *sum;
    int64_t tag;
} tagged;

static void add_tag(void *user, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const tagged *t = user;
    for (int64_t i = begin; i < end; i++)
        atomic_fetch_add(&t->sum[i], t->tag);
}

static void test_back_to_back(void)
{
    enum { N = 300, JOBS = 20000 };
    atomic_int_fast64_t *sum = calloc(N, sizeof *sum);
    int64_t want[N] = {0};
    CHECK(sum && kiln_set_threads(6) == KILN_OK);
    for (int j = 0; sum && j < JOBS; j++) {
        tagged t = {sum, j + 1};
        int64_t n = 1 + (int64_t)((uniform() + 1.0) * 0.5 * (N - 1)); /* 1..N: some run on the caller alone */
        kiln_parallel_for_grain(n, 1 + j % 3, add_tag, &t);
        for (int64_t i = 0; i < n; i++)
            want[i] += j + 1;
    }
    int same = sum != NULL;
    for (int i = 0; sum && i < N; i++)
        same &= atomic_load(&sum[i]) == want[i];
    CHECK(same);
    free(sum);
}

/* A parallel for issued from inside another's chunk runs on that chunk's
 * thread alone, as one call numbered 0 (its own scratch is its own),
 * whichever backend the pool has. */
typedef struct nested {
    atomic_int_fast64_t covered, calls;
    atomic_int nonzero_thread;
} nested;

static void inner(void *user, int64_t begin, int64_t end, int thread)
{
    nested *nest = user;
    atomic_fetch_add(&nest->covered, end - begin);
    atomic_fetch_add(&nest->calls, 1);
    if (thread != 0)
        atomic_store(&nest->nonzero_thread, 1);
}

static void outer(void *user, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    for (int64_t i = begin; i < end; i++)
        kiln_parallel_for(1000, inner, user);
}

static void test_nested(void)
{
    nested nest = {0, 0, 0};
    CHECK(kiln_set_threads(4) == KILN_OK);
    kiln_parallel_for(64, outer, &nest);
    CHECK(atomic_load(&nest.covered) == 64 * 1000);
    CHECK(atomic_load(&nest.calls) == 64);
    CHECK(atomic_load(&nest.nonzero_thread) == 0);
}

/* A holder of the pool (oneDNN's run) gets every thread; while it holds
 * the pool, another holder gets 1 and a parallel for runs on its caller
 * alone; after the release both get the pool again. */
static void test_acquire(void)
{
    CHECK(kiln_set_threads(4) == KILN_OK);
    CHECK(kiln_thread_pool_acquire() == 4);
    CHECK(kiln_thread_pool_acquire() == 1);
    nested nest = {0, 0, 0};
    kiln_parallel_for(1000, inner, &nest);
    CHECK(atomic_load(&nest.calls) == 1 && atomic_load(&nest.covered) == 1000);
    kiln_thread_pool_release();
    CHECK(kiln_thread_pool_acquire() == 4);
    kiln_thread_pool_release();
    cover c = {calloc(1000, sizeof(atomic_int)), 0, INT64_MAX};
    kiln_parallel_for(1000, mark, &c);
    CHECK(atomic_load(&c.min_chunk) < 1000); /* split again */
    free(c.hits);
    CHECK(kiln_set_threads(1) == KILN_OK && kiln_thread_pool_acquire() == 1);
}

/* KILN_THREAD_POOL=pthreads keeps kiln's own workers in every build. */
static void test_backend_choice(void)
{
    const char *pool = getenv("KILN_THREAD_POOL");
    if (pool && !strcmp(pool, "pthreads"))
        CHECK(!kiln_thread_pool_openmp());
    printf("pool: %s\n", kiln_thread_pool_openmp() ? "OpenMP" : "pthreads");
}

/* Relative L2 error of kiln_sgemm against a float64 product. */
static double gemm_error(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, float beta)
{
    int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 2; /* padded leading dims */
    int64_t arows = ta ? k : m, brows = tb ? n : k;
    float *a = malloc(sizeof(float) * (size_t)(arows * lda));
    float *b = malloc(sizeof(float) * (size_t)(brows * ldb));
    float *c = malloc(sizeof(float) * (size_t)(m * ldc));
    double *c0 = malloc(sizeof(double) * (size_t)(m * ldc));
    for (int64_t i = 0; i < arows * lda; i++)
        a[i] = (float)uniform();
    for (int64_t i = 0; i < brows * ldb; i++)
        b[i] = (float)uniform();
    for (int64_t i = 0; i < m * ldc; i++) {
        c[i] = beta == 0 ? NAN : (float)uniform(); /* poisoned: beta 0 must not read C */
        c0[i] = c[i];
    }
    kiln_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    double num = 0, den = 0, pad_ok = 1;
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t p = 0; p < k; p++)
                s += (double)(ta ? a[p * lda + i] : a[i * lda + p]) * (double)(tb ? b[j * ldb + p] : b[p * ldb + j]);
            double ref = alpha * s + (beta == 0 ? 0.0 : beta * c0[i * ldc + j]);
            num += (c[i * ldc + j] - ref) * (c[i * ldc + j] - ref);
            den += ref * ref;
        }
        for (int64_t j = n; j < ldc; j++) /* the padding of each row is left alone */
            pad_ok = pad_ok && (isnan(c0[i * ldc + j]) ? isnan(c[i * ldc + j]) : c[i * ldc + j] == c0[i * ldc + j]);
    }
    free(a);
    free(b);
    free(c);
    free(c0);
    double err = sqrt(num / (den > 0 ? den : 1));
    return pad_ok && !isnan(err) ? err : INFINITY;
}

static void test_sgemm(void)
{
    /* shapes below and above the split threshold, tall, wide, odd sizes */
    const int64_t shapes[][3] = {{5, 7, 3}, {64, 64, 64}, {300, 40, 50}, {17, 900, 33}, {129, 130, 70}, {8, 4000, 16}};
    for (int threads = 1; threads <= 4; threads += threads == 1 ? 2 : 1) { /* 1, 3 and 4: rows x columns tiles */
        CHECK(kiln_set_threads(threads) == KILN_OK);
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            for (int t = 0; t < 4; t++) {
                double e1 = gemm_error(t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2], 1.0f, 0.0f);
                double e2 = gemm_error(t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2], 0.5f, 1.5f);
                CHECK(e1 <= 1e-5);
                CHECK(e2 <= 1e-5);
                if (e1 > 1e-5 || e2 > 1e-5)
                    fprintf(stderr, "sgemm %lldx%lldx%lld trans %d threads %d: errors %g %g\n", (long long)shapes[s][0],
                            (long long)shapes[s][1], (long long)shapes[s][2], t, threads, e1, e2);
            }
    }
}

/* kiln_sgemm_then: the tiles handed to the callback cover C exactly once,
 * each already computed (here: C = A * B of ones, so every element is k)
 * and addressed at its own rows and columns. */
typedef struct tile_check {
    atomic_int *seen;
    int64_t n, k, ldc;
    const float *c;
    atomic_int bad;
} tile_check;

static void check_tile(void *user, int64_t r0, int64_t rows, int64_t c0, int64_t cols, float *c, int64_t ldc)
{
    tile_check *t = user;
    if (ldc != t->ldc || c != t->c + r0 * ldc + c0)
        atomic_store(&t->bad, 1);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < cols; j++) {
            atomic_fetch_add(&t->seen[(r0 + r) * t->n + c0 + j], 1);
            if (c[r * ldc + j] != (float)t->k)
                atomic_store(&t->bad, 1);
            c[r * ldc + j] = -1; /* what an epilogue would do: the caller sees it */
        }
}

static void test_sgemm_then(void)
{
    const int64_t m = 200, n = 300, k = 40, ldc = n + 3;
    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n), *c = malloc(sizeof(float) * m * ldc);
    atomic_int *seen = calloc((size_t)(m * n), sizeof *seen);
    for (int64_t i = 0; i < m * k; i++)
        a[i] = 1;
    for (int64_t i = 0; i < k * n; i++)
        b[i] = 1;
    for (int threads = 1; threads <= 4; threads += 3) {
        CHECK(kiln_set_threads(threads) == KILN_OK);
        memset(seen, 0, sizeof *seen * (size_t)(m * n));
        tile_check t = {seen, n, k, ldc, c, 0};
        kiln_sgemm_then(0, 0, m, n, k, 1.0f, a, k, b, n, 0.0f, c, ldc, check_tile, &t);
        int once = 1, done = 1;
        for (int64_t i = 0; i < m * n; i++)
            once &= atomic_load(&seen[i]) == 1;
        for (int64_t r = 0; r < m; r++)
            for (int64_t j = 0; j < n; j++)
                done &= c[r * ldc + j] == -1;
        CHECK(once && done && !atomic_load(&t.bad));
    }
    free(a);
    free(b);
    free(c);
    free(seen);
}

/* Every provider this build has computes the same products. */
static void test_sgemm_providers(void)
{
    const char *was = kiln_sgemm_current();
    CHECK(kiln_sgemm_num_providers() >= 1 && was != NULL);
    for (int p = 0; p < kiln_sgemm_num_providers(); p++) {
        CHECK(kiln_sgemm_use(kiln_sgemm_provider(p)) == KILN_OK);
        CHECK(!strcmp(kiln_sgemm_current(), kiln_sgemm_provider(p)));
        printf("sgemm provider %s\n", kiln_sgemm_current());
        test_sgemm();
    }
    CHECK_ERR(kiln_sgemm_use("mkl"), KILN_ERR_NOT_FOUND, "no provider 'mkl'");
    CHECK(kiln_sgemm_use(was) == KILN_OK);
}

int main(void)
{
    rng_state = (uint64_t)time(NULL) * 2654435761u + 1;
    printf("seed %llu\n", (unsigned long long)rng_state);
    test_thread_count();
    test_parallel_for();
    test_back_to_back();
    test_nested();
    test_acquire();
    test_backend_choice();
    test_sgemm_providers();
    test_sgemm_then();
    return test_summary();
}
