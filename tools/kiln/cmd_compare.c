/*
 * cmd_compare.c - `kiln compare MODEL_OR_ENGINE`: run the built engine and
 * kiln's unoptimized reference (the ONNX model built at optimization level
 * 0) on the same inputs and report, per output, the max absolute and
 * relative errors, the relative L2 error and pass/fail against atol/rtol.
 * With --per-layer every intermediate tensor both runs keep (same value
 * name) is compared too, in the engine's execution order, and the first
 * layer whose output diverges is named. A channels-last tensor the layout
 * pass made ("X.nhwc__K", [N, H, W, C]) is compared with the reference's X
 * ([N, C, H, W]) in its order.
 *
 * --per-layer runs the engine twice: once to learn its value names, so that
 * the reference run keeps only the tensors the engine also has, then again
 * to compare each layer's outputs as they are produced.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/dtype.h"
#include "core/tensor.h"

void usage_compare(FILE *f)
{
    fprintf(f, "usage: kiln compare MODEL_OR_ENGINE [--reference MODEL.onnx] [--input NAME=FILE.npy]...\n"
               "                    [--shape NAME=DIMS]... [--layout L] [--atol A] [--rtol R] [--per-layer] [--seed N]\n\n"
               "Runs the engine (MODEL built with every optimization, or an engine file from `kiln build`) and\n"
               "kiln's reference (the ONNX model built as imported, optimization level 0) on the same inputs,\n"
               "and prints per output the max absolute error, the max relative error, the relative L2 error\n"
               "||engine - reference|| / ||reference|| and PASS or FAIL. An element passes when\n"
               "|engine - reference| <= atol + rtol * |reference|; NaN matches only NaN; integer and bool\n"
               "outputs must match exactly. Exit status: 0 all pass, 1 a mismatch or an error, 2 bad usage.\n\n"
               "options:\n"
               "  --reference MODEL.onnx the reference model (required for an engine file; default: MODEL\n"
               "                         itself). It must have the engine's input and output names\n"
               "  --input NAME=FILE.npy  feed input NAME from a .npy file to both runs\n"
               "  --layout L             auto (default), nchw or nhwc: the layout MODEL is built in, as for\n"
               "                         `kiln build` (the reference always keeps the model's own)\n"
               "  --shape NAME=DIMS      shape for input NAME, such as 1x3x224x224; fixes symbolic dims.\n"
               "                         Inputs without --input get deterministic random data of this shape\n"
               "                         (symbolic dims not given default to 1, with a note)\n"
               "  --atol A               absolute tolerance (default 1e-5)\n"
               "  --rtol R               relative tolerance (default 1e-4)\n"
               "  --per-layer            also compare every intermediate tensor that both runs keep (same\n"
               "                         value name), print a table of the engine's layers in execution order\n"
               "                         and name the first layer whose output diverges; any diverging tensor\n"
               "                         then fails the comparison. Skipped: tensors fused away, and outputs of\n"
               "                         layers rewritten in place (same layer name, other op or inputs, as a\n"
               "                         fusion or a folded BatchNormalization leaves them). A channels-last\n"
               "                         tensor (NAME.nhwc__K) is compared with the reference's NAME\n"
               "  --seed N               seed of the random inputs (default 0)\n"
               "  --help                 this text\n");
}

typedef struct compare_args {
    const char *model;
    const char *reference;
    double atol, rtol;
    int per_layer;
    cli_inputs inputs;
} compare_args;

/* The errors of one engine tensor against its reference. */
typedef struct tensor_diff {
    double max_abs, max_rel, rel_l2;
    double sum_d2, sum_b2;
    int inf_diff;            /* some |a - b| is infinite */
    int64_t n, n_bad, n_nan; /* elements, elements over the tolerance, NaN on one side only */
    char problem[160]; /* non-empty: dtype or shape differ, not compared elementwise */
} tensor_diff;

static int diff_ok(const tensor_diff *d)
{
    return !d->problem[0] && d->n_bad == 0;
}

/* ---- arguments ---------------------------------------------------------- */

