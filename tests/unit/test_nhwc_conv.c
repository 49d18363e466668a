/*
 * test_nhwc_conv.c - kiln's channels-last convolution NhwcConv against a
 * float64 reference. Each case is made as an NCHW Conv (conv_case.h: never-
 * zero random inputs, the float64 reference with bias, residual and fused
 * activation), then X, W (OIHW -> HWIO), Z and the reference are
 * transposed to channels last. Every NhwcConv tactic whose supports()
 * takes the case and the CPU kernel run on one thread and on three, the
 * output NaN-poisoned before each run; relative L2 error <= 1e-5. A second
 * pass runs them under a small allocation ceiling (many small im2col
 * blocks). Also: shape inference on every case and its errors, the
 * depthwise tactic refusing other convolutions, the kernel refusing other
 * dtypes, mismatched shapes and a workspace over the ceiling, and the
 * check itself failing on wrong kernels (weights in the wrong layout, a
 * bias dropped, an output never written). Windows conv_case.h cannot
 * describe (per-axis strides and dilations, auto_pad) have their own
 * float64 reference on the channels-last data.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "backends/cpu/cpu_kernels.h"
#include "conv_case.h"
#include "core/thread_pool.h"
#include "ir/graph.h"
#include "ir/op_registry.h"
#include "kiln.h"
#include "test_util.h"
#include "tune/tactic_registry.h"

#define MAX_TOL 1e-5
#define MAX_TACTICS 8
/* The small ceiling of the second pass: im2col blocks of a few rows. */
#define SMALL_MAX_BYTES 4096

typedef struct nhwc_case {
    const char *group; /* the summary line it is counted in */
    conv_case k;
} nhwc_case;

/* {what, n, c, h, w, m, kh, kw, group, stride, dilation, pads (t, l, b, r), bias, residual, act, alpha, beta} */
/* clang-format off */
static const nhwc_case cases[] = {
    {"1x1", {"1x1 16->8", 1, 16, 5, 7, 8, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 1, 0, NULL, 0, 0}},
    {"1x1", {"1x1 24->12 batch 2, Relu + Z", 2, 24, 6, 6, 12, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 1, 1, "Relu", 0, 0}},
    {"1x1", {"1x1 3->5 batch 2, no B, Clip", 2, 3, 4, 5, 5, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 0, 0, "Clip", 0, 6}},
    {"1x1", {"1x1 64->32, HardSwish + Z", 1, 64, 7, 7, 32, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 1, 1, "HardSwish", 0, 0}},
    {"1x1", {"1x1 s2 batch 2, Sigmoid", 2, 8, 9, 9, 6, 1, 1, 1, 2, 1, {0, 0, 0, 0}, 1, 0, "Sigmoid", 0, 0}},
    {"1x1", {"1x1 padded, LeakyRelu + Z", 1, 5, 4, 6, 7, 1, 1, 1, 1, 1, {1, 0, 0, 1}, 1, 1, "LeakyRelu", 0.1f, 0}},
    {"spatial", {"3x3 p1 batch 2, odd", 2, 8, 9, 11, 16, 3, 3, 1, 1, 1, {1, 1, 1, 1}, 1, 0, NULL, 0, 0}},
    {"spatial", {"3x3 p1, Relu + Z", 2, 6, 9, 9, 10, 3, 3, 1, 1, 1, {1, 1, 1, 1}, 1, 1, "Relu", 0, 0}},
    {"spatial", {"3x3 unpadded, no B", 1, 5, 7, 10, 6, 3, 3, 1, 1, 1, {0, 0, 0, 0}, 0, 0, "", 0, 0}},
    {"spatial", {"3x3 s2 p1, Sigmoid", 1, 5, 13, 10, 7, 3, 3, 1, 2, 1, {1, 1, 1, 1}, 1, 0, "Sigmoid", 0, 0}},
    {"spatial", {"3x3 d2 p2, LeakyRelu + Z", 1, 4, 12, 11, 6, 3, 3, 1, 1, 2, {2, 2, 2, 2}, 0, 1, "LeakyRelu", 0.1f, 0}},
    {"spatial", {"3x3 asymmetric, HardSwish", 1, 4, 8, 6, 3, 3, 3, 1, 1, 1, {0, 1, 2, 1}, 1, 0, "HardSwish", 0, 0}},
    {"spatial", {"5x3 s2, Clip + Z", 2, 3, 11, 9, 4, 5, 3, 1, 2, 1, {2, 1, 1, 0}, 1, 1, "Clip", 0, 6}},
    {"spatial", {"7x7 s2 p3, 3 channels, Relu", 1, 3, 20, 18, 8, 7, 7, 1, 2, 1, {3, 3, 3, 3}, 1, 0, "Relu", 0, 0}},
    {"grouped", {"group 2 3x3, Clip + Z", 2, 8, 6, 7, 6, 3, 3, 2, 1, 1, {1, 1, 1, 1}, 1, 1, "Clip", 0, 6}},
    {"grouped", {"group 4 3x3 s2, LeakyRelu", 1, 16, 9, 8, 8, 3, 3, 4, 2, 1, {1, 1, 1, 1}, 1, 0, "LeakyRelu", 0.1f, 0}},
    {"grouped", {"group 4 1x1 8->12, Z", 1, 8, 5, 5, 12, 1, 1, 4, 1, 1, {0, 0, 0, 0}, 1, 1, NULL, 0, 0}},
    {"grouped", {"group 2 1x1, no B, Sigmoid", 2, 6, 3, 5, 4, 1, 1, 2, 1, 1, {0, 0, 0, 0}, 0, 0, "Sigmoid", 0, 0}},
    {"grouped", {"depthwise multiplier 2", 1, 4, 7, 7, 8, 3, 3, 4, 1, 1, {1, 1, 1, 1}, 1, 0, "Relu", 0, 0}},
    {"depthwise", {"3x3 s1, Relu + Z", 2, 12, 9, 9, 12, 3, 3, 12, 1, 1, {1, 1, 1, 1}, 1, 1, "Relu", 0, 0}},
    {"depthwise", {"3x3 s2, Clip", 1, 16, 13, 9, 16, 3, 3, 16, 2, 1, {1, 1, 1, 1}, 1, 0, "Clip", 0, 6}},
    {"depthwise", {"3x3 s2 unpadded, odd", 2, 7, 10, 11, 7, 3, 3, 7, 2, 1, {0, 0, 0, 0}, 0, 0, NULL, 0, 0}},
    {"depthwise", {"5x5 p2, HardSwish", 1, 6, 14, 12, 6, 5, 5, 6, 1, 1, {2, 2, 2, 2}, 0, 0, "HardSwish", 0, 0}},
    {"depthwise", {"5x5 d2, Sigmoid + Z", 1, 6, 14, 12, 6, 5, 5, 6, 1, 2, {4, 4, 4, 4}, 1, 1, "Sigmoid", 0, 0}},
    {"depthwise", {"3x3 asym, LeakyRelu", 1, 5, 6, 8, 5, 3, 3, 5, 1, 1, {0, 2, 1, 0}, 1, 0, "LeakyRelu", 0.1f, 0}},
    {"depthwise", {"3x3 s2 unpadded, 24 channels", 1, 24, 11, 10, 24, 3, 3, 24, 2, 1, {0, 0, 0, 0}, 1, 0, NULL, 0, 0}},
    {"depthwise", {"3x3 s2 asym, 17 channels + Z", 2, 17, 9, 12, 17, 3, 3, 17, 2, 1, {0, 1, 1, 0}, 0, 1, "Relu", 0, 0}},
    {"depthwise", {"3x3 s1 unpadded, 3 columns", 1, 8, 5, 3, 8, 3, 3, 8, 1, 1, {0, 0, 0, 0}, 1, 0, NULL, 0, 0}},
    {"large", {"56x56 64->64 3x3, Relu + Z", 1, 64, 56, 56, 64, 3, 3, 1, 1, 1, {1, 1, 1, 1}, 1, 1, "Relu", 0, 0}},
    {"large", {"depthwise 56x56x64, Clip", 1, 64, 56, 56, 64, 3, 3, 64, 1, 1, {1, 1, 1, 1}, 1, 0, "Clip", 0, 6}},
};
/* clang-format on */
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

