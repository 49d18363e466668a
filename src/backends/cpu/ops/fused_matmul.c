/*
 * fused_matmul.c - CPU kernels of kiln's FusedMatMul, FusedGemm and
 * FusedAdd (domain "kiln"): the MatMul, Gemm or Add kernel, then the
 * epilogue in place (FusedMatMul adds its bias along the last dim first).
 *
 * A float32 output with a float32 bias (or none) takes the fast epilogue of
 * fused_matmul_f32.c: bias and activation in one pass over the rows, split
 * over the thread pool. Every other case goes through kiln_fused_epilogue.
 */
#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_util.h"
#include "backends/cpu/epilogue.h"
#include "backends/cpu/ops/fused_internal.h"
#include "backends/cpu/ops/fused_matmul_f32.h"

/* The epilogue of out[0] with `add` (NULL, or `period` values repeated
 * along out[0]): the float32 fast path where it applies. */
static kiln_status epilogue(kiln_op_ctx *ctx, const kiln_tensor *add, int64_t period)
{
    kiln_tensor *y = ctx->out[0];
    int64_t n = kiln_tensor_numel(y);
    kiln_epilogue e;
    int fast = y->dtype == KILN_FLOAT32 && n > 0 &&
               (!add || (add->dtype == KILN_FLOAT32 && period > 0 && kiln_tensor_numel(add) == period &&
                         n % period == 0));
    if (fast && kiln_epilogue_from_node(ctx->node, &e) == KILN_OK) {
        kiln_epilogue_rows_f32(&e, y->data, add ? add->data : NULL, add ? n / period : 1, add ? period : n);
        return KILN_OK;
    }
    return kiln_fused_epilogue(ctx, add, period);
}

static kiln_status run_fused_matmul(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_fused_run_onnx(ctx, "MatMul", 2));
    const kiln_tensor *y = ctx->out[0];
    return epilogue(ctx, kiln_opt_in(ctx, 2), y->rank > 0 ? y->dims[y->rank - 1] : 1);
}

static kiln_status run_fused_gemm(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_fused_run_onnx(ctx, "Gemm", 3));
    return epilogue(ctx, NULL, 0);
}

static kiln_status run_fused_add(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_fused_run_onnx(ctx, "Add", 2));
    return epilogue(ctx, NULL, 0);
}

const kiln_cpu_kernel kiln_cpu_fused_matmul[] = {
    {"FusedMatMul", run_fused_matmul},
    {"FusedGemm", run_fused_gemm},
    {"FusedAdd", run_fused_add},
    {NULL, NULL},
};
