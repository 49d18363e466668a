/*
 * pattern_match.c - matching helpers and the chain rewrite shared by the
 * pattern passes (see pattern_match.h).
 */
#include "passes/pattern_match.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/dtype.h"

#define SCALAR_RTOL 1e-4

int kiln_pm_is(const kiln_node *n, const char *op)
{
    return !kiln_node_dead(n) && !n->domain[0] && (!op || strcmp(n->op_type, op) == 0);
}

int kiln_pm_producer(const kiln_graph *g, int v, const char *op)
{
    if (v < 0)
        return -1;
    int p = g->values[v].producer;
    return p >= 0 && kiln_pm_is(&g->nodes[p], op) ? p : -1;
}

int kiln_pm_reader(const kiln_graph *g, const kiln_uses *u, int v, const char *op)
{
    if (v < 0 || kiln_uses_count(u, v) == 0 || g->values[v].is_graph_output)
        return -1;
    int r = u->node[u->first[v]];
    for (int k = u->first[v] + 1; k < u->first[v + 1]; k++)
        if (u->node[k] != r)
            return -1;
    const kiln_node *n = &g->nodes[r];
    return kiln_pm_is(n, op) && n->n_outputs >= 1 && n->outputs[0] >= 0 ? r : -1;
}

int kiln_pm_other(const kiln_node *n, int v)
{
    if (n->n_inputs != 2 || n->inputs[0] == n->inputs[1])
        return -1;
    return n->inputs[0] == v ? n->inputs[1] : n->inputs[1] == v ? n->inputs[0] : -1;
}

int kiln_pm_scalar(const kiln_graph *g, int v, double *out)
{
    const kiln_tensor *t = v >= 0 ? g->values[v].constant : NULL;
    if (!t || !t->data || kiln_tensor_numel(t) != 1 || !(kiln_dtype_is_float(t->dtype) ||
                                                          kiln_dtype_is_int(t->dtype)))
        return 0;
    *out = kiln_load_f64(t->data, t->dtype, 0);
    return isfinite(*out);
}

int kiln_pm_scalar_near(const kiln_graph *g, int v, double want)
{
    double got;
    return kiln_pm_scalar(g, v, &got) && fabs(got - want) <= SCALAR_RTOL * fabs(want);
}

int kiln_pm_dim_eq(int64_t a, int64_t b)
{
    return a == b && a != KILN_DIM_UNKNOWN;
}

int kiln_pm_std_float(kiln_dtype dt)
{
    return dt == KILN_FLOAT16 || dt == KILN_BFLOAT16 || dt == KILN_FLOAT32 || dt == KILN_FLOAT64;
}

void kiln_pm_push(kiln_pm_chain *c, int i)
{
    if (c->n < KILN_PM_MAX_NODES)
        c->nodes[c->n] = i;
    c->n++;
}

int kiln_pm_chain_ok(const kiln_pm_chain *c)
{
    return c->n > 0 && c->n <= KILN_PM_MAX_NODES && c->out >= 0;
}

/* "'a' (ReduceMean), 'b' (Sub), ..." in node order into buf (truncated when
 * long). */
static void chain_labels(const kiln_graph *g, const kiln_pm_chain *c, char *buf, size_t len)
{
    int order[KILN_PM_MAX_NODES];
    for (int i = 0; i < c->n; i++) {
        int j = i;
        for (; j > 0 && order[j - 1] > c->nodes[i]; j--)
            order[j] = order[j - 1];
        order[j] = c->nodes[i];
    }
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < c->n && used < len; i++) {
        char label[256];
        kiln_node_label(g, order[i], label, sizeof label);
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", label);
        used += w > 0 ? (size_t)w : 0;
    }
}

kiln_status kiln_pm_replace(kiln_pass_ctx *ctx, const char *pass, const kiln_pm_chain *c, const char *op,
                            int min_opset, const int *inputs, int n_inputs, int *index)
{
    kiln_graph *g = ctx->g;
    if (!kiln_pm_chain_ok(c))
        return kiln_error(KILN_ERR_INTERNAL, "%s: bad chain", pass);
    char labels[384], name[256];
    chain_labels(g, c, labels, sizeof labels);
    int last = g->values[c->out].producer;
    snprintf(name, sizeof name, "%s", last >= 0 ? g->nodes[last].name : "");
    for (int i = 0; i < c->n; i++)
        kiln_node_kill(g, c->nodes[i]);
    KILN_TRY(kiln_graph_add_node(g, op, "", name, n_inputs, inputs, 1, &c->out, index));
    kiln_node *n = &g->nodes[*index];
    n->opset = g->opset > min_opset ? g->opset : min_opset;
    g->values[c->out].producer = *index;
    return kiln_pass_record(ctx, "%s: %s into %s", pass, labels, kiln_node_label(g, *index, name, sizeof name));
}
