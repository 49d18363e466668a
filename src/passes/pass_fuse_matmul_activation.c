/*
 * pass_fuse_matmul_activation.c - a MatMul or Gemm (or their fused forms
 * without activation, such as a FusedMatMul with its bias) whose output's
 * only reader is a fusable activation (fuse_activation.h) becomes a
 * FusedMatMul or FusedGemm applying that activation in its epilogue.
 */
#include "passes/fuse_activation.h"

kiln_status kiln_pass_fuse_matmul_activation(kiln_pass_ctx *ctx, int *changed)
{
    static const kiln_fusion matmul = {"fuse_matmul_activation", "MatMul", "FusedMatMul"};
    static const kiln_fusion gemm = {"fuse_matmul_activation", "Gemm", "FusedGemm"};
    KILN_TRY(kiln_fuse_activation_pass(ctx, &matmul, changed));
    return kiln_fuse_activation_pass(ctx, &gemm, changed);
}
