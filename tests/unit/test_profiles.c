/*
 * test_profiles.c - optimization profiles on the sample CNN (input
 * [batch,3,64,64]): two profiles over the batch, runs inside each (outputs
 * as without profiles), shapes outside refused with the bounds named,
 * explicit selection, the engine file round trip, the OPT-shaped graph for
 * the tuner, every profile tuned and run with its own tactics, and bad
 * profiles refused at build.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "kiln.h"
#include "tune/tactic_registry.h"
#include "test_util.h"

#define MODEL KILN_SOURCE_DIR "/models/sample_cnn.onnx"
#define IMAGE (3 * 64 * 64)

static kiln_status set_batch_bounds(kiln_builder_config *cfg, int p, int64_t lo, int64_t opt, int64_t hi)
{
    int64_t min[] = {lo, 3, 64, 64}, o[] = {opt, 3, 64, 64}, max[] = {hi, 3, 64, 64};
    return kiln_builder_config_set_profile_shape(cfg, p, "input", 4, min, o, max);
}

/* Profile 0: batch 1..4 (opt 2); profile 1: batch 5..16 (opt 8). */
static kiln_status build_two_in(const kiln_network *net, kiln_layout layout, kiln_engine **out)
{
    kiln_builder_config *cfg = NULL;
    int p0 = -1, p1 = -1;
    kiln_status st = kiln_builder_config_create(&cfg);
    if (st == KILN_OK)
        st = kiln_builder_config_add_profile(cfg, &p0);
    if (st == KILN_OK)
        st = set_batch_bounds(cfg, p0, 1, 2, 4);
    if (st == KILN_OK)
        st = kiln_builder_config_add_profile(cfg, &p1);
    if (st == KILN_OK)
        st = set_batch_bounds(cfg, p1, 5, 8, 16);
    if (st == KILN_OK && (p0 != 0 || p1 != 1))
        st = KILN_ERR_INTERNAL;
    if (st == KILN_OK)
        st = kiln_builder_config_set_layout(cfg, layout);
    if (st == KILN_OK)
        st = kiln_engine_build(net, cfg, out);
    kiln_builder_config_free(cfg);
    return st;
}

static kiln_status build_two(const kiln_network *net, kiln_engine **out)
{
    return build_two_in(net, KILN_LAYOUT_NCHW, out);
}

static float *image_batch(int64_t batch)
{
    float *x = malloc(sizeof(float) * (size_t)(batch * IMAGE));
    for (int64_t i = 0; x && i < batch * IMAGE; i++)
        x[i] = (float)((i * 7919) % 255) / 255.0f - 0.5f;
    return x;
}

static kiln_status bind_batch(kiln_context *ctx, int64_t batch, float *x)
{
    int64_t dims[] = {batch, 3, 64, 64};
    return kiln_context_set_input(ctx, "input", KILN_FLOAT32, 4, dims, x, sizeof(float) * (size_t)(batch * IMAGE));
}

/* Runs `batch` images on engine and on the reference engine (no profiles);
 * 1 when the logits agree. */
static int same_logits(kiln_engine *engine, kiln_engine *ref, int64_t batch)
{
    kiln_context *a = NULL, *b = NULL;
    float *x = image_batch(batch);
    int ok = x && kiln_context_create(engine, &a) == KILN_OK && kiln_context_create(ref, &b) == KILN_OK &&
             bind_batch(a, batch, x) == KILN_OK && bind_batch(b, batch, x) == KILN_OK &&
             kiln_context_run(a) == KILN_OK && kiln_context_run(b) == KILN_OK;
    kiln_tensor_view va, vb;
    ok = ok && kiln_context_output(a, "logits", 0, &va) == KILN_OK &&
         kiln_context_output(b, "logits", 0, &vb) == KILN_OK;
    ok = ok && va.rank == 2 && va.dims[0] == batch && va.dims[1] == 10 && va.nbytes == vb.nbytes;
    for (size_t i = 0; ok && i < va.nbytes / sizeof(float); i++)
        ok = fabsf(((const float *)va.data)[i] - ((const float *)vb.data)[i]) <= 1e-5f;
    kiln_context_free(a);
    kiln_context_free(b);
    free(x);
    return ok;
}

