/*
 * engine_layout.c - KILN_LAYOUT_AUTO: the layout is chosen by measurement.
 * The channels-last candidate is built first; when the layout pass changes
 * nothing (no convolution) the NCHW engine is the only one built. Otherwise
 * both engines, each with its own tuned tactics, run whole inferences on
 * the same random inputs (at the first profile's OPT shapes), interleaved,
 * and the one with the lower median time is kept; the optimizer report
 * says which and by how much.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_internal.h"
#include "core/dtype.h"

#define TIMED_ROUNDS 9
#define TIMING_BUDGET_MS 2000.0

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The shape input i is timed at: its fixed dims, or profile 0's OPT, or
 * (a symbolic dim without profiles, which the tuner does not see either) 1. */
static kiln_status timing_shape(const kiln_engine *e, int i, int *rank, int64_t *dims)
{
    const kiln_graph *g = e->graph;
    const kiln_engine_binding *io = &e->inputs[i];
    *rank = io->rank;
    memcpy(dims, io->dims, sizeof io->dims);
    if (g->n_profiles > 0)
        for (int k = 0; k < g->profiles[0].n_inputs; k++)
            if (g->profiles[0].inputs[k].value == io->value)
                memcpy(dims, g->profiles[0].inputs[k].opt, sizeof(int64_t) * (size_t)io->rank);
    for (int d = 0; d < *rank; d++)
        if (dims[d] < 0)
            dims[d] = 1;
    return *rank >= 0 ? KILN_OK
                       : kiln_error(KILN_ERR_SHAPE, "input '%s' has no known rank", g->values[io->value].name);
}

/* Random floats in [-1, 1) (or zeros for other dtypes: valid indices) for
 * every input of e, bound to each context. */
static kiln_status bind_inputs(const kiln_engine *e, kiln_context **ctx, int n_ctx, void **data)
{
    uint64_t rng = 0x2545f4914f6cdd1dull;
    for (int i = 0; i < e->n_inputs; i++) {
        int rank;
        int64_t dims[KILN_MAX_RANK], n;
        size_t bytes;
        const kiln_value *v = &e->graph->values[e->inputs[i].value];
        KILN_TRY(timing_shape(e, i, &rank, dims));
        KILN_TRY(kiln_shape_numel(dims, rank, &n, v->name));
        KILN_TRY(kiln_bytes_for(v->dtype, n, e->opts.max_tensor_bytes, &bytes, v->name));
        data[i] = calloc(bytes ? bytes : 1, 1);
        if (!data[i])
            return kiln_error(KILN_ERR_OUT_OF_MEMORY, "layout timing: no memory for input '%s'", v->name);
        for (int64_t k = 0; v->dtype == KILN_FLOAT32 && k < n; k++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            ((float *)data[i])[k] = (float)((double)(rng >> 11) / 4503599627370496.0 - 1.0);
        }
        for (int c = 0; c < n_ctx; c++)
            KILN_TRY(kiln_context_set_input(ctx[c], v->name, v->dtype, rank, dims, data[i], bytes));
    }
    return KILN_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median ms of whole runs of the two engines, interleaved after a warm-up. */
static kiln_status time_engines(kiln_engine *const *e, double *ms)
{
    kiln_context *ctx[2] = {NULL, NULL};
    void **data = calloc((size_t)e[0]->n_inputs + 1, sizeof *data);
    double runs[2][TIMED_ROUNDS];
    int rounds = 0;
    kiln_status st = data ? KILN_OK : kiln_error(KILN_ERR_OUT_OF_MEMORY, "layout timing: out of memory");
    for (int k = 0; st == KILN_OK && k < 2; k++)
        st = kiln_context_create(e[k], &ctx[k]);
    if (st == KILN_OK)
        st = bind_inputs(e[0], ctx, 2, data);
    for (int k = 0; st == KILN_OK && k < 2; k++)
        st = kiln_context_run(ctx[k]); /* warm-up: first touches, caches */
    double start = now_ms();
    while (st == KILN_OK && rounds < TIMED_ROUNDS && (rounds < 3 || now_ms() - start < TIMING_BUDGET_MS)) {
        for (int k = 0; st == KILN_OK && k < 2; k++) {
            int j = rounds % 2 ? 1 - k : k; /* alternate which goes first */
            double t0 = now_ms();
            st = kiln_context_run(ctx[j]);
            runs[j][rounds] = now_ms() - t0;
        }
        rounds += st == KILN_OK;
    }
    for (int k = 0; st == KILN_OK && k < 2; k++) {
        qsort(runs[k], (size_t)rounds, sizeof(double), cmp_double);
        ms[k] = rounds % 2 ? runs[k][rounds / 2] : 0.5 * (runs[k][rounds / 2 - 1] + runs[k][rounds / 2]);
    }
    for (int k = 0; k < 2; k++)
        kiln_context_free(ctx[k]);
    for (int i = 0; data && i < e[0]->n_inputs; i++)
        free(data[i]);
    free(data);
    return st;
}

/* *out = e, with `line` (unless empty) added to its optimizer report. */
static kiln_status keep(kiln_engine *e, const char *line, kiln_engine **out)
{
    kiln_pass_ctx ctx = {.g = e->graph, .report = &e->report};
    kiln_status st = line[0] ? kiln_pass_record(&ctx, "%s", line) : KILN_OK;
    if (st != KILN_OK) {
        kiln_engine_destroy(e);
        return st;
    }
    *out = e;
    return KILN_OK;
}

kiln_status kiln_engine_build_auto_layout(const kiln_network *network, const kiln_builder_config *config,
                                          kiln_engine **out)
{
    kiln_engine *e[2] = {NULL, NULL}; /* NCHW, NHWC */
    char line[1024] = "";
    /* a channels-last candidate that fails to build leaves the model's own layout */
    if (kiln_engine_build_layout(network, config, KILN_LAYOUT_NHWC, 1, &e[1]) != KILN_OK)
        snprintf(line, sizeof line, "layout: NCHW; the NHWC candidate failed to build: %s", kiln_last_error());
    kiln_status st = kiln_engine_build_layout(network, config, KILN_LAYOUT_NCHW, 0, &e[0]);
    if (st != KILN_OK || !e[1]) {
        if (e[1])
            kiln_engine_destroy(e[1]);
        return st == KILN_OK ? keep(e[0], line, out) : st;
    }
    double ms[2];
    kiln_status timed = time_engines(e, ms);
    int faster = timed == KILN_OK && ms[1] < ms[0];
    if (timed == KILN_OK)
        snprintf(line, sizeof line, "layout: %s, measured at build: NHWC %.3f ms a run, NCHW %.3f ms",
                 faster ? "NHWC" : "NCHW", ms[1], ms[0]);
    else
        snprintf(line, sizeof line, "layout: NCHW; the layouts could not be timed: %s", kiln_last_error());
    kiln_engine_destroy(e[1 - faster]);
    return keep(e[faster], line, out);
}
