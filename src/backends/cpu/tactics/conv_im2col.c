/*
 * conv_im2col.c - the im2col + sgemm tactic: the reference Conv kernel's
 * grouped driver (which allocates its own im2col buffer within the
 * engine's tensor ceiling, so it asks for no tactic workspace).
 */
#include "backends/cpu/ops/conv_pool_kernels.h"
#include "backends/cpu/tactics/conv_tactics.h"

bool kiln_ct_im2col_supports(const kiln_op_ctx *ctx)
{
    kiln_ct_conv c;
    return kiln_ct_basic(ctx, &c);
}

size_t kiln_ct_im2col_workspace(const kiln_op_ctx *ctx)
{
    (void)ctx;
    return 0;
}

kiln_status kiln_ct_im2col_core(const kiln_ct_conv *c, void *workspace)
{
    (void)workspace;
    kiln_cp_conv job = {
        .win = &c->win,
        .batch = c->batch,
        .channels = c->channels,
        .filters = c->filters,
        .group = c->group,
        .esize = 4,
        .x = c->x,
        .w = c->w,
        .b = c->b,
        .y = c->y,
        .max_bytes = c->max_bytes,
    };
    return kiln_cp_conv_run(&job);
}
