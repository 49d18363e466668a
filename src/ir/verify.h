/*
 * verify.h - graph verification and topological order.
 */
#ifndef KILN_IR_VERIFY_H
#define KILN_IR_VERIFY_H

#include "ir/graph.h"

/* Checks: ids in range, each value produced at most once, every node input
 * and graph output has a producer (a node, a graph input or a constant), no
 * cycles. outer (may be NULL) names values visible from an enclosing graph. */
kiln_status kiln_graph_verify(const kiln_graph *g, const kiln_graph *outer);
/* Writes a topological order of g's nodes into order (g->n_nodes entries);
 * fails on a cycle, naming a node on it. */
kiln_status kiln_graph_topo_order(const kiln_graph *g, int *order);

#endif
