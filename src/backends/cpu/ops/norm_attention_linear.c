/*
 * norm_attention_linear.c - CPU kernels for the recurrent ops of newer
 * opsets: LinearAttention (linear, gated, delta and gated_delta update
 * rules, grouped-query heads) and CausalConvWithState (depthwise causal
 * 1-D convolution with a carried state). Both run token by token, as the
 * ONNX definitions state them, in double on float64 copies of the inputs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/ops/norm_attention_kernels.h"

enum { LA_Q, LA_K, LA_V, LA_PAST, LA_DECAY, LA_BETA, LA_INPUTS };

static int is_recurrent_float(kiln_dtype dt)
{
    return dt == KILN_FLOAT16 || dt == KILN_BFLOAT16 || dt == KILN_FLOAT32;
}

/* ---- LinearAttention ------------------------------------------------------ */

typedef struct la_plan {
    int64_t batch, steps, q_heads, kv_heads, dk, dv;
    int gated, delta;
    int64_t decay_last, beta_last; /* last dims of decay and beta */
    double scale;
    double *in[LA_INPUTS]; /* float64 copies; NULL when absent */
} la_plan;

static kiln_status la_rule(const kiln_op_ctx *ctx, la_plan *p)
{
    const char *rule = kiln_attr_string(ctx->node, "update_rule", "gated_delta");
    if (strcmp(rule, "linear") && strcmp(rule, "gated") && strcmp(rule, "delta") && strcmp(rule, "gated_delta"))
        return kiln_error(KILN_ERR_UNSUPPORTED, "update_rule '%s' is not supported", rule);
    p->gated = strncmp(rule, "gated", 5) == 0;
    p->delta = strstr(rule, "delta") != NULL;
    if (p->gated != (kiln_opt_in(ctx, LA_DECAY) != NULL))
        return kiln_error(KILN_ERR_GRAPH, "update_rule '%s' %s the decay input", rule, p->gated ? "needs" : "forbids");
    if (p->delta != (kiln_opt_in(ctx, LA_BETA) != NULL))
        return kiln_error(KILN_ERR_GRAPH, "update_rule '%s' %s the beta input", rule, p->delta ? "needs" : "forbids");
    return KILN_OK;
}

static kiln_status la_heads(const kiln_op_ctx *ctx, la_plan *p)
{
    p->q_heads = kiln_attr_int(ctx->node, "q_num_heads", 0);
    p->kv_heads = kiln_attr_int(ctx->node, "kv_num_heads", 0);
    if (p->q_heads <= 0 || p->kv_heads <= 0 || p->q_heads % p->kv_heads != 0)
        return kiln_error(KILN_ERR_SHAPE, "q_num_heads (%lld) must be a positive multiple of kv_num_heads (%lld)",
                          (long long)p->q_heads, (long long)p->kv_heads);
    const kiln_tensor *q = ctx->in[LA_Q], *v = ctx->in[LA_V];
    if (q->rank != 3 || v->rank != 3)
        return kiln_error(KILN_ERR_SHAPE, "query and value must be 3-D (B, T, H * D)");
    if (q->dims[2] % p->q_heads != 0 || v->dims[2] % p->kv_heads != 0)
        return kiln_error(KILN_ERR_SHAPE, "hidden sizes must be multiples of the head counts");
    p->batch = q->dims[0];
    p->steps = q->dims[1];
    p->dk = q->dims[2] / p->q_heads;
    p->dv = v->dims[2] / p->kv_heads;
    return KILN_OK;
}

