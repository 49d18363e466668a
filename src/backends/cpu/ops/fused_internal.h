/*
 * fused_internal.h - what the CPU kernels of kiln's fused ops share: run the
 * wrapped ONNX kernel, then the epilogue (an addend, then the activation).
 */
#ifndef KILN_BACKENDS_CPU_OPS_FUSED_INTERNAL_H
#define KILN_BACKENDS_CPU_OPS_FUSED_INTERNAL_H

#include "backends/cpu/cpu_kernels.h"

/* Runs the CPU kernel of ONNX op `op` on the fused node's first n_in inputs,
 * writing its output. */
kiln_status kiln_fused_run_onnx(kiln_op_ctx *ctx, const char *op, int n_in);

/* out[0] = act(out[0] + add), in place: add is NULL, or `period` values
 * repeated over out[0] (a residual: out[0]'s size; a bias: its last dim).
 * Float outputs; float16 and bfloat16 go through float32. */
kiln_status kiln_fused_epilogue(const kiln_op_ctx *ctx, const kiln_tensor *add, int64_t period);

#endif
