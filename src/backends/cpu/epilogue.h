/*
 * epilogue.h - the activation applied at the end of a fused kernel, read
 * from the fused node's attributes (passes/fuse_activation.h writes them).
 */
#ifndef KILN_BACKENDS_CPU_EPILOGUE_H
#define KILN_BACKENDS_CPU_EPILOGUE_H

#include <stdint.h>

#include "ir/graph.h"

typedef enum kiln_act_kind {
    KILN_ACT_NONE,
    KILN_ACT_RELU,
    KILN_ACT_LEAKY_RELU,
    KILN_ACT_CLIP,
    KILN_ACT_SIGMOID,
    KILN_ACT_HARD_SIGMOID,
    KILN_ACT_HARD_SWISH,
    KILN_ACT_TANH,
    KILN_ACT_GELU,
    KILN_ACT_GELU_TANH,
    KILN_ACT_SWISH
} kiln_act_kind;

typedef struct kiln_epilogue {
    kiln_act_kind kind;
    float alpha, beta;
} kiln_epilogue;

/* Reads activation / activation_alpha / activation_beta of n; an unknown
 * activation name is KILN_ERR_UNSUPPORTED naming it. */
kiln_status kiln_epilogue_from_node(const kiln_node *n, kiln_epilogue *e);
/* Applies the activation in place to n float32 / float64 values. */
void kiln_epilogue_apply_f32(const kiln_epilogue *e, float *y, int64_t n);
void kiln_epilogue_apply_f64(const kiln_epilogue *e, double *y, int64_t n);
/* y[i] = act(y[i] + a[i]) for n float32 values, in one pass; a may be NULL
 * (then as kiln_epilogue_apply_f32). */
void kiln_epilogue_apply_add_f32(const kiln_epilogue *e, float *y, const float *a, int64_t n);

#endif
