/*
 * pass_layout_nhwc.c - the channels-last layout: float32 2-D convolutions
 * (Conv, FusedConv) become NhwcConv with their weights stored [KH, KW,
 * C/group, M]; pools, elementwise ops and channel Concats that read what
 * such a layer made follow it into NHWC, so that a chain of them passes
 * activations without reordering. A Transpose enters the layout where an
 * NCHW value feeds the chain and leaves it where an NCHW reader (or a graph
 * output) needs the value; the ones nothing reads die with dead_nodes.
 *
 * Not part of the fixed-point list: the builder applies it once, after the
 * other passes, when the layout is NHWC (passes/pass.h kiln_apply_layout).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/verify.h"
#include "passes/pass.h"

static const int64_t to_nhwc[4] = {0, 2, 3, 1};
static const int64_t to_nchw[4] = {0, 3, 1, 2};

typedef struct layout_state {
    kiln_graph *g;
    int *twin;       /* per value: its NHWC copy, or -1 */
    int *in_layout;  /* per value: made channels-last by a converted layer */
    int *hwio;       /* per value: a weight's [KH, KW, C/group, M] copy, or -1 */
    int converted, entries;
} layout_state;

static int is_onnx(const kiln_node *n, const char *op)
{
    return !n->domain[0] && !strcmp(n->op_type, op);
}

static int is_float4(const kiln_value *v)
{
    return v->rank == 4 && v->dtype == KILN_FLOAT32;
}

static int input_value(const kiln_node *n, int k)
{
    return k < n->n_inputs ? n->inputs[k] : -1;
}

/* Ops with one tensor input whose output is elementwise in it (further
 * inputs, such as Clip's bounds, are constants). */
static const char *const unary_ops[] = {
    "Relu",  "LeakyRelu", "Sigmoid", "Tanh", "Clip", "HardSigmoid", "HardSwish", "Elu", "Selu", "Celu",
    "Softplus", "Softsign", "Gelu", "Mish", "Abs", "Neg", "Exp", "Sqrt", "Erf", "Identity",
};
static const char *const binary_ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean"};

static int in_list(const char *op, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(op, list[i]))
            return 1;
    return 0;
}

/* The channels-last op a node becomes, or NULL when it stays. */
static const char *nhwc_op(const kiln_graph *g, const layout_state *s, const kiln_node *n)
{
    if (n->n_outputs < 1 || n->outputs[0] < 0 || !is_float4(&g->values[n->outputs[0]]))
        return NULL;
    int x = input_value(n, 0);
    if (x < 0 || !is_float4(&g->values[x]))
        return NULL;
    for (int k = 1; k < n->n_outputs; k++)
        if (n->outputs[k] >= 0)
            return NULL; /* MaxPool's indices, Dropout's mask */
    int conv = is_onnx(n, "Conv") || (!strcmp(n->domain, KILN_DOMAIN) && !strcmp(n->op_type, "FusedConv"));
    if (conv) {
        const kiln_tensor *w = kiln_pass_const_input(g, n, 1);
        int b = input_value(n, 2);
        if (!w || !w->data || w->rank != 4 || w->dtype != KILN_FLOAT32 ||
            (b >= 0 && g->values[b].dtype != KILN_FLOAT32))
            return NULL;
        return "NhwcConv";
    }
    /* the rest follows a converted layer; on its own it would only add transposes */
    if (!s->in_layout[x])
        return NULL;
    if (is_onnx(n, "MaxPool") || is_onnx(n, "AveragePool"))
        return n->n_inputs == 1 ? (n->op_type[0] == 'M' ? "NhwcMaxPool" : "NhwcAveragePool") : NULL;
    if (is_onnx(n, "GlobalAveragePool"))
        return "NhwcGlobalAveragePool";
    if (is_onnx(n, "GlobalMaxPool"))
        return "NhwcGlobalMaxPool";
    if (n->domain[0])
        return NULL;
    const kiln_value *y = &g->values[n->outputs[0]];
    if (in_list(n->op_type, unary_ops, sizeof unary_ops / sizeof unary_ops[0])) {
        for (int k = 1; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0 && !g->values[n->inputs[k]].constant)
                return NULL;
        return n->op_type;
    }
    if (in_list(n->op_type, binary_ops, sizeof binary_ops / sizeof binary_ops[0])) {
        /* every input: an NHWC-able tensor of the output's exact shape, or a one-element constant */
        for (int k = 0; k < n->n_inputs; k++) {
            int v = n->inputs[k];
            if (v < 0)
                return NULL;
            const kiln_value *a = &g->values[v];
            if (a->constant) {
                if (kiln_tensor_numel(a->constant) != 1)
                    return NULL;
                continue;
            }
            if (!is_float4(a) || memcmp(a->dims, y->dims, sizeof(int64_t) * 4) != 0)
                return NULL;
            for (int d = 0; d < 4; d++)
                if (a->dims[d] < 0)
                    return NULL; /* equal symbols may still broadcast differently */
        }
        return n->op_type;
    }
    if (is_onnx(n, "Concat")) {
        int64_t axis = kiln_attr_int(n, "axis", 0);
        if (axis != 1 && axis != -3)
            return NULL;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] < 0 || !s->in_layout[n->inputs[k]])
                return NULL;
        return "Concat";
    }
    return NULL;
}

