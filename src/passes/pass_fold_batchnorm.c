/*
 * pass_fold_batchnorm.c - folds an inference BatchNormalization that reads
 * only a Conv's output into that Conv's weights and bias:
 *   s = scale / sqrt(var + eps),  W'[c] = W[c] * s[c],  B'[c] = (B[c] - mean[c]) * s[c] + bias[c]
 * computed in double and stored in the weights' dtype. New constants are made
 * (the old ones may be shared); the dead ones are dropped by compaction.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "passes/pass.h"

typedef struct bn_params {
    const kiln_tensor *scale, *bias, *mean, *var;
    double eps;
} bn_params;

static int per_channel(const kiln_tensor *t, int64_t c)
{
    return t && t->data && t->rank == 1 && t->dims[0] == c && kiln_dtype_is_float(t->dtype);
}

/* The BatchNormalization node reading conv output v, when it can be folded. */
static int find_bn(const kiln_graph *g, const kiln_uses *u, int v, int64_t cout, bn_params *p)
{
    if (!kiln_pass_single_use(g, u, v))
        return -1;
    int b = u->node[u->first[v]];
    const kiln_node *n = &g->nodes[b];
    if (strcmp(n->op_type, "BatchNormalization") || n->domain[0] || n->n_inputs < 5 || n->inputs[0] != v)
        return -1;
    if (kiln_attr_int(n, "training_mode", 0) != 0 || (n->opset < 7 && kiln_attr_int(n, "is_test", 0) == 0))
        return -1;
    for (int k = 1; k < n->n_outputs; k++)
        if (n->outputs[k] >= 0)
            return -1; /* running statistics requested */
    p->scale = kiln_pass_const_input(g, n, 1);
    p->bias = kiln_pass_const_input(g, n, 2);
    p->mean = kiln_pass_const_input(g, n, 3);
    p->var = kiln_pass_const_input(g, n, 4);
    p->eps = kiln_attr_float(n, "epsilon", 1e-5f);
    if (!per_channel(p->scale, cout) || !per_channel(p->bias, cout) || !per_channel(p->mean, cout) ||
        !per_channel(p->var, cout))
        return -1;
    return b;
}

static kiln_status folded_weights(const kiln_tensor *w, const kiln_tensor *cb, const bn_params *p, kiln_tensor *nw,
                                  kiln_tensor *nb)
{
    int64_t cout = w->dims[0], per = kiln_tensor_numel(w) / (cout ? cout : 1);
    kiln_tensor_set_shape(nw, w->dtype, w->rank, w->dims);
    kiln_tensor_set_shape(nb, w->dtype, 1, &cout);
    KILN_TRY(kiln_tensor_alloc(nw, SIZE_MAX, "folded weights"));
    kiln_status st = kiln_tensor_alloc(nb, SIZE_MAX, "folded bias");
    if (st != KILN_OK) {
        kiln_tensor_clear(nw);
        return st;
    }
    for (int64_t c = 0; c < cout; c++) {
        double s = kiln_load_f64(p->scale->data, p->scale->dtype, (size_t)c) /
                   sqrt(kiln_load_f64(p->var->data, p->var->dtype, (size_t)c) + p->eps);
        double b0 = cb ? kiln_load_f64(cb->data, cb->dtype, (size_t)c) : 0.0;
        double m = kiln_load_f64(p->mean->data, p->mean->dtype, (size_t)c);
        kiln_store_f64(nb->data, nb->dtype, (size_t)c, (b0 - m) * s + kiln_load_f64(p->bias->data, p->bias->dtype,
                                                                                    (size_t)c));
        for (int64_t i = c * per; i < (c + 1) * per; i++)
            kiln_store_f64(nw->data, nw->dtype, (size_t)i, kiln_load_f64(w->data, w->dtype, (size_t)i) * s);
    }
    return KILN_OK;
}

static kiln_status fold_one(kiln_pass_ctx *ctx, int conv, int bn, const bn_params *p)
{
    kiln_graph *g = ctx->g;
    const kiln_tensor *w = kiln_pass_const_input(g, &g->nodes[conv], 1);
    const kiln_tensor *cb = kiln_pass_const_input(g, &g->nodes[conv], 2);
    kiln_tensor nw = {0}, nb = {0};
    int wv, bv;
    KILN_TRY(folded_weights(w, cb, p, &nw, &nb));
    char base[300];
    snprintf(base, sizeof base, "%s.folded", g->values[g->nodes[conv].inputs[1]].name);
    kiln_status st = kiln_graph_new_constant(g, base, &nw, &wv);
    if (st == KILN_OK) {
        snprintf(base, sizeof base, "%s.bias", g->values[wv].name);
        st = kiln_graph_new_constant(g, base, &nb, &bv);
    } else {
        kiln_tensor_clear(&nb);
    }
    KILN_TRY(st);
    kiln_node *n = &g->nodes[conv];
    if (n->n_inputs < 3) {
        int *grown = realloc(n->inputs, sizeof(int) * 3);
        if (!grown)
            return kiln_error(KILN_ERR_OUT_OF_MEMORY, "fold batchnorm: out of memory");
        n->inputs = grown;
        n->n_inputs = 3;
    }
    n->inputs[1] = wv;
    n->inputs[2] = bv;
    int bn_out = g->nodes[bn].outputs[0];
    kiln_node_kill(g, bn);
    kiln_node_take_output(g, conv, 0, bn_out);
    return KILN_OK;
}

kiln_status kiln_pass_fold_batchnorm(kiln_pass_ctx *ctx, int *changed)
{
    kiln_graph *g = ctx->g;
    kiln_uses u;
    KILN_TRY(kiln_uses_build(g, &u));
    kiln_status st = KILN_OK;
    int folded = 0;
    for (int i = 0; i < g->n_nodes && st == KILN_OK; i++) {
        const kiln_node *n = &g->nodes[i];
        if (kiln_node_dead(n) || strcmp(n->op_type, "Conv") || n->domain[0] || n->n_inputs < 2 ||
            n->n_outputs != 1)
            continue;
        const kiln_tensor *w = kiln_pass_const_input(g, n, 1);
        const kiln_tensor *cb = kiln_pass_const_input(g, n, 2);
        if (!w || !w->data || w->rank < 3 || !kiln_dtype_is_float(w->dtype) ||
            (n->n_inputs > 2 && n->inputs[2] >= 0 && !cb))
            continue;
        bn_params p;
        int bn = find_bn(g, &u, n->outputs[0], w->dims[0], &p);
        if (bn < 0)
            continue;
        char conv_label[256], bn_label[256];
        kiln_node_label(g, i, conv_label, sizeof conv_label);
        kiln_node_label(g, bn, bn_label, sizeof bn_label);
        st = fold_one(ctx, i, bn, &p);
        if (st == KILN_OK)
            st = kiln_pass_record(ctx, "fold_batchnorm: %s into Conv %s", bn_label, conv_label);
        folded++;
    }
    kiln_uses_free(&u);
    if (folded)
        *changed = 1;
    return st;
}
