/*
 * conv_pool_deform.c - CPU kernel for DeformConv over any number of spatial
 * axes: the column matrix is filled by sampling X (multilinearly, zero
 * outside) at the kernel taps moved by `offset` and scaled by `mask`, then
 * multiplied with the weights as in Conv.
 */
#include <math.h>
#include <stdlib.h>

#include "backends/cpu/cpu_util.h"
#include "backends/cpu/ops/conv_pool_kernels.h"
#include "core/dtype.h"
#include "ir/infer/conv_pool_infer.h"

typedef struct deform_job {
    kiln_cp_conv conv; /* shapes, weights, bias, output; conv.x unused */
    int64_t offset_group;
    const double *x;      /* X in float64 for sampling */
    const double *offset; /* (N, offset_group * K * n, out...) */
    const double *mask;   /* (N, offset_group * K, out...) or NULL */
} deform_job;

/* Multilinear sample of a plane (extents ext) at pos; zero outside. */
static double sample(const double *plane, const int64_t *ext, int n, const double *pos)
{
    int64_t base[KILN_MAX_RANK];
    double frac[KILN_MAX_RANK], sum = 0.0;
    for (int d = 0; d < n; d++) {
        /* also rejects NaN */
        if (!(pos[d] > -1.0 && pos[d] < (double)ext[d]))
            return 0.0;
        base[d] = (int64_t)floor(pos[d]);
        frac[d] = pos[d] - (double)base[d];
    }
    for (int corner = 0; corner < (1 << n); corner++) {
        double weight = 1.0;
        int64_t off = 0;
        int d;
        for (d = 0; d < n; d++) {
            int bit = (corner >> d) & 1;
            int64_t i = base[d] + bit;
            if (i < 0 || i >= ext[d])
                break;
            weight *= bit ? frac[d] : 1.0 - frac[d];
            off = off * ext[d] + i;
        }
        if (d == n)
            sum += weight * plane[off];
    }
    return sum;
}

/* Column rows of input channel c (row block ci of the group) of image b. */
static void fill_channel(const deform_job *job, int64_t b, int64_t c, int64_t ci, void *col)
{
    const kiln_window *w = job->conv.win;
    int n = w->n;
    int64_t in_plane = kiln_cp_prod(w->in, n), out_plane = kiln_cp_prod(w->out, n);
    int64_t ksize = kiln_cp_prod(w->kernel, n);
    int64_t og = c / (job->conv.channels / job->offset_group);
    const double *plane = job->x + (b * job->conv.channels + c) * in_plane;
    int64_t k[KILN_MAX_RANK] = {0}, kidx = 0;
    do {
        int64_t tap = og * ksize + kidx;
        const double *off = job->offset + (b * job->offset_group * ksize + tap) * n * out_plane;
        const double *mask = job->mask ? job->mask + (b * job->offset_group * ksize + tap) * out_plane : NULL;
        int64_t row = (ci * ksize + kidx) * out_plane;
        int64_t o[KILN_MAX_RANK] = {0}, oidx = 0;
        do {
            double pos[KILN_MAX_RANK];
            for (int d = 0; d < n; d++)
                pos[d] =
                    (double)(o[d] * w->stride[d] - w->pad_begin[d] + k[d] * w->dilation[d]) + off[d * out_plane + oidx];
            double v = sample(plane, w->in, n, pos) * (mask ? mask[oidx] : 1.0);
            if (job->conv.esize == 4)
                ((float *)col)[row + oidx] = (float)v;
            else
                ((double *)col)[row + oidx] = v;
            oidx++;
        } while (kiln_nd_next(n, w->out, o, 0, NULL, NULL));
        kidx++;
    } while (kiln_nd_next(n, w->kernel, k, 0, NULL, NULL));
}

static kiln_status deform_run(const deform_job *job)
{
    const kiln_cp_conv *cv = &job->conv;
    const kiln_window *w = cv->win;
    size_t es = cv->esize;
    int64_t out_plane = kiln_cp_prod(w->out, w->n), ksize = kiln_cp_prod(w->kernel, w->n);
    int64_t cg = cv->channels / cv->group, mg = cv->filters / cv->group;
    void *col;
    KILN_TRY(kiln_cp_alloc_matrix(cg * ksize, out_plane, es, cv->max_bytes, "DeformConv column buffer", &col));
    kiln_status st = KILN_OK;
    for (int64_t b = 0; b < cv->batch && st == KILN_OK; b++) {
        for (int64_t g = 0; g < cv->group && st == KILN_OK; g++) {
            for (int64_t ci = 0; ci < cg; ci++)
                fill_channel(job, b, g * cg + ci, ci, col);
            const char *wg = (const char *)cv->w + (size_t)(g * mg * cg * ksize) * es;
            char *yg = (char *)cv->y + (size_t)((b * cv->filters + g * mg) * out_plane) * es;
            if (cv->b)
                kiln_cp_fill_rows(yg, es, mg, out_plane, (const char *)cv->b + (size_t)(g * mg) * es);
            st = kiln_cp_gemm(es, 0, mg, out_plane, cg * ksize, wg, col, cv->b ? 1.0 : 0.0, yg);
        }
    }
    free(col);
    return st;
}

