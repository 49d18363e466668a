/*
 * cmd_build.c - `kiln build MODEL -o ENGINE`: parse, optimize and prepare
 * the model for this machine and write the engine file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void usage_build(FILE *f)
{
    fprintf(f, "usage: kiln build MODEL -o ENGINE [--shape NAME=DIMS]... [--optimization-level N]\n"
               "                  [--profile NAME=MIN:OPT:MAX[,NAME=MIN:OPT:MAX...]]...\n"
               "                  [--workspace SIZE] [--tactic-sources LIST] [--timing-cache FILE]\n"
               "                  [--layout auto|nchw|nhwc] [--no-tune] [--threads N] [--verbose]\n\n"
               "Builds an engine for this machine from MODEL (an .onnx file) and writes it to ENGINE. The engine\n"
               "file holds the optimized graph, its weights, the build options and the device it was built for;\n"
               "`kiln run` and `kiln inspect` take it in place of the model.\n\n"
               "options:\n"
               "  -o, --output ENGINE     the engine file to write (required)\n"
               "  --shape NAME=DIMS       fix input NAME's shape, such as 1x3x224x224 (shape subgraphs fold)\n"
               "  --profile NAME=MIN:OPT:MAX[,...]\n"
               "                          one optimization profile: for each input with symbolic dims, the\n"
               "                          smallest, typical (tactics are tuned for it) and largest shape, such as\n"
               "                          input_ids=1x16:8x128:32x512,attention_mask=1x16:8x128:32x512. Repeat\n"
               "                          for several profiles; a run uses the first that holds its input shapes\n"
               "                          and costs what its own shapes cost\n"
               "  --optimization-level N  0: keep the graph as imported; 1 (default): optimize it\n"
               "  --workspace SIZE        scratch memory tactics may use: bytes, or with K, M or G (default 1G)\n"
               "  --tactic-sources LIST   comma-separated sources tactics may come from: kiln, openblas, onednn,\n"
               "                          cudnn, cublaslt (default: all)\n"
               "  --layout L              where convolutions keep channels: nchw (as the model has them), nhwc\n"
               "                          (channels-last: convolutions and the pools and elementwise ops between\n"
               "                          them, transposes only at the ends) or auto (default: build both, time\n"
               "                          whole runs on this machine, keep the faster; nchw without tuning)\n"
               "  --no-tune               skip the autotuner: every layer keeps the reference kernel (by default\n"
               "                          the tactics of each layer with fixed shapes are timed, the fastest kept)\n"
               "  --timing-cache FILE     read tactic timings from FILE before tuning and write them after\n"
               "  --threads N             CPU threads while tuning (default: every CPU this process may use);\n"
               "                          tune with the thread count the engine will run with\n"
               "  --verbose               print each tuned layer's tactic and time (the build log)\n"
               "  --help                  this text\n");
}

/* "512M" -> bytes; 0 on a malformed size. */
static int parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    size_t mul = 1;
    if (end == s)
        return 0;
    if (*end == 'K' || *end == 'k')
        mul = (size_t)1 << 10;
    else if (*end == 'M' || *end == 'm')
        mul = (size_t)1 << 20;
    else if (*end == 'G' || *end == 'g')
        mul = (size_t)1 << 30;
    else if (*end)
        return 0;
    if (mul > 1 && end[1])
        return 0;
    if (v > SIZE_MAX / mul)
        return 0;
    *out = (size_t)v * mul;
    return 1;
}

static int parse_sources(const char *s, uint32_t *mask)
{
    static const struct {
        const char *name;
        uint32_t bit;
    } names[] = {{"kiln", KILN_TACTIC_KILN},   {"openblas", KILN_TACTIC_OPENBLAS}, {"onednn", KILN_TACTIC_ONEDNN},
                 {"cudnn", KILN_TACTIC_CUDNN}, {"cublaslt", KILN_TACTIC_CUBLASLT}};
    *mask = 0;
    while (*s) {
        size_t n = strcspn(s, ",");
        int found = 0;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strlen(names[i].name) == n && !strncmp(s, names[i].name, n)) {
                *mask |= names[i].bit;
                found = 1;
            }
        if (!found) {
            fprintf(stderr, "kiln build: unknown tactic source '%.*s' (kiln, openblas, onednn, cudnn, cublaslt)\n",
                    (int)n, s);
            return 0;
        }
        s += n + (s[n] == ',');
    }
    return *mask != 0;
}