static kiln_status la_shapes(const kiln_op_ctx *ctx, la_plan *p)
{
    static const char *const names[] = {"query", "key", "value", "past_state", "decay", "beta"};
    for (int i = 0; i < ctx->n_in; i++)
        if (ctx->in[i] && !is_recurrent_float(ctx->in[i]->dtype))
            return kiln_unsupported_dtype(ctx, names[i], ctx->in[i]->dtype);
    KILN_TRY(la_rule(ctx, p));
    KILN_TRY(la_heads(ctx, p));
    int64_t b = p->batch, t = p->steps;
    const int64_t kdims[3] = {b, t, p->kv_heads * p->dk}, vdims[3] = {b, t, p->kv_heads * p->dv};
    const int64_t sdims[4] = {b, p->kv_heads, p->dk, p->dv};
    if (!kiln_has_shape(ctx->in[LA_K], 3, kdims) || !kiln_has_shape(ctx->in[LA_V], 3, vdims))
        return kiln_error(KILN_ERR_SHAPE, "key and value must be (%lld, %lld, %lld) and (%lld, %lld, %lld)",
                          (long long)b, (long long)t, (long long)kdims[2], (long long)b, (long long)t,
                          (long long)vdims[2]);
    const kiln_tensor *past = kiln_opt_in(ctx, LA_PAST), *decay = kiln_opt_in(ctx, LA_DECAY),
                      *beta = kiln_opt_in(ctx, LA_BETA);
    if (past && !kiln_has_shape(past, 4, sdims))
        return kiln_error(KILN_ERR_SHAPE, "past_state must be (%lld, %lld, %lld, %lld)", (long long)b,
                          (long long)p->kv_heads, (long long)p->dk, (long long)p->dv);
    if (decay) {
        p->decay_last = decay->rank == 3 ? decay->dims[2] : -1;
        const int64_t ddims[3] = {b, t, p->decay_last};
        if (!kiln_has_shape(decay, 3, ddims) || (p->decay_last != p->kv_heads && p->decay_last != p->kv_heads * p->dk))
            return kiln_error(KILN_ERR_SHAPE, "decay must be (%lld, %lld, kv_num_heads or kv_num_heads * d_k)",
                              (long long)b, (long long)t);
    }
    if (beta) {
        p->beta_last = beta->rank == 3 ? beta->dims[2] : -1;
        const int64_t bdims[3] = {b, t, p->beta_last};
        if (!kiln_has_shape(beta, 3, bdims) || (p->beta_last != p->kv_heads && p->beta_last != 1))
            return kiln_error(KILN_ERR_SHAPE, "beta must be (%lld, %lld, kv_num_heads or 1)", (long long)b,
                              (long long)t);
    }
    double scale = kiln_attr_float(ctx->node, "scale", 0.0f);
    p->scale = scale == 0 ? 1.0 / sqrt((double)p->dk) : scale;
    return KILN_OK;
}

/* One token of one key/value head: decays and updates the state s (dk x dv),
 * k the key row, v the value row (overwritten with the delta-corrected one). */
static void la_update(const la_plan *p, double *s, const double *k, double *v, const double *decay, double beta)
{
    int64_t dk = p->dk, dv = p->dv;
    if (p->gated)
        for (int64_t d = 0; d < dk; d++) {
            double g = exp(decay[p->decay_last == p->kv_heads ? 0 : d]);
            for (int64_t m = 0; m < dv; m++)
                s[d * dv + m] *= g;
        }
    if (p->delta)
        /* v <- beta * (v - S^T k) */
        for (int64_t m = 0; m < dv; m++) {
            double r = 0;
            for (int64_t d = 0; d < dk; d++)
                r += s[d * dv + m] * k[d];
            v[m] = beta * (v[m] - r);
        }
    for (int64_t d = 0; d < dk; d++)
        for (int64_t m = 0; m < dv; m++)
            s[d * dv + m] += k[d] * v[m];
}

