/*
 * op_registry.h - the op table: for every ONNX op kiln knows, its arity and
 * its shape-inference function.
 *
 * Shape inference and kernels share one calling context, kiln_op_ctx:
 *  - infer:  in[i] carries dtype, rank and dims; in[i]->data is set when the
 *            value is known (a constant at build time, always at run time).
 *            infer sets dtype, rank and dims of every out[i]; it never
 *            allocates. When an output shape depends on input data that is
 *            not known, infer writes KILN_DIM_UNKNOWN dims (or rank -1); when
 *            the data is known it must give the exact shape.
 *            An input dim may be KILN_DIM_UNKNOWN at build time: arithmetic
 *            on it gives KILN_DIM_UNKNOWN, checks treat it as compatible.
 *  - kernel: every in[i] has data; out[i] are shaped and allocated (poisoned
 *            with 0xff bytes) by the runtime.
 * Absent optional inputs and outputs are NULL pointers (n_in / n_out count
 * up to the last one present). Errors are returned with kiln_error(); the
 * runtime puts the node's name in front of the message.
 */
#ifndef KILN_IR_OP_REGISTRY_H
#define KILN_IR_OP_REGISTRY_H

#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"

typedef struct kiln_op_ctx {
    const kiln_graph *graph;
    const kiln_node *node;
    int opset;               /* opset of the node's domain */
    int n_in, n_out;
    kiln_tensor *const *in;
    kiln_tensor *const *out;
    size_t max_bytes;        /* ceiling for any one allocation a kernel makes */
} kiln_op_ctx;

typedef kiln_status (*kiln_infer_fn)(kiln_op_ctx *ctx);

/* Output values depend only on input shapes (Shape, Size): such nodes fold
 * to constants whenever the input shapes are known. */
#define KILN_OP_SHAPE_ONLY 1u
/* Output is random (never folded). */
#define KILN_OP_NONDETERMINISTIC 2u

typedef struct kiln_op_schema {
    const char *name;
    int min_inputs, max_inputs;   /* max -1: variadic */
    int min_outputs, max_outputs; /* max -1: variadic */
    unsigned flags;
    kiln_infer_fn infer;
} kiln_op_schema;

/* kiln's own domain: fused ops that passes create (FusedConv, FusedMatMul). */
#define KILN_DOMAIN "kiln"

/* The schema of op `name` in `domain` ("" or "ai.onnx" for ONNX, or
 * KILN_DOMAIN), or NULL. */
const kiln_op_schema *kiln_op_find(const char *domain, const char *name);
/* Visits every schema (for listings); returns the count. */
int kiln_op_count(void);
const kiln_op_schema *kiln_op_at(int i);

/* Newest default-domain opset kiln accepts. */
#define KILN_MAX_OPSET 28

/* One table per op family, each ending with an entry whose name is NULL. */
extern const kiln_op_schema kiln_schemas_elementwise[];
extern const kiln_op_schema kiln_schemas_conv_pool[];
extern const kiln_op_schema kiln_schemas_linalg[];
extern const kiln_op_schema kiln_schemas_norm_attention[];
extern const kiln_op_schema kiln_schemas_tensor[];
extern const kiln_op_schema kiln_schemas_reduce[];
extern const kiln_op_schema kiln_schemas_cast_quant[];
extern const kiln_op_schema kiln_schemas_resize_sample[];
extern const kiln_op_schema kiln_schemas_recurrent[];
/* KILN_DOMAIN */
extern const kiln_op_schema kiln_schemas_fused_conv[];
extern const kiln_op_schema kiln_schemas_fused_matmul[];
extern const kiln_op_schema kiln_schemas_nhwc_conv[];
extern const kiln_op_schema kiln_schemas_nhwc_pool[];

#endif
