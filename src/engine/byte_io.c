/*
 * byte_io.c - engine file byte writer, checked reader and checksum.
 */
#include "engine/byte_io.h"

#include <stdlib.h>
#include <string.h>

static int grow(kiln_writer *w, size_t more)
{
    if (w->failed)
        return 0;
    if (w->len + more <= w->cap)
        return 1;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + more) {
        if (cap > SIZE_MAX / 2) {
            w->failed = 1;
            return 0;
        }
        cap *= 2;
    }
    uint8_t *nb = realloc(w->buf, cap);
    if (!nb) {
        w->failed = 1;
        return 0;
    }
    w->buf = nb;
    w->cap = cap;
    return 1;
}

void kiln_put_bytes(kiln_writer *w, const void *p, size_t n)
{
    if (!n || !grow(w, n))
        return;
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

/* little-endian regardless of the host */
static void put_le(kiln_writer *w, uint64_t v, int bytes)
{
    uint8_t b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    kiln_put_bytes(w, b, (size_t)bytes);
}

void kiln_put_u8(kiln_writer *w, uint8_t v) { put_le(w, v, 1); }
void kiln_put_u32(kiln_writer *w, uint32_t v) { put_le(w, v, 4); }
void kiln_put_i32(kiln_writer *w, int32_t v) { put_le(w, (uint32_t)v, 4); }
void kiln_put_u64(kiln_writer *w, uint64_t v) { put_le(w, v, 8); }
void kiln_put_i64(kiln_writer *w, int64_t v) { put_le(w, (uint64_t)v, 8); }

void kiln_put_f32(kiln_writer *w, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    put_le(w, u, 4);
}

void kiln_put_str(kiln_writer *w, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    kiln_put_u32(w, (uint32_t)n);
    kiln_put_bytes(w, s, n);
}

void kiln_put_align(kiln_writer *w, size_t a)
{
    static const uint8_t zeros[64];
    size_t pad = (a - w->len % a) % a;
    kiln_put_bytes(w, zeros, pad);
}

void kiln_writer_free(kiln_writer *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

static kiln_status need(const kiln_reader *r, size_t n, const char *what)
{
    if (n > r->len - r->pos)
        return kiln_error(KILN_ERR_PARSE, "engine file byte offset %zu: %s needs %zu bytes, %zu are left (truncated?)",
                          r->pos, what, n, r->len - r->pos);
    return KILN_OK;
}

static kiln_status get_le(kiln_reader *r, int bytes, uint64_t *v, const char *what)
{
    KILN_TRY(need(r, (size_t)bytes, what));
    uint64_t x = 0;
    for (int i = 0; i < bytes; i++)
        x |= (uint64_t)r->buf[r->pos + (size_t)i] << (8 * i);
    r->pos += (size_t)bytes;
    *v = x;
    return KILN_OK;
}

kiln_status kiln_get_u8(kiln_reader *r, uint8_t *v, const char *what)
{
    uint64_t x;
    KILN_TRY(get_le(r, 1, &x, what));
    *v = (uint8_t)x;
    return KILN_OK;
}

kiln_status kiln_get_u32(kiln_reader *r, uint32_t *v, const char *what)
{
    uint64_t x;
    KILN_TRY(get_le(r, 4, &x, what));
    *v = (uint32_t)x;
    return KILN_OK;
}

kiln_status kiln_get_i32(kiln_reader *r, int32_t *v, const char *what)
{
    uint32_t x;
    KILN_TRY(kiln_get_u32(r, &x, what));
    *v = (int32_t)x;
    return KILN_OK;
}

kiln_status kiln_get_u64(kiln_reader *r, uint64_t *v, const char *what) { return get_le(r, 8, v, what); }

kiln_status kiln_get_i64(kiln_reader *r, int64_t *v, const char *what)
{
    uint64_t x;
    KILN_TRY(get_le(r, 8, &x, what));
    *v = (int64_t)x;
    return KILN_OK;
}

kiln_status kiln_get_f32(kiln_reader *r, float *v, const char *what)
{
    uint32_t x;
    KILN_TRY(kiln_get_u32(r, &x, what));
    memcpy(v, &x, 4);
    return KILN_OK;
}

kiln_status kiln_get_span(kiln_reader *r, size_t n, const uint8_t **p, const char *what)
{
    KILN_TRY(need(r, n, what));
    *p = r->buf + r->pos;
    r->pos += n;
    return KILN_OK;
}

kiln_status kiln_get_str(kiln_reader *r, char **s, const char *what)
{
    uint32_t n;
    const uint8_t *p;
    KILN_TRY(kiln_get_u32(r, &n, what));
    KILN_TRY(kiln_get_span(r, n, &p, what));
    if (memchr(p, '\0', n))
        return kiln_error(KILN_ERR_PARSE, "engine file byte offset %zu: %s holds a NUL byte", r->pos - n, what);
    *s = malloc((size_t)n + 1);
    if (!*s)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine file: out of memory reading %s", what);
    memcpy(*s, p, n);
    (*s)[n] = '\0';
    return KILN_OK;
}

kiln_status kiln_get_count(kiln_reader *r, size_t unit, uint32_t *n, const char *what)
{
    KILN_TRY(kiln_get_u32(r, n, what));
    if (unit && *n > (r->len - r->pos) / unit)
        return kiln_error(KILN_ERR_PARSE, "engine file byte offset %zu: %s count %u does not fit in the %zu bytes left",
                          r->pos - 4, what, *n, r->len - r->pos);
    return KILN_OK;
}

kiln_status kiln_get_align(kiln_reader *r, size_t a, const char *what)
{
    size_t pad = (a - r->pos % a) % a;
    const uint8_t *p;
    return kiln_get_span(r, pad, &p, what);
}

uint64_t kiln_checksum(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 0x100000001B3ull;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ b[i]) * 0x100000001B3ull;
    h ^= h >> 32;
    return h * 0xD6E8FEB86659FD93ull;
}
