/*
 * norm_attention_rotary.c - CPU kernel for RotaryEmbedding (opset 23):
 * rotates the first rotary_embedding_dim elements of every head by the
 * cos/sin of its position, in halves or interleaved pairs. Computed in
 * double on float64 copies, rounded once into the output type.
 */
#include <stdlib.h>

#include "backends/cpu/ops/norm_attention_kernels.h"

typedef struct rope_plan {
    int64_t batch, heads, seq, head, half; /* half: rotary_embedding_dim / 2 */
    int interleaved, x4d;
    int64_t max_pos;    /* rows of the caches when position_ids are given */
    const int64_t *pos; /* (batch, seq) or NULL */
} rope_plan;

/* Heads, sequence and head size of X: 4-D (B, H, S, D) or 3-D (B, S, H * D). */
static kiln_status rope_x_shape(const kiln_op_ctx *ctx, rope_plan *p)
{
    const kiln_tensor *x = ctx->in[0];
    if (x->rank != 3 && x->rank != 4)
        return kiln_error(KILN_ERR_SHAPE, "X must be 3-D or 4-D, got rank %d", x->rank);
    p->x4d = x->rank == 4;
    p->batch = x->dims[0];
    p->heads = p->x4d ? x->dims[1] : kiln_attr_int(ctx->node, "num_heads", 0);
    p->seq = p->x4d ? x->dims[2] : x->dims[1];
    if (p->heads <= 0 || (!p->x4d && x->dims[2] % p->heads != 0))
        return kiln_error(KILN_ERR_SHAPE, "3-D X needs num_heads dividing its hidden size");
    p->head = p->x4d ? x->dims[3] : x->dims[2] / p->heads;
    int64_t rot = kiln_attr_int(ctx->node, "rotary_embedding_dim", 0);
    rot = rot == 0 ? p->head : rot;
    if (rot < 0 || rot > p->head || rot % 2 != 0)
        return kiln_error(KILN_ERR_SHAPE, "rotary dim %lld is invalid for head size %lld", (long long)rot,
                          (long long)p->head);
    p->half = rot / 2;
    p->interleaved = kiln_attr_int(ctx->node, "interleaved", 0) != 0;
    return KILN_OK;
}

/* The caches: (positions, half) with position_ids, else (batch, seq, half). */
static kiln_status rope_caches(const kiln_op_ctx *ctx, rope_plan *p, int with_pos)
{
    const kiln_tensor *cs = ctx->in[1];
    p->max_pos = with_pos && cs->rank == 2 ? cs->dims[0] : 0;
    const int64_t by_pos[2] = {p->max_pos, p->half}, by_token[3] = {p->batch, p->seq, p->half};
    for (int c = 1; c <= 2; c++) {
        const kiln_tensor *t = ctx->in[c];
        const char *name = c == 1 ? "cos_cache" : "sin_cache";
        if (!kiln_is_std_float(t->dtype))
            return kiln_unsupported_dtype(ctx, name, t->dtype);
        int want_rank = with_pos ? 2 : 3, ok = t->rank == want_rank;
        for (int k = 0; ok && k < want_rank; k++)
            ok = t->dims[k] == (with_pos ? by_pos[k] : by_token[k]);
        if (!ok && with_pos)
            return kiln_error(KILN_ERR_SHAPE, "%s must have shape (%lld, %lld): (positions, rotary dim / 2)", name,
                              (long long)p->max_pos, (long long)p->half);
        if (!ok)
            return kiln_error(KILN_ERR_SHAPE, "%s must have shape (%lld, %lld, %lld) without position_ids", name,
                              (long long)p->batch, (long long)p->seq, (long long)p->half);
    }
    return KILN_OK;
}

static kiln_status rope_shapes(const kiln_op_ctx *ctx, rope_plan *p)
{
    const kiln_tensor *pos = ctx->n_in > 3 ? ctx->in[3] : NULL;
    if (!kiln_is_std_float(ctx->in[0]->dtype))
        return kiln_unsupported_dtype(ctx, "X", ctx->in[0]->dtype);
    KILN_TRY(rope_x_shape(ctx, p));
    KILN_TRY(rope_caches(ctx, p, pos != NULL));
    if (pos) {
        if (pos->dtype != KILN_INT64)
            return kiln_unsupported_dtype(ctx, "position_ids", pos->dtype);
        if (pos->rank != 2 || pos->dims[0] != p->batch || pos->dims[1] != p->seq)
            return kiln_error(KILN_ERR_SHAPE, "position_ids must have shape (%lld, %lld)", (long long)p->batch,
                              (long long)p->seq);
        p->pos = pos->data;
    }
    return KILN_OK;
}

/* Rotates one head row x[head] into y with cos/sin rows of p->half values. */
static void rotate(const rope_plan *p, const double *x, const double *c, const double *s, double *y)
{
    for (int64_t j = 0; j < p->half; j++) {
        int64_t i1 = p->interleaved ? 2 * j : j, i2 = p->interleaved ? 2 * j + 1 : j + p->half;
        y[i1] = c[j] * x[i1] - s[j] * x[i2];
        y[i2] = s[j] * x[i1] + c[j] * x[i2];
    }
    for (int64_t j = 2 * p->half; j < p->head; j++)
        y[j] = x[j];
}

static kiln_status rope_run(const rope_plan *p, const double *x, const double *cs, const double *sn, double *y)
{
    for (int64_t b = 0; b < p->batch; b++)
        for (int64_t t = 0; t < p->seq; t++) {
            int64_t row = b * p->seq + t;
            if (p->pos) {
                row = p->pos[b * p->seq + t];
                if (row < 0 || row >= p->max_pos)
                    return kiln_error(KILN_ERR_SHAPE, "position id %lld is outside the caches' %lld rows",
                                      (long long)row, (long long)p->max_pos);
            }
            for (int64_t h = 0; h < p->heads; h++) {
                int64_t at = p->x4d ? ((b * p->heads + h) * p->seq + t) * p->head
                                    : (b * p->seq + t) * p->heads * p->head + h * p->head;
                rotate(p, x + at, cs + row * p->half, sn + row * p->half, y + at);
            }
        }
    return KILN_OK;
}

kiln_status kiln_na_rotary(kiln_op_ctx *ctx)
{
    rope_plan p = {0};
    KILN_TRY(rope_shapes(ctx, &p));
    double *buf[4] = {NULL, NULL, NULL, NULL};
    kiln_status st = KILN_OK;
    for (int i = 0; i < 3 && st == KILN_OK; i++)
        st = kiln_to_f64(ctx->in[i], ctx->max_bytes, &buf[i]);
    if (st == KILN_OK)
        st = kiln_to_f64(ctx->in[0], ctx->max_bytes, &buf[3]);
    if (st == KILN_OK)
        st = rope_run(&p, buf[0], buf[1], buf[2], buf[3]);
    if (st == KILN_OK)
        kiln_from_f64(ctx->out[0], buf[3], kiln_tensor_numel(ctx->out[0]));
    for (int i = 0; i < 4; i++)
        free(buf[i]);
    return st;
}
