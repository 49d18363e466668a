/*
 * conv_common.c - what the Conv / FusedConv tactics share: reading a node
 * as a float32 2-D convolution, running a core (plus FusedConv's
 * epilogue), and the tactic tables.
 */
#include <string.h>

#include "backends/cpu/ops/fused_internal.h"
#include "backends/cpu/tactics/conv_tactics.h"
#include "ir/infer/infer_util.h"

static bool is_f32(const kiln_tensor *t)
{
    return t && t->dtype == KILN_FLOAT32 && kiln_tensor_numel(t) >= 0;
}

kiln_status kiln_ct_read(const kiln_op_ctx *ctx, int data, kiln_ct_conv *c)
{
    const kiln_tensor *x = kiln_opt_in(ctx, 0), *w = kiln_opt_in(ctx, 1), *b = kiln_opt_in(ctx, 2);
    const kiln_tensor *y = ctx->n_out > 0 ? ctx->out[0] : NULL;
    memset(c, 0, sizeof *c);
    if (!is_f32(x) || !is_f32(w) || (b && !is_f32(b)) || !is_f32(y) || x->rank != 4 || w->rank != 4)
        return kiln_error(KILN_ERR_UNSUPPORTED, "conv tactics: not a float32 2-D convolution");
    KILN_TRY(kiln_conv_geometry(ctx, 0, 1, &c->win, &c->group));
    c->batch = x->dims[0];
    c->channels = x->dims[1];
    c->filters = w->dims[0];
    c->cg = c->channels / c->group;
    c->mg = c->filters / c->group;
    c->max_bytes = ctx->max_bytes;
    int64_t want[4] = {c->batch, c->filters, c->win.out[0], c->win.out[1]};
    if (c->win.n != 2 || (b && kiln_tensor_numel(b) != c->filters) || y->rank != 4 ||
        memcmp(y->dims, want, sizeof want) != 0)
        return kiln_error(KILN_ERR_SHAPE, "conv tactics: inputs and output do not agree");
    if (data)
        kiln_ct_set_data(c, x, w, b, y);
    return KILN_OK;
}

void kiln_ct_set_data(kiln_ct_conv *c, const kiln_tensor *x, const kiln_tensor *w, const kiln_tensor *b,
                      const kiln_tensor *y)
{
    c->x = x->data;
    c->w = w->data;
    c->b = b ? b->data : NULL;
    c->y = y->data;
}

bool kiln_ct_basic(const kiln_op_ctx *ctx, kiln_ct_conv *c)
{
    return kiln_ct_read(ctx, 0, c) == KILN_OK;
}

kiln_status kiln_ct_run(kiln_op_ctx *ctx, void *workspace, kiln_ct_core core, int fused)
{
    kiln_ct_conv c;
    KILN_TRY(kiln_ct_read(ctx, 1, &c));
    KILN_TRY(core(&c, workspace));
    if (!fused)
        return KILN_OK;
    return kiln_fused_epilogue(ctx, kiln_opt_in(ctx, 3), kiln_tensor_numel(ctx->out[0]));
}

kiln_status kiln_ct_run_fused_inline(kiln_op_ctx *ctx, void *workspace, kiln_ct_core plain,
                                     kiln_ct_epilogue_core core)
{
    kiln_ct_conv c;
    kiln_epilogue e;
    KILN_TRY(kiln_ct_read(ctx, 1, &c));
    KILN_TRY(kiln_epilogue_from_node(ctx->node, &e));
    const kiln_tensor *add = kiln_opt_in(ctx, 3);
    if (add && (add->dtype != KILN_FLOAT32 || kiln_tensor_numel(add) != kiln_tensor_numel(ctx->out[0]))) {
        /* the separate epilogue converts or reports the addend */
        KILN_TRY(plain(&c, workspace));
        return kiln_fused_epilogue(ctx, add, kiln_tensor_numel(ctx->out[0]));
    }
    return core(&c, &e, add ? add->data : NULL, workspace);
}

size_t kiln_ct_no_workspace(const kiln_op_ctx *ctx)
{
    (void)ctx;
    return 0;
}

/* The Conv run function around a core. */
#define KILN_CT_CONV_RUNNER(stem)                                                                                      \
    static kiln_status stem##_conv(kiln_op_ctx *ctx, void *ws)                                                         \
    {                                                                                                                  \
        return kiln_ct_run(ctx, ws, kiln_ct_##stem##_core, 0);                                                         \
    }

/* Conv and FusedConv run functions around a core: the epilogue after it. */
#define KILN_CT_RUNNERS(stem)                                                                                          \
    KILN_CT_CONV_RUNNER(stem)                                                                                          \
    static kiln_status stem##_fused(kiln_op_ctx *ctx, void *ws)                                                        \
    {                                                                                                                  \
        return kiln_ct_run(ctx, ws, kiln_ct_##stem##_core, 1);                                                         \
    }

KILN_CT_RUNNERS(im2col)
KILN_CT_RUNNERS(direct)
KILN_CT_RUNNERS(winograd)

/* Conv and FusedConv run functions for a core that applies the epilogue as
 * it goes (the depthwise tactic plane by plane, the pointwise one tile by
 * tile). */
#define KILN_CT_INLINE_RUNNERS(stem)                                                                                   \
    KILN_CT_CONV_RUNNER(stem)                                                                                          \
    static kiln_status stem##_fused(kiln_op_ctx *ctx, void *ws)                                                        \
    {                                                                                                                  \
        return kiln_ct_run_fused_inline(ctx, ws, kiln_ct_##stem##_core, kiln_ct_##stem##_epilogue_core);              \
    }

KILN_CT_INLINE_RUNNERS(pointwise)
KILN_CT_INLINE_RUNNERS(depthwise)
#define KILN_CT_TABLE(suffix)                                                                                          \
    {                                                                                                                  \
        {"conv_im2col_sgemm", KILN_TACTIC_OPENBLAS, kiln_ct_im2col_supports, kiln_ct_im2col_workspace,                 \
         im2col_##suffix, NULL},                                                                                             \
            {"conv_pointwise_sgemm", KILN_TACTIC_OPENBLAS, kiln_ct_pointwise_supports, kiln_ct_pointwise_workspace,    \
             pointwise_##suffix, NULL},                                                                                      \
            {"conv_direct", KILN_TACTIC_KILN, kiln_ct_direct_supports, kiln_ct_no_workspace, direct_##suffix, NULL},         \
            {"conv_depthwise_direct", KILN_TACTIC_KILN, kiln_ct_depthwise_supports, kiln_ct_no_workspace,              \
             depthwise_##suffix, NULL},                                                                                      \
            {"conv_winograd_f2x3", KILN_TACTIC_OPENBLAS, kiln_ct_winograd_supports, kiln_ct_winograd_workspace,        \
             winograd_##suffix, NULL},                                                                                       \
            KILN_CT_ONEDNN_ENTRY(suffix)                                                                               \
            {NULL, 0, NULL, NULL, NULL, NULL},                                                                               \
    }

const kiln_tactic kiln_cpu_conv_tactics[] = KILN_CT_TABLE(conv);
const kiln_tactic kiln_cpu_fused_conv_tactics[] = KILN_CT_TABLE(fused);
