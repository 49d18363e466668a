/*
 * graph.c - building and freeing the graph IR; name lookup through an open
 * addressing hash so large models import in linear time.
 */
#include "ir/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

typedef struct kiln_value_index {
    int cap;   /* power of two */
    int *slot; /* value id + 1; 0 = empty */
} kiln_value_index;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s ? s : "");
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s ? s : "", n + 1);
    return d;
}

static kiln_status index_rebuild(kiln_graph *g, int cap)
{
    int *slot = calloc((size_t)cap, sizeof *slot);
    if (!slot)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "graph: cannot grow the value index");
    for (int v = 0; v < g->n_values; v++) {
        uint64_t h = hash_str(g->values[v].name) & (uint64_t)(cap - 1);
        while (slot[h])
            h = (h + 1) & (uint64_t)(cap - 1);
        slot[h] = v + 1;
    }
    free(g->index->slot);
    g->index->slot = slot;
    g->index->cap = cap;
    return KILN_OK;
}

kiln_status kiln_graph_create(kiln_graph **out)
{
    kiln_graph *g = calloc(1, sizeof *g);
    if (!g)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "graph: out of memory");
    g->index = calloc(1, sizeof *g->index);
    g->name = dup_str("");
    if (!g->index || !g->name) {
        kiln_graph_free(g);
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "graph: out of memory");
    }
    if (index_rebuild(g, 64) != KILN_OK) {
        kiln_graph_free(g);
        return KILN_ERR_OUT_OF_MEMORY;
    }
    *out = g;
    return KILN_OK;
}

void kiln_attr_clear(kiln_attr *a)
{
    free(a->name);
    free(a->s);
    if (a->t) {
        kiln_tensor_clear(a->t);
        free(a->t);
    }
    if (a->g)
        kiln_graph_free(a->g);
    free(a->floats);
    free(a->ints);
    if (a->strings)
        for (int64_t i = 0; i < a->n; i++)
            free(a->strings[i]);
    free(a->strings);
    if (a->tensors)
        for (int64_t i = 0; i < a->n; i++)
            if (a->tensors[i]) {
                kiln_tensor_clear(a->tensors[i]);
                free(a->tensors[i]);
            }
    free(a->tensors);
    if (a->graphs)
        for (int64_t i = 0; i < a->n; i++)
            if (a->graphs[i])
                kiln_graph_free(a->graphs[i]);
    free(a->graphs);
    memset(a, 0, sizeof *a);
}

void kiln_value_clear(kiln_value *v)
{
    free(v->name);
    if (v->constant) {
        kiln_tensor_clear(v->constant);
        free(v->constant);
    }
    if (v->quant) {
        free(v->quant->scales);
        free(v->quant->zero_points);
        free(v->quant);
    }
    memset(v, 0, sizeof *v);
}

void kiln_node_clear(kiln_node *n)
{
    free(n->name);
    free(n->op_type);
    free(n->domain);
    free(n->inputs);
    free(n->outputs);
    for (int a = 0; a < n->n_attrs; a++)
        kiln_attr_clear(&n->attrs[a]);
    free(n->attrs);
    memset(n, 0, sizeof *n);
}

void kiln_graph_free(kiln_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_values; i++)
        kiln_value_clear(&g->values[i]);
    for (int i = 0; i < g->n_nodes; i++)
        kiln_node_clear(&g->nodes[i]);
    for (int i = 0; i < g->n_symbols; i++)
        free(g->symbols[i]);
    for (int i = 0; i < g->n_profiles; i++)
        free(g->profiles[i].inputs);
    free(g->profiles);
    free(g->symbols);
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->name);
    if (g->index)
        free(g->index->slot);
    free(g->index);
    free(g);
}

int kiln_graph_find_value(const kiln_graph *g, const char *name)
{
    uint64_t mask = (uint64_t)(g->index->cap - 1);
    uint64_t h = hash_str(name) & mask;
    while (g->index->slot[h]) {
        int v = g->index->slot[h] - 1;
        if (strcmp(g->values[v].name, name) == 0)
            return v;
        h = (h + 1) & mask;
    }
    return -1;
}

