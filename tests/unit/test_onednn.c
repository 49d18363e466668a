/*
 * test_onednn.c - the oneDNN conv tactic (conv_onednn) against a float64
 * reference: Conv and FusedConv geometries (strided, padded, dilated,
 * grouped, depthwise, 7x7 on 3 channels, odd channel counts that do not
 * fill oneDNN's 16-channel blocks), every fused activation and the residual
 * add, on fresh random inputs (never zeros), outputs NaN-poisoned before
 * each run, on one thread and on three. Also: new weights at the address of
 * cached ones are picked up. Exits 77 (skipped) when kiln was built without
 * oneDNN. OMP_WAIT_POLICY is set so that the tactic runs oneDNN on kiln's
 * thread count (unit.test_tactics covers its default, single thread).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "conv_case.h"
#include "core/thread_pool.h"
#include "ir/graph.h"
#include "kiln.h"
#include "test_util.h"
#include "backends/cpu/tactics/conv_tactics.h"
#include "tune/tactic_registry.h"

#define SKIPPED 77
/* oneDNN accumulates in float32 in its own order; measured errors stay
 * below 1e-6, activations through its approximations below 2e-6 */
#define MAX_TOL 1e-5

static const conv_case cases[] = {
    {"3x3 s1 p1", 1, 16, 14, 14, 32, 3, 3, 1, 1, 1, {1, 1, 1, 1}, 1, 0, NULL, 0, 0},
    {"3x3 s1 p1, batch 2, odd channels", 2, 12, 9, 11, 20, 3, 3, 1, 1, 1, {1, 1, 1, 1}, 1, 0, NULL, 0, 0},
    {"3x3 s2 p1", 1, 32, 15, 15, 64, 3, 3, 1, 2, 1, {1, 1, 1, 1}, 1, 0, NULL, 0, 0},
    {"3x3 s2 unpadded, no bias", 1, 8, 12, 10, 16, 3, 3, 1, 2, 1, {0, 0, 0, 0}, 0, 0, NULL, 0, 0},
    {"3x3 asymmetric pads", 1, 5, 8, 7, 6, 3, 3, 1, 1, 1, {0, 1, 2, 1}, 1, 0, NULL, 0, 0},
    {"1x1", 1, 64, 7, 7, 128, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 1, 0, NULL, 0, 0},
    {"1x1 s2, batch 3", 3, 24, 8, 8, 40, 1, 1, 1, 2, 1, {0, 0, 0, 0}, 0, 0, NULL, 0, 0},
    {"7x7 s2 p3, 3 channels", 1, 3, 32, 30, 16, 7, 7, 1, 2, 1, {3, 3, 3, 3}, 1, 0, NULL, 0, 0},
    {"depthwise 3x3 s1", 1, 32, 10, 10, 32, 3, 3, 32, 1, 1, {1, 1, 1, 1}, 1, 0, NULL, 0, 0},
    {"depthwise 3x3 s2", 2, 24, 13, 9, 24, 3, 3, 24, 2, 1, {1, 1, 1, 1}, 1, 0, NULL, 0, 0},
    {"depthwise 5x5 dilation 2", 1, 6, 14, 12, 6, 5, 5, 6, 1, 2, {4, 4, 4, 4}, 0, 0, NULL, 0, 0},
    {"grouped 3x3, 4 groups", 1, 32, 9, 9, 64, 3, 3, 4, 1, 1, {1, 1, 1, 1}, 1, 0, NULL, 0, 0},
    {"grouped 3x3, 2 groups of 3", 2, 6, 7, 8, 10, 3, 3, 2, 1, 1, {1, 1, 1, 1}, 1, 0, NULL, 0, 0},
    {"dilated 3x3, dilation 2", 1, 16, 12, 12, 16, 3, 3, 1, 1, 2, {2, 2, 2, 2}, 1, 0, NULL, 0, 0},
    {"FusedConv 3x3 Relu", 1, 16, 10, 10, 32, 3, 3, 1, 1, 1, {1, 1, 1, 1}, 1, 0, "Relu", 0, 0},
    {"FusedConv 3x3 Relu + residual", 2, 16, 9, 9, 16, 3, 3, 1, 1, 1, {1, 1, 1, 1}, 1, 1, "Relu", 0, 0},
    {"FusedConv 1x1 residual only", 1, 32, 7, 7, 64, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 1, 1, "", 0, 0},
    {"FusedConv depthwise Clip 0..6", 1, 32, 10, 10, 32, 3, 3, 32, 1, 1, {1, 1, 1, 1}, 1, 0, "Clip", 0, 6},
    {"FusedConv 1x1 Clip + residual", 1, 24, 6, 6, 24, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 1, 1, "Clip", -0.5f, 0.5f},
    {"FusedConv LeakyRelu", 1, 8, 8, 8, 16, 3, 3, 1, 1, 1, {1, 1, 1, 1}, 1, 0, "LeakyRelu", 0.1f, 0},
    {"FusedConv Sigmoid", 1, 8, 8, 8, 16, 3, 3, 1, 1, 1, {1, 1, 1, 1}, 1, 0, "Sigmoid", 0, 0},
    {"FusedConv HardSigmoid", 1, 8, 8, 8, 16, 3, 3, 1, 1, 1, {1, 1, 1, 1}, 1, 0, "HardSigmoid", 0.2f, 0.5f},
    {"FusedConv HardSwish", 1, 8, 8, 8, 16, 3, 3, 1, 1, 1, {1, 1, 1, 1}, 1, 0, "HardSwish", 0, 0},
    {"FusedConv Tanh", 1, 8, 8, 8, 16, 3, 3, 1, 1, 1, {1, 1, 1, 1}, 1, 0, "Tanh", 0, 0},
    {"FusedConv Gelu", 1, 8, 8, 8, 16, 3, 3, 1, 1, 1, {1, 1, 1, 1}, 1, 1, "Gelu", 0, 0},
    {"FusedConv GeluTanh", 1, 8, 8, 8, 16, 3, 3, 1, 1, 1, {1, 1, 1, 1}, 1, 0, "GeluTanh", 0, 0},
    {"FusedConv Swish + residual", 1, 8, 8, 8, 16, 3, 3, 1, 1, 1, {1, 1, 1, 1}, 1, 1, "Swish", 0, 0},
};

