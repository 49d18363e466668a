/*
 * recurrent.c - shape inference for the recurrent op family: RNN, GRU and
 * LSTM. The checks of input dtypes and shapes live here too, shared with the
 * CPU kernels through kiln_rnn_params_get (attributes: recurrent_params.c).
 */
#include "ir/infer/recurrent_infer.h"

#include <stdio.h>

#include "core/dtype.h"

#define N_INPUTS 8

static const char *const input_names[N_INPUTS] = {"X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"};

/* A dim that is known, else a symbol, else unknown. */
static int64_t pick_dim(int64_t a, int64_t b)
{
    if (a >= 0 || (a < -1 && b < 0))
        return a;
    return b;
}

static kiln_status need_inputs(const kiln_op_ctx *ctx)
{
    for (int i = KILN_RNN_IN_X; i <= KILN_RNN_IN_R; i++)
        if (!kiln_opt_in(ctx, i))
            return kiln_error(KILN_ERR_GRAPH, "%s input %s (input %d) is required", ctx->node->op_type, input_names[i],
                              i);
    return KILN_OK;
}

/* X is a float type; W, R, B, initial_h, initial_c and P have X's type;
 * sequence_lens is int32 (int64 is taken too). */
static kiln_status check_dtypes(const kiln_op_ctx *ctx)
{
    kiln_dtype dt = ctx->in[KILN_RNN_IN_X]->dtype;
    if (!kiln_is_std_float(dt))
        return kiln_unsupported_dtype(ctx, "input X", dt);
    for (int i = KILN_RNN_IN_W; i < ctx->n_in && i < N_INPUTS; i++) {
        const kiln_tensor *t = kiln_opt_in(ctx, i);
        if (!t)
            continue;
        if (i == KILN_RNN_IN_SEQ_LENS) {
            if (t->dtype != KILN_INT32 && t->dtype != KILN_INT64)
                return kiln_unsupported_dtype(ctx, "input sequence_lens", t->dtype);
        } else if (t->dtype != dt) {
            return kiln_error(KILN_ERR_GRAPH, "%s input %s is %s but X is %s", ctx->node->op_type, input_names[i],
                              kiln_dtype_name(t->dtype) ? kiln_dtype_name(t->dtype) : "(invalid)", kiln_dtype_name(dt));
        }
    }
    return KILN_OK;
}

/* Every present input whose rank is known has the rank ONNX gives it. */
static kiln_status check_ranks(const kiln_op_ctx *ctx)
{
    static const int ranks[N_INPUTS] = {3, 3, 3, 2, 1, 3, 3, 2};
    for (int i = 0; i < ctx->n_in && i < N_INPUTS; i++) {
        const kiln_tensor *t = kiln_opt_in(ctx, i);
        if (t && t->rank >= 0 && t->rank != ranks[i])
            return kiln_error(KILN_ERR_SHAPE, "%s input %s has rank %d, expected %d", ctx->node->op_type,
                              input_names[i], t->rank, ranks[i]);
    }
    return KILN_OK;
}

/* Dim d of input i, or KILN_DIM_UNKNOWN when absent or of unknown rank. */
static int64_t dim_of(const kiln_op_ctx *ctx, int i, int d)
{
    const kiln_tensor *t = kiln_opt_in(ctx, i);
    return t && t->rank > d ? t->dims[d] : KILN_DIM_UNKNOWN;
}

/* seq, batch, input and (without hidden_size) hidden from the inputs. */
static void gather_dims(const kiln_op_ctx *ctx, kiln_rnn_params *p)
{
    int lay = p->layout;
    p->seq = dim_of(ctx, KILN_RNN_IN_X, lay ? 1 : 0);
    p->batch = dim_of(ctx, KILN_RNN_IN_X, lay ? 0 : 1);
    p->batch = pick_dim(p->batch, dim_of(ctx, KILN_RNN_IN_SEQ_LENS, 0));
    p->batch = pick_dim(p->batch, dim_of(ctx, KILN_RNN_IN_INITIAL_H, lay ? 0 : 1));
    p->input = pick_dim(dim_of(ctx, KILN_RNN_IN_X, 2), dim_of(ctx, KILN_RNN_IN_W, 2));
    if (p->hidden == KILN_DIM_UNKNOWN)
        p->hidden = dim_of(ctx, KILN_RNN_IN_R, 2);
}

/* Input i, when present with a known rank, has shape want (rank n) where
 * both dims are known. `form` spells the expected shape. */
static kiln_status check_shape(const kiln_op_ctx *ctx, const kiln_rnn_params *p, int i, int n, const int64_t *want,
                               const char *form)
{
    const kiln_tensor *t = kiln_opt_in(ctx, i);
    if (!t || t->rank < 0)
        return KILN_OK;
    int bad = t->rank != n;
    for (int k = 0; k < n && !bad; k++)
        bad = t->dims[k] >= 0 && want[k] >= 0 && t->dims[k] != want[k];
    if (!bad)
        return KILN_OK;
    char got[128], exp[128], hidden[64] = "hidden_size not known";
    kiln_shape_str(t->dims, t->rank, got, sizeof got);
    kiln_shape_str(want, n, exp, sizeof exp);
    if (p->hidden >= 0)
        snprintf(hidden, sizeof hidden, "hidden_size %lld from %s", (long long)p->hidden,
                 p->hidden_from_attr ? "the attribute" : "R");
    return kiln_error(KILN_ERR_SHAPE, "%s input %s has shape %s, expected %s (%s; %s)", ctx->node->op_type,
                      input_names[i], got, exp, form, hidden);
}

