/*
 * norm_attention_attn.c - shape inference for the attention-like ops of the
 * norm_attention family: Attention, RotaryEmbedding, LinearAttention and
 * CausalConvWithState. The table is in norm_attention.c.
 */
#include <string.h>

#include "core/dtype.h"
#include "ir/infer/norm_attention_infer.h"

/* Input i is present, of a float type (or one not known yet) and, when its
 * rank is known, of rank lo..hi. */
static kiln_status need_float_rank(const kiln_op_ctx *ctx, int i, const char *what, int lo, int hi)
{
    KILN_TRY(kiln_need_input(ctx, i));
    const kiln_tensor *t = ctx->in[i];
    if (t->dtype != KILN_UNDEFINED && !kiln_is_std_float(t->dtype))
        return kiln_unsupported_dtype(ctx, what, t->dtype);
    if (t->rank >= 0 && (t->rank < lo || t->rank > hi))
        return kiln_error(KILN_ERR_SHAPE, "%s has rank %d, expected %d..%d", what, t->rank, lo, hi);
    return KILN_OK;
}

/* Known extents a and b (>= 0) must agree; unknown ones pass. */
static kiln_status need_same_dim(int64_t a, int64_t b, const char *what)
{
    if (a >= 0 && b >= 0 && a != b)
        return kiln_error(KILN_ERR_SHAPE, "%s: %lld vs %lld", what, (long long)a, (long long)b);
    return KILN_OK;
}

/* dim / heads, or unknown; a known dim must divide evenly. */
static kiln_status split_heads(int64_t dim, int64_t heads, const char *what, int64_t *out)
{
    *out = KILN_DIM_UNKNOWN;
    if (dim < 0)
        return KILN_OK;
    if (dim % heads != 0)
        return kiln_error(KILN_ERR_SHAPE, "%s %lld is not a multiple of %lld heads", what, (long long)dim,
                          (long long)heads);
    *out = dim / heads;
    return KILN_OK;
}

/* A required positive int attribute (a head count). */
static kiln_status head_attr(const kiln_op_ctx *ctx, const char *name, int64_t *out)
{
    const kiln_attr *a = kiln_attr_find(ctx->node, name);
    *out = 0;
    if (!a || a->type != KILN_ATTR_INT)
        return kiln_error(KILN_ERR_GRAPH, "attribute %s (int) is required", name);
    if (a->i <= 0)
        return kiln_error(KILN_ERR_SHAPE, "%s must be positive, got %lld", name, (long long)a->i);
    *out = a->i;
    return KILN_OK;
}

/* Sizes of an Attention node, KILN_DIM_UNKNOWN where not known. */
typedef struct attn_dims {
    int rank; /* of Q, K and V: 3 or 4 */
    int64_t batch, q_heads, kv_heads, q_seq, kv_seq, past_seq, head, v_head;
} attn_dims;

static kiln_status attn_dims_4d(const kiln_op_ctx *ctx, attn_dims *d)
{
    const kiln_tensor *q = ctx->in[0], *k = ctx->in[1], *v = ctx->in[2];
    d->batch = q->dims[0];
    d->q_heads = q->dims[1];
    d->q_seq = q->dims[2];
    d->head = q->dims[3];
    d->kv_heads = k->dims[1];
    d->kv_seq = k->dims[2];
    d->v_head = v->dims[3];
    KILN_TRY(need_same_dim(k->dims[0], q->dims[0], "K and Q batch sizes differ"));
    KILN_TRY(need_same_dim(v->dims[0], q->dims[0], "V and Q batch sizes differ"));
    KILN_TRY(need_same_dim(k->dims[3], d->head, "K and Q head sizes differ"));
    KILN_TRY(need_same_dim(v->dims[1], d->kv_heads, "V and K head counts differ"));
    return need_same_dim(v->dims[2], d->kv_seq, "V and K sequence lengths differ");
}

