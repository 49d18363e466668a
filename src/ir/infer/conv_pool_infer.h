/*
 * conv_pool_infer.h - shape-inference functions of the conv_pool family,
 * defined in conv_pool_conv.c and conv_pool_pool.c and listed in the
 * family's schema table (conv_pool.c).
 */
#ifndef KILN_IR_INFER_CONV_POOL_INFER_H
#define KILN_IR_INFER_CONV_POOL_INFER_H

#include "ir/infer/conv_pool_geometry.h"
#include "ir/infer/infer_util.h"

/* MaxPool's input dtype and storage_order attribute (0 or 1). */
kiln_status kiln_cp_max_pool_attrs(const kiln_op_ctx *ctx, int64_t *order);
/* AveragePool's input dtype and count_include_pad attribute (0 or 1). */
kiln_status kiln_cp_average_pool_attrs(const kiln_op_ctx *ctx, int64_t *count_include_pad);
/* The p attribute of LpPool / GlobalLpPool (default 2), positive. */
kiln_status kiln_cp_read_p(const kiln_op_ctx *ctx, double *p);
/* MaxUnpool's unpooled shape [N, C, (in - 1) * stride - pads + kernel]
 * (before output_shape); X's rank must be known. */
kiln_status kiln_max_unpool_shape(const kiln_op_ctx *ctx, int64_t *dims);
/* Col2Im with image_shape and block_shape known: the image extents (n of
 * them, validated), the window of sliding blocks over the image (w->n = n),
 * the block size *k and the number of blocks. */
kiln_status kiln_col2im_window(const kiln_op_ctx *ctx, int64_t *image, kiln_window *w, int64_t *k, int64_t *blocks);

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
