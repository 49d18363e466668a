/*
 * conv_direct.c - direct convolution without im2col: for few input
 * channels per group, each kernel tap is added to a whole output row (a
 * vectorizable loop over the columns whose input lies inside the row); for
 * depthwise convolutions (one channel per group, one filter per group),
 * planes of depthwise_f32.c, FusedConv's epilogue applied per plane.
 */
#include "backends/cpu/depthwise_f32.h"
#include "backends/cpu/epilogue.h"
#include "backends/cpu/ops/conv_pool_kernels.h"
#include "backends/cpu/ops/fused_internal.h"
#include "backends/cpu/tactics/conv_tactics.h"
#include "core/thread_pool.h"
#include "ir/infer/infer_util.h"

/* Input channels per group up to which direct convolution is offered. */
#define DIRECT_MAX_CHANNELS 16

bool kiln_ct_direct_supports(const kiln_op_ctx *ctx)
{
    kiln_ct_conv c;
    return kiln_ct_basic(ctx, &c) && c.cg <= DIRECT_MAX_CHANNELS;
}

bool kiln_ct_depthwise_supports(const kiln_op_ctx *ctx)
{
    kiln_ct_conv c;
    return kiln_ct_basic(ctx, &c) && c.cg == 1 && c.mg == 1;
}

static void fill(float *y, int64_t n, float v)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = v;
}

/* Output planes [begin, end) (image * filters + filter), on the pool. */
static void direct_planes(void *user, int64_t begin, int64_t end, int thread)
{
    const kiln_ct_conv *c = user;
    const kiln_window *w = &c->win;
    int64_t in_plane = w->in[0] * w->in[1], out_plane = w->out[0] * w->out[1], ksize = w->kernel[0] * w->kernel[1];
    (void)thread;
    for (int64_t p = begin; p < end; p++) {
        int64_t b = p / c->filters, m = p % c->filters, g = m / c->mg;
        float *y = c->y + p * out_plane;
        fill(y, out_plane, c->b ? c->b[m] : 0.0f);
        for (int64_t ch = 0; ch < c->cg; ch++)
            kiln_cp_add_plane_2d(w, c->x + (b * c->channels + g * c->cg + ch) * in_plane,
                                 c->w + (m * c->cg + ch) * ksize, y);
    }
}

kiln_status kiln_ct_direct_core(const kiln_ct_conv *c, void *workspace)
{
    (void)workspace;
    kiln_parallel_for(c->batch * c->filters, direct_planes, (void *)c);
    return KILN_OK;
}

/* A depthwise convolution over the pool, one (image, channel) plane at a
 * time; with an epilogue, each plane takes it while still in cache. */
typedef struct depthwise_job {
    const kiln_ct_conv *c;
    const kiln_epilogue *e; /* NULL: none */
    const float *add;       /* NULL, or an addend of the output's shape */
} depthwise_job;

static void depthwise_planes(void *user, int64_t begin, int64_t end, int thread)
{
    const depthwise_job *j = user;
    const kiln_ct_conv *c = j->c;
    const kiln_window *w = &c->win;
    int64_t in_plane = w->in[0] * w->in[1], out_plane = w->out[0] * w->out[1], ksize = w->kernel[0] * w->kernel[1];
    (void)thread;
    for (int64_t p = begin; p < end; p++) {
        int64_t m = p % c->filters;
        float *y = c->y + p * out_plane;
        kiln_dw_plane_f32(w, c->x + p * in_plane, c->w + m * ksize, c->b ? c->b[m] : 0.0f, y);
        if (j->e)
            kiln_epilogue_apply_add_f32(j->e, y, j->add ? j->add + p * out_plane : NULL, out_plane);
    }
}

kiln_status kiln_ct_depthwise_core(const kiln_ct_conv *c, void *workspace)
{
    return kiln_ct_depthwise_epilogue_core(c, NULL, NULL, workspace);
}

kiln_status kiln_ct_depthwise_epilogue_core(const kiln_ct_conv *c, const kiln_epilogue *e, const float *add,
                                            void *workspace)
{
    depthwise_job job = {c, e, add};
    (void)workspace;
    kiln_parallel_for(c->batch * c->filters, depthwise_planes, &job);
    return KILN_OK;
}
