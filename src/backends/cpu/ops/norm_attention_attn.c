/*
 * norm_attention_attn.c - CPU kernel for ONNX Attention (opsets 23-25):
 * 3-D and 4-D Q/K/V, grouped-query heads, boolean or additive masks with
 * broadcasting, is_causal and sliding windows (offset by the past length or
 * nonpad_kv_seqlen), past/present key and value caches, softcap and the
 * qk_matmul_output debug output.
 *
 * Blocks of query rows of every (batch, query head) pair (the whole
 * sequence unless the scores would outgrow a small tile) are shared over the
 * thread pool, each on one thread with its own score tile. Per block the
 * scores Q.K^T and the product P.V are OpenBLAS GEMMs in the working
 * precision (float32 for float16/bfloat16/float32, float64 for float64) that
 * read the heads in place through strides, so 3-D inputs need no
 * transposes. Each score row then goes through softcap, the additive bias
 * and the softmax: in float32 for float32 work (vectorizable blocks,
 * softmax_row_f32.h, the bias row reused while it does not change, as with
 * a (b, 1, 1, s) mask), in double for float64 work or when softmax_precision
 * asks for double. A row whose bias is -inf everywhere
 * (nothing to attend) gives zero probabilities, as ONNX requires.
 */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/ops/norm_attention_kernels.h"
#include "backends/cpu/cpu_gemm.h"
#include "backends/cpu/softmax_row_f32.h"
#include "core/thread_pool.h"

enum { IN_Q, IN_K, IN_V, IN_MASK, IN_PAST_K, IN_PAST_V, IN_NONPAD };
enum { OUT_Y, OUT_PRESENT_K, OUT_PRESENT_V, OUT_QK };
enum { QK_RAW, QK_SOFTCAP, QK_BIAS, QK_SOFTMAX };

/* Element (b, h, s, d) of a Q/K/V-like tensor in working precision is
 * element b * bs + h * hs + s * rs + d of data. */
typedef struct head_view {
    void *data;
    int64_t bs, hs, rs;
} head_view;

typedef struct attn_plan {
    int rank; /* of Q, K and V: 3 or 4 */
    int64_t batch, q_heads, kv_heads, q_seq, kv_seq, past, total, head, v_head;
    double scale, softcap;
    int causal, mode;
    int row_f64;         /* score rows in double (float64 work or softmax_precision) */
    int64_t left, right; /* window bounds, -1: unbounded */
    int64_t q_block, n_blocks; /* query rows per unit of work, and blocks per head */
    kiln_dtype work;     /* KILN_FLOAT32 or KILN_FLOAT64 */
    size_t esize;
    double *mask;            /* additive mask values (bool: 0 / -inf), or NULL */
    int64_t mask_strides[3]; /* for b, h, i; 0 on broadcast dims */
    int64_t mask_len;        /* last dim of the mask; keys past it are masked */
    const int64_t *nonpad;   /* valid keys per batch, or NULL */
    head_view q, k, v, y;    /* k and v span all `total` keys */
    void *owned[10];         /* buffers to free */
    int n_owned;
} attn_plan;

static kiln_tensor *opt_out(const kiln_op_ctx *ctx, int i)
{
    return i < ctx->n_out ? ctx->out[i] : NULL;
}

static kiln_status same_dim(int64_t a, int64_t b, const char *what)
{
    if (a != b)
        return kiln_error(KILN_ERR_SHAPE, "%s: %lld vs %lld", what, (long long)a, (long long)b);
    return KILN_OK;
}

/* ---- shapes ----------------------------------------------------------- */

static kiln_status heads_attr(const kiln_op_ctx *ctx, const char *name, int64_t *out)
{
    *out = kiln_attr_int(ctx->node, name, 0);
    if (*out <= 0)
        return kiln_error(KILN_ERR_SHAPE, "3-D Q, K and V need a positive %s", name);
    return KILN_OK;
}

static kiln_status split_hidden(int64_t hidden, int64_t heads, const char *what, int64_t *out)
{
    if (hidden % heads != 0)
        return kiln_error(KILN_ERR_SHAPE, "%s %lld is not a multiple of %lld heads", what, (long long)hidden,
                          (long long)heads);
    *out = hidden / heads;
    return KILN_OK;
}

