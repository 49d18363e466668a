/*
 * graph_codec.c - graph IR to and from engine-file bytes.
 */
#include "engine/graph_codec.h"

#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"

#define MAX_DEPTH 16

/* ---- writing ------------------------------------------------------------ */

static void encode_tensor(kiln_writer *w, const kiln_tensor *t)
{
    kiln_put_i32(w, (int32_t)t->dtype);
    kiln_put_i32(w, t->rank);
    for (int d = 0; d < t->rank; d++)
        kiln_put_i64(w, t->dims[d]);
    kiln_put_u64(w, t->nbytes);
    kiln_put_align(w, 64);
    kiln_put_bytes(w, t->data, t->nbytes);
}

static void encode_attr(kiln_writer *w, const kiln_attr *a)
{
    kiln_put_str(w, a->name);
    kiln_put_i32(w, (int32_t)a->type);
    switch (a->type) {
    case KILN_ATTR_FLOAT: kiln_put_f32(w, a->f); break;
    case KILN_ATTR_INT: kiln_put_i64(w, a->i); break;
    case KILN_ATTR_STRING:
        kiln_put_u32(w, (uint32_t)a->s_len);
        kiln_put_bytes(w, a->s, a->s_len);
        break;
    case KILN_ATTR_TENSOR: encode_tensor(w, a->t); break;
    case KILN_ATTR_GRAPH: kiln_graph_encode(w, a->g); break;
    case KILN_ATTR_FLOATS:
        kiln_put_u32(w, (uint32_t)a->n);
        for (int64_t i = 0; i < a->n; i++)
            kiln_put_f32(w, a->floats[i]);
        break;
    case KILN_ATTR_INTS:
        kiln_put_u32(w, (uint32_t)a->n);
        for (int64_t i = 0; i < a->n; i++)
            kiln_put_i64(w, a->ints[i]);
        break;
    case KILN_ATTR_STRINGS:
        kiln_put_u32(w, (uint32_t)a->n);
        for (int64_t i = 0; i < a->n; i++)
            kiln_put_str(w, a->strings[i]);
        break;
    case KILN_ATTR_TENSORS:
        kiln_put_u32(w, (uint32_t)a->n);
        for (int64_t i = 0; i < a->n; i++)
            encode_tensor(w, a->tensors[i]);
        break;
    case KILN_ATTR_GRAPHS:
        kiln_put_u32(w, (uint32_t)a->n);
        for (int64_t i = 0; i < a->n; i++)
            kiln_graph_encode(w, a->graphs[i]);
        break;
    default: break;
    }
}

static void encode_value(kiln_writer *w, const kiln_value *v)
{
    kiln_put_str(w, v->name);
    kiln_put_i32(w, (int32_t)v->dtype);
    kiln_put_i32(w, v->rank);
    for (int d = 0; d < v->rank; d++)
        kiln_put_i64(w, v->dims[d]);
    kiln_put_i32(w, v->producer);
    kiln_put_u8(w, (uint8_t)((v->is_graph_input ? 1 : 0) | (v->is_graph_output ? 2 : 0) | (v->constant ? 4 : 0) |
                             (v->quant ? 8 : 0)));
    if (v->constant)
        encode_tensor(w, v->constant);
    if (v->quant) {
        kiln_put_i32(w, v->quant->axis);
        kiln_put_u32(w, (uint32_t)v->quant->count);
        for (int64_t i = 0; i < v->quant->count; i++) {
            kiln_put_f32(w, v->quant->scales[i]);
            kiln_put_i32(w, v->quant->zero_points[i]);
        }
    }
}

static void encode_node(kiln_writer *w, const kiln_node *n)
{
    kiln_put_str(w, n->name);
    kiln_put_str(w, n->op_type);
    kiln_put_str(w, n->domain);
    kiln_put_i32(w, n->opset);
    kiln_put_u32(w, (uint32_t)n->n_inputs);
    for (int k = 0; k < n->n_inputs; k++)
        kiln_put_i32(w, n->inputs[k]);
    kiln_put_u32(w, (uint32_t)n->n_outputs);
    for (int k = 0; k < n->n_outputs; k++)
        kiln_put_i32(w, n->outputs[k]);
    kiln_put_u32(w, (uint32_t)n->n_attrs);
    for (int a = 0; a < n->n_attrs; a++)
        encode_attr(w, &n->attrs[a]);
}

