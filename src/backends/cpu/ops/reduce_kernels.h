/*
 * reduce_kernels.h - private to the reduce op family: its CPU kernels, one
 * per op (see reduce.c for the table).
 */
#ifndef KILN_BACKENDS_CPU_OPS_REDUCE_KERNELS_H
#define KILN_BACKENDS_CPU_OPS_REDUCE_KERNELS_H

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_util.h"

/* How the reduce kernels compute a dtype: float16 / bfloat16 / float32 /
 * float64 in double, 8- to 64-bit integers exactly in 64 bits. */
typedef enum kiln_red_kind { KILN_RED_NONE, KILN_RED_FLOAT, KILN_RED_SIGNED, KILN_RED_UNSIGNED } kiln_red_kind;
kiln_red_kind kiln_red_kind_of(kiln_dtype dt);

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
