/*
 * pass_fuse_attention.c - fuses scaled dot-product attention written out as
 * exporters do into ONNX Attention (opset 23) on 4-D Q, K, V:
 *   S = MatMul(Q, K^T)                      Q: (b, h, sq, d)
 *   S = Div(S, c) or Mul(S, c)              c: a scalar constant (optional)
 *   S = Add(S, mask)                        mask: additive, (.., skv) (optional)
 *   Y = MatMul(Softmax(S, last axis), V)    V: (b, h, skv, dv)
 * becomes Y = Attention(Q, K, V, mask, scale = 1 / c or c). K^T is a
 * Transpose: with perm (0, 2, 3, 1) of (b, skv, h, d) it is rewritten to
 * perm (0, 2, 1, 3), giving K as (b, h, skv, d); with perm (0, 1, 3, 2) of K
 * it is dropped. Batch and head counts must agree (no broadcasting), and
 * every score tensor must be (b, h, sq, skv) with these dims known. The
 * output Transpose / Reshape back to (b, sq, h * dv) stay as they were.
 * A mask row of all -inf gives zeros in Attention where Softmax gave NaN.
 */
#include <math.h>
#include <string.h>

#include "passes/pattern_match.h"

#define ATTN_MIN_OPSET 23

typedef struct attn_match {
    kiln_pm_chain c;
    int q, k, v, mask;
    int kt;           /* the Transpose producing K^T */
    int kt_from_bshd; /* its perm is (0, 2, 3, 1): rewritten, not dropped */
    double scale;
} attn_match;

static int has_perm(const kiln_node *n, const int64_t *want)
{
    const int64_t *perm;
    int64_t count;
    if (!kiln_attr_ints(n, "perm", &perm, &count) || count != 4)
        return 0;
    return memcmp(perm, want, sizeof(int64_t) * 4) == 0;
}

/* The Transpose making K^T (private to the MatMul qk); sets k. */
static int match_kt(const kiln_graph *g, const kiln_uses *u, int kt_value, int qk, attn_match *m)
{
    static const int64_t from_bshd[4] = {0, 2, 3, 1}, from_bhsd[4] = {0, 1, 3, 2};
    m->kt = kiln_pm_producer(g, kt_value, "Transpose");
    if (m->kt < 0 || kiln_pm_reader(g, u, kt_value, "MatMul") != qk)
        return 0;
    const kiln_node *t = &g->nodes[m->kt];
    m->kt_from_bshd = has_perm(t, from_bshd);
    if (!m->kt_from_bshd && !has_perm(t, from_bhsd))
        return 0;
    m->k = m->kt_from_bshd ? kt_value : t->inputs[0];
    if (!m->kt_from_bshd)
        kiln_pm_push(&m->c, m->kt);
    return g->values[t->inputs[0]].rank == 4;
}

/* The MatMul(Q, K^T) producing v, private to reader; sets q and k. */
static int match_qk(const kiln_graph *g, const kiln_uses *u, int v, int reader, attn_match *m)
{
    int qk = kiln_pm_producer(g, v, "MatMul");
    if (qk < 0 || kiln_pm_reader(g, u, v, NULL) != reader || g->nodes[qk].inputs[0] == g->nodes[qk].inputs[1] ||
        !match_kt(g, u, g->nodes[qk].inputs[1], qk, m))
        return 0;
    kiln_pm_push(&m->c, qk);
    m->q = g->nodes[qk].inputs[0];
    return 1;
}

/* The scores v, private to reader: MatMul(Q, K^T), or that divided or
 * multiplied by a scalar constant. Sets scale. */
static int match_scores(const kiln_graph *g, const kiln_uses *u, int v, int reader, attn_match *m)
{
    int p = kiln_pm_producer(g, v, NULL), s = -1;
    double c = 0;
    m->scale = 1.0;
    if (p < 0 || kiln_pm_reader(g, u, v, NULL) != reader)
        return 0;
    const kiln_node *n = &g->nodes[p];
    if (kiln_pm_is(n, "Div") && kiln_pm_scalar(g, n->inputs[1], &c) && c != 0) {
        s = n->inputs[0];
        m->scale = 1.0 / c;
    }
    for (int k = 0; s < 0 && k < 2 && kiln_pm_is(n, "Mul") && n->n_inputs == 2; k++)
        if (kiln_pm_scalar(g, n->inputs[k], &c)) {
            s = n->inputs[1 - k];
            m->scale = c;
        }
    if (s < 0)
        return match_qk(g, u, v, reader, m);
    kiln_pm_push(&m->c, p);
    return match_qk(g, u, s, p, m);
}

/* Softmax over the last axis of a 4-D input (every opset's reading). */
static int softmax_last(const kiln_graph *g, const kiln_node *n)
{
    int64_t axis = kiln_attr_int(n, "axis", n->opset >= 13 ? -1 : 1);
    return g->values[n->inputs[0]].rank == 4 && (axis == -1 || axis == 3);
}

