/*
 * thread_pool_openmp.h - the pool's OpenMP backend (thread_pool_openmp.c),
 * compiled where kiln links libgomp for oneDNN (KILN_POOL_OPENMP): kiln's
 * parallel fors then run on the same OpenMP team as oneDNN's primitives,
 * so one set of threads serves every layer and the hand-over between two
 * layers is a spinning team, not a wake-up. thread_pool.c chooses it.
 */
#ifndef KILN_CORE_THREAD_POOL_OPENMP_H
#define KILN_CORE_THREAD_POOL_OPENMP_H

#include <stdint.h>

#include "core/thread_pool.h"

/* fn over [0, n) in chunks of `chunk` iterations on an OpenMP team of
 * `threads` (the caller is thread 0); chunks are claimed from one counter,
 * so a thread that starts late takes fewer. */
void kiln_openmp_chunks(int threads, int64_t n, int64_t chunk, kiln_parallel_fn fn, void *user);
/* Sets the calling thread's OpenMP thread count (the team oneDNN uses). */
void kiln_openmp_set_threads(int threads);

#endif
