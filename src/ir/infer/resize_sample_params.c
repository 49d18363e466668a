/*
 * resize_sample_params.c - parses Resize (opsets 10 to 19) and Upsample
 * (opsets 7 and 9): attributes, axes, scales or sizes, and roi.
 *
 * Output extents follow ONNX's reference: floor(scale * input) in double
 * precision for scales; sizes as given, or scaled by the smallest / largest
 * ratio (rounded half up) under keep_aspect_ratio_policy.
 */
#include "ir/infer/resize_sample_params.h"

#include <math.h>
#include <string.h>

#include "core/dtype.h"
#include "ir/infer/infer_util.h"

/* Extents past this are refused before they can overflow. */
#define RS_MAX_EXTENT ((double)((int64_t)1 << 62))

typedef struct rs_inputs {
    const kiln_tensor *roi, *scales, *sizes;
    const float *attr_scales; /* Upsample-7 */
    int64_t n_attr_scales;
} rs_inputs;

static kiln_status pick(const char *value, const char *const *names, int n, const char *what, int *out)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(value, names[i])) {
            *out = i;
            return KILN_OK;
        }
    return kiln_error(KILN_ERR_UNSUPPORTED, "%s '%s' is not supported", what, value);
}

static kiln_status parse_modern_attrs(const kiln_op_ctx *ctx, kiln_resize_params *p)
{
    static const char *const coords[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                                         "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
    static const char *const nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    const kiln_node *n = ctx->node;
    int v = 0;
    KILN_TRY(pick(kiln_attr_string(n, "coordinate_transformation_mode", "half_pixel"), coords, 7,
                  "coordinate_transformation_mode", &v));
    p->coord = (rs_coord)v;
    KILN_TRY(pick(kiln_attr_string(n, "nearest_mode", "round_prefer_floor"), nearest, 4, "nearest_mode", &v));
    p->nearest = (rs_nearest)v;
    p->cubic_a = kiln_attr_float(n, "cubic_coeff_a", -0.75f);
    p->exclude_outside = kiln_attr_int(n, "exclude_outside", 0) != 0;
    p->extrapolation = kiln_attr_float(n, "extrapolation_value", 0.0f);
    p->antialias = kiln_attr_int(n, "antialias", 0) != 0;
    return KILN_OK;
}

static kiln_status parse_attrs(const kiln_op_ctx *ctx, int modern, kiln_resize_params *p)
{
    static const char *const modes[] = {"nearest", "linear", "cubic", "bilinear"};
    int v = 0;
    KILN_TRY(pick(kiln_attr_string(ctx->node, "mode", "nearest"), modes, modern ? 3 : 4, "mode", &v));
    p->mode = v == 3 ? RS_LINEAR : (rs_mode)v;
    if (!modern && p->mode == RS_CUBIC)
        return kiln_error(KILN_ERR_UNSUPPORTED, "mode 'cubic' needs Resize opset 11 or newer");
    p->coord = RS_ASYMMETRIC;
    p->nearest = RS_SIMPLE;
    p->cubic_a = -0.75;
    return modern ? parse_modern_attrs(ctx, p) : KILN_OK;
}

/* The resized axes (all of them unless the axes attribute names some). */
static kiln_status parse_axes(const kiln_op_ctx *ctx, int rank, int *axes, int *naxes)
{
    const int64_t *vals;
    int64_t count;
    if (!kiln_attr_ints(ctx->node, "axes", &vals, &count)) {
        for (int i = 0; i < rank; i++)
            axes[i] = i;
        *naxes = rank;
        return KILN_OK;
    }
    if (count > rank)
        return kiln_error(KILN_ERR_SHAPE, "axes has %lld entries for rank %d", (long long)count, rank);
    unsigned seen = 0;
    for (int64_t i = 0; i < count; i++) {
        KILN_TRY(kiln_norm_axis(vals[i], rank, "axes entry", &axes[i]));
        if (seen & (1u << axes[i]))
            return kiln_error(KILN_ERR_SHAPE, "axis %d is repeated in axes", axes[i]);
        seen |= 1u << axes[i];
    }
    *naxes = (int)count;
    return KILN_OK;
}

/* 1: the input holds values; 0: absent or empty; -1: not known yet. */
static int given(const kiln_tensor *t)
{
    if (!t)
        return 0;
    int64_t n = kiln_tensor_numel(t);
    if (n == 0)
        return 0;
    return n > 0 && t->data ? 1 : -1;
}

static kiln_status apply_scales(const rs_inputs *in, const int64_t *dims, const int *axes, int naxes,
                                kiln_resize_params *p)
{
    double s[KILN_MAX_RANK];
    int count = (int)in->n_attr_scales;
    if (in->attr_scales)
        for (int i = 0; i < count && i < KILN_MAX_RANK; i++)
            s[i] = in->attr_scales[i];
    else
        KILN_TRY(kiln_read_floats(in->scales, s, KILN_MAX_RANK, &count, "scales"));
    if (count != naxes)
        return kiln_error(KILN_ERR_SHAPE, "scales has %d values, expected %d", count, naxes);
    for (int i = 0; i < naxes; i++) {
        int a = axes[i];
        if (!(s[i] > 0) || isinf(s[i]))
            return kiln_error(KILN_ERR_SHAPE, "scale %g for axis %d must be positive and finite", s[i], a);
        p->scale[a] = s[i];
        if (dims[a] < 0) {
            p->out_dims[a] = s[i] == 1.0 ? dims[a] : KILN_DIM_UNKNOWN; /* a scale of 1 keeps a symbol */
            continue;
        }
        double out = floor(s[i] * (double)dims[a]);
        if (out >= RS_MAX_EXTENT)
            return kiln_error(KILN_ERR_LIMIT, "scale %g makes axis %d too long", s[i], a);
        p->out_dims[a] = (int64_t)out;
    }
    return KILN_OK;
}

/* Sizes under keep_aspect_ratio_policy not_larger / not_smaller: one scale
 * for every resized axis. */
static kiln_status keep_aspect(const int64_t *dims, const int64_t *sizes, const int *axes, int naxes, int larger,
                               kiln_resize_params *p)
{
    double s = larger ? 0 : INFINITY;
    for (int i = 0; i < naxes; i++) {
        if (dims[axes[i]] < 0) {
            for (int j = 0; j < naxes; j++)
                p->out_dims[axes[j]] = KILN_DIM_UNKNOWN;
            return KILN_OK;
        }
        if (dims[axes[i]] == 0)
            continue; /* an empty axis stays empty and sets no ratio */
        double r = (double)sizes[i] / (double)dims[axes[i]];
        s = larger ? fmax(s, r) : fmin(s, r);
    }
    if (isinf(s))
        s = 1; /* every resized axis is empty */
    for (int i = 0; i < naxes; i++) {
        double out = s * (double)dims[axes[i]] + 0.5;
        if (out >= RS_MAX_EXTENT)
            return kiln_error(KILN_ERR_LIMIT, "keeping the aspect ratio makes axis %d too long", axes[i]);
        p->scale[axes[i]] = s;
        p->out_dims[axes[i]] = (int64_t)out;
    }
    return KILN_OK;
}

static kiln_status apply_sizes(const kiln_op_ctx *ctx, const rs_inputs *in, const int64_t *dims, const int *axes,
                               int naxes, kiln_resize_params *p)
{
    static const char *const policies[] = {"stretch", "not_larger", "not_smaller"};
    int64_t sz[KILN_MAX_RANK];
    int count, policy = 0;
    KILN_TRY(kiln_read_ints(in->sizes, sz, KILN_MAX_RANK, &count, "sizes"));
    if (count != naxes)
        return kiln_error(KILN_ERR_SHAPE, "sizes has %d values, expected %d", count, naxes);
    KILN_TRY(pick(kiln_attr_string(ctx->node, "keep_aspect_ratio_policy", "stretch"), policies, 3,
                  "keep_aspect_ratio_policy", &policy));
    for (int i = 0; i < naxes; i++) {
        int a = axes[i];
        if (sz[i] < 0 || (double)sz[i] >= RS_MAX_EXTENT)
            return kiln_error(KILN_ERR_SHAPE, "size %lld for axis %d is out of range", (long long)sz[i], a);
        if (dims[a] == 0 && sz[i] > 0)
            return kiln_error(KILN_ERR_SHAPE, "axis %d is empty and cannot be resized to %lld", a, (long long)sz[i]);
        p->out_dims[a] = sz[i];
        p->scale[a] = dims[a] > 0 ? (double)sz[i] / (double)dims[a] : dims[a] == 0 ? 1.0 : NAN;
    }
    return policy == 0 ? KILN_OK : keep_aspect(dims, sz, axes, naxes, policy == 2, p);
}

static kiln_status apply_roi(const rs_inputs *in, const int *axes, int naxes, kiln_resize_params *p)
{
    int g = given(in->roi);
    if (g == 0 && p->coord == RS_TF_CROP_AND_RESIZE)
        return kiln_error(KILN_ERR_GRAPH, "tf_crop_and_resize needs the roi input");
    if (g != 1 || p->coord != RS_TF_CROP_AND_RESIZE)
        return KILN_OK;
    double r[2 * KILN_MAX_RANK];
    int count;
    KILN_TRY(kiln_read_floats(in->roi, r, 2 * KILN_MAX_RANK, &count, "roi"));
    if (count != 2 * naxes)
        return kiln_error(KILN_ERR_SHAPE, "roi has %d values, expected %d", count, 2 * naxes);
    for (int i = 0; i < naxes; i++) {
        p->roi_start[axes[i]] = r[i];
        p->roi_end[axes[i]] = r[naxes + i];
    }
    return KILN_OK;
}

static void find_inputs(const kiln_op_ctx *ctx, int modern, rs_inputs *in)
{
    memset(in, 0, sizeof *in);
    if (!modern) {
        if (!kiln_attr_floats(ctx->node, "scales", &in->attr_scales, &in->n_attr_scales))
            in->scales = ctx->n_in > 1 ? ctx->in[1] : NULL;
        return;
    }
    in->roi = ctx->n_in > 1 ? ctx->in[1] : NULL;
    in->scales = ctx->n_in > 2 ? ctx->in[2] : NULL;
    in->sizes = ctx->n_in > 3 ? ctx->in[3] : NULL;
}

kiln_status kiln_resize_params_parse(const kiln_op_ctx *ctx, kiln_resize_params *p)
{
    const kiln_tensor *x = ctx->in[0];
    int modern = !strcmp(ctx->node->op_type, "Resize") && ctx->opset >= 11;
    memset(p, 0, sizeof *p);
    KILN_TRY(parse_attrs(ctx, modern, p));
    if (x->rank < 0 || x->rank > KILN_MAX_RANK)
        return kiln_error(KILN_ERR_SHAPE, "the input's rank must be known");
    p->rank = x->rank;
    for (int d = 0; d < x->rank; d++) {
        p->out_dims[d] = x->dims[d]; /* axes that are not resized keep their dim, symbols included */
        p->scale[d] = 1.0;
        p->roi_end[d] = 1.0;
    }
    int axes[KILN_MAX_RANK], naxes = x->rank;
    for (int d = 0; d < x->rank; d++)
        axes[d] = d;
    if (modern)
        KILN_TRY(parse_axes(ctx, x->rank, axes, &naxes));
    rs_inputs in;
    find_inputs(ctx, modern, &in);
    int gs = in.attr_scales ? 1 : given(in.scales), gz = given(in.sizes);
    if (gs == 1 && gz == 1)
        return kiln_error(KILN_ERR_GRAPH, "only one of scales and sizes may be given");
    if (!gs && !gz)
        return kiln_error(KILN_ERR_GRAPH, "%s needs scales or sizes", ctx->node->op_type);
    KILN_TRY(apply_roi(&in, axes, naxes, p));
    if (gs < 0 || gz < 0) {
        for (int i = 0; i < naxes; i++)
            p->out_dims[axes[i]] = KILN_DIM_UNKNOWN;
        return KILN_OK;
    }
    if (gs)
        return apply_scales(&in, x->dims, axes, naxes, p);
    return apply_sizes(ctx, &in, x->dims, axes, naxes, p);
}
