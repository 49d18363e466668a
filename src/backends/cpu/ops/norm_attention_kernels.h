/*
 * norm_attention_kernels.h - private to the norm_attention op family: its
 * CPU kernels, defined in norm_attention_<part>.c and listed in the family's
 * table (norm_attention.c).
 */
#ifndef KILN_BACKENDS_CPU_OPS_NORM_ATTENTION_KERNELS_H
#define KILN_BACKENDS_CPU_OPS_NORM_ATTENTION_KERNELS_H

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_util.h"

/* norm_attention_norms.c */
kiln_status kiln_na_batch_norm(kiln_op_ctx *ctx);
kiln_status kiln_na_layer_norm(kiln_op_ctx *ctx);
kiln_status kiln_na_rms_norm(kiln_op_ctx *ctx);
kiln_status kiln_na_group_norm(kiln_op_ctx *ctx);
kiln_status kiln_na_instance_norm(kiln_op_ctx *ctx);
/* norm_attention_misc.c */
kiln_status kiln_na_lp_norm(kiln_op_ctx *ctx);
kiln_status kiln_na_lrn(kiln_op_ctx *ctx);
kiln_status kiln_na_mvn(kiln_op_ctx *ctx);
kiln_status kiln_na_swiglu(kiln_op_ctx *ctx);
/* norm_attention_attn.c */
kiln_status kiln_na_attention(kiln_op_ctx *ctx);
/* norm_attention_rotary.c */
kiln_status kiln_na_rotary(kiln_op_ctx *ctx);
/* norm_attention_linear.c */
kiln_status kiln_na_linear_attention(kiln_op_ctx *ctx);
kiln_status kiln_na_causal_conv(kiln_op_ctx *ctx);

#endif
