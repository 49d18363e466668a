/*
 * recurrent.c - CPU kernels for the recurrent op family (RNN, GRU, LSTM):
 * checks, staging of the inputs into the compute type, and the kernel table.
 * The cell loop and gate math are in recurrent_impl.h.
 */
#include "backends/cpu/ops/recurrent_internal.h"

#include <stdlib.h>

#include "backends/cpu/cpu_kernels.h"

#define N_STAGED 7

/* Inputs in the compute type, with what was converted to get them. */
typedef struct staged {
    const void *data[N_STAGED]; /* X, W, R, B, initial_h, initial_c, P */
    void *owned[N_STAGED];
    int64_t *lens;
} staged;

static const int staged_inputs[N_STAGED] = {KILN_RNN_IN_X,         KILN_RNN_IN_W,         KILN_RNN_IN_R, KILN_RNN_IN_B,
                                            KILN_RNN_IN_INITIAL_H, KILN_RNN_IN_INITIAL_C, KILN_RNN_IN_P};

static void staged_free(staged *s)
{
    for (int k = 0; k < N_STAGED; k++)
        free(s->owned[k]);
    free(s->lens);
}

/* The length of every batch entry: sequence_lens, or seq_length for all. */
static kiln_status stage_lens(const kiln_op_ctx *ctx, const kiln_rnn_params *p, int64_t **out)
{
    const kiln_tensor *t = kiln_opt_in(ctx, KILN_RNN_IN_SEQ_LENS);
    if (t && kiln_tensor_numel(t) != p->batch)
        return kiln_error(KILN_ERR_SHAPE, "%s sequence_lens has %lld entries, batch_size is %lld", ctx->node->op_type,
                          (long long)kiln_tensor_numel(t), (long long)p->batch);
    *out = malloc(sizeof(int64_t) * (size_t)(p->batch > 0 ? p->batch : 1));
    if (!*out)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "cannot allocate %s sequence lengths", ctx->node->op_type);
    for (int64_t b = 0; b < p->batch; b++) {
        int64_t len = t ? kiln_load_i64(t->data, t->dtype, (size_t)b) : p->seq;
        if (len < 0 || len > p->seq)
            return kiln_error(KILN_ERR_SHAPE, "%s sequence_lens[%lld] = %lld is outside [0, seq_length %lld]",
                              ctx->node->op_type, (long long)b, (long long)len, (long long)p->seq);
        (*out)[b] = len;
    }
    return KILN_OK;
}

static kiln_status stage_all(const kiln_op_ctx *ctx, const kiln_rnn_params *p, kiln_dtype compute, staged *s)
{
    for (int k = 0; k < N_STAGED; k++) {
        const kiln_tensor *t = kiln_opt_in(ctx, staged_inputs[k]);
        KILN_TRY(kiln_stage_in(t, compute, ctx->max_bytes, &s->data[k], &s->owned[k]));
    }
    return stage_lens(ctx, p, &s->lens);
}

/* Output o, when requested, has the shape inference gives it. */
static kiln_status check_output(const kiln_op_ctx *ctx, const kiln_rnn_params *p, int o)
{
    const kiln_tensor *t = o < ctx->n_out ? ctx->out[o] : NULL;
    if (!t)
        return KILN_OK;
    int64_t y0[4] = {p->seq, p->n_dirs, p->batch, p->hidden}, y1[4] = {p->batch, p->seq, p->n_dirs, p->hidden};
    int64_t s0[3] = {p->n_dirs, p->batch, p->hidden}, s1[3] = {p->batch, p->n_dirs, p->hidden};
    const int64_t *want = o == 0 ? (p->layout ? y1 : y0) : (p->layout ? s1 : s0);
    int rank = o == 0 ? 4 : 3;
    int bad = t->rank != rank || !t->data || t->dtype != ctx->in[KILN_RNN_IN_X]->dtype;
    for (int k = 0; k < rank && !bad; k++)
        bad = t->dims[k] != want[k];
    if (bad)
        return kiln_error(KILN_ERR_INTERNAL, "%s output %d does not have the inferred shape", ctx->node->op_type, o);
    return KILN_OK;
}

static kiln_status check_known(const kiln_op_ctx *ctx, const kiln_rnn_params *p)
{
    if (p->seq < 0 || p->batch < 0 || p->input < 0 || p->hidden < 0)
        return kiln_error(KILN_ERR_INTERNAL, "%s input shapes are not known at run time", ctx->node->op_type);
    for (int i = 0; i < ctx->n_in; i++)
        if (ctx->in[i] && !ctx->in[i]->data)
            return kiln_error(KILN_ERR_INTERNAL, "%s input %d has no data", ctx->node->op_type, i);
    for (int o = 0; o < ctx->n_out; o++)
        KILN_TRY(check_output(ctx, p, o));
    return KILN_OK;
}

/* RNN, GRU and LSTM: the op is told apart by the node's op_type. */
static kiln_status run_recurrent(kiln_op_ctx *ctx)
{
    kiln_rnn_params p = {0};
    KILN_TRY(kiln_rnn_params_get(ctx, &p));
    KILN_TRY(check_known(ctx, &p));
    kiln_dtype compute = ctx->in[KILN_RNN_IN_X]->dtype == KILN_FLOAT64 ? KILN_FLOAT64 : KILN_FLOAT32;
    staged s = {{NULL}, {NULL}, NULL};
    kiln_status st = stage_all(ctx, &p, compute, &s);
    if (st == KILN_OK) {
        kiln_rnn_job job = {.p = &p, .lens = s.lens, .max_bytes = ctx->max_bytes};
        job.x = s.data[0];
        job.w = s.data[1];
        job.r = s.data[2];
        job.b = s.data[3];
        job.h0 = s.data[4];
        job.c0 = s.data[5];
        job.peep = s.data[6];
        job.y = ctx->n_out > 0 ? ctx->out[0] : NULL;
        job.y_h = ctx->n_out > 1 ? ctx->out[1] : NULL;
        job.y_c = ctx->n_out > 2 ? ctx->out[2] : NULL;
        st = compute == KILN_FLOAT64 ? kiln_rnn_compute_f64(&job) : kiln_rnn_compute_f32(&job);
    }
    staged_free(&s);
    return st;
}

const kiln_cpu_kernel kiln_cpu_recurrent[] = {
    {"RNN", run_recurrent},
    {"GRU", run_recurrent},
    {"LSTM", run_recurrent},
    {NULL, NULL},
};
