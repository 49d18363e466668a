/*
 * norm_attention.c - shape inference for the norm_attention op family:
 * the normalizations (BatchNormalization, LayerNormalization, ...) and
 * SwiGLU here; the attention-like ops in norm_attention_attn.c.
 */
#include "core/dtype.h"
#include "ir/infer/norm_attention_infer.h"

/* Input i must be present with a float type (or a type not known yet). */
static kiln_status need_float_input(const kiln_op_ctx *ctx, int i, const char *what)
{
    KILN_TRY(kiln_need_input(ctx, i));
    kiln_dtype dt = ctx->in[i]->dtype;
    if (dt != KILN_UNDEFINED && !kiln_is_std_float(dt))
        return kiln_unsupported_dtype(ctx, what, dt);
    return KILN_OK;
}

/* Input i, when present and of known rank, must be 1-D with `n` elements
 * (n < 0: not known, any extent passes). */
static kiln_status need_vector(const kiln_op_ctx *ctx, int i, int64_t n, const char *what)
{
    if (i >= ctx->n_in || !ctx->in[i] || ctx->in[i]->rank < 0)
        return KILN_OK;
    const kiln_tensor *t = ctx->in[i];
    if (t->rank != 1)
        return kiln_error(KILN_ERR_SHAPE, "%s must be 1-D, got rank %d", what, t->rank);
    if (n >= 0 && t->dims[0] >= 0 && t->dims[0] != n)
        return kiln_error(KILN_ERR_SHAPE, "%s has %lld elements, expected %lld", what, (long long)t->dims[0],
                          (long long)n);
    return KILN_OK;
}

/* `param` must broadcast unidirectionally to X's shape. */
static kiln_status need_unidirectional(const kiln_op_ctx *ctx, int i, const char *what)
{
    const kiln_tensor *x = ctx->in[0], *p = i < ctx->n_in ? ctx->in[i] : NULL;
    if (!p || p->rank < 0 || x->rank < 0)
        return KILN_OK;
    if (p->rank > x->rank)
        return kiln_error(KILN_ERR_SHAPE, "%s has rank %d, more than X's %d", what, p->rank, x->rank);
    for (int k = 0; k < p->rank; k++) {
        int64_t pd = p->dims[k], xd = x->dims[x->rank - p->rank + k];
        if (pd >= 0 && xd >= 0 && pd != 1 && pd != xd)
            return kiln_error(KILN_ERR_SHAPE, "%s dim %d is %lld, which does not broadcast to X's %lld", what, k,
                              (long long)pd, (long long)xd);
    }
    return KILN_OK;
}

/* X rank >= 2 (N, C, ...): C, or KILN_DIM_UNKNOWN. */
static kiln_status channels_of(const kiln_op_ctx *ctx, int64_t *c)
{
    const kiln_tensor *x = ctx->in[0];
    *c = KILN_DIM_UNKNOWN;
    if (x->rank < 0)
        return KILN_OK;
    if (x->rank < 2)
        return kiln_error(KILN_ERR_SHAPE, "X must have rank >= 2 (N, C, ...), got %d", x->rank);
    *c = x->dims[1] >= 0 ? x->dims[1] : KILN_DIM_UNKNOWN;
    return KILN_OK;
}

static kiln_status infer_batch_norm(kiln_op_ctx *ctx)
{
    static const char *const names[] = {"X", "scale", "B", "input_mean", "input_var"};
    for (int i = 0; i < 5; i++)
        KILN_TRY(need_float_input(ctx, i, names[i]));
    int64_t c;
    KILN_TRY(channels_of(ctx, &c));
    for (int i = 1; i < 5; i++)
        KILN_TRY(need_vector(ctx, i, c, names[i]));
    kiln_infer_copy(ctx, 0, 0);
    /* running (or saved) mean and variance: one value per channel */
    int64_t dims[1] = {c};
    for (int o = 1; o < ctx->n_out; o++)
        kiln_infer_set(ctx, o, ctx->in[3]->dtype, 1, dims);
    return KILN_OK;
}

static kiln_status infer_instance_norm(kiln_op_ctx *ctx)
{
    static const char *const names[] = {"input", "scale", "B"};
    for (int i = 0; i < 3; i++)
        KILN_TRY(need_float_input(ctx, i, names[i]));
    int64_t c;
    KILN_TRY(channels_of(ctx, &c));
    KILN_TRY(need_vector(ctx, 1, c, "scale"));
    KILN_TRY(need_vector(ctx, 2, c, "B"));
    kiln_infer_copy(ctx, 0, 0);
    return KILN_OK;
}