static int parse_tolerance(const char *flag, const char *val, double *out)
{
    char *end;
    double v = strtod(val, &end);
    if (!*val || *end || !(v >= 0) || !isfinite(v)) {
        fprintf(stderr, "kiln compare: %s takes a number >= 0, got '%s'\n", flag, val);
        return -1;
    }
    *out = v;
    return CLI_FLAG_VALUE;
}

/* One flag of compare's own (cli_flag_fn): CLI_FLAG_VALUE or CLI_FLAG_SWITCH
 * taken, 0 not ours, -1 malformed. */
static int parse_compare_flag(void *args, const char *arg, const char *val)
{
    compare_args *a = args;
    if (!strcmp(arg, "--per-layer")) {
        a->per_layer = 1;
        return CLI_FLAG_SWITCH;
    }
    if (!val)
        return 0;
    if (!strcmp(arg, "--atol"))
        return parse_tolerance(arg, val, &a->atol);
    if (!strcmp(arg, "--rtol"))
        return parse_tolerance(arg, val, &a->rtol);
    if (!strcmp(arg, "--reference")) {
        a->reference = val;
        return CLI_FLAG_VALUE;
    }
    return 0;
}

static int check_models(const compare_args *a)
{
    if (kiln_is_engine_file(a->model) && !a->reference) {
        fprintf(stderr, "kiln compare: %s is an engine file: give the ONNX model it was built from with "
                        "--reference MODEL.onnx\n", a->model);
        return 0;
    }
    if (a->reference && kiln_is_engine_file(a->reference)) {
        fprintf(stderr, "kiln compare: --reference takes an ONNX model, and %s is an engine file\n", a->reference);
        return 0;
    }
    return 1;
}

static int parse_compare_args(int argc, char **argv, compare_args *a)
{
    memset(a, 0, sizeof *a);
    a->atol = 1e-5;
    a->rtol = 1e-4;
    return cli_parse_args(argc, argv, "compare", &a->inputs, &a->model, parse_compare_flag, a) && check_models(a);
}

/* ---- tensor differences ------------------------------------------------- */

static void view_shape(const kiln_tensor_view *v, char *buf, size_t len)
{
    kiln_shape_str(v->dims, v->rank, buf, len);
    if (v->rank == 0)
        snprintf(buf, len, "scalar");
}

/* Fills d->problem when a and b are not elementwise comparable. */
static int check_comparable(const kiln_tensor_view *a, const kiln_tensor_view *b, tensor_diff *d)
{
    char sa[96], sb[96];
    if (a->dtype != b->dtype) {
        snprintf(d->problem, sizeof d->problem, "dtype %s, reference %s", kiln_dtype_name(a->dtype),
                 kiln_dtype_name(b->dtype));
        return 0;
    }
    int same = a->rank == b->rank;
    for (int k = 0; same && k < a->rank; k++)
        same = a->dims[k] == b->dims[k];
    if (!same) {
        view_shape(a, sa, sizeof sa);
        view_shape(b, sb, sizeof sb);
        snprintf(d->problem, sizeof d->problem, "shape %s, reference %s", sa, sb);
        return 0;
    }
    if (kiln_dtype_size(a->dtype) == 0) {
        snprintf(d->problem, sizeof d->problem, "%s tensors cannot be compared", kiln_dtype_name(a->dtype));
        return 0;
    }
    return 1;
}

/* Accounts one element pair: x from the engine, y from the reference. */
static void diff_element(tensor_diff *d, double x, double y, int bad)
{
    double err = x == y ? 0.0 : fabs(x - y);
    double rel = err == 0.0 ? 0.0 : err / fabs(y);
    d->n_bad += bad;
    d->max_abs = fmax(d->max_abs, err);
    d->max_rel = fmax(d->max_rel, rel);
    if (isinf(err))
        d->inf_diff = 1;
    else
        d->sum_d2 += err * err;
    if (isfinite(y))
        d->sum_b2 += y * y;
}

