/*
 * flops.c - FLOP estimates: exact formulas for the ops that dominate
 * (convolutions, matrix products, attention), one operation per output
 * element for everything else.
 */
#include "ir/flops.h"

#include <string.h>

static double dim_or_one(int64_t d, int *symbolic)
{
    if (d < 0) {
        *symbolic = 1;
        return 1;
    }
    return (double)d;
}

static double elems(const kiln_graph *g, int v, int *symbolic)
{
    if (v < 0 || g->values[v].rank < 0)
        return 0;
    double n = 1;
    for (int d = 0; d < g->values[v].rank; d++)
        n *= dim_or_one(g->values[v].dims[d], symbolic);
    return n;
}

static const kiln_value *input(const kiln_graph *g, const kiln_node *n, int k)
{
    return k < n->n_inputs && n->inputs[k] >= 0 ? &g->values[n->inputs[k]] : NULL;
}

double kiln_node_flops(const kiln_graph *g, int node, int *symbolic)
{
    const kiln_node *n = &g->nodes[node];
    double out = n->n_outputs > 0 ? elems(g, n->outputs[0], symbolic) : 0;
    const kiln_value *w = input(g, n, 1);
    /* kiln's fused ops count as the product they start with (the epilogue is free) */
    int fused = !strcmp(n->domain, "kiln");
    if ((!strcmp(n->op_type, "Conv") || !strcmp(n->op_type, "ConvInteger") ||
         (fused && !strcmp(n->op_type, "FusedConv"))) &&
        w && w->rank >= 2) {
        /* each output element: Cin/group * prod(kernel) multiply-adds */
        double per = 1;
        for (int d = 1; d < w->rank; d++)
            per *= dim_or_one(w->dims[d], symbolic);
        return 2 * out * per;
    }
    if (fused && !strcmp(n->op_type, "NhwcConv") && w && w->rank == 4) {
        /* weights [KH, KW, C/group, M]: KH * KW * C/group multiply-adds per output */
        return 2 * out * dim_or_one(w->dims[0], symbolic) * dim_or_one(w->dims[1], symbolic) *
               dim_or_one(w->dims[2], symbolic);
    }
    if (!strcmp(n->op_type, "ConvTranspose") && w && w->rank >= 2) {
        const kiln_value *x = input(g, n, 0);
        double per = 1;
        for (int d = 1; d < w->rank; d++)
            per *= dim_or_one(w->dims[d], symbolic);
        return 2 * (x ? elems(g, n->inputs[0], symbolic) : 0) * per;
    }
    int gemm = !strcmp(n->op_type, "Gemm") || (fused && !strcmp(n->op_type, "FusedGemm"));
    if (gemm || !strcmp(n->op_type, "MatMul") || !strcmp(n->op_type, "MatMulInteger") ||
        (fused && !strcmp(n->op_type, "FusedMatMul"))) {
        const kiln_value *a = input(g, n, 0);
        if (a && a->rank >= 1) {
            int trans_a = 0;
            for (int i = 0; i < n->n_attrs; i++)
                if (!strcmp(n->attrs[i].name, "transA"))
                    trans_a = (int)n->attrs[i].i;
            int kdim = (gemm && trans_a) ? 0 : a->rank - 1;
            return 2 * out * dim_or_one(a->dims[kdim], symbolic);
        }
    }
    if (!strcmp(n->op_type, "Attention")) {
        const kiln_value *k = input(g, n, 1);
        double kv_len = k && k->rank >= 2 ? dim_or_one(k->dims[k->rank - 2], symbolic) : 1;
        return 4 * out * kv_len;
    }
    if (!strcmp(n->op_type, "Constant") || !strcmp(n->op_type, "Shape") || !strcmp(n->op_type, "Reshape") ||
        !strcmp(n->op_type, "Identity") || !strcmp(n->op_type, "Flatten") || !strcmp(n->op_type, "Squeeze") ||
        !strcmp(n->op_type, "Unsqueeze"))
        return 0;
    return out;
}
