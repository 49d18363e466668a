/*
 * shape_infer.c - whole-graph shape inference (see shape_infer.h for the
 * two-substitution method used for symbolic dims).
 */
#include "ir/shape_infer.h"

#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "ir/verify.h"

#define MAX_NODE_IO 256

/* Numbers standing for symbol k in the two runs: distinct primes, unlikely
 * to equal a real extent or a product of one. */
static int64_t symbol_value(int run, int k)
{
    static const int64_t a[] = {211, 223, 227, 229, 233, 239, 241, 251, 257, 263, 269, 271};
    static const int64_t b[] = {307, 311, 313, 317, 331, 337, 347, 349, 353, 359, 367, 373};
    int n = (int)(sizeof a / sizeof a[0]);
    if (k < n)
        return run ? b[k] : a[k];
    return (run ? 1009 : 701) + 2 * (int64_t)k * 3;
}

void kiln_node_ctx(const kiln_graph *g, int node, kiln_tensor *vals, kiln_tensor **in, kiln_tensor **out,
                   size_t max_bytes, kiln_op_ctx *ctx)
{
    const kiln_node *n = &g->nodes[node];
    int n_in = 0, n_out = 0;
    for (int k = 0; k < n->n_inputs && k < MAX_NODE_IO; k++) {
        in[k] = n->inputs[k] >= 0 ? &vals[n->inputs[k]] : NULL;
        if (in[k])
            n_in = k + 1;
    }
    for (int k = 0; k < n->n_outputs && k < MAX_NODE_IO; k++) {
        out[k] = n->outputs[k] >= 0 ? &vals[n->outputs[k]] : NULL;
        if (out[k])
            n_out = k + 1;
    }
    ctx->graph = g;
    ctx->node = n;
    ctx->opset = n->opset;
    ctx->n_in = n_in;
    ctx->n_out = n_out;
    ctx->in = in;
    ctx->out = out;
    ctx->max_bytes = max_bytes;
}

static int node_index(const kiln_op_ctx *ctx)
{
    return (int)(ctx->node - ctx->graph->nodes);
}

/* The node's label in buf (256 bytes), for an error message. */
static const char *label_of(const kiln_op_ctx *ctx, char *buf)
{
    return kiln_node_label(ctx->graph, node_index(ctx), buf, 256);
}

kiln_status kiln_node_infer(kiln_op_ctx *ctx)
{
    char buf[256]; /* the node's label, made only for an error message */
    const kiln_node *n = ctx->node;
    const kiln_op_schema *s = kiln_op_find(n->domain, n->op_type);
    if (!s)
        return kiln_error(KILN_ERR_UNSUPPORTED, "unsupported op %s (opset %d) at node %s", n->op_type, n->opset,
                          label_of(ctx, buf));
    if (n->n_inputs > MAX_NODE_IO || n->n_outputs > MAX_NODE_IO)
        return kiln_error(KILN_ERR_LIMIT, "node %s has more than %d inputs or outputs", label_of(ctx, buf),
                          MAX_NODE_IO);
    if (ctx->n_in < s->min_inputs || (s->max_inputs >= 0 && n->n_inputs > s->max_inputs))
        return kiln_error(KILN_ERR_GRAPH, "node %s: %d inputs given, %s takes %d..%d", label_of(ctx, buf), n->n_inputs,
                          n->op_type, s->min_inputs, s->max_inputs);
    if (n->n_outputs < s->min_outputs || (s->max_outputs >= 0 && n->n_outputs > s->max_outputs))
        return kiln_error(KILN_ERR_GRAPH, "node %s: %d outputs given, %s gives %d..%d", label_of(ctx, buf),
                          n->n_outputs, n->op_type, s->min_outputs, s->max_outputs);
    for (int k = 0; k < ctx->n_in; k++)
        if (ctx->in[k] && ctx->in[k]->rank > KILN_MAX_RANK)
            return kiln_error(KILN_ERR_LIMIT, "node %s: input %d has rank %d, over kiln's limit %d", label_of(ctx, buf),
                              k, ctx->in[k]->rank, KILN_MAX_RANK);
    for (int k = 0; k < ctx->n_out; k++)
        if (ctx->out[k]) {
            ctx->out[k]->dtype = KILN_UNDEFINED;
            ctx->out[k]->rank = -1;
        }
    kiln_status st = s->infer(ctx);
    if (st != KILN_OK)
        return kiln_error_prefix(st, "node %s", label_of(ctx, buf));
    for (int k = 0; k < ctx->n_out; k++) {
        kiln_tensor *t = ctx->out[k];
        if (t && (t->rank > KILN_MAX_RANK))
            return kiln_error(KILN_ERR_LIMIT, "node %s: output %d has rank %d, over kiln's limit %d",
                              label_of(ctx, buf), k, t->rank, KILN_MAX_RANK);
    }
    return KILN_OK;
}

