/*
 * device_id.c - CPU identity for engine files.
 */
#include "engine/device_id.h"

#include <stdio.h>
#include <string.h>

void kiln_cpu_device_identity(char *buf, size_t len)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    static const char *const features[] = {"sse4.2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl",
                                           "avx512vnni"};
    size_t used = (size_t)snprintf(buf, len, "cpu x86_64");
    __builtin_cpu_init();
    /* __builtin_cpu_supports needs string literals, hence one test each */
    int have[] = {__builtin_cpu_supports("sse4.2"),   __builtin_cpu_supports("avx"),
                  __builtin_cpu_supports("avx2"),     __builtin_cpu_supports("fma"),
                  __builtin_cpu_supports("avx512f"),  __builtin_cpu_supports("avx512bw"),
                  __builtin_cpu_supports("avx512vl"), __builtin_cpu_supports("avx512vnni")};
    for (size_t i = 0; i < sizeof features / sizeof features[0] && used < len; i++)
        if (have[i])
            used += (size_t)snprintf(buf + used, len - used, " %s", features[i]);
#elif defined(__aarch64__)
    snprintf(buf, len, "cpu aarch64");
#else
    snprintf(buf, len, "cpu unknown");
#endif
}

/* Whether the n-byte word occurs as a space-delimited token of list. */
static int has_word(const char *list, const char *word, size_t n)
{
    while (*list) {
        size_t m = strcspn(list, " ");
        if (m == n && strncmp(list, word, n) == 0)
            return 1;
        list += m + (list[m] == ' ');
    }
    return 0;
}

int kiln_device_compatible(const char *built, const char *here, char *why, size_t why_len)
{
    /* the first two words (kind and architecture) must match exactly */
    const char *b = built, *h = here;
    for (int words = 0; words < 2; words++) {
        size_t nb = strcspn(b, " "), nh = strcspn(h, " ");
        if (nb != nh || strncmp(b, h, nb) != 0) {
            snprintf(why, why_len, "the engine was built for '%s', this machine is '%s'", built, here);
            return 0;
        }
        b += nb + (b[nb] == ' ');
        h += nh + (h[nh] == ' ');
    }
    while (*b) {
        size_t n = strcspn(b, " ");
        if (n && !has_word(here, b, n)) {
            snprintf(why, why_len, "the engine uses CPU feature %.*s, which this CPU lacks", (int)n, b);
            return 0;
        }
        b += n + (b[n] == ' ');
    }
    return 1;
}