/* dst [n][h][w][c] from src [n][c][h][w] */
static void to_nhwc_f32(const float *src, float *dst, int64_t n, int64_t c, int64_t h, int64_t w)
{
    for (int64_t b = 0; b < n; b++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t i = 0; i < h * w; i++)
                dst[(b * h * w + i) * c + ch] = src[(b * c + ch) * h * w + i];
}

static void to_nhwc_f64(const double *src, double *dst, int64_t n, int64_t c, int64_t h, int64_t w)
{
    for (int64_t b = 0; b < n; b++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t i = 0; i < h * w; i++)
                dst[(b * h * w + i) * c + ch] = src[(b * c + ch) * h * w + i];
}

/* dst [kh][kw][ci][m] (HWIO) from src [m][ci][kh][kw] (OIHW) */
static void to_hwio(const float *src, float *dst, int64_t m, int64_t ci, int64_t kh, int64_t kw)
{
    for (int64_t o = 0; o < m; o++)
        for (int64_t i = 0; i < ci; i++)
            for (int64_t t = 0; t < kh * kw; t++)
                dst[(t * ci + i) * m + o] = src[(o * ci + i) * kh * kw + t];
}

/* One case channels last, beside its NCHW form. Not to be moved once set. */
typedef struct nhwc_run {
    conv_run base;    /* NCHW / OIHW tensors and the float64 reference */
    kiln_tensor t[5]; /* X, W, B, Z, Y channels last */
    kiln_tensor *in[4], *out[1];
    conv_node cn;
    kiln_op_ctx ctx;
    double *ref; /* the reference, channels last */
} nhwc_run;