static kiln_status shapes_qkv(const kiln_op_ctx *ctx, attn_plan *p)
{
    const kiln_tensor *q = ctx->in[IN_Q], *k = ctx->in[IN_K], *v = ctx->in[IN_V];
    if (q->rank != k->rank || q->rank != v->rank || (q->rank != 3 && q->rank != 4))
        return kiln_error(KILN_ERR_SHAPE, "Q, K and V must all be 3-D or all 4-D, got ranks %d, %d and %d", q->rank,
                          k->rank, v->rank);
    p->rank = q->rank;
    p->batch = q->dims[0];
    if (p->rank == 4) {
        p->q_heads = q->dims[1];
        p->q_seq = q->dims[2];
        p->head = q->dims[3];
        p->kv_heads = k->dims[1];
        p->kv_seq = k->dims[2];
        p->v_head = v->dims[3];
        KILN_TRY(same_dim(k->dims[3], p->head, "K and Q head sizes differ"));
        KILN_TRY(same_dim(v->dims[1], p->kv_heads, "V and K head counts differ"));
        KILN_TRY(same_dim(v->dims[2], p->kv_seq, "V and K sequence lengths differ"));
    } else {
        int64_t k_head = 0;
        KILN_TRY(heads_attr(ctx, "q_num_heads", &p->q_heads));
        KILN_TRY(heads_attr(ctx, "kv_num_heads", &p->kv_heads));
        p->q_seq = q->dims[1];
        p->kv_seq = k->dims[1];
        KILN_TRY(split_hidden(q->dims[2], p->q_heads, "Q hidden size", &p->head));
        KILN_TRY(split_hidden(k->dims[2], p->kv_heads, "K hidden size", &k_head));
        KILN_TRY(split_hidden(v->dims[2], p->kv_heads, "V hidden size", &p->v_head));
        KILN_TRY(same_dim(k_head, p->head, "K and Q head sizes differ"));
        KILN_TRY(same_dim(v->dims[1], p->kv_seq, "V and K sequence lengths differ"));
    }
    KILN_TRY(same_dim(k->dims[0], p->batch, "K and Q batch sizes differ"));
    KILN_TRY(same_dim(v->dims[0], p->batch, "V and Q batch sizes differ"));
    if (p->kv_heads <= 0 || p->q_heads % p->kv_heads != 0)
        return kiln_error(KILN_ERR_SHAPE, "%lld query heads cannot be grouped over %lld key/value heads",
                          (long long)p->q_heads, (long long)p->kv_heads);
    return KILN_OK;
}

static kiln_status shapes_past(const kiln_op_ctx *ctx, attn_plan *p)
{
    const kiln_tensor *pk = kiln_opt_in(ctx, IN_PAST_K), *pv = kiln_opt_in(ctx, IN_PAST_V);
    p->past = 0;
    if (!pk && !pv)
        return KILN_OK;
    if (!pk || !pv)
        return kiln_error(KILN_ERR_GRAPH, "past_key and past_value must be given together");
    if (kiln_opt_in(ctx, IN_NONPAD))
        return kiln_error(KILN_ERR_GRAPH, "nonpad_kv_seqlen cannot be used with past_key / past_value");
    if (pk->rank != 4 || pv->rank != 4)
        return kiln_error(KILN_ERR_SHAPE, "past_key and past_value must be 4-D");
    p->past = pk->dims[2];
    KILN_TRY(same_dim(pk->dims[0], p->batch, "past_key and Q batch sizes differ"));
    KILN_TRY(same_dim(pv->dims[0], p->batch, "past_value and Q batch sizes differ"));
    KILN_TRY(same_dim(pk->dims[1], p->kv_heads, "past_key and K head counts differ"));
    KILN_TRY(same_dim(pv->dims[1], p->kv_heads, "past_value and V head counts differ"));
    KILN_TRY(same_dim(pk->dims[3], p->head, "past_key and K head sizes differ"));
    KILN_TRY(same_dim(pv->dims[3], p->v_head, "past_value and V head sizes differ"));
    return same_dim(pv->dims[2], p->past, "past_value and past_key lengths differ");
}

static kiln_status read_attrs(const kiln_op_ctx *ctx, attn_plan *p)
{
    const kiln_node *n = ctx->node;
    p->causal = kiln_attr_int(n, "is_causal", 0) != 0;
    p->mode = (int)kiln_attr_int(n, "qk_matmul_output_mode", QK_RAW);
    p->softcap = kiln_attr_float(n, "softcap", 0.0f);
    p->left = kiln_attr_int(n, "left_window_size", -1);
    p->right = kiln_attr_int(n, "right_window_size", -1);
    const kiln_attr *sc = kiln_attr_find(n, "scale");
    p->scale = sc ? kiln_attr_float(n, "scale", 1.0f) : 1.0 / sqrt((double)p->head);
    if (p->mode < QK_RAW || p->mode > QK_SOFTMAX)
        return kiln_error(KILN_ERR_UNSUPPORTED, "qk_matmul_output_mode %d is not supported", p->mode);
    if (p->left < -1 || p->right < -1)
        return kiln_error(KILN_ERR_SHAPE, "left_window_size and right_window_size must be -1 or nonnegative");
    const kiln_attr *sp = kiln_attr_find(n, "softmax_precision");
    /* the softmax runs in float32 or double, at least as precise as any allowed value */
    if (sp && (sp->type != KILN_ATTR_INT || !kiln_is_std_float((kiln_dtype)sp->i)))
        return kiln_error(KILN_ERR_UNSUPPORTED, "softmax_precision %lld is not supported", (long long)sp->i);
    p->row_f64 = sp && sp->i == KILN_FLOAT64;
    return KILN_OK;
}

