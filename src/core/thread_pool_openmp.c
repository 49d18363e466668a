/*
 * thread_pool_openmp.c - the pool's OpenMP backend (see
 * thread_pool_openmp.h). The team is started through libgomp's entry point
 * for a parallel region, GOMP_parallel (what GCC emits for
 * `#pragma omp parallel`; part of libgomp's ABI since GCC 4.9): oneDNN's
 * Debian build runs on libgomp, and calling it directly keeps kiln free of
 * -fopenmp, whose code clang would emit for another runtime (libomp).
 */
#include "core/thread_pool_openmp.h"

#include <stdatomic.h>

/* libgomp's */
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
int omp_get_thread_num(void);
void omp_set_num_threads(int n);

typedef struct omp_job {
    atomic_int_fast64_t next; /* the first unclaimed iteration */
    int64_t n, chunk;
    kiln_parallel_fn fn;
    void *user;
} omp_job;

/* Every thread of the team, the caller too: claims chunks until none is left. */
static void region(void *arg)
{
    omp_job *j = arg;
    int thread = omp_get_thread_num();
    for (;;) {
        int64_t begin = atomic_fetch_add(&j->next, j->chunk);
        if (begin >= j->n)
            break;
        j->fn(j->user, begin, j->n - begin > j->chunk ? begin + j->chunk : j->n, thread);
    }
}

void kiln_openmp_chunks(int threads, int64_t n, int64_t chunk, kiln_parallel_fn fn, void *user)
{
    omp_job j = {0, n, chunk, fn, user};
    GOMP_parallel(region, &j, (unsigned)threads, 0); /* returns when the whole team is done */
}

void kiln_openmp_set_threads(int threads)
{
    omp_set_num_threads(threads);
}
