/*
 * linalg_softmax.c - CPU kernels for Softmax, LogSoftmax and Hardmax.
 *
 * Each works on vectors of n elements, `stride` apart: before opset 13 the
 * input is coerced to 2-D at the axis (the vectors are its rows), from 13 it
 * works along the one axis. float16, bfloat16 and float32 compute in float32,
 * float64 in double. The outer vectors are shared over the thread pool;
 * float32 Softmax along contiguous rows takes the vectorized row
 * (softmax_row_f32.h).
 */
#include "backends/cpu/ops/linalg_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/softmax_row_f32.h"
#include "core/thread_pool.h"

typedef enum sm_op { SM_SOFTMAX, SM_LOG_SOFTMAX, SM_HARDMAX } sm_op;

/* outer vectors of n elements, each of them inner times, interleaved */
typedef struct sm_layout {
    int64_t outer, n, inner;
} sm_layout;

static kiln_status get_layout(const kiln_op_ctx *ctx, sm_layout *l)
{
    const kiln_tensor *x = ctx->in[0];
    int axis;
    KILN_TRY(kiln_softmax_axis(ctx, &axis));
    int64_t outer, rest;
    KILN_TRY(kiln_shape_numel(x->dims, axis, &outer, "softmax input"));
    KILN_TRY(kiln_shape_numel(x->dims + axis, x->rank - axis, &rest, "softmax input"));
    l->outer = outer;
    if (ctx->opset < 13) {
        l->n = rest;
        l->inner = 1;
    } else {
        l->n = x->dims[axis];
        l->inner = x->dims[axis] ? rest / x->dims[axis] : 0;
    }
    return KILN_OK;
}

/*
 * The three vector operations, for float and for double. Softmax subtracts
 * the maximum first so exp never overflows; LogSoftmax is
 * x - max - log(sum(exp(x - max))); Hardmax puts 1 at the first maximum
 * (a NaN counts as the maximum, as numpy.argmax has it).
 */
#define DEFINE_VECTOR_OPS(T, SFX, EXP, LOG)                                                                            \
    static T max_##SFX(const T *x, int64_t n, int64_t s)                                                               \
    {                                                                                                                  \
        T m = x[0];                                                                                                    \
        for (int64_t j = 1; j < n; j++)                                                                                \
            m = x[j * s] > m ? x[j * s] : m;                                                                           \
        return m;                                                                                                      \
    }                                                                                                                  \
    static void softmax_##SFX(const T *x, T *y, int64_t n, int64_t s)                                                  \
    {                                                                                                                  \
        T m = max_##SFX(x, n, s), sum = 0;                                                                             \
        for (int64_t j = 0; j < n; j++) {                                                                              \
            y[j * s] = EXP(x[j * s] - m);                                                                              \
            sum += y[j * s];                                                                                           \
        }                                                                                                              \
        T inv = 1 / sum;                                                                                               \
        for (int64_t j = 0; j < n; j++)                                                                                \
            y[j * s] *= inv;                                                                                           \
    }                                                                                                                  \
    static void log_softmax_##SFX(const T *x, T *y, int64_t n, int64_t s)                                              \
    {                                                                                                                  \
        T m = max_##SFX(x, n, s), sum = 0;                                                                             \
        for (int64_t j = 0; j < n; j++)                                                                                \
            sum += EXP(x[j * s] - m);                                                                                  \
        T shift = m + LOG(sum);                                                                                        \
        for (int64_t j = 0; j < n; j++)                                                                                \
            y[j * s] = x[j * s] - shift;                                                                               \
    }                                                                                                                  \
    static void hardmax_##SFX(const T *x, T *y, int64_t n, int64_t s)                                                  \
    {                                                                                                                  \
        int64_t best = 0;                                                                                              \
        for (int64_t j = 1; j < n && !isnan(x[best * s]); j++)                                                         \
            if (x[j * s] > x[best * s] || isnan(x[j * s]))                                                             \
                best = j;                                                                                              \
        for (int64_t j = 0; j < n; j++)                                                                                \
            y[j * s] = j == best;                                                                                      \
    }                                                                                                                  \
    static void run_##SFX(sm_op op, const sm_layout *l, const T *x, T *y)                                              \
    {                                                                                                                  \
        void (*fn)(const T *, T *, int64_t, int64_t) = op == SM_SOFTMAX       ? softmax_##SFX                          \
                                                       : op == SM_LOG_SOFTMAX ? log_softmax_##SFX                      \
                                                                              : hardmax_##SFX;                         \
        for (int64_t o = 0; o < l->outer; o++)                                                                         \
            for (int64_t i = 0; i < l->inner; i++) {                                                                   \
                int64_t at = o * l->n * l->inner + i;                                                                  \
                fn(x + at, y + at, l->n, l->inner);                                                                    \
            }                                                                                                          \
    }