/* n elements of dt, freed with the plan. */
static kiln_status alloc_owned(attn_plan *p, kiln_dtype dt, int64_t n, size_t max_bytes, void **out, const char *what)
{
    KILN_TRY(kiln_alloc_elems(dt, n, max_bytes, what, out));
    p->owned[p->n_owned++] = *out;
    return KILN_OK;
}

/* ---- mask and padding --------------------------------------------------- */

static kiln_status prepare_mask(const kiln_op_ctx *ctx, attn_plan *p)
{
    const kiln_tensor *m = kiln_opt_in(ctx, IN_MASK);
    if (!m)
        return KILN_OK;
    if (m->dtype != KILN_BOOL && !kiln_dtype_is_int(m->dtype) && !kiln_is_std_float(m->dtype))
        return kiln_unsupported_dtype(ctx, "attn_mask", m->dtype);
    if (m->rank < 1 || m->rank > 4)
        return kiln_error(KILN_ERR_SHAPE, "attn_mask has rank %d, expected 1..4", m->rank);
    p->mask_len = m->dims[m->rank - 1];
    if (p->mask_len > p->total)
        return kiln_error(KILN_ERR_SHAPE, "attn_mask's last dim %lld exceeds the total sequence length %lld",
                          (long long)p->mask_len, (long long)p->total);
    /* right-aligned broadcast of the leading dims to (batch, q_heads, q_seq) */
    const int64_t target[3] = {p->batch, p->q_heads, p->q_seq};
    int64_t stride = p->mask_len;
    for (int k = 2; k >= 0; k--) {
        int md = m->rank - 4 + k;
        int64_t extent = md >= 0 ? m->dims[md] : 1;
        if (extent != 1 && extent != target[k])
            return kiln_error(KILN_ERR_SHAPE, "attn_mask dim %d is %lld, which does not broadcast to %lld", md,
                              (long long)extent, (long long)target[k]);
        p->mask_strides[k] = extent == 1 ? 0 : stride;
        stride *= extent;
    }
    int64_t n = kiln_tensor_numel(m);
    KILN_TRY(alloc_owned(p, KILN_FLOAT64, n, ctx->max_bytes, (void **)&p->mask, "attn_mask values"));
    for (int64_t i = 0; i < n; i++) {
        double v = kiln_load_f64(m->data, m->dtype, (size_t)i);
        p->mask[i] = m->dtype == KILN_BOOL ? (v != 0 ? 0.0 : -INFINITY) : v;
    }
    return KILN_OK;
}

static kiln_status prepare_nonpad(const kiln_op_ctx *ctx, attn_plan *p)
{
    const kiln_tensor *np = kiln_opt_in(ctx, IN_NONPAD);
    if (!np)
        return KILN_OK;
    if (np->dtype != KILN_INT64)
        return kiln_unsupported_dtype(ctx, "nonpad_kv_seqlen", np->dtype);
    if (np->rank != 1 || np->dims[0] != p->batch)
        return kiln_error(KILN_ERR_SHAPE, "nonpad_kv_seqlen must have shape (%lld)", (long long)p->batch);
    p->nonpad = np->data;
    return KILN_OK;
}

/* The additive bias of score row (b, h, i) into bias[total]: attn_mask (keys
 * past its last dim masked), the causal frontier and the window, both offset
 * by the keys before the query block, and the nonpad padding. Masked cells
 * add -inf, so a +inf mask value meeting one gives NaN, as in ONNX's function
 * body. Returns 1 when every key is masked. */
static int bias_row(const attn_plan *p, int64_t b, int64_t h, int64_t i, double *bias)
{
    /* nonpad values far outside any extent are clamped so that the position
     * arithmetic below cannot overflow */
    const int64_t far = (int64_t)1 << 61;
    int64_t valid = p->nonpad ? p->nonpad[b] : p->total;
    valid = valid > far ? far : valid < -far ? -far : valid;
    int64_t pos = i + (p->nonpad ? valid - p->q_seq : p->past);
    const double *mrow = NULL;
    if (p->mask)
        mrow = p->mask + b * p->mask_strides[0] + h * p->mask_strides[1] + i * p->mask_strides[2];
    int all_masked = 1;
    for (int64_t j = 0; j < p->total; j++) {
        double v = 0;
        if (mrow)
            v += j < p->mask_len ? mrow[j] : -INFINITY;
        if (p->causal && j > pos)
            v += -INFINITY;
        if ((p->left >= 0 && pos - j > p->left) || (p->right >= 0 && j - pos > p->right))
            v += -INFINITY;
        if (j >= valid)
            v += -INFINITY;
        bias[j] = v;
        all_masked &= v == -INFINITY;
    }
    return all_masked;
}

