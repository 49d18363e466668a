/*
 * conv_pointwise.c - 1x1, stride-1, unpadded, ungrouped convolutions as one
 * sgemm per image on the NCHW data in place: Y_n (M x HW) = W (M x C) *
 * X_n (C x HW); each finished tile of the product gets its bias (and, for
 * FusedConv, its residual and activation) while still in cache, so the
 * output is written once (kiln_sgemm splits each product over the thread
 * pool; a batch that divides evenly over the threads is split by image
 * instead).
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

/* One image's product and what follows it, tile by tile. */
typedef struct pointwise_job {
    const kiln_ct_conv *c;
    const kiln_epilogue *e; /* FusedConv's activation, or NULL */
    const float *add;       /* FusedConv's residual (the output's shape), or NULL */
    int64_t image;
} pointwise_job;

/* The bias, residual and activation of one finished tile of one image. */
static void finish_tile(void *user, int64_t r0, int64_t rows, int64_t c0, int64_t cols, float *y, int64_t ldc)
{
    const pointwise_job *j = user;
    const float *b = j->c->b;
    int64_t hw = j->c->win.out[0] * j->c->win.out[1];
    for (int64_t r = 0; r < rows; r++) {
        float *row = y + r * ldc;
        if (b) {
            float bias = b[r0 + r];
            for (int64_t i = 0; i < cols; i++)
                row[i] += bias;
        }
        if (j->e)
            kiln_epilogue_apply_add_f32(j->e, row,
                                        j->add ? j->add + (j->image * j->c->filters + r0 + r) * hw + c0 : NULL, cols);
    }
}

static void pointwise_image(const pointwise_job *proto, int64_t image)
{
    const kiln_ct_conv *c = proto->c;
    int64_t hw = c->win.out[0] * c->win.out[1];
    pointwise_job j = *proto;
    j.image = image;
    kiln_sgemm_then(0, 0, c->filters, hw, c->channels, 1.0f, c->w, c->channels, c->x + image * c->channels * hw, hw,
                    0.0f, c->y + image * c->filters * hw, hw, finish_tile, &j);
}

/* Images [begin, end), each on this thread. */
static void pointwise_images(void *user, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    for (int64_t b = begin; b < end; b++)
        pointwise_image(user, b);
}

static void pointwise_run(const pointwise_job *job)
{
    /* images spread evenly over the threads each take one thread's sgemm;
     * otherwise kiln_sgemm splits each product */
    const kiln_ct_conv *c = job->c;
    int threads = kiln_thread_pool_threads();
    if (c->batch > 1 && (c->batch % threads == 0 || c->batch >= 4 * threads))
        kiln_parallel_for(c->batch, pointwise_images, (void *)job);
    else
        pointwise_images((void *)job, 0, c->batch, 0);
}

kiln_status kiln_ct_pointwise_core(const kiln_ct_conv *c, void *workspace)
{
    return kiln_ct_pointwise_epilogue_core(c, NULL, NULL, workspace);
}

kiln_status kiln_ct_pointwise_epilogue_core(const kiln_ct_conv *c, const kiln_epilogue *e, const float *add,
                                            void *workspace)
{
    (void)workspace;
    pointwise_job job = {c, e, add, 0};
    pointwise_run(&job);
    return KILN_OK;
}