/* Float pair: NaN matches only NaN, an infinity only itself. */
static void diff_float(tensor_diff *d, double x, double y, double atol, double rtol)
{
    if (isnan(x) || isnan(y)) {
        int one_side = !(isnan(x) && isnan(y));
        d->n_bad += one_side;
        d->n_nan += one_side;
        return;
    }
    int bad = isinf(x) || isinf(y) ? x != y : !(fabs(x - y) <= atol + rtol * fabs(y));
    diff_element(d, x, y, bad);
}

static void finish_diff(tensor_diff *d)
{
    if (d->n_nan)
        d->max_abs = d->max_rel = d->rel_l2 = NAN; /* undefined where one side is NaN */
    else if (d->inf_diff)
        d->rel_l2 = INFINITY;
    else if (d->sum_b2 > 0)
        d->rel_l2 = sqrt(d->sum_d2) / sqrt(d->sum_b2);
    else
        d->rel_l2 = d->sum_d2 > 0 ? INFINITY : 0.0;
}

static void diff_views(const kiln_tensor_view *a, const kiln_tensor_view *b, double atol, double rtol,
                       tensor_diff *d)
{
    memset(d, 0, sizeof *d);
    if (!check_comparable(a, b, d))
        return;
    size_t esize = kiln_dtype_size(a->dtype);
    d->n = (int64_t)(a->nbytes < b->nbytes ? a->nbytes : b->nbytes) / (int64_t)esize;
    int is_float = kiln_dtype_is_float(a->dtype);
    for (int64_t i = 0; i < d->n; i++) {
        size_t k = (size_t)i;
        double x = kiln_load_f64(a->data, a->dtype, k), y = kiln_load_f64(b->data, b->dtype, k);
        if (is_float)
            diff_float(d, x, y, atol, rtol);
        else
            diff_element(d, x, y, kiln_load_i64(a->data, a->dtype, k) != kiln_load_i64(b->data, b->dtype, k));
    }
    finish_diff(d);
}

/* "max abs 1.2e-07  max rel 3.4e-06  rel L2 5.6e-08" or the problem. */
static const char *diff_str(const tensor_diff *d, char *buf, size_t len)
{
    if (d->problem[0])
        snprintf(buf, len, "%s", d->problem);
    else
        snprintf(buf, len, "max abs %.3g  max rel %.3g  rel L2 %.3g", d->max_abs, d->max_rel, d->rel_l2);
    return buf;
}

/* ---- per-layer comparison ----------------------------------------------- */

/* A reference tensor and the layer that produced it. */
typedef struct kept_tensor {
    char *name, *layer, *op, *domain;
    int n_inputs;
    kiln_tensor t;
} kept_tensor;

typedef struct first_failure {
    int layer;
    char *layer_name, *op, *output;
    tensor_diff diff;
} first_failure;

typedef struct layer_state {
    const compare_args *args;
    char **names; /* the engine's layer output names, sorted after the first engine run */
    int n_names, cap_names;
    kept_tensor *kept; /* the reference's tensors of those names, sorted after the reference run */
    int n_kept, cap_kept;
    int layer, n_compared, n_skipped, n_rewritten, n_failed;
    int w_layer, w_op, w_output; /* table column widths */
    first_failure first;
    int oom;
} layer_state;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_kept(const void *a, const void *b)
{
    return strcmp(((const kept_tensor *)a)->name, ((const kept_tensor *)b)->name);
}

static int grow(void **p, int *cap, int n, size_t elem)
{
    if (n < *cap)
        return 1;
    int c = *cap ? *cap * 2 : 64;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q)
        return 0;
    *p = q;
    *cap = c;
    return 1;
}

static int widen(int w, const char *s)
{
    int n = (int)strlen(s);
    return n > w && n <= 40 ? n : w;
}

/* First engine run: the names of every layer output. */
/* The reference name of a channels-last tensor "X.nhwc__K" (the layout
 * pass's), into base; 0 for any other name. */
