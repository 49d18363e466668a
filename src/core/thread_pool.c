/*
 * thread_pool.c - the process-wide worker pool (see thread_pool.h). A job
 * is published under the lock with a new generation number; workers spin on
 * the generation for a short while after each job and then sleep on a
 * condition variable. Workers and the caller claim chunks from one atomic
 * word holding the generation and the next index, and count the chunks
 * they finish; the caller returns once every chunk is done, whichever
 * threads did them. A worker that wakes late (asleep, or its CPU taken by
 * another process or the hypervisor) finds nothing left to claim and is
 * never waited for.
 *
 * Where kiln links OpenMP (for oneDNN), parallel fors run on an OpenMP team
 * instead (thread_pool_openmp.c) unless KILN_THREAD_POOL=pthreads: one set
 * of threads then serves kiln's loops and oneDNN's primitives alike.
 *
 * Claims are compare-and-swaps on that word, which the caller changes
 * before it rewrites the job's fields (all sequentially consistent, so no
 * thread sees a new field before the changed word): a claim that succeeds
 * therefore read the fields of its own job, and that job cannot end (nor
 * the fields change) before the claimed chunk is done.
 */
#define _GNU_SOURCE
#include "core/thread_pool.h"
#ifdef KILN_POOL_OPENMP
#include "core/thread_pool_openmp.h"
#endif

#include <cblas.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 256
/* Chunks per thread: small enough to balance uneven iterations. */
#define CHUNKS_PER_THREAD 4
/* How long an idle worker (or a waiting caller) spins before it sleeps,
 * unless KILN_SPIN_US says otherwise (read when the pool starts). */
#define DEFAULT_SPIN_NS 100000
static int64_t spin_ns = DEFAULT_SPIN_NS;

static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER, done_cv = PTHREAD_COND_INITIALIZER;
static atomic_flag in_flight = ATOMIC_FLAG_INIT;
static atomic_bool configured;
static pthread_t workers[MAX_THREADS];
static int n_workers;
static int pool_threads = 1; /* the caller and the workers, or the OpenMP team's size */
static atomic_bool quit;
static atomic_uint generation;
static atomic_bool parked; /* idle workers stop spinning (kiln_thread_pool_acquire) */

/* The claim word: generation (low GEN_BITS bits of `generation`) above the
 * next unclaimed index; INDEX_DONE once the job's chunks are all done. */
#define INDEX_BITS 40
#define INDEX_MASK ((UINT64_C(1) << INDEX_BITS) - 1)
#define INDEX_DONE INDEX_MASK
#define GEN_MASK ((UINT64_C(1) << (64 - INDEX_BITS)) - 1)

static struct {
    _Atomic(kiln_parallel_fn) fn;
    _Atomic(void *) user;
    atomic_int_fast64_t n, chunk, chunks;
    atomic_uint_fast64_t claim;
    atomic_int_fast64_t done; /* chunks finished */
} job;

