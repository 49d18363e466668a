/*
 * cli_inputs.c - the inputs of a run, shared by the commands that run
 * models: --input NAME=FILE.npy, --shape NAME=DIMS and --seed N, .npy
 * loading, deterministic random data for inputs without a file, and
 * binding the result into a context.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/dtype.h"
#include "core/npy.h"
#include "core/tensor.h"

int cli_inputs_init(cli_inputs *in, int argc)
{
    memset(in, 0, sizeof *in);
    size_t cap = (size_t)(argc > 0 ? argc : 1);
    in->file_names = calloc(cap, sizeof *in->file_names);
    in->files = calloc(cap, sizeof *in->files);
    in->shape_names = calloc(cap, sizeof *in->shape_names);
    in->shape_ranks = calloc(cap, sizeof *in->shape_ranks);
    in->shape_dims = calloc(cap, sizeof *in->shape_dims);
    in->file_data = calloc(cap, sizeof *in->file_data);
    return in->file_names && in->files && in->shape_names && in->shape_ranks && in->shape_dims && in->file_data;
}

void cli_inputs_free(cli_inputs *in)
{
    for (int i = 0; i < in->n_files; i++)
        free(in->file_names[i]);
    for (int i = 0; i < in->n_shapes; i++)
        free(in->shape_names[i]);
    for (int i = 0; in->tensors && i < in->n_tensors; i++)
        kiln_tensor_clear(&in->tensors[i]);
    for (int i = 0; in->file_data && i < in->n_files; i++)
        kiln_tensor_clear(&in->file_data[i]);
    free(in->file_data);
    free(in->file_names);
    free(in->files);
    free(in->shape_names);
    free(in->shape_ranks);
    free(in->shape_dims);
    free(in->tensors);
    memset(in, 0, sizeof *in);
}

static int parse_shape_arg(cli_inputs *in, const char *cmd, const char *val)
{
    const char *rhs;
    if (!cli_split_assign(val, &in->shape_names[in->n_shapes], &rhs) ||
        !cli_parse_shape(rhs, &in->shape_ranks[in->n_shapes], in->shape_dims[in->n_shapes])) {
        fprintf(stderr, "kiln %s: --shape takes NAME=DIMS such as input=1x3x224x224, got '%s'\n", cmd, val);
        if (in->shape_names[in->n_shapes])
            in->n_shapes++;
        return -1;
    }
    in->n_shapes++;
    return 1;
}

int cli_inputs_arg(cli_inputs *in, const char *cmd, const char *arg, const char *val)
{
    const char *rhs;
    if (!val)
        return 0;
    if (!strcmp(arg, "--input")) {
        if (!cli_split_assign(val, &in->file_names[in->n_files], &rhs)) {
            fprintf(stderr, "kiln %s: --input takes NAME=FILE.npy, got '%s'\n", cmd, val);
            return -1;
        }
        in->files[in->n_files++] = rhs;
        return 1;
    }
    if (!strcmp(arg, "--shape"))
        return parse_shape_arg(in, cmd, val);
    if (!strcmp(arg, "--layout"))
        return cli_parse_layout(cmd, val, &in->layout) ? 1 : -1;
    if (!strcmp(arg, "--seed")) {
        char *end;
        in->seed = strtoull(val, &end, 10);
        if (*end || !*val || val[0] == '-') {
            fprintf(stderr, "kiln %s: --seed takes a number, got '%s'\n", cmd, val);
            return -1;
        }
        return 1;
    }
    return 0;
}

int cli_help(int argc, char **argv, void (*usage)(FILE *f))
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 1;
        }
    return 0;
}

int cli_parse_args(int argc, char **argv, const char *cmd, cli_inputs *in, const char **model, cli_flag_fn flag,
                   void *args)
{
    *model = NULL;
    if (!cli_inputs_init(in, argc)) {
        fprintf(stderr, "kiln %s: out of memory\n", cmd);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int taken = cli_inputs_arg(in, cmd, arg, val);
        if (!taken)
            taken = flag(args, arg, val);
        if (taken < 0)
            return 0;
        if (taken == CLI_FLAG_VALUE) {
            i++;
        } else if (taken == CLI_FLAG_SWITCH) {
            continue;
        } else if (arg[0] != '-' && !*model) {
            *model = arg;
        } else {
            fprintf(stderr, "kiln %s: unexpected argument '%s'%s\n", cmd, arg,
                    val || arg[0] != '-' ? "" : " (missing its value)");
            return 0;
        }
    }
    if (!*model) {
        fprintf(stderr, "kiln %s: no MODEL given\n", cmd);
        return 0;
    }
    return 1;
}

int cli_parse_layout(const char *cmd, const char *val, int *layout)
{
    static const char *const names[] = {"auto", "nchw", "nhwc"};
    static const int layouts[] = {KILN_LAYOUT_AUTO, KILN_LAYOUT_NCHW, KILN_LAYOUT_NHWC};
    for (int i = 0; i < 3; i++)
        if (!strcmp(val, names[i])) {
            *layout = layouts[i];
            return 1;
        }
    fprintf(stderr, "kiln %s: --layout takes auto, nchw or nhwc, got '%s'\n", cmd, val);
    return 0;
}

int cli_inputs_configure(const cli_inputs *in, kiln_builder_config *cfg)
{
    if (kiln_builder_config_set_layout(cfg, (kiln_layout)in->layout) != KILN_OK)
        return cli_fail("--layout");
    for (int s = 0; s < in->n_shapes; s++)
        if (kiln_builder_config_set_input_shape(cfg, in->shape_names[s], in->shape_ranks[s], in->shape_dims[s]) !=
            KILN_OK)
            return cli_fail("--shape");
    return 0;
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

static int check_input_names(const cli_inputs *in, const char *cmd, const kiln_engine *engine)
{
    for (int k = 0; k < in->n_files; k++) {
        int found = 0;
        for (int i = 0; i < in->n_tensors; i++) {
            kiln_io_info info;
            kiln_engine_io(engine, 0, i, &info);
            found |= !strcmp(info.name, in->file_names[k]);
        }
        if (!found) {
            fprintf(stderr, "kiln %s: --input %s: the model has no input of that name\n", cmd, in->file_names[k]);
            return CLI_EXIT_FAIL;
        }
    }
    return 0;
}

/* Random data for input info, shaped by --shape or the model (symbolic dims
 * not given become 1, with a note). */
