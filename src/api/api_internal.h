/*
 * api_internal.h - the structs behind the public handles.
 *
 * A network and the engines built from it share one graph through a
 * reference-counted kiln_model, so either may be freed first.
 */
#ifndef KILN_API_INTERNAL_H
#define KILN_API_INTERNAL_H

#include <stdatomic.h>

#include "ir/graph.h"
#include "runtime/executor.h"

typedef struct kiln_model {
    kiln_graph *graph;
    atomic_int refs;
} kiln_model;

struct kiln_network {
    kiln_model *model;
};

typedef struct kiln_shape_override {
    char *name;
    int rank;
    int64_t dims[KILN_MAX_RANK];
} kiln_shape_override;

struct kiln_builder_config {
    kiln_precision precision;
    size_t workspace;
    uint32_t tactic_sources;
    size_t max_tensor_bytes;
    int n_shapes;
    kiln_shape_override *shapes;
};

typedef struct kiln_engine_binding {
    int value;                    /* graph value id */
    int rank;
    int64_t dims[KILN_MAX_RANK];  /* fixed dims, KILN_DIM_* for symbolic */
} kiln_engine_binding;

struct kiln_engine {
    kiln_model *model;
    kiln_plan plan;
    int n_inputs, n_outputs;
    kiln_engine_binding *inputs;
    kiln_engine_binding *outputs;
};

struct kiln_context {
    kiln_engine *engine;
    kiln_tensor *vals;            /* one per graph value */
    int ran;
};

void kiln_model_release(kiln_model *m);
/* Fills a public io info from a graph value (strings borrowed from g). */
void kiln_io_info_fill(const kiln_graph *g, int value, int rank, const int64_t *dims, kiln_io_info *info);

#endif
