/*
 * graph.h - kiln's graph IR.
 *
 * A graph owns values (tensors flowing between nodes, with dtype and shape
 * whose dims are numbers, named symbols such as `batch`, or unknown) and
 * nodes (an op with typed attributes, input and output value ids). Weights
 * are values with constant data. Symbols are per graph: dims store
 * KILN_DIM_SYMBOL(k) and graph->symbols[k] holds the name.
 *
 * The graph is independent of ONNX's protobuf types: the importer fills it,
 * passes rewrite it, backends read it.
 */
#ifndef KILN_IR_GRAPH_H
#define KILN_IR_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"
#include "kiln.h"

/* The values are ONNX's AttributeProto.AttributeType. */
typedef enum kiln_attr_type {
    KILN_ATTR_UNDEFINED = 0,
    KILN_ATTR_FLOAT = 1,
    KILN_ATTR_INT = 2,
    KILN_ATTR_STRING = 3,
    KILN_ATTR_TENSOR = 4,
    KILN_ATTR_GRAPH = 5,
    KILN_ATTR_FLOATS = 6,
    KILN_ATTR_INTS = 7,
    KILN_ATTR_STRINGS = 8,
    KILN_ATTR_TENSORS = 9,
    KILN_ATTR_GRAPHS = 10
} kiln_attr_type;

struct kiln_graph;

typedef struct kiln_attr {
    char *name;
    kiln_attr_type type;
    float f;
    int64_t i;
    char *s;               /* STRING: NUL-terminated copy */
    size_t s_len;
    kiln_tensor *t;        /* TENSOR: owned */
    struct kiln_graph *g;  /* GRAPH: owned subgraph */
    int64_t n;             /* element count of FLOATS / INTS / STRINGS / TENSORS / GRAPHS */
    float *floats;
    int64_t *ints;
    char **strings;
    kiln_tensor **tensors;
    struct kiln_graph **graphs;
} kiln_attr;

/* Quantization parameters of a value (filled by later stages). */
typedef struct kiln_quant {
    int axis;              /* -1: per tensor */
    int64_t count;         /* number of scales */
    float *scales;
    int32_t *zero_points;
} kiln_quant;

typedef struct kiln_value {
    char *name;
    kiln_dtype dtype;      /* KILN_UNDEFINED until known */
    int rank;              /* -1 until known */
    int64_t dims[KILN_MAX_RANK];
    int producer;          /* node index, or -1 for graph inputs and constants */
    int is_graph_input;
    int is_graph_output;
    kiln_tensor *constant; /* owned constant data (initializer, Constant output, folded) */
    kiln_quant *quant;     /* NULL unless quantized */
} kiln_value;

typedef struct kiln_node {
    char *name;
    char *op_type;
    char *domain;          /* "" for the default ONNX domain */
    int opset;             /* version of the node's domain in force */
    int n_inputs;
    int *inputs;           /* value ids; -1 marks an absent optional input */
    int n_outputs;
    int *outputs;          /* value ids; -1 marks an absent optional output */
    int n_attrs;
    kiln_attr *attrs;
} kiln_node;

/* Shapes an input may take at run time (filled by later stages). */
typedef struct kiln_profile_dims {
    int value;             /* graph input value id */
    int rank;
    int64_t min[KILN_MAX_RANK], opt[KILN_MAX_RANK], max[KILN_MAX_RANK];
} kiln_profile_dims;

typedef struct kiln_profile {
    int n_inputs;
    kiln_profile_dims *inputs;
} kiln_profile;

typedef struct kiln_graph {
    char *name;
    int64_t ir_version;
    int opset;             /* default-domain opset */
    int n_values, cap_values;
    kiln_value *values;
    int n_nodes, cap_nodes;
    kiln_node *nodes;
    int n_inputs;
    int *inputs;           /* graph inputs that are not initializers */
    int n_outputs;
    int *outputs;
    int n_symbols;
    char **symbols;
    int n_profiles;
    kiln_profile *profiles;
    struct kiln_value_index *index; /* name -> value id */
} kiln_graph;

kiln_status kiln_graph_create(kiln_graph **out);
void kiln_graph_free(kiln_graph *g);

/* The id of the value named `name`, creating it when absent. */
kiln_status kiln_graph_value(kiln_graph *g, const char *name, int *id);
/* The id of value `name`, or -1. */
int kiln_graph_find_value(const kiln_graph *g, const char *name);
/* Adds a node and returns its index; names and arrays are copied. */
kiln_status kiln_graph_add_node(kiln_graph *g, const char *op_type, const char *domain, const char *name,
                                int n_inputs, const int *inputs, int n_outputs, const int *outputs, int *index);
/* Appends an attribute to node `index`, taking ownership of *attr's members. */
kiln_status kiln_node_add_attr(kiln_graph *g, int node, kiln_attr *attr);
/* Gives value v a new name (copied); fails when the name is taken. */
kiln_status kiln_graph_rename_value(kiln_graph *g, int v, const char *name);
/* Rebuilds the name index after values were renumbered. */
kiln_status kiln_graph_reindex(kiln_graph *g);
/* The id of symbol `name`, adding it when new. */
kiln_status kiln_graph_symbol(kiln_graph *g, const char *name, int *id);
kiln_status kiln_graph_add_input(kiln_graph *g, int value);
kiln_status kiln_graph_add_output(kiln_graph *g, int value);
void kiln_attr_clear(kiln_attr *a);
/* Free what a node or value owns and zero it. */
void kiln_node_clear(kiln_node *n);
void kiln_value_clear(kiln_value *v);

/* A shape such as "batchx3x224x224": symbols by their names, unknown as "?". */
const char *kiln_graph_shape_str(const kiln_graph *g, const int64_t *dims, int rank, char *buf, size_t len);

/* A human-readable node label: its name, or "#<index> (<op>)" when unnamed. */
const char *kiln_node_label(const kiln_graph *g, int node, char *buf, size_t len);

/* Attribute lookup. The getters return the default when the attribute is
 * absent; kiln_attr_find returns NULL then. */
const kiln_attr *kiln_attr_find(const kiln_node *n, const char *name);
int64_t kiln_attr_int(const kiln_node *n, const char *name, int64_t def);
float kiln_attr_float(const kiln_node *n, const char *name, float def);
const char *kiln_attr_string(const kiln_node *n, const char *name, const char *def);
/* INTS: sets *vals and *count and returns 1 when present, else 0. */
int kiln_attr_ints(const kiln_node *n, const char *name, const int64_t **vals, int64_t *count);
int kiln_attr_floats(const kiln_node *n, const char *name, const float **vals, int64_t *count);

#endif