static int twin_base(const char *name, char *base, size_t len)
{
    const char *tag = strstr(name, ".nhwc__");
    if (!tag || !tag[7] || strspn(tag + 7, "0123456789") != strlen(tag + 7) || (size_t)(tag - name) >= len)
        return 0;
    memcpy(base, name, (size_t)(tag - name));
    base[tag - name] = '\0';
    return 1;
}

/* Remembers one engine value name (sorted later for engine_has). */
static int add_name(layer_state *s, const char *name)
{
    if (!grow((void **)&s->names, &s->cap_names, s->n_names, sizeof *s->names) ||
        !(s->names[s->n_names] = strdup(name)))
        return 0;
    s->n_names++;
    return 1;
}

static int record_names(void *user, const kiln_node_info *layer, int n_outputs, const kiln_tensor_view *outputs)
{
    layer_state *s = user;
    s->w_layer = widen(s->w_layer, layer->name ? layer->name : "");
    s->w_op = widen(s->w_op, layer->op_type);
    for (int k = 0; k < n_outputs; k++) {
        char base[512];
        if (!outputs[k].name)
            continue;
        if (!add_name(s, outputs[k].name) || (twin_base(outputs[k].name, base, sizeof base) && !add_name(s, base)))
            return s->oom = 1;
        s->w_output = widen(s->w_output, outputs[k].name);
    }
    return 0;
}

static int engine_has(const layer_state *s, const char *name)
{
    return bsearch(&name, s->names, (size_t)s->n_names, sizeof *s->names, cmp_str) != NULL;
}

static int keep_tensor(kept_tensor *kt, const kiln_node_info *layer, const kiln_tensor_view *v)
{
    kiln_tensor src = {0};
    kiln_tensor_set_shape(&src, v->dtype, v->rank, v->dims);
    src.data = (void *)v->data;
    src.nbytes = v->nbytes;
    memset(kt, 0, sizeof *kt);
    kt->n_inputs = layer->n_inputs;
    kt->name = strdup(v->name);
    kt->layer = strdup(layer->name ? layer->name : "");
    kt->op = strdup(layer->op_type);
    kt->domain = strdup(layer->domain ? layer->domain : "");
    return kt->name && kt->layer && kt->op && kt->domain && kiln_tensor_copy(&kt->t, &src, v->name) == KILN_OK;
}

static void kept_free(kept_tensor *kt)
{
    free(kt->name);
    free(kt->layer);
    free(kt->op);
    free(kt->domain);
    kiln_tensor_clear(&kt->t);
}

/* Reference run: copies of the outputs whose names the engine also has. */
static int keep_reference(void *user, const kiln_node_info *layer, int n_outputs, const kiln_tensor_view *outputs)
{
    layer_state *s = user;
    for (int k = 0; k < n_outputs; k++) {
        const kiln_tensor_view *v = &outputs[k];
        if (!v->name || !v->data || !engine_has(s, v->name))
            continue;
        if (!grow((void **)&s->kept, &s->cap_kept, s->n_kept, sizeof *s->kept))
            return s->oom = 1;
        if (!keep_tensor(&s->kept[s->n_kept], layer, v)) {
            kept_free(&s->kept[s->n_kept]);
            return s->oom = 1;
        }
        s->n_kept++;
    }
    return 0;
}

/* A layer that kept its name but not its op or inputs was rewritten in
 * place (a fusion, a folded BatchNormalization): its output keeps the
 * value name it had, which may no longer name the reference's quantity. */
static int rewritten(const kept_tensor *kt, const kiln_node_info *layer)
{
    const char *name = layer->name ? layer->name : "", *domain = layer->domain ? layer->domain : "";
    return !strcmp(kt->layer, name) &&
           (strcmp(kt->op, layer->op_type) || strcmp(kt->domain, domain) || kt->n_inputs != layer->n_inputs);
}

static const kept_tensor *find_kept(const layer_state *s, const char *name)
{
    kept_tensor key = {.name = (char *)name};
    return bsearch(&key, s->kept, (size_t)s->n_kept, sizeof *s->kept, cmp_kept);
}

