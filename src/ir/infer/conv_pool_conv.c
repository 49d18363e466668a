/*
 * conv_pool_conv.c - shape inference for the convolutions: Conv,
 * ConvTranspose, ConvInteger, QLinearConv and DeformConv.
 */
#include "core/dtype.h"
#include "ir/infer/conv_pool_geometry.h"
#include "ir/infer/conv_pool_infer.h"
#include "ir/infer/infer_util.h"

/* Input i, when present, must have dtype dt. */
static kiln_status need_dtype(const kiln_op_ctx *ctx, int i, kiln_dtype dt)
{
    if (i < ctx->n_in && ctx->in[i] && ctx->in[i]->dtype != dt)
        return kiln_error(KILN_ERR_SHAPE, "input %d has dtype %s, expected %s like its partner", i,
                          kiln_dtype_name(ctx->in[i]->dtype) ? kiln_dtype_name(ctx->in[i]->dtype) : "(invalid)",
                          kiln_dtype_name(dt));
    return KILN_OK;
}

/* Input i, when present, must be a 1-D tensor of `len` elements (a vector
 * over output channels), or also a scalar when scalar_ok. */
static kiln_status need_vector(const kiln_op_ctx *ctx, int i, int64_t len, int scalar_ok, const char *what)
{
    if (i >= ctx->n_in || !ctx->in[i] || ctx->in[i]->rank < 0)
        return KILN_OK;
    const kiln_tensor *t = ctx->in[i];
    if (scalar_ok && (t->rank == 0 || (t->rank == 1 && t->dims[0] == 1)))
        return KILN_OK;
    if (t->rank != 1)
        return kiln_error(KILN_ERR_SHAPE, "input %d (%s) has rank %d, expected 1", i, what, t->rank);
    if (len >= 0 && t->dims[0] >= 0 && t->dims[0] != len)
        return kiln_error(KILN_ERR_SHAPE, "input %d (%s) has %lld elements, expected %lld", i, what,
                          (long long)t->dims[0], (long long)len);
    return KILN_OK;
}

/* Input i, when present, must hold a single element. */
static kiln_status need_scalar(const kiln_op_ctx *ctx, int i, const char *what)
{
    if (i >= ctx->n_in || !ctx->in[i])
        return KILN_OK;
    int64_t n = kiln_tensor_numel(ctx->in[i]);
    if (ctx->in[i]->rank > 1 || (n >= 0 && n != 1))
        return kiln_error(KILN_ERR_SHAPE, "input %d (%s) must be a scalar", i, what);
    return KILN_OK;
}

static int64_t weight_dim(const kiln_op_ctx *ctx, int wi, int d)
{
    const kiln_tensor *w = ctx->in[wi];
    return w->rank > d ? w->dims[d] : KILN_DIM_UNKNOWN;
}

/* Sets out[0] to the conv-style output shape of X (input 0) and W (input
 * wi), with dtype dt. */
static kiln_status set_conv_out(kiln_op_ctx *ctx, int wi, kiln_dtype dt)
{
    int rank;
    int64_t dims[KILN_MAX_RANK];
    KILN_TRY(kiln_conv_output_shape(ctx, 0, wi, &rank, dims));
    kiln_infer_set(ctx, 0, dt, rank, dims);
    return KILN_OK;
}

kiln_status kiln_infer_conv(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(kiln_need_input(ctx, 1));
    kiln_dtype dt = ctx->in[0]->dtype;
    if (!kiln_is_std_float(dt))
        return kiln_unsupported_dtype(ctx, "input 0", dt);
    KILN_TRY(need_dtype(ctx, 1, dt));
    KILN_TRY(need_dtype(ctx, 2, dt));
    KILN_TRY(need_vector(ctx, 2, weight_dim(ctx, 1, 0), 0, "B"));
    return set_conv_out(ctx, 1, dt);
}

kiln_status kiln_infer_conv_transpose(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(kiln_need_input(ctx, 1));
    const kiln_tensor *x = ctx->in[0], *w = ctx->in[1];
    kiln_dtype dt = x->dtype;
    if (!kiln_is_std_float(dt))
        return kiln_unsupported_dtype(ctx, "input 0", dt);
    KILN_TRY(need_dtype(ctx, 1, dt));
    KILN_TRY(need_dtype(ctx, 2, dt));
    int64_t dims[KILN_MAX_RANK];
    if (x->rank < 0) {
        kiln_infer_set_unknown(ctx, 0, dt, w->rank);
        return KILN_OK;
    }
    kiln_window win;
    int64_t group;
    KILN_TRY(kiln_conv_transpose_geometry(ctx, &win, &group));
    dims[0] = x->dims[0];
    dims[1] = kiln_dim_mul(weight_dim(ctx, 1, 1), group);
    KILN_TRY(need_vector(ctx, 2, dims[1], 0, "B"));
    for (int i = 0; i < win.n; i++)
        dims[2 + i] = win.out[i];
    kiln_infer_set(ctx, 0, dt, x->rank, dims);
    return KILN_OK;
}

kiln_status kiln_infer_conv_integer(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(kiln_need_input(ctx, 1));
    if (!kiln_is_8bit(ctx->in[0]->dtype))
        return kiln_unsupported_dtype(ctx, "input 0", ctx->in[0]->dtype);
    if (!kiln_is_8bit(ctx->in[1]->dtype))
        return kiln_unsupported_dtype(ctx, "input 1", ctx->in[1]->dtype);
    KILN_TRY(need_dtype(ctx, 2, ctx->in[0]->dtype));
    KILN_TRY(need_dtype(ctx, 3, ctx->in[1]->dtype));
    KILN_TRY(need_scalar(ctx, 2, "x_zero_point"));
    KILN_TRY(need_vector(ctx, 3, weight_dim(ctx, 1, 0), 1, "w_zero_point"));
    return set_conv_out(ctx, 1, KILN_INT32);
}

