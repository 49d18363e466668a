/*
 * pass_remove_identity.c - removes Identity, and Dropout in inference
 * (no training_mode, mask unused), by rewiring readers to the input.
 */
#include <string.h>

#include "passes/pass.h"

/* Dropout is a no-op at inference unless training_mode is set or its mask
 * is read. */
static int inference_dropout(const kiln_graph *g, const kiln_uses *u, const kiln_node *n)
{
    if (strcmp(n->op_type, "Dropout") != 0)
        return 0;
    if (n->opset < 7 && kiln_attr_int(n, "is_test", 0) == 0)
        return 0;
    if (n->n_inputs > 2 && n->inputs[2] >= 0) {
        const kiln_tensor *t = g->values[n->inputs[2]].constant;
        if (!t || !t->data || t->dtype != KILN_BOOL || ((const uint8_t *)t->data)[0])
            return 0;
    }
    for (int k = 1; k < n->n_outputs; k++) {
        int v = n->outputs[k];
        if (v >= 0 && (kiln_uses_count(u, v) > 0 || g->values[v].is_graph_output))
            return 0;
    }
    return 1;
}

kiln_status kiln_pass_remove_identity(kiln_pass_ctx *ctx, int *changed)
{
    kiln_graph *g = ctx->g;
    kiln_uses u;
    KILN_TRY(kiln_uses_build(g, &u));
    kiln_status st = KILN_OK;
    for (int i = 0; i < g->n_nodes && st == KILN_OK; i++) {
        kiln_node *n = &g->nodes[i];
        if (kiln_node_dead(n) || n->domain[0] || n->n_inputs < 1 || n->inputs[0] < 0 || n->n_outputs < 1)
            continue;
        if (strcmp(n->op_type, "Identity") != 0 && !inference_dropout(g, &u, n))
            continue;
        int in = n->inputs[0], out = n->outputs[0];
        const kiln_value *vo = &g->values[out], *vi = &g->values[in];
        if (vo->is_graph_output && (vi->is_graph_input || vi->is_graph_output))
            continue; /* the graph's interface needs this copy */
        char label[256];
        kiln_node_label(g, i, label, sizeof label);
        st = kiln_value_replace(g, out, in);
        if (st == KILN_OK) {
            kiln_node_kill(g, i);
            *changed = 1;
            st = kiln_pass_record(ctx, "remove_identity: %s", label);
        }
    }
    kiln_uses_free(&u);
    return st;
}