static double worst;

/* NaN-poisons y, runs the tactic, checks the error against ref. */
static void check_run(const conv_case *k, kiln_op_ctx *ctx, const kiln_tactic *t, const double *ref, const char *when)
{
    kiln_tensor *y = ctx->out[0];
    poison(y);
    kiln_status st = kiln_tactic_exec(t, ctx);
    double err = st == KILN_OK ? rel_l2(y->data, ref, kiln_tensor_numel(y)) : INFINITY;
    CHECK(st == KILN_OK);
    CHECK(err <= MAX_TOL);
    worst = err > worst ? err : worst;
    if (st != KILN_OK || !(err <= MAX_TOL))
        fprintf(stderr, "  '%s' (%s): %s, relative L2 %.3g\n", k->what, when, st ? kiln_last_error() : "ran", err);
}

/* One case: a run, then new weights and inputs in the same buffers (the
 * cache must not serve the old reordered weights), then a second run. */
static void test_case(const conv_case *k)
{
    conv_run r;
    int ok = conv_run_init(k, &r);
    const kiln_tactic *t_dn = kiln_tactic_find(r.cn.node.op_type, "conv_onednn");
    CHECK(ok && t_dn != NULL);
    if (ok && t_dn) {
        CHECK(t_dn->supports(&r.ctx) && t_dn->source == KILN_TACTIC_ONEDNN);
        CHECK(kiln_tactic_usable(t_dn, &r.ctx, SIZE_MAX, KILN_TACTIC_ONEDNN));
        CHECK(!kiln_tactic_usable(t_dn, &r.ctx, SIZE_MAX, KILN_TACTIC_KILN | KILN_TACTIC_OPENBLAS));
        reference(k, r.in, &r.t[4], r.ref);
        check_run(k, &r.ctx, t_dn, r.ref, "first run");
        for (int i = 0; i < 4; i++)
            fill(&r.t[i]);
        reference(k, r.in, &r.t[4], r.ref);
        check_run(k, &r.ctx, t_dn, r.ref, "new weights, same buffer");
    }
    conv_run_free(&r);
}

/* Weights changed where the cache's fingerprint does not sample them, as
 * when freed weights' address comes back holding other weights: after
 * kiln_tactics_forget (which the engine and the autotuner call before
 * freeing weights) the run uses the new values, not a stale reordered copy. */
