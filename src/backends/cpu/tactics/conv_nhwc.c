/*
 * conv_nhwc.c - what the NhwcConv tactics share (conv_nhwc.h): reading the
 * node as a float32 2-D channels-last convolution, running a core with the
 * node's epilogue and residual, and the tactic table.
 */
#include "backends/cpu/tactics/conv_nhwc.h"

#include <string.h>

#include "ir/infer/infer_util.h"

static bool is_f32(const kiln_tensor *t)
{
    return t && t->dtype == KILN_FLOAT32 && t->rank >= 0 && kiln_tensor_numel(t) >= 0;
}

/* t has exactly the 4 dims want. */
static bool has_dims(const kiln_tensor *t, const int64_t *want)
{
    return t->rank == 4 && memcmp(t->dims, want, 4 * sizeof *want) == 0;
}

/* Group, channels and filters of X [N, H, W, C] and W [KH, KW, C/group, M]. */
static kiln_status read_channels(const kiln_op_ctx *ctx, const kiln_tensor *x, const kiln_tensor *w, kiln_ct_conv *c)
{
    c->group = kiln_attr_int(ctx->node, "group", 1);
    if (c->group < 1 || c->group > KILN_WINDOW_MAX_EXTENT)
        return kiln_error(KILN_ERR_SHAPE, "NhwcConv: attribute group is %lld, expected 1..%lld", (long long)c->group,
                          (long long)KILN_WINDOW_MAX_EXTENT);
    c->batch = x->dims[0];
    c->channels = x->dims[3];
    c->cg = w->dims[2];
    c->filters = w->dims[3];
    if (c->channels % c->group != 0 || c->channels / c->group != c->cg || c->filters % c->group != 0)
        return kiln_error(KILN_ERR_SHAPE,
                          "NhwcConv: X has %lld channels and W %lld filters of %lld channels, not %lld groups of "
                          "whole channels and filters",
                          (long long)c->channels, (long long)c->filters, (long long)c->cg, (long long)c->group);
    c->mg = c->filters / c->group;
    return KILN_OK;
}

kiln_status kiln_ct_read_nhwc(const kiln_op_ctx *ctx, int data, kiln_ct_conv *c)
{
    const kiln_tensor *x = kiln_opt_in(ctx, 0), *w = kiln_opt_in(ctx, 1), *b = kiln_opt_in(ctx, 2);
    const kiln_tensor *z = kiln_opt_in(ctx, 3), *y = ctx->n_out > 0 ? ctx->out[0] : NULL;
    memset(c, 0, sizeof *c);
    if (!is_f32(x) || !is_f32(w) || (b && !is_f32(b)) || (z && !is_f32(z)) || !is_f32(y) || x->rank != 4 ||
        w->rank != 4)
        return kiln_error(KILN_ERR_UNSUPPORTED, "NhwcConv tactics: not a float32 2-D convolution of known shapes");
    KILN_TRY(read_channels(ctx, x, w, c));
    int64_t kernel[2] = {w->dims[0], w->dims[1]}, in[2] = {x->dims[1], x->dims[2]};
    KILN_TRY(kiln_window_read(ctx, 2, kernel, &c->win));
    KILN_TRY(kiln_window_forward(&c->win, in));
    c->max_bytes = ctx->max_bytes;
    int64_t want[4] = {c->batch, c->win.out[0], c->win.out[1], c->filters};
    char got[128], exp[128];
    if (b && (b->rank != 1 || b->dims[0] != c->filters))
        return kiln_error(KILN_ERR_SHAPE, "NhwcConv: B has shape %s, expected %lld values (one per filter)",
                          kiln_shape_str(b->dims, b->rank, got, sizeof got), (long long)c->filters);
    if (!has_dims(y, want))
        return kiln_error(KILN_ERR_SHAPE, "NhwcConv: output Y has shape %s, the convolution gives %s",
                          kiln_shape_str(y->dims, y->rank, got, sizeof got), kiln_shape_str(want, 4, exp, sizeof exp));
    if (z && !has_dims(z, want))
        return kiln_error(KILN_ERR_SHAPE, "NhwcConv: residual Z has shape %s, the convolution gives %s",
                          kiln_shape_str(z->dims, z->rank, got, sizeof got), kiln_shape_str(want, 4, exp, sizeof exp));
    if (data)
        kiln_ct_set_data(c, x, w, b, y);
    return KILN_OK;
}

kiln_status kiln_ct_nhwc_run(kiln_op_ctx *ctx, void *workspace, kiln_ct_epilogue_core core)
{
    kiln_ct_conv c;
    kiln_epilogue e;
    KILN_TRY(kiln_ct_read_nhwc(ctx, 1, &c));
    KILN_TRY(kiln_epilogue_from_node(ctx->node, &e));
    const kiln_tensor *z = kiln_opt_in(ctx, 3);
    return core(&c, &e, z ? z->data : NULL, workspace);
}

static kiln_status gemm_run(kiln_op_ctx *ctx, void *workspace)
{
    return kiln_ct_nhwc_run(ctx, workspace, kiln_ct_nhwc_gemm_core);
}

static kiln_status depthwise_run(kiln_op_ctx *ctx, void *workspace)
{
    return kiln_ct_nhwc_run(ctx, workspace, kiln_ct_nhwc_depthwise_core);
}

const kiln_tactic kiln_cpu_nhwc_conv_tactics[] = {
    {"conv_nhwc_gemm", KILN_TACTIC_OPENBLAS, kiln_ct_nhwc_gemm_supports, kiln_ct_nhwc_gemm_workspace, gemm_run, NULL},
    {"conv_nhwc_depthwise", KILN_TACTIC_KILN, kiln_ct_nhwc_depthwise_supports, kiln_ct_no_workspace, depthwise_run,
     NULL},
    KILN_CT_ONEDNN_NHWC_ENTRY
    {NULL, 0, NULL, NULL, NULL, NULL},
};
