/*
 * cmd_bench.c - `kiln bench MODEL`: warm up, time many runs on the same
 * inputs, and print latency percentiles and throughput; with --profile,
 * the time of every layer (taken between the layer callbacks of each run),
 * slowest first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/tensor.h"

void usage_bench(FILE *f)
{
    fprintf(f, "usage: kiln bench MODEL [--input NAME=FILE.npy]... [--shape NAME=DIMS]... [--iterations N]\n"
               "                   [--warmup N] [--threads N] [--profile] [--top N] [--seed N]\n"
               "                   [--optimization-level N] [--layout L]\n\n"
               "Times MODEL (an .onnx file, built and tuned first, or an engine file from `kiln build`) on one\n"
               "set of inputs: WARMUP untimed runs, then ITERATIONS timed runs. Prints the latency (mean, min,\n"
               "percentiles, max) and the throughput in runs and in samples (the first input's first dim) per s.\n\n"
               "options:\n"
               "  --input, --shape, --seed  the inputs, as for `kiln run`\n"
               "  --layout L                auto (default), nchw or nhwc: an .onnx MODEL's layout, as for\n"
               "                            `kiln build`\n"
               "  --iterations N            timed runs (default 100)\n"
               "  --warmup N                untimed runs first (default 10)\n"
               "  --threads N               CPU threads (default: every CPU this process may use)\n"
               "  --profile                 also time every layer and print them slowest first, with op,\n"
               "                            tactic, mean ms and share of the run\n"
               "  --top N                   print only the N slowest layers (default: all)\n"
               "  --optimization-level N    0: run the graph as imported; 1 (default): optimize it first\n"
               "  --help                    this text\n");
}

typedef struct bench_args {
    const char *model;
    int iterations, warmup, threads, profile, top, opt_level;
    cli_inputs inputs;
} bench_args;

/* A count flag of bench's (cli_flag_fn's answer). */
static int parse_count(const char *flag, const char *val, long lo, long hi, int *out)
{
    return cli_parse_count("bench", flag, val, lo, hi, out) ? CLI_FLAG_VALUE : -1;
}

static int parse_bench_flag(void *args, const char *arg, const char *val)
{
    bench_args *a = args;
    if (!strcmp(arg, "--profile")) {
        a->profile = 1;
        return CLI_FLAG_SWITCH;
    }
    if (!val)
        return 0;
    if (!strcmp(arg, "--iterations"))
        return parse_count(arg, val, 1, 10000000, &a->iterations);
    if (!strcmp(arg, "--warmup"))
        return parse_count(arg, val, 0, 10000000, &a->warmup);
    if (!strcmp(arg, "--threads"))
        return parse_count(arg, val, 1, 256, &a->threads);
    if (!strcmp(arg, "--top"))
        return parse_count(arg, val, 1, 1000000, &a->top);
    if (!strcmp(arg, "--optimization-level"))
        return parse_count(arg, val, 0, 1, &a->opt_level);
    return 0;
}

/* Per-layer times gathered by the layer callback. */
typedef struct layer_prof {
    int n_layers, next;
    double last;  /* time of the previous callback (or of the run's start) */
    double *ms;   /* per layer: summed over runs */
    char **names, **ops, **tactics;
    int failed;   /* out of memory */
} layer_prof;

static char *dup_str(const char *s)
{
    size_t n = strlen(s ? s : "") + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s ? s : "", n);
    return d;
}

static int on_layer(void *user, const kiln_node_info *layer, int n_outputs, const kiln_tensor_view *outputs)
{
    (void)n_outputs;
    (void)outputs;
    layer_prof *p = user;
    double now = cli_now_ms();
    int i = p->next++;
    if (i < p->n_layers) {
        if (!p->names[i]) {
            p->names[i] = dup_str(layer->name);
            p->ops[i] = dup_str(layer->op_type);
            p->tactics[i] = dup_str(layer->tactic);
            p->failed |= !p->names[i] || !p->ops[i] || !p->tactics[i];
        }
        p->ms[i] += now - p->last;
    }
    p->last = now;
    return 0;
}