kiln_status kiln_graph_value(kiln_graph *g, const char *name, int *id)
{
    int v = kiln_graph_find_value(g, name);
    if (v >= 0) {
        *id = v;
        return KILN_OK;
    }
    if (g->n_values == g->cap_values) {
        int cap = g->cap_values ? g->cap_values * 2 : 64;
        kiln_value *nv = realloc(g->values, (size_t)cap * sizeof *nv);
        if (!nv)
            return kiln_error(KILN_ERR_OUT_OF_MEMORY, "graph: cannot add value '%s'", name);
        g->values = nv;
        g->cap_values = cap;
    }
    kiln_value *val = &g->values[g->n_values];
    memset(val, 0, sizeof *val);
    val->name = dup_str(name);
    if (!val->name)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "graph: cannot add value '%s'", name);
    val->rank = -1;
    val->producer = -1;
    g->n_values++;
    if (g->n_values * 2 > g->index->cap)
        KILN_TRY(index_rebuild(g, g->index->cap * 2));
    else {
        uint64_t mask = (uint64_t)(g->index->cap - 1);
        uint64_t h = hash_str(name) & mask;
        while (g->index->slot[h])
            h = (h + 1) & mask;
        g->index->slot[h] = g->n_values;
    }
    *id = g->n_values - 1;
    return KILN_OK;
}

kiln_status kiln_graph_add_node(kiln_graph *g, const char *op_type, const char *domain, const char *name,
                                int n_inputs, const int *inputs, int n_outputs, const int *outputs, int *index)
{
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 32;
        kiln_node *nn = realloc(g->nodes, (size_t)cap * sizeof *nn);
        if (!nn)
            return kiln_error(KILN_ERR_OUT_OF_MEMORY, "graph: cannot add node '%s'", name ? name : "");
        g->nodes = nn;
        g->cap_nodes = cap;
    }
    kiln_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op_type = dup_str(op_type);
    n->domain = dup_str(domain ? domain : "");
    n->name = dup_str(name ? name : "");
    n->inputs = malloc(sizeof(int) * (size_t)(n_inputs ? n_inputs : 1));
    n->outputs = malloc(sizeof(int) * (size_t)(n_outputs ? n_outputs : 1));
    g->n_nodes++; /* counted first so kiln_graph_free releases a partial node */
    if (!n->op_type || !n->domain || !n->name || !n->inputs || !n->outputs)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "graph: cannot add node '%s'", name ? name : "");
    if (n_inputs)
        memcpy(n->inputs, inputs, sizeof(int) * (size_t)n_inputs);
    if (n_outputs)
        memcpy(n->outputs, outputs, sizeof(int) * (size_t)n_outputs);
    n->n_inputs = n_inputs;
    n->n_outputs = n_outputs;
    n->opset = g->opset;
    if (index)
        *index = g->n_nodes - 1;
    return KILN_OK;
}

kiln_status kiln_node_add_attr(kiln_graph *g, int node, kiln_attr *attr)
{
    kiln_node *n = &g->nodes[node];
    kiln_attr *na = realloc(n->attrs, sizeof *na * (size_t)(n->n_attrs + 1));
    if (!na) {
        kiln_attr_clear(attr);
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "graph: cannot add an attribute");
    }
    n->attrs = na;
    n->attrs[n->n_attrs++] = *attr;
    memset(attr, 0, sizeof *attr);
    return KILN_OK;
}

kiln_status kiln_graph_symbol(kiln_graph *g, const char *name, int *id)
{
    for (int i = 0; i < g->n_symbols; i++)
        if (strcmp(g->symbols[i], name) == 0) {
            *id = i;
            return KILN_OK;
        }
    char **ns = realloc(g->symbols, sizeof *ns * (size_t)(g->n_symbols + 1));
    if (!ns)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "graph: cannot add symbol '%s'", name);
    g->symbols = ns;
    g->symbols[g->n_symbols] = dup_str(name);
    if (!g->symbols[g->n_symbols])
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "graph: cannot add symbol '%s'", name);
    *id = g->n_symbols++;
    return KILN_OK;
}

