/*
 * rewrite.c - in-place graph edits for passes: use lists, rewiring, new
 * values and attributes, compaction and cloning.
 */
#include "ir/rewrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

kiln_status kiln_uses_build(const kiln_graph *g, kiln_uses *u)
{
    memset(u, 0, sizeof *u);
    u->n_values = g->n_values;
    u->first = calloc((size_t)g->n_values + 1, sizeof(int));
    int total = 0;
    for (int i = 0; i < g->n_nodes; i++)
        total += kiln_node_dead(&g->nodes[i]) ? 0 : g->nodes[i].n_inputs;
    u->node = malloc(sizeof(int) * (size_t)(total ? total : 1));
    int *fill = calloc((size_t)g->n_values + 1, sizeof(int));
    if (!u->first || !u->node || !fill) {
        free(fill);
        kiln_uses_free(u);
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "uses: out of memory");
    }
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; !kiln_node_dead(&g->nodes[i]) && k < g->nodes[i].n_inputs; k++)
            if (g->nodes[i].inputs[k] >= 0)
                u->first[g->nodes[i].inputs[k] + 1]++;
    for (int v = 0; v < g->n_values; v++)
        u->first[v + 1] += u->first[v];
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; !kiln_node_dead(&g->nodes[i]) && k < g->nodes[i].n_inputs; k++) {
            int v = g->nodes[i].inputs[k];
            if (v >= 0)
                u->node[u->first[v] + fill[v]++] = i;
        }
    free(fill);
    return KILN_OK;
}

void kiln_uses_free(kiln_uses *u)
{
    free(u->first);
    free(u->node);
    memset(u, 0, sizeof *u);
}

void kiln_node_kill(kiln_graph *g, int n)
{
    kiln_node *node = &g->nodes[n];
    for (int k = 0; k < node->n_outputs; k++)
        if (node->outputs[k] >= 0 && g->values[node->outputs[k]].producer == n)
            g->values[node->outputs[k]].producer = -1;
    node->op_type[0] = '\0';
}

void kiln_node_take_output(kiln_graph *g, int n, int k, int v)
{
    int old = g->nodes[n].outputs[k];
    if (old >= 0 && g->values[old].producer == n)
        g->values[old].producer = -1;
    g->nodes[n].outputs[k] = v;
    g->values[v].producer = n;
}

kiln_status kiln_graph_new_value(kiln_graph *g, const char *base, int *id)
{
    char name[512];
    for (int k = g->n_values;; k++) {
        snprintf(name, sizeof name, "%s__%d", base, k);
        if (kiln_graph_find_value(g, name) < 0)
            break;
    }
    return kiln_graph_value(g, name, id);
}

kiln_status kiln_graph_new_constant(kiln_graph *g, const char *base, kiln_tensor *t, int *id)
{
    kiln_tensor *c = malloc(sizeof *c);
    if (!c) {
        kiln_tensor_clear(t);
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "new constant: out of memory");
    }
    kiln_status st = kiln_graph_new_value(g, base, id);
    if (st != KILN_OK) {
        free(c);
        kiln_tensor_clear(t);
        return st;
    }
    *c = *t;
    memset(t, 0, sizeof *t);
    kiln_value *v = &g->values[*id];
    v->constant = c;
    v->dtype = c->dtype;
    v->rank = c->rank;
    memcpy(v->dims, c->dims, sizeof v->dims);
    return KILN_OK;
}

kiln_status kiln_value_replace(kiln_graph *g, int from, int to)
{
    if (from == to)
        return KILN_OK;
    kiln_value *vf = &g->values[from], *vt = &g->values[to];
    if (vf->is_graph_output) {
        if (vt->is_graph_input || vt->is_graph_output)
            return kiln_error(KILN_ERR_INTERNAL, "cannot replace graph output '%s' by graph input or output '%s'",
                              vf->name, vt->name);
        /* the output keeps its name: swap names through a fresh one */
        char fresh[512];
        int k = 0;
        do
            snprintf(fresh, sizeof fresh, "%s__replaced_%d", vf->name, k++);
        while (kiln_graph_find_value(g, fresh) >= 0);
        char *out_name = vf->name;
        char *to_name = vt->name;
        vf->name = NULL;
        vt->name = NULL;
        vf->name = malloc(strlen(fresh) + 1);
        if (!vf->name) {
            vf->name = out_name;
            vt->name = to_name;
            return kiln_error(KILN_ERR_OUT_OF_MEMORY, "replace: out of memory");
        }
        strcpy(vf->name, fresh);
        vt->name = out_name;
        free(to_name);
        KILN_TRY(kiln_graph_reindex(g));
        for (int i = 0; i < g->n_outputs; i++)
            if (g->outputs[i] == from)
                g->outputs[i] = to;
        vt->is_graph_output = 1;
        vf->is_graph_output = 0;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        kiln_node *n = &g->nodes[i];
        for (int k = 0; !kiln_node_dead(n) && k < n->n_inputs; k++)
            if (n->inputs[k] == from)
                n->inputs[k] = to;
    }
    return KILN_OK;
}