static kiln_status check_weights(const kiln_op_ctx *ctx, const kiln_rnn_params *p)
{
    int64_t gh = kiln_dim_mul(p->n_gates, p->hidden);
    int64_t w[3] = {p->n_dirs, gh, p->input}, r[3] = {p->n_dirs, gh, p->hidden};
    int64_t b[2] = {p->n_dirs, kiln_dim_mul(2, gh)}, peep[2] = {p->n_dirs, kiln_dim_mul(3, p->hidden)};
    static const char *const gate_w[] = {"num_directions x hidden_size x input_size", "",
                                         "num_directions x 3*hidden_size x input_size",
                                         "num_directions x 4*hidden_size x input_size"};
    static const char *const gate_r[] = {"num_directions x hidden_size x hidden_size", "",
                                         "num_directions x 3*hidden_size x hidden_size",
                                         "num_directions x 4*hidden_size x hidden_size"};
    static const char *const gate_b[] = {"num_directions x 2*hidden_size", "", "num_directions x 6*hidden_size",
                                         "num_directions x 8*hidden_size"};
    KILN_TRY(check_shape(ctx, p, KILN_RNN_IN_W, 3, w, gate_w[p->n_gates - 1]));
    KILN_TRY(check_shape(ctx, p, KILN_RNN_IN_R, 3, r, gate_r[p->n_gates - 1]));
    KILN_TRY(check_shape(ctx, p, KILN_RNN_IN_B, 2, b, gate_b[p->n_gates - 1]));
    return check_shape(ctx, p, KILN_RNN_IN_P, 2, peep, "num_directions x 3*hidden_size");
}

static kiln_status check_states(const kiln_op_ctx *ctx, const kiln_rnn_params *p)
{
    int64_t lens[1] = {p->batch};
    int64_t state0[3] = {p->n_dirs, p->batch, p->hidden}, state1[3] = {p->batch, p->n_dirs, p->hidden};
    const int64_t *state = p->layout ? state1 : state0;
    const char *form =
        p->layout ? "batch_size x num_directions x hidden_size" : "num_directions x batch_size x hidden_size";
    KILN_TRY(check_shape(ctx, p, KILN_RNN_IN_SEQ_LENS, 1, lens, "batch_size"));
    KILN_TRY(check_shape(ctx, p, KILN_RNN_IN_INITIAL_H, 3, state, form));
    return check_shape(ctx, p, KILN_RNN_IN_INITIAL_C, 3, state, form);
}

/* Each length in [0, seq_length] when sequence_lens' values are known. */
static kiln_status check_lens(const kiln_op_ctx *ctx, const kiln_rnn_params *p)
{
    const kiln_tensor *t = kiln_opt_in(ctx, KILN_RNN_IN_SEQ_LENS);
    if (!t || !t->data)
        return KILN_OK;
    int64_t n = kiln_tensor_numel(t);
    for (int64_t b = 0; b < n; b++) {
        int64_t len = kiln_load_i64(t->data, t->dtype, (size_t)b);
        if (len < 0)
            return kiln_error(KILN_ERR_SHAPE, "%s sequence_lens[%lld] = %lld is negative", ctx->node->op_type,
                              (long long)b, (long long)len);
        if (p->seq >= 0 && len > p->seq)
            return kiln_error(KILN_ERR_SHAPE, "%s sequence_lens[%lld] = %lld is longer than seq_length %lld",
                              ctx->node->op_type, (long long)b, (long long)len, (long long)p->seq);
    }
    return KILN_OK;
}

kiln_status kiln_rnn_params_get(const kiln_op_ctx *ctx, kiln_rnn_params *p)
{
    KILN_TRY(kiln_rnn_parse_attrs(ctx, p));
    KILN_TRY(need_inputs(ctx));
    KILN_TRY(check_dtypes(ctx));
    KILN_TRY(check_ranks(ctx));
    gather_dims(ctx, p);
    if (p->hidden == 0)
        return kiln_error(KILN_ERR_SHAPE, "%s hidden_size (R's last dim) is 0", ctx->node->op_type);
    KILN_TRY(check_weights(ctx, p));
    KILN_TRY(check_states(ctx, p));
    return check_lens(ctx, p);
}

/* Y: [seq, dirs, batch, hidden] (layout 0) or [batch, seq, dirs, hidden];
 * Y_h and Y_c: [dirs, batch, hidden] or [batch, dirs, hidden]. */
static kiln_status infer_recurrent(kiln_op_ctx *ctx)
{
    kiln_rnn_params p = {0};
    KILN_TRY(kiln_rnn_params_get(ctx, &p));
    kiln_dtype dt = ctx->in[KILN_RNN_IN_X]->dtype;
    int64_t y0[4] = {p.seq, p.n_dirs, p.batch, p.hidden}, y1[4] = {p.batch, p.seq, p.n_dirs, p.hidden};
    int64_t s0[3] = {p.n_dirs, p.batch, p.hidden}, s1[3] = {p.batch, p.n_dirs, p.hidden};
    kiln_infer_set(ctx, 0, dt, 4, p.layout ? y1 : y0);
    kiln_infer_set(ctx, 1, dt, 3, p.layout ? s1 : s0);
    if (p.kind == KILN_RNN_LSTM)
        kiln_infer_set(ctx, 2, dt, 3, p.layout ? s1 : s0);
    return KILN_OK;
}

const kiln_op_schema kiln_schemas_recurrent[] = {
    {"RNN", 3, 6, 0, 2, 0, infer_recurrent},
    {"GRU", 3, 6, 0, 2, 0, infer_recurrent},
    {"LSTM", 3, 8, 0, 3, 0, infer_recurrent},
    {NULL, 0, 0, 0, 0, 0, NULL},
};
