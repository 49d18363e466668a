/*
 * resize_sample_signal.c - parameters and shape inference of the signal
 * ops: DFT (opsets 17 and 20), STFT, HannWindow, HammingWindow,
 * BlackmanWindow and MelWeightMatrix. Their output shapes depend on input
 * values (lengths, axes), so dims stay unknown until those are known.
 */
#include "core/dtype.h"
#include "ir/infer/infer_util.h"
#include "ir/infer/resize_sample_params.h"

/* Lengths past this are refused before any arithmetic on them. */
#define SIG_MAX_LEN ((int64_t)1 << 40)

/* An optional integer scalar input: 1 with *v set, 0 absent, -1 unknown. */
static kiln_status int_scalar(const kiln_op_ctx *ctx, int i, const char *what, int64_t *v, int *state)
{
    const kiln_tensor *t = i < ctx->n_in ? ctx->in[i] : NULL;
    *state = 0;
    if (!t)
        return KILN_OK;
    if (!kiln_dtype_is_int(t->dtype))
        return kiln_unsupported_dtype(ctx, what, t->dtype);
    int64_t n = kiln_tensor_numel(t);
    if (n < 0 || !t->data) {
        *state = -1;
        return KILN_OK;
    }
    if (n != 1)
        return kiln_error(KILN_ERR_SHAPE, "%s must be a scalar, not %lld values", what, (long long)n);
    *v = kiln_load_i64(t->data, t->dtype, 0);
    if (*v < -SIG_MAX_LEN || *v > SIG_MAX_LEN)
        return kiln_error(KILN_ERR_LIMIT, "%s %lld is out of range", what, (long long)*v);
    *state = 1;
    return KILN_OK;
}

static kiln_status dft_axis(const kiln_op_ctx *ctx, int rank, kiln_dft_params *p)
{
    int64_t axis = ctx->opset >= 20 ? -2 : kiln_attr_int(ctx->node, "axis", 1);
    int state = 0;
    if (ctx->opset >= 20)
        KILN_TRY(int_scalar(ctx, 2, "axis", &axis, &state));
    if (state < 0 || rank < 0) {
        p->axis = -1;
        return KILN_OK;
    }
    if (axis < -rank || axis >= rank - 1 || axis == -1)
        return kiln_error(KILN_ERR_SHAPE, "DFT axis %lld is out of range for rank %d", (long long)axis, rank);
    p->axis = (int)(axis < 0 ? axis + rank : axis);
    return KILN_OK;
}

kiln_status kiln_dft_params_parse(const kiln_op_ctx *ctx, kiln_dft_params *p)
{
    const kiln_tensor *x = ctx->in[0];
    if (x->rank >= 0 &&
        (x->rank < 2 || (x->dims[x->rank - 1] != 1 && x->dims[x->rank - 1] != 2 && x->dims[x->rank - 1] >= 0)))
        return kiln_error(KILN_ERR_SHAPE, "DFT input must have rank >= 2 and a last dim of 1 (real) or 2 (complex)");
    p->inverse = kiln_attr_int(ctx->node, "inverse", 0) != 0;
    p->onesided = kiln_attr_int(ctx->node, "onesided", 0) != 0;
    p->out_last = p->inverse && p->onesided ? 1 : 2;
    KILN_TRY(dft_axis(ctx, x->rank, p));
    int state;
    KILN_TRY(int_scalar(ctx, 1, "dft_length", &p->n, &state));
    if (state == 0) {
        int64_t len = p->axis >= 0 ? x->dims[p->axis] : -1;
        p->n = len < 0 ? -1 : p->inverse && p->onesided ? 2 * (len - 1) : len;
    } else if (state < 0) {
        p->n = -1;
    }
    if (state > 0 && p->n < 1)
        return kiln_error(KILN_ERR_SHAPE, "dft_length %lld must be positive", (long long)p->n);
    p->out_len = p->n < 0 ? -1 : p->onesided && !p->inverse ? p->n / 2 + 1 : p->n;
    return KILN_OK;
}

kiln_status kiln_infer_dft(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    if (!kiln_is_std_float(ctx->in[0]->dtype))
        return kiln_unsupported_dtype(ctx, "input", ctx->in[0]->dtype);
    kiln_dft_params p;
    KILN_TRY(kiln_dft_params_parse(ctx, &p));
    const kiln_tensor *x = ctx->in[0];
    int64_t dims[KILN_MAX_RANK];
    for (int d = 0; d < x->rank; d++)
        dims[d] = p.axis < 0 ? KILN_DIM_UNKNOWN : d == p.axis ? p.out_len : x->dims[d];
    if (x->rank > 0)
        dims[x->rank - 1] = p.out_last;
    kiln_infer_set(ctx, 0, x->dtype, x->rank, dims);
    return KILN_OK;
}

