/*
 * cmd_run.c - `kiln run MODEL`: bind inputs from .npy files (or
 * deterministic random data), run, write each output to
 * DIR/<output name>.npy and print a one-line timing summary.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "core/npy.h"
#include "core/tensor.h"

void usage_run(FILE *f)
{
    fprintf(f, "usage: kiln run MODEL [--input NAME=FILE.npy]... [--shape NAME=DIMS]... [--output-dir DIR]\n"
               "                 [--iterations N] [--warmup N] [--seed N] [--threads N] [--optimization-level N]\n"
               "                 [--layout L]\n\n"
               "Runs MODEL (an .onnx file, or an engine file from `kiln build`) once per iteration and prints\n"
               "one timing line.\n\n"
               "options:\n"
               "  --input NAME=FILE.npy  feed input NAME from a .npy file (its dtype must match the model)\n"
               "  --layout L             where an .onnx MODEL's convolutions keep channels: auto (default),\n"
               "                         nchw or nhwc (see kiln build --help)\n"
               "  --shape NAME=DIMS      shape for input NAME, such as 1x3x224x224; fixes symbolic dims.\n"
               "                         Inputs without --input get deterministic random data of this shape\n"
               "                         (symbolic dims not given default to 1, with a note)\n"
               "  --output-dir DIR       write every output as DIR/<output name>.npy in the model's dtype\n"
               "                         ('/' and '\\\\' in names become '_')\n"
               "  --iterations N         run N times (default 1); the summary reports the mean and the best\n"
               "  --warmup N             run N untimed times first (default 0)\n"
               "  --seed N               seed of the random inputs (default 0)\n"
               "  --threads N            CPU threads (default: every CPU this process may use)\n"
               "  --optimization-level N 0: run the graph as imported; 1 (default): optimize it first\n"
               "  --help                 this text\n");
}

typedef struct run_args {
    const char *model;
    const char *out_dir;
    int iterations;
    int warmup;
    int threads;
    int opt_level;
    cli_inputs inputs;
} run_args;

/* One flag of run's own (cli_flag_fn): CLI_FLAG_VALUE taken, 0 not ours, -1 malformed. */
static int parse_run_flag(void *args, const char *arg, const char *val)
{
    run_args *a = args;
    if (!val)
        return 0;
    if (!strcmp(arg, "--output-dir")) {
        a->out_dir = val;
    } else if (!strcmp(arg, "--iterations")) {
        return cli_parse_count("run", arg, val, 1, 1000000, &a->iterations) ? CLI_FLAG_VALUE : -1;
    } else if (!strcmp(arg, "--warmup")) {
        return cli_parse_count("run", arg, val, 0, 1000000, &a->warmup) ? CLI_FLAG_VALUE : -1;
    } else if (!strcmp(arg, "--threads")) {
        return cli_parse_count("run", arg, val, 1, 256, &a->threads) ? CLI_FLAG_VALUE : -1;
    } else if (!strcmp(arg, "--optimization-level")) {
        if (strcmp(val, "0") && strcmp(val, "1")) {
            fprintf(stderr, "kiln run: --optimization-level takes 0 or 1, got '%s'\n", val);
            return -1;
        }
        a->opt_level = val[0] - '0';
    } else {
        return 0;
    }
    return CLI_FLAG_VALUE;
}

static int parse_run_args(int argc, char **argv, run_args *a)
{
    memset(a, 0, sizeof *a);
    a->iterations = 1;
    a->opt_level = 1;
    return cli_parse_args(argc, argv, "run", &a->inputs, &a->model, parse_run_flag, a);
}

static int write_outputs(const char *dir, kiln_context *ctx, int n_out)
{
    if (cli_mkdirs(dir) != 0) {
        fprintf(stderr, "kiln run: cannot create output folder %s: %s\n", dir, strerror(errno));
        return CLI_EXIT_FAIL;
    }
    for (int i = 0; i < n_out; i++) {
        kiln_tensor_view v;
        if (kiln_context_output(ctx, NULL, i, &v) != KILN_OK)
            return cli_fail("output");
        char file[4096];
        snprintf(file, sizeof file, "%s/%s.npy", dir, v.name);
        for (char *p = file + strlen(dir) + 1; *p; p++)
            if (*p == '/' || *p == '\\')
                *p = '_';
        kiln_tensor t = {0};
        kiln_tensor_set_shape(&t, v.dtype, v.rank, v.dims);
        t.data = (void *)v.data;
        t.nbytes = v.nbytes;
        if (kiln_npy_write(file, &t) != KILN_OK)
            return cli_fail("output");
    }
    return 0;
}

static int run_model(run_args *a)
{
    kiln_engine *engine = NULL;
    kiln_context *ctx = NULL;
    int rc = 0, n_out = 0;
    double t_load = 0, t_build = 0, best = 1e300, total = 0;
    if (a->threads > 0 && kiln_set_threads(a->threads) != KILN_OK)
        return cli_fail("--threads");
    if (cli_open_engine(a->model, a->opt_level, &a->inputs, &engine, &t_load, &t_build))
        return CLI_EXIT_FAIL;
    if (kiln_context_create(engine, &ctx) != KILN_OK)
        rc = cli_fail("context");
    if (!rc)
        rc = cli_inputs_prepare(&a->inputs, "run", engine);
    if (!rc)
        rc = cli_inputs_bind(&a->inputs, engine, ctx, a->model);
    kiln_engine_num_io(engine, 1, &n_out);
    for (int it = -a->warmup; !rc && it < a->iterations; it++) {
        double s = cli_now_ms();
        if (kiln_context_run(ctx) != KILN_OK)
            rc = cli_fail(a->model);
        double dt = cli_now_ms() - s;
        if (it < 0)
            continue; /* untimed */
        total += dt;
        best = dt < best ? dt : best;
    }
    if (!rc && a->out_dir)
        rc = write_outputs(a->out_dir, ctx, n_out);
    if (!rc)
        printf("kiln run: %s: load %.1f ms, build %.1f ms, run %.2f ms mean / %.2f ms best over %d iteration%s, "
               "%d output%s%s%s\n",
               a->model, t_load, t_build, total / a->iterations, best, a->iterations, a->iterations == 1 ? "" : "s",
               n_out, n_out == 1 ? "" : "s", a->out_dir ? " written to " : "", a->out_dir ? a->out_dir : "");
    kiln_context_free(ctx);
    kiln_engine_free(engine);
    return rc;
}

int cmd_run(int argc, char **argv)
{
    if (cli_help(argc, argv, usage_run))
        return 0;
    run_args a;
    if (!parse_run_args(argc, argv, &a)) {
        cli_inputs_free(&a.inputs);
        return CLI_EXIT_USAGE;
    }
    int rc = run_model(&a);
    cli_inputs_free(&a.inputs);
    return rc;
}