/* offset / mask input i must be (N, offset_group * per_tap * K, out...). */
static kiln_status check_sampling_input(const kiln_op_ctx *ctx, int i, const deform_job *job, int64_t per_tap)
{
    const kiln_tensor *t = ctx->in[i];
    const kiln_window *w = job->conv.win;
    int ok = t->rank == w->n + 2 && t->dims[0] == job->conv.batch &&
             t->dims[1] == job->offset_group * per_tap * kiln_cp_prod(w->kernel, w->n);
    for (int d = 0; ok && d < w->n; d++)
        ok = t->dims[2 + d] == w->out[d];
    if (!ok)
        return kiln_error(KILN_ERR_SHAPE, "input %d (%s) does not have the shape (N, offset_group * %s, output...)", i,
                          i == 2 ? "offset" : "mask", i == 2 ? "kernel taps * spatial axes" : "kernel taps");
    return KILN_OK;
}

static kiln_status deform_check(const kiln_op_ctx *ctx, deform_job *job)
{
    kiln_cp_conv *cv = &job->conv;
    const kiln_tensor *x = ctx->in[0], *bias = ctx->n_in > 3 ? ctx->in[3] : NULL;
    const kiln_tensor *mask = ctx->n_in > 4 ? ctx->in[4] : NULL;
    if (!kiln_is_std_float(x->dtype))
        return kiln_unsupported_dtype(ctx, "input 0", x->dtype);
    for (int i = 1; i < ctx->n_in; i++)
        if (ctx->in[i] && ctx->in[i]->dtype != x->dtype)
            return kiln_error(KILN_ERR_SHAPE, "input %d must have the dtype of input 0 (%s)", i,
                              kiln_dtype_name(x->dtype));
    job->offset_group = kiln_attr_int(ctx->node, "offset_group", 1);
    if (job->offset_group < 1 || cv->channels % job->offset_group != 0)
        return kiln_error(KILN_ERR_SHAPE, "attribute offset_group is %lld, which must divide the %lld channels",
                          (long long)job->offset_group, (long long)cv->channels);
    if (bias && (bias->rank > 1 || kiln_tensor_numel(bias) != cv->filters))
        return kiln_error(KILN_ERR_SHAPE, "input 3 (B) must hold %lld values", (long long)cv->filters);
    KILN_TRY(check_sampling_input(ctx, 2, job, cv->win->n));
    if (mask)
        KILN_TRY(check_sampling_input(ctx, 4, job, 1));
    return kiln_cp_check_conv_out(ctx, cv);
}

kiln_status kiln_cpu_deform_conv(kiln_op_ctx *ctx)
{
    kiln_window w;
    deform_job job = {0};
    int64_t group;
    KILN_TRY(kiln_conv_geometry(ctx, 0, 1, &w, &group));
    job.conv = (kiln_cp_conv){.win = &w,
                              .batch = ctx->in[0]->dims[0],
                              .channels = ctx->in[0]->dims[1],
                              .filters = ctx->in[1]->dims[0],
                              .group = group,
                              .esize = kiln_cp_esize(ctx->in[0]->dtype),
                              .max_bytes = ctx->max_bytes};
    KILN_TRY(deform_check(ctx, &job));
    const kiln_tensor *mask = ctx->n_in > 4 ? ctx->in[4] : NULL;
    double *x = NULL, *offset = NULL, *m = NULL;
    void *own_w = NULL, *own_b = NULL, *own_y = NULL;
    kiln_dtype dt = kiln_cp_dtype(job.conv.esize);
    kiln_status st = kiln_to_f64(ctx->in[0], ctx->max_bytes, &x);
    if (st == KILN_OK)
        st = kiln_to_f64(ctx->in[2], ctx->max_bytes, &offset);
    if (st == KILN_OK && mask)
        st = kiln_to_f64(mask, ctx->max_bytes, &m);
    if (st == KILN_OK)
        st = kiln_stage_in(ctx->in[1], dt, ctx->max_bytes, &job.conv.w, &own_w);
    if (st == KILN_OK)
        st = kiln_stage_in(ctx->n_in > 3 ? ctx->in[3] : NULL, dt, ctx->max_bytes, &job.conv.b, &own_b);
    if (st == KILN_OK)
        st = kiln_stage_out(ctx->out[0], dt, ctx->max_bytes, &job.conv.y, &own_y);
    if (st == KILN_OK) {
        job.x = x;
        job.offset = offset;
        job.mask = m;
        st = deform_run(&job);
    }
    kiln_stage_out_end(ctx->out[0], dt, own_y, st);
    free(x);
    free(offset);
    free(m);
    free(own_w);
    free(own_b);
    return st;
}
