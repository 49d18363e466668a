/*
 * onnx_graph.c - ONNX GraphProto to kiln_graph: initializers become constant
 * values, graph inputs (those that are not initializers) get their dtype and
 * shape with dim_param names as graph symbols, nodes keep their op, domain,
 * inputs, outputs and attributes, and graph outputs and value_info record
 * types on values.
 *
 * Only the default ONNX domain is imported; whether an op is implemented is
 * left to the runtime, and cycles or values without a producer to the
 * verifier. Subgraphs are imported the same way into graphs of their own:
 * names from the outer scope are values without a producer inside them.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "core/status.h"
#include "onnx/onnx_internal.h"

static const char *graph_name(const kiln_graph *g)
{
    return g->name && g->name[0] ? g->name : "(unnamed)";
}

/* "'conv1'" for a named node, "#3 (Conv)" otherwise. */
static const char *node_label(const Onnx__NodeProto *np, size_t index, char *buf, size_t len)
{
    if (np->name && np->name[0])
        snprintf(buf, len, "'%s'", np->name);
    else
        snprintf(buf, len, "#%zu (%s)", index, np->op_type ? np->op_type : "");
    return buf;
}

static kiln_status add_initializers(Onnx__GraphProto *gp, kiln_onnx_ctx *ctx, kiln_graph *g)
{
    if (gp->n_sparse_initializer)
        return kiln_error(KILN_ERR_UNSUPPORTED, "graph '%s': sparse initializers are not supported", graph_name(g));
    for (size_t i = 0; i < gp->n_initializer; i++) {
        Onnx__TensorProto *tp = gp->initializer[i];
        char what[320];
        int id;
        if (!tp->name || !tp->name[0])
            return kiln_error(KILN_ERR_PARSE, "graph '%s': initializer #%zu has no name", graph_name(g), i);
        if (kiln_graph_find_value(g, tp->name) >= 0)
            return kiln_error(KILN_ERR_PARSE, "graph '%s': initializer '%s' appears twice", graph_name(g), tp->name);
        KILN_TRY(kiln_graph_value(g, tp->name, &id));
        kiln_tensor *t = calloc(1, sizeof *t);
        if (!t)
            return kiln_error(KILN_ERR_OUT_OF_MEMORY, "initializer '%s': out of memory", tp->name);
        snprintf(what, sizeof what, "tensor '%s'", tp->name);
        kiln_status st = kiln_onnx_tensor(tp, ctx, what, t);
        if (st != KILN_OK) {
            free(t);
            return st;
        }
        kiln_value *v = &g->values[id];
        v->constant = t;
        v->dtype = t->dtype;
        v->rank = t->rank;
        memcpy(v->dims, t->dims, sizeof v->dims);
    }
    return KILN_OK;
}

static const char *type_kind(Onnx__TypeProto__ValueCase c)
{
    switch (c) {
    case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE:
        return "sequence";
    case ONNX__TYPE_PROTO__VALUE_MAP_TYPE:
        return "map";
    case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE:
        return "optional";
    case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE:
        return "sparse tensor";
    case ONNX__TYPE_PROTO__VALUE_OPAQUE_TYPE:
        return "opaque";
    default:
        return "non-tensor";
    }
}

static kiln_status read_elem_type(const Onnx__TypeProto__Tensor *tt, const char *role, const char *name, int strict,
                                  kiln_dtype *out)
{
    int32_t t = tt->has_elem_type ? tt->elem_type : 0;
    *out = KILN_UNDEFINED;
    if (t == 0)
        return KILN_OK;
    if (t < 0 || t >= KILN_DTYPE_COUNT)
        return kiln_error(KILN_ERR_UNSUPPORTED, "%s '%s' has unknown elem_type %d", role, name, (int)t);
    if (strict && !kiln_dtype_valid((kiln_dtype)t))
        return kiln_error(KILN_ERR_UNSUPPORTED, "%s '%s' has dtype %s, which kiln does not support", role, name,
                          kiln_dtype_name((kiln_dtype)t));
    *out = (kiln_dtype)t;
    return KILN_OK;
}

static kiln_status read_dim(kiln_graph *g, const Onnx__TensorShapeProto__Dimension *d, const char *role,
                            const char *name, int i, int64_t *out)
{
    *out = KILN_DIM_UNKNOWN;
    if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
        if (d->dim_value < 0)
            return kiln_error(KILN_ERR_PARSE, "%s '%s': dim %d is %lld (negative)", role, name, i,
                              (long long)d->dim_value);
        *out = d->dim_value;
    } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param &&
               d->dim_param[0]) {
        int sym;
        KILN_TRY(kiln_graph_symbol(g, d->dim_param, &sym));
        *out = KILN_DIM_SYMBOL(sym);
    }
    return KILN_OK;
}

