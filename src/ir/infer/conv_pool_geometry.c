/*
 * conv_pool_geometry.c - sliding-window attributes, pads and output extents
 * for the conv_pool family (see conv_pool_geometry.h).
 */
#include "ir/infer/conv_pool_geometry.h"

#include <string.h>

#include "ir/infer/infer_util.h"

/* Reads INTS attribute `name` of length `len` into vals, each in [lo, MAX].
 * Absent or empty: vals are filled with def. */
static kiln_status read_ints(const kiln_node *node, const char *name, int len, int64_t lo, int64_t def, int64_t *vals)
{
    const int64_t *v;
    int64_t count;
    if (!kiln_attr_ints(node, name, &v, &count) || count == 0) {
        for (int i = 0; i < len; i++)
            vals[i] = def;
        return KILN_OK;
    }
    if (count != len)
        return kiln_error(KILN_ERR_SHAPE, "attribute %s has %lld values, expected %d", name, (long long)count, len);
    for (int i = 0; i < len; i++) {
        if (v[i] < lo || v[i] > KILN_WINDOW_MAX_EXTENT)
            return kiln_error(KILN_ERR_SHAPE, "attribute %s[%d] is %lld, outside %lld..%lld", name, i, (long long)v[i],
                              (long long)lo, (long long)KILN_WINDOW_MAX_EXTENT);
        vals[i] = v[i];
    }
    return KILN_OK;
}

static kiln_status read_auto_pad(const kiln_node *node, kiln_auto_pad *out)
{
    const char *s = kiln_attr_string(node, "auto_pad", "NOTSET");
    if (strcmp(s, "NOTSET") == 0 || s[0] == '\0')
        *out = KILN_AUTO_PAD_NOTSET;
    else if (strcmp(s, "SAME_UPPER") == 0)
        *out = KILN_AUTO_PAD_SAME_UPPER;
    else if (strcmp(s, "SAME_LOWER") == 0)
        *out = KILN_AUTO_PAD_SAME_LOWER;
    else if (strcmp(s, "VALID") == 0)
        *out = KILN_AUTO_PAD_VALID;
    else
        return kiln_error(KILN_ERR_UNSUPPORTED,
                          "attribute auto_pad is '%s', not NOTSET, SAME_UPPER, SAME_LOWER or VALID", s);
    return KILN_OK;
}

/* kernel_shape against the kernel taken from the weight (when given). */
static kiln_status read_kernel(const kiln_node *node, int n, const int64_t *kernel, int64_t *out)
{
    const int64_t *v;
    int64_t count;
    if (!kiln_attr_ints(node, "kernel_shape", &v, &count) || count == 0) {
        if (!kernel)
            return kiln_error(KILN_ERR_GRAPH, "attribute kernel_shape is required");
        for (int i = 0; i < n; i++) {
            if (kernel[i] > KILN_WINDOW_MAX_EXTENT || kernel[i] == 0)
                return kiln_error(KILN_ERR_SHAPE, "kernel extent %lld on spatial axis %d is outside 1..%lld",
                                  (long long)kernel[i], i, (long long)KILN_WINDOW_MAX_EXTENT);
            out[i] = kernel[i] < 0 ? KILN_DIM_UNKNOWN : kernel[i];
        }
        return KILN_OK;
    }
    KILN_TRY(read_ints(node, "kernel_shape", n, 1, 1, out));
    for (int i = 0; kernel && i < n; i++)
        if (kernel[i] >= 0 && kernel[i] != out[i])
            return kiln_error(KILN_ERR_SHAPE, "kernel_shape[%d] is %lld but the weight's extent is %lld", i,
                              (long long)out[i], (long long)kernel[i]);
    return KILN_OK;
}

kiln_status kiln_window_read(const kiln_op_ctx *ctx, int n, const int64_t *kernel, kiln_window *w)
{
    const kiln_node *node = ctx->node;
    memset(w, 0, sizeof *w);
    if (n < 1 || n > KILN_MAX_RANK - 2)
        return kiln_error(KILN_ERR_SHAPE, "%d spatial axes, expected 1..%d", n, KILN_MAX_RANK - 2);
    w->n = n;
    int64_t pads[2 * KILN_MAX_RANK];
    KILN_TRY(read_kernel(node, n, kernel, w->kernel));
    KILN_TRY(read_ints(node, "strides", n, 1, 1, w->stride));
    KILN_TRY(read_ints(node, "dilations", n, 1, 1, w->dilation));
    KILN_TRY(read_ints(node, "pads", 2 * n, 0, 0, pads));
    KILN_TRY(read_auto_pad(node, &w->auto_pad));
    for (int i = 0; i < n; i++) {
        w->pad_begin[i] = pads[i];
        w->pad_end[i] = pads[n + i];
    }
    int64_t ceil_mode = kiln_attr_int(node, "ceil_mode", 0);
    if (ceil_mode != 0 && ceil_mode != 1)
        return kiln_error(KILN_ERR_UNSUPPORTED, "attribute ceil_mode is %lld, expected 0 or 1", (long long)ceil_mode);
    w->ceil_mode = (int)ceil_mode;
    return KILN_OK;
}