kiln_status kiln_node_set_op(kiln_graph *g, int n, const char *op, const char *domain)
{
    kiln_node *node = &g->nodes[n];
    char *t = malloc(strlen(op) + 1), *d = malloc(strlen(domain) + 1);
    if (!t || !d) {
        free(t);
        free(d);
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "node '%s' becoming %s: out of memory", node->name, op);
    }
    strcpy(t, op);
    strcpy(d, domain);
    free(node->op_type);
    free(node->domain);
    node->op_type = t;
    node->domain = d;
    return KILN_OK;
}

static kiln_attr *attr_slot(kiln_graph *g, int n, const char *name, kiln_attr_type type)
{
    kiln_node *node = &g->nodes[n];
    for (int i = 0; i < node->n_attrs; i++)
        if (strcmp(node->attrs[i].name, name) == 0) {
            char *keep = node->attrs[i].name;
            node->attrs[i].name = NULL;
            kiln_attr_clear(&node->attrs[i]);
            node->attrs[i].name = keep;
            node->attrs[i].type = type;
            return &node->attrs[i];
        }
    kiln_attr a = {0};
    a.name = malloc(strlen(name) + 1);
    if (!a.name)
        return NULL;
    strcpy(a.name, name);
    a.type = type;
    if (kiln_node_add_attr(g, n, &a) != KILN_OK)
        return NULL;
    return &node->attrs[node->n_attrs - 1];
}

kiln_status kiln_node_set_int(kiln_graph *g, int n, const char *name, int64_t v)
{
    kiln_attr *a = attr_slot(g, n, name, KILN_ATTR_INT);
    if (!a)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "attribute %s: out of memory", name);
    a->i = v;
    return KILN_OK;
}

kiln_status kiln_node_set_float(kiln_graph *g, int n, const char *name, float v)
{
    kiln_attr *a = attr_slot(g, n, name, KILN_ATTR_FLOAT);
    if (!a)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "attribute %s: out of memory", name);
    a->f = v;
    return KILN_OK;
}

kiln_status kiln_node_set_string(kiln_graph *g, int n, const char *name, const char *v)
{
    kiln_attr *a = attr_slot(g, n, name, KILN_ATTR_STRING);
    if (!a || !(a->s = malloc(strlen(v) + 1)))
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "attribute %s: out of memory", name);
    strcpy(a->s, v);
    a->s_len = strlen(v);
    return KILN_OK;
}

kiln_status kiln_node_set_ints(kiln_graph *g, int n, const char *name, const int64_t *v, int64_t count)
{
    kiln_attr *a = attr_slot(g, n, name, KILN_ATTR_INTS);
    if (!a || !(a->ints = malloc(sizeof(int64_t) * (size_t)(count ? count : 1))))
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "attribute %s: out of memory", name);
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)count);
    a->n = count;
    return KILN_OK;
}

