/*
 * conv_depthwise.h - the FusedConv run function of the depthwise tactic,
 * which applies the epilogue to each plane right after computing it (in
 * the same parallel pass) instead of in a second pass over the output.
 */
#ifndef KILN_BACKENDS_CPU_TACTICS_CONV_DEPTHWISE_H
#define KILN_BACKENDS_CPU_TACTICS_CONV_DEPTHWISE_H

#include "backends/backend.h"

kiln_status kiln_ct_depthwise_fused_run(kiln_op_ctx *ctx, void *workspace);

#endif
