/*
 * pattern_match.h - matching helpers shared by the pattern passes that turn
 * exporters' op chains into single ONNX ops (fuse_layernorm, fuse_gelu,
 * fuse_attention): node and value tests over a use list, scalar constants
 * compared with a tolerance, and the rewrite that replaces a matched chain
 * by one new node.
 *
 * A chain is matched from values that must stay private to it: each
 * intermediate value has one reader (or, for x * x, one reader node) and is
 * not a graph output, so killing the chain loses nothing.
 */
#ifndef KILN_PASSES_PATTERN_MATCH_H
#define KILN_PASSES_PATTERN_MATCH_H

#include "passes/pass.h"

/* Most nodes one matched chain spans. */
#define KILN_PM_MAX_NODES 16

/* A matched chain: its nodes, and the value its last node produces. */
typedef struct kiln_pm_chain {
    int nodes[KILN_PM_MAX_NODES];
    int n;
    int out;
} kiln_pm_chain;

/* Node n is live, of the default domain and of type op. */
int kiln_pm_is(const kiln_node *n, const char *op);
/* The producer of v when it is a live `op` node, else -1. */
int kiln_pm_producer(const kiln_graph *g, int v, const char *op);
/* The node reading v when v is private to it: every use of v is by that one
 * node, v is not a graph output, and the node is a live `op` with a first
 * output. Else -1. */
int kiln_pm_reader(const kiln_graph *g, const kiln_uses *u, int v, const char *op);
/* For a two-input node that reads v once: its other input, else -1. */
int kiln_pm_other(const kiln_node *n, int v);
/* v is a constant with one element (any rank) of a float or integer type. */
int kiln_pm_scalar(const kiln_graph *g, int v, double *out);
/* v is a one-element constant within 1e-4 (relative) of want. */
int kiln_pm_scalar_near(const kiln_graph *g, int v, double want);
/* Dims known to be equal: the same number, or the same symbol. */
int kiln_pm_dim_eq(int64_t a, int64_t b);
/* float16, bfloat16, float32 or float64: the types the fused kernels take. */
int kiln_pm_std_float(kiln_dtype dt);

/* Adds node i to chain c (no-op once full: kiln_pm_chain_ok then fails). */
void kiln_pm_push(kiln_pm_chain *c, int i);
int kiln_pm_chain_ok(const kiln_pm_chain *c);

/* Replaces chain c by one `op` node of the default domain reading inputs
 * (-1: absent) and producing c->out; its opset is at least min_opset and its
 * name the last chain node's. Records "<pass>: <chain nodes> into <op>".
 * *index: the new node. */
kiln_status kiln_pm_replace(kiln_pass_ctx *ctx, const char *pass, const kiln_pm_chain *c, const char *op,
                            int min_opset, const int *inputs, int n_inputs, int *index);

#endif
