/*
 * cast_quant_internal.h - what the cast_quant kernel files share: the
 * element conversions of Cast (used by QuantizeLinear for float8 outputs)
 * and the kernels the family table lists.
 */
#ifndef KILN_BACKENDS_CPU_OPS_CAST_QUANT_INTERNAL_H
#define KILN_BACKENDS_CPU_OPS_CAST_QUANT_INTERNAL_H

#include "backends/cpu/cpu_kernels.h"

/* float8e8m0 rounding (Cast's round_mode attribute). */
typedef enum cq_round_mode { CQ_ROUND_UP, CQ_ROUND_DOWN, CQ_ROUND_NEAREST } cq_round_mode;

/* double -> float rounding to odd: a later rounding to any format of at
 * most 22 significant bits then equals one direct rounding of the double. */
float cq_f64_to_f32_odd(double d);

/* Converts n elements with ONNX Cast semantics. */
void cq_cast(const void *src, kiln_dtype src_dt, void *dst, kiln_dtype dst_dt, size_t n, int saturate,
             cq_round_mode round_mode);

kiln_status cq_quantize_linear(kiln_op_ctx *ctx);
kiln_status cq_dequantize_linear(kiln_op_ctx *ctx);
kiln_status cq_dynamic_quantize_linear(kiln_op_ctx *ctx);

#endif
