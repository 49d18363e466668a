/*
 * test_util.h - a minimal check harness: CHECK records a failure with its
 * line and carries on; test_summary prints "N passed, M failed" and gives the
 * exit code.
 */
#ifndef KILN_TEST_UTIL_H
#define KILN_TEST_UTIL_H

#include <stdio.h>
#include <string.h>

static int test_passed, test_failed;

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (cond) {                                                                                                    \
            test_passed++;                                                                                             \
        } else {                                                                                                       \
            test_failed++;                                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                                  \
        }                                                                                                              \
    } while (0)

/* status equals want and the error message contains `part` */
#define CHECK_ERR(expr, want, part)                                                                                    \
    do {                                                                                                               \
        kiln_status got_ = (expr);                                                                                     \
        CHECK(got_ == (want));                                                                                         \
        if (got_ != KILN_OK && !strstr(kiln_last_error(), (part))) {                                                   \
            test_failed++;                                                                                             \
            fprintf(stderr, "%s:%d: message '%s' lacks '%s'\n", __FILE__, __LINE__, kiln_last_error(), (part));       \
        }                                                                                                              \
    } while (0)

static inline int test_summary(void)
{
    printf("%d passed, %d failed\n", test_passed, test_failed);
    return test_failed ? 1 : 0;
}

#endif