static kiln_status infer_group_norm(kiln_op_ctx *ctx)
{
    static const char *const names[] = {"X", "scale", "bias"};
    for (int i = 0; i < 3; i++)
        KILN_TRY(need_float_input(ctx, i, names[i]));
    const kiln_attr *a = kiln_attr_find(ctx->node, "num_groups");
    if (!a || a->type != KILN_ATTR_INT)
        return kiln_error(KILN_ERR_GRAPH, "attribute num_groups (int) is required");
    int64_t groups = a->i, c;
    if (groups <= 0)
        return kiln_error(KILN_ERR_SHAPE, "num_groups must be positive, got %lld", (long long)groups);
    KILN_TRY(channels_of(ctx, &c));
    if (c >= 0 && c % groups != 0)
        return kiln_error(KILN_ERR_SHAPE, "%lld channels do not divide into num_groups %lld", (long long)c,
                          (long long)groups);
    /* opset 21 scales per channel; opset 18 per group */
    int64_t n = ctx->opset >= 21 ? c : groups;
    KILN_TRY(need_vector(ctx, 1, n, "scale"));
    KILN_TRY(need_vector(ctx, 2, n, "bias"));
    kiln_infer_copy(ctx, 0, 0);
    return KILN_OK;
}

/* The dtype of LayerNormalization's Mean and InvStdDev: stash_type. */
static kiln_status stash_dtype(const kiln_op_ctx *ctx, kiln_dtype *dt)
{
    int64_t stash = kiln_attr_int(ctx->node, "stash_type", 1);
    if (!kiln_is_std_float((kiln_dtype)stash))
        return kiln_error(KILN_ERR_UNSUPPORTED, "stash_type %lld is not supported", (long long)stash);
    *dt = (kiln_dtype)stash;
    return KILN_OK;
}

static kiln_status infer_layer_norm(kiln_op_ctx *ctx)
{
    KILN_TRY(need_float_input(ctx, 0, "X"));
    KILN_TRY(need_float_input(ctx, 1, "Scale"));
    KILN_TRY(need_unidirectional(ctx, 1, "Scale"));
    if (ctx->n_in > 2 && ctx->in[2]) {
        KILN_TRY(need_float_input(ctx, 2, "B"));
        KILN_TRY(need_unidirectional(ctx, 2, "B"));
    }
    kiln_dtype stash;
    KILN_TRY(stash_dtype(ctx, &stash));
    const kiln_tensor *x = ctx->in[0];
    kiln_infer_copy(ctx, 0, 0);
    if (x->rank < 0) {
        kiln_infer_set(ctx, 1, stash, -1, NULL);
        kiln_infer_set(ctx, 2, stash, -1, NULL);
        return KILN_OK;
    }
    int axis;
    KILN_TRY(kiln_norm_axis(kiln_attr_int(ctx->node, "axis", -1), x->rank, "axis", &axis));
    /* Mean and InvStdDev keep the leading dims and have 1 in the normalized ones */
    int64_t dims[KILN_MAX_RANK];
    for (int k = 0; k < x->rank; k++)
        dims[k] = k < axis ? x->dims[k] : 1;
    kiln_infer_set(ctx, 1, stash, x->rank, dims);
    kiln_infer_set(ctx, 2, stash, x->rank, dims);
    return KILN_OK;
}

static kiln_status infer_rms_norm(kiln_op_ctx *ctx)
{
    KILN_TRY(need_float_input(ctx, 0, "X"));
    KILN_TRY(need_float_input(ctx, 1, "scale"));
    KILN_TRY(need_unidirectional(ctx, 1, "scale"));
    kiln_dtype stash;
    KILN_TRY(stash_dtype(ctx, &stash));
    const kiln_tensor *x = ctx->in[0];
    if (x->rank >= 0) {
        int axis;
        KILN_TRY(kiln_norm_axis(kiln_attr_int(ctx->node, "axis", -1), x->rank, "axis", &axis));
    }
    /* Y has the scale's type (V), X's shape */
    kiln_infer_set(ctx, 0, ctx->in[1]->dtype, x->rank, x->dims);
    return KILN_OK;
}

static kiln_status infer_lp_norm(kiln_op_ctx *ctx)
{
    KILN_TRY(need_float_input(ctx, 0, "input"));
    const kiln_tensor *x = ctx->in[0];
    if (x->rank >= 0) {
        int axis;
        KILN_TRY(kiln_norm_axis(kiln_attr_int(ctx->node, "axis", -1), x->rank, "axis", &axis));
    }
    kiln_infer_copy(ctx, 0, 0);
    return KILN_OK;
}

