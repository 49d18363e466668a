/*
 * pass_fuse_layernorm.c - fuses LayerNormalization written out as exporters
 * do into the one ONNX op:
 *   mean = ReduceMean(x, last k axes)    d = Sub(x, mean)
 *   var = ReduceMean(Pow(d, 2) or Mul(d, d), same axes)
 *   std = Sqrt(Add(var, eps constant))   y = Div(d, std) or Mul(d, Reciprocal(std))
 *   then optionally Mul(y, scale constant) and Add(., bias constant)
 * becomes LayerNormalization(x, scale, bias, axis = -k, epsilon = eps).
 * Without the Mul a scale of ones is made; without the Add there is no bias
 * input (LayerNormalization's B is optional). Axes come from the attribute
 * (opset < 18) or a constant input; keepdims must be 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/dtype.h"
#include "passes/pattern_match.h"

#define LN_MIN_OPSET 17

typedef struct ln_match {
    kiln_pm_chain c;
    int x, axis;      /* axis: the first normalized dim */
    double eps;
    int scale, bias;  /* constant values, -1 when absent */
} ln_match;

/* The constant axes of ReduceMean node r (attribute or input 1), or NULL. */
static const int64_t *reduce_axes(const kiln_graph *g, const kiln_node *r, int64_t *count)
{
    const int64_t *axes = NULL;
    if (r->opset < 18)
        return kiln_attr_ints(r, "axes", &axes, count) ? axes : NULL;
    const kiln_tensor *t = kiln_pass_const_input(g, r, 1);
    if (!t || !t->data || t->dtype != KILN_INT64 || t->rank != 1)
        return NULL;
    *count = t->dims[0];
    return t->data;
}

/* First axis of ReduceMean node r when it reduces exactly the last axes of
 * its input (rank known) with keepdims = 1; else -1. */
static int tail_axis(const kiln_graph *g, int r)
{
    const kiln_node *n = &g->nodes[r];
    int rank = n->n_inputs >= 1 && n->inputs[0] >= 0 ? g->values[n->inputs[0]].rank : -1;
    int64_t count = 0;
    const int64_t *axes = reduce_axes(g, n, &count);
    if (rank < 1 || !axes || count < 1 || count > rank || kiln_attr_int(n, "keepdims", 1) != 1)
        return -1;
    int seen[KILN_MAX_RANK] = {0};
    for (int64_t k = 0; k < count; k++) {
        int64_t a = axes[k] < 0 ? axes[k] + rank : axes[k];
        if (a < rank - count || a >= rank || seen[a]++)
            return -1;
    }
    return rank - (int)count;
}

/* The node normalizing d by std: Div(d, .), or Mul(d, Reciprocal(.)). */
static int is_normalizer(const kiln_graph *g, const kiln_node *n, int d)
{
    if (kiln_pm_is(n, "Div"))
        return n->n_inputs == 2 && n->inputs[0] == d && n->inputs[1] != d;
    return kiln_pm_is(n, "Mul") && kiln_pm_producer(g, kiln_pm_other(n, d), "Reciprocal") >= 0;
}

static int is_square(const kiln_graph *g, const kiln_node *n, int d)
{
    double e;
    if (kiln_pm_is(n, "Pow"))
        return n->n_inputs == 2 && n->inputs[0] == d && kiln_pm_scalar(g, n->inputs[1], &e) && e == 2.0;
    return kiln_pm_is(n, "Mul") && n->n_inputs == 2 && n->inputs[0] == d && n->inputs[1] == d;
}

/* The two readers of d = x - mean: the square and the normalizer. */
static int split_d(const kiln_graph *g, const kiln_uses *u, int d, int *sq, int *norm)
{
    *sq = *norm = -1;
    if (g->values[d].is_graph_output)
        return 0;
    for (int k = u->first[d]; k < u->first[d + 1]; k++) {
        int r = u->node[k];
        if (r == *sq || r == *norm)
            continue;
        if (*sq < 0 && is_square(g, &g->nodes[r], d))
            *sq = r;
        else if (*norm < 0 && is_normalizer(g, &g->nodes[r], d))
            *norm = r;
        else
            return 0;
    }
    if (*sq < 0 || *norm < 0)
        return 0;
    return kiln_uses_count(u, d) == (kiln_pm_is(&g->nodes[*sq], "Mul") ? 3 : 2);
}

/* var -> Add(eps) -> Sqrt -> the normalizer (through Reciprocal for Mul). */
static int match_std(const kiln_graph *g, const kiln_uses *u, int var, int norm, ln_match *m)
{
    int add = kiln_pm_reader(g, u, var, "Add");
    if (add < 0 || !kiln_pm_scalar(g, kiln_pm_other(&g->nodes[add], var), &m->eps) || m->eps < 0)
        return 0;
    kiln_pm_push(&m->c, add);
    int sq = kiln_pm_reader(g, u, g->nodes[add].outputs[0], "Sqrt");
    if (sq < 0)
        return 0;
    kiln_pm_push(&m->c, sq);
    int std = g->nodes[sq].outputs[0];
    if (kiln_pm_is(&g->nodes[norm], "Div"))
        return kiln_pm_reader(g, u, std, "Div") == norm && g->nodes[norm].inputs[1] == std;
    int rec = kiln_pm_reader(g, u, std, "Reciprocal");
    if (rec < 0 || kiln_pm_reader(g, u, g->nodes[rec].outputs[0], "Mul") != norm)
        return 0;
    kiln_pm_push(&m->c, rec);
    return 1;
}