static uint64_t claim_word(unsigned gen, uint64_t index)
{
    return ((uint64_t)gen & GEN_MASK) << INDEX_BITS | index;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Spins until cond(arg) holds or SPIN_NS pass; returns whether it holds. */
static bool spin_until(bool (*cond)(const void *), const void *arg)
{
    int64_t start = 0;
    for (unsigned i = 0;; i++) {
        if (cond(arg))
            return true;
        cpu_relax();
        if ((i & 255) == 255) {
            int64_t t = now_ns();
            if (!start)
                start = t;
            else if (t - start > spin_ns)
                return false;
        }
    }
}

/* Claims and runs chunks of generation gen until none is left; the thread
 * that finishes the last chunk wakes the caller. */
static void run_chunks(unsigned gen, int thread)
{
    uint64_t want = claim_word(gen, 0) >> INDEX_BITS;
    for (;;) {
        uint64_t w = atomic_load(&job.claim);
        int64_t n = atomic_load(&job.n);
        int64_t chunk = atomic_load(&job.chunk);
        int64_t begin = (int64_t)(w & INDEX_MASK);
        if (w >> INDEX_BITS != want || begin >= n)
            return;
        int64_t end = begin + chunk < n ? begin + chunk : n;
        /* fails when another thread claimed first or the caller moved on: read again */
        if (!atomic_compare_exchange_weak(&job.claim, &w, claim_word(gen, (uint64_t)end)))
            continue;
        int64_t chunks = atomic_load(&job.chunks); /* before the last chunk's count lets the caller move on */
        atomic_load (&job.fn)(atomic_load(&job.user), begin, end, thread);
        if (atomic_fetch_add(&job.done, 1) + 1 == chunks) {
            pthread_mutex_lock(&lock);
            pthread_cond_signal(&done_cv);
            pthread_mutex_unlock(&lock);
        }
    }
}

typedef struct worker_arg {
    unsigned start; /* the generation current when the worker started: it waits for the next */
    int thread;
} worker_arg;

static worker_arg worker_args[MAX_THREADS];

static bool new_job(const void *seen)
{
    return atomic_load(&quit) || atomic_load(&generation) != *(const unsigned *)seen;
}

/* Ends a worker's spin: a new job, or the pool parked. */
static bool new_job_or_parked(const void *seen)
{
    return atomic_load(&parked) || new_job(seen);
}

static void *worker_main(void *arg)
{
    const worker_arg *w = arg;
    unsigned seen = w->start;
    for (;;) {
        if (!spin_until(new_job_or_parked, &seen) || !new_job(&seen)) {
            pthread_mutex_lock(&lock);
            while (!new_job(&seen))
                pthread_cond_wait(&work_cv, &lock);
            pthread_mutex_unlock(&lock);
        }
        if (atomic_load(&quit))
            break;
        seen = atomic_load(&generation);
        run_chunks(seen, w->thread);
    }
    return NULL;
}

static void stop_workers(void)
{
    pthread_mutex_lock(&lock);
    atomic_store(&quit, true);
    pthread_cond_broadcast(&work_cv);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < n_workers; i++)
        pthread_join(workers[i], NULL);
    n_workers = 0;
    atomic_store(&quit, false);
}

int kiln_thread_pool_default_threads(void)
{
    cpu_set_t set;
    int n = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n;
}

bool kiln_thread_pool_openmp(void)
{
#ifdef KILN_POOL_OPENMP
    static atomic_int chosen; /* 0: not yet, 1: OpenMP, 2: kiln's own workers */
    if (!atomic_load(&chosen)) {
        const char *pool = getenv("KILN_THREAD_POOL");
        atomic_store(&chosen, pool && !strcmp(pool, "pthreads") ? 2 : 1);
    }
    return atomic_load(&chosen) == 1;
#else
    return false;
#endif
}

/* Starts n - 1 workers (or sizes the OpenMP team); config_lock held, no
 * parallel for in flight. */
static kiln_status start_workers(int n)
{
    stop_workers();
    /* products are split over this pool (kiln_sgemm): OpenBLAS keeps to one thread */
    openblas_set_num_threads(1);
#ifdef KILN_POOL_OPENMP
    if (kiln_thread_pool_openmp()) {
        kiln_openmp_set_threads(n);
        pool_threads = n;
        atomic_store(&configured, true);
        return KILN_OK;
    }
#endif
    const char *spin = getenv("KILN_SPIN_US");
    char *end;
    long long us = spin ? strtoll(spin, &end, 10) : -1;
    spin_ns = spin && *spin && !*end && us >= 0 && us <= 10000000 ? (int64_t)us * 1000 : DEFAULT_SPIN_NS;
    kiln_status st = KILN_OK;
    while (n_workers < n - 1 && st == KILN_OK) {
        /* no job is published while in_flight is held */
        worker_args[n_workers] = (worker_arg){atomic_load(&generation), n_workers + 1};
        if (pthread_create(&workers[n_workers], NULL, worker_main, &worker_args[n_workers]) != 0)
            st = kiln_error(KILN_ERR_OUT_OF_MEMORY, "threads: cannot start worker %d of %d", n_workers + 1, n - 1);
        else
            n_workers++;
    }
    pool_threads = n_workers + 1;
    atomic_store(&configured, true);
    return st;
}

