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
#include "passes/pass.h"
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
    int optimization_level; /* 0: run the graph as imported; 1: all passes */
    int n_shapes;
    kiln_shape_override *shapes;
};

typedef struct kiln_engine_binding {
    int value;                    /* value id in the engine's graph */
    int rank;
    int64_t dims[KILN_MAX_RANK];  /* fixed dims, KILN_DIM_* for symbolic */
} kiln_engine_binding;

/* The tactic of every layer until the autotuner chooses among several. */
#define KILN_TACTIC_REFERENCE "reference"

typedef struct kiln_engine_options {
    kiln_precision precision;
    int optimization_level;
    size_t max_tensor_bytes;
    size_t workspace;
    uint32_t tactic_sources;
} kiln_engine_options;

struct kiln_engine {
    kiln_model *model;      /* built engines: keeps the network's weights alive (graph borrows them) */
    void *mapping;          /* loaded engines: the mapped file the weights live in */
    size_t mapping_size;
    kiln_engine_options opts;
    kiln_graph *graph;      /* the engine's own, optimized copy */
    kiln_opt_report report; /* what the optimizer did */
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
/* Binds inputs and outputs of e->graph and prepares the plan. */
kiln_status kiln_engine_finish(kiln_engine *e);
/* Frees everything e holds. */
void kiln_engine_destroy(kiln_engine *e);
/* Fills a public io info from a graph value (strings borrowed from g). */
void kiln_io_info_fill(const kiln_graph *g, int value, int rank, const int64_t *dims, kiln_io_info *info);

#endif
