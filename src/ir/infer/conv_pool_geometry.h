/*
 * conv_pool_geometry.h - the sliding-window arithmetic shared by shape
 * inference and kernels of Conv, ConvTranspose, the pools, MaxUnpool,
 * Col2Im and DeformConv: reading kernel_shape / strides / dilations / pads /
 * auto_pad, validating them against the rank, and computing pads and output
 * extents.
 *
 * Extents may be unknown (any negative dim, at build time): outputs that
 * depend on them come out as KILN_DIM_UNKNOWN.
 */
#ifndef KILN_IR_INFER_CONV_POOL_GEOMETRY_H
#define KILN_IR_INFER_CONV_POOL_GEOMETRY_H

#include "ir/op_registry.h"

/* Largest kernel, stride, dilation, pad or spatial extent accepted: keeps
 * every window computation far from int64 overflow. */
#define KILN_WINDOW_MAX_EXTENT ((int64_t)INT32_MAX)

/* floor(a / b) and ceil(a / b) for b > 0 and any sign of a. */
static inline int64_t kiln_floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}
static inline int64_t kiln_ceil_div(int64_t a, int64_t b)
{
    return -kiln_floor_div(-a, b);
}

typedef enum kiln_auto_pad {
    KILN_AUTO_PAD_NOTSET,
    KILN_AUTO_PAD_SAME_UPPER,
    KILN_AUTO_PAD_SAME_LOWER,
    KILN_AUTO_PAD_VALID
} kiln_auto_pad;

/* One sliding window over n spatial axes. For ConvTranspose `in` is the
 * input X and `out` the (larger) output Y; the window still maps an X
 * position x to Y positions x * stride - pad_begin + k * dilation. */
typedef struct kiln_window {
    int n;
    int64_t kernel[KILN_MAX_RANK];
    int64_t stride[KILN_MAX_RANK];
    int64_t dilation[KILN_MAX_RANK];
    int64_t pad_begin[KILN_MAX_RANK]; /* ConvTranspose may make them negative */
    int64_t pad_end[KILN_MAX_RANK];
    kiln_auto_pad auto_pad;
    int ceil_mode;
    int64_t in[KILN_MAX_RANK];
    int64_t out[KILN_MAX_RANK];
} kiln_window;

/* Reads the window attributes of ctx->node for n spatial axes. `kernel` is
 * the kernel taken from a weight's dims (entries may be unknown), or NULL
 * when kernel_shape is required (pools). Fills kernel, stride, dilation,
 * explicit pads, auto_pad and ceil_mode; checks lengths and ranges. */
kiln_status kiln_window_read(const kiln_op_ctx *ctx, int n, const int64_t *kernel, kiln_window *w);

/* Conv / pool direction: sets w->in from in[0..n) and computes the pads
 * (for auto_pad) and w->out. Pools with ceil_mode drop a last window that
 * would start in the end padding. Fails when an output extent is below 1. */
kiln_status kiln_window_forward(kiln_window *w, const int64_t *in);

/* ConvTranspose direction: sets w->in, then the pads and w->out from
 * output_padding (NULL: zeros) and output_shape (NULL: computed). */
kiln_status kiln_window_transpose(kiln_window *w, const int64_t *in, const int64_t *output_padding,
                                  const int64_t *output_shape);

/* Conv-style inputs: X (N, C, spatial...) at input xi and W (M, C/group,
 * kernel...) at input wi. Checks ranks, group and channel counts where
 * known, reads the window (kernel_shape must agree with W) and runs
 * kiln_window_forward. *group gets the group attribute. */
kiln_status kiln_conv_geometry(const kiln_op_ctx *ctx, int xi, int wi, kiln_window *w, int64_t *group);

/* ConvTranspose inputs: X (N, C, spatial...) and W (C, M/group, kernel...);
 * reads output_padding and output_shape and runs kiln_window_transpose. */
kiln_status kiln_conv_transpose_geometry(const kiln_op_ctx *ctx, kiln_window *w, int64_t *group);

/* Pool input X (N, C, spatial...) at input 0; kernel_shape is required. */
kiln_status kiln_pool_geometry(const kiln_op_ctx *ctx, kiln_window *w);

/* The output shape [N, M, out...] of a conv-style op, or rank -1 when the
 * ranks are not known. */
kiln_status kiln_conv_output_shape(const kiln_op_ctx *ctx, int xi, int wi, int *rank, int64_t *dims);

#endif