static void test_runs_inside(kiln_engine *engine, kiln_engine *ref)
{
    CHECK(same_logits(engine, ref, 1));
    CHECK(same_logits(engine, ref, 3));
    CHECK(same_logits(engine, ref, 4));
    CHECK(same_logits(engine, ref, 5));
    CHECK(same_logits(engine, ref, 16));
    size_t naive = 0, planned = 0, ref_naive = 0, ref_planned = 0;
    CHECK(kiln_engine_memory(engine, &naive, &planned) == KILN_OK && planned > 0 && planned <= naive);
    CHECK(kiln_engine_memory(ref, &ref_naive, &ref_planned) == KILN_OK && ref_planned < planned);
    /* one layout per profile, the larger for the larger batch */
    CHECK(engine->plan.n_layouts == 2 && engine->plan.layouts[1].planned_bytes > engine->plan.layouts[0].planned_bytes);
    CHECK(engine->plan.layouts[1].planned_bytes == planned);
}

static void test_refused_outside(kiln_engine *engine)
{
    kiln_context *ctx = NULL;
    float *x = image_batch(20);
    CHECK(x && kiln_context_create(engine, &ctx) == KILN_OK);
    CHECK_ERR(bind_batch(ctx, 20, x), KILN_ERR_SHAPE,
              "input 'input' shape 20x3x64x64 is outside every profile (profile 0: 1x3x64x64 .. 4x3x64x64, "
              "profile 1: 5x3x64x64 .. 16x3x64x64)");
    int64_t wrong[] = {2, 3, 32, 32};
    CHECK_ERR(kiln_context_set_input(ctx, "input", KILN_FLOAT32, 4, wrong, x, sizeof(float) * 2 * 3 * 32 * 32),
              KILN_ERR_SHAPE, "must have shape batchx3x64x64");
    kiln_context_free(ctx);
    free(x);
}

static void test_explicit_profile(kiln_engine *engine)
{
    kiln_context *ctx = NULL;
    float *x = image_batch(8);
    CHECK(x && kiln_context_create(engine, &ctx) == KILN_OK);
    CHECK_ERR(kiln_context_set_profile(ctx, 2), KILN_ERR_INVALID_ARGUMENT, "profile 2 does not exist");
    CHECK(kiln_context_set_profile(ctx, 1) == KILN_OK);
    CHECK_ERR(bind_batch(ctx, 2, x), KILN_ERR_SHAPE,
              "input 'input' shape 2x3x64x64 is outside the chosen profile (profile 1: 5x3x64x64 .. 16x3x64x64)");
    CHECK(bind_batch(ctx, 8, x) == KILN_OK);
    CHECK(kiln_context_run(ctx) == KILN_OK);
    /* bound under profile 1, then profile 0 chosen: refused at run */
    CHECK(kiln_context_set_profile(ctx, 0) == KILN_OK);
    CHECK_ERR(kiln_context_run(ctx), KILN_ERR_SHAPE, "shape 8x3x64x64 is outside the chosen profile (profile 0: ");
    CHECK(kiln_context_set_profile(ctx, -1) == KILN_OK);
    CHECK(kiln_context_run(ctx) == KILN_OK);
    CHECK(bind_batch(ctx, 2, x) == KILN_OK);
    CHECK(kiln_context_run(ctx) == KILN_OK);
    kiln_context_free(ctx);
    free(x);
}

static int bounds_are(const kiln_engine *e, int p, int64_t lo, int64_t opt, int64_t hi)
{
    int rank = 0;
    int64_t min[KILN_MAX_RANK], o[KILN_MAX_RANK], max[KILN_MAX_RANK];
    if (kiln_engine_profile_shape(e, p, "input", &rank, min, o, max) != KILN_OK || rank != 4)
        return 0;
    return min[0] == lo && o[0] == opt && max[0] == hi && min[1] == 3 && max[3] == 64;
}

