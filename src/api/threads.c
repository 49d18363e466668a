/*
 * threads.c - the CPU thread count in the public API (the pool itself is
 * src/core/thread_pool.c).
 */
#include "core/thread_pool.h"

kiln_status kiln_set_threads(int threads)
{
    if (threads < 0)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_set_threads: threads must be 0 (all CPUs) or more, got %d",
                          threads);
    return kiln_thread_pool_set_threads(threads);
}

int kiln_get_threads(void)
{
    return kiln_thread_pool_threads();
}