static kiln_status infer_lrn(kiln_op_ctx *ctx)
{
    KILN_TRY(need_float_input(ctx, 0, "X"));
    const kiln_attr *a = kiln_attr_find(ctx->node, "size");
    if (!a || a->type != KILN_ATTR_INT)
        return kiln_error(KILN_ERR_GRAPH, "attribute size (int) is required");
    if (a->i <= 0)
        return kiln_error(KILN_ERR_SHAPE, "size must be positive, got %lld", (long long)a->i);
    int64_t c;
    KILN_TRY(channels_of(ctx, &c));
    kiln_infer_copy(ctx, 0, 0);
    return KILN_OK;
}

static kiln_status infer_mvn(kiln_op_ctx *ctx)
{
    static const int64_t default_axes[] = {0, 2, 3};
    KILN_TRY(need_float_input(ctx, 0, "X"));
    const kiln_tensor *x = ctx->in[0];
    const int64_t *axes = default_axes;
    int64_t n = 3;
    kiln_attr_ints(ctx->node, "axes", &axes, &n);
    for (int64_t k = 0; k < n && x->rank >= 0; k++) {
        int axis;
        KILN_TRY(kiln_norm_axis(axes[k], x->rank, "axes entry", &axis));
    }
    kiln_infer_copy(ctx, 0, 0);
    return KILN_OK;
}

static kiln_status infer_swiglu(kiln_op_ctx *ctx)
{
    KILN_TRY(need_float_input(ctx, 0, "A"));
    KILN_TRY(need_float_input(ctx, 1, "B"));
    const kiln_tensor *a = ctx->in[0], *b = ctx->in[1];
    if (a->dtype != KILN_UNDEFINED && b->dtype != KILN_UNDEFINED && a->dtype != b->dtype)
        return kiln_error(KILN_ERR_SHAPE, "A (%s) and B (%s) must have one dtype", kiln_dtype_name(a->dtype),
                          kiln_dtype_name(b->dtype));
    if (a->rank >= 0 && b->rank >= 0) {
        if (a->rank != b->rank)
            return kiln_error(KILN_ERR_SHAPE, "A (rank %d) and B (rank %d) must have one shape", a->rank, b->rank);
        for (int k = 0; k < a->rank; k++)
            if (a->dims[k] >= 0 && b->dims[k] >= 0 && a->dims[k] != b->dims[k])
                return kiln_error(KILN_ERR_SHAPE, "A and B differ in dim %d: %lld vs %lld", k, (long long)a->dims[k],
                                  (long long)b->dims[k]);
    }
    /* the shape of A, with extents A leaves unknown taken from B */
    const kiln_tensor *shape = a->rank >= 0 ? a : b;
    int64_t dims[KILN_MAX_RANK];
    for (int k = 0; k < shape->rank; k++)
        dims[k] = shape->dims[k] == KILN_DIM_UNKNOWN && b->rank >= 0 ? b->dims[k] : shape->dims[k];
    kiln_infer_set(ctx, 0, a->dtype != KILN_UNDEFINED ? a->dtype : b->dtype, shape->rank, dims);
    return KILN_OK;
}

const kiln_op_schema kiln_schemas_norm_attention[] = {
    {"BatchNormalization", 5, 5, 1, 5, 0, infer_batch_norm},
    {"LayerNormalization", 2, 3, 1, 3, 0, infer_layer_norm},
    {"InstanceNormalization", 3, 3, 1, 1, 0, infer_instance_norm},
    {"GroupNormalization", 3, 3, 1, 1, 0, infer_group_norm},
    {"RMSNormalization", 2, 2, 1, 1, 0, infer_rms_norm},
    {"LpNormalization", 1, 1, 1, 1, 0, infer_lp_norm},
    {"LRN", 1, 1, 1, 1, 0, infer_lrn},
    {"MeanVarianceNormalization", 1, 1, 1, 1, 0, infer_mvn},
    {"SwiGLU", 2, 2, 1, 1, 0, infer_swiglu},
    {"Attention", 3, 7, 1, 4, 0, kiln_na_infer_attention},
    {"RotaryEmbedding", 3, 4, 1, 1, 0, kiln_na_infer_rotary},
    {"LinearAttention", 3, 6, 1, 2, 0, kiln_na_infer_linear_attention},
    {"CausalConvWithState", 2, 4, 1, 2, 0, kiln_na_infer_causal_conv},
    {NULL, 0, 0, 0, 0, 0, NULL},
};