kiln_status kiln_infer_qlinear_conv(kiln_op_ctx *ctx)
{
    for (int i = 0; i < 8; i++)
        KILN_TRY(kiln_need_input(ctx, i));
    kiln_dtype xt = ctx->in[0]->dtype, wt = ctx->in[3]->dtype, yt = ctx->in[7]->dtype;
    if (!kiln_is_8bit(xt))
        return kiln_unsupported_dtype(ctx, "input 0", xt);
    if (!kiln_is_8bit(wt))
        return kiln_unsupported_dtype(ctx, "input 3", wt);
    if (!kiln_is_8bit(yt))
        return kiln_unsupported_dtype(ctx, "input 7", yt);
    KILN_TRY(need_dtype(ctx, 2, xt));
    KILN_TRY(need_dtype(ctx, 5, wt));
    KILN_TRY(need_dtype(ctx, 1, KILN_FLOAT32));
    KILN_TRY(need_dtype(ctx, 4, KILN_FLOAT32));
    KILN_TRY(need_dtype(ctx, 6, KILN_FLOAT32));
    KILN_TRY(need_dtype(ctx, 8, KILN_INT32));
    int64_t m = weight_dim(ctx, 3, 0);
    KILN_TRY(need_scalar(ctx, 1, "x_scale"));
    KILN_TRY(need_scalar(ctx, 2, "x_zero_point"));
    KILN_TRY(need_vector(ctx, 4, m, 1, "w_scale"));
    KILN_TRY(need_vector(ctx, 5, m, 1, "w_zero_point"));
    KILN_TRY(need_scalar(ctx, 6, "y_scale"));
    KILN_TRY(need_scalar(ctx, 7, "y_zero_point"));
    KILN_TRY(need_vector(ctx, 8, m, 0, "B"));
    return set_conv_out(ctx, 3, yt);
}

/* offset (N, offset_group * n * K, out...) and mask (N, offset_group * K,
 * out...) against the convolution's geometry. */
static kiln_status check_deform_input(const kiln_op_ctx *ctx, int i, const kiln_window *w, int64_t per_group,
                                      const char *what)
{
    if (i >= ctx->n_in || !ctx->in[i] || ctx->in[i]->rank < 0)
        return KILN_OK;
    const kiln_tensor *t = ctx->in[i];
    if (t->rank != w->n + 2)
        return kiln_error(KILN_ERR_SHAPE, "input %d (%s) has rank %d, expected %d", i, what, t->rank, w->n + 2);
    int64_t offset_group = kiln_attr_int(ctx->node, "offset_group", 1);
    int64_t k = 1;
    for (int d = 0; d < w->n; d++)
        k = kiln_dim_mul(k, w->kernel[d]);
    int64_t channels = kiln_dim_mul(kiln_dim_mul(offset_group, per_group), k);
    if (channels >= 0 && t->dims[1] >= 0 && t->dims[1] != channels)
        return kiln_error(KILN_ERR_SHAPE, "input %d (%s) has %lld channels, expected %lld", i, what,
                          (long long)t->dims[1], (long long)channels);
    for (int d = 0; d < w->n; d++)
        if (w->out[d] >= 0 && t->dims[2 + d] >= 0 && t->dims[2 + d] != w->out[d])
            return kiln_error(KILN_ERR_SHAPE, "input %d (%s) has extent %lld on spatial axis %d, the output %lld", i,
                              what, (long long)t->dims[2 + d], d, (long long)w->out[d]);
    return KILN_OK;
}

kiln_status kiln_infer_deform_conv(kiln_op_ctx *ctx)
{
    for (int i = 0; i < 3; i++)
        KILN_TRY(kiln_need_input(ctx, i));
    kiln_dtype dt = ctx->in[0]->dtype;
    if (!kiln_is_std_float(dt))
        return kiln_unsupported_dtype(ctx, "input 0", dt);
    for (int i = 1; i < 5; i++)
        KILN_TRY(need_dtype(ctx, i, dt));
    int64_t offset_group = kiln_attr_int(ctx->node, "offset_group", 1);
    if (offset_group < 1)
        return kiln_error(KILN_ERR_SHAPE, "attribute offset_group is %lld, expected at least 1",
                          (long long)offset_group);
    if (ctx->in[0]->rank >= 2 && ctx->in[0]->dims[1] >= 0 && ctx->in[0]->dims[1] % offset_group != 0)
        return kiln_error(KILN_ERR_SHAPE, "input 0 has %lld channels, not divisible by offset_group %lld",
                          (long long)ctx->in[0]->dims[1], (long long)offset_group);
    KILN_TRY(need_vector(ctx, 3, weight_dim(ctx, 1, 0), 0, "B"));
    int rank;
    int64_t dims[KILN_MAX_RANK];
    KILN_TRY(kiln_conv_output_shape(ctx, 0, 1, &rank, dims));
    if (rank >= 3 && ctx->in[0]->rank >= 0) {
        kiln_window w;
        int64_t group;
        KILN_TRY(kiln_conv_geometry(ctx, 0, 1, &w, &group));
        KILN_TRY(check_deform_input(ctx, 2, &w, w.n, "offset"));
        KILN_TRY(check_deform_input(ctx, 4, &w, 1, "mask"));
    }
    kiln_infer_set(ctx, 0, dt, rank, dims);
    return KILN_OK;
}