static kiln_status attn_dims_3d(const kiln_op_ctx *ctx, attn_dims *d)
{
    const kiln_tensor *q = ctx->in[0], *k = ctx->in[1], *v = ctx->in[2];
    KILN_TRY(head_attr(ctx, "q_num_heads", &d->q_heads));
    KILN_TRY(head_attr(ctx, "kv_num_heads", &d->kv_heads));
    d->batch = q->dims[0];
    d->q_seq = q->dims[1];
    d->kv_seq = k->dims[1];
    int64_t k_head;
    KILN_TRY(split_heads(q->dims[2], d->q_heads, "Q hidden size", &d->head));
    KILN_TRY(split_heads(k->dims[2], d->kv_heads, "K hidden size", &k_head));
    KILN_TRY(split_heads(v->dims[2], d->kv_heads, "V hidden size", &d->v_head));
    KILN_TRY(need_same_dim(k_head, d->head, "K and Q head sizes differ"));
    KILN_TRY(need_same_dim(k->dims[0], q->dims[0], "K and Q batch sizes differ"));
    KILN_TRY(need_same_dim(v->dims[0], q->dims[0], "V and Q batch sizes differ"));
    return need_same_dim(v->dims[1], d->kv_seq, "V and K sequence lengths differ");
}

/* past_key (B, Hkv, P, head) and past_value (B, Hkv, P, v_head). */
static kiln_status attn_past(const kiln_op_ctx *ctx, attn_dims *d)
{
    const kiln_tensor *pk = kiln_opt_in(ctx, 4), *pv = kiln_opt_in(ctx, 5);
    d->past_seq = 0;
    if (!pk && !pv)
        return KILN_OK;
    if (!pk || !pv)
        return kiln_error(KILN_ERR_GRAPH, "past_key and past_value must be given together");
    if (kiln_opt_in(ctx, 6))
        return kiln_error(KILN_ERR_GRAPH, "nonpad_kv_seqlen cannot be used with past_key / past_value");
    KILN_TRY(need_float_rank(ctx, 4, "past_key", 4, 4));
    KILN_TRY(need_float_rank(ctx, 5, "past_value", 4, 4));
    d->past_seq = KILN_DIM_UNKNOWN;
    if (pk->rank < 0 || pv->rank < 0)
        return KILN_OK;
    KILN_TRY(need_same_dim(pk->dims[0], d->batch, "past_key and Q batch sizes differ"));
    KILN_TRY(need_same_dim(pv->dims[0], d->batch, "past_value and Q batch sizes differ"));
    KILN_TRY(need_same_dim(pk->dims[1], d->kv_heads, "past_key and K head counts differ"));
    KILN_TRY(need_same_dim(pv->dims[1], d->kv_heads, "past_value and K head counts differ"));
    KILN_TRY(need_same_dim(pk->dims[3], d->head, "past_key and K head sizes differ"));
    KILN_TRY(need_same_dim(pv->dims[3], d->v_head, "past_value and V head sizes differ"));
    KILN_TRY(need_same_dim(pv->dims[2], pk->dims[2], "past_value and past_key lengths differ"));
    d->past_seq = pk->dims[2] >= 0 ? pk->dims[2] : pv->dims[2];
    return KILN_OK;
}

/* attn_mask must broadcast to (B, Hq, Sq, total) with a last dim of at most total. */
static kiln_status attn_mask_check(const kiln_op_ctx *ctx, const attn_dims *d, int64_t total)
{
    const kiln_tensor *m = kiln_opt_in(ctx, 3);
    if (!m || m->rank < 0)
        return KILN_OK;
    if (m->rank < 1 || m->rank > 4)
        return kiln_error(KILN_ERR_SHAPE, "attn_mask has rank %d, expected 1..4", m->rank);
    if (m->dtype == KILN_STRING)
        return kiln_unsupported_dtype(ctx, "attn_mask", m->dtype);
    const int64_t target[4] = {d->batch, d->q_heads, d->q_seq, total};
    int64_t last = m->dims[m->rank - 1];
    if (last >= 0 && total >= 0 && last > total)
        return kiln_error(KILN_ERR_SHAPE, "attn_mask's last dim %lld exceeds the total sequence length %lld",
                          (long long)last, (long long)total);
    for (int k = 0; k < m->rank - 1; k++) {
        int64_t md = m->dims[k], td = target[4 - m->rank + k];
        if (md >= 0 && td >= 0 && md != 1 && md != td)
            return kiln_error(KILN_ERR_SHAPE, "attn_mask dim %d is %lld, which does not broadcast to %lld", k,
                              (long long)md, (long long)td);
    }
    return KILN_OK;
}