/* The recurrence over every batch, head and token; state: (B, Hkv, dk, dv). */
static void la_run(const la_plan *p, double *state, double *vrow, double *out)
{
    int64_t hq = p->q_heads, hkv = p->kv_heads, dk = p->dk, dv = p->dv, group = hq / hkv;
    for (int64_t b = 0; b < p->batch; b++)
        for (int64_t h = 0; h < hkv; h++) {
            double *s = state + (b * hkv + h) * dk * dv;
            for (int64_t t = 0; t < p->steps; t++) {
                int64_t bt = b * p->steps + t;
                const double *k = p->in[LA_K] + (bt * hkv + h) * dk;
                memcpy(vrow, p->in[LA_V] + (bt * hkv + h) * dv, (size_t)dv * sizeof(double));
                const double *decay =
                    p->gated ? p->in[LA_DECAY] + bt * p->decay_last + (p->decay_last == hkv ? h : h * dk) : NULL;
                double beta = p->delta ? p->in[LA_BETA][bt * p->beta_last + (p->beta_last == 1 ? 0 : h)] : 0;
                la_update(p, s, k, vrow, decay, beta);
                /* every query head of the group reads the updated state */
                for (int64_t g = 0; g < group; g++) {
                    int64_t qh = h * group + g;
                    const double *q = p->in[LA_Q] + (bt * hq + qh) * dk;
                    double *o = out + (bt * hq + qh) * dv;
                    for (int64_t m = 0; m < dv; m++) {
                        double acc = 0;
                        for (int64_t d = 0; d < dk; d++)
                            acc += q[d] * s[d * dv + m];
                        o[m] = p->scale * acc;
                    }
                }
            }
        }
}

kiln_status kiln_na_linear_attention(kiln_op_ctx *ctx)
{
    la_plan p = {0};
    KILN_TRY(la_shapes(ctx, &p));
    double *state = NULL, *out = NULL, *vrow = NULL;
    int64_t n_state = p.batch * p.kv_heads * p.dk * p.dv, n_out = kiln_tensor_numel(ctx->out[0]);
    kiln_status st = KILN_OK;
    for (int i = 0; i < LA_INPUTS && st == KILN_OK; i++)
        if (kiln_opt_in(ctx, i) && i != LA_PAST)
            st = kiln_to_f64(ctx->in[i], ctx->max_bytes, &p.in[i]);
    if (st == KILN_OK && kiln_opt_in(ctx, LA_PAST))
        st = kiln_to_f64(ctx->in[LA_PAST], ctx->max_bytes, &state);
    else if (st == KILN_OK)
        state = calloc((size_t)(n_state ? n_state : 1), sizeof(double));
    out = calloc((size_t)(n_out > 0 ? n_out : 1), sizeof(double));
    vrow = calloc((size_t)(p.dv ? p.dv : 1), sizeof(double));
    if (st == KILN_OK && (!state || !out || !vrow))
        st = kiln_error(KILN_ERR_OUT_OF_MEMORY, "cannot allocate LinearAttention state");
    if (st == KILN_OK) {
        la_run(&p, state, vrow, out);
        kiln_from_f64(ctx->out[0], out, n_out);
        if (ctx->n_out > 1 && ctx->out[1])
            kiln_from_f64(ctx->out[1], state, n_state);
    }
    for (int i = 0; i < LA_INPUTS; i++)
        free(p.in[i]);
    free(state);
    free(out);
    free(vrow);
    return st;
}

/* ---- CausalConvWithState ------------------------------------------------ */

