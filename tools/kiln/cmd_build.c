/*
 * cmd_build.c - `kiln build MODEL -o ENGINE`: parse, optimize and prepare
 * the model for this machine and write the engine file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void usage_build(FILE *f)
{
    fprintf(f, "usage: kiln build MODEL -o ENGINE [--shape NAME=DIMS]... [--optimization-level N]\n"
               "                  [--workspace SIZE] [--tactic-sources LIST]\n\n"
               "Builds an engine for this machine from MODEL (an .onnx file) and writes it to ENGINE. The engine\n"
               "file holds the optimized graph, its weights, the build options and the device it was built for;\n"
               "`kiln run` and `kiln inspect` take it in place of the model.\n\n"
               "options:\n"
               "  -o, --output ENGINE     the engine file to write (required)\n"
               "  --shape NAME=DIMS       fix input NAME's shape, such as 1x3x224x224 (shape subgraphs fold)\n"
               "  --optimization-level N  0: keep the graph as imported; 1 (default): optimize it\n"
               "  --workspace SIZE        scratch memory tactics may use: bytes, or with K, M or G (default 1G)\n"
               "  --tactic-sources LIST   comma-separated sources tactics may come from: kiln, openblas, onednn,\n"
               "                          cudnn, cublaslt (default: all)\n"
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

static int apply_option(kiln_builder_config *cfg, const char *opt, const char *val)
{
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
        return kiln_builder_config_set_tactic_sources(cfg, mask) ? cli_fail("--tactic-sources") : 0;
    }
    fprintf(stderr, "kiln build: unexpected argument '%s'\n", opt);
    return CLI_EXIT_USAGE;
}

static int build(const char *model, const char *out, const kiln_builder_config *cfg)
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
    }
    kiln_engine_free(engine);
    kiln_network_free(net);
    return rc;
}

int cmd_build(int argc, char **argv)
{
    const char *model = NULL, *out = NULL;
    kiln_builder_config *cfg = NULL;
    int rc = 0;
    if (kiln_builder_config_create(&cfg) != KILN_OK)
        return cli_fail("config");
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage_build(stdout);
            kiln_builder_config_free(cfg);
            return 0;
        }
        if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc)
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
        rc = build(model, out, cfg);
    kiln_builder_config_free(cfg);
    return rc;
}
