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
#include "core/dtype.h"
#include "core/npy.h"
#include "core/tensor.h"

void usage_run(FILE *f)
{
    fprintf(f, "usage: kiln run MODEL [--input NAME=FILE.npy]... [--shape NAME=DIMS]... [--output-dir DIR]\n"
               "                 [--iterations N] [--seed N] [--optimization-level N]\n\n"
               "Runs MODEL (an .onnx file, or an engine file from `kiln build`) once per iteration and prints\n"
               "one timing line.\n\n"
               "options:\n"
               "  --input NAME=FILE.npy  feed input NAME from a .npy file (its dtype must match the model)\n"
               "  --shape NAME=DIMS      shape for input NAME, such as 1x3x224x224; fixes symbolic dims.\n"
               "                         Inputs without --input get deterministic random data of this shape\n"
               "                         (symbolic dims not given default to 1, with a note)\n"
               "  --output-dir DIR       write every output as DIR/<output name>.npy in the model's dtype\n"
               "                         ('/' and '\\\\' in names become '_')\n"
               "  --iterations N         run N times (default 1); the summary reports the mean and the best\n"
               "  --seed N               seed of the random inputs (default 0)\n"
               "  --optimization-level N 0: run the graph as imported; 1 (default): optimize it first\n"
               "  --help                 this text\n");
}

typedef struct run_args {
    const char *model;
    const char *out_dir;
    int iterations;
    int opt_level;
    uint64_t seed;
    int n_inputs, n_shapes;
    char **input_names;
    const char **input_files;
    char **shape_names;
    int *shape_ranks;
    int64_t (*shape_dims)[KILN_MAX_RANK];
} run_args;

static void free_args(run_args *a)
{
    for (int i = 0; i < a->n_inputs; i++)
        free(a->input_names[i]);
    for (int i = 0; i < a->n_shapes; i++)
        free(a->shape_names[i]);
    free(a->input_names);
    free(a->input_files);
    free(a->shape_names);
    free(a->shape_ranks);
    free(a->shape_dims);
}

static int parse_run_args(int argc, char **argv, run_args *a)
{
    memset(a, 0, sizeof *a);
    a->iterations = 1;
    a->opt_level = 1;
    size_t cap = (size_t)argc;
    a->input_names = calloc(cap, sizeof *a->input_names);
    a->input_files = calloc(cap, sizeof *a->input_files);
    a->shape_names = calloc(cap, sizeof *a->shape_names);
    a->shape_ranks = calloc(cap, sizeof *a->shape_ranks);
    a->shape_dims = calloc(cap, sizeof *a->shape_dims);
    if (!a->input_names || !a->input_files || !a->shape_names || !a->shape_ranks || !a->shape_dims) {
        fprintf(stderr, "kiln run: out of memory\n");
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        const char *rhs;
        if (!strcmp(arg, "--input") && val) {
            if (!cli_split_assign(val, &a->input_names[a->n_inputs], &rhs)) {
                fprintf(stderr, "kiln run: --input takes NAME=FILE.npy, got '%s'\n", val);
                return 0;
            }
            a->input_files[a->n_inputs++] = rhs;
            i++;
        } else if (!strcmp(arg, "--shape") && val) {
            if (!cli_split_assign(val, &a->shape_names[a->n_shapes], &rhs) ||
                !cli_parse_shape(rhs, &a->shape_ranks[a->n_shapes], a->shape_dims[a->n_shapes])) {
                fprintf(stderr, "kiln run: --shape takes NAME=DIMS such as input=1x3x224x224, got '%s'\n", val);
                if (a->shape_names[a->n_shapes])
                    a->n_shapes++;
                return 0;
            }
            a->n_shapes++;
            i++;
        } else if (!strcmp(arg, "--output-dir") && val) {
            a->out_dir = val;
            i++;
        } else if (!strcmp(arg, "--iterations") && val) {
            char *end;
            long v = strtol(val, &end, 10);
            if (*end || v < 1 || v > 1000000) {
                fprintf(stderr, "kiln run: --iterations takes a number from 1 to 1000000, got '%s'\n", val);
                return 0;
            }
            a->iterations = (int)v;
            i++;
        } else if (!strcmp(arg, "--optimization-level") && val) {
            if (strcmp(val, "0") && strcmp(val, "1")) {
                fprintf(stderr, "kiln run: --optimization-level takes 0 or 1, got '%s'\n", val);
                return 0;
            }
            a->opt_level = val[0] - '0';
            i++;
        } else if (!strcmp(arg, "--seed") && val) {
            char *end;
            a->seed = strtoull(val, &end, 10);
            if (*end) {
                fprintf(stderr, "kiln run: --seed takes a number, got '%s'\n", val);
                return 0;
            }
            i++;
        } else if (arg[0] != '-' && !a->model) {
            a->model = arg;
        } else {
            fprintf(stderr, "kiln run: unexpected argument '%s'%s\n", arg,
                    val || arg[0] != '-' ? "" : " (missing its value)");
            return 0;
        }
    }
    if (!a->model) {
        fprintf(stderr, "kiln run: no MODEL given\n");
        return 0;
    }
    return 1;
}

/* xorshift64*: deterministic inputs without depending on libc's rand */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* Floats uniform in [-1, 1); integers in [0, 4) (valid ids and masks for
 * most models); bool 0/1. */
static void fill_random(kiln_tensor *t, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    int64_t n = kiln_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = next_random(&s);
        if (kiln_dtype_is_float(t->dtype))
            kiln_store_f64(t->data, t->dtype, (size_t)i, (double)(r >> 11) / 9007199254740992.0 * 2.0 - 1.0);
        else if (t->dtype == KILN_BOOL)
            kiln_store_i64(t->data, t->dtype, (size_t)i, (int64_t)(r >> 63));
        else
            kiln_store_i64(t->data, t->dtype, (size_t)i, (int64_t)(r >> 62));
    }
}