/* One NAME=MIN:OPT:MAX entry of --profile into profile p; 0 on success. */
static int profile_entry(kiln_builder_config *cfg, int p, const char *entry)
{
    char *name = NULL, *bounds = NULL, *opt = NULL, *max = NULL;
    const char *rhs = NULL;
    int rank[3] = {-1, -2, -3}, rc = CLI_EXIT_USAGE;
    int64_t dims[3][KILN_MAX_RANK];
    if (cli_split_assign(entry, &name, &rhs) && (bounds = malloc(strlen(rhs) + 1))) {
        strcpy(bounds, rhs);
        opt = strchr(bounds, ':');
        max = opt ? strchr(opt + 1, ':') : NULL;
    }
    if (max) {
        *opt++ = '\0';
        *max++ = '\0';
        if (cli_parse_shape(bounds, &rank[0], dims[0]) && cli_parse_shape(opt, &rank[1], dims[1]) &&
            cli_parse_shape(max, &rank[2], dims[2]) && rank[0] == rank[1] && rank[1] == rank[2])
            rc = kiln_builder_config_set_profile_shape(cfg, p, name, rank[0], dims[0], dims[1], dims[2])
                     ? cli_fail("--profile")
                     : 0;
    }
    if (rc == CLI_EXIT_USAGE)
        fprintf(stderr, "kiln build: --profile takes NAME=MIN:OPT:MAX entries separated by ',', such as "
                        "input_ids=1x16:8x128:32x512 (three shapes of one rank), got '%s'\n", entry);
    free(name);
    free(bounds);
    return rc;
}

/* One --profile flag: a new profile with an entry per input. */
static int add_profile(kiln_builder_config *cfg, const char *val)
{
    int p = -1, rc = 0;
    char entry[1024];
    if (kiln_builder_config_add_profile(cfg, &p) != KILN_OK)
        return cli_fail("--profile");
    while (!rc && *val) {
        size_t n = strcspn(val, ",");
        if (n >= sizeof entry) {
            fprintf(stderr, "kiln build: --profile entry longer than %zu characters\n", sizeof entry - 1);
            return CLI_EXIT_USAGE;
        }
        memcpy(entry, val, n);
        entry[n] = '\0';
        rc = profile_entry(cfg, p, entry);
        val += n + (val[n] == ',');
    }
    return rc;
}

static int apply_option(kiln_builder_config *cfg, const char *opt, const char *val)
{
    if (!strcmp(opt, "--profile"))
        return add_profile(cfg, val);
    if (!strcmp(opt, "--shape")) {
        char *name = NULL;
        const char *dims_text;
        int rank, rc = 0;
        int64_t dims[KILN_MAX_RANK];
        if (!cli_split_assign(val, &name, &dims_text) || !cli_parse_shape(dims_text, &rank, dims)) {
            fprintf(stderr, "kiln build: --shape takes NAME=DIMS such as input=1x3x224x224, got '%s'\n", val);
            rc = CLI_EXIT_USAGE;
        } else if (kiln_builder_config_set_input_shape(cfg, name, rank, dims) != KILN_OK) {
            rc = cli_fail("--shape");
        }
        free(name);
        return rc;
    }
    if (!strcmp(opt, "--optimization-level")) {
        if (strcmp(val, "0") && strcmp(val, "1")) {
            fprintf(stderr, "kiln build: --optimization-level takes 0 or 1, got '%s'\n", val);
            return CLI_EXIT_USAGE;
        }
        return kiln_builder_config_set_optimization_level(cfg, val[0] - '0') ? cli_fail("--optimization-level") : 0;
    }
    if (!strcmp(opt, "--workspace")) {
        size_t bytes;
        if (!parse_size(val, &bytes)) {
            fprintf(stderr, "kiln build: --workspace takes a size such as 512M or 2G, got '%s'\n", val);
            return CLI_EXIT_USAGE;
        }
        return kiln_builder_config_set_workspace(cfg, bytes) ? cli_fail("--workspace") : 0;
    }
    if (!strcmp(opt, "--tactic-sources")) {
        uint32_t mask;
        if (!parse_sources(val, &mask))
            return CLI_EXIT_USAGE;
        return kiln_builder_config_set_tactic_sources(cfg, mask) || kiln_builder_config_set_autotune(cfg, 1)
                   ? cli_fail("--tactic-sources")
                   : 0;
    }
    if (!strcmp(opt, "--layout")) {
        int layout;
        if (!cli_parse_layout("build", val, &layout))
            return CLI_EXIT_USAGE;
        return kiln_builder_config_set_layout(cfg, (kiln_layout)layout) ? cli_fail("--layout") : 0;
    }
    if (!strcmp(opt, "--threads")) {
        int n;
        if (!cli_parse_count("build", opt, val, 1, 256, &n))
            return CLI_EXIT_USAGE;
        return kiln_builder_config_set_threads(cfg, n) ? cli_fail("--threads") : 0;
    }
    if (!strcmp(opt, "--timing-cache"))
        return kiln_builder_config_set_timing_cache(cfg, val) || kiln_builder_config_set_autotune(cfg, 1)
                   ? cli_fail("--timing-cache")
                   : 0;
    fprintf(stderr, "kiln build: unexpected argument '%s'\n", opt);
    return CLI_EXIT_USAGE;
}

