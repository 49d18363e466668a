/*
 * cmd_inspect.c - `kiln inspect MODEL`: inputs, outputs, op histogram, node
 * count, parameters and a FLOP estimate; for an engine file, also its
 * optimization profiles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/tensor.h"

void usage_inspect(FILE *f)
{
    fprintf(f, "usage: kiln inspect MODEL [--optimized] [--layout L] [--shape NAME=DIMS]...\n"
               "       kiln inspect ENGINE\n\n"
               "Prints the model's inputs and outputs (dtype and shape; symbolic dims by name), a histogram of\n"
               "its ops, a line 'nodes: N', the parameter count and an estimate of the FLOPs of one run.\n"
               "For an engine file: its inputs and outputs, the optimizer's report, a line 'layers: N' and\n"
               "every layer with its tactic.\n\n"
               "options:\n"
               "  --optimized          also build the engine and print the node count before and after the\n"
               "                       optimizer, every rewrite it made (folds and fusions by name), and a\n"
               "                       line 'layers: N' with the executed layers\n"
               "  --layout L           with --optimized: auto (default), nchw or nhwc, as for `kiln build`\n"
               "  --shape NAME=DIMS    fix input NAME's shape (such as 1x3x224x224): the FLOPs are counted at\n"
               "                       these shapes, and with --optimized shape subgraphs fold\n"
               "  --help               this text\n");
}

typedef struct op_bin {
    const char *op;
    int count;
} op_bin;

static int by_count(const void *a, const void *b)
{
    const op_bin *x = a, *y = b;
    if (x->count != y->count)
        return y->count - x->count;
    return strcmp(x->op, y->op);
}

/* Inputs or outputs of a network (engine NULL) or an engine. */
static void print_io(const kiln_network *net, const kiln_engine *engine, int is_output)
{
    int n = 0;
    if (engine)
        kiln_engine_num_io(engine, is_output, &n);
    else
        kiln_network_num_io(net, is_output, &n);
    printf("%s:\n", is_output ? "outputs" : "inputs");
    for (int i = 0; i < n; i++) {
        kiln_io_info info;
        char shape[256];
        if (engine)
            kiln_engine_io(engine, is_output, i, &info);
        else
            kiln_network_io(net, is_output, i, &info);
        printf("  %-24s %-9s %s\n", info.name, info.dtype ? kiln_dtype_name(info.dtype) : "?",
               cli_shape_str(&info, shape, sizeof shape));
    }
}