/* ---- staging ------------------------------------------------------------ */

/* A view of a 3-D (B, S, H * D) or 4-D (B, H, S, D) tensor's heads in working
 * precision, converting t when its type differs. */
static kiln_status view_input(const kiln_op_ctx *ctx, attn_plan *p, int i, int64_t heads, int64_t seq, int64_t d,
                              head_view *v)
{
    static const char *const names[] = {"Q", "K", "V"};
    const kiln_tensor *t = ctx->in[i];
    if (!kiln_is_std_float(t->dtype))
        return kiln_unsupported_dtype(ctx, names[i], t->dtype);
    v->data = t->data;
    if (t->dtype != p->work) {
        int64_t n = kiln_tensor_numel(t);
        KILN_TRY(alloc_owned(p, p->work, n, ctx->max_bytes, &v->data, "Attention staging buffer"));
        kiln_convert(t->data, t->dtype, v->data, p->work, (size_t)n);
    }
    v->bs = heads * seq * d;
    v->hs = t->rank == 4 ? seq * d : d;
    v->rs = t->rank == 4 ? d : heads * d;
    return KILN_OK;
}

/* Copies `rows` rows of d elements from head (b, h) of src into dst (rows of d). */
static void copy_rows(const attn_plan *p, const head_view *src, int64_t b, int64_t h, int64_t rows, int64_t d,
                      char *dst)
{
    const char *base = (const char *)src->data + (size_t)(b * src->bs + h * src->hs) * p->esize;
    for (int64_t s = 0; s < rows; s++)
        memcpy(dst + (size_t)(s * d) * p->esize, base + (size_t)(s * src->rs) * p->esize, (size_t)d * p->esize);
}

/* past (B, Hkv, P, d) followed by the new keys or values: (B, Hkv, total, d). */
static kiln_status concat_past(const kiln_op_ctx *ctx, attn_plan *p, const kiln_tensor *past, head_view *v, int64_t d)
{
    if (!kiln_is_std_float(past->dtype))
        return kiln_unsupported_dtype(ctx, "past_key / past_value", past->dtype);
    void *buf;
    const int64_t dims[4] = {p->batch, p->kv_heads, p->total, d};
    int64_t n;
    KILN_TRY(kiln_shape_numel(dims, 4, &n, "present key/value"));
    KILN_TRY(alloc_owned(p, p->work, n, ctx->max_bytes, &buf, "present key/value"));
    for (int64_t b = 0; b < p->batch; b++)
        for (int64_t h = 0; h < p->kv_heads; h++) {
            char *dst = (char *)buf + (size_t)((b * p->kv_heads + h) * p->total * d) * p->esize;
            size_t past_off = (size_t)((b * p->kv_heads + h) * p->past * d);
            kiln_convert((const char *)past->data + past_off * kiln_dtype_size(past->dtype), past->dtype, dst, p->work,
                         (size_t)(p->past * d));
            copy_rows(p, v, b, h, p->kv_seq, d, dst + (size_t)(p->past * d) * p->esize);
        }
    *v = (head_view){buf, p->kv_heads * p->total * d, p->total * d, d};
    return KILN_OK;
}

static kiln_status stage_inputs(const kiln_op_ctx *ctx, attn_plan *p)
{
    KILN_TRY(view_input(ctx, p, IN_Q, p->q_heads, p->q_seq, p->head, &p->q));
    KILN_TRY(view_input(ctx, p, IN_K, p->kv_heads, p->kv_seq, p->head, &p->k));
    KILN_TRY(view_input(ctx, p, IN_V, p->kv_heads, p->kv_seq, p->v_head, &p->v));
    if (kiln_opt_in(ctx, IN_PAST_K)) {
        KILN_TRY(concat_past(ctx, p, ctx->in[IN_PAST_K], &p->k, p->head));
        KILN_TRY(concat_past(ctx, p, ctx->in[IN_PAST_V], &p->v, p->v_head));
    }
    /* Y: written in place when it has the working type */
    kiln_tensor *y = ctx->out[OUT_Y];
    p->y.data = y->data;
    if (y->dtype != p->work)
        KILN_TRY(alloc_owned(p, p->work, kiln_tensor_numel(y), ctx->max_bytes, &p->y.data, "Attention output staging"));
    p->y.bs = p->q_heads * p->q_seq * p->v_head;
    p->y.hs = p->rank == 4 ? p->q_seq * p->v_head : p->v_head;
    p->y.rs = p->rank == 4 ? p->v_head : p->q_heads * p->v_head;
    return KILN_OK;
}

