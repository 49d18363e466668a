/*
 * node_test_runner.c - runs the ONNX backend node tests (folders of
 * model.onnx + test_data_set_N/{input,output}_K.pb, written by
 * gen_node_tests.py) through kiln's C API and compares every output with the
 * expected one (|got - want| <= atol + rtol * |want|, NaN where NaN is
 * expected; integers exactly).
 *
 * Each test ends as passed, failed (wrong result, or an error that is not
 * "unsupported") or unsupported (an op, dtype, attribute or input type kiln
 * does not implement, reported as KILN_ERR_UNSUPPORTED). Prints one line per
 * failing test (every test with -v), a per-op table with --by-op, and the
 * totals. --min-pass-rate and --max-failed turn the counts into an exit code.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/dtype.h"
#include "kiln.h"
#include "onnx/onnx_import.h"

enum { PASS, FAIL, UNSUPPORTED };

typedef struct options {
    const char *dir;
    const char *filter;
    int verbose;
    int by_op;
    double min_pass_rate;
    int max_failed;
    const char *known_failures; /* file: one test name per line, '#' comments */
} options;

typedef struct op_count {
    char op[64];
    int n[3];
} op_count;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int classify(kiln_status st) { return st == KILN_ERR_UNSUPPORTED ? UNSUPPORTED : FAIL; }

static void read_tolerance(const char *test_dir, double *rtol, double *atol)
{
    char p[4096];
    *rtol = 1e-3;
    *atol = 1e-7;
    snprintf(p, sizeof p, "%s/tolerance.txt", test_dir);
    FILE *f = fopen(p, "r");
    if (f) {
        if (fscanf(f, "%lf %lf", rtol, atol) != 2) {
            *rtol = 1e-3;
            *atol = 1e-7;
        }
        fclose(f);
    }
}

/* Compares one output; writes a reason into why on mismatch. */
static int compare(const kiln_tensor_view *got, const kiln_tensor *want, double rtol, double atol, char *why,
                   size_t len)
{
    if (got->dtype != want->dtype) {
        snprintf(why, len, "output '%s' dtype %s, expected %s", got->name, kiln_dtype_name(got->dtype),
                 kiln_dtype_name(want->dtype));
        return 0;
    }
    if (got->rank != want->rank || memcmp(got->dims, want->dims, sizeof(int64_t) * (size_t)want->rank) != 0) {
        char a[128], b[128];
        snprintf(why, len, "output '%s' shape %s, expected %s", got->name,
                 kiln_shape_str(got->dims, got->rank, a, sizeof a),
                 kiln_shape_str(want->dims, want->rank, b, sizeof b));
        return 0;
    }
    int64_t n = kiln_tensor_numel(want);
    int is_float = kiln_dtype_is_float(want->dtype);
    /* Expected bfloat16 outputs come from references that round after every
     * step; kiln computes in float32 and rounds once, so allow two bfloat16
     * ulps (2^-7 relative) rather than demand the same rounding path. */
    if (want->dtype == KILN_BFLOAT16 && rtol < 1.0 / 128)
        rtol = 1.0 / 128;
    for (int64_t i = 0; i < n; i++) {
        int ok;
        if (is_float) {
            double g = kiln_load_f64(got->data, got->dtype, (size_t)i);
            double w = kiln_load_f64(want->data, want->dtype, (size_t)i);
            if (isnan(w))
                ok = isnan(g);
            else if (isinf(w))
                ok = g == w;
            else
                ok = fabs(g - w) <= atol + rtol * fabs(w);
            if (!ok) {
                snprintf(why, len, "output '%s' element %lld: got %.9g, expected %.9g", got->name, (long long)i, g,
                         w);
                return 0;
            }
        } else {
            uint64_t g = kiln_load_u64(got->data, got->dtype, (size_t)i);
            uint64_t w = kiln_load_u64(want->data, want->dtype, (size_t)i);
            if (g != w) {
                snprintf(why, len, "output '%s' element %lld: got %lld, expected %lld", got->name, (long long)i,
                         (long long)g, (long long)w);
                return 0;
            }
        }
    }
    return 1;
}

