/*
 * thread_pool_openmp.c - the pool's OpenMP backend (see
 * thread_pool_openmp.h). The only file compiled with -fopenmp.
 */
#include "core/thread_pool_openmp.h"

#include <omp.h>
#include <stdatomic.h>

void kiln_openmp_chunks(int threads, int64_t n, int64_t chunk, kiln_parallel_fn fn, void *user)
{
    atomic_int_fast64_t next = 0;
#pragma omp parallel num_threads(threads) shared(next)
    {
        int thread = omp_get_thread_num();
        for (;;) {
            int64_t begin = atomic_fetch_add(&next, chunk);
            if (begin >= n)
                break;
            fn(user, begin, n - begin > chunk ? begin + chunk : n, thread);
        }
    }
}

void kiln_openmp_set_threads(int threads)
{
    omp_set_num_threads(threads);
}