/* present_key / present_value: (B, Hkv, total, d) from the key/value view. */
static void write_present(const attn_plan *p, kiln_tensor *out, const head_view *v, int64_t d)
{
    if (!out)
        return;
    size_t osize = kiln_dtype_size(out->dtype);
    for (int64_t b = 0; b < p->batch; b++)
        for (int64_t h = 0; h < p->kv_heads; h++)
            for (int64_t s = 0; s < p->total; s++) {
                const char *src = (const char *)v->data + (size_t)(b * v->bs + h * v->hs + s * v->rs) * p->esize;
                size_t at = (size_t)(((b * p->kv_heads + h) * p->total + s) * d);
                kiln_convert(src, p->work, (char *)out->data + at * osize, out->dtype, (size_t)d);
            }
}

/* ---- compute ------------------------------------------------------------ */

/* C[m x n] = alpha * A[m x k] . op(B), op(B) = B^T for B (n x k) when trans_b,
 * else B (k x n); all row-major in working precision. */
static void gemm(const attn_plan *p, int trans_b, int64_t m, int64_t n, int64_t k, double alpha, const void *a,
                 int64_t lda, const void *b, int64_t ldb, void *c, int64_t ldc)
{
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        /* an empty sum; BLAS leaves C alone for some k == 0 calls */
        for (int64_t r = 0; r < m; r++)
            memset((char *)c + (size_t)(r * ldc) * p->esize, 0, (size_t)n * p->esize);
        return;
    }
    enum CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
    if (p->work == KILN_FLOAT32)
        kiln_sgemm(0, trans_b, m, n, k, (float)alpha, a, lda, b, ldb, 0.0f, c, ldc);
    else
        cblas_dgemm(CblasRowMajor, CblasNoTrans, tb, (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b,
                    (blasint)ldb, 0.0, c, (blasint)ldc);
}

/* Softmax of row[n] in place; a row of -inf only gives zeros. A NaN makes
 * the sum and so the whole row NaN, as in numpy. */
static void softmax_row(double *row, int64_t n)
{
    double mx = -INFINITY, sum = 0;
    for (int64_t j = 0; j < n; j++)
        if (row[j] > mx)
            mx = row[j];
    if (mx == -INFINITY)
        mx = 0;
    for (int64_t j = 0; j < n; j++) {
        row[j] = exp(row[j] - mx);
        sum += row[j];
    }
    if (sum == 0)
        sum = 1;
    for (int64_t j = 0; j < n; j++)
        row[j] /= sum;
}

/* Writes row[total] of type dt as row (b, h, i) of qk_matmul_output. */
static void write_qk(const attn_plan *p, kiln_tensor *qk, int64_t b, int64_t h, int64_t i, const void *row,
                     kiln_dtype dt)
{
    size_t at = (size_t)(((b * p->q_heads + h) * p->q_seq + i) * p->total);
    kiln_convert(row, dt, (char *)qk->data + at * kiln_dtype_size(qk->dtype), qk->dtype, (size_t)p->total);
}

/* Turns score row i of head (b, h), held at `tile`, into probabilities. */
static void process_row(const attn_plan *p, kiln_tensor *qk, int64_t b, int64_t h, int64_t i, void *tile, double *row,
                        double *bias)
{
    int64_t t = p->total;
    for (int64_t j = 0; j < t; j++)
        row[j] = p->work == KILN_FLOAT32 ? ((float *)tile)[j] : ((double *)tile)[j];
    if (qk && p->mode == QK_RAW)
        write_qk(p, qk, b, h, i, row, KILN_FLOAT64);
    if (p->softcap > 0)
        for (int64_t j = 0; j < t; j++)
            row[j] = p->softcap * tanh(row[j] / p->softcap);
    if (qk && p->mode == QK_SOFTCAP)
        write_qk(p, qk, b, h, i, row, KILN_FLOAT64);
    int all_masked = bias_row(p, b, h, i, bias);
    for (int64_t j = 0; j < t; j++)
        row[j] += bias[j];
    if (qk && p->mode == QK_BIAS)
        write_qk(p, qk, b, h, i, row, KILN_FLOAT64);
    softmax_row(row, t);
    /* nothing to attend: zero probabilities (decided on the bias, not the scores) */
    if (all_masked)
        memset(row, 0, (size_t)t * sizeof(double));
    if (qk && p->mode == QK_SOFTMAX)
        write_qk(p, qk, b, h, i, row, KILN_FLOAT64);
    for (int64_t j = 0; j < t; j++) {
        if (p->work == KILN_FLOAT32)
            ((float *)tile)[j] = (float)row[j];
        else
            ((double *)tile)[j] = row[j];
    }
}