/* One inference run over g with symbols replaced by the numbers of `run`
 * (run < 0: no symbols expected). vals get dtype/shape (+ small data). */
static kiln_status infer_run(const kiln_graph *g, const int *order, int run, const kiln_eval_hook *hook, int strict,
                             kiln_tensor *vals)
{
    kiln_tensor *in[MAX_NODE_IO], *out[MAX_NODE_IO];
    int anon = g->n_symbols;
    for (int v = 0; v < g->n_values; v++) {
        const kiln_value *val = &g->values[v];
        kiln_tensor *t = &vals[v];
        memset(t, 0, sizeof *t);
        t->rank = -1;
        if (val->constant) {
            *t = *val->constant;
            t->owns_data = 0;
        } else if (val->is_graph_input) {
            kiln_tensor_set_shape(t, val->dtype, val->rank, val->dims);
            for (int d = 0; d < t->rank; d++)
                if (t->dims[d] < 0 && run >= 0)
                    t->dims[d] = KILN_DIM_IS_SYMBOL(t->dims[d]) ? symbol_value(run, KILN_DIM_SYMBOL_ID(t->dims[d]))
                                                                : symbol_value(run, anon++);
        }
    }
    for (int i = 0; i < g->n_nodes; i++) {
        int node = order[i];
        kiln_op_ctx ctx;
        kiln_node_ctx(g, node, vals, in, out, KILN_DEFAULT_MAX_TENSOR_BYTES, &ctx);
        int known_inputs = 1;
        for (int k = 0; k < ctx.n_in; k++)
            if (in[k] && in[k]->rank < 0)
                known_inputs = 0;
        if (!known_inputs)
            continue; /* downstream of an unknown: stays unknown */
        kiln_status st = kiln_node_infer(&ctx);
        if (st != KILN_OK) {
            if (strict && st != KILN_ERR_UNSUPPORTED)
                return st;
            for (int k = 0; k < ctx.n_out; k++)
                if (out[k])
                    out[k]->rank = -1;
            continue;
        }
        if (!hook)
            continue;
        const kiln_op_schema *s = kiln_op_find(ctx.node->domain, ctx.node->op_type);
        int foldable = !(s->flags & KILN_OP_NONDETERMINISTIC);
        for (int k = 0; k < ctx.n_in && foldable; k++) {
            if (!in[k])
                continue;
            if (s->flags & KILN_OP_SHAPE_ONLY) {
                for (int d = 0; d < in[k]->rank; d++)
                    if (in[k]->dims[d] < 0)
                        foldable = 0;
            } else if (!in[k]->data) {
                foldable = 0;
            }
        }
        for (int k = 0; k < ctx.n_out && foldable; k++) {
            int64_t ne = out[k] ? kiln_tensor_numel(out[k]) : 0;
            if (out[k] && (ne < 0 || ne > KILN_INFER_EVAL_MAX_ELEMS || !kiln_dtype_valid(out[k]->dtype)))
                foldable = 0;
        }
        if (!foldable)
            continue;
        for (int k = 0; k < ctx.n_out; k++)
            if (out[k] && kiln_tensor_alloc(out[k], KILN_DEFAULT_MAX_TENSOR_BYTES, "folded value") != KILN_OK)
                return KILN_ERR_OUT_OF_MEMORY;
        if (hook->eval(hook->user, &ctx) != KILN_OK) {
            /* not fatal: the value is simply not known at build time */
            for (int k = 0; k < ctx.n_out; k++)
                if (out[k]) {
                    kiln_dtype dt = out[k]->dtype;
                    int r = out[k]->rank;
                    int64_t dims[KILN_MAX_RANK];
                    memcpy(dims, out[k]->dims, sizeof dims);
                    kiln_tensor_clear(out[k]);
                    kiln_tensor_set_shape(out[k], dt, r, dims);
                }
        }
    }
    return KILN_OK;
}