static void test_queries(const kiln_engine *engine)
{
    int n = -1, rank = 0;
    int64_t a[KILN_MAX_RANK], b[KILN_MAX_RANK], c[KILN_MAX_RANK];
    CHECK(kiln_engine_num_profiles(engine, &n) == KILN_OK && n == 2);
    CHECK(bounds_are(engine, 0, 1, 2, 4) && bounds_are(engine, 1, 5, 8, 16));
    CHECK_ERR(kiln_engine_profile_shape(engine, 2, "input", &rank, a, b, c), KILN_ERR_INVALID_ARGUMENT,
              "profile 2 does not exist");
    CHECK_ERR(kiln_engine_profile_shape(engine, 0, "nope", &rank, a, b, c), KILN_ERR_NOT_FOUND, "'nope'");
}

static void test_round_trip(kiln_engine *engine, kiln_engine *ref)
{
    void *data = NULL;
    size_t size = 0;
    kiln_engine *loaded = NULL;
    int n = 0;
    CHECK(kiln_engine_serialize(engine, &data, &size) == KILN_OK);
    CHECK(kiln_engine_deserialize(data, size, &loaded) == KILN_OK);
    kiln_free(data);
    if (!loaded)
        return;
    CHECK(kiln_engine_num_profiles(loaded, &n) == KILN_OK && n == 2);
    CHECK(bounds_are(loaded, 0, 1, 2, 4) && bounds_are(loaded, 1, 5, 8, 16));
    CHECK(loaded->plan.n_layouts == 2);
    CHECK(same_logits(loaded, ref, 2) && same_logits(loaded, ref, 9));
    test_refused_outside(loaded);
    kiln_engine_free(loaded);
}

/* The graph the tuner measures: every value at the OPT shapes. */
static void test_opt_graph(const kiln_engine *engine)
{
    kiln_graph *g = NULL;
    CHECK(kiln_graph_at_profile(engine->graph, 1, KILN_PROFILE_OPT, &g) == KILN_OK);
    if (g) {
        const kiln_value *in = &g->values[g->inputs[0]], *out = &g->values[g->outputs[0]];
        CHECK(in->dims[0] == 8 && out->rank == 2 && out->dims[0] == 8 && out->dims[1] == 10);
        kiln_graph_free(g);
    }
    CHECK_ERR(kiln_graph_at_profile(engine->graph, 7, KILN_PROFILE_OPT, &g), KILN_ERR_INVALID_ARGUMENT, "profile 7");
}

/* Builds with one profile for `input` and expects failure st with msg. */
static void expect_bad(const kiln_network *net, const char *input, int rank, const int64_t *min, const int64_t *max,
                       kiln_status st, const char *msg)
{
    kiln_builder_config *cfg = NULL;
    kiln_engine *e = NULL;
    int p = -1;
    CHECK(kiln_builder_config_create(&cfg) == KILN_OK && kiln_builder_config_add_profile(cfg, &p) == KILN_OK);
    CHECK(kiln_builder_config_set_profile_shape(cfg, p, input, rank, min, min, max) == KILN_OK);
    CHECK_ERR(kiln_engine_build(net, cfg, &e), st, msg);
    CHECK(e == NULL);
    kiln_builder_config_free(cfg);
}

