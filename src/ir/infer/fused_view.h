/*
 * fused_view.h - kiln's fused ops (KILN_DOMAIN) run an ONNX op on their
 * first inputs, then an epilogue (a residual or bias, an activation). A view
 * presents the fused node to that ONNX op's shape inference or CPU kernel:
 * the same attributes, opset and outputs, the inputs up to a count, and the
 * ONNX op's name (kernels that serve several ops dispatch on it).
 */
#ifndef KILN_IR_INFER_FUSED_VIEW_H
#define KILN_IR_INFER_FUSED_VIEW_H

#include "ir/op_registry.h"

typedef struct kiln_fused_view {
    kiln_node node;
    char op_type[32];
    char domain[1];
    kiln_op_ctx ctx; /* points at node: the view must not move once made */
} kiln_fused_view;

/* Makes v show ctx's node as ONNX op `op` over its first n_in inputs. */
void kiln_fused_view_init(kiln_fused_view *v, const kiln_op_ctx *ctx, const char *op, int n_in);

/* Shape inference of a fused op: ONNX op `op` over the first n_in inputs,
 * then a check that an activation, when set, has a float output to act on. */
kiln_status kiln_fused_infer(kiln_op_ctx *ctx, const char *op, int n_in);

/* The name of the fused node's input k, for error messages. */
const char *kiln_fused_input_name(const kiln_op_ctx *ctx, int k);

#endif
