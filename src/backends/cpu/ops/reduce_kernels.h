/*
 * reduce_kernels.h - private to the reduce op family: its CPU kernels, one
 * per op (see reduce.c for the table).
 */
#ifndef KILN_BACKENDS_CPU_OPS_REDUCE_KERNELS_H
#define KILN_BACKENDS_CPU_OPS_REDUCE_KERNELS_H

#include "backends/cpu/cpu_kernels.h"

/* Views t as (outer, len, inner) around axis. Fails only on a product past
 * 64 bits, which an empty tensor can have. */
static inline kiln_status kiln_split_at_axis(const kiln_tensor *t, int axis, int64_t *outer, int64_t *len,
                                             int64_t *inner)
{
    *len = t->dims[axis];
    KILN_TRY(kiln_shape_numel(t->dims, axis, outer, "the dims before the axis"));
    return kiln_shape_numel(t->dims + axis + 1, t->rank - axis - 1, inner, "the dims after the axis");
}

/* reduce_driver.c: every Reduce* op */
kiln_status kiln_cpu_reduce_op(kiln_op_ctx *ctx);
/* reduce_select.c */
kiln_status kiln_cpu_argmax(kiln_op_ctx *ctx);
kiln_status kiln_cpu_argmin(kiln_op_ctx *ctx);
kiln_status kiln_cpu_topk(kiln_op_ctx *ctx);
/* reduce_cum.c */
kiln_status kiln_cpu_cumsum(kiln_op_ctx *ctx);
kiln_status kiln_cpu_cumprod(kiln_op_ctx *ctx);
/* reduce_loss.c */
kiln_status kiln_cpu_sce_loss(kiln_op_ctx *ctx);
kiln_status kiln_cpu_nll_loss(kiln_op_ctx *ctx);

#endif