/* Sets r up for k; 0 when out of memory (nhwc_run_free is due either way). */
static int nhwc_run_init(const conv_case *k, nhwc_run *r)
{
    memset(r, 0, sizeof *r);
    if (!conv_run_init(k, &r->base))
        return 0;
    const kiln_tensor *by = &r->base.t[4];
    int64_t oh = by->dims[2], ow = by->dims[3], cg = k->c / k->group;
    int64_t xd[4] = {k->n, k->h, k->w, k->c}, wd[4] = {k->kh, k->kw, cg, k->m}, bd[1] = {k->m};
    int64_t yd[4] = {k->n, oh, ow, k->m};
    if (!alloc_tensor(&r->t[0], 4, xd) || !alloc_tensor(&r->t[1], 4, wd) || !alloc_tensor(&r->t[2], 1, bd) ||
        !alloc_tensor(&r->t[3], 4, yd) || !alloc_tensor(&r->t[4], 4, yd))
        return 0;
    if (!(r->ref = malloc(sizeof(double) * (size_t)kiln_tensor_numel(by))))
        return 0;
    reference(k, r->base.in, by, r->base.ref);
    to_nhwc_f32(r->base.t[0].data, r->t[0].data, k->n, k->c, k->h, k->w);
    to_hwio(r->base.t[1].data, r->t[1].data, k->m, cg, k->kh, k->kw);
    memcpy(r->t[2].data, r->base.t[2].data, sizeof(float) * (size_t)k->m);
    to_nhwc_f32(r->base.t[3].data, r->t[3].data, k->n, k->m, oh, ow);
    to_nhwc_f64(r->base.ref, r->ref, k->n, k->m, oh, ow);
    make_node(k, &r->cn);
    r->cn.node.op_type = (char *)"NhwcConv";
    r->cn.node.domain = (char *)KILN_DOMAIN;
    r->cn.node.opset = 1;
    r->in[0] = &r->t[0];
    r->in[1] = &r->t[1];
    r->in[2] = k->bias ? &r->t[2] : NULL;
    r->in[3] = k->residual ? &r->t[3] : NULL;
    r->out[0] = &r->t[4];
    r->ctx = (kiln_op_ctx){.node = &r->cn.node,
                           .opset = 1,
                           .n_in = 4,
                           .n_out = 1,
                           .in = r->in,
                           .out = r->out,
                           .max_bytes = (size_t)1 << 30};
    return 1;
}

static void nhwc_run_free(nhwc_run *r)
{
    free(r->ref);
    for (int i = 0; i < 5; i++)
        kiln_tensor_clear(&r->t[i]);
    conv_run_free(&r->base);
}

/* Poisons Y and runs t (NULL: the CPU kernel) on ctx; the relative L2 error
 * against ref, infinite when the run fails. */
static double run_error(kiln_op_ctx *ctx, const kiln_tactic *t, const double *ref, kiln_status *st)
{
    kiln_tensor *y = ctx->out[0];
    poison(y);
    *st = t ? kiln_tactic_exec(t, ctx) : kiln_cpu_find_kernel("NhwcConv")(ctx);
    return *st == KILN_OK ? rel_l2(y->data, ref, kiln_tensor_numel(y)) : INFINITY;
}

/* run_error, checked to pass. */
static double check_run(const char *name, const conv_case *k, kiln_op_ctx *ctx, const kiln_tactic *t, const double *ref,
                        const char *when)
{
    kiln_status st;
    double err = run_error(ctx, t, ref, &st);
    CHECK(st == KILN_OK);
    CHECK(err <= MAX_TOL);
    if (st != KILN_OK || !(err <= MAX_TOL))
        fprintf(stderr, "  %s on '%s' (%s): %s, relative L2 %.3g\n", name, k->what, when,
                st ? kiln_last_error() : "ran", err);
    return err;
}

/* Shape inference on r's tensors (their shapes only) gives Y's dims. */
static void check_infer(const nhwc_run *r)
{
    kiln_tensor shapes[4], y = {0};
    kiln_tensor *in[4], *out[1] = {&y};
    for (int i = 0; i < 4; i++) {
        in[i] = r->in[i] ? &shapes[i] : NULL;
        if (r->in[i]) {
            shapes[i] = *r->in[i];
            shapes[i].data = NULL;
            shapes[i].owns_data = 0;
        }
    }
    kiln_op_ctx ctx = r->ctx;
    ctx.in = in;
    ctx.out = out;
    const kiln_op_schema *s = kiln_op_find(KILN_DOMAIN, "NhwcConv");
    CHECK(s && s->infer(&ctx) == KILN_OK);
    CHECK(y.dtype == KILN_FLOAT32 && y.rank == 4 && !memcmp(y.dims, r->t[4].dims, 4 * sizeof(int64_t)));
}

/* The check fails on wrong kernels: the CPU kernel given W still in OIHW
 * order, or missing the bias, and an output never written. */
static void check_catches(nhwc_run *r, const conv_case *k)
{
    kiln_status st;
    float *w = r->t[1].data;
    size_t wbytes = sizeof(float) * (size_t)kiln_tensor_numel(&r->t[1]);
    float *keep = malloc(wbytes);
    CHECK(keep != NULL);
    if (keep) {
        memcpy(keep, w, wbytes);
        memcpy(w, r->base.t[1].data, wbytes);
        double err = run_error(&r->ctx, NULL, r->ref, &st);
        CHECK(st == KILN_OK && err > 100 * MAX_TOL);
        memcpy(w, keep, wbytes);
        free(keep);
    }
    if (k->bias) {
        r->in[2] = NULL;
        double err = run_error(&r->ctx, NULL, r->ref, &st);
        CHECK(st == KILN_OK && err > 100 * MAX_TOL);
        r->in[2] = &r->t[2];
    }
    poison(r->out[0]);
    CHECK(!(rel_l2(r->out[0]->data, r->ref, kiln_tensor_numel(r->out[0])) <= MAX_TOL));
}

