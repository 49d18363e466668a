/*
 * resize_sample_internal.h - what the resize_sample kernel files share:
 * Resize's per-axis sampling plans and the kernels the family table lists.
 */
#ifndef KILN_BACKENDS_CPU_OPS_RESIZE_SAMPLE_INTERNAL_H
#define KILN_BACKENDS_CPU_OPS_RESIZE_SAMPLE_INTERNAL_H

#include "backends/cpu/cpu_kernels.h"
#include "ir/infer/resize_sample_params.h"

/* How one axis of Resize samples its input: output index o reads input
 * indices idx[o * taps + k] (clamped into [0, in)) with weights
 * w[o * taps + k]; outside[o] marks tf_crop_and_resize extrapolation. */
typedef struct rs_axis {
    int64_t in, out;
    int taps;
    int identity; /* the axis is not resized (then idx, w and outside are NULL) */
    int64_t *idx;
    double *w;
    uint8_t *outside;
} rs_axis;

/* Builds the plan of axis d of input extent `in`. */
kiln_status rs_plan_axis(const kiln_resize_params *p, int d, int64_t in, size_t max_bytes, rs_axis *a);
void rs_axis_free(rs_axis *a);

kiln_status rs_resize(kiln_op_ctx *ctx);
kiln_status rs_grid_sample(kiln_op_ctx *ctx);
kiln_status rs_affine_grid(kiln_op_ctx *ctx);
kiln_status rs_roi_align(kiln_op_ctx *ctx);
kiln_status rs_non_max_suppression(kiln_op_ctx *ctx);
kiln_status rs_dft(kiln_op_ctx *ctx);
kiln_status rs_stft(kiln_op_ctx *ctx);
kiln_status rs_hann_window(kiln_op_ctx *ctx);
kiln_status rs_hamming_window(kiln_op_ctx *ctx);
kiln_status rs_blackman_window(kiln_op_ctx *ctx);
kiln_status rs_mel_weight_matrix(kiln_op_ctx *ctx);

#endif