static int find_name(char **names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name))
            return i;
    return -1;
}

static int prepare_inputs(const run_args *a, kiln_engine *engine, kiln_tensor *tensors, int n_in)
{
    for (int k = 0; k < a->n_inputs; k++) {
        int found = 0;
        for (int i = 0; i < n_in; i++) {
            kiln_io_info info;
            kiln_engine_io(engine, 0, i, &info);
            found |= !strcmp(info.name, a->input_names[k]);
        }
        if (!found) {
            fprintf(stderr, "kiln run: --input %s: the model has no input of that name\n", a->input_names[k]);
            return CLI_EXIT_FAIL;
        }
    }
    for (int i = 0; i < n_in; i++) {
        kiln_io_info info;
        kiln_engine_io(engine, 0, i, &info);
        int f = find_name(a->input_names, a->n_inputs, info.name);
        if (f >= 0) {
            if (kiln_npy_read(a->input_files[f], KILN_DEFAULT_MAX_TENSOR_BYTES, &tensors[i]) != KILN_OK)
                return cli_fail(info.name);
            continue;
        }
        int64_t dims[KILN_MAX_RANK];
        int rank = info.rank < 0 ? 0 : info.rank;
        int s = find_name(a->shape_names, a->n_shapes, info.name);
        if (s >= 0) {
            /* an engine file keeps its own shapes: --shape picks the random input's */
            rank = a->shape_ranks[s];
            memcpy(info.dims, a->shape_dims[s], sizeof(int64_t) * (size_t)rank);
        }
        for (int d = 0; d < rank; d++) {
            dims[d] = info.dims[d];
            if (dims[d] < 0) {
                fprintf(stderr, "kiln run: note: input '%s' dim %d (%s) set to 1; use --shape %s=... to choose\n",
                        info.name, d, info.dim_names[d] ? info.dim_names[d] : "unknown", info.name);
                dims[d] = 1;
            }
        }
        kiln_tensor_set_shape(&tensors[i], info.dtype == KILN_UNDEFINED ? KILN_FLOAT32 : info.dtype, rank, dims);
        if (kiln_tensor_alloc(&tensors[i], KILN_DEFAULT_MAX_TENSOR_BYTES, info.name) != KILN_OK)
            return cli_fail("random input");
        fill_random(&tensors[i], a->seed + (uint64_t)i);
    }
    return 0;
}

static int write_outputs(const char *dir, kiln_context *ctx, int n_out)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
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

static int run_model(const run_args *a)
{
    double t0 = cli_now_ms();
    kiln_network *net = NULL;
    kiln_builder_config *cfg = NULL;
    kiln_engine *engine = NULL;
    kiln_context *ctx = NULL;
    kiln_tensor *tensors = NULL;
    int rc = 0, n_in = 0, n_out = 0;
    double t_load = 0, t_build = 0, best = 1e300, total = 0;
    if (kiln_is_engine_file(a->model)) {
        if (kiln_engine_load(a->model, &engine) != KILN_OK)
            return cli_fail(a->model);
        t_load = cli_now_ms() - t0;
    } else {
        if (kiln_network_from_file(a->model, &net) != KILN_OK)
            return cli_fail(a->model);
        t_load = cli_now_ms() - t0;
        if (kiln_builder_config_create(&cfg) != KILN_OK ||
            kiln_builder_config_set_optimization_level(cfg, a->opt_level) != KILN_OK)
            rc = cli_fail("config");
        for (int s = 0; !rc && s < a->n_shapes; s++)
            if (kiln_builder_config_set_input_shape(cfg, a->shape_names[s], a->shape_ranks[s], a->shape_dims[s]) !=
                KILN_OK)
                rc = cli_fail("--shape");
        double t1 = cli_now_ms();
        if (!rc && kiln_engine_build(net, cfg, &engine) != KILN_OK)
            rc = cli_fail(a->model);
        t_build = cli_now_ms() - t1;
    }
    if (!rc && kiln_context_create(engine, &ctx) != KILN_OK)
        rc = cli_fail("context");
    if (!rc) {
        kiln_engine_num_io(engine, 0, &n_in);
        kiln_engine_num_io(engine, 1, &n_out);
        tensors = calloc((size_t)n_in + 1, sizeof *tensors);
        rc = tensors ? prepare_inputs(a, engine, tensors, n_in) : cli_fail("inputs");
    }
    for (int i = 0; !rc && i < n_in; i++) {
        kiln_io_info info;
        kiln_engine_io(engine, 0, i, &info);
        if (kiln_context_set_input(ctx, info.name, tensors[i].dtype, tensors[i].rank, tensors[i].dims,
                                   tensors[i].data, tensors[i].nbytes) != KILN_OK)
            rc = cli_fail(info.name);
    }
    for (int it = 0; !rc && it < a->iterations; it++) {
        double s = cli_now_ms();
        if (kiln_context_run(ctx) != KILN_OK)
            rc = cli_fail(a->model);
        double dt = cli_now_ms() - s;
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
    for (int i = 0; tensors && i < n_in; i++)
        kiln_tensor_clear(&tensors[i]);
    free(tensors);
    kiln_context_free(ctx);
    kiln_engine_free(engine);
    kiln_builder_config_free(cfg);
    kiln_network_free(net);
    return rc;
}

int cmd_run(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage_run(stdout);
            return 0;
        }
    run_args a;
    if (!parse_run_args(argc, argv, &a)) {
        free_args(&a);
        return CLI_EXIT_USAGE;
    }
    int rc = run_model(&a);
    free_args(&a);
    return rc;
}