/* ---- float32 score rows ----------------------------------------------- */

/* The row loops below work in blocks of LANES elements: compilers vectorize
 * a loop with this fixed trip count at -O2, and leave one over n scalar. */
enum { LANES = 8 };

static inline void add_block(float *restrict x, const float *restrict y)
{
    for (int k = 0; k < LANES; k++)
        x[k] += y[k];
}

static void add_row(float *restrict row, const float *restrict bias, int64_t n)
{
    int64_t j = 0;
    for (; j + LANES <= n; j += LANES)
        add_block(row + j, bias + j);
    for (; j < n; j++)
        row[j] += bias[j];
}

/* The additive bias of float32 score rows, rebuilt only when a row needs a
 * different one: rows share it when the mask broadcasts over them and the
 * causal, window and padding limits are the same. */
typedef struct bias_f32 {
    float *row;          /* total values */
    int64_t off, lo, hi; /* built from mask row `off` (-1: no mask) and key range [lo, hi) */
    int built, zero, all_masked;
} bias_f32;

/* Keys j in [lo, hi) of score row (b, i) pass the mask's length, the causal
 * frontier, the window and nonpad_kv_seqlen (see bias_row); the others are
 * masked. Written so that no sum can overflow. */
static void key_range(const attn_plan *p, int64_t b, int64_t i, int64_t *lo, int64_t *hi)
{
    const int64_t far = (int64_t)1 << 61;
    int64_t valid = p->nonpad ? p->nonpad[b] : p->total;
    valid = valid > far ? far : valid < -far ? -far : valid;
    int64_t pos = i + (p->nonpad ? valid - p->q_seq : p->past);
    int64_t l = 0, h = p->total;
    if (p->mask && p->mask_len < h)
        h = p->mask_len;
    if (p->causal && pos < h)
        h = pos + 1;
    if (p->left >= 0 && pos > p->left)
        l = pos - p->left;
    if (p->right >= 0 && (pos < 0 || p->right < h - pos) && pos + p->right + 1 < h)
        h = pos + p->right + 1;
    if (valid < h)
        h = valid;
    h = h < 0 ? 0 : h;
    *lo = l < h ? l : h;
    *hi = h;
}

/* The bias of score row (b, h, i), as bias_row gives it; NULL when it is all
 * zeros. */
static const float *bias_f32_row(const attn_plan *p, bias_f32 *c, int64_t b, int64_t h, int64_t i)
{
    int64_t off = -1, lo, hi, t = p->total;
    if (p->mask)
        off = b * p->mask_strides[0] + h * p->mask_strides[1] + i * p->mask_strides[2];
    key_range(p, b, i, &lo, &hi);
    if (c->built && off == c->off && lo == c->lo && hi == c->hi)
        return c->zero ? NULL : c->row;
    const double *m = off >= 0 ? p->mask + off : NULL;
    int64_t m_len = m ? p->mask_len : 0, j;
    /* masked keys: -inf, or NaN where the mask holds +inf or NaN */
    for (j = 0; j < m_len; j++)
        c->row[j] = (float)(m[j] + -INFINITY);
    for (; j < t; j++)
        c->row[j] = -INFINITY;
    for (j = lo; j < hi; j++)
        c->row[j] = m ? (float)m[j] : 0.0f;
    c->all_masked = 1;
    for (j = 0; j < t; j++)
        c->all_masked &= c->row[j] == -INFINITY;
    c->zero = !m && lo == 0 && hi == t;
    c->off = off;
    c->lo = lo;
    c->hi = hi;
    c->built = 1;
    return c->zero ? NULL : c->row;
}

/* Turns the float32 score rows [i0, i1) of head (b, h), held in `tile`
 * from row i0 on, into probabilities. */
static void process_rows_f32(const attn_plan *p, kiln_tensor *qk, int64_t b, int64_t h, int64_t i0, int64_t i1,
                             float *tile, bias_f32 *bias)
{
    int64_t t = p->total;
    for (int64_t i = i0; i < i1; i++) {
        float *row = tile + (i - i0) * t;
        if (qk && p->mode == QK_RAW)
            write_qk(p, qk, b, h, i, row, KILN_FLOAT32);
        if (p->softcap > 0)
            for (int64_t j = 0; j < t; j++)
                row[j] = (float)(p->softcap * tanh(row[j] / p->softcap));
        if (qk && p->mode == QK_SOFTCAP)
            write_qk(p, qk, b, h, i, row, KILN_FLOAT32);
        const float *add = bias_f32_row(p, bias, b, h, i);
        if (add)
            add_row(row, add, t);
        if (qk && p->mode == QK_BIAS)
            write_qk(p, qk, b, h, i, row, KILN_FLOAT32);
        /* nothing to attend: zero probabilities (decided on the bias, not the scores) */
        if (bias->all_masked)
            memset(row, 0, (size_t)t * sizeof(float));
        else
            (void)kiln_softmax_row_f32(row, t);
        if (qk && p->mode == QK_SOFTMAX)
            write_qk(p, qk, b, h, i, row, KILN_FLOAT32);
    }
}

