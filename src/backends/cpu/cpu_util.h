/*
 * cpu_util.h - helpers for reference kernels: broadcast indexing, staging of
 * any dtype in a compute type, an n-d counter and per-axis views.
 */
#ifndef KILN_BACKENDS_CPU_UTIL_H
#define KILN_BACKENDS_CPU_UTIL_H

#include "core/dtype.h"
#include "ir/infer/infer_util.h"

/* Strides (in elements) that read `in` broadcast to (rank, dims): 0 on
 * broadcast dims. in->rank <= rank. */
void kiln_bcast_strides(const kiln_tensor *in, int rank, const int64_t *dims, int64_t *strides);

/* Advances idx (rank digits, bounded by dims) by one and updates the offsets
 * of n operands, each with its own strides. Returns 0 after the last index. */
int kiln_nd_next(int rank, const int64_t *dims, int64_t *idx, int n, int64_t *const *strides, int64_t *offsets);

/* A float32 copy of t's elements (malloc'd, caller frees), refusing more
 * than max_bytes. */
kiln_status kiln_to_f32(const kiln_tensor *t, size_t max_bytes, float **out);
/* A float64 copy of t's elements (caller frees). */
kiln_status kiln_to_f64(const kiln_tensor *t, size_t max_bytes, double **out);
/* Writes n float32 / float64 values into t (converting to t->dtype). */
void kiln_from_f32(kiln_tensor *t, const float *src, int64_t n);
void kiln_from_f64(kiln_tensor *t, const double *src, int64_t n);

/* t's elements as dt: t's own data when it already has dt (*owned = NULL),
 * else a converted copy in *owned that the caller frees. t == NULL gives
 * NULL. */
kiln_status kiln_stage_in(const kiln_tensor *t, kiln_dtype dt, size_t max_bytes, const void **data, void **owned);
/* Where to write dt results for output t: t's own data, or a scratch buffer
 * (*owned) that kiln_stage_out_end converts into t. */
kiln_status kiln_stage_out(kiln_tensor *t, kiln_dtype dt, size_t max_bytes, void **data, void **owned);
/* Ends kiln_stage_out (or any dt buffer of t's size): converts owned into t
 * when st is KILN_OK, and frees it either way. */
void kiln_stage_out_end(kiln_tensor *t, kiln_dtype dt, void *owned, kiln_status st);

/* 1 when t has exactly the shape (rank, dims). */
int kiln_has_shape(const kiln_tensor *t, int rank, const int64_t *dims);

/* Views t as (outer, len, inner) around axis. Fails only on a product past
 * 64 bits, which an empty tensor can have. */
kiln_status kiln_split_at_axis(const kiln_tensor *t, int axis, int64_t *outer, int64_t *len, int64_t *inner);

#endif