static kiln_status add_transpose(kiln_graph *g, const char *name, int from, int to, const int64_t *perm)
{
    int t;
    KILN_TRY(kiln_graph_add_node(g, "Transpose", "", name, 1, &from, 1, &to, &t));
    g->values[to].producer = t;
    return kiln_node_set_ints(g, t, "perm", perm, 4);
}

/* The channels-last copy of activation v, made by an entry Transpose once. */
static kiln_status twin_of(layout_state *s, int v, int *out)
{
    kiln_graph *g = s->g;
    if (s->twin[v] < 0) {
        char base[300], name[300];
        snprintf(base, sizeof base, "%s.nhwc", g->values[v].name);
        KILN_TRY(kiln_graph_new_value(g, base, &s->twin[v]));
        snprintf(name, sizeof name, "%s.to_nhwc", g->values[v].name);
        KILN_TRY(add_transpose(g, name, v, s->twin[v], to_nhwc));
        s->entries++;
    }
    *out = s->twin[v];
    return KILN_OK;
}

/* Weight value w [M, C/group, KH, KW] as a new constant [KH, KW, C/group, M]. */
static kiln_status hwio_of(layout_state *s, int w, int *out)
{
    kiln_graph *g = s->g;
    if (s->hwio[w] < 0) {
        const kiln_tensor *src = g->values[w].constant;
        int64_t m = src->dims[0], c = src->dims[1], kh = src->dims[2], kw = src->dims[3];
        int64_t dims[4] = {kh, kw, c, m};
        kiln_tensor t = {0};
        kiln_tensor_set_shape(&t, KILN_FLOAT32, 4, dims);
        KILN_TRY(kiln_tensor_alloc(&t, SIZE_MAX, "channels-last weights"));
        const float *a = src->data;
        float *b = t.data;
        for (int64_t o = 0; o < m; o++)
            for (int64_t i = 0; i < c; i++)
                for (int64_t y = 0; y < kh; y++)
                    for (int64_t x = 0; x < kw; x++)
                        b[((y * kw + x) * c + i) * m + o] = a[((o * c + i) * kh + y) * kw + x];
        char base[300];
        snprintf(base, sizeof base, "%s.hwio", g->values[w].name);
        KILN_TRY(kiln_graph_new_constant(g, base, &t, &s->hwio[w]));
    }
    *out = s->hwio[w];
    return KILN_OK;
}

/* Node n (to become op) reads channels-last inputs, writes a channels-last
 * output, and a Transpose gives its old output back to NCHW readers. */
