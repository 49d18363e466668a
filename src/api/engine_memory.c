/*
 * engine_memory.c - what one run of an engine costs: the activation memory
 * its plan needs (every intermediate in its own buffer versus the planned
 * arena) and its FLOPs.
 */
#include "api/api_internal.h"
#include "ir/flops.h"

kiln_status kiln_engine_memory(const kiln_engine *engine, size_t *naive_bytes, size_t *planned_bytes)
{
    if (!engine || !naive_bytes || !planned_bytes)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT,
                          "kiln_engine_memory: engine, naive_bytes and planned_bytes are required");
    *naive_bytes = engine->plan.naive_bytes;
    *planned_bytes = engine->plan.planned_bytes;
    return KILN_OK;
}

kiln_status kiln_engine_flops(const kiln_engine *engine, double *flops, int *symbolic)
{
    if (!engine || !flops || !symbolic)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_engine_flops: engine, flops and symbolic are required");
    const kiln_graph *g = engine->graph;
    *flops = 0;
    *symbolic = 0;
    for (int i = 0; i < g->n_nodes; i++)
        *flops += kiln_node_flops(g, i, symbolic);
    return KILN_OK;
}
