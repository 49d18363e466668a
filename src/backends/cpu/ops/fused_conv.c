/*
 * fused_conv.c - CPU kernel of kiln's FusedConv (domain "kiln"):
 * act(Conv(X, W, B) + Z), the Conv kernel on X, W, B (it reads Conv's
 * attributes, which FusedConv carries), then the epilogue in place.
 */
#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_util.h"
#include "backends/cpu/ops/fused_internal.h"

static kiln_status run_fused_conv(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_fused_run_onnx(ctx, "Conv", 3));
    return kiln_fused_epilogue(ctx, kiln_opt_in(ctx, 3), kiln_tensor_numel(ctx->out[0]));
}

const kiln_cpu_kernel kiln_cpu_fused_conv[] = {
    {"FusedConv", run_fused_conv},
    {NULL, NULL},
};