static kiln_status convert(layout_state *s, int n, const char *op)
{
    kiln_graph *g = s->g;
    int conv = !strcmp(op, "NhwcConv");
    for (int k = 0; k < g->nodes[n].n_inputs; k++) {
        int v = g->nodes[n].inputs[k], nv;
        if (v < 0)
            continue;
        if (conv && k == 1)
            KILN_TRY(hwio_of(s, v, &nv));
        else if (g->values[v].constant)
            continue;
        else
            KILN_TRY(twin_of(s, v, &nv));
        g->nodes[n].inputs[k] = nv;
    }
    if (strcmp(op, g->nodes[n].op_type) != 0)
        KILN_TRY(kiln_node_set_op(g, n, op, KILN_DOMAIN));
    if (!strcmp(op, "Concat"))
        KILN_TRY(kiln_node_set_int(g, n, "axis", 3));
    int out = g->nodes[n].outputs[0], nout;
    char base[300], name[300];
    snprintf(base, sizeof base, "%s.nhwc", g->values[out].name);
    KILN_TRY(kiln_graph_new_value(g, base, &nout));
    kiln_node_take_output(g, n, 0, nout);
    snprintf(name, sizeof name, "%s.to_nchw", g->values[out].name);
    KILN_TRY(add_transpose(g, name, nout, out, to_nchw));
    s->twin[out] = nout;
    s->in_layout[out] = 1;
    s->converted++;
    return KILN_OK;
}

/* An [N, C, 1, 1] value and its channels-last twin [N, 1, 1, C] hold the
 * same elements in the same order, so a Flatten (axis 1) or a Reshape to a
 * constant shape without 0 (which would copy a dim) gives the same result
 * from either: such a reader (the classifier after a global pool) takes the
 * twin, and no Transpose is needed there. */
static int reads_twin_as_is(const kiln_graph *g, const layout_state *s, const kiln_node *n)
{
    int x = input_value(n, 0);
    if (x < 0 || !s->in_layout[x] || g->values[x].dims[2] != 1 || g->values[x].dims[3] != 1)
        return 0;
    if (is_onnx(n, "Flatten"))
        return kiln_attr_int(n, "axis", 1) == 1;
    const kiln_tensor *shape = kiln_pass_const_input(g, n, 1);
    if (!is_onnx(n, "Reshape") || !shape || !shape->data || shape->dtype != KILN_INT64 || shape->rank != 1)
        return 0;
    for (int64_t d = 0; d < shape->dims[0]; d++)
        if (((const int64_t *)shape->data)[d] == 0)
            return 0;
    return 1;
}

static kiln_status run_layout(layout_state *s, const int *order, int n_nodes)
{
    kiln_graph *g = s->g;
    for (int i = 0; i < n_nodes; i++) {
        int n = order[i];
        if (kiln_node_dead(&g->nodes[n]))
            continue;
        if (reads_twin_as_is(g, s, &g->nodes[n])) {
            g->nodes[n].inputs[0] = s->twin[g->nodes[n].inputs[0]];
            continue;
        }
        const char *op = nhwc_op(g, s, &g->nodes[n]);
        if (op)
            KILN_TRY(convert(s, n, op));
    }
    return KILN_OK;
}

kiln_status kiln_pass_layout_nhwc(kiln_pass_ctx *ctx, int *changed)
{
    kiln_graph *g = ctx->g;
    *changed = 0;
    /* values are added as the pass goes: at most a twin and a weight copy per
     * value and an output per node */
    size_t cap = 2 * (size_t)g->n_values + (size_t)g->n_nodes + 1;
    layout_state s = {.g = g};
    int *order = malloc(sizeof(int) * (size_t)(g->n_nodes ? g->n_nodes : 1));
    s.twin = malloc(sizeof(int) * cap);
    s.in_layout = calloc(cap, sizeof(int));
    s.hwio = malloc(sizeof(int) * cap);
    kiln_status st = order && s.twin && s.in_layout && s.hwio
                         ? KILN_OK
                         : kiln_error(KILN_ERR_OUT_OF_MEMORY, "layout pass: out of memory");
    for (size_t v = 0; st == KILN_OK && v < cap; v++)
        s.twin[v] = s.hwio[v] = -1;
    int n_nodes = g->n_nodes;
    if (st == KILN_OK)
        st = kiln_graph_topo_order(g, order);
    if (st == KILN_OK)
        st = run_layout(&s, order, n_nodes);
    if (st == KILN_OK && s.converted) {
        *changed = 1;
        st = kiln_pass_record(ctx, "layout_nhwc: %d layers channels-last, %d entering transposes", s.converted,
                              s.entries);
    }
    free(order);
    free(s.twin);
    free(s.in_layout);
    free(s.hwio);
    return st;
}
