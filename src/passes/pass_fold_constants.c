/*
 * pass_fold_constants.c - evaluates nodes whose inputs are all constants
 * (and Shape / Size of tensors whose shape is known) once at build time,
 * replacing them by constants. With concrete input shapes this folds the
 * whole Shape -> Gather -> Concat -> Reshape subgraphs exporters write.
 */
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "ir/verify.h"
#include "passes/pass.h"

#define MAX_IO 64

static int input_ready(const kiln_graph *g, int v, int shape_only)
{
    const kiln_value *val = &g->values[v];
    if (val->constant)
        return 1;
    if (!shape_only || val->rank < 0)
        return 0;
    for (int d = 0; d < val->rank; d++)
        if (val->dims[d] < 0)
            return 0;
    return 1;
}

static int foldable(const kiln_pass_ctx *ctx, const kiln_node *n)
{
    const kiln_op_schema *s = kiln_op_find(n->domain, n->op_type);
    if (!s || (s->flags & KILN_OP_NONDETERMINISTIC) || n->n_inputs > MAX_IO || n->n_outputs > MAX_IO)
        return 0;
    for (int k = 0; k < n->n_inputs; k++)
        if (n->inputs[k] >= 0 && !input_ready(ctx->g, n->inputs[k], (s->flags & KILN_OP_SHAPE_ONLY) != 0))
            return 0;
    for (int k = 0; k < n->n_outputs; k++) {
        const kiln_value *o = n->outputs[k] >= 0 ? &ctx->g->values[n->outputs[k]] : NULL;
        if (!o)
            continue;
        kiln_tensor shape = {0};
        kiln_tensor_set_shape(&shape, o->dtype, o->rank, o->dims);
        int64_t ne = kiln_tensor_numel(&shape);
        if (o->rank < 0 || ne < 0 || !kiln_dtype_valid(o->dtype) ||
            (uint64_t)ne * kiln_dtype_size(o->dtype) > ctx->max_fold_bytes)
            return 0;
    }
    return 1;
}

/* Evaluates node i into fresh tensors out[]; 0 when it cannot be evaluated
 * now (the node then simply stays). */
static int evaluate(kiln_pass_ctx *ctx, int i, kiln_tensor *out)
{
    kiln_graph *g = ctx->g;
    const kiln_node *n = &g->nodes[i];
    kiln_tensor in_t[MAX_IO];
    kiln_tensor *in[MAX_IO], *outp[MAX_IO];
    int n_in = 0, n_out = 0;
    for (int k = 0; k < n->n_inputs; k++) {
        in[k] = NULL;
        if (n->inputs[k] < 0)
            continue;
        const kiln_value *v = &g->values[n->inputs[k]];
        memset(&in_t[k], 0, sizeof in_t[k]);
        if (v->constant) {
            in_t[k] = *v->constant;
            in_t[k].owns_data = 0;
        } else {
            kiln_tensor_set_shape(&in_t[k], v->dtype, v->rank, v->dims);
        }
        in[k] = &in_t[k];
        n_in = k + 1;
    }
    for (int k = 0; k < n->n_outputs; k++) {
        memset(&out[k], 0, sizeof out[k]);
        outp[k] = n->outputs[k] >= 0 ? &out[k] : NULL;
        if (outp[k])
            n_out = k + 1;
    }
    kiln_op_ctx op = {.graph = g, .node = n, .opset = n->opset, .n_in = n_in, .n_out = n_out,
                      .in = in, .out = outp, .max_bytes = ctx->max_fold_bytes};
    kiln_status st = kiln_node_infer(&op);
    for (int k = 0; st == KILN_OK && k < n_out; k++)
        if (outp[k])
            st = kiln_tensor_alloc(outp[k], ctx->max_fold_bytes, "folded constant");
    if (st == KILN_OK)
        st = ctx->eval.eval(ctx->eval.user, &op);
    if (st != KILN_OK) {
        for (int k = 0; k < n->n_outputs; k++)
            kiln_tensor_clear(&out[k]);
        kiln_error_clear();
        return 0;
    }
    return 1;
}

static kiln_status replace_outputs(kiln_pass_ctx *ctx, int i, kiln_tensor *out)
{
    kiln_graph *g = ctx->g;
    kiln_status st = KILN_OK;
    int n_out = g->nodes[i].n_outputs;
    for (int k = 0; k < n_out; k++) {
        int v = g->nodes[i].outputs[k], c;
        if (v < 0 || st != KILN_OK) {
            kiln_tensor_clear(&out[k]);
            continue;
        }
        st = kiln_graph_new_constant(g, g->values[v].name, &out[k], &c);
        if (st == KILN_OK)
            st = kiln_value_replace(g, v, c);
    }
    if (st == KILN_OK)
        kiln_node_kill(g, i);
    return st;
}

kiln_status kiln_pass_fold_constants(kiln_pass_ctx *ctx, int *changed)
{
    kiln_graph *g = ctx->g;
    int *order = malloc(sizeof(int) * (size_t)(g->n_nodes ? g->n_nodes : 1));
    if (!order)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "fold constants: out of memory");
    kiln_status st = kiln_graph_topo_order(g, order);
    int folded = 0, n_nodes = g->n_nodes;
    for (int j = 0; j < n_nodes && st == KILN_OK; j++) {
        int i = order[j];
        kiln_tensor out[MAX_IO];
        if (kiln_node_dead(&g->nodes[i]) || !foldable(ctx, &g->nodes[i]) || !evaluate(ctx, i, out))
            continue;
        /* folding later nodes needs this node's outputs' shapes: evaluate set them */
        st = replace_outputs(ctx, i, out);
        folded++;
    }
    free(order);
    if (st == KILN_OK && folded) {
        *changed = 1;
        st = kiln_pass_record(ctx, "fold_constants: %d nodes evaluated at build time", folded);
    }
    return st;
}
