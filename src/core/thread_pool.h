/*
 * thread_pool.h - one process-wide pool of worker threads and a parallel
 * for over it. Every multithreaded kernel runs on this pool; OpenBLAS is
 * kept to one thread and large products are split over the pool instead
 * (kiln_sgemm), so that two pools never compete for the cores.
 *
 * The pool starts with the default thread count (the CPUs this process may
 * run on) the first time anything asks for it, unless
 * kiln_thread_pool_set_threads chose a count first. A parallel for issued
 * while another is in flight (another thread's run) runs on its caller
 * alone. Workers spin briefly after a job before they sleep (100 us, or
 * KILN_SPIN_US from the environment when the pool starts), so that the many
 * short parallel loops of one inference do not each pay a wake-up.
 *
 * Where kiln is built with oneDNN, whose Debian build threads with OpenMP,
 * the pool is an OpenMP team instead (unless KILN_THREAD_POOL=pthreads):
 * kiln's loops and oneDNN's primitives then share one set of threads, and
 * libgomp's spin policy (OMP_WAIT_POLICY, GOMP_SPINCOUNT) applies to both.
 */
#ifndef KILN_CORE_THREAD_POOL_H
#define KILN_CORE_THREAD_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

/* Runs the iterations [begin, end) on thread number `thread` (0: the
 * caller; below kiln_thread_pool_threads()), e.g. to pick its scratch. */
typedef void (*kiln_parallel_fn)(void *user, int64_t begin, int64_t end, int thread);

/* Uses n threads (the caller and n - 1 workers) for parallel fors; n = 0
 * means the default (kiln_thread_pool_default_threads). Must not be called
 * while a parallel for runs. */
kiln_status kiln_thread_pool_set_threads(int n);
/* The threads a parallel for uses; starts the default pool when none was
 * chosen yet. */
int kiln_thread_pool_threads(void);
/* The CPUs this process may run on (its affinity mask), at least 1. */
int kiln_thread_pool_default_threads(void);
/* Whether parallel fors run on OpenMP (see the top of the file); fixed by
 * the environment at the first call. */
bool kiln_thread_pool_openmp(void);
/* For a caller that runs its own parallel code on the cores (oneDNN's
 * primitives on OpenMP): takes the pool as a parallel for does and returns
 * the threads the caller may use, the pool's count; returns 1 and takes
 * nothing while another thread's parallel for (or holder) has the pool, or
 * when the pool has one thread. Kiln's idle workers sleep meanwhile rather
 * than spin. Call kiln_thread_pool_release() after, when it returned more
 * than 1. */
int kiln_thread_pool_acquire(void);
void kiln_thread_pool_release(void);
/* fn over [0, n), in chunks shared by the caller and the workers; returns
 * when every iteration has run. */
void kiln_parallel_for(int64_t n, kiln_parallel_fn fn, void *user);
/* As kiln_parallel_for, with chunks of at least `grain` iterations: a loop
 * of fewer than 2 * grain iterations runs on the caller alone. Pick grain
 * so that one chunk is worth a few microseconds of work. */
void kiln_parallel_for_grain(int64_t n, int64_t grain, kiln_parallel_fn fn, void *user);

#endif
