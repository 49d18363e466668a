/*
 * conv_nhwc_gemm.c - NhwcConv as matrix products, for every float32 2-D
 * case. Channels-last data makes each output pixel one row of a product:
 *  - 1x1 kernels at stride 1 without padding read X in place: per group g,
 *    Y[:, g's filters] (N*H*W x M/group) = X[:, g's channels] (N*H*W x
 *    C/group, row stride C) . W[:, g's filters] (C/group x M/group, row
 *    stride M); with one group that is the single product Y = X . W.
 *  - every other window goes through a channels-last im2col of a block of
 *    output pixels in the workspace: one row per pixel of KH*KW*C/group
 *    values, tap by tap (kh, then kw) a run of the group's C/group channels
 *    copied from X or zeros where the tap lies in the padding. That is the
 *    order of W's rows (HWIO: W[kh][kw][ci][m] is row (kh*KW + kw)*C/group
 *    + ci of a KH*KW*C/group x M matrix), so the block times W's group
 *    columns gives the block's rows of Y.
 * Each finished tile of a product takes bias, residual and activation on
 * the thread that computed it, while in cache (kiln_sgemm_then).
 */
#include <string.h>

#include "backends/cpu/cpu_gemm.h"
#include "backends/cpu/cpu_simd.h"
#include "backends/cpu/tactics/conv_nhwc.h"
#include "core/thread_pool.h"

/* Largest im2col block (at least one row is taken whatever its size). */
#define BLOCK_BYTES ((size_t)8 << 20)
/* Rows per product when X is read in place: the BLAS takes int extents. */
#define MAX_PRODUCT_ROWS ((int64_t)INT32_MAX)
/* Floats copied per chunk of the parallel im2col: a few microseconds. */
#define IM2COL_GRAIN_FLOATS 16384

static bool is_pointwise(const kiln_window *w)
{
    for (int i = 0; i < 2; i++)
        if (w->kernel[i] != 1 || w->stride[i] != 1 || w->pad_begin[i] != 0 || w->pad_end[i] != 0)
            return false;
    return true;
}

static int64_t out_pixels(const kiln_ct_conv *c)
{
    return c->batch * c->win.out[0] * c->win.out[1];
}

/* Values per im2col row, KH*KW*C/group (the products' inner extent). */
static int64_t patch_len(const kiln_ct_conv *c)
{
    return c->win.kernel[0] * c->win.kernel[1] * c->cg;
}

/* Output pixels per im2col block: BLOCK_BYTES (or the allocation ceiling
 * when lower) of rows, at least one, at most every pixel. */
static int64_t block_rows(const kiln_ct_conv *c)
{
    int64_t pixels = out_pixels(c), len = patch_len(c);
    size_t bytes = c->max_bytes < BLOCK_BYTES ? c->max_bytes : BLOCK_BYTES;
    int64_t rows = len > 0 ? (int64_t)(bytes / sizeof(float)) / len : pixels;
    if (rows < 1)
        rows = 1;
    return rows < pixels ? rows : pixels;
}

/* The node as this tactic takes it: float32 2-D with a known activation,
 * and extents the BLAS's int arguments hold. */
static bool gemm_shape(const kiln_op_ctx *ctx, kiln_ct_conv *c)
{
    kiln_epilogue e;
    if (kiln_ct_read_nhwc(ctx, 0, c) != KILN_OK || kiln_epilogue_from_node(ctx->node, &e) != KILN_OK)
        return false;
    int64_t taps = c->win.kernel[0] * c->win.kernel[1]; /* each extent is at most INT32_MAX */
    return taps <= INT32_MAX && (c->cg == 0 || taps <= INT32_MAX / c->cg) && c->channels <= INT32_MAX &&
           c->filters <= INT32_MAX;
}

bool kiln_ct_nhwc_gemm_supports(const kiln_op_ctx *ctx)
{
    kiln_ct_conv c;
    return gemm_shape(ctx, &c);
}

size_t kiln_ct_nhwc_gemm_workspace(const kiln_op_ctx *ctx)
{
    kiln_ct_conv c;
    if (!gemm_shape(ctx, &c) || is_pointwise(&c.win))
        return 0;
    return (size_t)block_rows(&c) * (size_t)patch_len(&c) * sizeof(float);
}

/* One product: rows from output pixel p0 on, the filters of one group. */
typedef struct gemm_job {
    const kiln_ct_conv *c;
    const kiln_epilogue *e;
    const float *add; /* the residual Z (Y's shape), or NULL */
    int64_t p0;       /* output pixel of the product's first row */
    int64_t group;
    float *col; /* the im2col block, patch_len values a row */
} gemm_job;

KILN_SIMD_FN static void add_bias(float *restrict y, const float *restrict b, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] += b[i];
}

/* Bias, residual and activation of a finished tile: rows [r0, r0 + rows)
 * of the product, its columns [c0, c0 + cols) (within the group's filters). */