typedef struct group_stats {
    int cases, runs;
    double worst;
} group_stats;

/* Every supporting tactic and the kernel, on 1 and 3 threads, then under
 * the small ceiling; used[i] counts the cases tactic i took. */
static void test_case(const nhwc_case *c, group_stats *gs, int *used)
{
    const conv_case *k = &c->k;
    nhwc_run r;
    int ok = nhwc_run_init(k, &r), n;
    CHECK(ok);
    if (ok) {
        const kiln_tactic *tactics = kiln_tactics_for("NhwcConv", &n);
        int depthwise = k->group == k->c && k->group == k->m;
        const kiln_tactic *dw = kiln_tactic_find("NhwcConv", "conv_nhwc_depthwise");
        const kiln_tactic *gemm = kiln_tactic_find("NhwcConv", "conv_nhwc_gemm");
        CHECK(dw && gemm && dw->supports(&r.ctx) == depthwise && gemm->supports(&r.ctx));
        check_infer(&r);
        gs->cases++;
        static const size_t ceilings[] = {(size_t)1 << 30, SMALL_MAX_BYTES};
        static const char *const whens[] = {"1 thread", "3 threads", "1 thread, 4 KiB ceiling",
                                            "3 threads, 4 KiB ceiling"};
        for (int pass = 0; pass < 4; pass++) {
            CHECK(kiln_thread_pool_set_threads(pass % 2 ? 3 : 1) == KILN_OK);
            r.ctx.max_bytes = ceilings[pass / 2];
            double e = check_run("CPU kernel", k, &r.ctx, NULL, r.ref, whens[pass]);
            gs->worst = e > gs->worst ? e : gs->worst;
            gs->runs++;
            for (int i = 0; i < n && i < MAX_TACTICS; i++) {
                /* under the ceiling, as the tuner would: only tactics whose workspace fits (the gemm
                 * tactic's always does: it cuts its im2col blocks to the ceiling) */
                if (!tactics[i].supports(&r.ctx) ||
                    (tactics[i].workspace(&r.ctx) > r.ctx.max_bytes && &tactics[i] != gemm))
                    continue;
                used[i] += pass == 0;
                e = check_run(tactics[i].name, k, &r.ctx, &tactics[i], r.ref, whens[pass]);
                gs->worst = e > gs->worst ? e : gs->worst;
                gs->runs++;
            }
        }
        CHECK(kiln_thread_pool_set_threads(1) == KILN_OK);
        r.ctx.max_bytes = (size_t)1 << 30;
        check_catches(&r, k);
    }
    nhwc_run_free(&r);
}

static void test_all_cases(void)
{
    int used[MAX_TACTICS] = {0}, n;
    const kiln_tactic *tactics = kiln_tactics_for("NhwcConv", &n);
    CHECK(tactics != NULL && n >= 2);
    for (int i = 0; i < N_CASES;) {
        group_stats gs = {0, 0, 0};
        const char *group = cases[i].group;
        for (; i < N_CASES && !strcmp(cases[i].group, group); i++)
            test_case(&cases[i], &gs, used);
        printf("NhwcConv %-9s %2d cases, %3d runs, worst relative L2 %.3g\n", group, gs.cases, gs.runs, gs.worst);
    }
    for (int i = 0; i < n && i < MAX_TACTICS; i++) {
        CHECK(used[i] > 0);
        if (!used[i])
            fprintf(stderr, "  tactic %s ran on no case\n", tactics[i].name);
    }
}

/* Windows conv_case cannot describe (a stride, dilation or auto_pad per
 * axis), against a float64 reference computed on the channels-last data
 * directly. */
typedef struct window_case {
    const char *what;
    int64_t n, c, h, w, m, kh, kw, group;
    int64_t strides[2], dilations[2], pads[4]; /* pads: top, left, bottom, right */
    const char *auto_pad;
    int bias, residual;
    const char *act;
    float alpha, beta;
} window_case;

/* clang-format off */
static const window_case window_cases[] = {
    {"s2x1 d1x2", 1, 6, 11, 12, 8, 3, 3, 1, {2, 1}, {1, 2}, {1, 2, 0, 1}, "NOTSET", 1, 1, "Relu", 0, 0},
    {"group 2, strides 1x3", 2, 8, 7, 13, 6, 3, 2, 2, {1, 3}, {1, 1}, {1, 0, 1, 1}, "NOTSET", 1, 0, "Clip", 0, 6},
    {"SAME_UPPER s2", 1, 5, 9, 10, 7, 3, 3, 1, {2, 2}, {1, 1}, {0, 0, 0, 0}, "SAME_UPPER", 1, 1, "HardSwish", 0, 0},
    {"SAME_LOWER 4x4", 1, 4, 7, 8, 5, 4, 4, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, "SAME_LOWER", 0, 1, "", 0, 0},
    {"VALID 1x1 s2", 2, 6, 7, 9, 4, 1, 1, 1, {2, 2}, {1, 1}, {0, 0, 0, 0}, "VALID", 1, 0, "LeakyRelu", 0.1f, 0},
    {"depthwise s1x2 d2x1", 1, 9, 10, 12, 9, 3, 3, 9, {1, 2}, {2, 1}, {2, 1, 2, 1}, "NOTSET", 1, 1, "Sigmoid", 0, 0},
    {"depthwise SAME_UPPER s2", 2, 6, 9, 8, 6, 5, 5, 6, {2, 2}, {1, 1}, {0, 0, 0, 0}, "SAME_UPPER", 1, 0, "Relu", 0, 0},
};
/* clang-format on */