static void test_bad_profiles(const kiln_network *net)
{
    kiln_builder_config *cfg = NULL;
    kiln_engine *e = NULL;
    int p = -1;
    int64_t lo[] = {4, 3, 64, 64}, hi[] = {2, 3, 64, 64}, r2[] = {1, 3};
    CHECK(kiln_builder_config_create(&cfg) == KILN_OK);
    CHECK_ERR(set_batch_bounds(cfg, 0, 1, 1, 2), KILN_ERR_INVALID_ARGUMENT, "profile 0 does not exist");
    CHECK(kiln_builder_config_add_profile(cfg, &p) == KILN_OK && p == 0);
    CHECK_ERR(kiln_builder_config_set_profile_shape(cfg, p, "input", 4, lo, lo, hi), KILN_ERR_INVALID_ARGUMENT,
              "min 4x3x64x64, opt 4x3x64x64, max 2x3x64x64 need 0 <= min <= opt <= max");
    CHECK_ERR(set_batch_bounds(cfg, p, 1, 5, 4), KILN_ERR_INVALID_ARGUMENT, "dim 0 is not");
    CHECK(kiln_builder_config_add_profile(cfg, &p) == KILN_OK && p == 1);
    CHECK(set_batch_bounds(cfg, 0, 1, 1, 2) == KILN_OK);
    /* profile 1 is empty: the symbolic input is not covered */
    CHECK_ERR(kiln_engine_build(net, cfg, &e), KILN_ERR_SHAPE, "profile 1 gives no bounds for input 'input'");
    kiln_builder_config_free(cfg);
    expect_bad(net, "input", 2, r2, r2, KILN_ERR_SHAPE,
               "input 'input' has rank 4 (shape batchx3x64x64); profile 0 "
               "gives rank 2");
    expect_bad(net, "pixels", 4, hi, hi, KILN_ERR_NOT_FOUND,
               "profile 0 gives bounds for 'pixels', but the model has "
               "no input of that name");
    int64_t wide[] = {1, 3, 64, 128};
    expect_bad(net, "input", 4, wide, wide, KILN_ERR_SHAPE, "input 'input' dim 3 is fixed at 64 by the model");
}

/* Records the tactic of the first layer whose op is FusedConv or Conv. */
static int first_conv_tactic(void *user, const kiln_node_info *layer, int n_outputs, const kiln_tensor_view *outputs)
{
    (void)n_outputs;
    (void)outputs;
    const char **seen = user;
    if (!*seen && strstr(layer->op_type, "Conv"))
        *seen = layer->tactic;
    return 0;
}

/* The tactic the first conv layer ran with at this batch in this profile. */
static const char *ran_tactic(kiln_engine *engine, int profile, int64_t batch)
{
    kiln_context *ctx = NULL;
    const char *seen = NULL;
    float *x = image_batch(batch);
    if (x && kiln_context_create(engine, &ctx) == KILN_OK && kiln_context_set_profile(ctx, profile) == KILN_OK &&
        kiln_context_set_layer_callback(ctx, first_conv_tactic, &seen) == KILN_OK && bind_batch(ctx, batch, x) == KILN_OK)
        CHECK(kiln_context_run(ctx) == KILN_OK);
    kiln_context_free(ctx);
    free(x);
    return seen;
}

/* Each profile is tuned at its own OPT (the tuner counts both), keeps its
 * own tactics through the engine file, and runs with them. */
