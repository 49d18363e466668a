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
    size_t bytes;      /* the planned size; a larger actual size falls back to allocation */
} kiln_value_slot;

struct kiln_arena_pool;

typedef struct kiln_plan {
    const kiln_graph *graph;
    kiln_backend backend;
    int *order;       /* topological order of nodes */
    int *last_use;    /* per value: position in order of its last reader, -1 if none */
    void **state;     /* per node: backend state */
    size_t max_bytes; /* per-tensor allocation ceiling */
    kiln_value_slot *slots;        /* per value */
    size_t naive_bytes;            /* arena values, each in its own (aligned) buffer */
    size_t planned_bytes;          /* the arena's size */
    struct kiln_arena_pool *pool;  /* arenas not in use; NULL when the arena is empty */
} kiln_plan;

/* Checks every node is supported, prepares backend state and lays out the
 * activation arena. */
kiln_status kiln_plan_create(kiln_plan *plan, const kiln_graph *g, size_t max_bytes);
void kiln_plan_release(kiln_plan *plan);

/* Runs the plan. vals has one tensor per graph value: graph inputs bound by
 * the caller (data borrowed); constants are bound here as views. On return
 * graph outputs hold owned data; other intermediates are released. Several
 * threads may run one plan at once, each with its own vals. */
kiln_status kiln_plan_run(const kiln_plan *plan, kiln_tensor *vals);

/* Infers, allocates (poisoned) and runs one node on the CPU reference
 * kernels; the evaluation hook for shape inference. */
kiln_status kiln_eval_node_cpu(void *user, kiln_op_ctx *ctx);

#endif
