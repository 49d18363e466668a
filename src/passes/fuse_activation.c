/*
 * fuse_activation.c - matching and rewriting shared by the epilogue-fusion
 * passes (see fuse_activation.h).
 */
#include "passes/fuse_activation.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "ir/infer/infer_util.h"

static int is_op(const kiln_node *n, const char *op) { return !n->domain[0] && !strcmp(n->op_type, op); }

static int is_kiln_op(const kiln_node *n, const char *op)
{
    return !strcmp(n->domain, KILN_DOMAIN) && !strcmp(n->op_type, op);
}

/* A scalar constant input k of n, or `def` when the input is absent. */
static int scalar_input(const kiln_graph *g, const kiln_node *n, int k, float def, float *out)
{
    if (k >= n->n_inputs || n->inputs[k] < 0) {
        *out = def;
        return 1;
    }
    const kiln_tensor *t = g->values[n->inputs[k]].constant;
    if (!t || !t->data || kiln_tensor_numel(t) != 1)
        return 0;
    *out = (float)kiln_load_f64(t->data, t->dtype, 0);
    return 1;
}

static int only_reader(const kiln_graph *g, const kiln_uses *u, int v)
{
    if (kiln_uses_count(u, v) != 1 || g->values[v].is_graph_output)
        return -1;
    return u->node[u->first[v]];
}

/* x * Sigmoid(x): v is read by a Sigmoid and by the Mul of both. */
static int match_swish(const kiln_graph *g, const kiln_uses *u, int v, kiln_activation *act)
{
    if (kiln_uses_count(u, v) != 2 || g->values[v].is_graph_output)
        return 0;
    int a = u->node[u->first[v]], b = u->node[u->first[v] + 1];
    if (is_op(&g->nodes[b], "Sigmoid")) {
        int t = a;
        a = b;
        b = t;
    }
    const kiln_node *sig = &g->nodes[a], *mul = &g->nodes[b];
    if (!is_op(sig, "Sigmoid") || !is_op(mul, "Mul") || sig->n_outputs != 1 || mul->n_outputs != 1)
        return 0;
    int s = sig->outputs[0];
    if (s < 0 || only_reader(g, u, s) != b || mul->n_inputs != 2)
        return 0;
    if (!((mul->inputs[0] == v && mul->inputs[1] == s) || (mul->inputs[0] == s && mul->inputs[1] == v)))
        return 0;
    act->name = "Swish";
    act->first_node = a;
    act->last_node = b;
    return 1;
}

/* The activation ops without parameters, by the names the epilogue reads
 * (string literals: a killed node's op_type is emptied). */
