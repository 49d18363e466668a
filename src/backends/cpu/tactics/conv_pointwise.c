/*
 * conv_pointwise.c - 1x1, stride-1, unpadded, ungrouped convolutions as a
 * single sgemm over the whole batch: Y (M x N*HW) = W (M x C) * X (C x N*HW).
 * One image needs no packing; several are packed channel-major into the
 * workspace first and the product unpacked (with the bias) afterwards.
 */
#include <cblas.h>
#include <string.h>

#include "backends/cpu/tactics/conv_tactics.h"
#include "backends/cpu/cpu_gemm.h"

static bool pointwise_shape(const kiln_op_ctx *ctx, kiln_ct_conv *c)
{
    if (!kiln_ct_basic(ctx, c) || c->group != 1)
        return false;
    for (int i = 0; i < 2; i++)
        if (c->win.kernel[i] != 1 || c->win.stride[i] != 1 || c->win.pad_begin[i] != 0 || c->win.pad_end[i] != 0)
            return false;
    int64_t cols = c->batch * c->win.out[0] * c->win.out[1];
    return cols > 0 && cols <= INT32_MAX && c->channels > 0 && c->channels <= INT32_MAX && c->filters > 0 &&
           c->filters <= INT32_MAX;
}

bool kiln_ct_pointwise_supports(const kiln_op_ctx *ctx)
{
    kiln_ct_conv c;
    return pointwise_shape(ctx, &c);
}

size_t kiln_ct_pointwise_workspace(const kiln_op_ctx *ctx)
{
    kiln_ct_conv c;
    if (!pointwise_shape(ctx, &c) || c.batch == 1)
        return 0;
    return (size_t)((c.channels + c.filters) * c.batch * c.win.out[0] * c.win.out[1]) * sizeof(float);
}

static void fill_bias(float *y, const float *b, int64_t rows, int64_t len, int64_t ld)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < len; i++)
            y[r * ld + i] = b ? b[r] : 0.0f;
}

kiln_status kiln_ct_pointwise_core(const kiln_ct_conv *c, void *workspace)
{
    int64_t hw = c->win.out[0] * c->win.out[1], n = c->batch, cols = n * hw;
    const float *x = c->x;
    float *y = c->y;
    if (n > 1) {
        float *xp = workspace, *yp = xp + c->channels * cols;
        for (int64_t b = 0; b < n; b++)
            for (int64_t ch = 0; ch < c->channels; ch++)
                memcpy(xp + ch * cols + b * hw, c->x + (b * c->channels + ch) * hw, (size_t)hw * sizeof(float));
        x = xp;
        y = yp;
    }
    fill_bias(y, c->b, c->filters, cols, cols);
    kiln_sgemm(0, 0, c->filters, cols, c->channels, 1.0f, c->w, c->channels, x, cols, 1.0f, y, cols);
    if (n > 1)
        for (int64_t b = 0; b < n; b++)
            for (int64_t m = 0; m < c->filters; m++)
                memcpy(c->y + (b * c->filters + m) * hw, y + m * cols + b * hw, (size_t)hw * sizeof(float));
    return KILN_OK;
}