/* Constant p broadcasts to x's shape without growing it, in x's dtype. */
static int affine_param(const kiln_graph *g, int p, int x)
{
    const kiln_tensor *t = p >= 0 ? g->values[p].constant : NULL;
    const kiln_value *xv = &g->values[x];
    if (!t || !t->data || t->dtype != xv->dtype || t->rank > xv->rank)
        return 0;
    for (int k = 0; k < t->rank; k++)
        if (t->dims[k] != 1 && !kiln_pm_dim_eq(t->dims[k], xv->dims[xv->rank - t->rank + k]))
            return 0;
    return 1;
}

/* An optional `op`(y, constant) after the chain's end; returns the param. */
static int match_affine(const kiln_graph *g, const kiln_uses *u, ln_match *m, const char *op)
{
    int n = kiln_pm_reader(g, u, m->c.out, op);
    int p = n >= 0 ? kiln_pm_other(&g->nodes[n], m->c.out) : -1;
    if (!affine_param(g, p, m->x))
        return -1;
    kiln_pm_push(&m->c, n);
    m->c.out = g->nodes[n].outputs[0];
    return p;
}

static int match_ln(const kiln_graph *g, const kiln_uses *u, int mean_node, ln_match *m)
{
    memset(m, 0, sizeof *m);
    const kiln_node *mn = &g->nodes[mean_node];
    m->axis = tail_axis(g, mean_node);
    if (m->axis < 0 || !kiln_pm_std_float(g->values[mn->inputs[0]].dtype))
        return 0;
    m->x = mn->inputs[0];
    int sub = kiln_pm_reader(g, u, mn->outputs[0], "Sub"), sq, norm;
    if (sub < 0 || g->nodes[sub].inputs[0] != m->x || g->nodes[sub].inputs[1] != mn->outputs[0])
        return 0;
    int d = g->nodes[sub].outputs[0];
    if (!split_d(g, u, d, &sq, &norm))
        return 0;
    int var = kiln_pm_reader(g, u, g->nodes[sq].outputs[0], "ReduceMean");
    if (var < 0 || g->nodes[var].inputs[0] != g->nodes[sq].outputs[0] || tail_axis(g, var) != m->axis)
        return 0;
    const int head[] = {mean_node, sub, sq, var};
    for (size_t k = 0; k < sizeof head / sizeof head[0]; k++)
        kiln_pm_push(&m->c, head[k]);
    if (!match_std(g, u, g->nodes[var].outputs[0], norm, m))
        return 0;
    kiln_pm_push(&m->c, norm);
    m->c.out = g->nodes[norm].outputs[0];
    m->scale = match_affine(g, u, m, "Mul");
    m->bias = match_affine(g, u, m, "Add");
    /* a constant of higher rank (eps, the exponent) would have grown the result */
    return kiln_pm_chain_ok(&m->c) && g->values[m->c.out].rank == g->values[m->x].rank;
}

/* Ones over x's normalized dims (1 where a dim is not a number). */
static kiln_status ones_scale(kiln_graph *g, const ln_match *m, int *id)
{
    const kiln_value *xv = &g->values[m->x];
    int64_t dims[KILN_MAX_RANK];
    int rank = xv->rank - m->axis;
    for (int k = 0; k < rank; k++)
        dims[k] = xv->dims[m->axis + k] >= 0 ? xv->dims[m->axis + k] : 1;
    kiln_tensor t = {0};
    kiln_tensor_set_shape(&t, xv->dtype, rank, dims);
    KILN_TRY(kiln_tensor_alloc(&t, SIZE_MAX, "LayerNormalization scale"));
    for (int64_t i = 0, n = kiln_tensor_numel(&t); i < n; i++)
        kiln_store_f64(t.data, t.dtype, (size_t)i, 1.0);
    char base[300];
    snprintf(base, sizeof base, "%s.ln_scale", xv->name);
    return kiln_graph_new_constant(g, base, &t, id);
}

static kiln_status fuse_one(kiln_pass_ctx *ctx, ln_match *m)
{
    kiln_graph *g = ctx->g;
    if (m->scale < 0)
        KILN_TRY(ones_scale(g, m, &m->scale));
    const int inputs[3] = {m->x, m->scale, m->bias};
    int rank = g->values[m->x].rank, n = -1;
    KILN_TRY(kiln_pm_replace(ctx, "fuse_layernorm", &m->c, "LayerNormalization", LN_MIN_OPSET, inputs,
                             m->bias >= 0 ? 3 : 2, &n));
    KILN_TRY(kiln_node_set_int(g, n, "axis", m->axis - rank));
    return kiln_node_set_float(g, n, "epsilon", (float)m->eps);
}

kiln_status kiln_pass_fuse_layernorm(kiln_pass_ctx *ctx, int *changed)
{
    kiln_graph *g = ctx->g;
    kiln_uses u;
    KILN_TRY(kiln_uses_build(g, &u));
    kiln_status st = KILN_OK;
    for (int i = 0, end = g->n_nodes; i < end && st == KILN_OK; i++) {
        ln_match m;
        if (!kiln_pm_is(&g->nodes[i], "ReduceMean") || !match_ln(g, &u, i, &m))
            continue;
        st = fuse_one(ctx, &m);
        *changed = 1;
    }
    kiln_uses_free(&u);
    return st;
}
