/*
 * recurrent_params.c - the attributes of RNN, GRU and LSTM: direction,
 * layout, hidden_size, clip, the gate flags, and the activation functions
 * with their activation_alpha / activation_beta values.
 */
#include "ir/infer/recurrent_infer.h"

#include <string.h>

/* One activation ONNX lists: whether it reads alpha and beta, and the values
 * it takes when activation_alpha / activation_beta run out (those of the ONNX
 * operator of the same name; Affine and ScaledTanh default to identity
 * scaling). */
typedef struct act_info {
    const char *name;
    kiln_rnn_act_fn fn;
    int takes_alpha, takes_beta;
    float alpha, beta;
} act_info;

static const act_info act_table[] = {
    {"Relu", KILN_RNN_RELU, 0, 0, 0.0f, 0.0f},
    {"Tanh", KILN_RNN_TANH, 0, 0, 0.0f, 0.0f},
    {"Sigmoid", KILN_RNN_SIGMOID, 0, 0, 0.0f, 0.0f},
    {"Affine", KILN_RNN_AFFINE, 1, 1, 1.0f, 0.0f},
    {"LeakyRelu", KILN_RNN_LEAKY_RELU, 1, 0, 0.01f, 0.0f},
    {"ThresholdedRelu", KILN_RNN_THRESHOLDED_RELU, 1, 0, 1.0f, 0.0f},
    {"ScaledTanh", KILN_RNN_SCALED_TANH, 1, 1, 1.0f, 1.0f},
    {"HardSigmoid", KILN_RNN_HARD_SIGMOID, 1, 1, 0.2f, 0.5f},
    {"Elu", KILN_RNN_ELU, 1, 0, 1.0f, 0.0f},
    {"Softsign", KILN_RNN_SOFTSIGN, 0, 0, 0.0f, 0.0f},
    {"Softplus", KILN_RNN_SOFTPLUS, 0, 0, 0.0f, 0.0f},
};

/* The default activations of each op, per direction. */
static const kiln_rnn_act_fn default_acts[3][KILN_RNN_MAX_ACTS] = {
    [KILN_RNN_PLAIN] = {KILN_RNN_TANH},
    [KILN_RNN_GRU] = {KILN_RNN_SIGMOID, KILN_RNN_TANH},
    [KILN_RNN_LSTM] = {KILN_RNN_SIGMOID, KILN_RNN_TANH, KILN_RNN_TANH},
};

static int ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Activation names match without regard to case, as onnxruntime's do. */
static const act_info *find_act(const char *name)
{
    for (size_t k = 0; k < sizeof act_table / sizeof act_table[0]; k++) {
        const char *a = act_table[k].name, *b = name;
        while (*a && ascii_lower((unsigned char)*a) == ascii_lower((unsigned char)*b))
            a++, b++;
        if (!*a && !*b)
            return &act_table[k];
    }
    return NULL;
}

static const char *attr_type_name(kiln_attr_type type)
{
    static const char *const names[] = {"UNDEFINED", "FLOAT", "INT",     "STRING",  "TENSOR", "GRAPH",
                                        "FLOATS",    "INTS",  "STRINGS", "TENSORS", "GRAPHS"};
    return (int)type >= 0 && (int)type < (int)(sizeof names / sizeof names[0]) ? names[type] : "(invalid)";
}

/* Attribute `name` of the node, NULL when absent; a present one must have
 * the given type. */
static kiln_status get_attr(const kiln_op_ctx *ctx, const char *name, kiln_attr_type type, const kiln_attr **out)
{
    const kiln_attr *a = kiln_attr_find(ctx->node, name);
    *out = NULL;
    if (a && a->type != type)
        return kiln_error(KILN_ERR_PARSE, "%s attribute %s is of type %s, expected %s", ctx->node->op_type, name,
                          attr_type_name(a->type), attr_type_name(type));
    *out = a;
    return KILN_OK;
}

static kiln_status get_int(const kiln_op_ctx *ctx, const char *name, int64_t def, int64_t *out)
{
    const kiln_attr *a = NULL;
    KILN_TRY(get_attr(ctx, name, KILN_ATTR_INT, &a));
    *out = a ? a->i : def;
    return KILN_OK;
}

static kiln_status parse_direction(const kiln_op_ctx *ctx, kiln_rnn_params *p)
{
    const kiln_attr *a = NULL;
    KILN_TRY(get_attr(ctx, "direction", KILN_ATTR_STRING, &a));
    const char *d = a ? a->s : "forward";
    p->n_dirs = 1;
    p->reverse = 0;
    /* GRU-1's schema spells its default "foward" */
    if (strcmp(d, "forward") == 0 || (p->kind == KILN_RNN_GRU && ctx->opset < 3 && strcmp(d, "foward") == 0))
        return KILN_OK;
    if (strcmp(d, "reverse") == 0) {
        p->reverse = 1;
        return KILN_OK;
    }
    if (strcmp(d, "bidirectional") == 0) {
        p->n_dirs = 2;
        return KILN_OK;
    }
    return kiln_error(KILN_ERR_UNSUPPORTED,
                      "%s attribute direction='%s' is not supported (forward, reverse or bidirectional)",
                      ctx->node->op_type, d);
}

static void default_activations(kiln_rnn_params *p)
{
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < KILN_RNN_MAX_ACTS; k++) {
            p->acts[d][k].fn = default_acts[p->kind][k];
            p->acts[d][k].alpha = 0.0f;
            p->acts[d][k].beta = 0.0f;
        }
}

/* Takes the next value of activation_alpha / activation_beta when the
 * function reads one and values are left. */