static int print_ops(const kiln_network *net, int n_nodes)
{
    op_bin *bins = calloc((size_t)(n_nodes ? n_nodes : 1), sizeof *bins);
    int n_bins = 0;
    if (!bins) {
        fprintf(stderr, "kiln: inspect: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    for (int i = 0; i < n_nodes; i++) {
        kiln_node_info ni;
        kiln_network_node(net, i, &ni);
        int b = 0;
        while (b < n_bins && strcmp(bins[b].op, ni.op_type) != 0)
            b++;
        if (b == n_bins)
            bins[n_bins++].op = ni.op_type;
        bins[b].count++;
    }
    qsort(bins, (size_t)n_bins, sizeof *bins, by_count);
    printf("ops:\n");
    for (int b = 0; b < n_bins; b++)
        printf("  %-24s %d\n", bins[b].op, bins[b].count);
    free(bins);
    return 0;
}

/* The optimizer's report and the layer count; with list_layers, every
 * layer with its tactic. */
static void print_engine(const kiln_engine *engine, int nodes_before, int list_layers)
{
    int layers = 0, rewrites = 0;
    kiln_engine_num_layers(engine, &layers);
    kiln_engine_num_rewrites(engine, &rewrites);
    printf("optimized:\n");
    if (nodes_before >= 0)
        printf("  nodes: %d -> %d\n", nodes_before, layers);
    for (int i = 0; i < rewrites; i++) {
        const char *text;
        if (kiln_engine_rewrite(engine, i, &text) == KILN_OK)
            printf("  %s\n", text);
    }
    printf("layers: %d\n", layers);
    int profiles = 0;
    kiln_engine_num_profiles(engine, &profiles);
    for (int i = 0; list_layers && i < layers; i++) {
        kiln_node_info ni;
        if (kiln_engine_layer(engine, i, &ni) != KILN_OK)
            continue;
        printf("  %4d %-24s %-32s tactic %s", i, ni.op_type, ni.name[0] ? ni.name : "-", ni.tactic ? ni.tactic : "-");
        /* each profile is tuned at its own OPT shapes: name the profiles that chose otherwise */
        for (int p = 1; p < profiles; p++) {
            const char *t = NULL;
            if (kiln_engine_layer_tactic(engine, p, i, &t) == KILN_OK && ni.tactic && strcmp(t, ni.tactic))
                printf(" (profile %d: %s)", p, t);
        }
        printf("\n");
    }
}

static int print_optimized(const kiln_network *net, const kiln_builder_config *cfg)
{
    kiln_engine *engine = NULL;
    if (kiln_engine_build(net, cfg, &engine) != KILN_OK)
        return cli_fail("build");
    int before = 0;
    kiln_network_num_nodes(net, &before);
    print_engine(engine, before, 0);
    size_t naive = 0, planned = 0;
    if (kiln_engine_memory(engine, &naive, &planned) == KILN_OK)
        printf("activation memory: naive %.1f MiB, planned %.1f MiB\n", (double)naive / (1 << 20),
               (double)planned / (1 << 20));
    kiln_engine_free(engine);
    return 0;
}

/* Every optimization profile: each input's min, opt and max shapes. */
static void print_profiles(const kiln_engine *engine)
{
    int n = 0, n_inputs = 0;
    kiln_engine_num_profiles(engine, &n);
    kiln_engine_num_io(engine, 0, &n_inputs);
    printf("profiles: %d\n", n);
    for (int p = 0; p < n; p++) {
        printf("  profile %d:\n", p);
        for (int i = 0; i < n_inputs; i++) {
            kiln_io_info info;
            int rank = 0;
            int64_t lo[KILN_MAX_RANK], opt[KILN_MAX_RANK], hi[KILN_MAX_RANK];
            char a[128], b[128], c[128];
            if (kiln_engine_io(engine, 0, i, &info) != KILN_OK ||
                kiln_engine_profile_shape(engine, p, info.name, &rank, lo, opt, hi) != KILN_OK)
                continue;
            printf("    %-22s min %s  opt %s  max %s\n", info.name, kiln_shape_str(lo, rank, a, sizeof a),
                   kiln_shape_str(opt, rank, b, sizeof b), kiln_shape_str(hi, rank, c, sizeof c));
        }
    }
}

static int inspect_engine(const char *path)
{
    kiln_engine *engine = NULL;
    if (kiln_engine_load(path, &engine) != KILN_OK)
        return cli_fail(path);
    printf("engine: %s\n", path);
    print_io(NULL, engine, 0);
    print_io(NULL, engine, 1);
    print_profiles(engine);
    print_engine(engine, -1, 1);
    kiln_engine_free(engine);
    return 0;
}

/* The FLOPs of the model as given, at the --shape shapes: the unoptimized
 * graph built (untuned) with those shapes inferred. */
static int print_flops_at_shapes(const kiln_network *net, kiln_builder_config *cfg)
{
    kiln_engine *engine = NULL;
    double flops = 0;
    int symbolic = 0;
    if (kiln_builder_config_set_optimization_level(cfg, 0) != KILN_OK ||
        kiln_builder_config_set_autotune(cfg, 0) != KILN_OK || kiln_engine_build(net, cfg, &engine) != KILN_OK ||
        kiln_engine_flops(engine, &flops, &symbolic) != KILN_OK) {
        kiln_engine_free(engine);
        return cli_fail("flops");
    }
    printf("flops: %.3f GFLOP per run at the --shape shapes%s\n", flops / 1e9,
           symbolic ? " (other symbolic dims counted as 1)" : "");
    kiln_engine_free(engine);
    return kiln_builder_config_set_optimization_level(cfg, 1) != KILN_OK ||
                   kiln_builder_config_set_autotune(cfg, 1) != KILN_OK
               ? cli_fail("config")
               : 0;
}

int cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    int optimized = 0, rc = 0, n_shapes = 0;
    kiln_builder_config *cfg = NULL;
    if (kiln_builder_config_create(&cfg) != KILN_OK)
        return cli_fail("config");
    for (int i = 1; i < argc && !rc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage_inspect(stdout);
            kiln_builder_config_free(cfg);
            return 0;
        }
        if (!strcmp(argv[i], "--optimized")) {
            optimized = 1;
            continue;
        }
        if (!strcmp(argv[i], "--layout") && i + 1 < argc) {
            int layout;
            if (!cli_parse_layout("inspect", argv[++i], &layout))
                rc = CLI_EXIT_USAGE;
            else if (kiln_builder_config_set_layout(cfg, (kiln_layout)layout) != KILN_OK)
                rc = cli_fail("--layout");
            continue;
        }
        if (!strcmp(argv[i], "--shape") && i + 1 < argc) {
            char *name = NULL;
            const char *dims_text;
            int rank;
            int64_t dims[KILN_MAX_RANK];
            if (!cli_split_assign(argv[++i], &name, &dims_text) || !cli_parse_shape(dims_text, &rank, dims)) {
                fprintf(stderr, "kiln inspect: --shape takes NAME=DIMS such as input=1x3x224x224, got '%s'\n",
                        argv[i]);
                rc = CLI_EXIT_USAGE;
            } else if (kiln_builder_config_set_input_shape(cfg, name, rank, dims) != KILN_OK) {
                rc = cli_fail("--shape");
            }
            n_shapes++;
            free(name);
            continue;
        }
        if (argv[i][0] == '-' || path) {
            fprintf(stderr, "kiln inspect: unexpected argument '%s'\n", argv[i]);
            usage_inspect(stderr);
            rc = CLI_EXIT_USAGE;
            break;
        }
        path = argv[i];
    }
    if (!rc && !path) {
        usage_inspect(stderr);
        rc = CLI_EXIT_USAGE;
    }
    if (!rc && kiln_is_engine_file(path)) {
        kiln_builder_config_free(cfg);
        return inspect_engine(path);
    }
    kiln_network *net = NULL;
    if (!rc && kiln_network_from_file(path, &net) != KILN_OK)
        rc = cli_fail(path);
    if (rc) {
        kiln_builder_config_free(cfg);
        return rc;
    }
    kiln_network_stats s;
    kiln_network_stats_get(net, &s);
    printf("model: %s\n", path);
    print_io(net, NULL, 0);
    print_io(net, NULL, 1);
    rc = print_ops(net, s.n_nodes);
    printf("nodes: %d\n", s.n_nodes);
    printf("parameters: %lld (%.1f MiB of weights)\n", (long long)s.n_parameters,
           (double)s.weight_bytes / (1024.0 * 1024.0));
    if (n_shapes > 0)
        rc = print_flops_at_shapes(net, cfg);
    else
        printf("flops: %.3f GFLOP per run%s\n", s.flops / 1e9,
               s.flops_symbolic ? " (symbolic dims counted as 1; give --shape to count at a shape)" : "");
    if (!rc && optimized)
        rc = print_optimized(net, cfg);
    kiln_network_free(net);
    kiln_builder_config_free(cfg);
    return rc;
}
