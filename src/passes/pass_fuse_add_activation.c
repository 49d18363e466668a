/*
 * pass_fuse_add_activation.c - an Add whose output's only reader is a
 * fusable activation (fuse_activation.h) becomes a FusedAdd applying that
 * activation in its epilogue.
 */
#include "passes/fuse_activation.h"

kiln_status kiln_pass_fuse_add_activation(kiln_pass_ctx *ctx, int *changed)
{
    static const kiln_fusion add = {"fuse_add_activation", "Add", "FusedAdd"};
    return kiln_fuse_activation_pass(ctx, &add, changed);
}