/* Softmax's input: the scores, or Add(scores, mask) in either order. */
static int match_softmax_input(const kiln_graph *g, const kiln_uses *u, int sm, attn_match *m)
{
    int s = g->nodes[sm].inputs[0];
    int add = kiln_pm_producer(g, s, "Add");
    if (add < 0 || kiln_pm_reader(g, u, s, NULL) != sm)
        return match_scores(g, u, s, sm, m);
    for (int k = 0; k < 2; k++) {
        int mark = m->c.n;
        if (match_scores(g, u, g->nodes[add].inputs[k], add, m)) {
            m->mask = g->nodes[add].inputs[1 - k];
            kiln_pm_push(&m->c, add);
            return 1;
        }
        m->c.n = mark;
    }
    return 0;
}

/* The dims of K (b, h, skv, d) as the rewritten Transpose or its input gives them. */
static void k_dims(const kiln_graph *g, const attn_match *m, int64_t *dims)
{
    const kiln_value *x = &g->values[g->nodes[m->kt].inputs[0]];
    static const int bshd[4] = {0, 2, 1, 3}, same[4] = {0, 1, 2, 3};
    for (int k = 0; k < 4; k++)
        dims[k] = x->dims[m->kt_from_bshd ? bshd[k] : same[k]];
}

static int same_dims(const int64_t *a, const int64_t *b, int rank)
{
    for (int k = 0; k < rank; k++)
        if (!kiln_pm_dim_eq(a[k], b[k]))
            return 0;
    return 1;
}

/* Q (b, h, sq, d), K (b, h, skv, d), V (b, h, skv, dv) with known dims; the
 * scores (b, h, sq, skv); the mask's last dim skv. */
static int shapes_ok(const kiln_graph *g, const attn_match *m)
{
    const kiln_value *q = &g->values[m->q], *v = &g->values[m->v];
    const kiln_value *kx = &g->values[g->nodes[m->kt].inputs[0]];
    int64_t k[4];
    k_dims(g, m, k);
    if (q->rank != 4 || v->rank != 4 || !kiln_pm_std_float(q->dtype) || kx->dtype != q->dtype || v->dtype != q->dtype)
        return 0;
    const int64_t kq[4] = {q->dims[0], q->dims[1], k[2], q->dims[3]};
    const int64_t vk[4] = {k[0], k[1], k[2], v->dims[3]};
    const int64_t scores[4] = {q->dims[0], q->dims[1], q->dims[2], k[2]};
    if (!same_dims(k, kq, 4) || !same_dims(v->dims, vk, 4) || !same_dims(scores, scores, 4))
        return 0;
    for (int i = 0; i < m->c.n; i++) {
        int node = m->c.nodes[i];
        const kiln_value *s = &g->values[g->nodes[node].outputs[0]];
        if (node != m->kt && s != &g->values[m->c.out] && (s->rank != 4 || !same_dims(s->dims, scores, 4)))
            return 0; /* a score tensor of another shape */
    }
    const kiln_value *mask = m->mask >= 0 ? &g->values[m->mask] : NULL;
    return !mask || (mask->rank >= 1 && mask->rank <= 4 && mask->dtype == q->dtype &&
                     kiln_pm_dim_eq(mask->dims[mask->rank - 1], k[2]));
}

/* From the Softmax node sm. */
static int match_attention(const kiln_graph *g, const kiln_uses *u, int sm, attn_match *m)
{
    memset(m, 0, sizeof *m);
    m->q = m->k = m->v = m->mask = m->kt = -1;
    if (!softmax_last(g, &g->nodes[sm]) || !match_softmax_input(g, u, sm, m))
        return 0;
    kiln_pm_push(&m->c, sm);
    int p = g->nodes[sm].outputs[0];
    int pv = kiln_pm_reader(g, u, p, "MatMul");
    if (pv < 0 || g->nodes[pv].inputs[0] != p || g->nodes[pv].inputs[1] == p)
        return 0;
    m->v = g->nodes[pv].inputs[1];
    kiln_pm_push(&m->c, pv);
    m->c.out = g->nodes[pv].outputs[0];
    return kiln_pm_chain_ok(&m->c) && shapes_ok(g, m);
}

static kiln_status fuse_one(kiln_pass_ctx *ctx, const attn_match *m)
{
    static const int64_t to_bhsd[4] = {0, 2, 1, 3};
    kiln_graph *g = ctx->g;
    if (m->kt_from_bshd)
        KILN_TRY(kiln_node_set_ints(g, m->kt, "perm", to_bhsd, 4));
    const int inputs[4] = {m->q, m->k, m->v, m->mask};
    int n = -1;
    KILN_TRY(kiln_pm_replace(ctx, "fuse_attention", &m->c, "Attention", ATTN_MIN_OPSET, inputs, m->mask >= 0 ? 4 : 3,
                             &n));
    return kiln_node_set_float(g, n, "scale", (float)m->scale);
}

kiln_status kiln_pass_fuse_attention(kiln_pass_ctx *ctx, int *changed)
{
    kiln_graph *g = ctx->g;
    kiln_uses u;
    KILN_TRY(kiln_uses_build(g, &u));
    kiln_status st = KILN_OK;
    for (int i = 0, end = g->n_nodes; i < end && st == KILN_OK; i++) {
        attn_match m;
        if (!kiln_pm_is(&g->nodes[i], "Softmax") || !match_attention(g, &u, i, &m))
            continue;
        st = fuse_one(ctx, &m);
        *changed = 1;
    }
    kiln_uses_free(&u);
    return st;
}