/* Pads and extent of one axis, as ONNX defines them. */
static int64_t window_axis(const window_case *k, int axis, int64_t in, int64_t kernel, int64_t *pad_begin)
{
    int64_t s = k->strides[axis], keff = (kernel - 1) * k->dilations[axis] + 1;
    int64_t p0 = k->pads[axis], p1 = k->pads[axis + 2];
    if (!strcmp(k->auto_pad, "VALID")) {
        p0 = p1 = 0;
    } else if (!strncmp(k->auto_pad, "SAME", 4)) {
        int64_t out = (in + s - 1) / s, total = (out - 1) * s + keff - in;
        total = total > 0 ? total : 0;
        p0 = !strcmp(k->auto_pad, "SAME_UPPER") ? total / 2 : total - total / 2;
        p1 = total - p0;
    }
    *pad_begin = p0;
    return (in + p0 + p1 - keff) / s + 1;
}

/* act(conv(x, w) + b + z) in float64 on NHWC x, HWIO w and NHWC z. */
static void window_reference(const window_case *k, kiln_tensor *const *in, int64_t oh, int64_t ow, int64_t pt,
                             int64_t pl, double *ref)
{
    const float *x = in[0]->data, *w = in[1]->data, *b = k->bias ? in[2]->data : NULL;
    const float *z = k->residual ? in[3]->data : NULL;
    int64_t cg = k->c / k->group, mg = k->m / k->group;
    conv_case act = {.act = k->act, .alpha = k->alpha, .beta = k->beta};
    for (int64_t n = 0; n < k->n; n++)
        for (int64_t r = 0; r < oh; r++)
            for (int64_t col = 0; col < ow; col++)
                for (int64_t m = 0; m < k->m; m++) {
                    double acc = b ? b[m] : 0.0;
                    for (int64_t i = 0; i < k->kh; i++)
                        for (int64_t j = 0; j < k->kw; j++) {
                            int64_t yi = r * k->strides[0] - pt + i * k->dilations[0];
                            int64_t xi = col * k->strides[1] - pl + j * k->dilations[1];
                            if (yi < 0 || yi >= k->h || xi < 0 || xi >= k->w)
                                continue;
                            for (int64_t ch = 0; ch < cg; ch++)
                                acc += (double)x[((n * k->h + yi) * k->w + xi) * k->c + (m / mg) * cg + ch] *
                                       w[((i * k->kw + j) * cg + ch) * k->m + m];
                        }
                    int64_t o = ((n * oh + r) * ow + col) * k->m + m;
                    ref[o] = activation(&act, z ? acc + z[o] : acc);
                }
}

