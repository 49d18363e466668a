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
#include "tune/autotune.h"

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

/* One input's bounds in a profile of the builder config (dims.value unused). */
typedef struct kiln_profile_shape {
    char *name;
    kiln_profile_dims dims;
} kiln_profile_shape;

typedef struct kiln_config_profile {
    int n_shapes;
    kiln_profile_shape *shapes;
} kiln_config_profile;

struct kiln_builder_config {
    kiln_precision precision;
    size_t workspace;
    uint32_t tactic_sources;
    size_t max_tensor_bytes;
    int optimization_level; /* 0: run the graph as imported; 1: all passes */
    kiln_layout layout;
    int n_shapes;
    kiln_shape_override *shapes;
    int n_profiles;
    kiln_config_profile *profiles;
    int autotune;                          /* 1: time tactics at build; 0: the reference kernels */
    int threads;                           /* threads for tactics and OpenBLAS; 0: leave as they are */
    kiln_build_progress_callback progress; /* autotuning progress, or NULL */
    void *progress_user;
    char timing_cache[4096]; /* timing cache file, "" for none */
};

typedef struct kiln_engine_binding {
    int value;                    /* value id in the engine's graph */
    int rank;
    int64_t dims[KILN_MAX_RANK];  /* fixed dims, KILN_DIM_* for symbolic */
} kiln_engine_binding;

/* The tactic a layer reports when it runs the backend's own kernel (tune/autotune.h). */
#define KILN_TACTIC_REFERENCE KILN_TACTIC_REFERENCE_NAME

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
    kiln_tune_report tune;  /* built engines: what the autotuner measured */
};

struct kiln_context {
    kiln_engine *engine;
    kiln_tensor *vals;            /* one per graph value */
    int ran;
    int profile;                  /* the profile runs use; -1: chosen per run */
    int run_profile;              /* the profile of the run in progress (its tactics), -1: none */
    kiln_layer_callback layer_callback;
    void *layer_user;
};

void kiln_model_release(kiln_model *m);
/* Binds inputs and outputs of e->graph and prepares the plan. */
kiln_status kiln_engine_finish(kiln_engine *e);
/* Builds an engine in `layout`; with only_if_converted, *out is NULL (and
 * nothing tuned) when the layout changes nothing in the graph. */
kiln_status kiln_engine_build_layout(const kiln_network *network, const kiln_builder_config *config,
                                     kiln_layout layout, int only_if_converted, kiln_engine **out);
/* KILN_LAYOUT_AUTO: builds the NHWC candidate and the NCHW one, times whole
 * runs of both and keeps the faster (src/api/engine_layout.c). */
kiln_status kiln_engine_build_auto_layout(const kiln_network *network, const kiln_builder_config *config,
                                          kiln_engine **out);
/* Runs the autotuner on a built engine's plan (tune/tune_api.c). */
kiln_status kiln_engine_tune(kiln_engine *e, const kiln_builder_config *cfg);
/* Frees everything e holds. */
void kiln_engine_destroy(kiln_engine *e);
/* Checks the config's profiles against e->graph's inputs and stores them in
 * e->graph->profiles (src/api/profile.c). */
kiln_status kiln_engine_attach_profiles(kiln_engine *e, const kiln_builder_config *cfg);
/* The profile (-1 for none) a run with the context's bound inputs uses: the
 * context's own, checked, or else the first that contains every shape. */
kiln_status kiln_context_pick_profile(const kiln_context *c, int *profile);
/* Checks one input shape about to be bound against the profiles it may run
 * in (all of them, or the context's own). */
kiln_status kiln_context_check_profile_input(const kiln_context *c, int value, int rank, const int64_t *dims);
/* Fills a public io info from a graph value (strings borrowed from g). */
void kiln_io_info_fill(const kiln_graph *g, int value, int rank, const int64_t *dims, kiln_io_info *info);

#endif
