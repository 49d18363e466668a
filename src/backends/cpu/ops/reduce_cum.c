/*
 * reduce_cum.c - CumSum and CumProd along one axis, inclusive or exclusive,
 * forward or reverse. Floats accumulate in double, integers exactly in 64
 * bits (wrapping like the type's own arithmetic).
 */
#include "backends/cpu/cpu_util.h"
#include "backends/cpu/ops/reduce_kernels.h"
#include "ir/infer/reduce_infer.h"

typedef struct cum_job {
    const kiln_tensor *x;
    kiln_tensor *y;
    int is_prod, exclusive, reverse;
    int64_t len, inner;
} cum_job;

/* The line starting at element base, with stride inner, accumulated in T:
 * double for floats, uint64 for integers (64-bit two's complement, so it
 * wraps as the narrower type would). */
#define DEFINE_CUM_LINE(SFX, T, LOAD, STORE)                                                                           \
    static void cum_line_##SFX(const cum_job *j, int64_t base)                                                         \
    {                                                                                                                  \
        T acc = j->is_prod ? 1 : 0;                                                                                    \
        for (int64_t s = 0; s < j->len; s++) {                                                                         \
            int64_t at = base + (j->reverse ? j->len - 1 - s : s) * j->inner;                                          \
            T v = LOAD(j->x->data, j->x->dtype, (size_t)at);                                                           \
            if (j->exclusive)                                                                                          \
                STORE(j->y->data, j->y->dtype, (size_t)at, acc);                                                       \
            acc = j->is_prod ? acc * v : acc + v;                                                                      \
            if (!j->exclusive)                                                                                         \
                STORE(j->y->data, j->y->dtype, (size_t)at, acc);                                                       \
        }                                                                                                              \
    }

DEFINE_CUM_LINE(float, double, kiln_load_f64, kiln_store_f64)
DEFINE_CUM_LINE(int, uint64_t, kiln_load_u64, kiln_store_u64)

static kiln_status cumulative(kiln_op_ctx *ctx, int is_prod)
{
    cum_job j = {.x = ctx->in[0], .y = ctx->out[0], .is_prod = is_prod};
    int known, axis;
    int64_t outer;
    kiln_red_kind kind = kiln_red_kind_of(j.x->dtype);
    if (kind == KILN_RED_NONE)
        return kiln_unsupported_dtype(ctx, "input 0", j.x->dtype);
    KILN_TRY(kiln_cumulative_get_axis(ctx, &known, &axis));
    KILN_CHECK(known);
    KILN_CHECK(j.y->dtype == j.x->dtype && kiln_tensor_numel(j.y) == kiln_tensor_numel(j.x));
    j.exclusive = kiln_attr_int(ctx->node, "exclusive", 0) != 0;
    j.reverse = kiln_attr_int(ctx->node, "reverse", 0) != 0;
    if (kiln_tensor_numel(j.x) == 0)
        return KILN_OK;
    KILN_TRY(kiln_split_at_axis(j.x, axis, &outer, &j.len, &j.inner));
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < j.inner; i++) {
            if (kind == KILN_RED_FLOAT)
                cum_line_float(&j, o * j.len * j.inner + i);
            else
                cum_line_int(&j, o * j.len * j.inner + i);
        }
    return KILN_OK;
}

kiln_status kiln_cpu_cumsum(kiln_op_ctx *ctx)
{
    return cumulative(ctx, 0);
}

kiln_status kiln_cpu_cumprod(kiln_op_ctx *ctx)
{
    return cumulative(ctx, 1);
}
