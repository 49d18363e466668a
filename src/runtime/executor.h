/*
 * executor.h - runs a graph's nodes on a backend, one after another, with
 * shapes inferred from the actual inputs at each step (so data-dependent
 * shapes and shape subgraphs just work), and frees each intermediate after
 * its last use.
 */
#ifndef KILN_RUNTIME_EXECUTOR_H
#define KILN_RUNTIME_EXECUTOR_H

#include "backends/backend.h"
#include "ir/shape_infer.h"

typedef struct kiln_plan {
    const kiln_graph *graph;
    kiln_backend backend;
    int *order;       /* topological order of nodes */
    int *last_use;    /* per value: position in order of its last reader, -1 if none */
    void **state;     /* per node: backend state */
    size_t max_bytes; /* per-tensor allocation ceiling */
} kiln_plan;

/* Checks every node is supported and prepares backend state. */
kiln_status kiln_plan_create(kiln_plan *plan, const kiln_graph *g, size_t max_bytes);
void kiln_plan_release(kiln_plan *plan);

/* Runs the plan. vals has one tensor per graph value: graph inputs bound by
 * the caller (data borrowed); constants are bound here as views. On return
 * graph outputs hold owned data; other intermediates are released. */
kiln_status kiln_plan_run(const kiln_plan *plan, kiln_tensor *vals);

/* Infers, allocates (poisoned) and runs one node on the CPU reference
 * kernels; the evaluation hook for shape inference. */
kiln_status kiln_eval_node_cpu(void *user, kiln_op_ctx *ctx);

#endif
