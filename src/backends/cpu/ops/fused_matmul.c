/*
 * fused_matmul.c - CPU kernels of kiln's FusedMatMul, FusedGemm and
 * FusedAdd (domain "kiln"): the MatMul, Gemm or Add kernel, then the
 * epilogue in place (FusedMatMul adds its bias along the last dim first).
 */
#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_util.h"
#include "backends/cpu/ops/fused_internal.h"

static kiln_status run_fused_matmul(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_fused_run_onnx(ctx, "MatMul", 2));
    const kiln_tensor *y = ctx->out[0];
    return kiln_fused_epilogue(ctx, kiln_opt_in(ctx, 2), y->rank > 0 ? y->dims[y->rank - 1] : 1);
}

static kiln_status run_fused_gemm(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_fused_run_onnx(ctx, "Gemm", 3));
    return kiln_fused_epilogue(ctx, NULL, 0);
}

static kiln_status run_fused_add(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_fused_run_onnx(ctx, "Add", 2));
    return kiln_fused_epilogue(ctx, NULL, 0);
}

const kiln_cpu_kernel kiln_cpu_fused_matmul[] = {
    {"FusedMatMul", run_fused_matmul},
    {"FusedGemm", run_fused_gemm},
    {"FusedAdd", run_fused_add},
    {NULL, NULL},
};