static kiln_status attn_attrs_check(const kiln_op_ctx *ctx)
{
    int64_t mode = kiln_attr_int(ctx->node, "qk_matmul_output_mode", 0);
    if (mode < 0 || mode > 3)
        return kiln_error(KILN_ERR_UNSUPPORTED, "qk_matmul_output_mode %lld is not supported", (long long)mode);
    const kiln_attr *sp = kiln_attr_find(ctx->node, "softmax_precision");
    if (sp && (sp->type != KILN_ATTR_INT || !kiln_is_std_float((kiln_dtype)sp->i)))
        return kiln_error(KILN_ERR_UNSUPPORTED, "softmax_precision %lld is not supported", (long long)sp->i);
    if (kiln_attr_int(ctx->node, "left_window_size", -1) < -1 || kiln_attr_int(ctx->node, "right_window_size", -1) < -1)
        return kiln_error(KILN_ERR_SHAPE, "left_window_size and right_window_size must be -1 or nonnegative");
    const kiln_tensor *np = kiln_opt_in(ctx, 6);
    if (np && np->dtype != KILN_UNDEFINED && np->dtype != KILN_INT64)
        return kiln_unsupported_dtype(ctx, "nonpad_kv_seqlen", np->dtype);
    if (np && np->rank >= 0 && np->rank != 1)
        return kiln_error(KILN_ERR_SHAPE, "nonpad_kv_seqlen must be 1-D, got rank %d", np->rank);
    return KILN_OK;
}

static void attn_set_outputs(kiln_op_ctx *ctx, const attn_dims *d, int64_t total)
{
    kiln_dtype qt = ctx->in[0]->dtype, kt = ctx->in[1]->dtype, vt = ctx->in[2]->dtype;
    if (d->rank == 3) {
        int64_t y3[3] = {d->batch, d->q_seq, kiln_dim_mul(d->q_heads, d->v_head)};
        kiln_infer_set(ctx, 0, qt, 3, y3);
    } else {
        int64_t y4[4] = {d->batch, d->q_heads, d->q_seq, d->v_head};
        kiln_infer_set(ctx, 0, qt, 4, y4);
    }
    int64_t pk[4] = {d->batch, d->kv_heads, total, d->head};
    int64_t pv[4] = {d->batch, d->kv_heads, total, d->v_head};
    int64_t qk[4] = {d->batch, d->q_heads, d->q_seq, total};
    kiln_infer_set(ctx, 1, kt, 4, pk);
    kiln_infer_set(ctx, 2, vt, 4, pv);
    kiln_infer_set(ctx, 3, qt, 4, qk);
}

kiln_status kiln_na_infer_attention(kiln_op_ctx *ctx)
{
    KILN_TRY(need_float_rank(ctx, 0, "Q", 3, 4));
    KILN_TRY(need_float_rank(ctx, 1, "K", 3, 4));
    KILN_TRY(need_float_rank(ctx, 2, "V", 3, 4));
    KILN_TRY(attn_attrs_check(ctx));
    const kiln_tensor *q = ctx->in[0], *k = ctx->in[1], *v = ctx->in[2];
    if (q->rank < 0 || k->rank < 0 || v->rank < 0) {
        static const int64_t unknown[4] = {KILN_DIM_UNKNOWN, KILN_DIM_UNKNOWN, KILN_DIM_UNKNOWN, KILN_DIM_UNKNOWN};
        kiln_infer_set(ctx, 0, q->dtype, -1, NULL);
        kiln_infer_set(ctx, 1, k->dtype, 4, unknown);
        kiln_infer_set(ctx, 2, v->dtype, 4, unknown);
        kiln_infer_set(ctx, 3, q->dtype, 4, unknown);
        return KILN_OK;
    }
    if (q->rank != k->rank || q->rank != v->rank)
        return kiln_error(KILN_ERR_SHAPE, "Q, K and V must have one rank, got %d, %d and %d", q->rank, k->rank,
                          v->rank);
    attn_dims d = {.rank = q->rank};
    KILN_TRY(q->rank == 4 ? attn_dims_4d(ctx, &d) : attn_dims_3d(ctx, &d));
    if (d.q_heads >= 0 && d.kv_heads > 0 && d.q_heads % d.kv_heads != 0)
        return kiln_error(KILN_ERR_SHAPE, "q_num_heads %lld is not a multiple of kv_num_heads %lld",
                          (long long)d.q_heads, (long long)d.kv_heads);
    if (d.kv_heads == 0)
        return kiln_error(KILN_ERR_SHAPE, "K has no heads");
    KILN_TRY(attn_past(ctx, &d));
    if (d.past_seq > INT64_MAX / 4 || d.kv_seq > INT64_MAX / 4)
        return kiln_error(KILN_ERR_LIMIT, "the key sequence is too long");
    /* without a past, the total length is K's (keeping a symbolic dim) */
    int64_t total = d.past_seq == 0 ? d.kv_seq : kiln_dim_add(d.past_seq, d.kv_seq);
    KILN_TRY(attn_mask_check(ctx, &d, total));
    const kiln_tensor *np = kiln_opt_in(ctx, 6);
    if (np && np->rank == 1)
        KILN_TRY(need_same_dim(np->dims[0], d.batch, "nonpad_kv_seqlen and Q batch sizes differ"));
    attn_set_outputs(ctx, &d, total);
    return KILN_OK;
}

