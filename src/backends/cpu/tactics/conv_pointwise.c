/*
 * conv_pointwise.c - 1x1, stride-1, unpadded, ungrouped convolutions as one
 * sgemm per image on the NCHW data in place: Y_n (M x HW) = W (M x C) *
 * X_n (C x HW), the bias filled in first (kiln_sgemm splits each product
 * over the thread pool; a batch that divides evenly over the threads is
 * split by image instead).
 */
#include "backends/cpu/cpu_gemm.h"
#include "backends/cpu/tactics/conv_tactics.h"
#include "core/thread_pool.h"

static bool pointwise_shape(const kiln_op_ctx *ctx, kiln_ct_conv *c)
{
    if (!kiln_ct_basic(ctx, c) || c->group != 1)
        return false;
    for (int i = 0; i < 2; i++)
        if (c->win.kernel[i] != 1 || c->win.stride[i] != 1 || c->win.pad_begin[i] != 0 || c->win.pad_end[i] != 0)
            return false;
    int64_t cols = c->win.out[0] * c->win.out[1];
    return c->batch > 0 && cols > 0 && cols <= INT32_MAX && c->channels > 0 && c->channels <= INT32_MAX && c->filters > 0 &&
           c->filters <= INT32_MAX;
}

bool kiln_ct_pointwise_supports(const kiln_op_ctx *ctx)
{
    kiln_ct_conv c;
    return pointwise_shape(ctx, &c);
}

size_t kiln_ct_pointwise_workspace(const kiln_op_ctx *ctx)
{
    (void)ctx;
    return 0;
}

static void fill_bias(float *y, const float *b, int64_t rows, int64_t len)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < len; i++)
            y[r * len + i] = b ? b[r] : 0.0f;
}

/* Images [begin, end): the bias, then the product. */
static void pointwise_images(void *user, int64_t begin, int64_t end, int thread)
{
    const kiln_ct_conv *c = user;
    int64_t hw = c->win.out[0] * c->win.out[1];
    (void)thread;
    for (int64_t b = begin; b < end; b++) {
        const float *x = c->x + b * c->channels * hw;
        float *y = c->y + b * c->filters * hw;
        fill_bias(y, c->b, c->filters, hw);
        kiln_sgemm(0, 0, c->filters, hw, c->channels, 1.0f, c->w, c->channels, x, hw, 1.0f, y, hw);
    }
}

kiln_status kiln_ct_pointwise_core(const kiln_ct_conv *c, void *workspace)
{
    (void)workspace;
    /* images spread evenly over the threads each take one thread's sgemm;
     * otherwise kiln_sgemm splits each product */
    int threads = kiln_thread_pool_threads();
    if (c->batch > 1 && (c->batch % threads == 0 || c->batch >= 4 * threads))
        kiln_parallel_for(c->batch, pointwise_images, (void *)c);
    else
        pointwise_images((void *)c, 0, c->batch, 0);
    return KILN_OK;
}