static void print_table_header(const layer_state *s)
{
    printf("per-layer comparison (engine layers in execution order):\n");
    printf("  %4s  %-*s  %-*s  %-*s  %10s  %10s  %s\n", "#", s->w_layer, "layer", s->w_op, "op", s->w_output, "output",
           "max abs", "rel L2", "status");
}

static void note_failure(layer_state *s, const kiln_node_info *layer, const char *output, const tensor_diff *d)
{
    s->n_failed++;
    if (s->first.output)
        return;
    s->first.layer = s->layer;
    s->first.layer_name = strdup(layer->name ? layer->name : "");
    s->first.op = strdup(layer->op_type);
    s->first.output = strdup(output);
    s->first.diff = *d;
    if (!s->first.layer_name || !s->first.op || !s->first.output)
        s->oom = 1;
}

/* v ([N, H, W, C]) as [N, C, H, W] in a copy (*copy, to free; NULL and v
 * as it is when its bytes do not match its shape, which the comparison
 * then reports); 0 when out of memory. */
static int to_nchw(const kiln_tensor_view *v, kiln_tensor_view *out, void **copy)
{
    size_t es = kiln_dtype_size(v->dtype);
    int64_t n = v->dims[0], h = v->dims[1], w = v->dims[2], c = v->dims[3];
    *out = *v;
    *copy = NULL;
    if (!es || (size_t)(n * h * w * c) * es != v->nbytes)
        return 1;
    char *dst = malloc(v->nbytes ? v->nbytes : 1);
    const char *src = v->data;
    if (!dst)
        return 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++)
                for (int64_t k = 0; k < c; k++)
                    memcpy(dst + (size_t)(((i * c + k) * h + y) * w + x) * es,
                           src + (size_t)(((i * h + y) * w + x) * c + k) * es, es);
    int64_t dims[4] = {n, c, h, w};
    memcpy(out->dims, dims, sizeof dims);
    out->data = dst;
    *copy = dst;
    return 1;
}

static void compare_output(layer_state *s, const kiln_node_info *layer, const kiln_tensor_view *v)
{
    char base[512];
    const kept_tensor *kt = find_kept(s, v->name);
    int twin = !kt && v->rank == 4 && twin_base(v->name, base, sizeof base) && (kt = find_kept(s, base));
    const char *lname = layer->name ? layer->name : "";
    printf("  %4d  %-*s  %-*s  %-*s  ", s->layer, s->w_layer, lname, s->w_op, layer->op_type, s->w_output, v->name);
    if (!kt) {
        s->n_skipped++;
        printf("%10s  %10s  skip (not in reference)\n", "-", "-");
        return;
    }
    /* a layer moved to channels-last computes what it did unless it also took other inputs */
    if (twin ? !strcmp(kt->layer, lname) && kt->n_inputs != layer->n_inputs : rewritten(kt, layer)) {
        s->n_rewritten++;
        printf("%10s  %10s  skip (rewritten from %s)\n", "-", "-", kt->op);
        return;
    }
    kiln_tensor_view ref = {kt->name, kt->t.dtype, kt->t.rank, {0}, kt->t.data, kt->t.nbytes}, ev = *v;
    memcpy(ref.dims, kt->t.dims, sizeof ref.dims);
    void *copy = NULL;
    if (twin && !to_nchw(v, &ev, &copy)) {
        s->oom = 1;
        return;
    }
    tensor_diff d;
    diff_views(&ev, &ref, s->args->atol, s->args->rtol, &d);
    free(copy);
    s->n_compared++;
    if (d.problem[0])
        printf("%10s  %10s  FAIL (%s)\n", "-", "-", d.problem);
    else
        printf("%10.3g  %10.3g  %s\n", d.max_abs, d.rel_l2, diff_ok(&d) ? "ok" : "FAIL");
    if (!diff_ok(&d))
        note_failure(s, layer, v->name, &d);
}

/* Second engine run: each layer's outputs against the kept reference tensors. */
static int compare_layer(void *user, const kiln_node_info *layer, int n_outputs, const kiln_tensor_view *outputs)
{
    layer_state *s = user;
    for (int k = 0; k < n_outputs; k++)
        if (outputs[k].name && outputs[k].data)
            compare_output(s, layer, &outputs[k]);
    s->layer++;
    return s->oom;
}

