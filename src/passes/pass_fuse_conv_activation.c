/*
 * pass_fuse_conv_activation.c - a Conv (or a FusedConv without activation)
 * whose output's only reader is a fusable activation (fuse_activation.h)
 * becomes a FusedConv applying that activation in its epilogue.
 */
#include "passes/fuse_activation.h"

kiln_status kiln_pass_fuse_conv_activation(kiln_pass_ctx *ctx, int *changed)
{
    static const kiln_fusion conv = {"fuse_conv_activation", "Conv", "FusedConv"};
    return kiln_fuse_activation_pass(ctx, &conv, changed);
}
