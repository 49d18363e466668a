/*
 * tensor_kernels.h - private to the tensor op family: its CPU kernels (see
 * tensor.c for the table) and the byte-moving helpers they share. Every
 * kernel works on raw elements of kiln_dtype_size() bytes, so one kernel
 * serves every dtype.
 */
#ifndef KILN_BACKENDS_CPU_OPS_TENSOR_KERNELS_H
#define KILN_BACKENDS_CPU_OPS_TENSOR_KERNELS_H

#include "backends/cpu/cpu_kernels.h"
#include "ir/infer/tensor_infer.h"

/* Rank of the views the copy helper takes (Tile views rank r as 2r). */
#define KILN_COPY_MAX_RANK (2 * KILN_MAX_RANK)
/* Largest element kiln stores (float64 / int64). */
#define KILN_MAX_ELEM 16

/* tensor_copy.c: helpers */

/* Copies the n-d block dims from src to dst; strides are in elements and may
 * be 0 (broadcast) or negative (reversed). Contiguous inner runs are
 * coalesced into memcpy calls. */
void kiln_copy_strided(void *dst, const int64_t *dst_strides, const void *src, const int64_t *src_strides,
                       const int64_t *dims, int rank, size_t esize);
/* Sets n elements of dst to the element at elem. */
void kiln_fill_elem(void *dst, const void *elem, size_t esize, int64_t n);
/* Index number pos of idx, wrapped once into [0, extent) or an error naming it. */
kiln_status kiln_load_index(const kiln_tensor *idx, int64_t pos, int64_t extent, int64_t *out);
/* GatherElements / ScatterElements: calls fn(user, i, at) for every element
 * i of idx (same rank as x), where `at` is the element of x at i's position
 * with the axis coordinate replaced by the (checked) index value. */
typedef void (*kiln_elem_fn)(void *user, int64_t i, int64_t at);
kiln_status kiln_walk_elements(const kiln_tensor *x, const kiln_tensor *idx, int axis, kiln_elem_fn fn, void *user);
/* The bytes of value v in dtype dt (at most KILN_MAX_ELEM). */
void kiln_elem_from_f64(kiln_dtype dt, double v, unsigned char *elem);

/* tensor_copy.c: kernels */
kiln_status kiln_cpu_identity(kiln_op_ctx *ctx);
kiln_status kiln_cpu_dropout(kiln_op_ctx *ctx);
kiln_status kiln_cpu_constant(kiln_op_ctx *ctx);
kiln_status kiln_cpu_constant_of_shape(kiln_op_ctx *ctx);
kiln_status kiln_cpu_shape(kiln_op_ctx *ctx);
kiln_status kiln_cpu_size(kiln_op_ctx *ctx);
kiln_status kiln_cpu_eye_like(kiln_op_ctx *ctx);
kiln_status kiln_cpu_range(kiln_op_ctx *ctx);
kiln_status kiln_cpu_trilu(kiln_op_ctx *ctx);
/* tensor_move.c */
kiln_status kiln_cpu_transpose(kiln_op_ctx *ctx);
kiln_status kiln_cpu_depth_to_space(kiln_op_ctx *ctx);
kiln_status kiln_cpu_space_to_depth(kiln_op_ctx *ctx);
kiln_status kiln_cpu_slice(kiln_op_ctx *ctx);
kiln_status kiln_cpu_expand(kiln_op_ctx *ctx);
kiln_status kiln_cpu_tile(kiln_op_ctx *ctx);
kiln_status kiln_cpu_concat(kiln_op_ctx *ctx);
kiln_status kiln_cpu_split(kiln_op_ctx *ctx);
/* tensor_pad.c */
kiln_status kiln_cpu_pad(kiln_op_ctx *ctx);
kiln_status kiln_cpu_center_crop_pad(kiln_op_ctx *ctx);
kiln_status kiln_cpu_reverse_sequence(kiln_op_ctx *ctx);
/* tensor_gather.c */
kiln_status kiln_cpu_gather(kiln_op_ctx *ctx);
kiln_status kiln_cpu_gather_elements(kiln_op_ctx *ctx);
kiln_status kiln_cpu_gather_nd(kiln_op_ctx *ctx);
kiln_status kiln_cpu_one_hot(kiln_op_ctx *ctx);
kiln_status kiln_cpu_compress(kiln_op_ctx *ctx);
kiln_status kiln_cpu_nonzero(kiln_op_ctx *ctx);
kiln_status kiln_cpu_unique(kiln_op_ctx *ctx);
/* tensor_scatter.c */
kiln_status kiln_cpu_scatter_nd(kiln_op_ctx *ctx);
kiln_status kiln_cpu_scatter_elements(kiln_op_ctx *ctx);
kiln_status kiln_cpu_tensor_scatter(kiln_op_ctx *ctx);

#endif