kiln_status kiln_thread_pool_set_threads(int n)
{
    if (n == 0)
        n = kiln_thread_pool_default_threads();
    if (n < 1 || n > MAX_THREADS)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "threads: %d is outside 1..%d", n, MAX_THREADS);
    pthread_mutex_lock(&config_lock);
    while (atomic_flag_test_and_set(&in_flight))
        ; /* callers do not overlap a parallel for; this only guards misuse */
    kiln_status st = start_workers(n);
    atomic_flag_clear(&in_flight);
    pthread_mutex_unlock(&config_lock);
    return st;
}

/* Starts the default pool the first time it is needed. */
static void ensure_configured(void)
{
    if (atomic_load(&configured))
        return;
    pthread_mutex_lock(&config_lock);
    if (!atomic_load(&configured)) {
        while (atomic_flag_test_and_set(&in_flight))
            ;
        (void)start_workers(kiln_thread_pool_default_threads()); /* fewer workers on failure still work */
        atomic_flag_clear(&in_flight);
    }
    pthread_mutex_unlock(&config_lock);
}

int kiln_thread_pool_acquire(void)
{
    ensure_configured();
    if (pool_threads == 1 || atomic_flag_test_and_set(&in_flight))
        return 1;
    atomic_store(&parked, true); /* the caller's threads take the cores: kiln's idle workers sleep */
    return pool_threads;
}

void kiln_thread_pool_release(void)
{
    atomic_flag_clear(&in_flight);
}

int kiln_thread_pool_threads(void)
{
    ensure_configured();
    return pool_threads;
}

static bool chunks_done(const void *chunks)
{
    return atomic_load(&job.done) == *(const int64_t *)chunks;
}

static void parallel_chunks(int64_t n, int64_t chunk, kiln_parallel_fn fn, void *user)
{
    if (n <= 0)
        return;
    ensure_configured();
    if (n <= chunk || pool_threads == 1 || (uint64_t)n >= INDEX_DONE || atomic_flag_test_and_set(&in_flight)) {
        fn(user, 0, n, 0);
        return;
    }
#ifdef KILN_POOL_OPENMP
    if (kiln_thread_pool_openmp()) {
        kiln_openmp_chunks(pool_threads, n, chunk, fn, user);
        atomic_flag_clear(&in_flight);
        return;
    }
#endif
    int64_t chunks = (n + chunk - 1) / chunk;
    pthread_mutex_lock(&lock);
    unsigned gen = atomic_load(&generation) + 1;
    /* the last job's word changes before its fields do (see the top of the file) */
    atomic_store(&job.claim, claim_word(gen - 1, INDEX_DONE));
    atomic_store(&job.fn, fn);
    atomic_store(&job.user, user);
    atomic_store(&job.n, n);
    atomic_store(&job.chunk, chunk);
    atomic_store(&job.chunks, chunks);
    atomic_store(&job.done, 0);
    atomic_store(&job.claim, claim_word(gen, 0));
    atomic_store(&parked, false);
    atomic_store(&generation, gen);
    pthread_cond_broadcast(&work_cv);
    pthread_mutex_unlock(&lock);
    run_chunks(gen, 0);
    if (!spin_until(chunks_done, &chunks)) {
        pthread_mutex_lock(&lock);
        while (atomic_load(&job.done) < chunks)
            pthread_cond_wait(&done_cv, &lock);
        pthread_mutex_unlock(&lock);
    }
    atomic_flag_clear(&in_flight);
}

void kiln_parallel_for(int64_t n, kiln_parallel_fn fn, void *user)
{
    int64_t parts = (int64_t)kiln_thread_pool_threads() * CHUNKS_PER_THREAD;
    parallel_chunks(n, n > 0 ? (n + parts - 1) / parts : 1, fn, user);
}

void kiln_parallel_for_grain(int64_t n, int64_t grain, kiln_parallel_fn fn, void *user)
{
    if (grain < 1)
        grain = 1;
    int64_t parts = (int64_t)kiln_thread_pool_threads() * CHUNKS_PER_THREAD;
    int64_t chunk = n > 0 ? (n + parts - 1) / parts : 1;
    parallel_chunks(n, chunk < grain ? grain : chunk, fn, user);
}
