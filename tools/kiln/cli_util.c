/*
 * cli_util.c - argument parsing helpers and messages for the CLI.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"

int cli_parse_shape(const char *s, int *rank, int64_t *dims)
{
    int r = 0;
    const char *p = s;
    if (!*p)
        return 0;
    while (*p) {
        char *end;
        if (*p < '0' || *p > '9' || r == KILN_MAX_RANK)
            return 0;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (errno || v < 0)
            return 0;
        dims[r++] = v;
        p = end;
        if (*p == 'x' || *p == ',')
            p++;
        else if (*p)
            return 0;
    }
    *rank = r;
    return 1;
}

int cli_split_assign(const char *s, char **name, const char **value)
{
    const char *eq = strrchr(s, '=');
    if (!eq || eq == s)
        return 0;
    size_t n = (size_t)(eq - s);
    *name = malloc(n + 1);
    if (!*name)
        return 0;
    memcpy(*name, s, n);
    (*name)[n] = '\0';
    *value = eq + 1;
    return 1;
}

int cli_fail(const char *what)
{
    fprintf(stderr, "kiln: %s: %s\n", what, kiln_last_error());
    return CLI_EXIT_FAIL;
}

double cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

const char *cli_shape_str(const kiln_io_info *info, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    if (info->rank < 0) {
        snprintf(buf, len, "?");
        return buf;
    }
    if (info->rank == 0) {
        snprintf(buf, len, "scalar");
        return buf;
    }
    for (int d = 0; d < info->rank && used < len; d++) {
        const char *sep = d ? "x" : "";
        int w;
        if (info->dims[d] >= 0)
            w = snprintf(buf + used, len - used, "%s%lld", sep, (long long)info->dims[d]);
        else
            w = snprintf(buf + used, len - used, "%s%s", sep, info->dim_names[d] ? info->dim_names[d] : "?");
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

int cli_mkdirs(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

int cli_parse_count(const char *cmd, const char *flag, const char *val, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (!*val || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "kiln %s: %s takes a number from %ld to %ld, got '%s'\n", cmd, flag, lo, hi, val);
        return 0;
    }
    *out = (int)v;
    return 1;
}
