/*
 * byte_io.h - the little-endian byte writer and bounds-checked reader the
 * engine file is made of, and its checksum.
 *
 * Every reader call checks the bytes are there and returns an error naming
 * the byte offset and what was being read; nothing reads past the end.
 */
#ifndef KILN_ENGINE_BYTE_IO_H
#define KILN_ENGINE_BYTE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct kiln_writer {
    uint8_t *buf;
    size_t len, cap;
    int failed; /* an allocation failed: every later write is a no-op */
} kiln_writer;

void kiln_put_bytes(kiln_writer *w, const void *p, size_t n);
void kiln_put_u8(kiln_writer *w, uint8_t v);
void kiln_put_u32(kiln_writer *w, uint32_t v);
void kiln_put_i32(kiln_writer *w, int32_t v);
void kiln_put_u64(kiln_writer *w, uint64_t v);
void kiln_put_i64(kiln_writer *w, int64_t v);
void kiln_put_f32(kiln_writer *w, float v);
void kiln_put_str(kiln_writer *w, const char *s); /* u32 length + bytes */
void kiln_put_align(kiln_writer *w, size_t a);   /* zero padding up to a multiple of a */
void kiln_writer_free(kiln_writer *w);

typedef struct kiln_reader {
    const uint8_t *buf;
    size_t len, pos;
    size_t max_alloc; /* ceiling for any one allocation while reading */
} kiln_reader;

kiln_status kiln_get_u8(kiln_reader *r, uint8_t *v, const char *what);
kiln_status kiln_get_u32(kiln_reader *r, uint32_t *v, const char *what);
kiln_status kiln_get_i32(kiln_reader *r, int32_t *v, const char *what);
kiln_status kiln_get_u64(kiln_reader *r, uint64_t *v, const char *what);
kiln_status kiln_get_i64(kiln_reader *r, int64_t *v, const char *what);
kiln_status kiln_get_f32(kiln_reader *r, float *v, const char *what);
/* A pointer to n bytes inside the buffer (not copied). */
kiln_status kiln_get_span(kiln_reader *r, size_t n, const uint8_t **p, const char *what);
/* A malloc'd NUL-terminated copy of a length-prefixed string. */
kiln_status kiln_get_str(kiln_reader *r, char **s, const char *what);
/* A count that must fit, at `unit` bytes per item, in what is left. */
kiln_status kiln_get_count(kiln_reader *r, size_t unit, uint32_t *n, const char *what);
kiln_status kiln_get_align(kiln_reader *r, size_t a, const char *what);

/* 64-bit checksum of n bytes (fast, not cryptographic). */
uint64_t kiln_checksum(const void *p, size_t n);

#endif
