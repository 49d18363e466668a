/*
 * shape_infer.h - shape and dtype inference over a whole graph.
 *
 * Per node, the op's infer function (op_registry.h) runs on concrete dims.
 * Symbolic dims are handled without symbolic algebra in every op: the graph
 * is inferred twice, each symbol replaced by a different number in each run;
 * a dim that comes out as symbol s's number in both runs is s, a dim equal
 * in both runs is that constant, anything else (batch*seq, data-dependent
 * sizes) is unknown. Small shape tensors (Shape -> Gather -> Concat ...)
 * are evaluated on the way through a caller-given hook, so exporter shape
 * chains resolve.
 */
#ifndef KILN_IR_SHAPE_INFER_H
#define KILN_IR_SHAPE_INFER_H

#include "ir/op_registry.h"

/* Evaluates node `node` on inputs that all have data; fills out[] data. */
typedef kiln_status (*kiln_eval_fn)(void *user, kiln_op_ctx *ctx);

typedef struct kiln_eval_hook {
    kiln_eval_fn eval;
    void *user;
} kiln_eval_hook;

/* Largest output (elements) evaluated during inference. */
#define KILN_INFER_EVAL_MAX_ELEMS 4096

/* Runs node's infer function after arity checks; out[] get dtype and shape.
 * Errors carry the node's label. */
kiln_status kiln_node_infer(kiln_op_ctx *ctx);
/* Builds the op context for node `node` of g over per-value tensors vals
 * (in/out pointer arrays provided by the caller, sized n_inputs/n_outputs). */
void kiln_node_ctx(const kiln_graph *g, int node, kiln_tensor *vals, kiln_tensor **in, kiln_tensor **out,
                   size_t max_bytes, kiln_op_ctx *ctx);

/* Infers dtype and shape of every value of g. With strict = 0, a failure
 * caused by symbolic substitution or by an op kiln does not know leaves the
 * affected values unknown instead of failing. */
kiln_status kiln_graph_infer_shapes(kiln_graph *g, const kiln_eval_hook *hook, int strict);

#endif