static void finish_tile(void *user, int64_t r0, int64_t rows, int64_t c0, int64_t cols, float *y, int64_t ldc)
{
    const gemm_job *j = user;
    const kiln_ct_conv *c = j->c;
    int64_t filter = j->group * c->mg + c0;
    for (int64_t r = 0; r < rows; r++) {
        float *row = y + r * ldc;
        int64_t pixel = j->p0 + r0 + r;
        if (c->b)
            add_bias(row, c->b + filter, cols);
        kiln_epilogue_apply_add_f32(j->e, row, j->add ? j->add + pixel * c->filters + filter : NULL, cols);
    }
}

/* im2col rows [begin, end) of the block (pixels p0 + begin ...), over the
 * group's channels. */
static void im2col_rows(void *user, int64_t begin, int64_t end, int thread)
{
    const gemm_job *j = user;
    const kiln_ct_conv *c = j->c;
    const kiln_window *w = &c->win;
    int64_t plane = w->out[0] * w->out[1], len = patch_len(c);
    size_t run = (size_t)c->cg * sizeof(float);
    (void)thread;
    for (int64_t r = begin; r < end; r++) {
        int64_t p = j->p0 + r, n = p / plane, oy = p % plane / w->out[1], ox = p % w->out[1];
        float *dst = j->col + r * len;
        for (int64_t kh = 0; kh < w->kernel[0]; kh++) {
            int64_t iy = oy * w->stride[0] - w->pad_begin[0] + kh * w->dilation[0];
            for (int64_t kw = 0; kw < w->kernel[1]; kw++, dst += c->cg) {
                int64_t ix = ox * w->stride[1] - w->pad_begin[1] + kw * w->dilation[1];
                if (iy < 0 || iy >= w->in[0] || ix < 0 || ix >= w->in[1])
                    memset(dst, 0, run);
                else
                    memcpy(dst, c->x + ((n * w->in[0] + iy) * w->in[1] + ix) * c->channels + j->group * c->cg, run);
            }
        }
    }
}

/* 1x1, stride 1, unpadded: X is the left operand in place. */
static void pointwise_products(gemm_job *j)
{
    const kiln_ct_conv *c = j->c;
    int64_t pixels = out_pixels(c);
    for (int64_t p0 = 0; p0 < pixels; p0 += MAX_PRODUCT_ROWS) {
        int64_t rows = pixels - p0 < MAX_PRODUCT_ROWS ? pixels - p0 : MAX_PRODUCT_ROWS;
        for (int64_t g = 0; g < c->group; g++) {
            j->p0 = p0;
            j->group = g;
            kiln_sgemm_then(0, 0, rows, c->mg, c->cg, 1.0f, c->x + p0 * c->channels + g * c->cg, c->channels,
                            c->w + g * c->mg, c->filters, 0.0f, c->y + p0 * c->filters + g * c->mg, c->filters,
                            finish_tile, j);
        }
    }
}

/* Other windows: im2col block by block, group by group. */
static void im2col_products(gemm_job *j)
{
    const kiln_ct_conv *c = j->c;
    int64_t pixels = out_pixels(c), len = patch_len(c), block = block_rows(c);
    int64_t grain = IM2COL_GRAIN_FLOATS / len > 0 ? IM2COL_GRAIN_FLOATS / len : 1;
    for (int64_t p0 = 0; p0 < pixels; p0 += block) {
        int64_t rows = pixels - p0 < block ? pixels - p0 : block;
        for (int64_t g = 0; g < c->group; g++) {
            j->p0 = p0;
            j->group = g;
            kiln_parallel_for_grain(rows, grain, im2col_rows, j);
            kiln_sgemm_then(0, 0, rows, c->mg, len, 1.0f, j->col, len, c->w + g * c->mg, c->filters, 0.0f,
                            c->y + p0 * c->filters + g * c->mg, c->filters, finish_tile, j);
        }
    }
}

/* No input channels: every output is act(B + Z). */
static void empty_products(gemm_job *j)
{
    const kiln_ct_conv *c = j->c;
    int64_t pixels = out_pixels(c);
    memset(c->y, 0, (size_t)(pixels * c->filters) * sizeof(float));
    j->p0 = 0;
    for (int64_t g = 0; g < c->group; g++) {
        j->group = g;
        finish_tile(j, 0, pixels, 0, c->mg, c->y + g * c->mg, c->filters);
    }
}

kiln_status kiln_ct_nhwc_gemm_core(const kiln_ct_conv *c, const kiln_epilogue *e, const float *add, void *workspace)
{
    gemm_job j = {c, e, add, 0, 0, workspace};
    if (out_pixels(c) == 0 || c->filters == 0)
        return KILN_OK;
    if (patch_len(c) == 0) {
        empty_products(&j);
        return KILN_OK;
    }
    if (is_pointwise(&c->win)) {
        pointwise_products(&j);
        return KILN_OK;
    }
    KILN_CHECK(workspace != NULL);
    im2col_products(&j);
    return KILN_OK;
}