static kiln_status append_id(int **arr, int *n, int v)
{
    int *na = realloc(*arr, sizeof(int) * (size_t)(*n + 1));
    if (!na)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "graph: out of memory");
    *arr = na;
    na[(*n)++] = v;
    return KILN_OK;
}

kiln_status kiln_graph_add_input(kiln_graph *g, int value)
{
    g->values[value].is_graph_input = 1;
    return append_id(&g->inputs, &g->n_inputs, value);
}

kiln_status kiln_graph_add_output(kiln_graph *g, int value)
{
    g->values[value].is_graph_output = 1;
    return append_id(&g->outputs, &g->n_outputs, value);
}

const char *kiln_node_label(const kiln_graph *g, int node, char *buf, size_t len)
{
    const kiln_node *n = &g->nodes[node];
    if (n->name && n->name[0])
        snprintf(buf, len, "'%s' (%s)", n->name, n->op_type);
    else
        snprintf(buf, len, "#%d (%s)", node, n->op_type);
    return buf;
}

const kiln_attr *kiln_attr_find(const kiln_node *n, const char *name)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

int64_t kiln_attr_int(const kiln_node *n, const char *name, int64_t def)
{
    const kiln_attr *a = kiln_attr_find(n, name);
    return a && a->type == KILN_ATTR_INT ? a->i : def;
}

float kiln_attr_float(const kiln_node *n, const char *name, float def)
{
    const kiln_attr *a = kiln_attr_find(n, name);
    if (a && a->type == KILN_ATTR_FLOAT)
        return a->f;
    if (a && a->type == KILN_ATTR_INT)
        return (float)a->i;
    return def;
}

const char *kiln_attr_string(const kiln_node *n, const char *name, const char *def)
{
    const kiln_attr *a = kiln_attr_find(n, name);
    return a && a->type == KILN_ATTR_STRING ? a->s : def;
}

int kiln_attr_ints(const kiln_node *n, const char *name, const int64_t **vals, int64_t *count)
{
    const kiln_attr *a = kiln_attr_find(n, name);
    if (!a || a->type != KILN_ATTR_INTS)
        return 0;
    *vals = a->ints;
    *count = a->n;
    return 1;
}

int kiln_attr_floats(const kiln_node *n, const char *name, const float **vals, int64_t *count)
{
    const kiln_attr *a = kiln_attr_find(n, name);
    if (!a || a->type != KILN_ATTR_FLOATS)
        return 0;
    *vals = a->floats;
    *count = a->n;
    return 1;
}

const char *kiln_graph_shape_str(const kiln_graph *g, const int64_t *dims, int rank, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    if (rank <= 0)
        return kiln_shape_str(dims, rank, buf, len);
    for (int i = 0; i < rank && used < len; i++) {
        const char *sep = i ? "x" : "";
        int w;
        if (dims[i] >= 0)
            w = snprintf(buf + used, len - used, "%s%lld", sep, (long long)dims[i]);
        else if (KILN_DIM_IS_SYMBOL(dims[i]) && KILN_DIM_SYMBOL_ID(dims[i]) < g->n_symbols)
            w = snprintf(buf + used, len - used, "%s%s", sep, g->symbols[KILN_DIM_SYMBOL_ID(dims[i])]);
        else
            w = snprintf(buf + used, len - used, "%s?", sep);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

kiln_status kiln_graph_reindex(kiln_graph *g)
{
    int cap = 64;
    while (cap < g->n_values * 2)
        cap *= 2;
    return index_rebuild(g, cap);
}

kiln_status kiln_graph_rename_value(kiln_graph *g, int v, const char *name)
{
    if (kiln_graph_find_value(g, name) >= 0)
        return kiln_error(KILN_ERR_INTERNAL, "rename: value name '%s' is taken", name);
    char *copy = dup_str(name);
    if (!copy)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "rename: out of memory");
    free(g->values[v].name);
    g->values[v].name = copy;
    return kiln_graph_reindex(g);
}
