/*
 * thread_pool.h - one process-wide pool of worker threads and a parallel
 * for over it. The pool starts empty (everything runs on the caller) until
 * kiln_thread_pool_set_threads; a parallel for issued while another is in
 * flight (another thread's run) runs on its caller alone.
 */
#ifndef KILN_CORE_THREAD_POOL_H
#define KILN_CORE_THREAD_POOL_H

#include <stdint.h>

#include "core/status.h"

/* Runs the iterations [begin, end) on thread number `thread` (0: the
 * caller; below kiln_thread_pool_threads()), e.g. to pick its scratch. */
typedef void (*kiln_parallel_fn)(void *user, int64_t begin, int64_t end, int thread);

/* Uses n threads (the caller and n - 1 workers) for parallel fors and for
 * OpenBLAS; n = 1 runs everything on the caller. Must not be called while
 * a parallel for runs. */
kiln_status kiln_thread_pool_set_threads(int n);
/* The threads a parallel for uses (1 when the pool is empty). */
int kiln_thread_pool_threads(void);
/* fn over [0, n), in chunks shared by the caller and the workers; returns
 * when every iteration has run. */
void kiln_parallel_for(int64_t n, kiln_parallel_fn fn, void *user);

#endif