static const char *plain_activation(const kiln_node *n)
{
    static const char *const names[] = {"Relu", "Sigmoid", "Tanh", "HardSwish"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (is_op(n, names[i]))
            return names[i];
    return NULL;
}

/* Clip's bounds: attributes before opset 11, constant inputs after. */
static int clip_bounds(const kiln_graph *g, const kiln_node *n, kiln_activation *act)
{
    if (n->opset < 11) {
        act->alpha = kiln_attr_float(n, "min", -INFINITY);
        act->beta = kiln_attr_float(n, "max", INFINITY);
        return 1;
    }
    return scalar_input(g, n, 1, -INFINITY, &act->alpha) && scalar_input(g, n, 2, INFINITY, &act->beta);
}

/* The activations with attributes for parameters. */
static int attr_activation(const kiln_node *n, kiln_activation *act)
{
    if (is_op(n, "LeakyRelu")) {
        act->name = "LeakyRelu";
        act->alpha = kiln_attr_float(n, "alpha", 0.01f);
    } else if (is_op(n, "HardSigmoid")) {
        act->name = "HardSigmoid";
        act->alpha = kiln_attr_float(n, "alpha", 0.2f);
        act->beta = kiln_attr_float(n, "beta", 0.5f);
    } else if (is_op(n, "Gelu")) {
        act->name = strcmp(kiln_attr_string(n, "approximate", "none"), "tanh") ? "Gelu" : "GeluTanh";
    }
    return act->name != NULL;
}

int kiln_match_activation(const kiln_graph *g, const kiln_uses *u, int v, kiln_activation *act)
{
    kiln_dtype dt = g->values[v].dtype;
    if (dt != KILN_FLOAT32 && dt != KILN_FLOAT16 && dt != KILN_FLOAT64)
        return 0;
    memset(act, 0, sizeof *act);
    if (match_swish(g, u, v, act))
        return 1;
    int r = only_reader(g, u, v);
    if (r < 0 || g->nodes[r].inputs[0] != v || g->nodes[r].n_outputs != 1 || g->nodes[r].outputs[0] < 0)
        return 0;
    const kiln_node *n = &g->nodes[r];
    act->first_node = act->last_node = r;
    act->name = plain_activation(n);
    if (act->name)
        return 1;
    if (is_op(n, "Clip")) {
        act->name = "Clip";
        return clip_bounds(g, n, act);
    }
    return attr_activation(n, act);
}

kiln_status kiln_set_activation_attrs(kiln_graph *g, int n, const kiln_activation *act)
{
    KILN_TRY(kiln_node_set_string(g, n, "activation", act->name));
    KILN_TRY(kiln_node_set_float(g, n, "activation_alpha", act->alpha));
    return kiln_node_set_float(g, n, "activation_beta", act->beta);
}

int kiln_fusion_has_input(const kiln_node *n, int k) { return k < n->n_inputs && n->inputs[k] >= 0; }

int kiln_fusion_producer(const kiln_graph *g, int n, const kiln_fusion *f)
{
    const kiln_node *node = &g->nodes[n];
    if (kiln_node_dead(node) || node->n_outputs != 1 || node->outputs[0] < 0)
        return 0;
    if (!is_op(node, f->op) && !(is_kiln_op(node, f->fused_op) && !kiln_attr_string(node, "activation", "")[0]))
        return 0;
    return kiln_is_std_float(g->values[node->outputs[0]].dtype);
}

int kiln_match_add(const kiln_graph *g, const kiln_uses *u, int v, int *other)
{
    if (!kiln_pass_single_use(g, u, v))
        return -1;
    int r = u->node[u->first[v]];
    const kiln_node *n = &g->nodes[r];
    if ((!is_op(n, "Add") && !is_kiln_op(n, "FusedAdd")) || n->n_inputs != 2 || n->n_outputs != 1 ||
        n->outputs[0] < 0 || kiln_attr_int(n, "broadcast", 0) != 0)
        return -1; /* opset < 7 broadcast may align B at another axis */
    *other = n->inputs[0] == v ? n->inputs[1] : n->inputs[0];
    return *other >= 0 && *other != v ? r : -1;
}

/* Node n becomes the KILN_DOMAIN op `op` (its opset stays the ONNX one: the
 * fused kernels run ONNX kernels on the node's attributes). */
static kiln_status set_fused_op(kiln_graph *g, int n, const char *op)
{
    return is_kiln_op(&g->nodes[n], op) ? KILN_OK : kiln_node_set_op(g, n, op, KILN_DOMAIN);
}

/* Kills the nodes first..last of a fused pattern and hands the pattern's
 * result (last's output) over to producer n's output. */
static kiln_status absorb(kiln_graph *g, int n, int first, int last)
{
    int result = g->nodes[last].outputs[0];
    kiln_node_kill(g, first);
    kiln_node_kill(g, last);
    kiln_node_take_output(g, n, 0, result);
    return KILN_OK;
}

/* "<pass>: <n> + <m>", labelled before the rewrite renames n. */
static void labels(const kiln_graph *g, int n, int m, char *a, char *b, size_t len)
{
    kiln_node_label(g, n, a, len);
    kiln_node_label(g, m, b, len);
}

kiln_status kiln_fuse_activation_into(kiln_pass_ctx *ctx, const kiln_fusion *f, int n, const kiln_activation *act)
{
    kiln_graph *g = ctx->g;
    char ln[256], la[256];
    labels(g, n, act->first_node, ln, la, sizeof ln);
    KILN_TRY(set_fused_op(g, n, f->fused_op));
    KILN_TRY(kiln_set_activation_attrs(g, n, act));
    KILN_TRY(absorb(g, n, act->first_node, act->last_node));
    return kiln_pass_record(ctx, "%s: %s + %s", f->pass, ln, la);
}

/* Sets input k of node n to v, growing the inputs with absent ones. */
static kiln_status set_input(kiln_node *n, int k, int v)
{
    if (k >= n->n_inputs) {
        int *grown = realloc(n->inputs, sizeof(int) * (size_t)(k + 1));
        if (!grown)
            return kiln_error(KILN_ERR_OUT_OF_MEMORY, "fusion: out of memory");
        for (int i = n->n_inputs; i < k; i++)
            grown[i] = -1;
        n->inputs = grown;
        n->n_inputs = k + 1;
    }
    n->inputs[k] = v;
    return KILN_OK;
}

kiln_status kiln_fuse_add_into(kiln_pass_ctx *ctx, const kiln_fusion *f, int n, int add, int k, int other)
{
    kiln_graph *g = ctx->g;
    char ln[256], la[256];
    labels(g, n, add, ln, la, sizeof ln);
    kiln_activation act = {kiln_attr_string(&g->nodes[add], "activation", ""),
                           kiln_attr_float(&g->nodes[add], "activation_alpha", 0),
                           kiln_attr_float(&g->nodes[add], "activation_beta", 0), add, add};
    KILN_TRY(set_fused_op(g, n, f->fused_op));
    KILN_TRY(set_input(&g->nodes[n], k, other));
    if (act.name[0])
        KILN_TRY(kiln_set_activation_attrs(g, n, &act));
    KILN_TRY(absorb(g, n, add, add));
    return kiln_pass_record(ctx, "%s: %s + %s", f->pass, ln, la);
}

kiln_status kiln_fuse_activation_pass(kiln_pass_ctx *ctx, const kiln_fusion *f, int *changed)
{
    kiln_graph *g = ctx->g;
    kiln_uses u;
    KILN_TRY(kiln_uses_build(g, &u));
    kiln_status st = KILN_OK;
    for (int i = 0; i < g->n_nodes && st == KILN_OK; i++) {
        kiln_activation act;
        if (!kiln_fusion_producer(g, i, f) || !kiln_match_activation(g, &u, g->nodes[i].outputs[0], &act))
            continue;
        st = kiln_fuse_activation_into(ctx, f, i, &act);
        *changed = 1;
    }
    kiln_uses_free(&u);
    return st;
}
