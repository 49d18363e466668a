/*
 * pass_dead_nodes.c - removes nodes none of whose outputs is read or is a
 * graph output, walking backwards so whole dead chains go in one pass.
 */
#include <stdlib.h>

#include "ir/verify.h"
#include "passes/pass.h"

kiln_status kiln_pass_dead_nodes(kiln_pass_ctx *ctx, int *changed)
{
    kiln_graph *g = ctx->g;
    kiln_uses u;
    KILN_TRY(kiln_uses_build(g, &u));
    int *order = malloc(sizeof(int) * (size_t)(g->n_nodes ? g->n_nodes : 1));
    int *reads = malloc(sizeof(int) * (size_t)(g->n_values ? g->n_values : 1));
    kiln_status st = (!order || !reads) ? kiln_error(KILN_ERR_OUT_OF_MEMORY, "dead nodes: out of memory")
                                        : kiln_graph_topo_order(g, order);
    for (int v = 0; st == KILN_OK && v < g->n_values; v++)
        reads[v] = kiln_uses_count(&u, v) + g->values[v].is_graph_output;
    int removed = 0;
    for (int i = g->n_nodes - 1; st == KILN_OK && i >= 0; i--) {
        kiln_node *n = &g->nodes[order[i]];
        int live = 0;
        for (int k = 0; k < n->n_outputs; k++)
            live |= n->outputs[k] >= 0 && reads[n->outputs[k]] > 0;
        if (live || kiln_node_dead(n))
            continue;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0)
                reads[n->inputs[k]]--;
        kiln_node_kill(g, order[i]);
        removed++;
    }
    free(order);
    free(reads);
    kiln_uses_free(&u);
    if (st == KILN_OK && removed) {
        *changed = 1;
        st = kiln_pass_record(ctx, "dead_nodes: %d nodes whose results nothing reads", removed);
    }
    return st;
}
