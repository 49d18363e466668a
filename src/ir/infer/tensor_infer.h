/*
 * tensor_infer.h - private to the tensor op family: the shape-inference
 * functions of its ops, and the reading of their parameters (axes, slice
 * bounds, pads, split sizes, unique subtensors), shared by shape inference
 * and the CPU kernels so both agree on every rule.
 */
#ifndef KILN_IR_INFER_TENSOR_INFER_H
#define KILN_IR_INFER_TENSOR_INFER_H

#include "ir/infer/infer_util.h"

/* Longest shape-like input (pads has 2 per axis). */
#define KILN_TENSOR_MAX_PARAMS (2 * KILN_MAX_RANK)
/* Most outputs of one Split node. */
#define KILN_TENSOR_MAX_SPLIT 256

/* ---- tensor_params.c: parameter reading shared with the kernels -------- */

/* Bytes per element of input i; unsupported for strings and invalid types. */
kiln_status kiln_tensor_esize(const kiln_op_ctx *ctx, int i, size_t *esize);
/* Reads a list of axes (attribute or tensor values, n of them), normalises
 * each to [0, rank) and refuses duplicates. `what` names the list. */
kiln_status kiln_tensor_norm_axes(const int64_t *axes, int n, int rank, const char *what, int *out);
/* Reads integer input i in full (at most max values); *known = 0 when its data is not known. */
kiln_status kiln_tensor_read_input(const kiln_op_ctx *ctx, int i, int64_t *vals, int max, int *count, int *known,
                                   const char *what);
/* One integer from a scalar or one-element input. */
kiln_status kiln_tensor_read_scalar(const kiln_op_ctx *ctx, int i, int64_t *val, const char *what);

/* Fails (KILN_ERR_LIMIT) when an output whose dims are all known holds more
 * than INT64_MAX elements; call at the end of an infer that builds extents. */
kiln_status kiln_tensor_check_outputs(const kiln_op_ctx *ctx);
/* a * b for extents: KILN_DIM_UNKNOWN when either is unknown, an error past 64 bits. */
kiln_status kiln_tensor_dim_mul(int64_t a, int64_t b, int64_t *out);
/* a + b for extents, likewise. */
kiln_status kiln_tensor_dim_add(int64_t a, int64_t b, int64_t *out);

/* Transpose's permutation (default: reversed axes), validated. */
kiln_status kiln_tensor_perm(const kiln_op_ctx *ctx, int rank, int *perm);

/* Slice: per axis of data, the first index, the step and the count. */
typedef struct kiln_slice_plan {
    int known; /* 0: starts/ends/axes/steps data not known yet */
    int64_t start[KILN_MAX_RANK], step[KILN_MAX_RANK], count[KILN_MAX_RANK];
    unsigned char sliced[KILN_MAX_RANK]; /* 1 for every axis named in axes */
} kiln_slice_plan;
kiln_status kiln_tensor_slice_plan(const kiln_op_ctx *ctx, kiln_slice_plan *p);

/* Pad / CenterCropPad: elements added (negative: removed) before and after each axis. */
typedef enum kiln_pad_mode { KILN_PAD_CONSTANT, KILN_PAD_REFLECT, KILN_PAD_EDGE, KILN_PAD_WRAP } kiln_pad_mode;
typedef struct kiln_pad_plan {
    int known; /* 0: pads (or axes) data not known yet */
    kiln_pad_mode mode;
    int64_t begin[KILN_MAX_RANK], end[KILN_MAX_RANK];
    unsigned char padded[KILN_MAX_RANK]; /* 1 for every axis pads apply to */
    int64_t target[KILN_MAX_RANK];       /* CenterCropPad: the requested extent, or KILN_DIM_UNKNOWN */
} kiln_pad_plan;
kiln_status kiln_tensor_pad_plan(const kiln_op_ctx *ctx, kiln_pad_plan *p);
kiln_status kiln_tensor_center_crop_plan(const kiln_op_ctx *ctx, kiln_pad_plan *p);

/* Split: the axis and one size per output (sizes holds KILN_TENSOR_MAX_SPLIT); a size is
 * KILN_DIM_UNKNOWN while the split input's data or the axis extent is not known. */
kiln_status kiln_tensor_split_sizes(const kiln_op_ctx *ctx, int *axis, int64_t *sizes, int *known);

/* Dropout: refuses training mode (a true training_mode input, or is_test = 0
 * before opset 7) with a nonzero ratio; inputs whose data is unknown pass. */
kiln_status kiln_tensor_dropout_check(const kiln_op_ctx *ctx);
/* Tile: the repeat count per axis (Tile-1: tiles along one axis); *known = 0
 * while the repeats' data is not known. */
kiln_status kiln_tensor_tile_repeats(const kiln_op_ctx *ctx, int64_t *reps, int *known);
/* An axis bound of Shape's start / end: negative counts from the back, then
 * clamped to [0, r]. */
int64_t kiln_tensor_shape_bound(int64_t v, int r);
/* Range: the element count from the three scalar inputs (data known). */
kiln_status kiln_tensor_range_count(const kiln_op_ctx *ctx, int64_t *n);