static void layer_state_free(layer_state *s)
{
    for (int i = 0; i < s->n_names; i++)
        free(s->names[i]);
    for (int i = 0; i < s->n_kept; i++)
        kept_free(&s->kept[i]);
    free(s->names);
    free(s->kept);
    free(s->first.layer_name);
    free(s->first.op);
    free(s->first.output);
}

static int run_with(kiln_context *ctx, kiln_layer_callback cb, layer_state *s, const char *what)
{
    kiln_context_set_layer_callback(ctx, cb, s);
    kiln_status st = kiln_context_run(ctx);
    kiln_context_set_layer_callback(ctx, NULL, NULL);
    if (s->oom) {
        fprintf(stderr, "kiln compare: out of memory keeping the %s run's tensors\n", what);
        return CLI_EXIT_FAIL;
    }
    return st == KILN_OK ? 0 : cli_fail(what);
}

static void print_layer_summary(const layer_state *s)
{
    char buf[256];
    printf("per-layer: %d layers, %d tensors compared, %d failed, %d skipped (%d not in reference, %d rewritten)\n",
           s->layer, s->n_compared, s->n_failed, s->n_skipped + s->n_rewritten, s->n_skipped, s->n_rewritten);
    if (!s->first.output) {
        printf("per-layer: no layer diverges beyond the tolerances\n");
        return;
    }
    printf("first divergence: layer %d '%s' (%s), output '%s': %s\n", s->first.layer, s->first.layer_name,
           s->first.op, s->first.output, diff_str(&s->first.diff, buf, sizeof buf));
}

/* Engine names, reference tensors of those names, then the compared engine run. */
static int run_per_layer(kiln_context *engine, kiln_context *reference, layer_state *s)
{
    int rc = run_with(engine, record_names, s, "engine");
    if (rc)
        return rc;
    qsort(s->names, (size_t)s->n_names, sizeof *s->names, cmp_str);
    rc = run_with(reference, keep_reference, s, "reference");
    if (rc)
        return rc;
    qsort(s->kept, (size_t)s->n_kept, sizeof *s->kept, cmp_kept);
    print_table_header(s);
    rc = run_with(engine, compare_layer, s, "engine");
    if (!rc)
        print_layer_summary(s);
    return rc;
}

/* ---- outputs ------------------------------------------------------------ */

/* The rest of a FAIL line: how many elements fail, and why. */
static void print_failure(const tensor_diff *d)
{
    if (d->problem[0]) {
        printf("\n");
        return;
    }
    printf(" (%lld of %lld elements over the tolerance", (long long)d->n_bad, (long long)d->n);
    if (d->n_nan)
        printf(", %lld NaN on one side only", (long long)d->n_nan);
    printf(")\n");
}

/* Compares every engine output with the reference output of its name;
 * *n_failed counts the mismatches. */
static int compare_outputs(const compare_args *a, kiln_context *engine, kiln_context *reference, int n_out,
                           int *n_failed)
{
    printf("outputs:\n");
    for (int i = 0; i < n_out; i++) {
        kiln_tensor_view got, want;
        tensor_diff d;
        char shape[96], buf[256];
        if (kiln_context_output(engine, NULL, i, &got) != KILN_OK)
            return cli_fail("engine output");
        if (kiln_context_output(reference, got.name, 0, &want) != KILN_OK)
            return cli_fail("reference output");
        diff_views(&got, &want, a->atol, a->rtol, &d);
        view_shape(&got, shape, sizeof shape);
        printf("  %-24s %-8s %-14s %s  %s", got.name, kiln_dtype_name(got.dtype), shape, diff_str(&d, buf, sizeof buf),
               diff_ok(&d) ? "PASS\n" : "FAIL");
        if (!diff_ok(&d))
            print_failure(&d);
        *n_failed += !diff_ok(&d);
    }
    return 0;
}

/* ---- the command -------------------------------------------------------- */

