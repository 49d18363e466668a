/*
 * executor.h - runs a graph's nodes on a backend, one after another, with
 * shapes inferred from the actual inputs at each step (so data-dependent
 * shapes and shape subgraphs just work), and frees each intermediate after
 * its last use.
 *
 * Activation memory: every intermediate whose shape is known when the plan
 * is built (all dims fixed) gets an offset in one arena, laid out once by
 * the liveness planner (memory_plan.h) so that tensors alive at different
 * times share memory, and elementwise ops may write over an input that dies
 * at them. A run borrows an arena from the plan's pool (allocating one only
 * when every pooled arena is busy in another thread's run) and gives it back
 * when it returns, so runs reuse arenas and concurrent runs never share one.
 * Graph outputs, values with dynamic shapes, and any value whose actual size
 * exceeds its planned slot are allocated per tensor as before.
 *
 * Optimization profiles (graph->profiles): the graph keeps its symbolic
 * dims, and each profile gets its own arena layout, planned on the shapes
 * inferred with every input at the profile's MAX shape; a run in a profile
 * places each smaller tensor at the start of its slot, so every input shape
 * inside the profile runs at its own cost in memory laid out once.
 */
#ifndef KILN_RUNTIME_EXECUTOR_H
#define KILN_RUNTIME_EXECUTOR_H

#include "backends/backend.h"
#include "ir/shape_infer.h"

/* Where one value lives during a run. */
typedef struct kiln_value_slot {
    int in_arena;      /* 1: at `offset` in the arena; 0: allocated per tensor */
    int inplace_input; /* in_arena and sharing the storage of this input of its producer, else -1 */
    size_t offset;
    size_t bytes; /* the planned size; a larger actual size falls back to allocation */
} kiln_value_slot;

struct kiln_arena_pool;

/* The arena laid out for one set of value shapes. */
typedef struct kiln_arena_layout {
    kiln_value_slot *slots;       /* per value */
    size_t naive_bytes;           /* arena values, each in its own (aligned) buffer */
    size_t planned_bytes;         /* the arena's size */
    struct kiln_arena_pool *pool; /* arenas not in use; NULL when the arena is empty */
} kiln_arena_layout;

typedef struct kiln_plan {
    const kiln_graph *graph;
    kiln_backend backend;
    int *order;                   /* topological order of nodes */
    int *last_use;                /* per value: position in order of its last reader, -1 if none */
    void **state;                 /* per node: backend state */
    const kiln_tactic **tactics;  /* per layout, then per node: the tuned tactic (src/tune; layout p's
                                   * row starts at p * graph->n_nodes), NULL: the backend's kernel */
    size_t max_bytes;             /* per-tensor allocation ceiling */
    int n_layouts;                /* one per profile; one for the graph's own shapes when it has none */
    kiln_arena_layout *layouts;
    kiln_value_slot *slots;       /* layouts[0].slots: the only layout of a graph without profiles */
    size_t naive_bytes;           /* of the layout with the largest arena */
    size_t planned_bytes;         /* the largest arena */
} kiln_plan;

/* Which shape of a profile's bounds. */
typedef enum kiln_profile_point { KILN_PROFILE_MIN, KILN_PROFILE_OPT, KILN_PROFILE_MAX } kiln_profile_point;

/* A copy of g with every input that profile `profile` bounds at its `point`
 * shape, and every value's shape inferred from those: the arena is planned
 * on the MAX copy, and tactics are to be tuned on the OPT copy (TensorRT's
 * "kOPT"). Value and node ids are g's; constants are borrowed from g. Caller
 * frees *out with kiln_graph_free. */
kiln_status kiln_graph_at_profile(const kiln_graph *g, int profile, kiln_profile_point point, kiln_graph **out);

/* Checks every node is supported, prepares backend state and lays out the
 * activation arena (one per profile). */
kiln_status kiln_plan_create(kiln_plan *plan, const kiln_graph *g, size_t max_bytes);
void kiln_plan_release(kiln_plan *plan);

/* Called after each node runs, with its outputs (owned by the run). A status
 * other than KILN_OK stops the run with that status. */
typedef struct kiln_run_observer {
    kiln_status (*after_node)(void *user, const kiln_graph *g, int node, kiln_tensor *const *outputs, int n_out);
    void *user;
} kiln_run_observer;

/* Runs the plan; observer may be NULL. vals has one tensor per graph value: graph inputs bound by
 * the caller (data borrowed); constants are bound here as views. On return
 * graph outputs hold owned data; other intermediates are released. Several
 * threads may run one plan at once, each with its own vals. */
kiln_status kiln_plan_run(const kiln_plan *plan, kiln_tensor *vals, const kiln_run_observer *observer);
/* The same in profile `profile`'s arena layout (-1: the first layout). The
 * caller has checked the inputs lie inside the profile; shapes that do not
 * fit a slot are allocated per tensor all the same. */
kiln_status kiln_plan_run_profile(const kiln_plan *plan, int profile, kiln_tensor *vals,
                                  const kiln_run_observer *observer);

/* Infers, allocates (poisoned) and runs one node on the CPU reference
 * kernels; the evaluation hook for shape inference. */
kiln_status kiln_eval_node_cpu(void *user, kiln_op_ctx *ctx);

#endif
