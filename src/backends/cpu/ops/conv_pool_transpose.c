/*
 * conv_pool_transpose.c - CPU kernels for ConvTranspose (GEMM into columns,
 * then col2im into the output) and Col2Im.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_util.h"
#include "backends/cpu/ops/conv_pool_kernels.h"
#include "core/dtype.h"
#include "ir/infer/conv_pool_infer.h"

/* y = conv_transpose(x, w) + b; the job's win maps X (in) to Y (out). */
static kiln_status conv_transpose_run(const kiln_cp_conv *job)
{
    const kiln_window *w = job->win;
    size_t es = job->esize;
    int64_t in_plane = kiln_cp_prod(w->in, w->n), out_plane = kiln_cp_prod(w->out, w->n);
    int64_t ksize = kiln_cp_prod(w->kernel, w->n);
    int64_t cg = job->channels / job->group, mg = job->filters / job->group;
    void *col;
    KILN_TRY(kiln_cp_alloc_matrix(mg * ksize, in_plane, es, job->max_bytes, "col2im buffer", &col));
    kiln_cp_patches p;
    kiln_cp_patches_transpose(w, &p);
    kiln_status st = KILN_OK;
    for (int64_t b = 0; b < job->batch && st == KILN_OK; b++) {
        for (int64_t g = 0; g < job->group && st == KILN_OK; g++) {
            const char *xg = (const char *)job->x + (size_t)((b * job->channels + g * cg) * in_plane) * es;
            const char *wg = (const char *)job->w + (size_t)(g * cg * mg * ksize) * es;
            char *yg = (char *)job->y + (size_t)((b * job->filters + g * mg) * out_plane) * es;
            /* W holds (C, M/group, kernel...): its group block is (cg x mg*K) */
            st = kiln_cp_gemm(es, 1, mg * ksize, in_plane, cg, wg, xg, 0.0, col);
            kiln_cp_fill_rows(yg, es, mg, out_plane, job->b ? (const char *)job->b + (size_t)(g * mg) * es : NULL);
            if (st == KILN_OK)
                kiln_cp_col2im(&p, mg, es == 4 ? KILN_CP_F32 : KILN_CP_F64, col, yg);
        }
    }
    free(col);
    return st;
}

/* Dtypes and shapes of ConvTranspose's inputs against the geometry; fills
 * the job's shape fields. */
static kiln_status conv_transpose_check(const kiln_op_ctx *ctx, const kiln_window *w, int64_t group, kiln_cp_conv *job)
{
    const kiln_tensor *x = ctx->in[0], *wt = ctx->in[1], *bias = ctx->n_in > 2 ? ctx->in[2] : NULL;
    KILN_TRY(kiln_cp_check_float_conv(ctx));
    job->win = w;
    job->batch = x->dims[0];
    job->channels = x->dims[1];
    job->filters = wt->dims[1] * group;
    job->group = group;
    job->esize = kiln_cp_esize(x->dtype);
    job->max_bytes = ctx->max_bytes;
    if (bias && (bias->rank > 1 || kiln_tensor_numel(bias) != job->filters))
        return kiln_error(KILN_ERR_SHAPE, "input 2 (B) has %lld elements, expected %lld",
                          (long long)kiln_tensor_numel(bias), (long long)job->filters);
    return kiln_cp_check_conv_out(ctx, job);
}

kiln_status kiln_cpu_conv_transpose(kiln_op_ctx *ctx)
{
    kiln_window w;
    kiln_cp_conv job;
    int64_t group;
    KILN_TRY(kiln_conv_transpose_geometry(ctx, &w, &group));
    KILN_TRY(conv_transpose_check(ctx, &w, group, &job));
    return kiln_cp_conv_staged(ctx, &job, conv_transpose_run);
}

/* Col2Im's geometry: block_shape is the kernel, image_shape the image, and
 * the input's columns must be the sliding-block grid. */
static kiln_status col2im_geometry(const kiln_op_ctx *ctx, kiln_window *w, int64_t *channels)
{
    const kiln_tensor *x = ctx->in[0];
    int64_t image[KILN_MAX_RANK], k, blocks;
    if (x->rank != 3)
        return kiln_error(KILN_ERR_SHAPE, "input 0 has rank %d, expected 3", x->rank);
    KILN_TRY(kiln_col2im_window(ctx, image, w, &k, &blocks));
    if (x->dims[1] % k != 0 || x->dims[2] != blocks)
        return kiln_error(KILN_ERR_SHAPE, "input 0 is %lldx%lld, expected a multiple of %lld rows and %lld columns",
                          (long long)x->dims[1], (long long)x->dims[2], (long long)k, (long long)blocks);
    *channels = x->dims[1] / k;
    int64_t dims[KILN_MAX_RANK] = {x->dims[0], *channels};
    for (int i = 0; i < w->n; i++)
        dims[2 + i] = image[i];
    return kiln_cp_check_out(ctx, 0, w->n + 2, dims);
}

kiln_status kiln_cpu_col2im(kiln_op_ctx *ctx)
{
    kiln_window w;
    int64_t channels = 0;
    KILN_TRY(col2im_geometry(ctx, &w, &channels));
    const kiln_tensor *x = ctx->in[0];
    kiln_tensor *y = ctx->out[0];
    kiln_cp_kind kind = x->dtype == KILN_FLOAT64      ? KILN_CP_F64
                        : kiln_is_std_float(x->dtype) ? KILN_CP_F32
                                                      : KILN_CP_I64;
    kiln_dtype work = kind == KILN_CP_F64 ? KILN_FLOAT64 : kind == KILN_CP_F32 ? KILN_FLOAT32 : KILN_INT64;
    if (!kiln_is_std_float(x->dtype) && !kiln_dtype_is_int(x->dtype))
        return kiln_unsupported_dtype(ctx, "input 0", x->dtype);
    size_t es = kind == KILN_CP_F32 ? 4 : 8;
    int64_t n_in = kiln_tensor_numel(x), n_out = kiln_tensor_numel(y);
    void *col = NULL, *im = NULL;
    kiln_status st = kiln_cp_alloc(n_in, es, ctx->max_bytes, "Col2Im input staging", &col);
    if (st == KILN_OK)
        st = kiln_cp_alloc(n_out, es, ctx->max_bytes, "Col2Im output staging", &im);
    if (st == KILN_OK) {
        kiln_cp_patches p;
        kiln_cp_patches_forward(&w, &p);
        kiln_convert(x->data, x->dtype, col, work, (size_t)n_in);
        memset(im, 0, (size_t)n_out * es);
        kiln_cp_col2im(&p, x->dims[0] * channels, kind, col, im);
        kiln_convert(im, work, y->data, y->dtype, (size_t)n_out);
    }
    free(col);
    free(im);
    return st;
}
