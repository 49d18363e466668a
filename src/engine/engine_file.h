/*
 * engine_file.h - the engine file format.
 *
 *   magic "KILNENG\x1a", u32 format version, u32 flags (0)
 *   kiln version, backend, device identity (strings)
 *   build options: precision, optimization level, max tensor bytes,
 *                  workspace, tactic sources
 *   optimizer report (node count before, one line per rewrite)
 *   the optimized graph (engine/graph_codec.h; weights 64-byte aligned)
 *   one tactic name per node, for each profile (at least one) in turn
 *   u64 checksum of every byte before it
 * All integers little-endian. Loading checks magic, format version and
 * checksum before reading anything else, then the kiln version and device.
 */
#ifndef KILN_ENGINE_FILE_H
#define KILN_ENGINE_FILE_H

#include "engine/byte_io.h"
#include "ir/graph.h"

#define KILN_ENGINE_MAGIC "KILNENG\x1a"
#define KILN_ENGINE_FORMAT_VERSION 2u /* 2: tactics per profile */

typedef struct kiln_engine_image {
    char *kiln_version;
    char *backend;
    char *device;
    int32_t precision;
    int32_t optimization_level;
    uint64_t max_tensor_bytes;
    uint64_t workspace;
    uint32_t tactic_sources;
    int32_t nodes_before;
    uint32_t n_records;
    char **records;
    kiln_graph *graph;
    uint32_t n_tactics; /* graph->n_nodes for each profile (at least one) in turn */
    char **tactics;
} kiln_engine_image;

/* Writes img; the checksum goes last. */
kiln_status kiln_engine_encode(const kiln_engine_image *img, kiln_writer *w);
/* Reads an engine image from buf. With borrow, weights point into buf,
 * which must then outlive the graph. Version, checksum and structure are
 * checked; the device is left to the caller. */
kiln_status kiln_engine_decode(const uint8_t *buf, size_t len, int borrow, size_t max_alloc, kiln_engine_image *img);
void kiln_engine_image_clear(kiln_engine_image *img);

#endif