static int run_data_set(kiln_engine *engine, const char *ds, int n_in, int n_out, double rtol, double atol,
                        char *why, size_t len)
{
    char p[4096];
    int result = PASS;
    kiln_context *ctx = NULL;
    kiln_tensor *inputs = calloc((size_t)n_in + 1, sizeof *inputs);
    kiln_status st = kiln_context_create(engine, &ctx);
    if (st != KILN_OK || !inputs) {
        snprintf(why, len, "context: %s", kiln_last_error());
        free(inputs);
        return FAIL;
    }
    for (int i = 0; i < n_in && result == PASS; i++) {
        kiln_io_info info;
        kiln_engine_io(engine, 0, i, &info);
        snprintf(p, sizeof p, "%s/input_%d.pb", ds, i);
        if (!file_exists(p))
            continue;
        st = kiln_onnx_load_tensor_file(p, &inputs[i], NULL);
        if (st == KILN_OK)
            st = kiln_context_set_input(ctx, info.name, inputs[i].dtype, inputs[i].rank, inputs[i].dims,
                                        inputs[i].data, inputs[i].nbytes);
        if (st != KILN_OK) {
            snprintf(why, len, "input %d: %s", i, kiln_last_error());
            result = classify(st);
        }
    }
    if (result == PASS) {
        st = kiln_context_run(ctx);
        if (st != KILN_OK) {
            snprintf(why, len, "run: %s", kiln_last_error());
            result = classify(st);
        }
    }
    for (int i = 0; i < n_out && result == PASS; i++) {
        kiln_tensor want = {0};
        kiln_tensor_view got;
        snprintf(p, sizeof p, "%s/output_%d.pb", ds, i);
        st = kiln_onnx_load_tensor_file(p, &want, NULL);
        if (st != KILN_OK) {
            snprintf(why, len, "expected output %d: %s", i, kiln_last_error());
            result = classify(st);
        } else if (kiln_context_output(ctx, NULL, i, &got) != KILN_OK) {
            snprintf(why, len, "output %d: %s", i, kiln_last_error());
            result = FAIL;
        } else if (!compare(&got, &want, rtol, atol, why, len)) {
            result = FAIL;
        }
        kiln_tensor_clear(&want);
    }
    for (int i = 0; i < n_in; i++)
        kiln_tensor_clear(&inputs[i]);
    free(inputs);
    kiln_context_free(ctx);
    return result;
}

static int run_test(const char *test_dir, char *op, size_t op_len, char *why, size_t len)
{
    char p[4096];
    double rtol, atol;
    kiln_network *net = NULL;
    kiln_engine *engine = NULL;
    snprintf(op, op_len, "?");
    read_tolerance(test_dir, &rtol, &atol);
    snprintf(p, sizeof p, "%s/model.onnx", test_dir);
    kiln_status st = kiln_network_from_file(p, &net);
    if (st != KILN_OK) {
        snprintf(why, len, "load: %s", kiln_last_error());
        return classify(st);
    }
    st = kiln_engine_build(net, NULL, &engine);
    if (st != KILN_OK) {
        snprintf(why, len, "build: %s", kiln_last_error());
        kiln_network_free(net);
        return classify(st);
    }
    int n_in = 0, n_out = 0, result = PASS;
    kiln_engine_num_io(engine, 0, &n_in);
    kiln_engine_num_io(engine, 1, &n_out);
    for (int k = 0; result == PASS; k++) {
        snprintf(p, sizeof p, "%s/test_data_set_%d", test_dir, k);
        if (!is_dir(p))
            break;
        result = run_data_set(engine, p, n_in, n_out, rtol, atol, why, len);
    }
    kiln_engine_free(engine);
    kiln_network_free(net);
    return result;
}

/* The op a test is about: the name up to the first known suffix is not
 * reliable, so use the folder name's first component after "test_". */
static void test_op(const char *name, char *op, size_t len)
{
    const char *s = strncmp(name, "test_", 5) == 0 ? name + 5 : name;
    size_t i = 0;
    while (s[i] && s[i] != '_' && i + 1 < len) {
        op[i] = s[i];
        i++;
    }
    op[i] = '\0';
}

static op_count *count_for(op_count **ops, int *n_ops, const char *op)
{
    for (int i = 0; i < *n_ops; i++)
        if (strcmp((*ops)[i].op, op) == 0)
            return &(*ops)[i];
    op_count *grown = realloc(*ops, sizeof *grown * (size_t)(*n_ops + 1));
    if (!grown)
        return NULL;
    *ops = grown;
    memset(&grown[*n_ops], 0, sizeof grown[0]);
    snprintf(grown[*n_ops].op, sizeof grown[0].op, "%s", op);
    return &grown[(*n_ops)++];
}

/* Reads the known-failures list; returns the number of names. */
static int read_known(const char *path, char ***names)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int n = 0;
    *names = NULL;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        char *end = line + strcspn(line, " \t\r\n#");
        *end = '\0';
        if (!line[0])
            continue;
        char **grown = realloc(*names, sizeof *grown * (size_t)(n + 1));
        if (!grown)
            break;
        *names = grown;
        grown[n++] = strdup(line);
    }
    fclose(f);
    return n;
}