/* ---- heads -------------------------------------------------------------- */

/* Per-call work space: the score tile, and double rows or the float32 bias. */
typedef struct attn_scratch {
    void *tile;
    double *row, *bias;
    bias_f32 fbias;
} attn_scratch;

/* Y for the query rows [i0, i1) of query head h of batch b. */
static void attend_rows(const attn_plan *p, kiln_tensor *qk, int64_t b, int64_t h, int64_t i0, int64_t i1,
                        attn_scratch *s)
{
    int64_t kh = h / (p->q_heads / p->kv_heads), rows = i1 - i0;
    const char *q = (const char *)p->q.data + (size_t)(b * p->q.bs + h * p->q.hs + i0 * p->q.rs) * p->esize;
    const char *k = (const char *)p->k.data + (size_t)(b * p->k.bs + kh * p->k.hs) * p->esize;
    const char *v = (const char *)p->v.data + (size_t)(b * p->v.bs + kh * p->v.hs) * p->esize;
    char *y = (char *)p->y.data + (size_t)(b * p->y.bs + h * p->y.hs + i0 * p->y.rs) * p->esize;
    gemm(p, 1, rows, p->total, p->head, p->scale, q, p->q.rs, k, p->k.rs, s->tile, p->total);
    if (p->row_f64)
        for (int64_t i = i0; i < i1; i++)
            process_row(p, qk, b, h, i, (char *)s->tile + (size_t)((i - i0) * p->total) * p->esize, s->row, s->bias);
    else
        process_rows_f32(p, qk, b, h, i0, i1, s->tile, &s->fbias);
    gemm(p, 0, rows, p->v_head, p->total, 1.0, s->tile, p->total, v, p->v.rs, y, p->y.rs);
}

/* BLAS takes int sizes: every extent and leading dimension must fit. */
static kiln_status check_blas_limits(const attn_plan *p)
{
    const int64_t sizes[] = {p->q_seq, p->total, p->head, p->v_head, p->q.rs, p->k.rs, p->v.rs, p->y.rs};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (sizes[i] > INT_MAX)
            return kiln_error(KILN_ERR_LIMIT, "Attention extent %lld is too large for BLAS", (long long)sizes[i]);
    return KILN_OK;
}

typedef struct heads_job {
    const attn_plan *p;
    kiln_tensor *qk;
    attn_scratch *scratch; /* one per pool thread */
} heads_job;

/* Unit u of the parallel loop: block u % n_blocks of query rows of
 * (batch, head) pair u / n_blocks. */
static void run_unit_range(void *user, int64_t begin, int64_t end, int thread)
{
    const heads_job *j = user;
    const attn_plan *p = j->p;
    for (int64_t u = begin; u < end; u++) {
        int64_t pair = u / p->n_blocks, i0 = u % p->n_blocks * p->q_block;
        int64_t i1 = i0 + p->q_block < p->q_seq ? i0 + p->q_block : p->q_seq;
        attend_rows(p, j->qk, pair / p->q_heads, pair % p->q_heads, i0, i1, &j->scratch[thread]);
    }
}

/* Query rows per block: the whole sequence when its scores fit TILE_ELEMS,
 * else blocks of at least MIN_BLOCK_ROWS, so that long sequences keep a
 * small score tile per thread. */
enum { TILE_ELEMS = 1 << 16, MIN_BLOCK_ROWS = 32 };

static void plan_blocks(attn_plan *p)
{
    int64_t rows = p->total > 0 ? TILE_ELEMS / p->total : p->q_seq;
    rows = rows < MIN_BLOCK_ROWS ? MIN_BLOCK_ROWS : rows;
    p->q_block = rows < p->q_seq ? rows : p->q_seq;
    p->q_block = p->q_block > 0 ? p->q_block : 1;
    p->n_blocks = (p->q_seq + p->q_block - 1) / p->q_block;
}

/* Units per chunk of the parallel loop: enough multiply-adds that a chunk
 * is worth more than the hand-off (about 2^17, tens of microseconds). */
