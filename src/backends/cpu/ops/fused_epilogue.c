/*
 * fused_epilogue.c - the shared halves of the fused CPU kernels: the ONNX
 * kernel on a view of the fused node, and the in-place epilogue.
 */
#include <stdlib.h>

#include "backends/cpu/cpu_util.h"
#include "backends/cpu/epilogue.h"
#include "backends/cpu/ops/fused_internal.h"
#include "ir/infer/fused_view.h"

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