void kiln_graph_encode(kiln_writer *w, const kiln_graph *g)
{
    kiln_put_str(w, g->name);
    kiln_put_i64(w, g->ir_version);
    kiln_put_i32(w, g->opset);
    kiln_put_u32(w, (uint32_t)g->n_symbols);
    for (int i = 0; i < g->n_symbols; i++)
        kiln_put_str(w, g->symbols[i]);
    kiln_put_u32(w, (uint32_t)g->n_values);
    for (int v = 0; v < g->n_values; v++)
        encode_value(w, &g->values[v]);
    kiln_put_u32(w, (uint32_t)g->n_nodes);
    for (int i = 0; i < g->n_nodes; i++)
        encode_node(w, &g->nodes[i]);
    kiln_put_u32(w, (uint32_t)g->n_inputs);
    for (int i = 0; i < g->n_inputs; i++)
        kiln_put_i32(w, g->inputs[i]);
    kiln_put_u32(w, (uint32_t)g->n_outputs);
    for (int i = 0; i < g->n_outputs; i++)
        kiln_put_i32(w, g->outputs[i]);
    kiln_put_u32(w, (uint32_t)g->n_profiles);
    for (int p = 0; p < g->n_profiles; p++) {
        kiln_put_u32(w, (uint32_t)g->profiles[p].n_inputs);
        for (int i = 0; i < g->profiles[p].n_inputs; i++) {
            const kiln_profile_dims *pd = &g->profiles[p].inputs[i];
            kiln_put_i32(w, pd->value);
            kiln_put_i32(w, pd->rank);
            for (int d = 0; d < pd->rank; d++) {
                kiln_put_i64(w, pd->min[d]);
                kiln_put_i64(w, pd->opt[d]);
                kiln_put_i64(w, pd->max[d]);
            }
        }
    }
}

/* ---- reading ------------------------------------------------------------ */

static kiln_status decode_graph(kiln_reader *r, int borrow, int depth, kiln_graph **out);

static kiln_status decode_rank(kiln_reader *r, int32_t *rank, int allow_unknown, const char *what)
{
    KILN_TRY(kiln_get_i32(r, rank, what));
    if (*rank > KILN_MAX_RANK || *rank < (allow_unknown ? -1 : 0))
        return kiln_error(KILN_ERR_PARSE, "engine file byte offset %zu: %s has rank %d", r->pos - 4, what, *rank);
    return KILN_OK;
}

static kiln_status decode_tensor(kiln_reader *r, int borrow, kiln_tensor *t, const char *what)
{
    int32_t dt, rank;
    uint64_t nbytes;
    int64_t dims[KILN_MAX_RANK], n;
    size_t expect;
    const uint8_t *p;
    KILN_TRY(kiln_get_i32(r, &dt, what));
    if (!kiln_dtype_valid((kiln_dtype)dt))
        return kiln_error(KILN_ERR_PARSE, "engine file byte offset %zu: %s has dtype %d", r->pos - 4, what, dt);
    KILN_TRY(decode_rank(r, &rank, 0, what));
    for (int d = 0; d < rank; d++)
        KILN_TRY(kiln_get_i64(r, &dims[d], what));
    KILN_TRY(kiln_shape_numel(dims, rank, &n, what));
    KILN_TRY(kiln_bytes_for((kiln_dtype)dt, n, r->max_alloc, &expect, what));
    KILN_TRY(kiln_get_u64(r, &nbytes, what));
    if (nbytes != expect)
        return kiln_error(KILN_ERR_PARSE, "engine file byte offset %zu: %s holds %llu bytes, its shape needs %zu",
                          r->pos - 8, what, (unsigned long long)nbytes, expect);
    KILN_TRY(kiln_get_align(r, 64, what));
    KILN_TRY(kiln_get_span(r, expect, &p, what));
    kiln_tensor_set_shape(t, (kiln_dtype)dt, rank, dims);
    t->nbytes = expect;
    if (borrow) {
        t->data = (void *)p;
        t->owns_data = 0;
        return KILN_OK;
    }
    t->data = malloc(expect ? expect : 1);
    if (!t->data)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine file: cannot allocate %zu bytes for %s", expect, what);
    memcpy(t->data, p, expect);
    t->owns_data = 1;
    return KILN_OK;
}

static kiln_status new_tensor(kiln_reader *r, int borrow, kiln_tensor **t, const char *what)
{
    *t = calloc(1, sizeof **t);
    if (!*t)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine file: out of memory");
    return decode_tensor(r, borrow, *t, what);
}

