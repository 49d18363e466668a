/*
 * conv_pool_kernels.h - the CPU kernels of the conv_pool family, defined
 * across conv_pool_*.c and listed in the family's table (conv_pool.c), and
 * the grouped-convolution driver they share.
 */
#ifndef KILN_BACKENDS_CPU_OPS_CONV_POOL_KERNELS_H
#define KILN_BACKENDS_CPU_OPS_CONV_POOL_KERNELS_H

#include "backends/cpu/ops/conv_pool_cols.h"

/* One grouped convolution in a compute type: y = conv(x, w) + b. */
typedef struct kiln_cp_conv {
    const kiln_window *win;
    int64_t batch, channels, filters, group; /* N, C, M, group */
    size_t esize;                            /* 4: float32 with sgemm, 8: float64 with dgemm */
    const void *x, *w, *b;                   /* b: NULL or M values */
    void *y;
    size_t max_bytes;
} kiln_cp_conv;

kiln_status kiln_cp_conv_run(const kiln_cp_conv *job);

/* Checks out[0] against [N, M, out...] of the job. */
kiln_status kiln_cp_check_conv_out(const kiln_op_ctx *ctx, const kiln_cp_conv *job);
/* Conv and ConvTranspose: input 0 has a float dtype, inputs 1 and 2 (when
 * present) the same. */
kiln_status kiln_cp_check_float_conv(const kiln_op_ctx *ctx);
/* Stages X (input 0), W (input 1) and B (input 2, optional) in the job's
 * compute type, runs run(job) into out[0] and converts the result back. */
kiln_status kiln_cp_conv_staged(kiln_op_ctx *ctx, kiln_cp_conv *job, kiln_status (*run)(const kiln_cp_conv *job));

kiln_status kiln_cpu_conv(kiln_op_ctx *ctx);
kiln_status kiln_cpu_conv_integer(kiln_op_ctx *ctx);
kiln_status kiln_cpu_qlinear_conv(kiln_op_ctx *ctx);
kiln_status kiln_cpu_conv_transpose(kiln_op_ctx *ctx);
kiln_status kiln_cpu_col2im(kiln_op_ctx *ctx);
kiln_status kiln_cpu_deform_conv(kiln_op_ctx *ctx);
kiln_status kiln_cpu_max_pool(kiln_op_ctx *ctx);
kiln_status kiln_cpu_average_pool(kiln_op_ctx *ctx);
kiln_status kiln_cpu_lp_pool(kiln_op_ctx *ctx);
kiln_status kiln_cpu_global_average_pool(kiln_op_ctx *ctx);
kiln_status kiln_cpu_global_max_pool(kiln_op_ctx *ctx);
kiln_status kiln_cpu_global_lp_pool(kiln_op_ctx *ctx);
kiln_status kiln_cpu_max_unpool(kiln_op_ctx *ctx);
kiln_status kiln_cpu_max_roi_pool(kiln_op_ctx *ctx);

/* y (one 2-D output plane, float32) += the convolution of one input plane x
 * with one kernel k, windows as w describes (used by direct tactics too). */
void kiln_cp_add_plane_2d(const kiln_window *w, const float *x, const float *k, float *y);

#endif