typedef struct compare_run {
    kiln_engine *engine, *ref_engine;
    kiln_context *ctx, *ref_ctx;
} compare_run;

static int open_both(compare_args *a, compare_run *r)
{
    double t_load, t_build;
    const char *ref = a->reference ? a->reference : a->model;
    int rc = cli_open_engine(a->model, 1, &a->inputs, &r->engine, &t_load, &t_build);
    if (!rc)
        rc = cli_open_engine(ref, 0, &a->inputs, &r->ref_engine, &t_load, &t_build);
    if (!rc && (kiln_context_create(r->engine, &r->ctx) != KILN_OK ||
                kiln_context_create(r->ref_engine, &r->ref_ctx) != KILN_OK))
        rc = cli_fail("context");
    if (!rc)
        rc = cli_inputs_prepare(&a->inputs, "compare", r->engine);
    if (!rc)
        rc = cli_inputs_bind(&a->inputs, r->engine, r->ctx, "engine");
    if (!rc)
        rc = cli_inputs_bind(&a->inputs, r->engine, r->ref_ctx, "reference");
    return rc;
}

static void print_header(const compare_args *a, const compare_run *r)
{
    int n_layers = 0, n_ref = 0;
    kiln_engine_num_layers(r->engine, &n_layers);
    kiln_engine_num_layers(r->ref_engine, &n_ref);
    printf("engine:    %s (%s, %d layers)\n", a->model, kiln_is_engine_file(a->model) ? "engine file" : "optimized",
           n_layers);
    printf("reference: %s (as imported, %d layers)\n", a->reference ? a->reference : a->model, n_ref);
    printf("tolerance: |engine - reference| <= %g + %g * |reference|\n", a->atol, a->rtol);
}

static int run_both(const compare_args *a, compare_run *r, layer_state *layers)
{
    if (a->per_layer)
        return run_per_layer(r->ctx, r->ref_ctx, layers);
    if (kiln_context_run(r->ctx) != KILN_OK)
        return cli_fail("engine");
    if (kiln_context_run(r->ref_ctx) != KILN_OK)
        return cli_fail("reference");
    return 0;
}

static void print_verdict(const layer_state *layers, int n_out, int n_failed)
{
    if (!n_failed && !layers->n_failed) {
        printf("kiln compare: PASS: %d output%s%s within the tolerances\n", n_out, n_out == 1 ? "" : "s",
               layers->args->per_layer ? " and every shared intermediate tensor" : "");
        return;
    }
    printf("kiln compare: FAIL: %d of %d output%s", n_failed, n_out, n_out == 1 ? "" : "s");
    if (layers->args->per_layer)
        printf(" and %d of %d compared layer tensors", layers->n_failed, layers->n_compared);
    printf(" beyond the tolerances\n");
}

static int compare_models(compare_args *a)
{
    compare_run r = {0};
    layer_state layers = {.args = a, .w_layer = 5, .w_op = 2, .w_output = 6};
    int n_out = 0, n_failed = 0;
    int rc = open_both(a, &r);
    if (!rc) {
        print_header(a, &r);
        rc = run_both(a, &r, &layers);
    }
    if (!rc) {
        kiln_engine_num_io(r.engine, 1, &n_out);
        rc = compare_outputs(a, r.ctx, r.ref_ctx, n_out, &n_failed);
    }
    if (!rc) {
        print_verdict(&layers, n_out, n_failed);
        rc = n_failed || layers.n_failed ? CLI_EXIT_FAIL : 0;
    }
    layer_state_free(&layers);
    kiln_context_free(r.ctx);
    kiln_context_free(r.ref_ctx);
    kiln_engine_free(r.engine);
    kiln_engine_free(r.ref_engine);
    return rc;
}

int cmd_compare(int argc, char **argv)
{
    if (cli_help(argc, argv, usage_compare))
        return 0;
    compare_args a;
    int ok = parse_compare_args(argc, argv, &a);
    int rc = ok ? compare_models(&a) : CLI_EXIT_USAGE;
    cli_inputs_free(&a.inputs);
    return rc;
}