static kiln_status decode_list(kiln_reader *r, kiln_attr *a, size_t unit, size_t elem)
{
    uint32_t n;
    KILN_TRY(kiln_get_count(r, unit, &n, "attribute list"));
    a->n = n;
    void *p = calloc((size_t)n + 1, elem);
    if (!p)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine file: out of memory");
    if (a->type == KILN_ATTR_FLOATS)
        a->floats = p;
    else if (a->type == KILN_ATTR_INTS)
        a->ints = p;
    else if (a->type == KILN_ATTR_STRINGS)
        a->strings = p;
    else if (a->type == KILN_ATTR_TENSORS)
        a->tensors = p;
    else
        a->graphs = p;
    for (uint32_t i = 0; i < n; i++) {
        if (a->type == KILN_ATTR_FLOATS)
            KILN_TRY(kiln_get_f32(r, &a->floats[i], "attribute floats"));
        else if (a->type == KILN_ATTR_INTS)
            KILN_TRY(kiln_get_i64(r, &a->ints[i], "attribute ints"));
        else if (a->type == KILN_ATTR_STRINGS)
            KILN_TRY(kiln_get_str(r, &a->strings[i], "attribute strings"));
        else if (a->type == KILN_ATTR_TENSORS)
            KILN_TRY(new_tensor(r, 0, &a->tensors[i], "attribute tensor"));
    }
    return KILN_OK;
}

static kiln_status decode_attr(kiln_reader *r, int borrow, int depth, kiln_attr *a)
{
    int32_t type;
    uint32_t len;
    const uint8_t *p;
    KILN_TRY(kiln_get_str(r, &a->name, "attribute name"));
    KILN_TRY(kiln_get_i32(r, &type, "attribute type"));
    a->type = (kiln_attr_type)type;
    switch (a->type) {
    case KILN_ATTR_FLOAT: return kiln_get_f32(r, &a->f, "attribute float");
    case KILN_ATTR_INT: return kiln_get_i64(r, &a->i, "attribute int");
    case KILN_ATTR_STRING:
        KILN_TRY(kiln_get_u32(r, &len, "attribute string"));
        KILN_TRY(kiln_get_span(r, len, &p, "attribute string"));
        if (!(a->s = malloc((size_t)len + 1)))
            return kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine file: out of memory");
        memcpy(a->s, p, len);
        a->s[len] = '\0';
        a->s_len = len;
        return KILN_OK;
    case KILN_ATTR_TENSOR: return new_tensor(r, 0, &a->t, "attribute tensor");
    case KILN_ATTR_GRAPH: return decode_graph(r, borrow, depth + 1, &a->g);
    case KILN_ATTR_FLOATS: return decode_list(r, a, 4, sizeof(float));
    case KILN_ATTR_INTS: return decode_list(r, a, 8, sizeof(int64_t));
    case KILN_ATTR_STRINGS: return decode_list(r, a, 4, sizeof(char *));
    case KILN_ATTR_TENSORS: return decode_list(r, a, 24, sizeof(kiln_tensor *));
    case KILN_ATTR_GRAPHS: {
        KILN_TRY(decode_list(r, a, 16, sizeof(kiln_graph *)));
        for (int64_t i = 0; i < a->n; i++)
            KILN_TRY(decode_graph(r, borrow, depth + 1, &a->graphs[i]));
        return KILN_OK;
    }
    default:
        return kiln_error(KILN_ERR_PARSE, "engine file byte offset %zu: attribute '%s' has type %d", r->pos - 4,
                          a->name, type);
    }
}

static kiln_status check_id(const kiln_reader *r, int32_t id, int lo, int n, const char *what)
{
    if (id < lo || id >= n)
        return kiln_error(KILN_ERR_PARSE, "engine file byte offset %zu: %s %d is out of range", r->pos - 4, what, id);
    return KILN_OK;
}

