/*
 * conv_nhwc_depthwise.c - depthwise NhwcConv (group == C == M: one filter
 * per channel) computed directly, any kernel, stride, dilation and pads.
 * Channels last puts a pixel's channels side by side, and HWIO weights
 * (W [KH, KW, 1, C]) a tap's C filter values too, so each tap is one
 * vectorisable multiply-add over the channels. Output rows (image, output
 * row) are shared over the thread pool; each row starts from the bias,
 * takes its taps, then its residual and activation while in cache.
 */
#include <string.h>

#include "backends/cpu/cpu_simd.h"
#include "backends/cpu/tactics/conv_nhwc.h"
#include "core/thread_pool.h"

bool kiln_ct_nhwc_depthwise_supports(const kiln_op_ctx *ctx)
{
    kiln_ct_conv c;
    kiln_epilogue e;
    return kiln_ct_read_nhwc(ctx, 0, &c) == KILN_OK && kiln_epilogue_from_node(ctx->node, &e) == KILN_OK && c.cg == 1 &&
           c.mg == 1;
}

typedef struct depthwise_job {
    const kiln_ct_conv *c;
    const kiln_epilogue *e;
    const float *add; /* the residual Z (Y's shape), or NULL */
} depthwise_job;

/* Output row oy of image n, before the epilogue: y (OW pixels of C values)
 * = bias + the sum over the taps inside the input of x * w, channel by
 * channel. */
KILN_SIMD_FN static void depthwise_row(const kiln_ct_conv *c, int64_t n, int64_t oy, float *restrict y)
{
    const kiln_window *w = &c->win;
    int64_t ch = c->channels, ih = w->in[0], iw = w->in[1];
    const float *restrict x = c->x + n * ih * iw * ch;
    for (int64_t ox = 0; ox < w->out[1]; ox++) {
        float *restrict yp = y + ox * ch;
        if (c->b)
            memcpy(yp, c->b, (size_t)ch * sizeof(float));
        else
            memset(yp, 0, (size_t)ch * sizeof(float));
        for (int64_t kh = 0; kh < w->kernel[0]; kh++) {
            int64_t iy = oy * w->stride[0] - w->pad_begin[0] + kh * w->dilation[0];
            if (iy < 0 || iy >= ih)
                continue;
            for (int64_t kw = 0; kw < w->kernel[1]; kw++) {
                int64_t ix = ox * w->stride[1] - w->pad_begin[1] + kw * w->dilation[1];
                if (ix < 0 || ix >= iw)
                    continue;
                const float *restrict xp = x + (iy * iw + ix) * ch;
                const float *restrict wp = c->w + (kh * w->kernel[1] + kw) * ch;
                for (int64_t i = 0; i < ch; i++)
                    yp[i] += xp[i] * wp[i];
            }
        }
    }
}

/* Output rows [begin, end), numbered image * OH + output row. */
static void depthwise_rows(void *user, int64_t begin, int64_t end, int thread)
{
    const depthwise_job *j = user;
    const kiln_ct_conv *c = j->c;
    int64_t oh = c->win.out[0], len = c->win.out[1] * c->channels;
    (void)thread;
    for (int64_t r = begin; r < end; r++) {
        float *y = c->y + r * len;
        depthwise_row(c, r / oh, r % oh, y);
        kiln_epilogue_apply_add_f32(j->e, y, j->add ? j->add + r * len : NULL, len);
    }
}

kiln_status kiln_ct_nhwc_depthwise_core(const kiln_ct_conv *c, const kiln_epilogue *e, const float *add,
                                        void *workspace)
{
    depthwise_job job = {c, e, add};
    (void)workspace;
    KILN_CHECK(c->cg == 1 && c->mg == 1);
    kiln_parallel_for(c->batch * c->win.out[0], depthwise_rows, &job);
    return KILN_OK;
}