static int random_input(const cli_inputs *in, const char *cmd, kiln_io_info info, uint64_t seed, kiln_tensor *t)
{
    int64_t dims[KILN_MAX_RANK];
    int rank = info.rank < 0 ? 0 : info.rank;
    int s = find_name(in->shape_names, in->n_shapes, info.name);
    if (s >= 0) {
        /* an engine file keeps its own shapes: --shape picks the random input's */
        rank = in->shape_ranks[s];
        memcpy(info.dims, in->shape_dims[s], sizeof(int64_t) * (size_t)rank);
    }
    for (int d = 0; d < rank; d++) {
        dims[d] = info.dims[d];
        if (dims[d] < 0) {
            fprintf(stderr, "kiln %s: note: input '%s' dim %d (%s) set to 1; use --shape %s=... to choose\n", cmd,
                    info.name, d, info.dim_names[d] ? info.dim_names[d] : "unknown", info.name);
            dims[d] = 1;
        }
    }
    kiln_tensor_set_shape(t, info.dtype == KILN_UNDEFINED ? KILN_FLOAT32 : info.dtype, rank, dims);
    if (kiln_tensor_alloc(t, KILN_DEFAULT_MAX_TENSOR_BYTES, info.name) != KILN_OK)
        return cli_fail("random input");
    fill_random(t, seed);
    return 0;
}

/* --input file f, read on first use and kept in in->file_data[f]; 0 or
 * CLI_EXIT_FAIL (message printed, naming input `name`). */
static int load_file(cli_inputs *in, int f, const char *name)
{
    if (in->file_data[f].data)
        return 0;
    return kiln_npy_read(in->files[f], KILN_DEFAULT_MAX_TENSOR_BYTES, &in->file_data[f]) != KILN_OK ? cli_fail(name)
                                                                                                    : 0;
}