/* Records a TypeProto on value `id`. strict (graph inputs and outputs):
 * non-tensor types and dtypes kiln cannot hold are refused; otherwise
 * (value_info) they are left unknown. */
static kiln_status read_type(kiln_graph *g, const Onnx__TypeProto *tp, const char *role, const char *name, int strict,
                             int id)
{
    if (!tp || tp->value_case == ONNX__TYPE_PROTO__VALUE__NOT_SET)
        return KILN_OK;
    if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) {
        if (!strict)
            return KILN_OK;
        return kiln_error(KILN_ERR_UNSUPPORTED, "%s '%s' has a %s type; kiln supports tensors only", role, name,
                          type_kind(tp->value_case));
    }
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    kiln_dtype dt;
    int64_t dims[KILN_MAX_RANK];
    KILN_TRY(read_elem_type(tt, role, name, strict, &dt));
    int rank = -1;
    if (tt->shape) {
        if (tt->shape->n_dim > KILN_MAX_RANK)
            return kiln_error(KILN_ERR_LIMIT, "%s '%s' has rank %zu, over kiln's limit of %d", role, name,
                              tt->shape->n_dim, KILN_MAX_RANK);
        rank = (int)tt->shape->n_dim;
        for (int i = 0; i < rank; i++)
            KILN_TRY(read_dim(g, tt->shape->dim[i], role, name, i, &dims[i]));
    }
    kiln_value *v = &g->values[id];
    v->dtype = dt;
    v->rank = rank;
    for (int i = 0; i < rank; i++)
        v->dims[i] = dims[i];
    return KILN_OK;
}

static kiln_status add_inputs(const Onnx__GraphProto *gp, kiln_graph *g)
{
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!vi->name || !vi->name[0])
            return kiln_error(KILN_ERR_PARSE, "graph '%s': input #%zu has no name", graph_name(g), i);
        int id = kiln_graph_find_value(g, vi->name);
        /* an input that is also an initializer is a constant (IR < 4 style) */
        if (id >= 0 && g->values[id].constant)
            continue;
        if (id >= 0)
            return kiln_error(KILN_ERR_PARSE, "graph '%s': input '%s' is listed twice", graph_name(g), vi->name);
        KILN_TRY(kiln_graph_value(g, vi->name, &id));
        KILN_TRY(read_type(g, vi->type, "graph input", vi->name, 1, id));
        KILN_TRY(kiln_graph_add_input(g, id));
    }
    return KILN_OK;
}

static kiln_status check_domain(const kiln_onnx_ctx *ctx, const Onnx__NodeProto *np, const char *label)
{
    if (!kiln_onnx_default_domain(np->domain))
        return kiln_error(KILN_ERR_UNSUPPORTED, "unsupported op %s (domain %s) at node %s", np->op_type, np->domain,
                          label);
    for (size_t i = 0; ctx->model && i < ctx->model->n_functions; i++) {
        const Onnx__FunctionProto *f = ctx->model->functions[i];
        if (f->name && strcmp(f->name, np->op_type) == 0 && kiln_onnx_default_domain(f->domain))
            return kiln_error(KILN_ERR_UNSUPPORTED,
                              "unsupported op %s (domain ai.onnx) at node %s: model-local functions are not supported",
                              np->op_type, label);
    }
    return KILN_OK;
}

static kiln_status node_inputs(kiln_graph *g, const Onnx__NodeProto *np, int *ids)
{
    for (size_t k = 0; k < np->n_input; k++) {
        ids[k] = -1;
        if (np->input[k] && np->input[k][0])
            KILN_TRY(kiln_graph_value(g, np->input[k], &ids[k]));
    }
    return KILN_OK;
}

/* Output ids; each output value gets node `index` as its producer. */
static kiln_status node_outputs(kiln_graph *g, const Onnx__NodeProto *np, int index, const char *label, int *ids)
{
    for (size_t k = 0; k < np->n_output; k++) {
        ids[k] = -1;
        if (!np->output[k] || !np->output[k][0])
            continue;
        KILN_TRY(kiln_graph_value(g, np->output[k], &ids[k]));
        kiln_value *v = &g->values[ids[k]];
        if (v->producer >= 0) {
            char other[320];
            int p = v->producer;
            const char *ol = p < g->n_nodes ? kiln_node_label(g, p, other, sizeof other) : label;
            return kiln_error(KILN_ERR_GRAPH, "value '%s' is produced twice: by node %s and by node %s", v->name, ol,
                              label);
        }
        if (v->constant)
            return kiln_error(KILN_ERR_GRAPH, "value '%s' is an initializer and also an output of node %s", v->name,
                              label);
        if (v->is_graph_input)
            return kiln_error(KILN_ERR_GRAPH, "value '%s' is a graph input and also an output of node %s", v->name,
                              label);
        v->producer = index;
    }
    return KILN_OK;
}

