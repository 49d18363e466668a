/*
 * engine_file.c - engine images to and from bytes (format in engine_file.h).
 */
#include "engine/engine_file.h"

#include <stdlib.h>
#include <string.h>

#include "engine/graph_codec.h"

#define MAGIC_LEN 8

kiln_status kiln_engine_encode(const kiln_engine_image *img, kiln_writer *w)
{
    kiln_put_bytes(w, KILN_ENGINE_MAGIC, MAGIC_LEN);
    kiln_put_u32(w, KILN_ENGINE_FORMAT_VERSION);
    kiln_put_u32(w, 0);
    kiln_put_str(w, img->kiln_version);
    kiln_put_str(w, img->backend);
    kiln_put_str(w, img->device);
    kiln_put_i32(w, img->precision);
    kiln_put_i32(w, img->optimization_level);
    kiln_put_u64(w, img->max_tensor_bytes);
    kiln_put_u64(w, img->workspace);
    kiln_put_u32(w, img->tactic_sources);
    kiln_put_i32(w, img->nodes_before);
    kiln_put_u32(w, img->n_records);
    for (uint32_t i = 0; i < img->n_records; i++)
        kiln_put_str(w, img->records[i]);
    kiln_graph_encode(w, img->graph);
    kiln_put_u32(w, img->n_tactics);
    for (uint32_t i = 0; i < img->n_tactics; i++)
        kiln_put_str(w, img->tactics[i]);
    if (!w->failed)
        kiln_put_u64(w, kiln_checksum(w->buf, w->len));
    return w->failed ? kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine file: out of memory while writing") : KILN_OK;
}

static kiln_status check_envelope(const uint8_t *buf, size_t len)
{
    if (len < MAGIC_LEN || memcmp(buf, KILN_ENGINE_MAGIC, MAGIC_LEN) != 0)
        return kiln_error(KILN_ERR_PARSE, "not a kiln engine file (bad magic at byte offset 0)");
    if (len < MAGIC_LEN + 8 + 8)
        return kiln_error(KILN_ERR_PARSE, "engine file is truncated (%zu bytes)", len);
    uint32_t version = (uint32_t)buf[8] | (uint32_t)buf[9] << 8 | (uint32_t)buf[10] << 16 | (uint32_t)buf[11] << 24;
    if (version != KILN_ENGINE_FORMAT_VERSION)
        return kiln_error(KILN_ERR_UNSUPPORTED,
                          "engine file format version %u; this kiln reads version %u: rebuild the engine with "
                          "`kiln build`",
                          version, KILN_ENGINE_FORMAT_VERSION);
    uint64_t stored = 0;
    for (int i = 0; i < 8; i++)
        stored |= (uint64_t)buf[len - 8 + (size_t)i] << (8 * i);
    if (stored != kiln_checksum(buf, len - 8))
        return kiln_error(KILN_ERR_PARSE,
                          "engine file checksum mismatch: the file is truncated or corrupted; rebuild it with "
                          "`kiln build`");
    return KILN_OK;
}

static kiln_status read_strings(kiln_reader *r, uint32_t *n, char ***out, const char *what)
{
    KILN_TRY(kiln_get_count(r, 4, n, what));
    *out = calloc((size_t)*n + 1, sizeof(char *));
    if (!*out)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine file: out of memory");
    for (uint32_t i = 0; i < *n; i++)
        KILN_TRY(kiln_get_str(r, &(*out)[i], what));
    return KILN_OK;
}

static kiln_status decode_fields(kiln_reader *r, int borrow, kiln_engine_image *img)
{
    uint32_t flags;
    const uint8_t *skip;
    KILN_TRY(kiln_get_span(r, MAGIC_LEN + 4, &skip, "header"));
    KILN_TRY(kiln_get_u32(r, &flags, "header flags"));
    KILN_TRY(kiln_get_str(r, &img->kiln_version, "kiln version"));
    KILN_TRY(kiln_get_str(r, &img->backend, "backend"));
    KILN_TRY(kiln_get_str(r, &img->device, "device"));
    KILN_TRY(kiln_get_i32(r, &img->precision, "precision"));
    KILN_TRY(kiln_get_i32(r, &img->optimization_level, "optimization level"));
    KILN_TRY(kiln_get_u64(r, &img->max_tensor_bytes, "max tensor bytes"));
    KILN_TRY(kiln_get_u64(r, &img->workspace, "workspace"));
    KILN_TRY(kiln_get_u32(r, &img->tactic_sources, "tactic sources"));
    KILN_TRY(kiln_get_i32(r, &img->nodes_before, "node count"));
    KILN_TRY(read_strings(r, &img->n_records, &img->records, "optimizer report"));
    KILN_TRY(kiln_graph_decode(r, borrow, &img->graph));
    KILN_TRY(read_strings(r, &img->n_tactics, &img->tactics, "tactics"));
    /* one tactic per layer, for every profile (at least one row) */
    uint32_t rows = img->graph->n_profiles > 0 ? (uint32_t)img->graph->n_profiles : 1;
    if ((uint64_t)img->n_tactics != (uint64_t)img->graph->n_nodes * rows)
        return kiln_error(KILN_ERR_PARSE, "engine file: %u tactics for %d layers in %u profile%s", img->n_tactics,
                          img->graph->n_nodes, rows, rows == 1 ? "" : "s");
    if (r->pos != r->len)
        return kiln_error(KILN_ERR_PARSE, "engine file byte offset %zu: %zu unexpected bytes before the checksum",
                          r->pos, r->len - r->pos);
    return KILN_OK;
}

kiln_status kiln_engine_decode(const uint8_t *buf, size_t len, int borrow, size_t max_alloc, kiln_engine_image *img)
{
    memset(img, 0, sizeof *img);
    KILN_TRY(check_envelope(buf, len));
    kiln_reader r = {.buf = buf, .len = len - 8, .pos = 0, .max_alloc = max_alloc};
    kiln_status st = decode_fields(&r, borrow, img);
    if (st != KILN_OK)
        kiln_engine_image_clear(img);
    return st;
}

static void free_strings(char **s, uint32_t n)
{
    for (uint32_t i = 0; s && i < n; i++)
        free(s[i]);
    free(s);
}

void kiln_engine_image_clear(kiln_engine_image *img)
{
    free(img->kiln_version);
    free(img->backend);
    free(img->device);
    free_strings(img->records, img->n_records);
    free_strings(img->tactics, img->n_tactics);
    kiln_graph_free(img->graph);
    memset(img, 0, sizeof *img);
}
