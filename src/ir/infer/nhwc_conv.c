/*
 * nhwc_conv.c - shape inference for kiln's channels-last convolution
 * (domain "kiln"), made by the layout pass:
 *   NhwcConv(X [N, H, W, C], W [KH, KW, C/group, M], B? [M], Z? [N, OH, OW, M])
 *     -> Y [N, OH, OW, M] = act(conv(X, W) + B + Z)
 * 2-D only. It carries Conv's window attributes (kernel_shape, strides,
 * pads as [top, left, bottom, right], dilations, group, auto_pad) and
 * FusedConv's activation / activation_alpha / activation_beta. Filters
 * [g * M/group, (g + 1) * M/group) read input channels
 * [g * C/group, (g + 1) * C/group). Z has Y's shape and dtype.
 *
 * The window arithmetic is conv_pool_geometry.h's on (H, W) and (KH, KW);
 * kiln_conv_geometry is not used since it reads NCHW / OIHW dims.
 */
#include "core/dtype.h"
#include "ir/infer/conv_pool_geometry.h"
#include "ir/infer/fused_view.h"
#include "ir/infer/infer_util.h"

static const char *const roles[] = {"X", "W", "B", "Z"};

/* Input k's value name for messages ("?" when the node has no value ids). */
static const char *input_name(const kiln_op_ctx *ctx, int k)
{
    return ctx->node->inputs ? kiln_fused_input_name(ctx, k) : "?";
}

static const char *shape_of(const kiln_op_ctx *ctx, const kiln_tensor *t, char *buf, size_t len)
{
    if (ctx->graph && t->rank >= 0)
        return kiln_graph_shape_str(ctx->graph, t->dims, t->rank, buf, len);
    return kiln_shape_str(t->dims, t->rank, buf, len);
}

/* Dim d of t; KILN_DIM_UNKNOWN while t's rank is unknown. Symbols stay
 * (negative: every check below skips them). */
static int64_t dim(const kiln_tensor *t, int d)
{
    return t->rank > d ? t->dims[d] : KILN_DIM_UNKNOWN;
}

static const char *dtype_str(kiln_dtype dt)
{
    return kiln_dtype_name(dt) ? kiln_dtype_name(dt) : "(invalid)";
}

/* X is a float type; W and B (when present) have X's. */
static kiln_status check_dtypes(const kiln_op_ctx *ctx)
{
    kiln_dtype dt = ctx->in[0]->dtype;
    if (!kiln_is_std_float(dt))
        return kiln_unsupported_dtype(ctx, "input 0 (X)", dt);
    for (int i = 1; i <= 2; i++) {
        const kiln_tensor *t = kiln_opt_in(ctx, i);
        if (t && t->dtype != dt)
            return kiln_error(KILN_ERR_GRAPH, "%s '%s' is %s but X '%s' is %s", roles[i], input_name(ctx, i),
                              dtype_str(t->dtype), input_name(ctx, 0), dtype_str(dt));
    }
    return KILN_OK;
}

/* X and W have rank 4 (or one not known yet). */
static kiln_status check_ranks(const kiln_op_ctx *ctx)
{
    static const char *const layouts[] = {"[N, H, W, C]", "[KH, KW, C/group, M]"};
    char s[128];
    for (int i = 0; i < 2; i++) {
        const kiln_tensor *t = ctx->in[i];
        if (t->rank >= 0 && t->rank != 4)
            return kiln_error(KILN_ERR_SHAPE, "%s '%s' has shape %s, rank %d; NhwcConv takes rank 4 %s", roles[i],
                              input_name(ctx, i), shape_of(ctx, t, s, sizeof s), t->rank, layouts[i]);
    }
    return KILN_OK;
}

/* C against W's channels per group and the group; M divisible by it. */
static kiln_status check_channels(const kiln_op_ctx *ctx, int64_t group)
{
    const kiln_tensor *x = ctx->in[0], *w = ctx->in[1];
    int64_t c = dim(x, 3), cg = dim(w, 2), m = dim(w, 3);
    char sx[128], sw[128];
    if (m >= 0 && m % group != 0)
        return kiln_error(KILN_ERR_SHAPE, "W '%s' has shape %s: %lld filters, not divisible by group %lld",
                          input_name(ctx, 1), shape_of(ctx, w, sw, sizeof sw), (long long)m, (long long)group);
    if (c >= 0 && c % group != 0)
        return kiln_error(KILN_ERR_SHAPE, "X '%s' has shape %s: %lld channels, not divisible by group %lld",
                          input_name(ctx, 0), shape_of(ctx, x, sx, sizeof sx), (long long)c, (long long)group);
    if (c >= 0 && cg >= 0 && c / group != cg)
        return kiln_error(KILN_ERR_SHAPE,
                          "X '%s' has shape %s: %lld channels, but W '%s' of shape %s takes %lld per group with group "
                          "%lld",
                          input_name(ctx, 0), shape_of(ctx, x, sx, sizeof sx), (long long)c, input_name(ctx, 1),
                          shape_of(ctx, w, sw, sizeof sw), (long long)cg, (long long)group);
    return KILN_OK;
}

