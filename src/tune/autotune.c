/*
 * autotune.c - timing tactics at engine build (see autotune.h).
 */
#include "tune/autotune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/dtype.h"
#include "engine/device_id.h"
#include "tune/tactic_registry.h"
#include "tune/timing_cache.h"

#define MAX_LAYER_IO 16
#define TIMED_RUNS_MIN 3
#define TIMED_RUNS_MAX 9
#define TIMED_BUDGET_MS 25.0

/* One layer set up for timing: its context over owned random inputs (or
 * borrowed weights) and owned outputs. */
typedef struct tune_layer {
    kiln_tensor in[MAX_LAYER_IO], out[MAX_LAYER_IO];
    kiln_tensor *in_p[MAX_LAYER_IO], *out_p[MAX_LAYER_IO];
    kiln_op_ctx ctx;
} tune_layer;

typedef struct tune_state {
    kiln_plan *plan;
    const kiln_tune_options *opt;
    kiln_tune_report *report;
    kiln_timing_cache cache;
    char device[256];
    uint64_t rng;
} tune_state;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void fill_random(float *x, int64_t n, uint64_t *rng)
{
    for (int64_t i = 0; i < n; i++) {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        x[i] = (float)((double)(*rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
}

static void layer_free(tune_layer *l)
{
    for (int k = 0; k < MAX_LAYER_IO; k++) {
        kiln_tactics_forget(l->in[k].data); /* the random weights the tactics were timed with */
        kiln_tactics_forget(l->out[k].data);
        kiln_tensor_clear(&l->in[k]);
        kiln_tensor_clear(&l->out[k]);
    }
}

/* A tensor of value v's static float32 shape, owned; 0 when v has none. */
static int static_f32(const kiln_value *val, kiln_tensor *t, size_t max_bytes)
{
    if (val->dtype != KILN_FLOAT32 || val->rank < 0)
        return 0;
    for (int d = 0; d < val->rank; d++)
        if (val->dims[d] < 0)
            return 0;
    kiln_tensor_set_shape(t, KILN_FLOAT32, val->rank, val->dims);
    return kiln_tensor_alloc(t, max_bytes, val->name) == KILN_OK;
}

/* Sets up the node for timing; 0 when some input or output has no static
 * float32 shape (the layer then keeps the reference kernel). */
static int layer_setup(tune_state *s, int node, tune_layer *l)
{
    const kiln_graph *g = s->opt->shapes ? s->opt->shapes : s->plan->graph;
    const kiln_node *n = &s->plan->graph->nodes[node];
    memset(l, 0, sizeof *l);
    if (n->n_inputs > MAX_LAYER_IO || n->n_outputs > MAX_LAYER_IO)
        return 0;
    for (int k = 0; k < n->n_inputs; k++) {
        const kiln_value *val = n->inputs[k] >= 0 ? &g->values[n->inputs[k]] : NULL;
        if (val && val->constant) {
            l->in[k] = *val->constant;
            l->in[k].owns_data = 0;
        } else if (val && !static_f32(val, &l->in[k], s->plan->max_bytes)) {
            return 0;
        } else if (val) {
            fill_random(l->in[k].data, kiln_tensor_numel(&l->in[k]), &s->rng);
        }
        l->in_p[k] = val ? &l->in[k] : NULL;
    }
    for (int k = 0; k < n->n_outputs; k++) {
        if (n->outputs[k] >= 0 && !static_f32(&g->values[n->outputs[k]], &l->out[k], s->plan->max_bytes))
            return 0;
        l->out_p[k] = n->outputs[k] >= 0 ? &l->out[k] : NULL;
    }
    l->ctx = (kiln_op_ctx){.graph = s->plan->graph,
                           .node = n,
                           .opset = n->opset,
                           .n_in = n->n_inputs,
                           .n_out = n->n_outputs,
                           .in = l->in_p,
                           .out = l->out_p,
                           .max_bytes = s->plan->max_bytes};
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *runs, int n)
{
    qsort(runs, (size_t)n, sizeof runs[0], cmp_double);
    return runs[n / 2];
}

/* Times the n usable tactics in interleaved rounds (each round runs every
 * tactic once, so a busy machine slows them alike) after a warm-up run of
 * each: at least TIMED_RUNS_MIN rounds, at most TIMED_RUNS_MAX, stopping
 * once TIMED_BUDGET_MS per tactic have been spent. ms[i] gets the medians. */
static kiln_status time_rounds(const kiln_tactic **usable, int n, kiln_op_ctx *ctx, double *ms)
{
    double runs[MAX_LAYER_IO][TIMED_RUNS_MAX], spent = 0;
    int rounds = 0;
    for (int i = 0; i < n; i++)
        KILN_TRY(kiln_tactic_exec(usable[i], ctx));
    while (rounds < TIMED_RUNS_MAX && (rounds < TIMED_RUNS_MIN || spent < TIMED_BUDGET_MS * n)) {
        for (int i = 0; i < n; i++) {
            double t0 = now_ms();
            KILN_TRY(kiln_tactic_exec(usable[i], ctx));
            runs[i][rounds] = now_ms() - t0;
            spent += runs[i][rounds];
        }
        rounds++;
    }
    for (int i = 0; i < n; i++)
        ms[i] = median(runs[i], rounds);
    return KILN_OK;
}

/* Times every usable tactic; the fastest goes into *best. */
static kiln_status time_all(tune_state *s, tune_layer *l, const kiln_tactic **usable, int n, kiln_timing_entry *best)
{
    double ms[MAX_LAYER_IO];
    KILN_TRY(time_rounds(usable, n, &l->ctx, ms));
    best->ms = -1;
    best->reference_ms = -1;
    for (int i = 0; i < n; i++) {
        if (strcmp(usable[i]->name, KILN_TACTIC_BASELINE) == 0)
            best->reference_ms = ms[i];
        if (best->ms < 0 || ms[i] < best->ms) {
            best->ms = ms[i];
            snprintf(best->tactic, sizeof best->tactic, "%s", usable[i]->name);
        }
    }
    return kiln_timing_cache_put(&s->cache, best);
}

static int usable_tactics(const tune_state *s, const tune_layer *l, const kiln_tactic **out)
{
    int n_all, n = 0;
    const kiln_tactic *all = kiln_tactics_for(l->ctx.node->op_type, &n_all);
    for (int i = 0; i < n_all && n < MAX_LAYER_IO; i++)
        if (kiln_tactic_usable(&all[i], &l->ctx, s->opt->workspace, s->opt->sources))
            out[n++] = &all[i];
    return n;
}

/* Chooses node's tactic: the only usable one, the cache's answer, or the
 * fastest when timed. */
static kiln_status tune_node(tune_state *s, int node, tune_layer *l)
{
    const kiln_tactic *usable[MAX_LAYER_IO];
    char key[4096];
    int n = usable_tactics(s, l, usable);
    const kiln_tactic **row = s->plan->tactics + (size_t)s->opt->profile * (size_t)s->plan->graph->n_nodes;
    if (n < 2) {
        row[node] = n ? usable[0] : NULL;
        return KILN_OK;
    }
    KILN_TRY(kiln_timing_key(s->device, &l->ctx, key, sizeof key));
    const kiln_timing_entry *hit = kiln_timing_cache_find(&s->cache, key);
    const kiln_tactic *cached = hit ? kiln_tactic_find(l->ctx.node->op_type, hit->tactic) : NULL;
    kiln_timing_entry best = {.key = key};
    if (cached && kiln_tactic_usable(cached, &l->ctx, s->opt->workspace, s->opt->sources)) {
        best = *hit;
        s->report->cache_hits++;
    } else {
        KILN_TRY(time_all(s, l, usable, n, &best));
    }
    row[node] = kiln_tactic_find(l->ctx.node->op_type, best.tactic);
    s->report->ms[node] = best.ms;
    s->report->reference_ms[node] = best.reference_ms;
    s->report->layers_tuned++;
    return KILN_OK;
}

kiln_status kiln_tune_report_init(const kiln_plan *plan, kiln_tune_report *r)
{
    size_t nn = (size_t)(plan->graph->n_nodes ? plan->graph->n_nodes : 1);
    memset(r, 0, sizeof *r);
    r->ms = malloc(nn * sizeof(double));
    r->reference_ms = malloc(nn * sizeof(double));
    if (!r->ms || !r->reference_ms) {
        kiln_tune_report_free(r);
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "autotuner: out of memory");
    }
    for (size_t i = 0; i < nn; i++)
        r->ms[i] = r->reference_ms[i] = -1;
    return KILN_OK;
}

/* Room for every layout's tactics. */
static kiln_status ensure_tactics(kiln_plan *plan)
{
    size_t rows = (size_t)(plan->n_layouts > 0 ? plan->n_layouts : 1);
    if (!plan->tactics)
        plan->tactics = calloc(rows * (size_t)(plan->graph->n_nodes ? plan->graph->n_nodes : 1), sizeof *plan->tactics);
    return plan->tactics ? KILN_OK : kiln_error(KILN_ERR_OUT_OF_MEMORY, "autotuner: out of memory");
}

static int has_tactics(const kiln_node *n)
{
    int count;
    kiln_tactics_for(n->op_type, &count);
    return count > 0;
}

static kiln_status tune_all(tune_state *s)
{
    const kiln_graph *g = s->plan->graph;
    int total = 0, done = 0;
    for (int i = 0; i < g->n_nodes; i++)
        total += has_tactics(&g->nodes[i]);
    for (int i = 0; i < g->n_nodes; i++) {
        int node = s->plan->order[i];
        if (!has_tactics(&g->nodes[node]))
            continue;
        tune_layer l;
        kiln_status st = layer_setup(s, node, &l) ? tune_node(s, node, &l) : KILN_OK;
        layer_free(&l);
        KILN_TRY(st);
        if (s->opt->progress)
            s->opt->progress(s->opt->progress_user, ++done, total, g->nodes[node].name);
    }
    return KILN_OK;
}

kiln_status kiln_autotune(kiln_plan *plan, const kiln_tune_options *opt, kiln_tune_report *report)
{
    double t0 = now_ms();
    tune_state s = {.plan = plan, .opt = opt, .report = report, .rng = 0x9e3779b97f4a7c15ull};
    if (opt->profile < 0 || opt->profile >= (plan->n_layouts > 0 ? plan->n_layouts : 1))
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "autotuner: profile %d does not exist", opt->profile);
    KILN_TRY(kiln_tune_report_init(plan, report));
    KILN_TRY(ensure_tactics(plan));
    kiln_cpu_device_identity(s.device, sizeof s.device);
    kiln_status st = opt->cache ? kiln_timing_cache_load(&s.cache, opt->cache) : KILN_OK;
    if (st == KILN_OK)
        st = tune_all(&s);
    if (st == KILN_OK && opt->cache)
        st = kiln_timing_cache_save(&s.cache, opt->cache);
    kiln_timing_cache_free(&s.cache);
    report->tune_ms = now_ms() - t0;
    return st;
}

void kiln_tune_report_free(kiln_tune_report *report)
{
    free(report->ms);
    free(report->reference_ms);
    memset(report, 0, sizeof *report);
}

const char *kiln_tune_tactic_name(const kiln_plan *plan, int profile, int node)
{
    size_t at = (size_t)(profile > 0 && profile < plan->n_layouts ? profile : 0) * (size_t)plan->graph->n_nodes +
                (size_t)node;
    return plan->tactics && plan->tactics[at] ? plan->tactics[at]->name : KILN_TACTIC_REFERENCE_NAME;
}

kiln_status kiln_tune_apply(kiln_plan *plan, char *const *names, uint32_t n)
{
    const kiln_graph *g = plan->graph;
    uint32_t rows = (uint32_t)(plan->n_layouts > 0 ? plan->n_layouts : 1), nodes = (uint32_t)g->n_nodes;
    if (n != nodes && n != nodes * rows)
        return kiln_error(KILN_ERR_PARSE, "engine file: %u tactics for %d layers in %u profile%s", n, g->n_nodes,
                          rows, rows == 1 ? "" : "s");
    KILN_TRY(ensure_tactics(plan));
    for (uint32_t at = 0; at < nodes * rows; at++) {
        uint32_t i = at % nodes;
        const char *name = names[n == nodes ? i : at];
        if (strcmp(name, KILN_TACTIC_REFERENCE_NAME) == 0)
            continue;
        plan->tactics[at] = kiln_tactic_find(g->nodes[i].op_type, name);
        if (!plan->tactics[at])
            return kiln_error(KILN_ERR_INCOMPATIBLE,
                              "layer %u (%s) uses tactic '%s', which this kiln does not have "
                              "for %s",
                              i, g->nodes[i].name, name, g->nodes[i].op_type);
    }
    return KILN_OK;
}
