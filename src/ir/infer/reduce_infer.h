/*
 * reduce_infer.h - private to the reduce op family: the shape-inference
 * functions of its ops, and the reading of a Reduce* node's axes, shared by
 * shape inference and the CPU kernels.
 */
#ifndef KILN_IR_INFER_REDUCE_INFER_H
#define KILN_IR_INFER_REDUCE_INFER_H

#include "ir/infer/infer_util.h"

/* Which axes a Reduce* node reduces. */
typedef struct kiln_reduce_axes {
    int known;  /* 0: axes come from an input whose data is not known yet */
    int n_axes; /* when !known: the number of axes if the axes shape is known, else -1 */
    int keepdims;
    unsigned char reduced[KILN_MAX_RANK]; /* when known: 1 for every reduced axis of the data input */
} kiln_reduce_axes;

/* Reads keepdims, noop_with_empty_axes and the axes (an attribute before the
 * op's opset that made it an input) of a Reduce* node whose data input has a
 * known rank; checks range and duplicates. */
kiln_status kiln_reduce_get_axes(const kiln_op_ctx *ctx, kiln_reduce_axes *ax);

/* TopK's k (the attribute before opset 10, the input K after); *known = 0
 * when K's data is not known yet. Checks 0 <= k. */
kiln_status kiln_topk_get_k(const kiln_op_ctx *ctx, int *known, int64_t *k);
/* The axis input of CumSum / CumProd normalised to [0, rank); *known = 0
 * when its data is not known yet. */
kiln_status kiln_cumulative_get_axis(const kiln_op_ctx *ctx, int *known, int *axis);

/* reduce_axes.c */
kiln_status kiln_infer_reduce(kiln_op_ctx *ctx);
kiln_status kiln_infer_arg_reduce(kiln_op_ctx *ctx);
/* reduce_topk_cum.c */
kiln_status kiln_infer_topk(kiln_op_ctx *ctx);
kiln_status kiln_infer_cumulative(kiln_op_ctx *ctx);
/* reduce_loss.c */
kiln_status kiln_infer_sce_loss(kiln_op_ctx *ctx);
kiln_status kiln_infer_nll_loss(kiln_op_ctx *ctx);

#endif
