/*
 * test_api.c - the public API on the sample model: misuse gets clear
 * errors, inputs are checked, contexts share an engine across threads.
 */
#include <pthread.h>
#include <math.h>
#include <stdlib.h>

#include "kiln.h"
#include "test_util.h"

#define SAMPLE KILN_SOURCE_DIR "/models/sample_cnn.onnx"

static void test_arguments(void)
{
    kiln_network *net = NULL;
    CHECK_ERR(kiln_network_from_file(NULL, &net), KILN_ERR_INVALID_ARGUMENT, "path");
    CHECK_ERR(kiln_network_from_file("/nonexistent/model.onnx", &net), KILN_ERR_IO, "/nonexistent/model.onnx");
    CHECK_ERR(kiln_engine_build(NULL, NULL, NULL), KILN_ERR_INVALID_ARGUMENT, "network");
    CHECK_ERR(kiln_context_run(NULL), KILN_ERR_INVALID_ARGUMENT, "context");
    kiln_builder_config *cfg = NULL;
    CHECK(kiln_builder_config_create(&cfg) == KILN_OK);
    int64_t bad[] = {-1, 3};
    CHECK_ERR(kiln_builder_config_set_input_shape(cfg, "input", 2, bad), KILN_ERR_INVALID_ARGUMENT, "dim 0");
    CHECK_ERR(kiln_builder_config_set_precision(cfg, KILN_PRECISION_INT8), KILN_ERR_UNSUPPORTED, "precision");
    CHECK_ERR(kiln_builder_config_set_layout(cfg, (kiln_layout)7), KILN_ERR_INVALID_ARGUMENT, "layout");
    kiln_builder_config_free(cfg);
    CHECK(kiln_status_name(KILN_ERR_SHAPE) != NULL);
    CHECK(!strcmp(kiln_dtype_name(KILN_BFLOAT16), "bfloat16"));
}

static float *ones(size_t n)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(i % 7) * 0.25f - 0.5f;
    return x;
}

static void test_inputs_checked(kiln_engine *engine)
{
    kiln_context *ctx = NULL;
    CHECK(kiln_context_create(engine, &ctx) == KILN_OK);
    int64_t dims[] = {2, 3, 64, 64};
    float *x = ones(2 * 3 * 64 * 64);
    size_t nbytes = sizeof(float) * 2 * 3 * 64 * 64;
    CHECK_ERR(kiln_context_set_input(ctx, "nope", KILN_FLOAT32, 4, dims, x, nbytes), KILN_ERR_NOT_FOUND, "'nope'");
    CHECK_ERR(kiln_context_set_input(ctx, "input", KILN_INT64, 4, dims, x, nbytes), KILN_ERR_INVALID_ARGUMENT,
              "must be float32");
    int64_t wrong[] = {2, 3, 32, 64};
    CHECK_ERR(kiln_context_set_input(ctx, "input", KILN_FLOAT32, 4, wrong, x, nbytes / 2), KILN_ERR_SHAPE,
              "batchx3x64x64");
    CHECK_ERR(kiln_context_set_input(ctx, "input", KILN_FLOAT32, 4, dims, x, nbytes - 4), KILN_ERR_INVALID_ARGUMENT,
              "bytes");
    CHECK_ERR(kiln_context_run(ctx), KILN_ERR_INVALID_ARGUMENT, "'input' was not set");
    kiln_tensor_view out;
    CHECK_ERR(kiln_context_output(ctx, NULL, 0, &out), KILN_ERR_INVALID_ARGUMENT, "not run");
    CHECK(kiln_context_set_input(ctx, "input", KILN_FLOAT32, 4, dims, x, nbytes) == KILN_OK);
    CHECK(kiln_context_run(ctx) == KILN_OK);
    CHECK(kiln_context_output(ctx, "logits", 0, &out) == KILN_OK);
    CHECK(out.dtype == KILN_FLOAT32 && out.rank == 2 && out.dims[0] == 2 && out.dims[1] == 10);
    CHECK_ERR(kiln_context_output(ctx, "missing", 0, &out), KILN_ERR_NOT_FOUND, "'missing'");
    free(x);
    kiln_context_free(ctx);
}

typedef struct layer_log {
    int layers, stop_after;
    int saw_logits;
} layer_log;

static int count_layers(void *user, const kiln_node_info *layer, int n, const kiln_tensor_view *out)
{
    layer_log *log = user;
    log->layers++;
    for (int k = 0; k < n; k++)
        if (out[k].name && !strcmp(out[k].name, "logits") && out[k].dims[1] == 10 && out[k].data)
            log->saw_logits = 1;
    return layer->op_type[0] && log->stop_after && log->layers >= log->stop_after;
}

static void test_layer_callback(kiln_engine *engine)
{
    kiln_context *ctx = NULL;
    int64_t dims[] = {1, 3, 64, 64};
    float *x = ones(3 * 64 * 64);
    layer_log log = {0, 0, 0};
    int n_layers = 0;
    kiln_engine_num_layers(engine, &n_layers);
    CHECK(kiln_context_create(engine, &ctx) == KILN_OK);
    CHECK(kiln_context_set_layer_callback(ctx, count_layers, &log) == KILN_OK);
    CHECK(kiln_context_set_input(ctx, "input", KILN_FLOAT32, 4, dims, x, sizeof(float) * 3 * 64 * 64) == KILN_OK);
    CHECK(kiln_context_run(ctx) == KILN_OK);
    CHECK(log.layers == n_layers && log.saw_logits);
    log = (layer_log){0, 2, 0};
    CHECK_ERR(kiln_context_run(ctx), KILN_ERR_INVALID_ARGUMENT, "stopped by the layer callback");
    CHECK(log.layers == 2);
    CHECK(kiln_context_set_layer_callback(ctx, NULL, NULL) == KILN_OK);
    CHECK(kiln_context_run(ctx) == KILN_OK);
    free(x);
    kiln_context_free(ctx);
}

