/*
 * conv_pool_infer.h - shape-inference functions of the conv_pool family,
 * defined in conv_pool_conv.c and conv_pool_pool.c and listed in the
 * family's schema table (conv_pool.c).
 */
#ifndef KILN_IR_INFER_CONV_POOL_INFER_H
#define KILN_IR_INFER_CONV_POOL_INFER_H

#include "ir/op_registry.h"

/* float16, bfloat16, float32 or float64 */
int kiln_cp_is_float(kiln_dtype dt);
/* The p attribute of LpPool / GlobalLpPool (default 2), positive. */
kiln_status kiln_cp_read_p(const kiln_op_ctx *ctx, double *p);

kiln_status kiln_infer_conv(kiln_op_ctx *ctx);
kiln_status kiln_infer_conv_transpose(kiln_op_ctx *ctx);
kiln_status kiln_infer_conv_integer(kiln_op_ctx *ctx);
kiln_status kiln_infer_qlinear_conv(kiln_op_ctx *ctx);
kiln_status kiln_infer_deform_conv(kiln_op_ctx *ctx);

kiln_status kiln_infer_max_pool(kiln_op_ctx *ctx);
kiln_status kiln_infer_average_pool(kiln_op_ctx *ctx);
kiln_status kiln_infer_lp_pool(kiln_op_ctx *ctx);
kiln_status kiln_infer_global_pool(kiln_op_ctx *ctx);
kiln_status kiln_infer_max_unpool(kiln_op_ctx *ctx);
kiln_status kiln_infer_max_roi_pool(kiln_op_ctx *ctx);
kiln_status kiln_infer_col2im(kiln_op_ctx *ctx);

#endif
