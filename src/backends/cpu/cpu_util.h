/*
 * cpu_util.h - helpers for reference kernels: broadcast indexing, float32
 * staging of any dtype, and an n-d counter.
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

#endif