DEFINE_VECTOR_OPS(float, f32, expf, logf)
DEFINE_VECTOR_OPS(double, f64, exp, log)

/* The float32 Softmax of contiguous rows (inner 1): the vectorized row of
 * softmax_row_f32.h. A row whose maximum is -inf gives NaN, as the generic
 * path (and numpy) has it: -inf - -inf is NaN. */
static void softmax_rows_f32(const float *x, float *y, int64_t rows, int64_t n)
{
    for (int64_t r = 0; r < rows; r++) {
        if (x != y)
            memcpy(y + r * n, x + r * n, (size_t)n * sizeof(float));
        if (kiln_softmax_row_f32(y + r * n, n) == -INFINITY)
            for (int64_t j = 0; j < n; j++)
                y[r * n + j] = NAN;
    }
}

typedef struct sm_job {
    sm_op op;
    kiln_la_kind kind;
    int fast; /* float32 Softmax of contiguous rows */
    const sm_layout *l;
    const void *x;
    void *y;
} sm_job;

/* Outer indices [begin, end): their n x inner blocks. */
static void run_outer_range(void *user, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const sm_job *j = user;
    sm_layout part = *j->l;
    int64_t at = begin * part.n * part.inner;
    part.outer = end - begin;
    if (j->fast)
        softmax_rows_f32((const float *)j->x + at, (float *)j->y + at, part.outer, part.n);
    else if (j->kind == KILN_LA_F32)
        run_f32(j->op, &part, (const float *)j->x + at, (float *)j->y + at);
    else
        run_f64(j->op, &part, (const double *)j->x + at, (double *)j->y + at);
}

/* Elements per chunk of the parallel loop over the outer dims. */
#define SOFTMAX_GRAIN 16384

static kiln_status run_softmax_op(kiln_op_ctx *ctx, sm_op op)
{
    const kiln_tensor *x = ctx->in[0];
    kiln_tensor *y = ctx->out[0];
    kiln_dtype dt = x->dtype;
    if (!kiln_is_std_float(dt) || y->dtype != dt)
        return kiln_unsupported_dtype(ctx, "input", dt);
    KILN_TRY(kiln_la_check_out(y, x->rank, x->dims));
    sm_layout l;
    KILN_TRY(get_layout(ctx, &l));
    if (l.n == 0)
        return KILN_OK;
    kiln_la_kind kind = kiln_la_kind_of(dt);
    kiln_dtype work = kiln_la_dtype(kind);
    const void *src = NULL;
    void *dst = NULL, *own_x = NULL, *own_y = NULL;
    kiln_status st = kiln_stage_in(x, work, ctx->max_bytes, &src, &own_x);
    if (st == KILN_OK)
        st = kiln_stage_out(y, work, ctx->max_bytes, &dst, &own_y);
    if (st == KILN_OK) {
        sm_job job = {op, kind, dt == KILN_FLOAT32 && op == SM_SOFTMAX && l.inner == 1, &l, src, dst};
        int64_t per_outer = l.n * l.inner;
        int64_t grain = per_outer > 0 && per_outer < SOFTMAX_GRAIN ? SOFTMAX_GRAIN / per_outer : 1;
        kiln_parallel_for_grain(l.outer, grain, run_outer_range, &job);
    }
    kiln_stage_out_end(y, work, own_y, st);
    free(own_x);
    return st;
}

kiln_status kiln_cpu_softmax(kiln_op_ctx *ctx)
{
    return run_softmax_op(ctx, SM_SOFTMAX);
}

kiln_status kiln_cpu_log_softmax(kiln_op_ctx *ctx)
{
    return run_softmax_op(ctx, SM_LOG_SOFTMAX);
}

kiln_status kiln_cpu_hardmax(kiln_op_ctx *ctx)
{
    return run_softmax_op(ctx, SM_HARDMAX);
}
