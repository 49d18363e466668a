/*
 * thread_pool.c - the process-wide worker pool (see thread_pool.h). A job
 * is published under the lock with a new generation number; workers and the
 * caller take chunks from an atomic counter; the caller waits until every
 * worker has finished the generation.
 */
#include "core/thread_pool.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define MAX_THREADS 256
/* Chunks per thread: small enough to balance uneven iterations. */
#define CHUNKS_PER_THREAD 4

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER, done_cv = PTHREAD_COND_INITIALIZER;
static atomic_flag in_flight = ATOMIC_FLAG_INIT;
static pthread_t workers[MAX_THREADS];
static int n_workers;
static bool quit;
static unsigned generation;
static int pending; /* workers yet to finish the current generation */

static struct {
    kiln_parallel_fn fn;
    void *user;
    int64_t n, chunk;
    atomic_int_fast64_t next;
} job;

static void run_chunks(int thread)
{
    int64_t begin;
    while ((begin = atomic_fetch_add(&job.next, job.chunk)) < job.n)
        job.fn(job.user, begin, begin + job.chunk < job.n ? begin + job.chunk : job.n, thread);
}

typedef struct worker_arg {
    unsigned start; /* the generation current when the worker started: it waits for the next */
    int thread;
} worker_arg;

static worker_arg worker_args[MAX_THREADS];

static void *worker_main(void *arg)
{
    const worker_arg *w = arg;
    unsigned seen = w->start;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (!quit && generation == seen)
            pthread_cond_wait(&work_cv, &lock);
        if (quit)
            break;
        seen = generation;
        pthread_mutex_unlock(&lock);
        run_chunks(w->thread);
        pthread_mutex_lock(&lock);
        if (--pending == 0)
            pthread_cond_signal(&done_cv);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void stop_workers(void)
{
    pthread_mutex_lock(&lock);
    quit = true;
    pthread_cond_broadcast(&work_cv);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < n_workers; i++)
        pthread_join(workers[i], NULL);
    n_workers = 0;
    quit = false;
}

kiln_status kiln_thread_pool_set_threads(int n)
{
    if (n < 1 || n > MAX_THREADS)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "threads: %d is outside 1..%d", n, MAX_THREADS);
    while (atomic_flag_test_and_set(&in_flight))
        ; /* callers do not overlap a parallel for; this only guards misuse */
    stop_workers();
    kiln_status st = KILN_OK;
    while (n_workers < n - 1 && st == KILN_OK) {
        /* no job is published while in_flight is held */
        worker_args[n_workers] = (worker_arg){generation, n_workers + 1};
        if (pthread_create(&workers[n_workers], NULL, worker_main, &worker_args[n_workers]) != 0)
            st = kiln_error(KILN_ERR_OUT_OF_MEMORY, "threads: cannot start worker %d of %d", n_workers + 1, n - 1);
        else
            n_workers++;
    }
    openblas_set_num_threads(n);
    atomic_flag_clear(&in_flight);
    return st;
}

int kiln_thread_pool_threads(void)
{
    return n_workers + 1;
}

void kiln_parallel_for(int64_t n, kiln_parallel_fn fn, void *user)
{
    if (n <= 0)
        return;
    if (n == 1 || atomic_flag_test_and_set(&in_flight)) {
        fn(user, 0, n, 0);
        return;
    }
    if (n_workers == 0) {
        atomic_flag_clear(&in_flight);
        fn(user, 0, n, 0);
        return;
    }
    int64_t parts = (int64_t)(n_workers + 1) * CHUNKS_PER_THREAD;
    pthread_mutex_lock(&lock);
    job.fn = fn;
    job.user = user;
    job.n = n;
    job.chunk = (n + parts - 1) / parts;
    atomic_store(&job.next, 0);
    pending = n_workers;
    generation++;
    pthread_cond_broadcast(&work_cv);
    pthread_mutex_unlock(&lock);
    run_chunks(0);
    pthread_mutex_lock(&lock);
    while (pending > 0)
        pthread_cond_wait(&done_cv, &lock);
    pthread_mutex_unlock(&lock);
    atomic_flag_clear(&in_flight);
}