static kiln_status stft_lengths(const kiln_op_ctx *ctx, kiln_stft_params *p)
{
    const kiln_tensor *x = ctx->in[0], *w = ctx->n_in > 2 ? ctx->in[2] : NULL;
    int st_step, st_len;
    KILN_TRY(int_scalar(ctx, 1, "frame_step", &p->step, &st_step));
    KILN_TRY(int_scalar(ctx, 3, "frame_length", &p->frame_length, &st_len));
    if (st_step == 0)
        return kiln_error(KILN_ERR_GRAPH, "STFT needs frame_step");
    if (st_step > 0 && p->step < 1)
        return kiln_error(KILN_ERR_SHAPE, "frame_step %lld must be positive", (long long)p->step);
    if (st_step < 0)
        p->step = -1;
    if (w && w->rank != 1 && w->rank >= 0)
        return kiln_error(KILN_ERR_SHAPE, "the STFT window must be 1-D");
    if (st_len < 0)
        p->frame_length = -1;
    else if (st_len == 0)
        p->frame_length = w ? (w->rank == 1 ? w->dims[0] : -1) : x->dims[1];
    if (st_len > 0 && w && w->rank == 1 && w->dims[0] >= 0 && w->dims[0] != p->frame_length)
        return kiln_error(KILN_ERR_SHAPE, "the window has %lld values, frame_length is %lld", (long long)w->dims[0],
                          (long long)p->frame_length);
    if (st_len > 0 && p->frame_length < 1)
        return kiln_error(KILN_ERR_SHAPE, "frame_length %lld must be positive", (long long)p->frame_length);
    return KILN_OK;
}

kiln_status kiln_stft_params_parse(const kiln_op_ctx *ctx, kiln_stft_params *p)
{
    const kiln_tensor *x = ctx->in[0];
    if (x->rank < 0) {
        *p = (kiln_stft_params){-1, -1, -1, -1, kiln_attr_int(ctx->node, "onesided", 1) != 0};
        return KILN_OK;
    }
    if (x->rank != 3 || (x->dims[2] != 1 && x->dims[2] != 2 && x->dims[2] >= 0))
        return kiln_error(KILN_ERR_SHAPE, "STFT needs a signal of shape (batch, length, 1 or 2)");
    p->onesided = kiln_attr_int(ctx->node, "onesided", 1) != 0;
    KILN_TRY(stft_lengths(ctx, p));
    int64_t len = x->dims[1], fl = p->frame_length;
    p->frames = -1;
    if (len >= 0 && fl > 0 && p->step > 0) {
        int64_t diff = len - fl;
        /* floor division, as ONNX's reference; no frame fits when negative */
        p->frames = diff < 0 ? 0 : diff / p->step + 1;
    }
    p->bins = fl < 0 ? -1 : p->onesided ? fl / 2 + 1 : fl;
    return KILN_OK;
}

kiln_status kiln_infer_stft(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(kiln_need_input(ctx, 1));
    if (!kiln_is_std_float(ctx->in[0]->dtype))
        return kiln_unsupported_dtype(ctx, "signal", ctx->in[0]->dtype);
    kiln_stft_params p;
    KILN_TRY(kiln_stft_params_parse(ctx, &p));
    int64_t dims[4] = {ctx->in[0]->rank == 3 ? ctx->in[0]->dims[0] : KILN_DIM_UNKNOWN, p.frames, p.bins, 2};
    kiln_infer_set(ctx, 0, ctx->in[0]->dtype, 4, dims);
    return KILN_OK;
}

static int window_out_type(kiln_dtype dt)
{
    return kiln_is_std_float(dt) || (kiln_dtype_is_int(dt) && !kiln_dtype_is_subbyte(dt));
}

kiln_status kiln_infer_window(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    kiln_dtype out = (kiln_dtype)kiln_attr_int(ctx->node, "output_datatype", KILN_FLOAT32);
    if (!window_out_type(out))
        return kiln_unsupported_dtype(ctx, "output", out);
    int64_t size = 0;
    int state;
    KILN_TRY(int_scalar(ctx, 0, "size", &size, &state));
    if (state > 0 && size < 0)
        return kiln_error(KILN_ERR_SHAPE, "window size %lld is negative", (long long)size);
    int64_t dims[1] = {state > 0 ? size : KILN_DIM_UNKNOWN};
    kiln_infer_set(ctx, 0, out, 1, dims);
    return KILN_OK;
}

kiln_status kiln_infer_mel_weight_matrix(kiln_op_ctx *ctx)
{
    for (int i = 0; i < 5; i++)
        KILN_TRY(kiln_need_input(ctx, i));
    kiln_dtype out = (kiln_dtype)kiln_attr_int(ctx->node, "output_datatype", KILN_FLOAT32);
    if (!window_out_type(out))
        return kiln_unsupported_dtype(ctx, "output", out);
    int64_t mel = 0, dft = 0;
    int s_mel, s_dft;
    KILN_TRY(int_scalar(ctx, 0, "num_mel_bins", &mel, &s_mel));
    KILN_TRY(int_scalar(ctx, 1, "dft_length", &dft, &s_dft));
    if ((s_mel > 0 && mel < 1) || (s_dft > 0 && dft < 1))
        return kiln_error(KILN_ERR_SHAPE, "num_mel_bins and dft_length must be positive");
    int64_t dims[2] = {s_dft > 0 ? dft / 2 + 1 : KILN_DIM_UNKNOWN, s_mel > 0 ? mel : KILN_DIM_UNKNOWN};
    kiln_infer_set(ctx, 0, out, 2, dims);
    return KILN_OK;
}