/* The default-0 axis attribute of Gather-like ops, normalised for rank. */
kiln_status kiln_tensor_axis_attr(const kiln_op_ctx *ctx, const char *name, int64_t def, int rank, int *axis);

/* DepthToSpace / SpaceToDepth: rank-4 input, the block size and whether mode is CRD. */
kiln_status kiln_tensor_block_params(const kiln_op_ctx *ctx, int64_t *block, int *crd);
/* ReverseSequence: batch_axis and time_axis, validated against the inputs. */
kiln_status kiln_tensor_reverse_axes(const kiln_op_ctx *ctx, int *batch_axis, int *time_axis);
/* TensorScatter: the sequence axis, with the inputs and mode validated. */
kiln_status kiln_tensor_scatter_axis(const kiln_op_ctx *ctx, int *axis);
/* OneHot: the inserted axis and the depth (KILN_DIM_UNKNOWN while depth's data is unknown). */
kiln_status kiln_tensor_one_hot_params(const kiln_op_ctx *ctx, int *axis, int64_t *depth);
/* Compress: the axis (-1: flattened input) and the number of selected slices
 * (KILN_DIM_UNKNOWN while the condition's data is unknown); a true entry past
 * the extent is an error. */
kiln_status kiln_tensor_compress_params(const kiln_op_ctx *ctx, int *axis, int64_t *count);

/* ---- tensor_unique.c: Unique's grouping, shared with the kernel --------- */

typedef struct kiln_unique_result {
    int axis;         /* -1: over the flattened input */
    int64_t n_slices; /* slices compared (elements when axis is -1) */
    int64_t n_unique;
    int64_t *first;   /* [n_unique] index of each unique slice's first occurrence, in output order */
    int64_t *inverse; /* [n_slices] output position of each slice */
    int64_t *counts;  /* [n_unique] */
} kiln_unique_result;
/* Groups input 0 of a Unique node (its data must be known); caller frees with kiln_unique_free. */
kiln_status kiln_unique_compute(const kiln_op_ctx *ctx, kiln_unique_result *r);
void kiln_unique_free(kiln_unique_result *r);

/* Nonzero test of element i of t, by value (so -0.0 is zero, NaN is not). */
int kiln_tensor_nonzero_at(const kiln_tensor *t, int64_t i);

/* ---- shape inference, by file -------------------------------------------- */

/* tensor_basic.c */
kiln_status kiln_infer_identity(kiln_op_ctx *ctx);
kiln_status kiln_infer_dropout(kiln_op_ctx *ctx);
kiln_status kiln_infer_constant(kiln_op_ctx *ctx);
kiln_status kiln_infer_constant_of_shape(kiln_op_ctx *ctx);
kiln_status kiln_infer_shape(kiln_op_ctx *ctx);
kiln_status kiln_infer_size(kiln_op_ctx *ctx);
kiln_status kiln_infer_eye_like(kiln_op_ctx *ctx);
kiln_status kiln_infer_range(kiln_op_ctx *ctx);
kiln_status kiln_infer_trilu(kiln_op_ctx *ctx);
/* tensor_reshape.c */
kiln_status kiln_infer_flatten(kiln_op_ctx *ctx);
kiln_status kiln_infer_reshape(kiln_op_ctx *ctx);
kiln_status kiln_infer_squeeze(kiln_op_ctx *ctx);
kiln_status kiln_infer_unsqueeze(kiln_op_ctx *ctx);
kiln_status kiln_infer_expand(kiln_op_ctx *ctx);
kiln_status kiln_infer_tile(kiln_op_ctx *ctx);
/* tensor_layout.c */
kiln_status kiln_infer_transpose(kiln_op_ctx *ctx);
kiln_status kiln_infer_concat(kiln_op_ctx *ctx);
kiln_status kiln_infer_split(kiln_op_ctx *ctx);
kiln_status kiln_infer_slice(kiln_op_ctx *ctx);
kiln_status kiln_infer_pad(kiln_op_ctx *ctx);
kiln_status kiln_infer_center_crop_pad(kiln_op_ctx *ctx);
kiln_status kiln_infer_depth_to_space(kiln_op_ctx *ctx);
kiln_status kiln_infer_space_to_depth(kiln_op_ctx *ctx);
kiln_status kiln_infer_reverse_sequence(kiln_op_ctx *ctx);
/* tensor_index.c */
kiln_status kiln_infer_gather(kiln_op_ctx *ctx);
kiln_status kiln_infer_gather_elements(kiln_op_ctx *ctx);
kiln_status kiln_infer_gather_nd(kiln_op_ctx *ctx);
kiln_status kiln_infer_scatter_nd(kiln_op_ctx *ctx);
kiln_status kiln_infer_scatter_elements(kiln_op_ctx *ctx);
kiln_status kiln_infer_tensor_scatter(kiln_op_ctx *ctx);
kiln_status kiln_infer_one_hot(kiln_op_ctx *ctx);
kiln_status kiln_infer_compress(kiln_op_ctx *ctx);
kiln_status kiln_infer_nonzero(kiln_op_ctx *ctx);
kiln_status kiln_infer_unique(kiln_op_ctx *ctx);

#endif
