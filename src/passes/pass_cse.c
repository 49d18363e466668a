/*
 * pass_cse.c - common-subexpression elimination: two nodes with the same op,
 * inputs and attributes compute the same thing, so readers of the second
 * read the first. Small constants with equal contents are merged the same
 * way. Walks in topological order so duplicated chains collapse in one pass.
 */
#include <stdlib.h>
#include <string.h>

#include "ir/verify.h"
#include "passes/pass.h"

#define MAX_CONST_BYTES 65536

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 1099511628211ull; }

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = mix(h, b[i]);
    return h;
}

static uint64_t node_hash(const kiln_node *n)
{
    uint64_t h = hash_bytes(1469598103934665603ull, n->op_type, strlen(n->op_type));
    h = hash_bytes(h, n->domain, strlen(n->domain));
    for (int k = 0; k < n->n_inputs; k++)
        h = mix(h, (uint64_t)(int64_t)n->inputs[k]);
    return mix(h, (uint64_t)n->n_outputs);
}

static int tensors_equal(const kiln_tensor *a, const kiln_tensor *b)
{
    return a->dtype == b->dtype && a->rank == b->rank &&
           memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank) == 0 && a->nbytes == b->nbytes &&
           (a->nbytes == 0 || memcmp(a->data, b->data, a->nbytes) == 0);
}

static int attr_equal(const kiln_attr *a, const kiln_attr *b)
{
    if (strcmp(a->name, b->name) != 0 || a->type != b->type || a->n != b->n)
        return 0;
    switch (a->type) {
    case KILN_ATTR_FLOAT: return memcmp(&a->f, &b->f, sizeof a->f) == 0;
    case KILN_ATTR_INT: return a->i == b->i;
    case KILN_ATTR_STRING: return a->s_len == b->s_len && memcmp(a->s, b->s, a->s_len) == 0;
    case KILN_ATTR_TENSOR: return tensors_equal(a->t, b->t);
    case KILN_ATTR_FLOATS: return memcmp(a->floats, b->floats, sizeof(float) * (size_t)a->n) == 0;
    case KILN_ATTR_INTS: return memcmp(a->ints, b->ints, sizeof(int64_t) * (size_t)a->n) == 0;
    case KILN_ATTR_STRINGS:
        for (int64_t i = 0; i < a->n; i++)
            if (strcmp(a->strings[i], b->strings[i]) != 0)
                return 0;
        return 1;
    default: return 0; /* subgraphs: never assumed equal */
    }
}

static int nodes_equal(const kiln_node *a, const kiln_node *b)
{
    if (strcmp(a->op_type, b->op_type) || strcmp(a->domain, b->domain) || a->opset != b->opset ||
        a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs || a->n_attrs != b->n_attrs)
        return 0;
    if (memcmp(a->inputs, b->inputs, sizeof(int) * (size_t)a->n_inputs) != 0)
        return 0;
    for (int i = 0; i < a->n_attrs; i++) {
        const kiln_attr *m = kiln_attr_find(b, a->attrs[i].name);
        if (!m || !attr_equal(&a->attrs[i], m))
            return 0;
    }
    for (int k = 0; k < a->n_outputs; k++)
        if ((a->outputs[k] < 0) != (b->outputs[k] < 0))
            return 0;
    return 1;
}

/* Readers of value `from` read `to`; graph outputs are left alone. */
static kiln_status redirect(kiln_graph *g, int from, int to)
{
    if (g->values[from].is_graph_output)
        return kiln_value_replace(g, from, to);
    for (int i = 0; i < g->n_nodes; i++) {
        kiln_node *n = &g->nodes[i];
        for (int k = 0; !kiln_node_dead(n) && k < n->n_inputs; k++)
            if (n->inputs[k] == from)
                n->inputs[k] = to;
    }
    return KILN_OK;
}

static int can_redirect(const kiln_graph *g, int from, int to)
{
    return !(g->values[from].is_graph_output && (g->values[to].is_graph_input || g->values[to].is_graph_output));
}

static kiln_status merge_constants(kiln_graph *g, int *merged)
{
    for (int a = 0; a < g->n_values; a++) {
        const kiln_tensor *ta = g->values[a].constant;
        if (!ta || ta->nbytes > MAX_CONST_BYTES || g->values[a].is_graph_output)
            continue;
        for (int b = a + 1; b < g->n_values; b++) {
            const kiln_tensor *tb = g->values[b].constant;
            if (!tb || g->values[b].is_graph_output || !tensors_equal(ta, tb))
                continue;
            KILN_TRY(redirect(g, b, a));
            /* b is unreferenced now; compaction drops it */
            kiln_tensor_clear(g->values[b].constant);
            free(g->values[b].constant);
            g->values[b].constant = NULL;
            (*merged)++;
        }
    }
    return KILN_OK;
}

kiln_status kiln_pass_cse(kiln_pass_ctx *ctx, int *changed)
{
    kiln_graph *g = ctx->g;
    int merged_consts = 0, merged_nodes = 0;
    KILN_TRY(merge_constants(g, &merged_consts));
    int *order = malloc(sizeof(int) * (size_t)(g->n_nodes ? g->n_nodes : 1));
    uint64_t *hash = malloc(sizeof(uint64_t) * (size_t)(g->n_nodes ? g->n_nodes : 1));
    int *seen = malloc(sizeof(int) * (size_t)(g->n_nodes ? g->n_nodes : 1));
    kiln_status st = (!order || !hash || !seen) ? kiln_error(KILN_ERR_OUT_OF_MEMORY, "cse: out of memory")
                                                : kiln_graph_topo_order(g, order);
    int n_seen = 0;
    for (int j = 0; j < g->n_nodes && st == KILN_OK; j++) {
        int i = order[j];
        kiln_node *n = &g->nodes[i];
        const kiln_op_schema *s = kiln_op_find(n->domain, n->op_type);
        if (kiln_node_dead(n) || !s || (s->flags & KILN_OP_NONDETERMINISTIC))
            continue;
        /* hashed after earlier merges rewired this node's inputs */
        hash[i] = node_hash(n);
        int twin = -1;
        for (int q = 0; q < n_seen && twin < 0; q++)
            if (hash[seen[q]] == hash[i] && nodes_equal(&g->nodes[seen[q]], n))
                twin = seen[q];
        int ok = twin >= 0;
        for (int k = 0; ok && k < n->n_outputs; k++)
            ok = n->outputs[k] < 0 || can_redirect(g, n->outputs[k], g->nodes[twin].outputs[k]);
        if (!ok) {
            seen[n_seen++] = i;
            continue;
        }
        for (int k = 0; k < n->n_outputs && st == KILN_OK; k++)
            if (n->outputs[k] >= 0)
                st = redirect(g, n->outputs[k], g->nodes[twin].outputs[k]);
        kiln_node_kill(g, i);
        merged_nodes++;
    }
    free(order);
    free(hash);
    free(seen);
    if (st == KILN_OK && (merged_consts || merged_nodes)) {
        *changed = 1;
        st = kiln_pass_record(ctx, "cse: %d duplicate nodes and %d duplicate constants merged", merged_nodes,
                              merged_consts);
    }
    return st;
}