static int64_t units_grain(const attn_plan *p)
{
    double macs = (double)p->q_block * (double)p->total * (double)(p->head + p->v_head) + 1;
    double g = (double)(1 << 17) / macs;
    return g < 1 ? 1 : g > (double)INT64_MAX / 4 ? INT64_MAX / 4 : (int64_t)g;
}

/* The blocks of query rows of every (batch, query head) pair run in
 * parallel, each on one thread with that thread's scratch; products inside a
 * worker stay on it (nested parallel fors run on their caller), so a lone
 * block still gets the pool. */
static kiln_status run_heads(kiln_op_ctx *ctx, attn_plan *p)
{
    plan_blocks(p);
    const int64_t dims[3] = {p->batch, p->q_heads, p->n_blocks}, tile_dims[2] = {p->q_block, p->total};
    int64_t tile_n, units;
    KILN_TRY(kiln_shape_numel(dims, 3, &units, "Attention work units"));
    KILN_TRY(kiln_shape_numel(tile_dims, 2, &tile_n, "Attention score tile"));
    /* chunks may run on any pool thread: every one gets its share, unless
     * the loop is too small to share (then it runs here, as thread 0) */
    int64_t grain = units_grain(p);
    int threads = units < 2 * grain ? 1 : kiln_thread_pool_threads();
    attn_scratch *scratch;
    char *tiles;
    void *rows;
    int64_t row_n = p->row_f64 ? 2 * p->total : p->total;
    if (tile_n > INT64_MAX / threads || row_n > INT64_MAX / threads)
        return kiln_error(KILN_ERR_LIMIT, "Attention scratch is too large");
    KILN_TRY(alloc_owned(p, p->work, tile_n * threads, ctx->max_bytes, (void **)&tiles, "Attention score tile"));
    scratch = calloc((size_t)threads, sizeof *scratch);
    if (!scratch)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "Attention scratch for %d threads", threads);
    kiln_status st = kiln_alloc_elems(p->row_f64 ? KILN_FLOAT64 : KILN_FLOAT32, row_n * threads, ctx->max_bytes,
                                      p->row_f64 ? "Attention score rows" : "Attention bias row", &rows);
    if (st != KILN_OK) {
        free(scratch);
        return st;
    }
    for (int t = 0; t < threads; t++) {
        attn_scratch *s = &scratch[t];
        s->tile = tiles + (size_t)(t * tile_n) * p->esize;
        if (p->row_f64) {
            s->row = (double *)rows + t * row_n;
            s->bias = s->row + p->total;
        } else {
            s->fbias.row = (float *)rows + t * row_n;
        }
    }
    heads_job job = {p, opt_out(ctx, OUT_QK), scratch};
    if (threads == 1)
        run_unit_range(&job, 0, units, 0);
    else
        kiln_parallel_for_grain(units, grain, run_unit_range, &job);
    free(rows);
    free(scratch);
    return KILN_OK;
}

static kiln_status plan_attention(kiln_op_ctx *ctx, attn_plan *p)
{
    KILN_TRY(shapes_qkv(ctx, p));
    KILN_TRY(shapes_past(ctx, p));
    if (p->past > INT64_MAX / 4 || p->kv_seq > INT64_MAX / 4)
        return kiln_error(KILN_ERR_LIMIT, "the key sequence is too long");
    p->total = p->past + p->kv_seq;
    KILN_TRY(read_attrs(ctx, p));
    KILN_TRY(prepare_mask(ctx, p));
    KILN_TRY(prepare_nonpad(ctx, p));
    kiln_dtype qt = ctx->in[IN_Q]->dtype, vt = ctx->in[IN_V]->dtype;
    p->work = qt == KILN_FLOAT64 || vt == KILN_FLOAT64 ? KILN_FLOAT64 : KILN_FLOAT32;
    p->esize = kiln_dtype_size(p->work);
    p->row_f64 |= p->work == KILN_FLOAT64;
    KILN_TRY(stage_inputs(ctx, p));
    return check_blas_limits(p);
}

kiln_status kiln_na_attention(kiln_op_ctx *ctx)
{
    attn_plan p = {0};
    kiln_status st = plan_attention(ctx, &p);
    if (st == KILN_OK)
        st = run_heads(ctx, &p);
    if (st == KILN_OK) {
        kiln_tensor *y = ctx->out[OUT_Y];
        if (p.y.data != y->data)
            kiln_convert(p.y.data, p.work, y->data, y->dtype, (size_t)kiln_tensor_numel(y));
        write_present(&p, opt_out(ctx, OUT_PRESENT_K), &p.k, p.head);
        write_present(&p, opt_out(ctx, OUT_PRESENT_V), &p.v, p.v_head);
    }
    for (int i = 0; i < p.n_owned; i++)
        free(p.owned[i]);
    return st;
}
