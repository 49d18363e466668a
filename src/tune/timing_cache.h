/*
 * timing_cache.h - the autotuner's timing cache: for a key (device
 * identity, op type, attributes, input dtypes and shapes) the tactic chosen
 * and its time, with the reference kernel's time. Stored as a text file, one
 * entry a line: KEY <tab> TACTIC <tab> MS <tab> REFERENCE_MS.
 */
#ifndef KILN_TUNE_TIMING_CACHE_H
#define KILN_TUNE_TIMING_CACHE_H

#include "ir/op_registry.h"

typedef struct kiln_timing_entry {
    char *key;
    char tactic[64];
    double ms, reference_ms;
} kiln_timing_entry;

typedef struct kiln_timing_cache {
    int n, cap;
    kiln_timing_entry *entries;
} kiln_timing_cache;

/* Reads path into c (empty when the file does not exist). */
kiln_status kiln_timing_cache_load(kiln_timing_cache *c, const char *path);
kiln_status kiln_timing_cache_save(const kiln_timing_cache *c, const char *path);
const kiln_timing_entry *kiln_timing_cache_find(const kiln_timing_cache *c, const char *key);
/* Adds or replaces the entry for e->key (copied). */
kiln_status kiln_timing_cache_put(kiln_timing_cache *c, const kiln_timing_entry *e);
void kiln_timing_cache_free(kiln_timing_cache *c);

/* The key of the node in ctx on this device, into buf; fails when it does
 * not fit. */
kiln_status kiln_timing_key(const char *device, const kiln_op_ctx *ctx, char *buf, size_t len);

#endif
