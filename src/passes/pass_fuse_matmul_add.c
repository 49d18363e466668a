/*
 * pass_fuse_matmul_add.c - a MatMul by a constant matrix B whose output's
 * only reader is an Add of a constant bias vector along the last dim (a
 * linear layer) becomes a FusedMatMul with that bias. An Add already fused
 * with its activation (FusedAdd) brings it along; an activation after a
 * plain Add is fused later by fuse_matmul_activation.
 */
#include "passes/fuse_activation.h"

/* Value c is a constant vector of y's dtype and of B's column count n. */
static int is_bias(const kiln_graph *g, int c, int y, int64_t n)
{
    const kiln_tensor *t = g->values[c].constant;
    return t && t->data && t->rank == 1 && t->dims[0] == n && t->dtype == g->values[y].dtype;
}

kiln_status kiln_pass_fuse_matmul_add(kiln_pass_ctx *ctx, int *changed)
{
    static const kiln_fusion matmul = {"fuse_matmul_add", "MatMul", "FusedMatMul"};
    kiln_graph *g = ctx->g;
    kiln_uses u;
    KILN_TRY(kiln_uses_build(g, &u));
    kiln_status st = KILN_OK;
    for (int i = 0; i < g->n_nodes && st == KILN_OK; i++) {
        const kiln_node *n = &g->nodes[i];
        if (!kiln_fusion_producer(g, i, &matmul) || kiln_fusion_has_input(n, 2))
            continue;
        const kiln_tensor *b = kiln_pass_const_input(g, n, 1);
        int y = n->outputs[0], bias = -1;
        if (!b || b->rank != 2 || g->values[y].rank < 1)
            continue;
        int add = kiln_match_add(g, &u, y, &bias);
        if (add < 0 || !is_bias(g, bias, y, b->dims[1]))
            continue;
        st = kiln_fuse_add_into(ctx, &matmul, i, add, 2, bias);
        *changed = 1;
    }
    kiln_uses_free(&u);
    return st;
}