int cli_inputs_prepare(cli_inputs *in, const char *cmd, const kiln_engine *engine)
{
    int n_in = 0;
    kiln_engine_num_io(engine, 0, &n_in);
    in->tensors = calloc((size_t)n_in + 1, sizeof *in->tensors);
    if (!in->tensors) {
        fprintf(stderr, "kiln %s: out of memory\n", cmd);
        return CLI_EXIT_FAIL;
    }
    in->n_tensors = n_in;
    int rc = check_input_names(in, cmd, engine);
    for (int i = 0; !rc && i < n_in; i++) {
        kiln_io_info info;
        kiln_engine_io(engine, 0, i, &info);
        int f = find_name(in->file_names, in->n_files, info.name);
        if (f < 0)
            rc = random_input(in, cmd, info, in->seed + (uint64_t)i, &in->tensors[i]);
        else if (!(rc = load_file(in, f, info.name))) {
            in->tensors[i] = in->file_data[f]; /* taken over: read once */
            memset(&in->file_data[f], 0, sizeof in->file_data[f]);
        }
    }
    return rc;
}

int cli_inputs_bind(const cli_inputs *in, const kiln_engine *engine, kiln_context *ctx, const char *what)
{
    for (int i = 0; i < in->n_tensors; i++) {
        kiln_io_info info;
        const kiln_tensor *t = &in->tensors[i];
        kiln_engine_io(engine, 0, i, &info);
        if (kiln_context_set_input(ctx, info.name, t->dtype, t->rank, t->dims, t->data, t->nbytes) != KILN_OK)
            return cli_fail(what);
    }
    return 0;
}

/* Fixes, for the build, the shape of every input of net that --shape does
 * not give: the shape of its --input file, else its own with symbolic dims
 * as 1 (with a note), so that the build plans and tunes for the shapes the
 * run will use. */
static int fix_build_shapes(cli_inputs *in, const kiln_network *net, kiln_builder_config *cfg)
{
    int n_in = 0;
    kiln_network_num_io(net, 0, &n_in);
    for (int i = 0; i < n_in; i++) {
        kiln_io_info info;
        if (kiln_network_io(net, 0, i, &info) != KILN_OK)
            return cli_fail("input");
        if (find_name(in->shape_names, in->n_shapes, info.name) >= 0 || info.rank < 0)
            continue;
        int f = find_name(in->file_names, in->n_files, info.name);
        if (f >= 0) {
            if (load_file(in, f, info.name))
                return CLI_EXIT_FAIL;
            const kiln_tensor *t = &in->file_data[f];
            if (kiln_builder_config_set_input_shape(cfg, info.name, t->rank, t->dims) != KILN_OK)
                return cli_fail(info.name);
            continue;
        }
        int symbolic = 0;
        for (int d = 0; d < info.rank; d++)
            if (info.dims[d] < 0) {
                fprintf(stderr, "kiln: note: input '%s' dim %d (%s) set to 1; use --shape %s=... to choose\n",
                        info.name, d, info.dim_names[d] ? info.dim_names[d] : "unknown", info.name);
                info.dims[d] = 1;
                symbolic = 1;
            }
        if (symbolic && kiln_builder_config_set_input_shape(cfg, info.name, info.rank, info.dims) != KILN_OK)
            return cli_fail(info.name);
    }
    return 0;
}

int cli_open_engine(const char *model, int opt_level, cli_inputs *in, kiln_engine **engine, double *t_load,
                    double *t_build)
{
    double t0 = cli_now_ms();
    kiln_network *net = NULL;
    kiln_builder_config *cfg = NULL;
    int rc = 0;
    *t_build = 0;
    if (kiln_is_engine_file(model)) {
        rc = kiln_engine_load(model, engine) != KILN_OK ? cli_fail(model) : 0;
        *t_load = cli_now_ms() - t0;
        return rc;
    }
    if (kiln_network_from_file(model, &net) != KILN_OK)
        return cli_fail(model);
    *t_load = cli_now_ms() - t0;
    if (kiln_builder_config_create(&cfg) != KILN_OK ||
        kiln_builder_config_set_optimization_level(cfg, opt_level) != KILN_OK)
        rc = cli_fail("config");
    if (!rc)
        rc = cli_inputs_configure(in, cfg);
    if (!rc && opt_level > 0)
        rc = fix_build_shapes(in, net, cfg);
    double t1 = cli_now_ms();
    if (!rc && kiln_engine_build(net, cfg, engine) != KILN_OK)
        rc = cli_fail(model);
    *t_build = cli_now_ms() - t1;
    kiln_builder_config_free(cfg);
    kiln_network_free(net);
    return rc;
}
