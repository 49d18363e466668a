/*
 * executor.c - node-by-node execution (see executor.h).
 */
#include "runtime/executor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_kernels.h"
#include "core/dtype.h"
#include "ir/verify.h"

#define MAX_NODE_IO 256

kiln_status kiln_plan_create(kiln_plan *plan, const kiln_graph *g, size_t max_bytes)
{
    memset(plan, 0, sizeof *plan);
    plan->graph = g;
    plan->max_bytes = max_bytes;
    KILN_TRY(kiln_backend_cpu_create(&plan->backend));
    size_t nn = (size_t)(g->n_nodes ? g->n_nodes : 1);
    plan->order = malloc(nn * sizeof(int));
    plan->state = calloc(nn, sizeof(void *));
    plan->last_use = malloc(sizeof(int) * (size_t)(g->n_values ? g->n_values : 1));
    if (!plan->order || !plan->state || !plan->last_use) {
        kiln_plan_release(plan);
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    }
    kiln_status st = kiln_graph_topo_order(g, plan->order);
    for (int v = 0; v < g->n_values; v++)
        plan->last_use[v] = -1;
    for (int i = 0; i < g->n_nodes && st == KILN_OK; i++) {
        const kiln_node *n = &g->nodes[plan->order[i]];
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0)
                plan->last_use[n->inputs[k]] = i;
    }
    /* every node must be known and supported by the backend */
    for (int i = 0; i < g->n_nodes && st == KILN_OK; i++) {
        int node = plan->order[i];
        const kiln_node *n = &g->nodes[node];
        char label[256], why[256];
        kiln_node_label(g, node, label, sizeof label);
        if (!kiln_op_find(n->domain, n->op_type)) {
            st = kiln_error(KILN_ERR_UNSUPPORTED, "unsupported op %s (opset %d) at node %s", n->op_type, n->opset,
                            label);
            break;
        }
        kiln_op_ctx ctx = {.graph = g, .node = n, .opset = n->opset, .max_bytes = max_bytes};
        if (!plan->backend.iface->supports(plan->backend.ctx, &ctx, why, sizeof why)) {
            st = kiln_error(KILN_ERR_UNSUPPORTED, "unsupported op %s (opset %d) at node %s: %s", n->op_type,
                            n->opset, label, why);
            break;
        }
        st = plan->backend.iface->prepare(plan->backend.ctx, &ctx, &plan->state[node]);
    }
    if (st != KILN_OK)
        kiln_plan_release(plan);
    return st;
}

void kiln_plan_release(kiln_plan *plan)
{
    if (plan->state && plan->backend.iface && plan->graph)
        for (int i = 0; i < plan->graph->n_nodes; i++)
            if (plan->state[i])
                plan->backend.iface->release(plan->backend.ctx, plan->state[i]);
    kiln_backend_free(&plan->backend);
    free(plan->order);
    free(plan->state);
    free(plan->last_use);
    memset(plan, 0, sizeof *plan);
}

/* Shapes the outputs, allocates and poisons them: a kernel that forgets to
 * write an element leaves NaN / all-ones bits that tests catch. */
static kiln_status alloc_outputs(kiln_op_ctx *ctx, const char *label)
{
    for (int k = 0; k < ctx->n_out; k++) {
        kiln_tensor *t = ctx->out[k];
        if (!t)
            continue;
        if (t->rank < 0 || kiln_tensor_numel(t) < 0)
            return kiln_error(KILN_ERR_INTERNAL, "node %s: output %d has no known shape after inference", label, k);
        if (!kiln_dtype_valid(t->dtype))
            return kiln_error(KILN_ERR_UNSUPPORTED, "node %s: output %d has unsupported dtype %s", label, k,
                              kiln_dtype_name(t->dtype) ? kiln_dtype_name(t->dtype) : "(invalid)");
        char what[300];
        snprintf(what, sizeof what, "node %s output %d", label, k);
        KILN_TRY(kiln_tensor_alloc(t, ctx->max_bytes, what));
        memset(t->data, 0xff, t->nbytes);
    }
    return KILN_OK;
}

kiln_status kiln_eval_node_cpu(void *user, kiln_op_ctx *ctx)
{
    (void)user;
    kiln_cpu_kernel_fn fn = kiln_cpu_find_kernel(ctx->node->op_type);
    if (!fn)
        return kiln_error(KILN_ERR_UNSUPPORTED, "no CPU kernel for %s", ctx->node->op_type);
    return fn(ctx);
}

kiln_status kiln_plan_run(const kiln_plan *plan, kiln_tensor *vals)
{
    const kiln_graph *g = plan->graph;
    kiln_tensor *in[MAX_NODE_IO], *out[MAX_NODE_IO];
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].constant) {
            vals[v] = *g->values[v].constant;
            vals[v].owns_data = 0;
        }
    for (int i = 0; i < g->n_nodes; i++) {
        int node = plan->order[i];
        char label[256];
        kiln_op_ctx ctx;
        kiln_node_ctx(g, node, vals, in, out, plan->max_bytes, &ctx);
        for (int k = 0; k < ctx.n_in; k++)
            if (in[k] && !in[k]->data)
                return kiln_error(KILN_ERR_INTERNAL, "node %s: input %d was not computed",
                                  kiln_node_label(g, node, label, sizeof label), k);
        KILN_TRY(kiln_node_infer(&ctx));
        kiln_node_label(g, node, label, sizeof label);
        KILN_TRY(alloc_outputs(&ctx, label));
        kiln_status st = plan->backend.iface->run(plan->backend.ctx, plan->state[node], &ctx);
        if (st != KILN_OK)
            return kiln_error_prefix(st, "node %s", label);
        /* release intermediates read for the last time */
        for (int k = 0; k < ctx.n_in; k++) {
            int v = g->nodes[node].inputs[k];
            if (v >= 0 && plan->last_use[v] == i && g->values[v].producer >= 0 && !g->values[v].is_graph_output)
                kiln_tensor_clear(&vals[v]);
        }
        /* outputs nobody reads */
        for (int k = 0; k < ctx.n_out; k++) {
            int v = g->nodes[node].outputs[k];
            if (v >= 0 && plan->last_use[v] < 0 && !g->values[v].is_graph_output)
                kiln_tensor_clear(&vals[v]);
        }
    }
    return KILN_OK;
}