static int listed(char **names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->max_failed = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0)
            o->verbose = 1;
        else if (strcmp(argv[i], "--by-op") == 0)
            o->by_op = 1;
        else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
            o->filter = argv[++i];
        else if (strcmp(argv[i], "--min-pass-rate") == 0 && i + 1 < argc)
            o->min_pass_rate = atof(argv[++i]);
        else if (strcmp(argv[i], "--max-failed") == 0 && i + 1 < argc)
            o->max_failed = atoi(argv[++i]);
        else if (strcmp(argv[i], "--known-failures") == 0 && i + 1 < argc)
            o->known_failures = argv[++i];
        else if (argv[i][0] != '-' && !o->dir)
            o->dir = argv[i];
        else
            return 0;
    }
    return o->dir != NULL;
}

int main(int argc, char **argv)
{
    options o;
    if (!parse_args(argc, argv, &o)) {
        fprintf(stderr, "usage: kiln_node_tests DIR [--filter SUBSTRING] [-v] [--by-op] [--min-pass-rate R] "
                        "[--max-failed N] [--known-failures FILE]\n");
        return 2;
    }
    DIR *d = opendir(o.dir);
    if (!d) {
        fprintf(stderr, "kiln_node_tests: cannot open %s\n", o.dir);
        return 2;
    }
    char **names = NULL;
    int n_names = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || (o.filter && !strstr(e->d_name, o.filter)))
            continue;
        char **grown = realloc(names, sizeof *grown * (size_t)(n_names + 1));
        if (!grown)
            break;
        names = grown;
        names[n_names++] = strdup(e->d_name);
    }
    closedir(d);
    if (n_names)
        qsort(names, (size_t)n_names, sizeof *names, cmp_str);
    char **known = NULL;
    int n_known = 0, unexpected = 0, fixed = 0;
    if (o.known_failures && (n_known = read_known(o.known_failures, &known)) < 0) {
        fprintf(stderr, "kiln_node_tests: cannot read %s\n", o.known_failures);
        return 2;
    }
    int count[3] = {0, 0, 0};
    op_count *ops = NULL;
    int n_ops = 0;
    static const char *const label[3] = {"PASS", "FAIL", "UNSUPPORTED"};
    for (int i = 0; i < n_names; i++) {
        char path[4096], why[1024] = "", op[64];
        snprintf(path, sizeof path, "%s/%s", o.dir, names[i]);
        if (!is_dir(path))
            continue;
        int r = run_test(path, op, sizeof op, why, sizeof why);
        count[r]++;
        test_op(names[i], op, sizeof op);
        op_count *c = count_for(&ops, &n_ops, op);
        if (c)
            c->n[r]++;
        int is_known = listed(known, n_known, names[i]);
        if (r == FAIL && o.known_failures && !is_known)
            unexpected++;
        if (r == PASS && is_known) {
            fixed++;
            printf("FIXED       %s: listed in %s but passes now; remove it from the list\n", names[i],
                   o.known_failures);
        }
        if (o.verbose || r == FAIL)
            printf("%-11s %s%s%s%s\n", label[r], names[i], is_known && r == FAIL ? " (known)" : "",
                   why[0] ? ": " : "", why);
        fflush(stdout);
    }
    if (o.by_op)
        for (int i = 0; i < n_ops; i++)
            printf("op %-28s passed %3d  failed %3d  unsupported %3d\n", ops[i].op, ops[i].n[PASS], ops[i].n[FAIL],
                   ops[i].n[UNSUPPORTED]);
    int total = count[PASS] + count[FAIL] + count[UNSUPPORTED];
    double rate = total ? (double)count[PASS] / total : 0;
    printf("conformance: %d node tests: %d passed, %d failed, %d unsupported (%.1f%% passed)\n", total, count[PASS],
           count[FAIL], count[UNSUPPORTED], 100 * rate);
    for (int i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    free(ops);
    for (int i = 0; i < n_known; i++)
        free(known[i]);
    free(known);
    if (unexpected || fixed) {
        printf("conformance: %d failures not in the known-failures list, %d listed tests that now pass\n", unexpected,
               fixed);
        return 1;
    }
    if (rate < o.min_pass_rate) {
        printf("conformance: pass rate %.1f%% is below the required %.1f%%\n", 100 * rate, 100 * o.min_pass_rate);
        return 1;
    }
    if (o.max_failed >= 0 && count[FAIL] > o.max_failed) {
        printf("conformance: %d tests failed; at most %d may\n", count[FAIL], o.max_failed);
        return 1;
    }
    return 0;
}
