/*
 * pass_fuse_conv_add.c - a Conv (or a FusedConv without residual or
 * activation) whose output's only reader is an Add of a residual of the
 * same shape becomes a FusedConv with that residual Z: ResNet's shortcut.
 * An Add already fused with its activation (FusedAdd) brings it along; an
 * activation after a plain Add is fused later by fuse_conv_activation.
 */
#include "passes/fuse_activation.h"

/* Values a and b have one dtype and one shape, every dim known (a number or
 * the same symbol). */
static int same_shape(const kiln_graph *g, int a, int b)
{
    const kiln_value *va = &g->values[a], *vb = &g->values[b];
    if (va->dtype != vb->dtype || va->rank < 0 || va->rank != vb->rank)
        return 0;
    for (int d = 0; d < va->rank; d++)
        if (va->dims[d] == KILN_DIM_UNKNOWN || va->dims[d] != vb->dims[d])
            return 0;
    return 1;
}

kiln_status kiln_pass_fuse_conv_add(kiln_pass_ctx *ctx, int *changed)
{
    static const kiln_fusion conv = {"fuse_conv_add", "Conv", "FusedConv"};
    kiln_graph *g = ctx->g;
    kiln_uses u;
    KILN_TRY(kiln_uses_build(g, &u));
    kiln_status st = KILN_OK;
    for (int i = 0; i < g->n_nodes && st == KILN_OK; i++) {
        if (!kiln_fusion_producer(g, i, &conv) || kiln_fusion_has_input(&g->nodes[i], 3))
            continue;
        int y = g->nodes[i].outputs[0], z = -1;
        int add = kiln_match_add(g, &u, y, &z);
        if (add < 0 || !same_shape(g, y, z) || !same_shape(g, y, g->nodes[add].outputs[0]))
            continue;
        st = kiln_fuse_add_into(ctx, &conv, i, add, 3, z);
        *changed = 1;
    }
    kiln_uses_free(&u);
    return st;
}