static void test_window_case(const window_case *k, group_stats *gs)
{
    int64_t pt, pl, oh = window_axis(k, 0, k->h, k->kh, &pt), ow = window_axis(k, 1, k->w, k->kw, &pl);
    int64_t xd[4] = {k->n, k->h, k->w, k->c}, wd[4] = {k->kh, k->kw, k->c / k->group, k->m}, bd[1] = {k->m};
    int64_t yd[4] = {k->n, oh, ow, k->m}, kernel[2] = {k->kh, k->kw};
    kiln_tensor t[5] = {{0}};
    kiln_tensor *in[4] = {&t[0], &t[1], k->bias ? &t[2] : NULL, k->residual ? &t[3] : NULL}, *out[1] = {&t[4]};
    kiln_attr attrs[9];
    int na = 0;
    attrs[na++] = (kiln_attr){.name = "kernel_shape", .type = KILN_ATTR_INTS, .n = 2, .ints = kernel};
    attrs[na++] = (kiln_attr){.name = "strides", .type = KILN_ATTR_INTS, .n = 2, .ints = (int64_t *)k->strides};
    attrs[na++] = (kiln_attr){.name = "dilations", .type = KILN_ATTR_INTS, .n = 2, .ints = (int64_t *)k->dilations};
    attrs[na++] = (kiln_attr){.name = "group", .type = KILN_ATTR_INT, .i = k->group};
    attrs[na++] = (kiln_attr){
        .name = "auto_pad", .type = KILN_ATTR_STRING, .s = (char *)k->auto_pad, .s_len = strlen(k->auto_pad)};
    if (!strcmp(k->auto_pad, "NOTSET"))
        attrs[na++] = (kiln_attr){.name = "pads", .type = KILN_ATTR_INTS, .n = 4, .ints = (int64_t *)k->pads};
    attrs[na++] =
        (kiln_attr){.name = "activation", .type = KILN_ATTR_STRING, .s = (char *)k->act, .s_len = strlen(k->act)};
    attrs[na++] = (kiln_attr){.name = "activation_alpha", .type = KILN_ATTR_FLOAT, .f = k->alpha};
    attrs[na++] = (kiln_attr){.name = "activation_beta", .type = KILN_ATTR_FLOAT, .f = k->beta};
    kiln_node node = {.name = (char *)k->what,
                      .op_type = (char *)"NhwcConv",
                      .domain = (char *)KILN_DOMAIN,
                      .opset = 1,
                      .n_inputs = 4,
                      .n_outputs = 1,
                      .n_attrs = na,
                      .attrs = attrs};
    kiln_op_ctx ctx = {.node = &node, .opset = 1, .n_in = 4, .n_out = 1, .in = in, .out = out, .max_bytes = 1 << 30};
    double *ref = malloc(sizeof(double) * (size_t)(k->n * oh * ow * k->m));
    int ok = ref && alloc_tensor(&t[0], 4, xd) && alloc_tensor(&t[1], 4, wd) && alloc_tensor(&t[2], 1, bd) &&
             alloc_tensor(&t[3], 4, yd) && alloc_tensor(&t[4], 4, yd);
    CHECK(ok);
    if (ok) {
        int n, depthwise = k->group == k->c && k->group == k->m;
        const kiln_tactic *tactics = kiln_tactics_for("NhwcConv", &n);
        kiln_tensor y = {0};
        kiln_tensor *yout[1] = {&y};
        kiln_op_ctx ictx = ctx;
        ictx.out = yout;
        CHECK(kiln_op_find(KILN_DOMAIN, "NhwcConv")->infer(&ictx) == KILN_OK && y.rank == 4 &&
              !memcmp(y.dims, yd, sizeof yd));
        CHECK(kiln_tactic_find("NhwcConv", "conv_nhwc_depthwise")->supports(&ctx) == depthwise);
        window_reference(k, in, oh, ow, pt, pl, ref);
        gs->cases++;
        for (int threads = 1; threads <= 3; threads += 2) {
            CHECK(kiln_thread_pool_set_threads(threads) == KILN_OK);
            conv_case named = {.what = k->what};
            const char *when = threads == 1 ? "1 thread" : "3 threads";
            double e = check_run("CPU kernel", &named, &ctx, NULL, ref, when);
            gs->worst = e > gs->worst ? e : gs->worst;
            gs->runs++;
            for (int i = 0; i < n; i++)
                if (tactics[i].supports(&ctx)) {
                    e = check_run(tactics[i].name, &named, &ctx, &tactics[i], ref, when);
                    gs->worst = e > gs->worst ? e : gs->worst;
                    gs->runs++;
                }
        }
        CHECK(kiln_thread_pool_set_threads(1) == KILN_OK);
    }
    free(ref);
    for (int i = 0; i < 5; i++)
        kiln_tensor_clear(&t[i]);
}

static void test_window_cases(void)
{
    group_stats gs = {0, 0, 0};
    for (size_t i = 0; i < sizeof window_cases / sizeof window_cases[0]; i++)
        test_window_case(&window_cases[i], &gs);
    printf("NhwcConv %-9s %2d cases, %3d runs, worst relative L2 %.3g\n", "windows", gs.cases, gs.runs, gs.worst);
}

/* A shape-only tensor. */
static kiln_tensor shaped(kiln_dtype dt, int rank, const int64_t *dims)
{
    kiln_tensor t = {0};
    kiln_tensor_set_shape(&t, dt, rank, dims);
    return t;
}

/* An NhwcConv node over graph values x, w, b, z (so that errors can name
 * them) and shape-only tensors, for inference. */
typedef struct infer_case {
    kiln_graph *g;
    conv_case k;
    conv_node cn;
    int ids[4];
    kiln_tensor t[5];
    kiln_tensor *in[4], *out[1];
    kiln_op_ctx ctx;
} infer_case;

static int infer_init(infer_case *c, int64_t stride, int64_t pad, int64_t group)
{
    static const char *const names[] = {"x_value", "w_value", "b_value", "z_value"};
    memset(c, 0, sizeof *c);
    c->k = (conv_case){"infer", 1, 1, 1, 1, 1, 3, 3, group, stride, 1, {pad, pad, pad, pad}, 1, 1, "Relu", 0, 0};
    if (kiln_graph_create(&c->g) != KILN_OK)
        return 0;
    for (int i = 0; i < 4; i++)
        if (kiln_graph_value(c->g, names[i], &c->ids[i]) != KILN_OK)
            return 0;
    make_node(&c->k, &c->cn);
    c->cn.node.op_type = (char *)"NhwcConv";
    c->cn.node.domain = (char *)KILN_DOMAIN;
    c->cn.node.opset = 1;
    c->cn.node.inputs = c->ids;
    for (int i = 0; i < 4; i++)
        c->in[i] = &c->t[i];
    c->out[0] = &c->t[4];
    c->ctx = (kiln_op_ctx){.graph = c->g,
                           .node = &c->cn.node,
                           .opset = 1,
                           .n_in = 2,
                           .n_out = 1,
                           .in = c->in,
                           .out = c->out,
                           .max_bytes = (size_t)1 << 30};
    return 1;
}

