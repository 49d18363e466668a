/*
 * nhwc_pool.c - CPU kernels of kiln's channels-last pools (domain "kiln",
 * shapes in ir/infer/nhwc_pool.c): NhwcMaxPool, NhwcAveragePool,
 * NhwcGlobalAveragePool and NhwcGlobalMaxPool, float32 only. The windowed
 * pools split the N * OH output rows over the thread pool, the global pools
 * the (image, block of channels) pairs; the loops are in
 * nhwc_pool_kernels.c.
 */
#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/ops/conv_pool_cols.h"
#include "backends/cpu/ops/nhwc_pool_kernels.h"
#include "core/thread_pool.h"
#include "ir/infer/infer_util.h"

/* Input elements worth splitting off to another thread. */
#define POOL_GRAIN 16384
/* Channels of one global-pool task. */
#define GLOBAL_BLOCK 64

/* X is a float32 rank-4 tensor. */
static kiln_status check_input(const kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 4, 4));
    if (ctx->in[0]->dtype != KILN_FLOAT32)
        return kiln_unsupported_dtype(ctx, "input 0", ctx->in[0]->dtype);
    return KILN_OK;
}

/* Y was allocated as float32 with dims. */
static kiln_status check_output(const kiln_op_ctx *ctx, const int64_t *dims)
{
    KILN_TRY(kiln_cp_check_out(ctx, 0, 4, dims));
    if (ctx->out[0]->dtype != KILN_FLOAT32)
        return kiln_unsupported_dtype(ctx, "output 0", ctx->out[0]->dtype);
    return KILN_OK;
}

typedef void (*pool_row_fn)(const kiln_nhwc_pool_f32 *p, int64_t r);

typedef struct row_job {
    kiln_nhwc_pool_f32 pool;
    pool_row_fn row;
} row_job;

static void pool_rows(void *user, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const row_job *job = user;
    for (int64_t r = begin; r < end; r++)
        job->row(&job->pool, r);
}

/* A windowed pool: geometry over (H, W), checks, then every output row. */
static kiln_status window_pool(kiln_op_ctx *ctx, pool_row_fn row, int count_include_pad)
{
    KILN_TRY(check_input(ctx));
    const kiln_tensor *x = ctx->in[0];
    kiln_window w;
    int64_t in[2] = {x->dims[1], x->dims[2]};
    KILN_TRY(kiln_window_read(ctx, 2, NULL, &w));
    KILN_TRY(kiln_window_forward(&w, in));
    int64_t dims[4] = {x->dims[0], w.out[0], w.out[1], x->dims[3]};
    KILN_TRY(check_output(ctx, dims));
    row_job job = {{&w, x->dims[3], count_include_pad, x->data, ctx->out[0]->data}, row};
    int64_t rows = dims[0] * dims[1];
    /* the kernel comes from attributes: keep the per-row estimate bounded */
    int64_t taps = w.kernel[0] * w.kernel[1] < POOL_GRAIN ? w.kernel[0] * w.kernel[1] : POOL_GRAIN;
    int64_t row_work = dims[2] * dims[3] * taps;
    if (rows > 0 && dims[2] > 0 && dims[3] > 0)
        kiln_parallel_for_grain(rows, row_work > 0 ? POOL_GRAIN / row_work + 1 : 1, pool_rows, &job);
    return KILN_OK;
}

static kiln_status nhwc_max_pool(kiln_op_ctx *ctx)
{
    return window_pool(ctx, kiln_nhwc_max_row_f32, 0);
}

static kiln_status nhwc_average_pool(kiln_op_ctx *ctx)
{
    int64_t cip = kiln_attr_int(ctx->node, "count_include_pad", 0);
    if (cip != 0 && cip != 1)
        return kiln_error(KILN_ERR_UNSUPPORTED, "attribute count_include_pad is %lld, expected 0 or 1", (long long)cip);
    return window_pool(ctx, kiln_nhwc_avg_row_f32, (int)cip);
}

typedef void (*global_fn)(const float *x, int64_t pixels, int64_t stride, int64_t n, float *y);

typedef struct global_job {
    const float *x;
    float *y;
    int64_t pixels, channels, blocks; /* H * W, C, blocks of GLOBAL_BLOCK channels per image */
    global_fn run;
} global_job;

/* Tasks [begin, end): task t is image t / blocks, channel block t % blocks. */
static void global_tasks(void *user, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const global_job *g = user;
    for (int64_t t = begin; t < end; t++) {
        int64_t n = t / g->blocks, c0 = (t % g->blocks) * GLOBAL_BLOCK;
        int64_t nc = g->channels - c0 < GLOBAL_BLOCK ? g->channels - c0 : GLOBAL_BLOCK;
        g->run(g->x + n * g->pixels * g->channels + c0, g->pixels, g->channels, nc, g->y + n * g->channels + c0);
    }
}

static kiln_status global_pool(kiln_op_ctx *ctx, global_fn run)
{
    KILN_TRY(check_input(ctx));
    const kiln_tensor *x = ctx->in[0];
    int64_t dims[4] = {x->dims[0], 1, 1, x->dims[3]};
    KILN_TRY(check_output(ctx, dims));
    global_job g = {x->data, ctx->out[0]->data, x->dims[1] * x->dims[2], x->dims[3], 0, run};
    g.blocks = (g.channels + GLOBAL_BLOCK - 1) / GLOBAL_BLOCK;
    int64_t task_work = g.pixels * GLOBAL_BLOCK;
    if (dims[0] > 0 && g.blocks > 0)
        kiln_parallel_for_grain(dims[0] * g.blocks, task_work > 0 ? POOL_GRAIN / task_work + 1 : 1, global_tasks, &g);
    return KILN_OK;
}

static kiln_status nhwc_global_average_pool(kiln_op_ctx *ctx)
{
    return global_pool(ctx, kiln_nhwc_global_avg_f32);
}

static kiln_status nhwc_global_max_pool(kiln_op_ctx *ctx)
{
    return global_pool(ctx, kiln_nhwc_global_max_f32);
}

const kiln_cpu_kernel kiln_cpu_nhwc_pool[] = {
    {"NhwcMaxPool", nhwc_max_pool},
    {"NhwcAveragePool", nhwc_average_pool},
    {"NhwcGlobalAveragePool", nhwc_global_average_pool},
    {"NhwcGlobalMaxPool", nhwc_global_max_pool},
    {NULL, NULL},
};