/* An input extent: negative (unknown or symbolic) becomes KILN_DIM_UNKNOWN. */
static kiln_status take_extent(const int64_t *in, int i, int64_t *out)
{
    if (in[i] > KILN_WINDOW_MAX_EXTENT)
        return kiln_error(KILN_ERR_LIMIT, "spatial extent %lld on axis %d is over %lld", (long long)in[i], i,
                          (long long)KILN_WINDOW_MAX_EXTENT);
    *out = in[i] < 0 ? KILN_DIM_UNKNOWN : in[i];
    return KILN_OK;
}

/* Largest dilated kernel extent or transposed output extent: far below
 * int64 overflow for every sum and product of the window arithmetic. */
#define MAX_SPAN ((int64_t)1 << 40)

/* The dilated kernel extent (kernel - 1) * dilation + 1 of axis i. */
static kiln_status kernel_span(const kiln_window *w, int i, int64_t *keff)
{
    *keff = (w->kernel[i] - 1) * w->dilation[i] + 1;
    if (*keff > MAX_SPAN)
        return kiln_error(KILN_ERR_LIMIT, "spatial axis %d: kernel %lld with dilation %lld spans over %lld", i,
                          (long long)w->kernel[i], (long long)w->dilation[i], (long long)MAX_SPAN);
    return KILN_OK;
}

/* Pads and extent of spatial axis i, forward direction; in and kernel known. */
static kiln_status forward_axis(kiln_window *w, int i)
{
    int64_t in = w->in[i], s = w->stride[i], keff;
    KILN_TRY(kernel_span(w, i, &keff));
    if (w->auto_pad == KILN_AUTO_PAD_SAME_UPPER || w->auto_pad == KILN_AUTO_PAD_SAME_LOWER) {
        int64_t out = kiln_ceil_div(in, s);
        int64_t total = (out - 1) * s + keff - in;
        if (total < 0)
            total = 0;
        int64_t small = total / 2, big = total - small;
        w->pad_begin[i] = w->auto_pad == KILN_AUTO_PAD_SAME_UPPER ? small : big;
        w->pad_end[i] = w->auto_pad == KILN_AUTO_PAD_SAME_UPPER ? big : small;
    } else if (w->auto_pad == KILN_AUTO_PAD_VALID) {
        w->pad_begin[i] = w->pad_end[i] = 0;
    }
    int64_t span = in + w->pad_begin[i] + w->pad_end[i] - keff;
    if (span < 0)
        return kiln_error(KILN_ERR_SHAPE,
                          "spatial axis %d: the window (kernel %lld, dilation %lld) spans %lld, more than the "
                          "padded input %lld",
                          i, (long long)w->kernel[i], (long long)w->dilation[i], (long long)keff,
                          (long long)(in + w->pad_begin[i] + w->pad_end[i]));
    /* ceil_mode changes nothing under auto_pad (the two formulas agree there) */
    int use_ceil = w->ceil_mode && w->auto_pad == KILN_AUTO_PAD_NOTSET;
    int64_t out = (use_ceil ? kiln_ceil_div(span, s) : span / s) + 1;
    /* a last window that would start in the end padding is dropped */
    if (use_ceil && (out - 1) * s >= in + w->pad_begin[i])
        out--;
    if (out < 1)
        return kiln_error(KILN_ERR_SHAPE, "spatial axis %d: output extent %lld is below 1", i, (long long)out);
    w->out[i] = out;
    return KILN_OK;
}

kiln_status kiln_window_forward(kiln_window *w, const int64_t *in)
{
    for (int i = 0; i < w->n; i++) {
        KILN_TRY(take_extent(in, i, &w->in[i]));
        if (w->in[i] < 0 || w->kernel[i] < 0)
            w->out[i] = KILN_DIM_UNKNOWN;
        else
            KILN_TRY(forward_axis(w, i));
    }
    return KILN_OK;
}

/* Pads and extent of spatial axis i, transposed direction; in and kernel
 * known. target < 0: no output_shape given. */
