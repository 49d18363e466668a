/*
 * status.h - errors: a thread-local message beside every kiln_status.
 * kiln_error() formats the message and returns the status so a failure is
 * one line: `return kiln_error(KILN_ERR_SHAPE, "node '%s': ...", n);`.
 */
#ifndef KILN_CORE_STATUS_H
#define KILN_CORE_STATUS_H

#include "kiln.h"

#if defined(__GNUC__)
#define KILN_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define KILN_PRINTF(a, b)
#endif

/* Sets this thread's message and returns `status`. */
kiln_status kiln_error(kiln_status status, const char *fmt, ...) KILN_PRINTF(2, 3);
/* Puts "<prefix>: " in front of this thread's message; returns `status`. */
kiln_status kiln_error_prefix(kiln_status status, const char *fmt, ...) KILN_PRINTF(2, 3);
void kiln_error_clear(void);

#define KILN_TRY(expr)                                                                                                 \
    do {                                                                                                               \
        kiln_status kiln_try_status_ = (expr);                                                                         \
        if (kiln_try_status_ != KILN_OK)                                                                               \
            return kiln_try_status_;                                                                                   \
    } while (0)

/* Internal invariants: active in debug and test builds, never aborts in
 * release builds (the condition becomes an internal error at the caller). */
#define KILN_CHECK(cond)                                                                                               \
    do {                                                                                                               \
        if (!(cond))                                                                                                   \
            return kiln_error(KILN_ERR_INTERNAL, "internal check failed: %s (%s:%d)", #cond, __FILE__,              \
                              __LINE__);                                                                       \
    } while (0)

#endif
