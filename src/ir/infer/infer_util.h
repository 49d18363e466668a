/*
 * infer_util.h - helpers shared by the shape-inference functions.
 * Every helper handles KILN_DIM_UNKNOWN input dims (see op_registry.h).
 */
#ifndef KILN_IR_INFER_UTIL_H
#define KILN_IR_INFER_UTIL_H

#include "ir/op_registry.h"

/* numpy-style multidirectional broadcast of a and b into (rank, dims). */
kiln_status kiln_broadcast_shape(int ra, const int64_t *da, int rb, const int64_t *db, int *rank, int64_t *dims);
/* Broadcast of every present input of ctx (variadic ops). */
kiln_status kiln_broadcast_inputs(const kiln_op_ctx *ctx, int first, int last, int *rank, int64_t *dims);
/* out[o] gets in[i]'s dtype and shape. */
void kiln_infer_copy(kiln_op_ctx *ctx, int o, int i);
/* Sets out[o] to (dtype, rank, dims). */
void kiln_infer_set(kiln_op_ctx *ctx, int o, kiln_dtype dt, int rank, const int64_t *dims);
/* Sets out[o] to (dtype, rank) with every extent unknown (rank -1: the
 * rank is unknown too). */
void kiln_infer_set_unknown(kiln_op_ctx *ctx, int o, kiln_dtype dt, int rank);
/* axis in [-rank, rank) -> [0, rank); error names the attribute. */
kiln_status kiln_norm_axis(int64_t axis, int rank, const char *what, int *out);
/* Reads an integer tensor's data (int32/int64/...) into vals (up to max).
 * Fails when the data is not known or longer than max. */
kiln_status kiln_read_ints(const kiln_tensor *t, int64_t *vals, int max, int *count, const char *what);
/* Same for a float tensor's values. */
kiln_status kiln_read_floats(const kiln_tensor *t, double *vals, int max, int *count, const char *what);
/* Input i, or NULL when it is absent (past n_in or an empty name). */
static inline const kiln_tensor *kiln_opt_in(const kiln_op_ctx *ctx, int i)
{
    return i < ctx->n_in ? ctx->in[i] : NULL;
}
/* Requires input i to be present; error names its position. */
kiln_status kiln_need_input(const kiln_op_ctx *ctx, int i);
/* Requires in[i]'s rank to be known and within [lo, hi]. */
kiln_status kiln_need_rank(const kiln_op_ctx *ctx, int i, int lo, int hi);
/* dim arithmetic that keeps KILN_DIM_UNKNOWN */
static inline int64_t kiln_dim_mul(int64_t a, int64_t b) { return a < 0 || b < 0 ? KILN_DIM_UNKNOWN : a * b; }
static inline int64_t kiln_dim_add(int64_t a, int64_t b) { return a < 0 || b < 0 ? KILN_DIM_UNKNOWN : a + b; }
/* The unsupported-dtype error, naming the op and the input. */
kiln_status kiln_unsupported_dtype(const kiln_op_ctx *ctx, const char *which, kiln_dtype dt);

/* float16, bfloat16, float32 or float64: the float types of ONNX's numeric
 * type constraints (no float8 / float4). */
static inline int kiln_is_std_float(kiln_dtype dt)
{
    return dt == KILN_FLOAT16 || dt == KILN_BFLOAT16 || dt == KILN_FLOAT32 || dt == KILN_FLOAT64;
}
/* int8 or uint8 (quantized operands). */
static inline int kiln_is_8bit(kiln_dtype dt) { return dt == KILN_INT8 || dt == KILN_UINT8; }

/* A malloc'd buffer of n elements of dt (caller frees), refusing more than
 * max_bytes; `what` names it in errors. */
kiln_status kiln_alloc_elems(kiln_dtype dt, int64_t n, size_t max_bytes, const char *what, void **out);
/* The same, zero-filled. */
kiln_status kiln_alloc_zeroed(kiln_dtype dt, int64_t n, size_t max_bytes, const char *what, void **out);

#endif