static void test_forget(void)
{
    const conv_case *k = &cases[0]; /* 3x3, 16 -> 32 channels: 4608 weights, sampled every 18th */
    conv_run r;
    int ok = conv_run_init(k, &r);
    const kiln_tactic *t_dn = kiln_tactic_find(r.cn.node.op_type, "conv_onednn");
    CHECK(ok && t_dn != NULL && kiln_tensor_numel(&r.t[1]) == 4608);
    if (ok && t_dn) {
        reference(k, r.in, &r.t[4], r.ref);
        check_run(k, &r.ctx, t_dn, r.ref, "before forget");
        float *w = r.t[1].data;
        for (int i = 1; i < 17; i++) /* between two sampled positions */
            w[i] += 5.0f;
        kiln_tactics_forget(w);
        reference(k, r.in, &r.t[4], r.ref);
        check_run(k, &r.ctx, t_dn, r.ref, "weights changed where unsampled, then forgotten");
    }
    conv_run_free(&r);
}

/* The prepare step (run when an engine is built or loaded) reorders the
 * node's weights ahead of its first run, from the weights alone (no
 * activations in the context); the run then matches the reference, and
 * forgetting the weights drops the copy. */
static void test_prepare(void)
{
    const conv_case *k = &cases[1];
    conv_run r;
    int ok = conv_run_init(k, &r);
    const kiln_tactic *t_dn = kiln_tactic_find(r.cn.node.op_type, "conv_onednn");
    CHECK(ok && t_dn && t_dn->prepare);
    if (ok && t_dn && t_dn->prepare) {
        const float *w = r.t[1].data;
        kiln_tactics_forget(w); /* the address may have held an earlier case's weights */
        CHECK(!kiln_ct_onednn_holds(w));
        void *x = r.t[0].data, *wd = r.t[1].data;
        r.t[1].data = NULL; /* weights fed at run time (not a constant): the primitive alone */
        CHECK(t_dn->prepare(&r.ctx) == KILN_OK);
        r.t[1].data = wd;
        CHECK(!kiln_ct_onednn_holds(w));
        r.t[0].data = NULL; /* only shapes and weights at prepare time */
        CHECK(t_dn->prepare(&r.ctx) == KILN_OK);
        r.t[0].data = x;
        CHECK(kiln_ct_onednn_holds(w));
        reference(k, r.in, &r.t[4], r.ref);
        check_run(k, &r.ctx, t_dn, r.ref, "after prepare");
        kiln_tactics_forget(w);
        CHECK(!kiln_ct_onednn_holds(w));
    }
    conv_run_free(&r);
}

/* A residual that does not match the output's size is not the tactic's. */
static void test_refuses(void)
{
    const conv_case k = {"bad residual", 1, 4, 5, 5, 4, 3, 3, 1, 1, 1, {1, 1, 1, 1}, 1, 1, "Relu", 0, 0};
    kiln_tensor t[5] = {{0}};
    int64_t xd[4] = {1, 4, 5, 5}, wd[4] = {4, 4, 3, 3}, bd[1] = {4}, zd[1] = {4};
    kiln_tensor *in[4] = {&t[0], &t[1], &t[2], &t[3]}, *out[1] = {&t[4]};
    conv_node cn;
    make_node(&k, &cn);
    if (alloc_tensor(&t[0], 4, xd) && alloc_tensor(&t[1], 4, wd) && alloc_tensor(&t[2], 1, bd) &&
        alloc_tensor(&t[3], 1, zd) && alloc_tensor(&t[4], 4, xd)) {
        kiln_op_ctx ctx = {.node = &cn.node, .n_in = 4, .n_out = 1, .in = in, .out = out, .max_bytes = 1 << 30};
        const kiln_tactic *t_dn = kiln_tactic_find("FusedConv", "conv_onednn");
        CHECK(t_dn && !t_dn->supports(&ctx));
    }
    for (int i = 0; i < 5; i++)
        kiln_tensor_clear(&t[i]);
}

int main(void)
{
    if (!kiln_tactic_find("Conv", "conv_onednn")) {
        printf("kiln was built without oneDNN: skipped\n");
        return SKIPPED;
    }
    setenv("OMP_WAIT_POLICY", "passive", 0);
    for (int threads = 1; threads <= 3; threads += 2) {
        CHECK(kiln_thread_pool_set_threads(threads) == KILN_OK);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            test_case(&cases[i]);
    }
    CHECK(kiln_thread_pool_set_threads(1) == KILN_OK);
    test_refuses();
    test_forget();
    test_prepare();
    printf("largest relative L2 error: %.3g\n", worst);
    return test_summary();
}