/* The tuning progress bar (stderr is a terminal). */
static void progress_bar(void *user, int done, int total, const char *layer)
{
    (void)user;
    int width = 30, fill = total ? done * width / total : width;
    fprintf(stderr, "\rtuning [%.*s%*s] %d/%d %-24.24s", fill, "##############################", width - fill, "",
            done, total, layer ? layer : "");
    if (done == total)
        fprintf(stderr, "\r%*s\r", width + 45, "");
    fflush(stderr);
}

/* The build log: each tuned layer's tactic and time, then the summary. */
static void print_tuning(const kiln_engine *engine, int verbose)
{
    kiln_tuning_summary sum;
    int layers = 0;
    kiln_engine_tuning_summary(engine, &sum);
    kiln_engine_num_layers(engine, &layers);
    for (int i = 0; verbose && i < layers; i++) {
        kiln_node_info info;
        double ms, ref;
        if (kiln_engine_layer(engine, i, &info) != KILN_OK || kiln_engine_layer_timing(engine, i, &ms, &ref) ||
            ms < 0)
            continue;
        printf("  layer %-40s %-10s %-22s %9.3f ms", info.name, info.op_type, info.tactic, ms);
        if (ref >= 0)
            printf("  (conv_im2col_sgemm %9.3f ms, %.2fx)", ref, ref / (ms > 0 ? ms : 1));
        printf("\n");
    }
    if (sum.ms > 0) /* tuning ran */
        printf("kiln build: tuned %d layers (%d from the timing cache) in %.1f ms\n", sum.layers_tuned,
               sum.cache_hits, sum.ms);
}

static int build(const char *model, const char *out, const kiln_builder_config *cfg, int verbose)
{
    kiln_network *net = NULL;
    kiln_engine *engine = NULL;
    double t0 = cli_now_ms();
    int rc = 0;
    if (kiln_network_from_file(model, &net) != KILN_OK)
        return cli_fail(model);
    if (kiln_engine_build(net, cfg, &engine) != KILN_OK)
        rc = cli_fail(model);
    else if (kiln_engine_save(engine, out) != KILN_OK)
        rc = cli_fail(out);
    if (!rc) {
        int before = 0, layers = 0;
        kiln_network_num_nodes(net, &before);
        kiln_engine_num_layers(engine, &layers);
        printf("kiln build: %s -> %s: %d nodes -> %d layers in %.1f ms\n", model, out, before, layers,
               cli_now_ms() - t0);
        print_tuning(engine, verbose);
    }
    kiln_engine_free(engine);
    kiln_network_free(net);
    return rc;
}

int cmd_build(int argc, char **argv)
{
    const char *model = NULL, *out = NULL;
    kiln_builder_config *cfg = NULL;
    int rc = 0, verbose = 0;
    if (kiln_builder_config_create(&cfg) != KILN_OK)
        return cli_fail("config");
    if (isatty(STDERR_FILENO))
        kiln_builder_config_set_progress_callback(cfg, progress_bar, NULL);
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage_build(stdout);
            kiln_builder_config_free(cfg);
            return 0;
        }
        if (!strcmp(a, "--verbose"))
            verbose = 1;
        else if (!strcmp(a, "--no-tune"))
            rc = kiln_builder_config_set_autotune(cfg, 0) ? cli_fail("--no-tune") : 0;
        else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc)
            out = argv[++i];
        else if (a[0] == '-' && a[1] == '-' && i + 1 < argc)
            rc = apply_option(cfg, a, argv[++i]);
        else if (a[0] != '-' && !model)
            model = a;
        else {
            fprintf(stderr, "kiln build: unexpected argument '%s'%s\n", a, a[0] == '-' ? " (or its value is missing)"
                                                                                      : "");
            rc = CLI_EXIT_USAGE;
        }
    }
    if (!rc && (!model || !out)) {
        fprintf(stderr, "kiln build: %s\n", model ? "no -o ENGINE given" : "no MODEL given");
        rc = CLI_EXIT_USAGE;
    }
    if (!rc)
        rc = build(model, out, cfg, verbose);
    kiln_builder_config_free(cfg);
    return rc;
}