/* B, when present, is a vector of M values. */
static kiln_status check_bias(const kiln_op_ctx *ctx)
{
    const kiln_tensor *b = kiln_opt_in(ctx, 2);
    int64_t m = dim(ctx->in[1], 3);
    char sb[128], sw[128];
    if (!b || b->rank < 0)
        return KILN_OK;
    if (b->rank != 1 || (m >= 0 && b->dims[0] >= 0 && b->dims[0] != m))
        return kiln_error(KILN_ERR_SHAPE, "B '%s' has shape %s, expected one value per filter of W '%s' (shape %s)",
                          input_name(ctx, 2), shape_of(ctx, b, sb, sizeof sb), input_name(ctx, 1),
                          shape_of(ctx, ctx->in[1], sw, sizeof sw));
    return KILN_OK;
}

/* Z, when present, has Y's dtype and shape (unknown dims agree). */
static kiln_status check_residual(const kiln_op_ctx *ctx)
{
    const kiln_tensor *z = kiln_opt_in(ctx, 3), *y = ctx->out[0];
    char sz[128], sy[128];
    if (!z)
        return KILN_OK;
    if (z->dtype != y->dtype)
        return kiln_error(KILN_ERR_GRAPH, "residual Z '%s' is %s, the convolution gives %s", input_name(ctx, 3),
                          dtype_str(z->dtype), dtype_str(y->dtype));
    if (z->rank < 0)
        return KILN_OK;
    int same = z->rank == y->rank;
    for (int d = 0; same && d < y->rank; d++)
        same = z->dims[d] == y->dims[d] || z->dims[d] < 0 || y->dims[d] < 0;
    if (!same)
        return kiln_error(KILN_ERR_SHAPE, "residual Z '%s' has shape %s, the convolution gives %s", input_name(ctx, 3),
                          shape_of(ctx, z, sz, sizeof sz), shape_of(ctx, y, sy, sizeof sy));
    return KILN_OK;
}

static kiln_status infer_nhwc_conv(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(kiln_need_input(ctx, 1));
    KILN_TRY(check_dtypes(ctx));
    KILN_TRY(check_ranks(ctx));
    const kiln_tensor *x = ctx->in[0], *w = ctx->in[1];
    int64_t group = kiln_attr_int(ctx->node, "group", 1);
    if (group < 1 || group > KILN_WINDOW_MAX_EXTENT)
        return kiln_error(KILN_ERR_SHAPE, "attribute group is %lld, expected 1..%lld", (long long)group,
                          (long long)KILN_WINDOW_MAX_EXTENT);
    KILN_TRY(check_channels(ctx, group));
    KILN_TRY(check_bias(ctx));
    int64_t kernel[2] = {dim(w, 0), dim(w, 1)}, in[2] = {dim(x, 1), dim(x, 2)};
    kiln_window win;
    KILN_TRY(kiln_window_read(ctx, 2, kernel, &win));
    KILN_TRY(kiln_window_forward(&win, in));
    int64_t dims[4] = {dim(x, 0), win.out[0], win.out[1], dim(w, 3)};
    kiln_infer_set(ctx, 0, x->dtype, 4, dims);
    KILN_TRY(check_residual(ctx));
    const char *act = kiln_attr_string(ctx->node, "activation", "");
    if (act[0] && !kiln_is_std_float(ctx->out[0]->dtype))
        return kiln_error(KILN_ERR_UNSUPPORTED, "activation %s needs a float output, not %s", act,
                          dtype_str(ctx->out[0]->dtype));
    return KILN_OK;
}

/* {name, min_inputs, max_inputs, min_outputs, max_outputs, flags, infer} */
const kiln_op_schema kiln_schemas_nhwc_conv[] = {
    {"NhwcConv", 2, 4, 1, 1, 0, infer_nhwc_conv},
    {NULL, 0, 0, 0, 0, 0, NULL},
};