static kiln_status infer(infer_case *c)
{
    return kiln_op_find(KILN_DOMAIN, "NhwcConv")->infer(&c->ctx);
}

static void test_infer(void)
{
    infer_case c;
    const kiln_op_schema *s = kiln_op_find(KILN_DOMAIN, "NhwcConv");
    CHECK(s && s->min_inputs == 2 && s->max_inputs == 4 && s->min_outputs == 1 && s->max_outputs == 1);
    CHECK(kiln_op_find("", "NhwcConv") == NULL);
    if (!s)
        return;
    int64_t x[4] = {2, 9, 11, 8}, w[4] = {3, 3, 8, 16}, b[1] = {16}, y[4] = {2, 5, 6, 16};
    int64_t z_bad[4] = {2, 5, 6, 8}, b_bad[1] = {8};
    if (infer_init(&c, 2, 1, 1)) {
        /* stride 2, pad 1: 9 -> 5, 11 -> 6 */
        c.t[0] = shaped(KILN_FLOAT32, 4, x);
        c.t[1] = shaped(KILN_FLOAT32, 4, w);
        CHECK(infer(&c) == KILN_OK && c.t[4].rank == 4 && !memcmp(c.t[4].dims, y, sizeof y) &&
              c.t[4].dtype == KILN_FLOAT32);
        /* with bias and residual */
        c.ctx.n_in = 4;
        c.t[2] = shaped(KILN_FLOAT32, 1, b);
        c.t[3] = shaped(KILN_FLOAT32, 4, y);
        CHECK(infer(&c) == KILN_OK && !memcmp(c.t[4].dims, y, sizeof y));
        /* absent bias (a NULL input) */
        c.in[2] = NULL;
        CHECK(infer(&c) == KILN_OK && !memcmp(c.t[4].dims, y, sizeof y));
        c.in[2] = &c.t[2];
        /* a symbolic batch stays, an unknown height gives an unknown OH */
        int64_t xs[4] = {KILN_DIM_SYMBOL(0), KILN_DIM_UNKNOWN, 11, 8};
        c.t[0] = shaped(KILN_FLOAT32, 4, xs);
        int64_t ys[4] = {KILN_DIM_SYMBOL(0), KILN_DIM_UNKNOWN, 6, 16};
        c.t[3] = shaped(KILN_FLOAT32, 4, ys);
        CHECK(infer(&c) == KILN_OK && !memcmp(c.t[4].dims, ys, sizeof ys));
        c.t[0] = shaped(KILN_FLOAT32, 4, x);
        c.t[3] = shaped(KILN_FLOAT32, 4, y);
        /* X's channels against W's */
        int64_t w3[4] = {3, 3, 3, 16};
        c.t[1] = shaped(KILN_FLOAT32, 4, w3);
        CHECK_ERR(infer(&c), KILN_ERR_SHAPE, "X 'x_value' has shape 2x9x11x8: 8 channels, but W 'w_value'");
        c.t[1] = shaped(KILN_FLOAT32, 4, w);
        /* bias length */
        c.t[2] = shaped(KILN_FLOAT32, 1, b_bad);
        CHECK_ERR(infer(&c), KILN_ERR_SHAPE, "B 'b_value' has shape 8");
        c.t[2] = shaped(KILN_FLOAT32, 1, b);
        /* residual shape and dtype */
        c.t[3] = shaped(KILN_FLOAT32, 4, z_bad);
        CHECK_ERR(infer(&c), KILN_ERR_SHAPE, "residual Z 'z_value' has shape 2x5x6x8, the convolution gives 2x5x6x16");
        c.t[3] = shaped(KILN_FLOAT16, 4, y);
        CHECK_ERR(infer(&c), KILN_ERR_GRAPH, "residual Z 'z_value' is float16");
        c.t[3] = shaped(KILN_FLOAT32, 4, y);
        /* ranks and dtypes */
        c.t[0] = shaped(KILN_FLOAT32, 3, x);
        CHECK_ERR(infer(&c), KILN_ERR_SHAPE, "X 'x_value' has shape 2x9x11, rank 3");
        c.t[0] = shaped(KILN_FLOAT32, 4, x);
        c.t[1] = shaped(KILN_FLOAT16, 4, w);
        CHECK_ERR(infer(&c), KILN_ERR_GRAPH, "W 'w_value' is float16 but X 'x_value' is float32");
        c.t[1] = shaped(KILN_FLOAT32, 4, w);
        c.t[0] = shaped(KILN_INT8, 4, x);
        CHECK_ERR(infer(&c), KILN_ERR_UNSUPPORTED, "int8");
        c.t[0] = shaped(KILN_FLOAT32, 4, x);
        CHECK(infer(&c) == KILN_OK);
    }
    kiln_graph_free(c.g);
    if (infer_init(&c, 1, 1, 2)) {
        /* group 2: X's 8 channels are 2 groups of 4 */
        int64_t wg[4] = {3, 3, 4, 16}, yg[4] = {2, 9, 11, 16}, wg3[4] = {3, 3, 3, 16}, wodd[4] = {3, 3, 4, 15};
        c.t[0] = shaped(KILN_FLOAT32, 4, x);
        c.t[1] = shaped(KILN_FLOAT32, 4, wg);
        CHECK(infer(&c) == KILN_OK && !memcmp(c.t[4].dims, yg, sizeof yg));
        c.t[1] = shaped(KILN_FLOAT32, 4, wg3);
        CHECK_ERR(infer(&c), KILN_ERR_SHAPE, "takes 3 per group with group 2");
        c.t[1] = shaped(KILN_FLOAT32, 4, wodd);
        CHECK_ERR(infer(&c), KILN_ERR_SHAPE, "15 filters, not divisible by group 2");
        /* unknown rank of X: every dim but M unknown */
        int64_t yu[4] = {KILN_DIM_UNKNOWN, KILN_DIM_UNKNOWN, KILN_DIM_UNKNOWN, 16};
        c.t[0] = shaped(KILN_FLOAT32, -1, x);
        c.t[1] = shaped(KILN_FLOAT32, 4, wg);
        CHECK(infer(&c) == KILN_OK && c.t[4].rank == 4 && !memcmp(c.t[4].dims, yu, sizeof yu));
    }
    kiln_graph_free(c.g);
}

