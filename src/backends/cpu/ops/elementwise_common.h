/*
 * elementwise_common.h - helpers shared by the elementwise CPU kernels
 * (private to elementwise*.c): compute classes of dtypes, single-element
 * loads and stores with a float32 fast path, and a broadcast plan that walks
 * up to three inputs against one output row by row.
 */
#ifndef KILN_BACKENDS_CPU_OPS_ELEMENTWISE_COMMON_H
#define KILN_BACKENDS_CPU_OPS_ELEMENTWISE_COMMON_H

#include "backends/cpu/cpu_util.h"
#include "ir/infer/elementwise_infer.h"

/* How a dtype is computed: float16/bfloat16/float32 (and float8) in float,
 * float64 in double, signed integers in int64, unsigned integers and bool in
 * uint64. */
typedef enum kiln_ew_class {
    KILN_EW_NONE = 0, /* not computable (string, complex, undefined) */
    KILN_EW_F32,
    KILN_EW_F64,
    KILN_EW_I64,
    KILN_EW_U64,
} kiln_ew_class;

kiln_ew_class kiln_ew_class_of(kiln_dtype dt);

/* The common dtypes inline; the rest through core/dtype.h. */
static inline float kiln_ew_ld_f32(const void *p, kiln_dtype dt, int64_t i)
{
    switch (dt) {
    case KILN_FLOAT32: return ((const float *)p)[i];
    case KILN_FLOAT16: return kiln_f16_to_f32(((const uint16_t *)p)[i]);
    case KILN_BFLOAT16: return kiln_bf16_to_f32(((const uint16_t *)p)[i]);
    default: return (float)kiln_load_f64(p, dt, (size_t)i);
    }
}

static inline void kiln_ew_st_f32(void *p, kiln_dtype dt, int64_t i, float v)
{
    switch (dt) {
    case KILN_FLOAT32: ((float *)p)[i] = v; break;
    case KILN_FLOAT16: ((uint16_t *)p)[i] = kiln_f32_to_f16(v); break;
    case KILN_BFLOAT16: ((uint16_t *)p)[i] = kiln_f32_to_bf16(v); break;
    case KILN_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    default: kiln_store_f64(p, dt, (size_t)i, v); break;
    }
}

static inline double kiln_ew_ld_f64(const void *p, kiln_dtype dt, int64_t i)
{
    return dt == KILN_FLOAT64 ? ((const double *)p)[i] : kiln_load_f64(p, dt, (size_t)i);
}

static inline void kiln_ew_st_f64(void *p, kiln_dtype dt, int64_t i, double v)
{
    if (dt == KILN_FLOAT64)
        ((double *)p)[i] = v;
    else
        kiln_store_f64(p, dt, (size_t)i, v);
}

/* A dtype's name for messages, never NULL. */
static inline const char *kiln_ew_dtype_name(kiln_dtype dt)
{
    return kiln_dtype_name(dt) ? kiln_dtype_name(dt) : "(invalid)";
}

/* Integer arithmetic that wraps instead of overflowing (no undefined
 * behaviour): computed on uint64 and converted back. */
static inline int64_t kiln_ew_wrap(uint64_t v) { return v <= INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1; }

#define KILN_EW_MAX_IN 3

/* Output rows of a broadcast: dims coalesced so that the innermost dim is as
 * long as possible; strides in elements (0 on broadcast dims). */
typedef struct kiln_ew_plan {
    int rank; /* >= 1 */
    int n_in;
    int64_t dims[KILN_MAX_RANK];
    int64_t strides[KILN_EW_MAX_IN][KILN_MAX_RANK];
    int64_t total; /* output elements */
} kiln_ew_plan;

/* Plans reading in[0..n_in) broadcast to out's shape. Fails when an input
 * does not broadcast to it. */
kiln_status kiln_ew_plan_init(kiln_ew_plan *p, const kiln_tensor *out, int n_in, const kiln_tensor *const *in);

/* One output row: n elements from output offset `out`; input k starts at
 * off[k] and advances by step[k] (0 or 1 in practice). */
typedef void (*kiln_ew_row_fn)(void *user, int64_t out, const int64_t *off, const int64_t *step, int64_t n);

/* Calls fn for every row of the plan, in output order. */
void kiln_ew_plan_run(kiln_ew_plan *p, kiln_ew_row_fn fn, void *user);

/* As kiln_ew_plan_run, with the rows (long rows cut in pieces) split over
 * the thread pool when the output is large: fn must only write its own
 * output elements and may run in any order. */
void kiln_ew_plan_run_parallel(kiln_ew_plan *p, kiln_ew_row_fn fn, void *user);

/* Plans in[0..n_in) broadcast to out's shape and runs fn over the rows. */
kiln_status kiln_ew_broadcast(const kiln_tensor *out, int n_in, const kiln_tensor *const *in, kiln_ew_row_fn fn,
                              void *user);

/* Inputs 0..n_in-1 and output 0 must be present. */
kiln_status kiln_ew_need_io(const kiln_op_ctx *ctx, int n_in);
/* out must have dtype dt. */
kiln_status kiln_ew_need_out_dtype(const kiln_tensor *out, kiln_dtype dt);
/* Input t (number i) must have the dtype of input ref (number r). */
kiln_status kiln_ew_need_same_dtype(const kiln_tensor *t, int i, const kiln_tensor *ref, int r);

/* out must have dtype dt and the shape of `like`. */
kiln_status kiln_ew_check_out(const kiln_tensor *out, kiln_dtype dt, const kiln_tensor *like);

/* b seen under kiln_ew_legacy_rank: with trailing ones so that numpy rules
 * give the legacy broadcast; *view shares b's data. */
kiln_status kiln_ew_legacy_view(const kiln_op_ctx *ctx, const kiln_tensor *a, const kiln_tensor *b,
                                kiln_tensor *view);

/* Kernels, by entry point (elementwise.c lists them per op). */
kiln_status kiln_ew_binary(kiln_op_ctx *ctx);
kiln_status kiln_ew_variadic(kiln_op_ctx *ctx);
kiln_status kiln_ew_pow(kiln_op_ctx *ctx);
kiln_status kiln_ew_bitshift(kiln_op_ctx *ctx);
kiln_status kiln_ew_where(kiln_op_ctx *ctx);
kiln_status kiln_ew_unary(kiln_op_ctx *ctx);
kiln_status kiln_ew_clip(kiln_op_ctx *ctx);

#endif
