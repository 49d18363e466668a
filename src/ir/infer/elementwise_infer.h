/*
 * elementwise_infer.h - the elementwise family's broadcasting rule that
 * shape inference (elementwise.c) shares with the CPU kernels.
 */
#ifndef KILN_IR_INFER_ELEMENTWISE_INFER_H
#define KILN_IR_INFER_ELEMENTWISE_INFER_H

#include "ir/op_registry.h"

/* Before opset 7 a binary op broadcast only with attribute broadcast=1: B's
 * shape then matches A's dims from `axis` on (a suffix by default). *rank
 * gets the rank that B's shape padded with trailing ones has under numpy
 * rules: b's own rank without the attribute or while a rank is unknown. */
kiln_status kiln_ew_legacy_rank(const kiln_op_ctx *ctx, const kiln_tensor *a, const kiln_tensor *b, int *rank);

#endif
