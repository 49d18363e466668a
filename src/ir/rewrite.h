/*
 * rewrite.h - editing a graph in place, for the optimization passes.
 *
 * Passes mark nodes dead and rewire value uses while node and value ids stay
 * stable; kiln_graph_compact then drops dead nodes and values nothing refers
 * to. Consumers are computed on demand (kiln_uses) and go stale after edits.
 */
#ifndef KILN_IR_REWRITE_H
#define KILN_IR_REWRITE_H

#include "ir/graph.h"

/* Readers of every value: node ids in node[first[v] .. first[v+1]). */
typedef struct kiln_uses {
    int n_values;
    int *first;
    int *node;
} kiln_uses;

kiln_status kiln_uses_build(const kiln_graph *g, kiln_uses *u);
void kiln_uses_free(kiln_uses *u);
/* How many node inputs read v (a node reading it twice counts twice). */
static inline int kiln_uses_count(const kiln_uses *u, int v) { return u->first[v + 1] - u->first[v]; }

/* Node n is dead: compaction removes it. */
void kiln_node_kill(kiln_graph *g, int n);
static inline int kiln_node_dead(const kiln_node *n) { return n->op_type[0] == '\0'; }

/* Every reader of `from` (node inputs, graph outputs) reads `to` instead.
 * When `from` is a graph output, the output keeps its name: `to` takes over
 * the name and `from` gets a fresh one. */
kiln_status kiln_value_replace(kiln_graph *g, int from, int to);

/* Node n's output k becomes value v, whose producer must be dead: a fusion
 * keeps the name of the result it absorbed (so per-layer comparisons and
 * users see the same tensor names). n's old output loses its producer and is
 * dropped by compaction when nothing reads it. */
void kiln_node_take_output(kiln_graph *g, int n, int k, int v);

/* A new value with a unique name made from `base`. */
kiln_status kiln_graph_new_value(kiln_graph *g, const char *base, int *id);
/* A new constant value holding t (ownership of t and its data moves in). */
kiln_status kiln_graph_new_constant(kiln_graph *g, const char *base, kiln_tensor *t, int *id);

/* Node n becomes op `op` of `domain` ("" for ONNX); inputs, outputs and
 * attributes stay. */
kiln_status kiln_node_set_op(kiln_graph *g, int n, const char *op, const char *domain);

/* Adds an attribute to node n (copies name and values). */
kiln_status kiln_node_set_int(kiln_graph *g, int n, const char *name, int64_t v);
kiln_status kiln_node_set_float(kiln_graph *g, int n, const char *name, float v);
kiln_status kiln_node_set_string(kiln_graph *g, int n, const char *name, const char *v);
kiln_status kiln_node_set_ints(kiln_graph *g, int n, const char *name, const int64_t *v, int64_t count);

/* Removes dead nodes, then values that no node, graph input or output
 * refers to; renumbers ids and producers. */
kiln_status kiln_graph_compact(kiln_graph *g);

/* A deep copy of g, except that constant data is borrowed (owns_data = 0):
 * the copy must not outlive g's constants. */
kiln_status kiln_graph_clone(const kiln_graph *g, kiln_graph **out);

#endif
