/*
 * tactic_prepare.c - readies a plan's tactics before its first run, so that
 * the first inference costs what the others do: every layer whose tactic
 * has a prepare step (oneDNN makes its primitive and reorders the weights)
 * runs it at the layer's shapes (a profile's OPT shapes), and the matrix
 * product provider does its one-time setup on every pool thread.
 */
#include <stdlib.h>

#include "backends/cpu/cpu_gemm.h"
#include "ir/shape_infer.h"
#include "tune/autotune.h"

#define MAX_LAYER_IO 16

/* Value v of gs as a tensor of its shape (constants: their data, borrowed);
 * 0 when its shape is not fixed. */
static int shaped(const kiln_graph *gs, int v, kiln_tensor *t)
{
    const kiln_value *val = &gs->values[v];
    if (val->constant) {
        *t = *val->constant;
        t->owns_data = 0;
        return 1;
    }
    if (val->rank < 0)
        return 0;
    for (int d = 0; d < val->rank; d++)
        if (val->dims[d] < 0)
            return 0;
    kiln_tensor_set_shape(t, val->dtype, val->rank, val->dims);
    return 1;
}

/* Prepares node's tactic t at gs's shapes; a layer whose shapes are not
 * fixed, or that the tactic does not take at them, is left to its first run. */
static kiln_status prepare_node(const kiln_plan *plan, const kiln_graph *gs, int node, const kiln_tactic *t,
                                kiln_tensor *vals)
{
    const kiln_node *n = &gs->nodes[node];
    kiln_tensor *in[MAX_LAYER_IO], *out[MAX_LAYER_IO];
    if (n->n_inputs > MAX_LAYER_IO || n->n_outputs > MAX_LAYER_IO)
        return KILN_OK;
    for (int k = 0; k < n->n_inputs; k++)
        if (n->inputs[k] >= 0 && !shaped(gs, n->inputs[k], &vals[n->inputs[k]]))
            return KILN_OK;
    for (int k = 0; k < n->n_outputs; k++)
        if (n->outputs[k] >= 0 && !shaped(gs, n->outputs[k], &vals[n->outputs[k]]))
            return KILN_OK;
    kiln_op_ctx ctx;
    kiln_node_ctx(gs, node, vals, in, out, plan->max_bytes, &ctx);
    return t->supports(&ctx) ? t->prepare(&ctx) : KILN_OK;
}

/* The tactics of layout p, prepared at gs's shapes. */
static kiln_status prepare_layout(const kiln_plan *plan, const kiln_graph *gs, int p)
{
    const kiln_graph *g = plan->graph;
    const kiln_tactic *const *row = plan->tactics + (size_t)p * (size_t)g->n_nodes;
    kiln_tensor *vals = calloc((size_t)(g->n_values ? g->n_values : 1), sizeof *vals);
    if (!vals)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "preparing tactics: out of memory");
    kiln_status st = KILN_OK;
    for (int node = 0; node < g->n_nodes && st == KILN_OK; node++)
        if (row[node] && row[node]->prepare)
            st = prepare_node(plan, gs, node, row[node], vals);
    free(vals); /* shapes only: no tensor owns data */
    return st;
}

kiln_status kiln_plan_prepare_tactics(const kiln_plan *plan)
{
    const kiln_graph *g = plan->graph;
    kiln_sgemm_prepare();
    for (int p = 0; plan->tactics && p < plan->n_layouts; p++) {
        kiln_graph *opt = NULL;
        if (g->n_profiles > 0)
            KILN_TRY(kiln_graph_at_profile(g, p, KILN_PROFILE_OPT, &opt));
        kiln_status st = prepare_layout(plan, opt ? opt : g, p);
        kiln_graph_free(opt);
        KILN_TRY(st);
    }
    return KILN_OK;
}