static kiln_status transpose_axis(kiln_window *w, int i, int64_t out_pad, int64_t target)
{
    int64_t in = w->in[i], s = w->stride[i], keff;
    KILN_TRY(kernel_span(w, i, &keff));
    if (in < 1)
        return kiln_error(KILN_ERR_SHAPE, "spatial axis %d of the input is empty", i);
    if (s * (in - 1) > MAX_SPAN)
        return kiln_error(KILN_ERR_LIMIT, "spatial axis %d: stride %lld over %lld inputs spans over %lld", i,
                          (long long)s, (long long)in, (long long)MAX_SPAN);
    int64_t full = s * (in - 1) + out_pad + keff;
    if (target < 0 && (w->auto_pad == KILN_AUTO_PAD_SAME_UPPER || w->auto_pad == KILN_AUTO_PAD_SAME_LOWER))
        target = in * s;
    if (target >= 0) {
        /* pads derived from the requested extent; they are negative when it
         * is larger than the full result (the extra positions get only B) */
        int64_t total = full - target;
        if (w->auto_pad == KILN_AUTO_PAD_SAME_UPPER) {
            w->pad_begin[i] = kiln_floor_div(total, 2);
            w->pad_end[i] = total - w->pad_begin[i];
        } else {
            w->pad_end[i] = kiln_floor_div(total, 2);
            w->pad_begin[i] = total - w->pad_end[i];
        }
        w->out[i] = target;
        return KILN_OK;
    }
    if (w->auto_pad == KILN_AUTO_PAD_VALID)
        w->pad_begin[i] = w->pad_end[i] = 0;
    int64_t out = full - w->pad_begin[i] - w->pad_end[i];
    if (out < 1)
        return kiln_error(KILN_ERR_SHAPE, "spatial axis %d: output extent %lld is below 1", i, (long long)out);
    w->out[i] = out;
    return KILN_OK;
}

kiln_status kiln_window_transpose(kiln_window *w, const int64_t *in, const int64_t *output_padding,
                                  const int64_t *output_shape)
{
    for (int i = 0; i < w->n; i++) {
        KILN_TRY(take_extent(in, i, &w->in[i]));
        int64_t target = output_shape ? output_shape[i] : -1;
        if (w->in[i] < 0 || w->kernel[i] < 0)
            w->out[i] = target >= 0 ? target : KILN_DIM_UNKNOWN;
        else
            KILN_TRY(transpose_axis(w, i, output_padding ? output_padding[i] : 0, target));
    }
    return KILN_OK;
}

/* Group and channel agreement of X (N, C, ...) and W (M, C/group, ...). */
static kiln_status check_channels(const kiln_tensor *x, const kiln_tensor *w, int64_t group)
{
    int64_t c = x->dims[1], m = w->dims[0], cg = w->dims[1];
    if (c >= 0 && c % group != 0)
        return kiln_error(KILN_ERR_SHAPE, "input 0 has %lld channels, not divisible by group %lld", (long long)c,
                          (long long)group);
    if (m >= 0 && m % group != 0)
        return kiln_error(KILN_ERR_SHAPE, "input 1 has %lld output channels, not divisible by group %lld", (long long)m,
                          (long long)group);
    if (c >= 0 && cg >= 0 && cg * group != c)
        return kiln_error(KILN_ERR_SHAPE,
                          "input 1 has %lld channels per group but input 0 has %lld channels with group %lld",
                          (long long)cg, (long long)c, (long long)group);
    return KILN_OK;
}

kiln_status kiln_conv_geometry(const kiln_op_ctx *ctx, int xi, int wi, kiln_window *w, int64_t *group)
{
    KILN_TRY(kiln_need_input(ctx, xi));
    KILN_TRY(kiln_need_input(ctx, wi));
    const kiln_tensor *x = ctx->in[xi], *wt = ctx->in[wi];
    if (x->rank < 3 || x->rank > KILN_MAX_RANK)
        return kiln_error(KILN_ERR_SHAPE, "input %d has rank %d, expected 3..%d", xi, x->rank, KILN_MAX_RANK);
    if (wt->rank >= 0 && wt->rank != x->rank)
        return kiln_error(KILN_ERR_SHAPE, "input %d has rank %d but input %d has rank %d", wi, wt->rank, xi, x->rank);
    *group = kiln_attr_int(ctx->node, "group", 1);
    if (*group < 1 || *group > KILN_WINDOW_MAX_EXTENT)
        return kiln_error(KILN_ERR_SHAPE, "attribute group is %lld, expected at least 1", (long long)*group);
    /* the kernel comes from W, unknown while W's rank is */
    int64_t kernel[KILN_MAX_RANK];
    for (int i = 0; i < x->rank - 2; i++)
        kernel[i] = wt->rank >= 0 ? wt->dims[2 + i] : KILN_DIM_UNKNOWN;
    if (wt->rank >= 0)
        KILN_TRY(check_channels(x, wt, *group));
    KILN_TRY(kiln_window_read(ctx, x->rank - 2, kernel, w));
    return kiln_window_forward(w, x->dims + 2);
}