/* ---- RotaryEmbedding ------------------------------------------------- */

kiln_status kiln_na_infer_rotary(kiln_op_ctx *ctx)
{
    KILN_TRY(need_float_rank(ctx, 0, "X", 3, 4));
    KILN_TRY(need_float_rank(ctx, 1, "cos_cache", 2, 3));
    KILN_TRY(need_float_rank(ctx, 2, "sin_cache", 2, 3));
    const kiln_tensor *x = ctx->in[0], *cs = ctx->in[1], *sn = ctx->in[2], *pos = kiln_opt_in(ctx, 3);
    if (pos && pos->dtype != KILN_UNDEFINED && pos->dtype != KILN_INT64)
        return kiln_unsupported_dtype(ctx, "position_ids", pos->dtype);
    int want = pos ? 2 : 3;
    if ((cs->rank >= 0 && cs->rank != want) || (sn->rank >= 0 && sn->rank != want))
        return kiln_error(KILN_ERR_SHAPE, "cos_cache and sin_cache must have rank %d %s position_ids", want,
                          pos ? "with" : "without");
    if (pos && pos->rank >= 0 && pos->rank != 2)
        return kiln_error(KILN_ERR_SHAPE, "position_ids must be 2-D, got rank %d", pos->rank);
    int64_t heads = 0, head = KILN_DIM_UNKNOWN;
    if (x->rank == 4)
        head = x->dims[3];
    if (x->rank == 3) {
        KILN_TRY(head_attr(ctx, "num_heads", &heads));
        KILN_TRY(split_heads(x->dims[2], heads, "hidden size", &head));
    }
    int64_t rot = kiln_attr_int(ctx->node, "rotary_embedding_dim", 0);
    if (rot < 0 || (head >= 0 && rot > head) || rot % 2 != 0)
        return kiln_error(KILN_ERR_SHAPE, "rotary_embedding_dim %lld is invalid for head size %lld", (long long)rot,
                          (long long)head);
    if (rot == 0 && head >= 0 && head % 2 != 0)
        return kiln_error(KILN_ERR_SHAPE, "head size %lld must be even", (long long)head);
    int64_t half = rot > 0 ? rot / 2 : head >= 0 ? head / 2 : KILN_DIM_UNKNOWN;
    if (cs->rank >= 1)
        KILN_TRY(need_same_dim(cs->dims[cs->rank - 1], half, "cos_cache's last dim is not rotary dim / 2"));
    if (sn->rank >= 1)
        KILN_TRY(need_same_dim(sn->dims[sn->rank - 1], half, "sin_cache's last dim is not rotary dim / 2"));
    kiln_infer_copy(ctx, 0, 0);
    return KILN_OK;
}

/* ---- LinearAttention -------------------------------------------------- */

static int is_half_or_float(kiln_dtype dt)
{
    return dt == KILN_UNDEFINED || dt == KILN_FLOAT16 || dt == KILN_BFLOAT16 || dt == KILN_FLOAT32;
}

/* The update rule's need for decay (gated) and beta (delta). */
static kiln_status linear_rule(const kiln_op_ctx *ctx, int *gated, int *delta)
{
    const char *rule = kiln_attr_string(ctx->node, "update_rule", "gated_delta");
    if (strcmp(rule, "linear") && strcmp(rule, "gated") && strcmp(rule, "delta") && strcmp(rule, "gated_delta"))
        return kiln_error(KILN_ERR_UNSUPPORTED, "update_rule '%s' is not supported", rule);
    *gated = strncmp(rule, "gated", 5) == 0;
    *delta = strstr(rule, "delta") != NULL;
    if (*gated != (kiln_opt_in(ctx, 4) != NULL))
        return kiln_error(KILN_ERR_GRAPH, "update_rule '%s' %s the decay input", rule, *gated ? "needs" : "forbids");
    if (*delta != (kiln_opt_in(ctx, 5) != NULL))
        return kiln_error(KILN_ERR_GRAPH, "update_rule '%s' %s the beta input", rule, *delta ? "needs" : "forbids");
    return KILN_OK;
}

