/*
 * resize_sample_params.h - what resize_sample shape inference shares with
 * the kernels: Resize and Upsample attributes and inputs (the output shape,
 * the per-axis scale used to map coordinates, the region of interest), and
 * NonMaxSuppression, whose output shape is its result; the parameters of
 * DFT and STFT; and the shape inference of the signal ops, which
 * resize_sample.c lists.
 */
#ifndef KILN_IR_INFER_RESIZE_SAMPLE_PARAMS_H
#define KILN_IR_INFER_RESIZE_SAMPLE_PARAMS_H

#include "ir/op_registry.h"

typedef enum { RS_NEAREST, RS_LINEAR, RS_CUBIC } rs_mode;

typedef enum {
    RS_HALF_PIXEL,
    RS_HALF_PIXEL_SYMMETRIC,
    RS_PYTORCH_HALF_PIXEL,
    RS_ALIGN_CORNERS,
    RS_ASYMMETRIC,
    RS_TF_HALF_PIXEL_FOR_NN,
    RS_TF_CROP_AND_RESIZE
} rs_coord;

/* RS_SIMPLE: Resize-10 and Upsample (no nearest_mode attribute): floor
 * when upsampling, ceil when downsampling, as onnxruntime does. */
typedef enum { RS_ROUND_PREFER_FLOOR, RS_ROUND_PREFER_CEIL, RS_FLOOR, RS_CEIL, RS_SIMPLE } rs_nearest;

typedef struct kiln_resize_params {
    rs_mode mode;
    rs_coord coord;
    rs_nearest nearest;
    double cubic_a;
    double extrapolation;
    int exclude_outside;
    int antialias;
    int rank;
    /* every dim: KILN_DIM_UNKNOWN where it depends on unknown data or dims */
    int64_t out_dims[KILN_MAX_RANK];
    double scale[KILN_MAX_RANK];     /* output / input, as the coordinate mapping uses it */
    double roi_start[KILN_MAX_RANK]; /* tf_crop_and_resize only; 0 and 1 elsewhere */
    double roi_end[KILN_MAX_RANK];
} kiln_resize_params;

/* Parses a Resize or Upsample node of ctx (ctx->in[0] must be present with
 * a known rank). Dims that depend on unknown data come back unknown. */
kiln_status kiln_resize_params_parse(const kiln_op_ctx *ctx, kiln_resize_params *p);

/* Runs NonMaxSuppression on ctx's inputs (all known). Writes the selected
 * (batch, class, box) triples to out (NULL: count only) and their number
 * to *count. */
kiln_status kiln_nms_run(const kiln_op_ctx *ctx, int64_t *out, int64_t *count);

/* DFT: the transformed axis, the transform length and the output layout.
 * Fields are -1 where they depend on data that is not known. */
typedef struct kiln_dft_params {
    int axis;
    int64_t n; /* dft_length */
    int inverse, onesided;
    int64_t out_len; /* output extent along axis */
    int out_last;    /* output's last dim: 1 (inverse one-sided, real) or 2 */
} kiln_dft_params;

kiln_status kiln_dft_params_parse(const kiln_op_ctx *ctx, kiln_dft_params *p);

/* STFT: fields are -1 where they depend on data that is not known. */
typedef struct kiln_stft_params {
    int64_t step, frame_length, frames, bins;
    int onesided;
} kiln_stft_params;

kiln_status kiln_stft_params_parse(const kiln_op_ctx *ctx, kiln_stft_params *p);

/* Shape inference of the signal ops (resize_sample_signal.c). */
kiln_status kiln_infer_dft(kiln_op_ctx *ctx);
kiln_status kiln_infer_stft(kiln_op_ctx *ctx);
kiln_status kiln_infer_window(kiln_op_ctx *ctx);
kiln_status kiln_infer_mel_weight_matrix(kiln_op_ctx *ctx);

#endif
