/*
 * status.c - the thread-local error message behind kiln_last_error().
 */
#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define KILN_ERROR_LEN 1024

static _Thread_local char error_text[KILN_ERROR_LEN];

kiln_status kiln_error(kiln_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_text, sizeof error_text, fmt, ap);
    va_end(ap);
    return status;
}

kiln_status kiln_error_prefix(kiln_status status, const char *fmt, ...)
{
    char prefix[KILN_ERROR_LEN];
    char old[KILN_ERROR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, error_text, sizeof old);
    snprintf(error_text, sizeof error_text, "%s: %s", prefix, old);
    return status;
}

void kiln_error_clear(void) { error_text[0] = '\0'; }

const char *kiln_last_error(void) { return error_text; }

const char *kiln_status_name(kiln_status status)
{
    switch (status) {
    case KILN_OK: return "ok";
    case KILN_ERR_INVALID_ARGUMENT: return "invalid argument";
    case KILN_ERR_PARSE: return "parse error";
    case KILN_ERR_UNSUPPORTED: return "unsupported";
    case KILN_ERR_SHAPE: return "shape error";
    case KILN_ERR_OUT_OF_MEMORY: return "out of memory";
    case KILN_ERR_LIMIT: return "limit exceeded";
    case KILN_ERR_IO: return "i/o error";
    case KILN_ERR_GRAPH: return "invalid graph";
    case KILN_ERR_SECURITY: return "refused for safety";
    case KILN_ERR_NOT_FOUND: return "not found";
    case KILN_ERR_INTERNAL: return "internal error";
    case KILN_ERR_INCOMPATIBLE: return "incompatible engine";
    }
    return "unknown status";
}
