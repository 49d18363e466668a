/*
 * test_tactics.c - every tactic of every op against a float64 reference
 * (the ggml test-backend-ops idea): for each case, fresh random inputs
 * (never zeros), the output poisoned before each run, and the relative L2
 * error of each supporting tactic (and of the reference kernel) checked, on
 * one thread and on a pool of three.
 * Also: tactic filtering by source and workspace, the timing cache file,
 * and an engine whose tactics survive a save and load.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "backends/cpu/cpu_kernels.h"
#include "conv_case.h"
#include "core/thread_pool.h"
#include "ir/graph.h"
#include "kiln.h"
#include "test_util.h"
#include "tune/tactic_registry.h"
#include "tune/timing_cache.h"

#define MAX_TOL 1e-5
#define MAX_TACTICS 16

static const conv_case cases[] = {
    {"3x3 pad 1, batch 2, odd extents", 2, 8, 9, 11, 16, 3, 3, 1, 1, 1, {1, 1, 1, 1}, 1, 0, NULL, 0, 0},
    {"3x3 unpadded, no bias", 1, 5, 7, 10, 6, 3, 3, 1, 1, 1, {0, 0, 0, 0}, 0, 0, NULL, 0, 0},
    {"3x3 asymmetric pads", 1, 4, 8, 6, 3, 3, 3, 1, 1, 1, {0, 1, 2, 1}, 1, 0, NULL, 0, 0},
    {"FusedConv 3x3 Relu + residual", 2, 6, 9, 9, 10, 3, 3, 1, 1, 1, {1, 1, 1, 1}, 1, 1, "Relu", 0, 0},
    {"1x1, batch 3", 3, 16, 5, 7, 8, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 1, 0, NULL, 0, 0},
    {"1x1, batch 1", 1, 24, 6, 6, 12, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 0, 0, NULL, 0, 0},
    {"FusedConv 1x1 Relu, batch 2", 2, 16, 4, 5, 8, 1, 1, 1, 1, 1, {0, 0, 0, 0}, 1, 0, "Relu", 0, 0},
    {"depthwise 3x3 stride 2", 2, 12, 13, 9, 12, 3, 3, 12, 2, 1, {1, 1, 1, 1}, 1, 0, NULL, 0, 0},
    {"depthwise 5x5 dilation 2", 1, 6, 14, 12, 6, 5, 5, 6, 1, 2, {4, 4, 4, 4}, 1, 0, NULL, 0, 0},
    {"FusedConv depthwise 3x3 Relu", 1, 9, 10, 10, 9, 3, 3, 9, 1, 1, {1, 1, 1, 1}, 1, 0, "Relu", 0, 0},
    {"7x7 stride 2, 3 channels", 1, 3, 20, 18, 8, 7, 7, 1, 2, 1, {3, 3, 3, 3}, 1, 0, NULL, 0, 0},
    {"grouped 3x3", 2, 8, 6, 7, 6, 3, 3, 2, 1, 1, {1, 1, 1, 1}, 1, 0, NULL, 0, 0},
};

/* Poisons y, runs one kernel, checks the error; returns it. */
static double check_run(const char *name, const conv_case *k, kiln_op_ctx *ctx, const kiln_tactic *t, const double *ref)
{
    kiln_tensor *y = ctx->out[0];
    poison(y);
    kiln_status st = t ? kiln_tactic_exec(t, ctx) : kiln_cpu_find_kernel(ctx->node->op_type)(ctx);
    double err = st == KILN_OK ? rel_l2(y->data, ref, kiln_tensor_numel(y)) : INFINITY;
    CHECK(st == KILN_OK);
    CHECK(err <= MAX_TOL);
    if (st != KILN_OK || !(err <= MAX_TOL))
        fprintf(stderr, "  %s on '%s': %s, relative L2 %.3g\n", name, k->what, st ? kiln_last_error() : "ran", err);
    return err;
}

/* Winograd (an OpenBLAS tactic with a workspace) is filtered out by a zero
 * workspace limit and by a kiln-only source mask. */
