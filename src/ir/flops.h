/*
 * flops.h - an estimate of the arithmetic a graph does in one run.
 */
#ifndef KILN_IR_FLOPS_H
#define KILN_IR_FLOPS_H

#include "ir/graph.h"

/* Floating-point operations of node `node` from the shapes recorded in the
 * IR (a multiply-add counts 2). Symbolic or unknown dims count as 1 and set
 * *symbolic. */
double kiln_node_flops(const kiln_graph *g, int node, int *symbolic);

#endif