static void test_tactics_per_profile(kiln_engine *engine, kiln_engine *ref, const kiln_network *net)
{
    kiln_builder_config *cfg = NULL;
    kiln_engine *single = NULL;
    int p0 = -1;
    CHECK(kiln_builder_config_create(&cfg) == KILN_OK && kiln_builder_config_add_profile(cfg, &p0) == KILN_OK &&
          set_batch_bounds(cfg, p0, 1, 2, 4) == KILN_OK && kiln_engine_build(net, cfg, &single) == KILN_OK);
    kiln_builder_config_free(cfg);
    kiln_tuning_summary one = {0}, two = {0};
    CHECK(single && kiln_engine_tuning_summary(single, &one) == KILN_OK && one.layers_tuned > 0);
    CHECK(kiln_engine_tuning_summary(engine, &two) == KILN_OK && two.layers_tuned == 2 * one.layers_tuned);
    kiln_engine_free(single);

    /* the first conv layer: profile 1 made to run conv_direct, profile 0 the reference kernel */
    int layer = -1, layers = 0;
    kiln_engine_num_layers(engine, &layers);
    for (int i = 0; i < layers && layer < 0; i++) {
        kiln_node_info ni;
        if (kiln_engine_layer(engine, i, &ni) == KILN_OK && strstr(ni.op_type, "Conv"))
            layer = i;
    }
    CHECK(layer >= 0);
    if (layer < 0)
        return;
    const kiln_graph *g = engine->graph;
    int node = engine->plan.order[layer];
    const kiln_tactic *direct = kiln_tactic_find(g->nodes[node].op_type, "conv_direct");
    CHECK(direct != NULL);
    engine->plan.tactics[node] = NULL;
    engine->plan.tactics[g->n_nodes + node] = direct;
    const char *t0 = NULL, *t1 = NULL;
    CHECK(kiln_engine_layer_tactic(engine, 0, layer, &t0) == KILN_OK && !strcmp(t0, "reference"));
    CHECK(kiln_engine_layer_tactic(engine, 1, layer, &t1) == KILN_OK && !strcmp(t1, "conv_direct"));
    CHECK_ERR(kiln_engine_layer_tactic(engine, 2, layer, &t1), KILN_ERR_INVALID_ARGUMENT, "profile 2 of 2");
    const char *r0 = ran_tactic(engine, 0, 2), *r1 = ran_tactic(engine, 1, 8);
    CHECK(r0 && !strcmp(r0, "reference") && r1 && !strcmp(r1, "conv_direct"));
    CHECK(same_logits(engine, ref, 8)); /* conv_direct gives the reference results */

    void *data = NULL;
    size_t size = 0;
    kiln_engine *loaded = NULL;
    CHECK(kiln_engine_serialize(engine, &data, &size) == KILN_OK && kiln_engine_deserialize(data, size, &loaded) == KILN_OK);
    kiln_free(data);
    int same = loaded != NULL;
    for (int p = 0; same && p < 2; p++)
        for (int i = 0; i < layers; i++) {
            const char *a = NULL, *b = NULL;
            same &= kiln_engine_layer_tactic(engine, p, i, &a) == KILN_OK &&
                    kiln_engine_layer_tactic(loaded, p, i, &b) == KILN_OK && !strcmp(a, b);
        }
    CHECK(same);
    r1 = loaded ? ran_tactic(loaded, 1, 8) : NULL;
    CHECK(r1 && !strcmp(r1, "conv_direct"));
    kiln_engine_free(loaded);
}

/* The channels-last engine with the same two profiles: its convolutions
 * are NhwcConv layers, and every batch in either profile gives the
 * reference's logits. */
static void test_channels_last(const kiln_network *net, kiln_engine *ref)
{
    kiln_engine *e = NULL;
    CHECK(build_two_in(net, KILN_LAYOUT_NHWC, &e) == KILN_OK);
    if (!e)
        return;
    int layers = 0, nhwc = 0, nchw = 0;
    CHECK(kiln_engine_num_layers(e, &layers) == KILN_OK);
    for (int i = 0; i < layers; i++) {
        kiln_node_info info;
        CHECK(kiln_engine_layer(e, i, &info) == KILN_OK);
        nhwc += !strcmp(info.op_type, "NhwcConv");
        nchw += !strcmp(info.op_type, "Conv") || !strcmp(info.op_type, "FusedConv");
    }
    CHECK(nhwc > 0 && nchw == 0);
    for (int64_t batch = 1; batch <= 16; batch += 5)
        CHECK(same_logits(e, ref, batch));
    kiln_engine_free(e);
}

int main(void)
{
    kiln_network *net = NULL;
    kiln_engine *engine = NULL, *ref = NULL;
    CHECK(kiln_network_from_file(MODEL, &net) == KILN_OK);
    if (!net)
        return test_summary();
    CHECK(build_two(net, &engine) == KILN_OK);
    CHECK(kiln_engine_build(net, NULL, &ref) == KILN_OK);
    if (engine && ref) {
        test_runs_inside(engine, ref);
        test_refused_outside(engine);
        test_explicit_profile(engine);
        test_queries(engine);
        test_round_trip(engine, ref);
        test_opt_graph(engine);
        test_tactics_per_profile(engine, ref, net);
        test_channels_last(net, ref);
    }
    test_bad_profiles(net);
    kiln_engine_free(engine);
    kiln_engine_free(ref);
    kiln_network_free(net);
    return test_summary();
}
