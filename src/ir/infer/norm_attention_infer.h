/*
 * norm_attention_infer.h - private to the norm_attention op family: the
 * shape inference of its attention-like ops (norm_attention_attn.c), which
 * the family's schema table (norm_attention.c) lists.
 */
#ifndef KILN_IR_INFER_NORM_ATTENTION_INFER_H
#define KILN_IR_INFER_NORM_ATTENTION_INFER_H

#include "ir/infer/infer_util.h"

kiln_status kiln_na_infer_attention(kiln_op_ctx *ctx);
kiln_status kiln_na_infer_rotary(kiln_op_ctx *ctx);
kiln_status kiln_na_infer_linear_attention(kiln_op_ctx *ctx);
kiln_status kiln_na_infer_causal_conv(kiln_op_ctx *ctx);

#endif