kiln_status kiln_conv_output_shape(const kiln_op_ctx *ctx, int xi, int wi, int *rank, int64_t *dims)
{
    KILN_TRY(kiln_need_input(ctx, xi));
    KILN_TRY(kiln_need_input(ctx, wi));
    const kiln_tensor *x = ctx->in[xi], *wt = ctx->in[wi];
    if (x->rank < 0) {
        *rank = wt->rank;
        for (int i = 0; i < wt->rank; i++)
            dims[i] = i == 1 && wt->rank > 0 ? wt->dims[0] : KILN_DIM_UNKNOWN;
        return KILN_OK;
    }
    kiln_window w;
    int64_t group;
    KILN_TRY(kiln_conv_geometry(ctx, xi, wi, &w, &group));
    *rank = x->rank;
    dims[0] = x->dims[0];
    dims[1] = wt->rank >= 1 ? wt->dims[0] : KILN_DIM_UNKNOWN;
    for (int i = 0; i < w.n; i++)
        dims[2 + i] = w.out[i];
    return KILN_OK;
}

/* output_shape of ConvTranspose: n values, or n + 2 (batch and channels
 * first, as some exporters write it). Returns 1 when present. */
static kiln_status read_output_shape(const kiln_node *node, int n, int64_t *vals, int *present)
{
    const int64_t *v;
    int64_t count;
    *present = kiln_attr_ints(node, "output_shape", &v, &count) && count > 0;
    if (!*present)
        return KILN_OK;
    if (count != n && count != n + 2)
        return kiln_error(KILN_ERR_SHAPE, "attribute output_shape has %lld values, expected %d", (long long)count, n);
    for (int i = 0; i < n; i++) {
        vals[i] = v[count - n + i];
        if (vals[i] < 1 || vals[i] > KILN_WINDOW_MAX_EXTENT)
            return kiln_error(KILN_ERR_SHAPE, "attribute output_shape[%lld] is %lld, outside 1..%lld",
                              (long long)(count - n + i), (long long)vals[i], (long long)KILN_WINDOW_MAX_EXTENT);
    }
    return KILN_OK;
}

kiln_status kiln_conv_transpose_geometry(const kiln_op_ctx *ctx, kiln_window *w, int64_t *group)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(kiln_need_input(ctx, 1));
    const kiln_tensor *x = ctx->in[0], *wt = ctx->in[1];
    if (x->rank < 3 || x->rank > KILN_MAX_RANK)
        return kiln_error(KILN_ERR_SHAPE, "input 0 has rank %d, expected 3..%d", x->rank, KILN_MAX_RANK);
    if (wt->rank >= 0 && wt->rank != x->rank)
        return kiln_error(KILN_ERR_SHAPE, "input 1 has rank %d but input 0 has rank %d", wt->rank, x->rank);
    *group = kiln_attr_int(ctx->node, "group", 1);
    if (*group < 1 || *group > KILN_WINDOW_MAX_EXTENT)
        return kiln_error(KILN_ERR_SHAPE, "attribute group is %lld, expected at least 1", (long long)*group);
    int64_t c = x->dims[1];
    if (c >= 0 && c % *group != 0)
        return kiln_error(KILN_ERR_SHAPE, "input 0 has %lld channels, not divisible by group %lld", (long long)c,
                          (long long)*group);
    if (wt->rank >= 0 && c >= 0 && wt->dims[0] >= 0 && wt->dims[0] != c)
        return kiln_error(KILN_ERR_SHAPE, "input 1 has %lld input channels but input 0 has %lld",
                          (long long)wt->dims[0], (long long)c);
    int n = x->rank - 2;
    int64_t kernel[KILN_MAX_RANK], out_pad[KILN_MAX_RANK], out_shape[KILN_MAX_RANK];
    int has_shape;
    for (int i = 0; i < n; i++)
        kernel[i] = wt->rank >= 0 ? wt->dims[2 + i] : KILN_DIM_UNKNOWN;
    KILN_TRY(kiln_window_read(ctx, n, kernel, w));
    KILN_TRY(read_ints(ctx->node, "output_padding", n, 0, 0, out_pad));
    KILN_TRY(read_output_shape(ctx->node, n, out_shape, &has_shape));
    return kiln_window_transpose(w, x->dims + 2, out_pad, has_shape ? out_shape : NULL);
}

kiln_status kiln_pool_geometry(const kiln_op_ctx *ctx, kiln_window *w)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 3, KILN_MAX_RANK));
    const kiln_tensor *x = ctx->in[0];
    KILN_TRY(kiln_window_read(ctx, x->rank - 2, NULL, w));
    return kiln_window_forward(w, x->dims + 2);
}
