/*
 * onnx_attr.c - ONNX AttributeProto to kiln_attr: scalars, strings, tensors,
 * subgraphs (imported recursively into their own graphs) and the list forms.
 * Sparse tensors, type protos and references to function attributes are
 * refused as unsupported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "onnx/onnx_internal.h"

/* Old models leave `type` unset; the field that holds a value tells it. */
static int infer_type(const Onnx__AttributeProto *ap)
{
    if (ap->has_type && ap->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED)
        return (int)ap->type;
    if (ap->has_f)
        return KILN_ATTR_FLOAT;
    if (ap->has_i)
        return KILN_ATTR_INT;
    if (ap->has_s)
        return KILN_ATTR_STRING;
    if (ap->t)
        return KILN_ATTR_TENSOR;
    if (ap->g)
        return KILN_ATTR_GRAPH;
    if (ap->sparse_tensor)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR;
    if (ap->tp)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO;
    if (ap->n_floats)
        return KILN_ATTR_FLOATS;
    if (ap->n_ints)
        return KILN_ATTR_INTS;
    if (ap->n_strings)
        return KILN_ATTR_STRINGS;
    if (ap->n_tensors)
        return KILN_ATTR_TENSORS;
    if (ap->n_graphs)
        return KILN_ATTR_GRAPHS;
    if (ap->n_sparse_tensors)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS;
    if (ap->n_type_protos)
        return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS;
    return KILN_ATTR_UNDEFINED;
}

static kiln_status oom(const char *node, const char *name)
{
    return kiln_error(KILN_ERR_OUT_OF_MEMORY, "node %s: out of memory for attribute '%s'", node, name);
}

static char *copy_bytes(const ProtobufCBinaryData *b)
{
    char *s = malloc(b->len + 1);
    if (s) {
        if (b->len)
            memcpy(s, b->data, b->len);
        s[b->len] = '\0';
    }
    return s;
}

static kiln_status read_tensor(Onnx__TensorProto *tp, kiln_onnx_ctx *ctx, const char *what, kiln_tensor **out)
{
    kiln_tensor *t = calloc(1, sizeof *t);
    if (!t)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    kiln_status st = kiln_onnx_tensor(tp, ctx, what, t);
    if (st != KILN_OK) {
        free(t);
        return st;
    }
    *out = t;
    return KILN_OK;
}

static kiln_status read_graph(Onnx__GraphProto *gp, kiln_onnx_ctx *ctx, const char *node, const char *name,
                              kiln_graph **out)
{
    if (ctx->depth + 1 > KILN_ONNX_MAX_SUBGRAPH_DEPTH)
        return kiln_error(KILN_ERR_LIMIT, "node %s attribute '%s': subgraphs nested deeper than %d levels", node, name,
                          KILN_ONNX_MAX_SUBGRAPH_DEPTH);
    ctx->depth++;
    kiln_status st = kiln_onnx_import_graph(gp, ctx, out);
    ctx->depth--;
    if (st != KILN_OK)
        kiln_error_prefix(st, "node %s attribute '%s' (subgraph)", node, name);
    return st;
}

static kiln_status read_single(Onnx__AttributeProto *ap, kiln_onnx_ctx *ctx, const char *node, kiln_attr *a)
{
    char what[512];
    switch (a->type) {
    case KILN_ATTR_FLOAT:
        a->f = ap->f;
        return KILN_OK;
    case KILN_ATTR_INT:
        a->i = ap->i;
        return KILN_OK;
    case KILN_ATTR_STRING:
        a->s = copy_bytes(&ap->s);
        a->s_len = ap->s.len;
        return a->s ? KILN_OK : oom(node, a->name);
    case KILN_ATTR_TENSOR:
        if (!ap->t)
            return kiln_error(KILN_ERR_PARSE, "node %s: attribute '%s' of type TENSOR has no tensor", node, a->name);
        snprintf(what, sizeof what, "node %s attribute '%s'", node, a->name);
        return read_tensor(ap->t, ctx, what, &a->t);
    default:
        if (!ap->g)
            return kiln_error(KILN_ERR_PARSE, "node %s: attribute '%s' of type GRAPH has no graph", node, a->name);
        return read_graph(ap->g, ctx, node, a->name, &a->g);
    }
}

static kiln_status read_strings(const Onnx__AttributeProto *ap, const char *node, kiln_attr *a)
{
    a->strings = calloc(ap->n_strings ? ap->n_strings : 1, sizeof *a->strings);
    if (!a->strings)
        return oom(node, a->name);
    a->n = (int64_t)ap->n_strings;
    for (size_t k = 0; k < ap->n_strings; k++)
        if (!(a->strings[k] = copy_bytes(&ap->strings[k])))
            return oom(node, a->name);
    return KILN_OK;
}