kiln_status kiln_graph_compact(kiln_graph *g)
{
    int *node_map = malloc(sizeof(int) * (size_t)(g->n_nodes ? g->n_nodes : 1));
    int *val_map = malloc(sizeof(int) * (size_t)(g->n_values ? g->n_values : 1));
    char *used = calloc((size_t)(g->n_values ? g->n_values : 1), 1);
    if (!node_map || !val_map || !used) {
        free(node_map);
        free(val_map);
        free(used);
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "compact: out of memory");
    }
    int nn = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (kiln_node_dead(&g->nodes[i])) {
            kiln_node_clear(&g->nodes[i]);
            node_map[i] = -1;
            continue;
        }
        g->nodes[nn] = g->nodes[i];
        node_map[i] = nn++;
    }
    g->n_nodes = nn;
    for (int i = 0; i < nn; i++) {
        const kiln_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0)
                used[n->inputs[k]] = 1;
        for (int k = 0; k < n->n_outputs; k++)
            if (n->outputs[k] >= 0)
                used[n->outputs[k]] = 1;
    }
    for (int i = 0; i < g->n_inputs; i++)
        used[g->inputs[i]] = 1;
    for (int i = 0; i < g->n_outputs; i++)
        used[g->outputs[i]] = 1;
    int nv = 0;
    for (int v = 0; v < g->n_values; v++) {
        if (!used[v]) {
            kiln_value_clear(&g->values[v]);
            val_map[v] = -1;
            continue;
        }
        g->values[nv] = g->values[v];
        val_map[v] = nv++;
    }
    g->n_values = nv;
    for (int i = 0; i < nn; i++) {
        kiln_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs; k++)
            n->inputs[k] = n->inputs[k] >= 0 ? val_map[n->inputs[k]] : -1;
        for (int k = 0; k < n->n_outputs; k++)
            n->outputs[k] = n->outputs[k] >= 0 ? val_map[n->outputs[k]] : -1;
    }
    for (int v = 0; v < nv; v++)
        g->values[v].producer = g->values[v].producer >= 0 ? node_map[g->values[v].producer] : -1;
    for (int i = 0; i < g->n_inputs; i++)
        g->inputs[i] = val_map[g->inputs[i]];
    for (int i = 0; i < g->n_outputs; i++)
        g->outputs[i] = val_map[g->outputs[i]];
    free(node_map);
    free(val_map);
    free(used);
    return kiln_graph_reindex(g);
}

static char *clone_str(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    if (d)
        strcpy(d, s);
    return d;
}

static void *clone_mem(const void *src, size_t bytes)
{
    void *d = malloc(bytes ? bytes : 1);
    if (d && bytes)
        memcpy(d, src, bytes);
    return d;
}

static kiln_status clone_tensor(const kiln_tensor *src, kiln_tensor **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "clone: out of memory");
    return kiln_tensor_copy(*out, src, "attribute tensor");
}

static kiln_status clone_attr(const kiln_attr *a, kiln_attr *d)
{
    memset(d, 0, sizeof *d);
    *d = *a;
    d->name = NULL;
    d->s = NULL;
    d->t = NULL;
    d->g = NULL;
    d->floats = NULL;
    d->ints = NULL;
    d->strings = NULL;
    d->tensors = NULL;
    d->graphs = NULL;
    int ok = (d->name = clone_str(a->name)) != NULL;
    if (ok && a->s)
        ok = (d->s = clone_mem(a->s, a->s_len + 1)) != NULL;
    if (ok && a->floats)
        ok = (d->floats = clone_mem(a->floats, sizeof(float) * (size_t)a->n)) != NULL;
    if (ok && a->ints)
        ok = (d->ints = clone_mem(a->ints, sizeof(int64_t) * (size_t)a->n)) != NULL;
    if (ok && a->strings) {
        ok = (d->strings = calloc((size_t)a->n + 1, sizeof(char *))) != NULL;
        for (int64_t i = 0; ok && i < a->n; i++)
            ok = (d->strings[i] = clone_str(a->strings[i])) != NULL;
    }
    if (!ok)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "clone: out of memory");
    if (a->t)
        KILN_TRY(clone_tensor(a->t, &d->t));
    if (a->g)
        KILN_TRY(kiln_graph_clone(a->g, &d->g));
    if (a->tensors) {
        if (!(d->tensors = calloc((size_t)a->n + 1, sizeof(kiln_tensor *))))
            return kiln_error(KILN_ERR_OUT_OF_MEMORY, "clone: out of memory");
        for (int64_t i = 0; i < a->n; i++)
            KILN_TRY(clone_tensor(a->tensors[i], &d->tensors[i]));
    }
    if (a->graphs) {
        if (!(d->graphs = calloc((size_t)a->n + 1, sizeof(kiln_graph *))))
            return kiln_error(KILN_ERR_OUT_OF_MEMORY, "clone: out of memory");
        for (int64_t i = 0; i < a->n; i++)
            KILN_TRY(kiln_graph_clone(a->graphs[i], &d->graphs[i]));
    }
    return KILN_OK;
}