/* What the kernel and the gemm tactic refuse: a workspace over the ceiling
 * (one row over it; exactly one row fits and runs), an unknown activation,
 * float64, and an output, residual or bias of the wrong shape. */
static void test_refusals(void)
{
    const conv_case k = {"refusals", 1, 8, 6, 6, 8, 3, 3, 1, 1, 1, {1, 1, 1, 1}, 1, 1, "Relu", 0, 0};
    nhwc_run r;
    if (nhwc_run_init(&k, &r)) {
        const kiln_tactic *gemm = kiln_tactic_find("NhwcConv", "conv_nhwc_gemm");
        kiln_status st;
        /* one im2col row is 3*3*8 floats, 288 bytes */
        r.ctx.max_bytes = 256;
        CHECK(run_error(&r.ctx, NULL, r.ref, &st) == INFINITY && st == KILN_ERR_LIMIT);
        CHECK(gemm && kiln_tactic_exec(gemm, &r.ctx) == KILN_ERR_LIMIT);
        r.ctx.max_bytes = 288;
        CHECK(run_error(&r.ctx, NULL, r.ref, &st) <= MAX_TOL && st == KILN_OK);
        r.ctx.max_bytes = (size_t)1 << 30;
        /* an unknown activation */
        kiln_attr *act = (kiln_attr *)kiln_attr_find(&r.cn.node, "activation");
        CHECK(act != NULL);
        if (act) {
            act->s = (char *)"Mish";
            CHECK(!gemm->supports(&r.ctx));
            CHECK_ERR(kiln_cpu_find_kernel("NhwcConv")(&r.ctx), KILN_ERR_UNSUPPORTED, "Mish");
            act->s = (char *)"Relu";
        }
        /* float64 tensors */
        for (int i = 0; i < 5; i++)
            r.t[i].dtype = KILN_FLOAT64;
        CHECK_ERR(kiln_cpu_find_kernel("NhwcConv")(&r.ctx), KILN_ERR_UNSUPPORTED, "float64");
        CHECK(!gemm->supports(&r.ctx));
        for (int i = 0; i < 5; i++)
            r.t[i].dtype = KILN_FLOAT32;
        /* an output of the wrong shape */
        r.t[4].dims[3] = 4;
        CHECK_ERR(kiln_cpu_find_kernel("NhwcConv")(&r.ctx), KILN_ERR_SHAPE, "output Y has shape 1x6x6x4");
        r.t[4].dims[3] = 8;
        /* a residual or a bias of the wrong shape */
        r.t[3].dims[2] = 5;
        CHECK(!gemm->supports(&r.ctx));
        CHECK_ERR(kiln_cpu_find_kernel("NhwcConv")(&r.ctx), KILN_ERR_SHAPE, "residual Z has shape 1x6x5x8");
        r.t[3].dims[2] = 6;
        r.t[2].dims[0] = 4;
        CHECK(!gemm->supports(&r.ctx));
        CHECK_ERR(kiln_cpu_find_kernel("NhwcConv")(&r.ctx), KILN_ERR_SHAPE, "B has shape 4");
        r.t[2].dims[0] = 8;
        CHECK(run_error(&r.ctx, gemm, r.ref, &st) <= MAX_TOL && st == KILN_OK);
    }
    nhwc_run_free(&r);
}

int main(void)
{
    /* what every test below uses */
    int registered = kiln_cpu_find_kernel("NhwcConv") && kiln_op_find(KILN_DOMAIN, "NhwcConv") &&
                     kiln_tactic_find("NhwcConv", "conv_nhwc_gemm") &&
                     kiln_tactic_find("NhwcConv", "conv_nhwc_depthwise");
    CHECK(registered);
    if (!registered)
        return test_summary();
    test_infer();
    test_refusals();
    test_all_cases();
    test_window_cases();
    CHECK(kiln_thread_pool_set_threads(1) == KILN_OK);
    return test_summary();
}