static kiln_status decode_values(kiln_reader *r, int borrow, kiln_graph *g)
{
    uint32_t n;
    KILN_TRY(kiln_get_count(r, 17, &n, "value count"));
    for (uint32_t i = 0; i < n; i++) {
        char *name = NULL;
        int id;
        KILN_TRY(kiln_get_str(r, &name, "value name"));
        kiln_status st = kiln_graph_find_value(g, name) >= 0
                             ? kiln_error(KILN_ERR_PARSE, "engine file byte offset %zu: value '%s' appears twice",
                                          r->pos, name)
                             : kiln_graph_value(g, name, &id);
        free(name);
        KILN_TRY(st);
        kiln_value *v = &g->values[id];
        int32_t dt, rank, producer;
        uint8_t flags;
        KILN_TRY(kiln_get_i32(r, &dt, "value dtype"));
        if (dt != KILN_UNDEFINED && !kiln_dtype_valid((kiln_dtype)dt))
            return kiln_error(KILN_ERR_PARSE, "engine file byte offset %zu: value dtype %d", r->pos - 4, dt);
        v->dtype = (kiln_dtype)dt;
        KILN_TRY(decode_rank(r, &rank, 1, "value shape"));
        v->rank = rank;
        for (int d = 0; d < rank; d++)
            KILN_TRY(kiln_get_i64(r, &v->dims[d], "value dims"));
        KILN_TRY(kiln_get_i32(r, &producer, "value producer"));
        v->producer = producer;
        KILN_TRY(kiln_get_u8(r, &flags, "value flags"));
        if (flags & 4)
            KILN_TRY(new_tensor(r, borrow, &v->constant, "constant"));
        if (flags & 8) {
            uint32_t count;
            if (!(v->quant = calloc(1, sizeof *v->quant)))
                return kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine file: out of memory");
            KILN_TRY(kiln_get_i32(r, &v->quant->axis, "quantization axis"));
            KILN_TRY(kiln_get_count(r, 8, &count, "quantization scales"));
            v->quant->count = count;
            v->quant->scales = calloc((size_t)count + 1, sizeof(float));
            v->quant->zero_points = calloc((size_t)count + 1, sizeof(int32_t));
            if (!v->quant->scales || !v->quant->zero_points)
                return kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine file: out of memory");
            for (uint32_t q = 0; q < count; q++) {
                KILN_TRY(kiln_get_f32(r, &v->quant->scales[q], "quantization scale"));
                KILN_TRY(kiln_get_i32(r, &v->quant->zero_points[q], "quantization zero point"));
            }
        }
        v->is_graph_input = (flags & 1) != 0;
        v->is_graph_output = (flags & 2) != 0;
    }
    return KILN_OK;
}

static kiln_status decode_ids(kiln_reader *r, int n_values, uint32_t n, int *ids, int allow_absent, const char *what)
{
    for (uint32_t k = 0; k < n; k++) {
        int32_t id;
        KILN_TRY(kiln_get_i32(r, &id, what));
        KILN_TRY(check_id(r, id, allow_absent ? -1 : 0, n_values, what));
        ids[k] = id;
    }
    return KILN_OK;
}

static kiln_status decode_node(kiln_reader *r, int borrow, int depth, kiln_graph *g)
{
    char *name = NULL, *op = NULL, *domain = NULL;
    int32_t opset;
    uint32_t n_in = 0, n_out = 0, n_attrs;
    int *in = NULL, *out = NULL, idx = -1;
    kiln_status st = kiln_get_str(r, &name, "node name");
    if (st == KILN_OK)
        st = kiln_get_str(r, &op, "node op");
    if (st == KILN_OK)
        st = kiln_get_str(r, &domain, "node domain");
    if (st == KILN_OK)
        st = kiln_get_i32(r, &opset, "node opset");
    if (st == KILN_OK)
        st = kiln_get_count(r, 4, &n_in, "node inputs");
    if (st == KILN_OK && !(in = malloc(sizeof(int) * ((size_t)n_in + 1))))
        st = kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine file: out of memory");
    if (st == KILN_OK)
        st = decode_ids(r, g->n_values, n_in, in, 1, "node input");
    if (st == KILN_OK)
        st = kiln_get_count(r, 4, &n_out, "node outputs");
    if (st == KILN_OK && !(out = malloc(sizeof(int) * ((size_t)n_out + 1))))
        st = kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine file: out of memory");
    if (st == KILN_OK)
        st = decode_ids(r, g->n_values, n_out, out, 1, "node output");
    if (st == KILN_OK && !op[0])
        st = kiln_error(KILN_ERR_PARSE, "engine file byte offset %zu: a node has no op type", r->pos);
    if (st == KILN_OK)
        st = kiln_graph_add_node(g, op, domain, name, (int)n_in, in, (int)n_out, out, &idx);
    free(name);
    free(op);
    free(domain);
    free(in);
    free(out);
    KILN_TRY(st);
    g->nodes[idx].opset = opset;
    KILN_TRY(kiln_get_count(r, 8, &n_attrs, "node attributes"));
    for (uint32_t a = 0; a < n_attrs; a++) {
        kiln_attr attr = {0};
        st = decode_attr(r, borrow, depth, &attr);
        if (st != KILN_OK) {
            kiln_attr_clear(&attr);
            return st;
        }
        KILN_TRY(kiln_node_add_attr(g, idx, &attr));
    }
    return KILN_OK;
}