static kiln_status read_tensors(const Onnx__AttributeProto *ap, kiln_onnx_ctx *ctx, const char *node, kiln_attr *a)
{
    a->tensors = calloc(ap->n_tensors ? ap->n_tensors : 1, sizeof *a->tensors);
    if (!a->tensors)
        return oom(node, a->name);
    a->n = (int64_t)ap->n_tensors;
    for (size_t k = 0; k < ap->n_tensors; k++) {
        char what[512];
        snprintf(what, sizeof what, "node %s attribute '%s' tensor #%zu", node, a->name, k);
        KILN_TRY(read_tensor(ap->tensors[k], ctx, what, &a->tensors[k]));
    }
    return KILN_OK;
}

static kiln_status read_graphs(const Onnx__AttributeProto *ap, kiln_onnx_ctx *ctx, const char *node, kiln_attr *a)
{
    a->graphs = calloc(ap->n_graphs ? ap->n_graphs : 1, sizeof *a->graphs);
    if (!a->graphs)
        return oom(node, a->name);
    a->n = (int64_t)ap->n_graphs;
    for (size_t k = 0; k < ap->n_graphs; k++)
        KILN_TRY(read_graph(ap->graphs[k], ctx, node, a->name, &a->graphs[k]));
    return KILN_OK;
}

static kiln_status read_list(Onnx__AttributeProto *ap, kiln_onnx_ctx *ctx, const char *node, kiln_attr *a)
{
    switch (a->type) {
    case KILN_ATTR_FLOATS:
        a->floats = malloc(sizeof *a->floats * (ap->n_floats ? ap->n_floats : 1));
        if (!a->floats)
            return oom(node, a->name);
        if (ap->n_floats)
            memcpy(a->floats, ap->floats, sizeof *a->floats * ap->n_floats);
        a->n = (int64_t)ap->n_floats;
        return KILN_OK;
    case KILN_ATTR_INTS:
        a->ints = malloc(sizeof *a->ints * (ap->n_ints ? ap->n_ints : 1));
        if (!a->ints)
            return oom(node, a->name);
        if (ap->n_ints)
            memcpy(a->ints, ap->ints, sizeof *a->ints * ap->n_ints);
        a->n = (int64_t)ap->n_ints;
        return KILN_OK;
    case KILN_ATTR_STRINGS:
        return read_strings(ap, node, a);
    case KILN_ATTR_TENSORS:
        return read_tensors(ap, ctx, node, a);
    default:
        return read_graphs(ap, ctx, node, a);
    }
}

static kiln_status check_supported(const Onnx__AttributeProto *ap, int type, const char *node, const char *name)
{
    if (ap->ref_attr_name && ap->ref_attr_name[0])
        return kiln_error(KILN_ERR_UNSUPPORTED,
                          "node %s: attribute '%s' refers to function attribute '%s' (ref_attr_name), "
                          "which kiln does not support",
                          node, name, ap->ref_attr_name);
    switch (type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR:
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS:
        return kiln_error(KILN_ERR_UNSUPPORTED, "node %s: attribute '%s' holds sparse tensors, not supported", node,
                          name);
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO:
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS:
        return kiln_error(KILN_ERR_UNSUPPORTED, "node %s: attribute '%s' holds type protos, not supported", node, name);
    case KILN_ATTR_UNDEFINED:
        return kiln_error(KILN_ERR_PARSE, "node %s: attribute '%s' has no type and no value", node, name);
    default:
        if (type < KILN_ATTR_FLOAT || type > KILN_ATTR_GRAPHS)
            return kiln_error(KILN_ERR_PARSE, "node %s: attribute '%s' has unknown type %d", node, name, type);
        return KILN_OK;
    }
}

kiln_status kiln_onnx_import_attr(Onnx__AttributeProto *ap, kiln_onnx_ctx *ctx, const char *node, kiln_attr *a)
{
    memset(a, 0, sizeof *a);
    if (!ap->name || !ap->name[0])
        return kiln_error(KILN_ERR_PARSE, "node %s: an attribute has no name", node);
    int type = infer_type(ap);
    KILN_TRY(check_supported(ap, type, node, ap->name));
    a->type = (kiln_attr_type)type;
    a->name = kiln_onnx_strdup(ap->name);
    if (!a->name)
        return oom(node, ap->name);
    kiln_status st = type <= KILN_ATTR_GRAPH ? read_single(ap, ctx, node, a) : read_list(ap, ctx, node, a);
    if (st != KILN_OK)
        kiln_attr_clear(a);
    return st;
}