kiln_status kiln_na_infer_linear_attention(kiln_op_ctx *ctx)
{
    static const char *const names[] = {"query", "key", "value", "past_state", "decay", "beta"};
    for (int i = 0; i < ctx->n_in; i++) {
        const kiln_tensor *t = ctx->in[i];
        if (!t)
            continue;
        if (!is_half_or_float(t->dtype))
            return kiln_unsupported_dtype(ctx, names[i], t->dtype);
        int want = i == 3 ? 4 : 3;
        if (t->rank >= 0 && t->rank != want)
            return kiln_error(KILN_ERR_SHAPE, "%s must have rank %d, got %d", names[i], want, t->rank);
    }
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(kiln_need_input(ctx, 1));
    KILN_TRY(kiln_need_input(ctx, 2));
    int gated, delta;
    KILN_TRY(linear_rule(ctx, &gated, &delta));
    int64_t hq, hkv;
    KILN_TRY(head_attr(ctx, "q_num_heads", &hq));
    KILN_TRY(head_attr(ctx, "kv_num_heads", &hkv));
    if (hq % hkv != 0)
        return kiln_error(KILN_ERR_SHAPE, "q_num_heads %lld is not a multiple of kv_num_heads %lld", (long long)hq,
                          (long long)hkv);
    const kiln_tensor *q = ctx->in[0], *v = ctx->in[2], *past = kiln_opt_in(ctx, 3);
    int64_t dk = KILN_DIM_UNKNOWN, dv = KILN_DIM_UNKNOWN, b = KILN_DIM_UNKNOWN, t = KILN_DIM_UNKNOWN;
    if (q->rank == 3) {
        KILN_TRY(split_heads(q->dims[2], hq, "query hidden size", &dk));
        b = q->dims[0];
        t = q->dims[1];
    }
    if (v->rank == 3)
        KILN_TRY(split_heads(v->dims[2], hkv, "value hidden size", &dv));
    int64_t out[3] = {b, t, kiln_dim_mul(hq, dv)};
    int64_t state[4] = {b, hkv, dk, dv};
    kiln_infer_set(ctx, 0, q->dtype, q->rank < 0 ? -1 : 3, out);
    kiln_infer_set(ctx, 1, past ? past->dtype : q->dtype, 4, state);
    return KILN_OK;
}

/* ---- CausalConvWithState ---------------------------------------------- */

kiln_status kiln_na_infer_causal_conv(kiln_op_ctx *ctx)
{
    static const char *const names[] = {"input", "weight", "bias", "past_state"};
    for (int i = 0; i < ctx->n_in; i++) {
        const kiln_tensor *t = ctx->in[i];
        if (t && !is_half_or_float(t->dtype))
            return kiln_unsupported_dtype(ctx, names[i], t->dtype);
        int want = i == 2 ? 1 : 3;
        if (t && t->rank >= 0 && t->rank != want)
            return kiln_error(KILN_ERR_SHAPE, "%s must have rank %d, got %d", names[i], want, t->rank);
    }
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(kiln_need_input(ctx, 1));
    const char *act = kiln_attr_string(ctx->node, "activation", "none");
    if (strcmp(act, "none") && strcmp(act, "silu") && strcmp(act, "swish"))
        return kiln_error(KILN_ERR_UNSUPPORTED, "activation '%s' is not supported", act);
    const kiln_tensor *x = ctx->in[0], *w = ctx->in[1];
    int64_t b = x->rank == 3 ? x->dims[0] : KILN_DIM_UNKNOWN, c = x->rank == 3 ? x->dims[1] : KILN_DIM_UNKNOWN;
    int64_t k = w->rank == 3 ? w->dims[2] : KILN_DIM_UNKNOWN;
    if (w->rank == 3) {
        KILN_TRY(need_same_dim(w->dims[0], c, "weight's channels differ from input's"));
        KILN_TRY(need_same_dim(w->dims[1], 1, "weight's second dim must be 1"));
        if (k == 0)
            return kiln_error(KILN_ERR_SHAPE, "the kernel size must be positive");
    }
    kiln_infer_copy(ctx, 0, 0);
    int64_t state[3] = {b, c, k >= 1 ? k - 1 : KILN_DIM_UNKNOWN};
    kiln_infer_set(ctx, 1, x->dtype, 3, state);
    return KILN_OK;
}
