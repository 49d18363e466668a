/*
 * conv_nhwc.h - the CPU tactics of NhwcConv (domain "kiln"), kiln's
 * channels-last convolution:
 *   Y [N, OH, OW, M] = act(conv(X [N, H, W, C], W [KH, KW, C/group, M]) + B + Z)
 * and what they share: reading the node into the kiln_ct_conv of
 * conv_tactics.h (batch, channels, filters and the window mean the same
 * there; only the memory layouts differ) and running a core with the
 * node's epilogue.
 *
 * The cores take the epilogue inline (kiln_ct_epilogue_core): `add` is the
 * residual Z (float32, Y's shape) or NULL, and e is never NULL (its kind is
 * KILN_ACT_NONE when the node has no activation).
 */
#ifndef KILN_BACKENDS_CPU_TACTICS_CONV_NHWC_H
#define KILN_BACKENDS_CPU_TACTICS_CONV_NHWC_H

#include "backends/cpu/tactics/conv_tactics.h"

/* Fills c from an NhwcConv node (pointers only when data != 0): the window,
 * N, C, M, group, per-group counts, x / w / b / y and max_bytes. Fails with
 * KILN_ERR_UNSUPPORTED unless X, W, B, Z and Y are float32 2-D with known
 * shapes, KILN_ERR_SHAPE when they disagree (channels against W and group,
 * bias length, Y's or the residual Z's shape). The residual itself is
 * kiln_opt_in(ctx, 3). */
kiln_status kiln_ct_read_nhwc(const kiln_op_ctx *ctx, int data, kiln_ct_conv *c);

/* Reads the node, its epilogue and residual, and runs core on them. */
kiln_status kiln_ct_nhwc_run(kiln_op_ctx *ctx, void *workspace, kiln_ct_epilogue_core core);

/* conv_nhwc_gemm.c: every float32 2-D NhwcConv. 1x1 unstrided unpadded
 * convolutions are one product per group on X in place; the others go
 * through a channels-last im2col of a block of output pixels in the
 * workspace (kiln_ct_nhwc_gemm_workspace bytes, 0 for the former). */
kiln_status kiln_ct_nhwc_gemm_core(const kiln_ct_conv *c, const kiln_epilogue *e, const float *add, void *workspace);
bool kiln_ct_nhwc_gemm_supports(const kiln_op_ctx *ctx);
size_t kiln_ct_nhwc_gemm_workspace(const kiln_op_ctx *ctx);

/* conv_nhwc_depthwise.c: group == C == M (one filter per channel), any
 * window; no workspace (kiln_ct_no_workspace). */
kiln_status kiln_ct_nhwc_depthwise_core(const kiln_ct_conv *c, const kiln_epilogue *e, const float *add,
                                        void *workspace);
bool kiln_ct_nhwc_depthwise_supports(const kiln_op_ctx *ctx);

#endif