static kiln_status decode_profiles(kiln_reader *r, kiln_graph *g)
{
    uint32_t n;
    KILN_TRY(kiln_get_count(r, 4, &n, "profile count"));
    if (!n)
        return KILN_OK;
    if (!(g->profiles = calloc(n, sizeof *g->profiles)))
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine file: out of memory");
    g->n_profiles = (int)n;
    for (uint32_t p = 0; p < n; p++) {
        uint32_t m;
        KILN_TRY(kiln_get_count(r, 8, &m, "profile inputs"));
        if (!(g->profiles[p].inputs = calloc((size_t)m + 1, sizeof(kiln_profile_dims))))
            return kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine file: out of memory");
        g->profiles[p].n_inputs = (int)m;
        for (uint32_t i = 0; i < m; i++) {
            kiln_profile_dims *pd = &g->profiles[p].inputs[i];
            int32_t rank;
            KILN_TRY(kiln_get_i32(r, &pd->value, "profile input"));
            KILN_TRY(check_id(r, pd->value, 0, g->n_values, "profile input"));
            KILN_TRY(decode_rank(r, &rank, 0, "profile shape"));
            pd->rank = rank;
            for (int d = 0; d < rank; d++) {
                KILN_TRY(kiln_get_i64(r, &pd->min[d], "profile min"));
                KILN_TRY(kiln_get_i64(r, &pd->opt[d], "profile opt"));
                KILN_TRY(kiln_get_i64(r, &pd->max[d], "profile max"));
            }
        }
    }
    return KILN_OK;
}

static kiln_status decode_body(kiln_reader *r, int borrow, int depth, kiln_graph *g)
{
    uint32_t n;
    int32_t opset;
    free(g->name);
    g->name = NULL;
    KILN_TRY(kiln_get_str(r, &g->name, "graph name"));
    KILN_TRY(kiln_get_i64(r, &g->ir_version, "graph ir_version"));
    KILN_TRY(kiln_get_i32(r, &opset, "graph opset"));
    g->opset = opset;
    KILN_TRY(kiln_get_count(r, 4, &n, "symbol count"));
    for (uint32_t i = 0; i < n; i++) {
        char *s = NULL;
        int id;
        KILN_TRY(kiln_get_str(r, &s, "symbol"));
        kiln_status st = kiln_graph_symbol(g, s, &id);
        free(s);
        KILN_TRY(st);
    }
    KILN_TRY(decode_values(r, borrow, g));
    KILN_TRY(kiln_get_count(r, 20, &n, "node count"));
    for (uint32_t i = 0; i < n; i++)
        KILN_TRY(decode_node(r, borrow, depth, g));
    for (int v = 0; v < g->n_values; v++) {
        int p = g->values[v].producer;
        if (p < -1 || p >= g->n_nodes)
            return kiln_error(KILN_ERR_PARSE, "engine file: value '%s' names producer %d of %d nodes",
                              g->values[v].name, p, g->n_nodes);
        for (int d = 0; d < g->values[v].rank; d++)
            if (KILN_DIM_IS_SYMBOL(g->values[v].dims[d]) && KILN_DIM_SYMBOL_ID(g->values[v].dims[d]) >= g->n_symbols)
                return kiln_error(KILN_ERR_PARSE, "engine file: value '%s' names an unknown symbol",
                                  g->values[v].name);
    }
    for (int which = 0; which < 2; which++) {
        KILN_TRY(kiln_get_count(r, 4, &n, which ? "graph outputs" : "graph inputs"));
        int *ids = malloc(sizeof(int) * ((size_t)n + 1));
        if (!ids)
            return kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine file: out of memory");
        kiln_status st = decode_ids(r, g->n_values, n, ids, 0, which ? "graph output" : "graph input");
        for (uint32_t i = 0; st == KILN_OK && i < n; i++)
            st = which ? kiln_graph_add_output(g, ids[i]) : kiln_graph_add_input(g, ids[i]);
        free(ids);
        KILN_TRY(st);
    }
    return decode_profiles(r, g);
}

static kiln_status decode_graph(kiln_reader *r, int borrow, int depth, kiln_graph **out)
{
    if (depth > MAX_DEPTH)
        return kiln_error(KILN_ERR_PARSE, "engine file byte offset %zu: subgraphs nested deeper than %d", r->pos,
                          MAX_DEPTH);
    kiln_graph *g;
    KILN_TRY(kiln_graph_create(&g));
    kiln_status st = decode_body(r, borrow, depth, g);
    if (st != KILN_OK) {
        kiln_graph_free(g);
        return st;
    }
    *out = g;
    return KILN_OK;
}

kiln_status kiln_graph_decode(kiln_reader *r, int borrow, kiln_graph **out) { return decode_graph(r, borrow, 0, out); }