static void check_filters(const kiln_op_ctx *ctx)
{
    const kiln_tactic *t = kiln_tactic_find(ctx->node->op_type, "conv_winograd_f2x3");
    if (!t || !t->supports(ctx))
        return;
    CHECK(kiln_tactic_usable(t, ctx, SIZE_MAX, ~0u));
    CHECK(!kiln_tactic_usable(t, ctx, 0, ~0u));
    CHECK(!kiln_tactic_usable(t, ctx, SIZE_MAX, KILN_TACTIC_KILN));
}

static void test_case(const conv_case *k, int *used)
{
    conv_run r;
    int ok = conv_run_init(k, &r);
    CHECK(ok);
    if (ok) {
        int n;
        const kiln_tactic *tactics = kiln_tactics_for(r.cn.node.op_type, &n);
        reference(k, r.in, &r.t[4], r.ref);
        check_filters(&r.ctx);
        check_run("reference kernel", k, &r.ctx, NULL, r.ref);
        for (int i = 0; i < n && i < MAX_TACTICS; i++)
            if (tactics[i].supports(&r.ctx)) {
                used[i]++;
                check_run(tactics[i].name, k, &r.ctx, &tactics[i], r.ref);
            }
    }
    conv_run_free(&r);
}

/* Every case on one thread, then on a pool of three. */
static void test_all_tactics(void)
{
    int used[2][MAX_TACTICS] = {{0}}, n;
    for (int threads = 1; threads <= 3; threads += 2) {
        CHECK(kiln_thread_pool_set_threads(threads) == KILN_OK && kiln_thread_pool_threads() == threads);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            test_case(&cases[i], used[cases[i].act != NULL]);
    }
    CHECK(kiln_thread_pool_set_threads(1) == KILN_OK);
    for (int op = 0; op < 2; op++) {
        const kiln_tactic *tactics = kiln_tactics_for(op ? "FusedConv" : "Conv", &n);
        CHECK(n >= 5);
        for (int i = 0; i < n && i < MAX_TACTICS; i++) {
            CHECK(used[op][i] > 0);
            if (!used[op][i])
                fprintf(stderr, "  tactic %s of %s ran on no case\n", tactics[i].name, op ? "FusedConv" : "Conv");
        }
    }
}

static void test_registry(void)
{
    int n;
    CHECK(kiln_tactics_for("Relu", &n) == NULL && n == 0);
    CHECK(kiln_tactic_find("Conv", "conv_winograd_f2x3") != NULL);
    CHECK(kiln_tactic_find("Conv", "no_such_tactic") == NULL);
    CHECK(kiln_tactic_known("conv_direct") && !kiln_tactic_known("reference"));
}

static void test_timing_cache(void)
{
    const char *path = "test_tactics_cache.txt";
    kiln_timing_cache c = {0}, back;
    kiln_timing_entry e = {
        .key = "cpu x|Conv|k=3;| float32[1x2]", .tactic = "conv_direct", .ms = 1.5, .reference_ms = 2.25};
    CHECK(kiln_timing_cache_put(&c, &e) == KILN_OK);
    e.key = "other";
    CHECK(kiln_timing_cache_put(&c, &e) == KILN_OK);
    CHECK(kiln_timing_cache_save(&c, path) == KILN_OK);
    CHECK(kiln_timing_cache_load(&back, path) == KILN_OK);
    const kiln_timing_entry *hit = kiln_timing_cache_find(&back, "cpu x|Conv|k=3;| float32[1x2]");
    CHECK(back.n == 2 && hit && !strcmp(hit->tactic, "conv_direct") && hit->ms == 1.5 && hit->reference_ms == 2.25);
    kiln_timing_cache_free(&back);
    kiln_timing_cache_free(&c);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("kiln-timing-cache 1\nbroken line\n", f);
        fclose(f);
    }
    CHECK_ERR(kiln_timing_cache_load(&back, path), KILN_ERR_PARSE, "malformed");
    remove(path);
    CHECK(kiln_timing_cache_load(&back, path) == KILN_OK && back.n == 0);
}

#define SAMPLE KILN_SOURCE_DIR "/models/sample_cnn.onnx"