static int prof_init(layer_prof *p, const kiln_engine *engine)
{
    memset(p, 0, sizeof *p);
    if (kiln_engine_num_layers(engine, &p->n_layers) != KILN_OK)
        return cli_fail("layers");
    size_t n = (size_t)(p->n_layers > 0 ? p->n_layers : 1);
    p->ms = calloc(n, sizeof *p->ms);
    p->names = calloc(n, sizeof *p->names);
    p->ops = calloc(n, sizeof *p->ops);
    p->tactics = calloc(n, sizeof *p->tactics);
    if (!p->ms || !p->names || !p->ops || !p->tactics) {
        fprintf(stderr, "kiln bench: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    return 0;
}

static void prof_free(layer_prof *p)
{
    for (int i = 0; p->names && i < p->n_layers; i++) {
        free(p->names[i]);
        free(p->ops[i]);
        free(p->tactics[i]);
    }
    free(p->ms);
    free(p->names);
    free(p->ops);
    free(p->tactics);
}

static const layer_prof *sort_prof;
static int by_time_desc(const void *a, const void *b)
{
    double x = sort_prof->ms[*(const int *)a], y = sort_prof->ms[*(const int *)b];
    return x < y ? 1 : x > y ? -1 : *(const int *)a - *(const int *)b;
}

/* The layers' time summed per op type, largest first; order is scratch
 * room for n_layers indices. */
static void print_op_totals(const layer_prof *p, int runs, double layers_total, int *order)
{
    /* the first layer of each op type stands for it: its slot in ms_by_op holds the total */
    double *ms_by_op = calloc((size_t)(p->n_layers > 0 ? p->n_layers : 1), sizeof *ms_by_op);
    int *count = calloc((size_t)(p->n_layers > 0 ? p->n_layers : 1), sizeof *count);
    int n_ops = 0;
    for (int i = 0; ms_by_op && count && i < p->n_layers; i++) {
        int first = i;
        for (int j = 0; j < i && first == i; j++)
            if (p->ops[j] && p->ops[i] && !strcmp(p->ops[j], p->ops[i]))
                first = j;
        if (first == i)
            order[n_ops++] = i;
        ms_by_op[first] += p->ms[i];
        count[first]++;
    }
    layer_prof by_op = *p;
    by_op.ms = ms_by_op;
    sort_prof = &by_op;
    if (ms_by_op && count) {
        qsort(order, (size_t)n_ops, sizeof *order, by_time_desc);
        printf("\nper op type:\n%-18s %7s %9s %6s\n", "op", "layers", "ms", "%");
        for (int r = 0; r < n_ops; r++) {
            int i = order[r];
            printf("%-18s %7d %9.4f %6.2f\n", p->ops[i] ? p->ops[i] : "?", count[i], ms_by_op[i] / runs,
                   layers_total > 0 ? 100.0 * ms_by_op[i] / layers_total : 0);
        }
    }
    free(ms_by_op);
    free(count);
}

static void print_profile(const layer_prof *p, int runs, double run_ms_total, int top)
{
    int *order = malloc(sizeof(int) * (size_t)(p->n_layers > 0 ? p->n_layers : 1));
    if (!order)
        return;
    double layers_total = 0;
    for (int i = 0; i < p->n_layers; i++) {
        order[i] = i;
        layers_total += p->ms[i];
    }
    sort_prof = p;
    qsort(order, (size_t)p->n_layers, sizeof *order, by_time_desc);
    int shown = top > 0 && top < p->n_layers ? top : p->n_layers;
    printf("\nper-layer profile (mean over %d runs; %.3f ms of %.3f ms per run inside layers):\n", runs,
           layers_total / runs, run_ms_total / runs);
    printf("%5s %9s %6s %6s  %-18s %-26s %s\n", "rank", "ms", "%", "cum%", "op", "tactic", "layer");
    double cum = 0;
    for (int r = 0; r < shown; r++) {
        int i = order[r];
        double share = layers_total > 0 ? 100.0 * p->ms[i] / layers_total : 0;
        cum += share;
        printf("%5d %9.4f %6.2f %6.2f  %-18s %-26s %s\n", r + 1, p->ms[i] / runs, share, cum,
               p->ops[i] ? p->ops[i] : "?", p->tactics[i] && p->tactics[i][0] ? p->tactics[i] : "-",
               p->names[i] ? p->names[i] : "?");
    }
    if (shown < p->n_layers)
        printf("  ... %d more layers (%.2f%%)\n", p->n_layers - shown, 100.0 - cum);
    print_op_totals(p, runs, layers_total, order);
    free(order);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile q (0..100] of n sorted values. */
static double percentile(const double *sorted, int n, double q)
{
    int rank = (int)((q / 100.0) * n + 0.999999);
    rank = rank < 1 ? 1 : rank > n ? n : rank;
    return sorted[rank - 1];
}

/* The first input's first dim, the batch of the usual model; 1 without one. */
static long long batch_of(const cli_inputs *in)
{
    if (in->n_tensors < 1 || in->tensors[0].rank < 1 || in->tensors[0].dims[0] < 1)
        return 1;
    return (long long)in->tensors[0].dims[0];
}

static int time_runs(bench_args *a, kiln_engine *engine, kiln_context *ctx)
{
    double *lat = malloc(sizeof(double) * (size_t)a->iterations);
    layer_prof prof;
    int rc = a->profile ? prof_init(&prof, engine) : 0;
    if (!lat) {
        fprintf(stderr, "kiln bench: out of memory\n");
        rc = CLI_EXIT_FAIL;
    }
    for (int it = 0; !rc && it < a->warmup; it++)
        if (kiln_context_run(ctx) != KILN_OK)
            rc = cli_fail(a->model);
    if (!rc && a->profile && kiln_context_set_layer_callback(ctx, on_layer, &prof) != KILN_OK)
        rc = cli_fail("profile");
    double total = 0;
    for (int it = 0; !rc && it < a->iterations; it++) {
        double s = cli_now_ms();
        if (a->profile) {
            prof.next = 0;
            prof.last = s;
        }
        if (kiln_context_run(ctx) != KILN_OK)
            rc = cli_fail(a->model);
        lat[it] = cli_now_ms() - s;
        total += lat[it];
    }
    if (!rc && a->profile && prof.failed) {
        fprintf(stderr, "kiln bench: out of memory\n");
        rc = CLI_EXIT_FAIL;
    }
    if (!rc) {
        int n = a->iterations;
        qsort(lat, (size_t)n, sizeof *lat, cmp_double);
        double mean = total / n;
        long long batch = batch_of(&a->inputs);
        printf("kiln bench: %s: %d thread%s, %d warm-up + %d timed runs\n", a->model, kiln_get_threads(),
               kiln_get_threads() == 1 ? "" : "s", a->warmup, n);
        printf("latency ms: mean %.3f  min %.3f  p50 %.3f  p90 %.3f  p95 %.3f  p99 %.3f  max %.3f\n", mean, lat[0],
               percentile(lat, n, 50), percentile(lat, n, 90), percentile(lat, n, 95), percentile(lat, n, 99),
               lat[n - 1]);
        printf("throughput: %.2f runs/s, %.2f samples/s (batch %lld)\n", 1000.0 / mean, 1000.0 * (double)batch / mean,
               batch);
        if (a->profile)
            print_profile(&prof, n, total, a->top);
    }
    if (a->profile)
        prof_free(&prof);
    free(lat);
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    if (cli_help(argc, argv, usage_bench))
        return 0;
    bench_args a;
    memset(&a, 0, sizeof a);
    a.iterations = 100;
    a.warmup = 10;
    a.opt_level = 1;
    if (!cli_parse_args(argc, argv, "bench", &a.inputs, &a.model, parse_bench_flag, &a)) {
        cli_inputs_free(&a.inputs);
        return CLI_EXIT_USAGE;
    }
    kiln_engine *engine = NULL;
    kiln_context *ctx = NULL;
    double t_load = 0, t_build = 0;
    int rc = a.threads > 0 && kiln_set_threads(a.threads) != KILN_OK ? cli_fail("--threads") : 0;
    if (!rc)
        rc = cli_open_engine(a.model, a.opt_level, &a.inputs, &engine, &t_load, &t_build);
    if (!rc && kiln_context_create(engine, &ctx) != KILN_OK)
        rc = cli_fail("context");
    if (!rc)
        rc = cli_inputs_prepare(&a.inputs, "bench", engine);
    if (!rc)
        rc = cli_inputs_bind(&a.inputs, engine, ctx, a.model);
    if (!rc)
        rc = time_runs(&a, engine, ctx);
    kiln_context_free(ctx);
    kiln_engine_free(engine);
    cli_inputs_free(&a.inputs);
    return rc;
}
