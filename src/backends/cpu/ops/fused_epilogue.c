/*
 * fused_epilogue.c - the shared halves of the fused CPU kernels: the ONNX
 * kernel on a view of the fused node, and the in-place epilogue. A float32
 * output takes the epilogue in one pass (addend and activation together),
 * split over the thread pool.
 */
#include <stdlib.h>

#include "backends/cpu/cpu_util.h"
#include "backends/cpu/epilogue.h"
#include "backends/cpu/ops/fused_internal.h"
#include "core/thread_pool.h"
#include "ir/infer/fused_view.h"

/* Elements per chunk of the parallel epilogue: a few microseconds each. */
#define EPILOGUE_GRAIN 16384

kiln_status kiln_fused_run_onnx(kiln_op_ctx *ctx, const char *op, int n_in)
{
    kiln_cpu_kernel_fn run = kiln_cpu_find_kernel(op);
    if (!run)
        return kiln_error(KILN_ERR_INTERNAL, "%s wraps %s, which has no CPU kernel", ctx->node->op_type, op);
    kiln_fused_view v;
    kiln_fused_view_init(&v, ctx, op, n_in);
    return run(&v.ctx);
}

static void add_f32(float *y, const float *a, int64_t n, int64_t period)
{
    for (int64_t i = 0; i < n; i += period)
        for (int64_t j = 0; j < period; j++)
            y[i + j] += a[j];
}

static void add_f64(double *y, const double *a, int64_t n, int64_t period)
{
    for (int64_t i = 0; i < n; i += period)
        for (int64_t j = 0; j < period; j++)
            y[i + j] += a[j];
}

/* The addend must tile the output exactly. */
static kiln_status check_addend(const kiln_op_ctx *ctx, const kiln_tensor *add, int64_t n, int64_t period)
{
    if (!add)
        return KILN_OK;
    if (period < 0 || kiln_tensor_numel(add) != period || (period ? n % period : n) != 0)
        return kiln_error(KILN_ERR_SHAPE, "%s: addend of %lld elements does not tile the output's %lld",
                          ctx->node->op_type, (long long)kiln_tensor_numel(add), (long long)n);
    return KILN_OK;
}

/* The epilogue on a buffer of n dt values (float32 or float64). */
static void apply(const kiln_epilogue *e, kiln_dtype dt, void *y, const void *a, int64_t n, int64_t period)
{
    if (dt == KILN_FLOAT64) {
        if (a)
            add_f64(y, a, n, period);
        kiln_epilogue_apply_f64(e, y, n);
    } else {
        if (a)
            add_f32(y, a, n, period);
        kiln_epilogue_apply_f32(e, y, n);
    }
}

typedef struct epilogue_job {
    const kiln_epilogue *e;
    float *y;
    const float *a;
    int64_t period; /* the addend's length, when it repeats; else 0 */
} epilogue_job;

/* Elements [begin, end) of a float32 output; the addend is as long. */
static void epilogue_elems(void *user, int64_t begin, int64_t end, int thread)
{
    const epilogue_job *j = user;
    (void)thread;
    kiln_epilogue_apply_add_f32(j->e, j->y + begin, j->a ? j->a + begin : NULL, end - begin);
}

/* Rows [begin, end) of `period` elements, each taking the whole addend. */
static void epilogue_rows(void *user, int64_t begin, int64_t end, int thread)
{
    const epilogue_job *j = user;
    (void)thread;
    for (int64_t r = begin; r < end; r++)
        kiln_epilogue_apply_add_f32(j->e, j->y + r * j->period, j->a, j->period);
}

/* The epilogue of a float32 output with a float32 addend (or none). */
static void run_f32(const kiln_epilogue *e, float *y, const float *a, int64_t n, int64_t period)
{
    if (a && period < n) {
        epilogue_job job = {e, y, a, period};
        int64_t grain = EPILOGUE_GRAIN / period;
        kiln_parallel_for_grain(n / period, grain > 0 ? grain : 1, epilogue_rows, &job);
        return;
    }
    epilogue_job job = {e, y, a, 0};
    kiln_parallel_for_grain(n, EPILOGUE_GRAIN, epilogue_elems, &job);
}

kiln_status kiln_fused_epilogue(const kiln_op_ctx *ctx, const kiln_tensor *add, int64_t period)
{
    kiln_tensor *y = ctx->out[0];
    int64_t n = kiln_tensor_numel(y);
    kiln_epilogue e;
    KILN_TRY(kiln_epilogue_from_node(ctx->node, &e));
    KILN_TRY(check_addend(ctx, add, n, period));
    if (!add && e.kind == KILN_ACT_NONE)
        return KILN_OK;
    if (!kiln_is_std_float(y->dtype))
        return kiln_unsupported_dtype(ctx, "output", y->dtype);
    if (y->dtype == KILN_FLOAT32 && (!add || add->dtype == KILN_FLOAT32)) {
        if (n > 0)
            run_f32(&e, y->data, add ? add->data : NULL, n, period);
        return KILN_OK;
    }
    kiln_dtype dt = y->dtype == KILN_FLOAT64 ? KILN_FLOAT64 : KILN_FLOAT32;
    const void *staged = NULL, *a = NULL;
    void *own_y = NULL, *own_a = NULL;
    kiln_status st = kiln_stage_in(y, dt, ctx->max_bytes, &staged, &own_y);
    if (st == KILN_OK)
        st = kiln_stage_in(add, dt, ctx->max_bytes, &a, &own_a);
    if (st == KILN_OK)
        apply(&e, dt, own_y ? own_y : y->data, a, n, period);
    if (own_y)
        kiln_stage_out_end(y, dt, own_y, st);
    free(own_a);
    return st;
}