static void take_value(const kiln_attr *vals, int64_t *next, int takes, float *out)
{
    if (takes && vals && *next < vals->n)
        *out = vals->floats[(*next)++];
}

/* activations lists n_acts functions per direction, forward first. The
 * activation_alpha / activation_beta values are consumed in that order by
 * the functions that read them (as onnxruntime does). */
static kiln_status parse_activations(const kiln_op_ctx *ctx, kiln_rnn_params *p)
{
    const kiln_attr *names = NULL, *alphas = NULL, *betas = NULL;
    KILN_TRY(get_attr(ctx, "activations", KILN_ATTR_STRINGS, &names));
    KILN_TRY(get_attr(ctx, "activation_alpha", KILN_ATTR_FLOATS, &alphas));
    KILN_TRY(get_attr(ctx, "activation_beta", KILN_ATTR_FLOATS, &betas));
    default_activations(p);
    if (!names)
        return KILN_OK;
    int need = p->n_acts * p->n_dirs;
    /* RNN's schema default lists Tanh twice: one direction takes the first */
    int rnn_pair = p->kind == KILN_RNN_PLAIN && p->n_dirs == 1 && names->n == 2;
    if (names->n != need && !rnn_pair)
        return kiln_error(KILN_ERR_UNSUPPORTED,
                          "%s attribute activations has %lld entries, expected %d (%d per direction)",
                          ctx->node->op_type, (long long)names->n, need, p->n_acts);
    int64_t next_alpha = 0, next_beta = 0;
    for (int k = 0; k < need; k++) {
        const act_info *info = find_act(names->strings[k]);
        if (!info)
            return kiln_error(KILN_ERR_UNSUPPORTED, "%s activation '%s' (activations[%d]) is not supported",
                              ctx->node->op_type, names->strings[k], k);
        kiln_rnn_act *act = &p->acts[k / p->n_acts][k % p->n_acts];
        act->fn = info->fn;
        act->alpha = info->alpha;
        act->beta = info->beta;
        take_value(alphas, &next_alpha, info->takes_alpha, &act->alpha);
        take_value(betas, &next_beta, info->takes_beta, &act->beta);
    }
    return KILN_OK;
}

static kiln_status parse_clip(const kiln_op_ctx *ctx, kiln_rnn_params *p)
{
    const kiln_attr *a = NULL;
    KILN_TRY(get_attr(ctx, "clip", KILN_ATTR_FLOAT, &a));
    p->has_clip = a != NULL;
    p->clip = a ? a->f : 0.0f;
    if (a && !(a->f > 0.0f))
        return kiln_error(KILN_ERR_UNSUPPORTED, "%s attribute clip=%g is not supported (a positive threshold)",
                          ctx->node->op_type, (double)a->f);
    return KILN_OK;
}

/* hidden_size, layout and the gate flags. hidden stays KILN_DIM_UNKNOWN
 * when the attribute is absent (the caller takes it from R). */
static kiln_status parse_ints(const kiln_op_ctx *ctx, kiln_rnn_params *p)
{
    const char *op = ctx->node->op_type;
    int64_t hidden = 0, layout = 0, input_forget = 0, lbr = 0;
    KILN_TRY(get_int(ctx, "hidden_size", KILN_DIM_UNKNOWN, &hidden));
    if (hidden != KILN_DIM_UNKNOWN && hidden <= 0)
        return kiln_error(KILN_ERR_UNSUPPORTED, "%s attribute hidden_size=%lld is not supported (a positive number)",
                          op, (long long)hidden);
    /* bounds n_gates * 2 * hidden_size well inside int64 */
    if (hidden > ((int64_t)1 << 40))
        return kiln_error(KILN_ERR_LIMIT, "%s attribute hidden_size=%lld is too large", op, (long long)hidden);
    p->hidden = hidden;
    p->hidden_from_attr = hidden != KILN_DIM_UNKNOWN;
    if (ctx->opset >= 14)
        KILN_TRY(get_int(ctx, "layout", 0, &layout));
    if (layout != 0 && layout != 1)
        return kiln_error(KILN_ERR_UNSUPPORTED, "%s attribute layout=%lld is not supported (0 or 1)", op,
                          (long long)layout);
    p->layout = (int)layout;
    if (p->kind == KILN_RNN_LSTM)
        KILN_TRY(get_int(ctx, "input_forget", 0, &input_forget));
    if (p->kind == KILN_RNN_GRU && ctx->opset >= 3)
        KILN_TRY(get_int(ctx, "linear_before_reset", 0, &lbr));
    p->input_forget = input_forget != 0;
    p->linear_before_reset = lbr != 0;
    return KILN_OK;
}

kiln_status kiln_rnn_parse_attrs(const kiln_op_ctx *ctx, kiln_rnn_params *p)
{
    const char *op = ctx->node->op_type;
    memset(p, 0, sizeof *p);
    p->seq = p->batch = p->input = KILN_DIM_UNKNOWN;
    if (strcmp(op, "LSTM") == 0) {
        p->kind = KILN_RNN_LSTM;
        p->n_gates = 4;
        p->n_acts = 3;
    } else if (strcmp(op, "GRU") == 0) {
        p->kind = KILN_RNN_GRU;
        p->n_gates = 3;
        p->n_acts = 2;
    } else if (strcmp(op, "RNN") == 0) {
        p->kind = KILN_RNN_PLAIN;
        p->n_gates = 1;
        p->n_acts = 1;
    } else {
        return kiln_error(KILN_ERR_INTERNAL, "op %s is not a recurrent op", op);
    }
    KILN_TRY(parse_direction(ctx, p));
    KILN_TRY(parse_ints(ctx, p));
    KILN_TRY(parse_clip(ctx, p));
    return parse_activations(ctx, p);
}