static kiln_status clone_values(const kiln_graph *g, kiln_graph *c)
{
    for (int v = 0; v < g->n_values; v++) {
        int id;
        KILN_TRY(kiln_graph_value(c, g->values[v].name, &id));
        kiln_value *d = &c->values[id];
        const kiln_value *s = &g->values[v];
        char *name = d->name;
        *d = *s;
        d->name = name;
        d->constant = NULL;
        d->quant = NULL;
        if (s->constant) {
            if (!(d->constant = clone_mem(s->constant, sizeof *s->constant)))
                return kiln_error(KILN_ERR_OUT_OF_MEMORY, "clone: out of memory");
            d->constant->owns_data = 0; /* borrowed from g */
        }
        if (s->quant) {
            if (!(d->quant = clone_mem(s->quant, sizeof *s->quant)))
                return kiln_error(KILN_ERR_OUT_OF_MEMORY, "clone: out of memory");
            d->quant->scales = clone_mem(s->quant->scales, sizeof(float) * (size_t)s->quant->count);
            d->quant->zero_points = clone_mem(s->quant->zero_points, sizeof(int32_t) * (size_t)s->quant->count);
            if (!d->quant->scales || !d->quant->zero_points)
                return kiln_error(KILN_ERR_OUT_OF_MEMORY, "clone: out of memory");
        }
    }
    return KILN_OK;
}

static kiln_status clone_nodes(const kiln_graph *g, kiln_graph *c)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const kiln_node *s = &g->nodes[i];
        int idx;
        KILN_TRY(kiln_graph_add_node(c, s->op_type, s->domain, s->name, s->n_inputs, s->inputs, s->n_outputs,
                                     s->outputs, &idx));
        c->nodes[idx].opset = s->opset;
        for (int a = 0; a < s->n_attrs; a++) {
            kiln_attr d;
            kiln_status st = clone_attr(&s->attrs[a], &d);
            if (st != KILN_OK) {
                kiln_attr_clear(&d);
                return st;
            }
            KILN_TRY(kiln_node_add_attr(c, idx, &d));
        }
    }
    return KILN_OK;
}

kiln_status kiln_graph_clone(const kiln_graph *g, kiln_graph **out)
{
    kiln_graph *c;
    KILN_TRY(kiln_graph_create(&c));
    c->ir_version = g->ir_version;
    c->opset = g->opset;
    free(c->name);
    c->name = clone_str(g->name);
    kiln_status st = c->name ? KILN_OK : kiln_error(KILN_ERR_OUT_OF_MEMORY, "clone: out of memory");
    for (int i = 0; st == KILN_OK && i < g->n_symbols; i++) {
        int id;
        st = kiln_graph_symbol(c, g->symbols[i], &id);
    }
    if (st == KILN_OK)
        st = clone_values(g, c);
    if (st == KILN_OK)
        st = clone_nodes(g, c);
    for (int i = 0; st == KILN_OK && i < g->n_inputs; i++)
        st = kiln_graph_add_input(c, g->inputs[i]);
    for (int i = 0; st == KILN_OK && i < g->n_outputs; i++)
        st = kiln_graph_add_output(c, g->outputs[i]);
    if (st == KILN_OK && g->n_profiles) {
        c->profiles = calloc((size_t)g->n_profiles, sizeof *c->profiles);
        st = c->profiles ? KILN_OK : kiln_error(KILN_ERR_OUT_OF_MEMORY, "clone: out of memory");
        for (int i = 0; st == KILN_OK && i < g->n_profiles; i++) {
            c->n_profiles = i + 1;
            c->profiles[i].n_inputs = g->profiles[i].n_inputs;
            c->profiles[i].inputs =
                clone_mem(g->profiles[i].inputs, sizeof(kiln_profile_dims) * (size_t)g->profiles[i].n_inputs);
            if (!c->profiles[i].inputs)
                st = kiln_error(KILN_ERR_OUT_OF_MEMORY, "clone: out of memory");
        }
    }
    if (st != KILN_OK) {
        kiln_graph_free(c);
        return st;
    }
    *out = c;
    return KILN_OK;
}