static void release_vals(const kiln_graph *g, kiln_tensor *vals)
{
    if (!vals)
        return;
    for (int v = 0; v < g->n_values; v++)
        kiln_tensor_clear(&vals[v]);
    free(vals);
}

/* A dim from the two runs: symbol s if it tracked s's numbers, the number
 * when equal, else unknown. */
static int64_t merge_dim(const kiln_graph *g, int64_t a, int64_t b)
{
    if (a < 0 || b < 0)
        return KILN_DIM_UNKNOWN;
    for (int s = 0; s < g->n_symbols; s++)
        if (a == symbol_value(0, s) && b == symbol_value(1, s))
            return KILN_DIM_SYMBOL(s);
    if (a == b)
        return a;
    return KILN_DIM_UNKNOWN;
}

static int graph_has_symbols(const kiln_graph *g)
{
    for (int i = 0; i < g->n_inputs; i++) {
        const kiln_value *v = &g->values[g->inputs[i]];
        for (int d = 0; d < v->rank; d++)
            if (v->dims[d] < 0)
                return 1;
    }
    return 0;
}

static kiln_status check_declared(const kiln_graph *g, int v, const kiln_tensor *t)
{
    const kiln_value *val = &g->values[v];
    if (val->dtype != KILN_UNDEFINED && t->dtype != KILN_UNDEFINED && val->dtype != t->dtype)
        return kiln_error(KILN_ERR_GRAPH, "value '%s' is declared %s but its producer gives %s", val->name,
                          kiln_dtype_name(val->dtype), kiln_dtype_name(t->dtype));
    return KILN_OK;
}

kiln_status kiln_graph_infer_shapes(kiln_graph *g, const kiln_eval_hook *hook, int strict)
{
    int *order = malloc(sizeof(int) * (size_t)(g->n_nodes ? g->n_nodes : 1));
    if (!order)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "shape inference: out of memory");
    kiln_status st = kiln_graph_topo_order(g, order);
    if (st != KILN_OK) {
        free(order);
        return st;
    }
    int symbolic = graph_has_symbols(g);
    int runs = symbolic ? 2 : 1;
    kiln_tensor *vals[2] = {NULL, NULL};
    for (int r = 0; r < runs && st == KILN_OK; r++) {
        vals[r] = calloc((size_t)(g->n_values ? g->n_values : 1), sizeof(kiln_tensor));
        if (!vals[r]) {
            st = kiln_error(KILN_ERR_OUT_OF_MEMORY, "shape inference: out of memory");
            break;
        }
        /* a failure under substituted sizes is not the model's fault */
        st = infer_run(g, order, symbolic ? r : -1, hook, strict && !symbolic, vals[r]);
    }
    for (int v = 0; v < g->n_values && st == KILN_OK; v++) {
        kiln_value *val = &g->values[v];
        if (val->producer < 0)
            continue;
        const kiln_tensor *a = &vals[0][v];
        const kiln_tensor *b = symbolic ? &vals[1][v] : a;
        if (a->rank < 0 || a->rank != b->rank)
            continue; /* keep what the model declared */
        st = check_declared(g, v, a);
        val->dtype = a->dtype;
        int64_t declared[KILN_MAX_RANK];
        int declared_rank = val->rank;
        memcpy(declared, val->dims, sizeof declared);
        val->rank = a->rank;
        for (int d = 0; d < a->rank; d++) {
            int64_t m = symbolic ? merge_dim(g, a->dims[d], b->dims[d]) : a->dims[d];
            /* an unknown result keeps a declared symbol or number */
            if (m == KILN_DIM_UNKNOWN && declared_rank == a->rank)
                m = declared[d];
            val->dims[d] = m;
        }
    }
    release_vals(g, vals[0]);
    release_vals(g, vals[1]);
    free(order);
    return st;
}