static kiln_status node_attrs(Onnx__NodeProto *np, kiln_onnx_ctx *ctx, kiln_graph *g, int index, const char *label)
{
    for (size_t k = 0; k < np->n_attribute; k++) {
        kiln_attr a;
        KILN_TRY(kiln_onnx_import_attr(np->attribute[k], ctx, label, &a));
        if (kiln_attr_find(&g->nodes[index], a.name)) {
            kiln_status st = kiln_error(KILN_ERR_PARSE, "node %s: attribute '%s' appears twice", label, a.name);
            kiln_attr_clear(&a);
            return st;
        }
        KILN_TRY(kiln_node_add_attr(g, index, &a));
    }
    return KILN_OK;
}

static kiln_status add_node(Onnx__NodeProto *np, size_t i, kiln_onnx_ctx *ctx, kiln_graph *g)
{
    char label[320];
    node_label(np, i, label, sizeof label);
    if (!np->op_type || !np->op_type[0])
        return kiln_error(KILN_ERR_PARSE, "graph '%s': node %s has no op_type", graph_name(g), label);
    KILN_TRY(check_domain(ctx, np, label));
    if (np->n_input > INT_MAX || np->n_output > INT_MAX)
        return kiln_error(KILN_ERR_LIMIT, "node %s has too many inputs or outputs", label);
    int *ids = malloc(sizeof(int) * (np->n_input + np->n_output + 1));
    if (!ids)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "node %s: out of memory", label);
    int index = g->n_nodes;
    kiln_status st = node_inputs(g, np, ids);
    if (st == KILN_OK)
        st = node_outputs(g, np, index, label, ids + np->n_input);
    if (st == KILN_OK)
        st = kiln_graph_add_node(g, np->op_type, "", np->name, (int)np->n_input, ids, (int)np->n_output,
                                 ids + np->n_input, &index);
    free(ids);
    if (st == KILN_OK)
        g->nodes[index].opset = ctx->opset;
    return st == KILN_OK ? node_attrs(np, ctx, g, index, label) : st;
}

static kiln_status add_outputs(const Onnx__GraphProto *gp, kiln_graph *g)
{
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        int id;
        if (!vi->name || !vi->name[0])
            return kiln_error(KILN_ERR_PARSE, "graph '%s': output #%zu has no name", graph_name(g), i);
        KILN_TRY(kiln_graph_value(g, vi->name, &id));
        if (g->values[id].is_graph_output)
            return kiln_error(KILN_ERR_PARSE, "graph '%s': output '%s' is listed twice", graph_name(g), vi->name);
        /* inputs and constants that are also outputs keep the type they have */
        if (!g->values[id].is_graph_input && !g->values[id].constant)
            KILN_TRY(read_type(g, vi->type, "graph output", vi->name, 1, id));
        KILN_TRY(kiln_graph_add_output(g, id));
    }
    return KILN_OK;
}

/* value_info types go on values nodes use; stale entries naming nothing are
 * ignored rather than creating values without a producer. */
static kiln_status add_value_info(const Onnx__GraphProto *gp, kiln_graph *g)
{
    for (size_t i = 0; i < gp->n_value_info; i++) {
        const Onnx__ValueInfoProto *vi = gp->value_info[i];
        int id = vi->name && vi->name[0] ? kiln_graph_find_value(g, vi->name) : -1;
        if (id < 0 || g->values[id].constant || g->values[id].is_graph_input)
            continue;
        KILN_TRY(read_type(g, vi->type, "value_info", vi->name, 0, id));
    }
    return KILN_OK;
}

static kiln_status fill_graph(Onnx__GraphProto *gp, kiln_onnx_ctx *ctx, kiln_graph *g)
{
    char *name = kiln_onnx_strdup(gp->name);
    if (!name)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "graph: out of memory");
    free(g->name);
    g->name = name;
    g->ir_version = ctx->ir_version;
    g->opset = ctx->opset;
    KILN_TRY(add_initializers(gp, ctx, g));
    KILN_TRY(add_inputs(gp, g));
    for (size_t i = 0; i < gp->n_node; i++)
        KILN_TRY(add_node(gp->node[i], i, ctx, g));
    KILN_TRY(add_outputs(gp, g));
    return add_value_info(gp, g);
}

kiln_status kiln_onnx_import_graph(Onnx__GraphProto *gp, kiln_onnx_ctx *ctx, kiln_graph **out)
{
    kiln_graph *g;
    *out = NULL;
    KILN_TRY(kiln_graph_create(&g));
    kiln_status st = fill_graph(gp, ctx, g);
    if (st != KILN_OK) {
        kiln_graph_free(g);
        return st;
    }
    *out = g;
    return KILN_OK;
}