static int run_sample(kiln_engine *e, const float *input, float *out)
{
    kiln_context *c = NULL;
    int64_t dims[] = {2, 3, 64, 64};
    kiln_tensor_view v;
    int ok =
        kiln_context_create(e, &c) == KILN_OK &&
        kiln_context_set_input(c, "input", KILN_FLOAT32, 4, dims, input, sizeof(float) * 2 * 3 * 64 * 64) == KILN_OK &&
        kiln_context_run(c) == KILN_OK && kiln_context_output(c, "logits", 0, &v) == KILN_OK &&
        v.nbytes == 2 * 10 * sizeof(float);
    if (ok)
        memcpy(out, v.data, v.nbytes);
    kiln_context_free(c);
    return ok;
}

static void count_progress(void *user, int done, int total, const char *layer)
{
    int *calls = user;
    calls[0]++;
    calls[1] = done == total && layer ? total : calls[1];
}

/* Tactics of e's layers, joined, into buf. */
static void tactic_list(const kiln_engine *e, char *buf, size_t len)
{
    int n = 0;
    size_t pos = 0;
    buf[0] = '\0';
    kiln_engine_num_layers(e, &n);
    for (int i = 0; i < n; i++) {
        kiln_node_info info;
        if (kiln_engine_layer(e, i, &info) == KILN_OK && pos < len)
            pos += (size_t)snprintf(buf + pos, len - pos, "%s,", info.tactic);
    }
}

static void test_engine(void)
{
    static float input[2 * 3 * 64 * 64], out1[20], out2[20];
    int64_t dims[] = {2, 3, 64, 64};
    int calls[2] = {0, 0};
    char t1[1024], t2[1024];
    kiln_network *net = NULL;
    kiln_builder_config *cfg = NULL;
    kiln_engine *e = NULL, *back = NULL;
    kiln_tuning_summary sum, sum_back;
    void *img = NULL;
    size_t size = 0;
    for (size_t i = 0; i < sizeof input / sizeof input[0]; i++)
        input[i] = nonzero_random();
    CHECK(kiln_network_from_file(SAMPLE, &net) == KILN_OK && kiln_builder_config_create(&cfg) == KILN_OK);
    CHECK(kiln_builder_config_set_input_shape(cfg, "input", 4, dims) == KILN_OK);
    CHECK(kiln_builder_config_set_progress_callback(cfg, count_progress, calls) == KILN_OK);
    CHECK(kiln_builder_config_set_layout(cfg, KILN_LAYOUT_NCHW) == KILN_OK); /* one build: one progress run */
    CHECK(kiln_builder_config_set_autotune(cfg, 0) == KILN_OK);
    CHECK(kiln_engine_build(net, cfg, &e) == KILN_OK);
    tactic_list(e, t1, sizeof t1);
    CHECK(calls[0] == 0 && !strstr(t1, "conv_")); /* autotuning off: the reference kernels */
    kiln_engine_free(e);
    e = NULL;
    CHECK(kiln_builder_config_set_autotune(cfg, 1) == KILN_OK);
    CHECK(kiln_engine_build(net, cfg, &e) == KILN_OK);
    CHECK(e && kiln_engine_tuning_summary(e, &sum) == KILN_OK && sum.layers_tuned > 0 && sum.cache_hits >= 0);
    CHECK(calls[0] > 0 && calls[1] == calls[0]);
    CHECK(e && kiln_engine_serialize(e, &img, &size) == KILN_OK);
    CHECK(img && kiln_engine_deserialize(img, size, &back) == KILN_OK);
    if (e && back) {
        double ms, ref;
        tactic_list(e, t1, sizeof t1);
        tactic_list(back, t2, sizeof t2);
        CHECK(strcmp(t1, t2) == 0 && strstr(t1, "conv_"));
        CHECK(kiln_engine_tuning_summary(back, &sum_back) == KILN_OK && sum_back.layers_tuned == 0);
        CHECK(kiln_engine_layer_timing(back, 0, &ms, &ref) == KILN_OK && ms == -1);
        CHECK(kiln_engine_layer_timing(e, 0, &ms, &ref) == KILN_OK && ms > 0);
        CHECK(run_sample(e, input, out1) && run_sample(back, input, out2) && !memcmp(out1, out2, sizeof out1));
    }
    kiln_free(img);
    kiln_engine_free(back);
    kiln_engine_free(e);
    kiln_builder_config_free(cfg);
    kiln_network_free(net);
}

int main(void)
{
    test_registry();
    test_all_tactics();
    test_timing_cache();
    test_engine();
    return test_summary();
}