static kiln_status cc_check(const kiln_op_ctx *ctx, int64_t *b, int64_t *c, int64_t *len, int64_t *k)
{
    static const char *const names[] = {"input", "weight", "bias", "past_state"};
    for (int i = 0; i < ctx->n_in; i++)
        if (ctx->in[i] && !is_recurrent_float(ctx->in[i]->dtype))
            return kiln_unsupported_dtype(ctx, names[i], ctx->in[i]->dtype);
    const kiln_tensor *x = ctx->in[0], *w = ctx->in[1], *bias = kiln_opt_in(ctx, 2), *past = kiln_opt_in(ctx, 3);
    if (x->rank != 3 || w->rank != 3)
        return kiln_error(KILN_ERR_SHAPE, "input (B, C, L) and weight (C, 1, k) must be 3-D");
    *b = x->dims[0], *c = x->dims[1], *len = x->dims[2], *k = w->dims[2];
    const int64_t wdims[3] = {*c, 1, *k}, sdims[3] = {*b, *c, *k - 1};
    if (!kiln_has_shape(w, 3, wdims) || *k < 1)
        return kiln_error(KILN_ERR_SHAPE, "weight must be (%lld, 1, k) with k >= 1", (long long)*c);
    if (bias && !kiln_has_shape(bias, 1, c))
        return kiln_error(KILN_ERR_SHAPE, "bias must have %lld elements", (long long)*c);
    if (past && !kiln_has_shape(past, 3, sdims))
        return kiln_error(KILN_ERR_SHAPE, "past_state must be (%lld, %lld, %lld)", (long long)*b, (long long)*c,
                          (long long)(*k - 1));
    const char *act = kiln_attr_string(ctx->node, "activation", "none");
    if (strcmp(act, "none") && strcmp(act, "silu") && strcmp(act, "swish"))
        return kiln_error(KILN_ERR_UNSUPPORTED, "activation '%s' is not supported", act);
    return KILN_OK;
}

/* Fills padded (C rows of k - 1 + len) for batch b: past state (or zeros)
 * followed by the input. */
static void cc_pad(const kiln_op_ctx *ctx, int64_t b, int64_t c, int64_t len, int64_t k, double *padded)
{
    const kiln_tensor *x = ctx->in[0], *past = kiln_opt_in(ctx, 3);
    int64_t plen = len + k - 1;
    for (int64_t ch = 0; ch < c; ch++) {
        double *row = padded + ch * plen;
        for (int64_t j = 0; j < k - 1; j++)
            row[j] = past ? kiln_load_f64(past->data, past->dtype, (size_t)((b * c + ch) * (k - 1) + j)) : 0;
        for (int64_t j = 0; j < len; j++)
            row[k - 1 + j] = kiln_load_f64(x->data, x->dtype, (size_t)((b * c + ch) * len + j));
    }
}

kiln_status kiln_na_causal_conv(kiln_op_ctx *ctx)
{
    int64_t nb = 0, c = 0, len = 0, k = 0;
    KILN_TRY(cc_check(ctx, &nb, &c, &len, &k));
    const kiln_tensor *w = ctx->in[1], *bias = kiln_opt_in(ctx, 2);
    kiln_tensor *y = ctx->out[0], *present = ctx->n_out > 1 ? ctx->out[1] : NULL;
    int silu = strcmp(kiln_attr_string(ctx->node, "activation", "none"), "none") != 0;
    int64_t plen = len + k - 1;
    double *padded;
    KILN_TRY(kiln_alloc_elems(KILN_FLOAT64, c * plen, ctx->max_bytes, "padded input", (void **)&padded));
    for (int64_t b = 0; b < nb; b++) {
        cc_pad(ctx, b, c, len, k, padded);
        for (int64_t ch = 0; ch < c; ch++) {
            const double *row = padded + ch * plen;
            for (int64_t t = 0; t < len; t++) {
                double acc = bias ? kiln_load_f64(bias->data, bias->dtype, (size_t)ch) : 0;
                for (int64_t j = 0; j < k; j++)
                    acc += kiln_load_f64(w->data, w->dtype, (size_t)(ch * k + j)) * row[t + j];
                size_t at = (size_t)((b * c + ch) * len + t);
                kiln_store_f64(y->data, y->dtype, at, acc);
                /* the activation sees the convolution rounded to the output type, as in ONNX */
                if (silu) {
                    acc = kiln_load_f64(y->data, y->dtype, at);
                    kiln_store_f64(y->data, y->dtype, at, acc / (1.0 + exp(-acc)));
                }
            }
            /* present state: the last k - 1 positions of the padded sequence */
            for (int64_t j = 0; present && j < k - 1; j++)
                kiln_store_f64(present->data, present->dtype, (size_t)((b * c + ch) * (k - 1) + j), row[len + j]);
        }
    }
    free(padded);
    return KILN_OK;
}