typedef struct worker {
    kiln_engine *engine;
    int batch;
    float result[10];
    kiln_status status;
} worker;

static void *run_worker(void *arg)
{
    worker *w = arg;
    kiln_context *ctx = NULL;
    int64_t dims[] = {w->batch, 3, 64, 64};
    size_t n = (size_t)w->batch * 3 * 64 * 64;
    float *x = ones(n);
    w->status = kiln_context_create(w->engine, &ctx);
    for (int it = 0; it < 3 && w->status == KILN_OK; it++) {
        w->status = kiln_context_set_input(ctx, "input", KILN_FLOAT32, 4, dims, x, n * sizeof *x);
        if (w->status == KILN_OK)
            w->status = kiln_context_run(ctx);
    }
    kiln_tensor_view out;
    if (w->status == KILN_OK && kiln_context_output(ctx, NULL, 0, &out) == KILN_OK)
        memcpy(w->result, out.data, sizeof w->result);
    free(x);
    kiln_context_free(ctx);
    return NULL;
}

static void test_threads(kiln_engine *engine)
{
    worker w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].engine = engine;
        w[i].batch = 1 + (i % 2);
        pthread_create(&th[i], NULL, run_worker, &w[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++)
        CHECK(w[i].status == KILN_OK);
    /* row 0 of every run sees the same input, so gives the same logits */
    CHECK(memcmp(w[0].result, w[2].result, sizeof w[0].result) == 0);
    float diff = 0;
    for (int k = 0; k < 10; k++)
        diff = fmaxf(diff, fabsf(w[0].result[k] - w[1].result[k]));
    CHECK(diff < 1e-4f); /* batch 1 vs 2: the same values up to summation order */
}

static void test_network_info(kiln_network *net)
{
    kiln_io_info info;
    CHECK(kiln_network_io(net, 0, 0, &info) == KILN_OK);
    CHECK(!strcmp(info.name, "input") && info.dtype == KILN_FLOAT32 && info.rank == 4);
    CHECK(info.dims[0] == -1 && info.dim_names[0] && !strcmp(info.dim_names[0], "batch") && info.dims[1] == 3);
    CHECK(kiln_network_io(net, 1, 0, &info) == KILN_OK);
    CHECK(!strcmp(info.name, "logits") && info.rank == 2 && info.dims[1] == 10);
    CHECK_ERR(kiln_network_io(net, 1, 5, &info), KILN_ERR_INVALID_ARGUMENT, "out of range");
    kiln_network_stats s;
    CHECK(kiln_network_stats_get(net, &s) == KILN_OK);
    CHECK(s.n_nodes == 17 && s.n_parameters > 10000 && s.flops > 1e6 && s.flops_symbolic);
}

static void test_fixed_shape(kiln_network *net)
{
    kiln_builder_config *cfg = NULL;
    kiln_engine *engine = NULL;
    CHECK(kiln_builder_config_create(&cfg) == KILN_OK);
    int64_t dims[] = {4, 3, 64, 64};
    CHECK(kiln_builder_config_set_input_shape(cfg, "ghost", 4, dims) == KILN_OK);
    CHECK_ERR(kiln_engine_build(net, cfg, &engine), KILN_ERR_NOT_FOUND, "'ghost'");
    kiln_builder_config_free(cfg);
    CHECK(kiln_builder_config_create(&cfg) == KILN_OK);
    CHECK(kiln_builder_config_set_input_shape(cfg, "input", 4, dims) == KILN_OK);
    CHECK(kiln_engine_build(net, cfg, &engine) == KILN_OK);
    kiln_io_info info;
    CHECK(kiln_engine_io(engine, 0, 0, &info) == KILN_OK && info.dims[0] == 4);
    kiln_context *ctx = NULL;
    CHECK(kiln_context_create(engine, &ctx) == KILN_OK);
    int64_t other[] = {2, 3, 64, 64};
    float *x = ones(2 * 3 * 64 * 64);
    CHECK_ERR(kiln_context_set_input(ctx, "input", KILN_FLOAT32, 4, other, x, sizeof(float) * 2 * 3 * 64 * 64),
              KILN_ERR_SHAPE, "4x3x64x64");
    free(x);
    kiln_context_free(ctx);
    kiln_engine_free(engine);
    kiln_builder_config_free(cfg);
}

int main(void)
{
    test_arguments();
    kiln_network *net = NULL;
    kiln_engine *engine = NULL;
    CHECK(kiln_network_from_file(SAMPLE, &net) == KILN_OK);
    CHECK(kiln_engine_build(net, NULL, &engine) == KILN_OK);
    if (net && engine) {
        test_network_info(net);
        test_fixed_shape(net);
        kiln_network_free(net); /* the engine keeps the graph alive */
        net = NULL;
        test_inputs_checked(engine);
        test_layer_callback(engine);
        test_threads(engine);
    }
    kiln_engine_free(engine);
    kiln_network_free(net);
    return test_summary();
}
