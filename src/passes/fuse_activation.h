/*
 * fuse_activation.h - what the epilogue-fusion passes share: recognising
 * activation nodes that fold into a producer's epilogue (written as the
 * fused op's attributes activation, activation_alpha, activation_beta), the
 * Add that folds into a producer as a residual or bias, and the rewrites
 * that turn the producer into its fused op of KILN_DOMAIN.
 *
 * Recognised activations: Relu, LeakyRelu(alpha), Clip(min, max constants:
 * ReLU6 ...), Sigmoid, HardSigmoid(alpha, beta), HardSwish, Tanh,
 * Gelu(approximate), and the SiLU / Swish pattern x * Sigmoid(x).
 */
#ifndef KILN_PASSES_FUSE_ACTIVATION_H
#define KILN_PASSES_FUSE_ACTIVATION_H

#include "passes/pass.h"

typedef struct kiln_activation {
    const char *name; /* "Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Gelu",
                         "GeluTanh", "Swish" */
    float alpha, beta; /* LeakyRelu alpha; Clip min, max; HardSigmoid alpha, beta */
    int first_node;    /* the activation's node (Swish: the Sigmoid) */
    int last_node;     /* the node whose output is the activation's result (Swish: the Mul) */
} kiln_activation;

/* Whether the only reader of value v is an activation (on v alone) that can
 * be fused; fills *act. float32/float16/float64 values only. */
int kiln_match_activation(const kiln_graph *g, const kiln_uses *u, int v, kiln_activation *act);
/* Writes act as attributes on node n. */
kiln_status kiln_set_activation_attrs(kiln_graph *g, int n, const kiln_activation *act);

/* How a producer fuses: the ONNX op (default domain) and the KILN_DOMAIN op
 * it becomes, e.g. {"Conv", "FusedConv"}. */
typedef struct kiln_fusion {
    const char *pass;     /* the pass name, for the report */
    const char *op;       /* "Conv" */
    const char *fused_op; /* "FusedConv" */
} kiln_fusion;

/* Node n can take an epilogue: it is f->op, or f->fused_op without an
 * activation yet, it has one output and that output has a float dtype. */
int kiln_fusion_producer(const kiln_graph *g, int n, const kiln_fusion *f);
/* Whether input k of fused-op node n is present. */
int kiln_fusion_has_input(const kiln_node *n, int k);

/* The Add (or FusedAdd, whose activation comes along) that is the only
 * reader of v, with another input than v, which *other gets; or -1. */
int kiln_match_add(const kiln_graph *g, const kiln_uses *u, int v, int *other);

/* Folds the activation matched on producer n's output into n, which becomes
 * f->fused_op; records "<pass>: <n> + <activation>". */
kiln_status kiln_fuse_activation_into(kiln_pass_ctx *ctx, const kiln_fusion *f, int n, const kiln_activation *act);
/* Folds Add node `add` (reading n's output and `other`) into n as input k
 * (inputs in between become absent); n becomes f->fused_op and takes over a
 * FusedAdd's activation; records "<pass>: <n> + <add>". */
kiln_status kiln_fuse_add_into(kiln_pass_ctx *ctx, const kiln_fusion *f, int n, int add, int k, int other);

/* A whole producer + activation pass over the graph. */
kiln_status kiln_fuse_activation_pass(kiln_pass_ctx *ctx, const kiln_fusion *f, int *changed);

#endif
