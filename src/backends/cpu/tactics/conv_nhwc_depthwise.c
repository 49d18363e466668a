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

/* Channels [i0, i1) of output pixel (oy, ox) of image x, before the
 * epilogue: bias + the sum over the taps inside the input of x * w. */
KILN_SIMD_FN static void depthwise_pixel(const kiln_ct_conv *c, const float *restrict x, int64_t oy, int64_t ox,
                                         float *restrict yp, int64_t i0, int64_t i1)
{
    const kiln_window *w = &c->win;
    int64_t ch = c->channels, ih = w->in[0], iw = w->in[1];
    for (int64_t i = i0; i < i1; i++)
        yp[i] = c->b ? c->b[i] : 0.0f;
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
            for (int64_t i = i0; i < i1; i++)
                yp[i] += xp[i] * wp[i];
        }
    }
}

/* 8 float32 lanes: one AVX2 register in the x86-64-v3 clone, two SSE ones
 * in the baseline. Loads and stores go through memcpy (unaligned, no
 * aliasing questions). */
typedef float v8 __attribute__((vector_size(32)));
#define V 8

/* (a macro: a function returning v8 would change the baseline clone's ABI) */
#define LOAD8(v, p) memcpy(&(v), (p), sizeof(v8))

/* One kernel row's three taps at input pixel ix (channels at p). */
#define ROW3(acc, p, ix, w0, w1, w2)                                                                                   \
    do {                                                                                                               \
        v8 t0, t1, t2;                                                                                                 \
        LOAD8(t0, (p) + (ix)*ch);                                                                                      \
        LOAD8(t1, (p) + ((ix) + 1) * ch);                                                                              \
        LOAD8(t2, (p) + ((ix) + 2) * ch);                                                                              \
        acc = acc + t0 * (w0) + t1 * (w1) + t2 * (w2);                                                                 \
    } while (0)

/* A 3x3, dilation 1 row whose three input rows (r0, r1, r2, each at
 * channel i0) lie inside the input, for output pixels [lo, hi) whose taps
 * do too: 8 channels at a time, their 9 weights and bias held in registers
 * across the whole row, three partial sums (one per kernel row) per pixel. */
KILN_SIMD_FN static void depthwise3x3_block(const float *restrict r0, const float *restrict r1,
                                            const float *restrict r2, const float *restrict wt, const float *restrict b,
                                            float *restrict y, int64_t lo, int64_t hi, int64_t stride, int64_t pad,
                                            int64_t ch)
{
    v8 w00, w01, w02, w10, w11, w12, w20, w21, w22, bias = {0};
    LOAD8(w00, wt);
    LOAD8(w01, wt + ch);
    LOAD8(w02, wt + 2 * ch);
    LOAD8(w10, wt + 3 * ch);
    LOAD8(w11, wt + 4 * ch);
    LOAD8(w12, wt + 5 * ch);
    LOAD8(w20, wt + 6 * ch);
    LOAD8(w21, wt + 7 * ch);
    LOAD8(w22, wt + 8 * ch);
    if (b)
        LOAD8(bias, b);
    for (int64_t ox = lo; ox < hi; ox++) {
        int64_t ix = ox * stride - pad;
        v8 a0 = bias, a1 = {0}, a2 = {0};
        ROW3(a0, r0, ix, w00, w01, w02);
        ROW3(a1, r1, ix, w10, w11, w12);
        ROW3(a2, r2, ix, w20, w21, w22);
        v8 out = a0 + a1 + a2;
        memcpy(y + ox * ch, &out, sizeof out);
    }
}

/* Output row oy of image n, before the epilogue: y (OW pixels of C
 * values). 3x3 kernels of dilation 1 take depthwise3x3_block on the row's
 * inner pixels where the row's taps are inside the input; every other
 * pixel and channel, depthwise_pixel. */
static void depthwise_row(const kiln_ct_conv *c, int64_t n, int64_t oy, float *restrict y)
{
    const kiln_window *w = &c->win;
    int64_t ch = c->channels, ih = w->in[0], iw = w->in[1], ow = w->out[1];
    const float *x = c->x + n * ih * iw * ch;
    int64_t iy = oy * w->stride[0] - w->pad_begin[0], sx = w->stride[1], pad = w->pad_begin[1];
    int fast = w->kernel[0] == 3 && w->kernel[1] == 3 && w->dilation[0] == 1 && w->dilation[1] == 1 && ch >= V &&
               iy >= 0 && iy + 2 < ih;
    /* inner pixels: the first whose left tap is inside, up to the last whose right tap is */
    int64_t lo = fast ? (pad + sx - 1) / sx : ow, hi = fast && iw - 3 + pad >= 0 ? (iw - 3 + pad) / sx + 1 : lo;
    if (hi > ow)
        hi = ow;
    if (hi < lo)
        hi = lo;
    for (int64_t ox = 0; ox < ow; ox++)
        if (ox < lo || ox >= hi)
            depthwise_pixel(c, x, oy, ox, y + ox * ch, 0, ch);
    if (lo == hi)
        return;
    const float *r0 = x + iy * iw * ch;
    int64_t i0 = 0;
    for (; i0 + V <= ch; i0 += V)
        depthwise3x3_block(r0 + i0, r0 + iw * ch + i0, r0 + 2 * iw * ch + i0, c->w + i0, c->b ? c->b + i0 : NULL,
                           y + i0, lo, hi, sx, pad, ch);
    for (int64_t ox = lo; i0 < ch && ox < hi; ox++)
        depthwise_pixel(c, x, oy, ox, y + ox * ch, i0, ch);
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
