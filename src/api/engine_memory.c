/*
 * engine_memory.c - the activation memory an engine's plan needs per run:
 * every intermediate in its own buffer versus the planned arena.
 */
#include "api/api_internal.h"

kiln_status kiln_engine_memory(const kiln_engine *engine, size_t *naive_bytes, size_t *planned_bytes)
{
    if (!engine || !naive_bytes || !planned_bytes)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT,
                          "kiln_engine_memory: engine, naive_bytes and planned_bytes are required");
    *naive_bytes = engine->plan.naive_bytes;
    *planned_bytes = engine->plan.planned_bytes;
    return KILN_OK;
}
