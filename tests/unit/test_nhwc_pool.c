/*
 * test_nhwc_pool.c - the channels-last pools of domain "kiln" (NhwcMaxPool,
 * NhwcAveragePool, NhwcGlobalAveragePool, NhwcGlobalMaxPool):
 *  - per case, random never-zero data drawn in NCHW order, a float64
 *    reference computed naively in NCHW indexing (ONNX's rules, written
 *    here independently of kiln's geometry code), the NHWC output poisoned
 *    with NaN before each run and its relative L2 error checked on one
 *    thread and on a pool of three;
 *  - the same data through kiln's NCHW kernel (MaxPool, AveragePool, ...),
 *    which the NHWC kernels must agree with;
 *  - each op's shape inference against the extents computed here, unknown
 *    and symbolic dims, and the inputs it must refuse;
 *  - controls showing that the checks catch a wrong kernel.
 * One summary line per case; the exit code says whether all passed.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_kernels.h"
#include "conv_case.h"
#include "core/thread_pool.h"
#include "ir/graph.h"
#include "ir/op_registry.h"
#include "kiln.h"
#include "test_util.h"

#define TOL 1e-6

typedef enum pool_op { MAX_POOL, AVG_POOL, GLOBAL_AVG, GLOBAL_MAX } pool_op;
static const char *const nhwc_op[] = {"NhwcMaxPool", "NhwcAveragePool", "NhwcGlobalAveragePool", "NhwcGlobalMaxPool"};
static const char *const nchw_op[] = {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"};

typedef struct pool_case {
    const char *what;
    pool_op op;
    int64_t n, h, w, c;
    int64_t kh, kw, sh, sw, dh, dw;
    int64_t pads[4]; /* top, left, bottom, right */
    int ceil_mode, count_include_pad;
    const char *auto_pad; /* NULL: not set */
} pool_case;

/* what, op, N, H, W, C, kernel, strides, dilations, pads, ceil_mode,
 * count_include_pad, auto_pad; global pools use only N, H, W, C */
static const pool_case cases[] = {
    {"max 3x3 s2 pad 1 (ResNet stem)", MAX_POOL, 1, 112, 112, 64, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, 0, 0, NULL},
    {"max 2x2 s2, batch 2, C 13", MAX_POOL, 2, 14, 15, 13, 2, 2, 2, 2, 1, 1, {0, 0, 0, 0}, 0, 0, NULL},
    {"max 3x3 s1 pad 1, C 3", MAX_POOL, 1, 9, 11, 3, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, 0, 0, NULL},
    {"max ceil_mode 3x3 s2, 10x13, C 24", MAX_POOL, 1, 10, 13, 24, 3, 3, 2, 2, 1, 1, {0, 0, 0, 0}, 1, 0, NULL},
    {"max ceil_mode pad 1, 10x12, C 13", MAX_POOL, 2, 10, 12, 13, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, 1, 0, NULL},
    {"max dilation 2 pad 2, C 16", MAX_POOL, 1, 12, 10, 16, 3, 3, 1, 1, 2, 2, {2, 2, 2, 2}, 0, 0, NULL},
    {"max dilation (2, 3) s2, C 5", MAX_POOL, 1, 15, 16, 5, 3, 2, 2, 2, 2, 3, {1, 0, 1, 2}, 0, 0, NULL},
    {"max asymmetric pads 3x2 s(2,1), C 13", MAX_POOL, 2, 8, 7, 13, 3, 2, 2, 1, 1, 1, {0, 1, 2, 0}, 0, 0, NULL},
    {"max 5x5 s2 pad 2 (kernel > stride), C 24", MAX_POOL, 1, 17, 16, 24, 5, 5, 2, 2, 1, 1, {2, 2, 2, 2}, 0, 0, NULL},
    {"max SAME_UPPER 3x3 s2, C 8", MAX_POOL, 1, 11, 12, 8, 3, 3, 2, 2, 1, 1, {0, 0, 0, 0}, 0, 0, "SAME_UPPER"},
    {"avg 3x3 s2 pad 1 cip 0, batch 2, C 13", AVG_POOL, 2, 20, 21, 13, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, 0, 0, NULL},
    {"avg 3x3 s2 pad 1 cip 1, C 64", AVG_POOL, 1, 56, 56, 64, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, 0, 1, NULL},
    {"avg 3x3 s1 pad 1 cip 0, C 24", AVG_POOL, 1, 9, 11, 24, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, 0, 0, NULL},
    {"avg 3x3 s1 pad 1 cip 1, C 3", AVG_POOL, 1, 9, 11, 3, 3, 3, 1, 1, 1, 1, {1, 1, 1, 1}, 0, 1, NULL},
    {"avg 2x2 s2, batch 2, C 24", AVG_POOL, 2, 14, 14, 24, 2, 2, 2, 2, 1, 1, {0, 0, 0, 0}, 0, 0, NULL},
    {"avg ceil_mode pad 1 cip 1, 10x12, C 13", AVG_POOL, 1, 10, 12, 13, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, 1, 1, NULL},
    {"avg ceil_mode pad 1 cip 0, 10x12, C 13", AVG_POOL, 1, 10, 12, 13, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, 1, 0, NULL},
    {"avg ceil_mode unpadded cip 1, 10x13, C 3", AVG_POOL, 2, 10, 13, 3, 3, 3, 2, 2, 1, 1, {0, 0, 0, 0}, 1, 1, NULL},
    {"avg ceil_mode drops a window, cip 1, C 8", AVG_POOL, 1, 5, 8, 8, 3, 3, 3, 3, 1, 1, {0, 0, 2, 1}, 1, 1, NULL},
    {"avg asymmetric pads 3x2 cip 1, C 13", AVG_POOL, 2, 8, 7, 13, 3, 2, 1, 1, 1, 1, {1, 0, 0, 2}, 0, 1, NULL},
    {"avg asymmetric pads 3x2 cip 0, C 13", AVG_POOL, 2, 8, 7, 13, 3, 2, 1, 1, 1, 1, {1, 0, 0, 2}, 0, 0, NULL},
    {"avg 5x5 s2 pad 2 cip 0 (kernel > stride)", AVG_POOL, 1, 17, 16, 24, 5, 5, 2, 2, 1, 1, {2, 2, 2, 2}, 0, 0, NULL},
    {"avg 5x5 s3 pad 2 cip 1 (kernel > stride)", AVG_POOL, 1, 17, 16, 70, 5, 5, 3, 3, 1, 1, {2, 2, 2, 2}, 0, 1, NULL},
    {"avg dilation 2 pad 2 cip 1, C 16", AVG_POOL, 1, 12, 10, 16, 3, 3, 1, 1, 2, 2, {2, 2, 2, 2}, 0, 1, NULL},
    {"avg SAME_LOWER 3x3 s2 cip 0, C 13", AVG_POOL, 1, 11, 12, 13, 3, 3, 2, 2, 1, 1, {0, 0, 0, 0}, 0, 0, "SAME_LOWER"},
    {"global avg 7x7, C 2048", GLOBAL_AVG, 1, 7, 7, 2048, 0, 0, 0, 0, 0, 0, {0, 0, 0, 0}, 0, 0, NULL},
    {"global avg 7x7, batch 2, C 67", GLOBAL_AVG, 2, 7, 7, 67, 0, 0, 0, 0, 0, 0, {0, 0, 0, 0}, 0, 0, NULL},
    {"global avg 1x1, C 13", GLOBAL_AVG, 1, 1, 1, 13, 0, 0, 0, 0, 0, 0, {0, 0, 0, 0}, 0, 0, NULL},
    {"global avg 13x17, batch 2, C 24", GLOBAL_AVG, 2, 13, 17, 24, 0, 0, 0, 0, 0, 0, {0, 0, 0, 0}, 0, 0, NULL},
    {"global max 7x7, C 2048", GLOBAL_MAX, 1, 7, 7, 2048, 0, 0, 0, 0, 0, 0, {0, 0, 0, 0}, 0, 0, NULL},
    {"global max 7x7, batch 2, C 67", GLOBAL_MAX, 2, 7, 7, 67, 0, 0, 0, 0, 0, 0, {0, 0, 0, 0}, 0, 0, NULL},
    {"global max 1x1, C 13", GLOBAL_MAX, 1, 1, 1, 13, 0, 0, 0, 0, 0, 0, {0, 0, 0, 0}, 0, 0, NULL},
    {"global max 13x17, batch 2, C 3", GLOBAL_MAX, 2, 13, 17, 3, 0, 0, 0, 0, 0, 0, {0, 0, 0, 0}, 0, 0, NULL},
};

static int is_global(const pool_case *k)
{
    return k->op == GLOBAL_AVG || k->op == GLOBAL_MAX;
}

/* The output extent and pads of one axis by ONNX's formulas: auto_pad SAME
 * splits the total pad (the extra one at the end for SAME_UPPER), ceil_mode
 * rounds up but drops a last window starting past the begin pad and input. */
static int64_t axis_extent(const pool_case *k, int64_t in, int64_t kern, int64_t s, int64_t d, int64_t *p0, int64_t *p1)
{
    int64_t keff = (kern - 1) * d + 1;
    if (k->auto_pad) {
        int64_t out = (in + s - 1) / s, total = (out - 1) * s + keff - in;
        total = total > 0 ? total : 0;
        *p0 = !strcmp(k->auto_pad, "SAME_UPPER") ? total / 2 : total - total / 2;
        *p1 = total - *p0;
        return out;
    }
    int64_t span = in + *p0 + *p1 - keff;
    int64_t out = (k->ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (k->ceil_mode && (out - 1) * s >= in + *p0)
        out--;
    return out;
}

/* The case's output dims [N, OH, OW, C] and its resolved pads. */
static void case_geometry(const pool_case *k, int64_t *dims, int64_t *pads)
{
    memcpy(pads, k->pads, 4 * sizeof *pads);
    dims[0] = k->n;
    dims[3] = k->c;
    if (is_global(k)) {
        dims[1] = dims[2] = 1;
        return;
    }
    dims[1] = axis_extent(k, k->h, k->kh, k->sh, k->dh, &pads[0], &pads[2]);
    dims[2] = axis_extent(k, k->w, k->kw, k->sw, k->dw, &pads[1], &pads[3]);
}

/* The float64 reference in NHWC order (ref[((n*OH + r)*OW + q)*C + c])
 * from x in NCHW order; count_include_pad given apart so that a control can
 * pair one kernel with another reference. */
static void pool_reference(const pool_case *k, int cip, const float *x, const int64_t *dims, const int64_t *pads,
                           double *ref)
{
    int glob = is_global(k);
    int64_t kh = glob ? k->h : k->kh, kw = glob ? k->w : k->kw;
    int64_t sh = glob ? 1 : k->sh, sw = glob ? 1 : k->sw, dh = glob ? 1 : k->dh, dw = glob ? 1 : k->dw;
    int64_t pt = glob ? 0 : pads[0], pl = glob ? 0 : pads[1], pb = glob ? 0 : pads[2], pr = glob ? 0 : pads[3];
    int max = k->op == MAX_POOL || k->op == GLOBAL_MAX;
    for (int64_t n = 0; n < k->n; n++)
        for (int64_t c = 0; c < k->c; c++)
            for (int64_t r = 0; r < dims[1]; r++)
                for (int64_t q = 0; q < dims[2]; q++) {
                    double best = -INFINITY, sum = 0;
                    int64_t inside = 0, padded = 0;
                    for (int64_t i = 0; i < kh; i++)
                        for (int64_t j = 0; j < kw; j++) {
                            int64_t yi = r * sh - pt + i * dh, xi = q * sw - pl + j * dw;
                            /* windows never start before the begin pads */
                            padded += yi < k->h + pb && xi < k->w + pr;
                            if (yi < 0 || yi >= k->h || xi < 0 || xi >= k->w)
                                continue;
                            double v = x[((n * k->c + c) * k->h + yi) * k->w + xi];
                            inside++;
                            sum += v;
                            best = v > best ? v : best;
                        }
                    int64_t count = cip ? padded : inside;
                    double v = max ? (inside ? best : 0.0) : (count ? sum / (double)count : 0.0);
                    ref[((n * dims[1] + r) * dims[2] + q) * k->c + c] = v;
                }
}

/* A node of op in domain with the case's attributes (none for global
 * pools). Not to be moved once made. */
typedef struct pool_node {
    kiln_attr attrs[7];
    int64_t kernel[2], strides[2], dilations[2], pads[4];
    kiln_node node;
} pool_node;

static void make_pool_node(const pool_case *k, int cip, const char *op, const char *domain, pool_node *pn)
{
    int na = 0;
    memset(pn, 0, sizeof *pn);
    int64_t *v[4] = {pn->kernel, pn->strides, pn->dilations, pn->pads};
    int64_t src[3][2] = {{k->kh, k->kw}, {k->sh, k->sw}, {k->dh, k->dw}};
    static const char *const names[4] = {"kernel_shape", "strides", "dilations", "pads"};
    for (int a = 0; a < 3; a++)
        memcpy(v[a], src[a], sizeof src[a]);
    memcpy(pn->pads, k->pads, sizeof pn->pads);
    if (!is_global(k)) {
        /* a kernel of 0 leaves kernel_shape out (a refusal case) */
        for (int a = k->kh > 0 ? 0 : 1; a < 4; a++)
            pn->attrs[na++] =
                (kiln_attr){.name = (char *)names[a], .type = KILN_ATTR_INTS, .n = a < 3 ? 2 : 4, .ints = v[a]};
        pn->attrs[na++] = (kiln_attr){.name = "ceil_mode", .type = KILN_ATTR_INT, .i = k->ceil_mode};
        if (k->op == AVG_POOL)
            pn->attrs[na++] = (kiln_attr){.name = "count_include_pad", .type = KILN_ATTR_INT, .i = cip};
        if (k->auto_pad)
            pn->attrs[na++] = (kiln_attr){
                .name = "auto_pad", .type = KILN_ATTR_STRING, .s = (char *)k->auto_pad, .s_len = strlen(k->auto_pad)};
    }
    int kiln = !strcmp(domain, KILN_DOMAIN);
    pn->node = (kiln_node){.name = (char *)k->what,
                           .op_type = (char *)op,
                           .domain = (char *)domain,
                           .opset = kiln ? 1 : 19,
                           .n_inputs = 1,
                           .n_outputs = 1,
                           .n_attrs = na,
                           .attrs = pn->attrs};
}

static kiln_op_ctx make_ctx(const pool_node *pn, kiln_tensor **in, kiln_tensor **out)
{
    return (kiln_op_ctx){.node = &pn->node,
                         .opset = pn->node.opset,
                         .n_in = 1,
                         .n_out = 1,
                         .in = in,
                         .out = out,
                         .max_bytes = (size_t)1 << 30};
}

/* One case's data: X in both layouts, Y in both, the reference. */
typedef struct pool_data {
    int64_t ydims[4], pads[4];
    kiln_tensor x, y, xc, yc; /* NHWC X and Y, NCHW X and Y */
    double *ref;
} pool_data;

static void pool_data_free(pool_data *d)
{
    free(d->ref);
    kiln_tensor_clear(&d->x);
    kiln_tensor_clear(&d->y);
    kiln_tensor_clear(&d->xc);
    kiln_tensor_clear(&d->yc);
}

/* Draws X (NCHW, then transposed to NHWC), allocates the outputs and
 * computes the reference; 0 when out of memory. */
static int pool_data_init(const pool_case *k, pool_data *d)
{
    memset(d, 0, sizeof *d);
    case_geometry(k, d->ydims, d->pads);
    int64_t xd[4] = {k->n, k->h, k->w, k->c}, xcd[4] = {k->n, k->c, k->h, k->w};
    int64_t ycd[4] = {k->n, k->c, d->ydims[1], d->ydims[2]};
    if (!alloc_tensor(&d->x, 4, xd) || !alloc_tensor(&d->y, 4, d->ydims) || !alloc_tensor(&d->xc, 4, xcd) ||
        !alloc_tensor(&d->yc, 4, ycd))
        return 0;
    d->ref = malloc(sizeof(double) * (size_t)kiln_tensor_numel(&d->y));
    if (!d->ref)
        return 0;
    const float *xc = d->xc.data;
    float *x = d->x.data;
    for (int64_t n = 0; n < k->n; n++)
        for (int64_t c = 0; c < k->c; c++)
            for (int64_t p = 0; p < k->h * k->w; p++)
                x[(n * k->h * k->w + p) * k->c + c] = xc[(n * k->c + c) * k->h * k->w + p];
    pool_reference(k, k->count_include_pad, xc, d->ydims, d->pads, d->ref);
    return 1;
}

/* Poisons Y and runs kernel op (found by name) for case k; returns the
 * relative L2 error against ref, infinite when it failed. */
static double run_nhwc(const pool_case *k, int cip, const char *op, pool_data *d, const double *ref)
{
    pool_node pn;
    kiln_tensor *in[1] = {&d->x}, *out[1] = {&d->y};
    make_pool_node(k, cip, op, KILN_DOMAIN, &pn);
    kiln_op_ctx ctx = make_ctx(&pn, in, out);
    kiln_cpu_kernel_fn run = kiln_cpu_find_kernel(op);
    poison(&d->y);
    kiln_status st = run ? run(&ctx) : KILN_ERR_UNSUPPORTED;
    if (st != KILN_OK)
        fprintf(stderr, "  %s on '%s' failed: %s\n", op, k->what, run ? kiln_last_error() : "no kernel");
    return st == KILN_OK ? rel_l2(d->y.data, ref, kiln_tensor_numel(&d->y)) : INFINITY;
}

/* Runs the NCHW kernel on the same data; *max_diff gets the largest
 * difference from the NHWC output, and the result is the relative L2 error
 * of the NHWC output against it. */
static double against_nchw(const pool_case *k, pool_data *d, double *max_diff)
{
    pool_node pn;
    kiln_tensor *in[1] = {&d->xc}, *out[1] = {&d->yc};
    make_pool_node(k, k->count_include_pad, nchw_op[k->op], "", &pn);
    kiln_op_ctx ctx = make_ctx(&pn, in, out);
    kiln_cpu_kernel_fn run = kiln_cpu_find_kernel(nchw_op[k->op]);
    poison(&d->yc);
    *max_diff = INFINITY;
    if (!run || run(&ctx) != KILN_OK) {
        fprintf(stderr, "  %s on '%s' failed: %s\n", nchw_op[k->op], k->what, run ? kiln_last_error() : "no kernel");
        return INFINITY;
    }
    int64_t total = kiln_tensor_numel(&d->y), plane = d->ydims[1] * d->ydims[2];
    double *nchw = malloc(sizeof(double) * (size_t)total);
    if (!nchw)
        return INFINITY;
    const float *yc = d->yc.data, *y = d->y.data;
    *max_diff = 0;
    for (int64_t i = 0; i < total; i++) {
        int64_t c = i % k->c, p = (i / k->c) % plane, n = i / (k->c * plane);
        nchw[i] = yc[(n * k->c + c) * plane + p];
        double diff = fabs((double)y[i] - nchw[i]);
        *max_diff = diff > *max_diff || isnan(diff) ? diff : *max_diff;
    }
    double err = rel_l2(y, nchw, total);
    free(nchw);
    return err;
}

/* Runs the op's shape inference on X [N, H, W, C] (no data) into y. */
static kiln_status infer(const pool_case *k, int cip, const char *op, kiln_dtype dt, int rank, const int64_t *xdims,
                         kiln_tensor *y)
{
    const kiln_op_schema *s = kiln_op_find(KILN_DOMAIN, op);
    if (!s || !s->infer)
        return kiln_error(KILN_ERR_NOT_FOUND, "no schema for %s", op);
    pool_node pn;
    kiln_tensor x;
    kiln_tensor *in[1] = {&x}, *out[1] = {y};
    memset(&x, 0, sizeof x);
    memset(y, 0, sizeof *y);
    kiln_tensor_set_shape(&x, dt, rank, xdims);
    make_pool_node(k, cip, op, KILN_DOMAIN, &pn);
    kiln_op_ctx ctx = make_ctx(&pn, in, out);
    return s->infer(&ctx);
}

static int same_dims(const kiln_tensor *y, int rank, const int64_t *dims)
{
    if (y->rank != rank)
        return 0;
    for (int i = 0; i < rank; i++)
        if (y->dims[i] != dims[i])
            return 0;
    return 1;
}

/* The schema's inferred shape for the case equals the one computed here. */
static int infer_matches(const pool_case *k, const int64_t *want)
{
    int64_t xd[4] = {k->n, k->h, k->w, k->c};
    kiln_tensor y;
    kiln_status st = infer(k, k->count_include_pad, nhwc_op[k->op], KILN_FLOAT32, 4, xd, &y);
    int ok = st == KILN_OK && y.dtype == KILN_FLOAT32 && same_dims(&y, 4, want);
    if (!ok)
        fprintf(stderr, "  infer of '%s': %s, rank %d [%lld, %lld, %lld, %lld], expected [%lld, %lld, %lld, %lld]\n",
                k->what, st ? kiln_last_error() : "ok", y.rank, (long long)y.dims[0], (long long)y.dims[1],
                (long long)y.dims[2], (long long)y.dims[3], (long long)want[0], (long long)want[1], (long long)want[2],
                (long long)want[3]);
    return ok;
}

static double worst_err[4], worst_nchw[4];

static void test_case(const pool_case *k)
{
    pool_data d;
    int ok = pool_data_init(k, &d);
    CHECK(ok);
    if (!ok) {
        pool_data_free(&d);
        return;
    }
    int inferred = infer_matches(k, d.ydims);
    CHECK(inferred);
    double err[2];
    static const int threads[2] = {1, 3};
    for (int t = 0; t < 2; t++) {
        CHECK(kiln_thread_pool_set_threads(threads[t]) == KILN_OK);
        err[t] = run_nhwc(k, k->count_include_pad, nhwc_op[k->op], &d, d.ref);
        CHECK(err[t] <= TOL);
        worst_err[k->op] = fmax(worst_err[k->op], err[t]);
    }
    double max_diff, vs_nchw = against_nchw(k, &d, &max_diff);
    CHECK(vs_nchw <= TOL);
    worst_nchw[k->op] = fmax(worst_nchw[k->op], max_diff);
    int pass = inferred && err[0] <= TOL && err[1] <= TOL && vs_nchw <= TOL;
    printf("%s  %-44s %s %lldx%lldx%lldx%lld -> %lldx%lldx%lldx%lld: rel L2 %.2e (1 thread) %.2e (3), "
           "vs %s max |diff| %.2e\n",
           pass ? "ok  " : "FAIL", k->what, nhwc_op[k->op], (long long)k->n, (long long)k->h, (long long)k->w,
           (long long)k->c, (long long)d.ydims[0], (long long)d.ydims[1], (long long)d.ydims[2], (long long)d.ydims[3],
           err[0], err[1], nchw_op[k->op], max_diff);
    pool_data_free(&d);
}

/* Unknown and symbolic dims, other float dtypes, and what infer refuses. */
static void test_infer_edges(void)
{
    const pool_case mx = {"infer max", MAX_POOL, 1, 12, 12, 13, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, 0, 0, NULL};
    const pool_case av = {"infer avg", AVG_POOL, 1, 12, 12, 13, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, 0, 0, NULL};
    const pool_case gl = {"infer global", GLOBAL_AVG, 1, 7, 7, 8, 0, 0, 0, 0, 0, 0, {0, 0, 0, 0}, 0, 0, NULL};
    pool_case nokernel = mx;
    nokernel.kh = nokernel.kw = 0;
    kiln_tensor y;
    int ok = 1;

    int64_t sym[4] = {KILN_DIM_SYMBOL(0), KILN_DIM_UNKNOWN, 12, 13},
            sym_out[4] = {KILN_DIM_SYMBOL(0), KILN_DIM_UNKNOWN, 6, 13};
/* CHECK, evaluating cond once and keeping the verdict in ok */
#define EXPECT(cond)                                                                                                   \
    do {                                                                                                               \
        int held_ = (cond);                                                                                            \
        CHECK(held_ &&#cond);                                                                                          \
        ok = ok && held_;                                                                                              \
    } while (0)
    EXPECT(infer(&mx, 0, "NhwcMaxPool", KILN_FLOAT32, 4, sym, &y) == KILN_OK && same_dims(&y, 4, sym_out));
    EXPECT(infer(&av, 1, "NhwcAveragePool", KILN_FLOAT16, 4, sym, &y) == KILN_OK && same_dims(&y, 4, sym_out) &&
           y.dtype == KILN_FLOAT16);
    int64_t unknown4[4] = {KILN_DIM_UNKNOWN, KILN_DIM_UNKNOWN, KILN_DIM_UNKNOWN, KILN_DIM_UNKNOWN};
    EXPECT(infer(&av, 0, "NhwcAveragePool", KILN_FLOAT32, -1, NULL, &y) == KILN_OK && same_dims(&y, 4, unknown4));
    int64_t gsym[4] = {KILN_DIM_SYMBOL(1), 7, KILN_DIM_UNKNOWN, 8}, gsym_out[4] = {KILN_DIM_SYMBOL(1), 1, 1, 8};
    EXPECT(infer(&gl, 0, "NhwcGlobalMaxPool", KILN_BFLOAT16, 4, gsym, &y) == KILN_OK && same_dims(&y, 4, gsym_out) &&
           y.dtype == KILN_BFLOAT16);
    int64_t gunk[4] = {KILN_DIM_UNKNOWN, 1, 1, KILN_DIM_UNKNOWN};
    EXPECT(infer(&gl, 0, "NhwcGlobalAveragePool", KILN_FLOAT64, -1, NULL, &y) == KILN_OK && same_dims(&y, 4, gunk));

    /* refusals, each with its message */
    int64_t x3[3] = {1, 12, 13}, x4[4] = {1, 12, 12, 13}, x5[5] = {1, 2, 12, 12, 13}, tiny[4] = {1, 2, 2, 13};
    const struct {
        const pool_case *k;
        int cip;
        const char *op;
        kiln_dtype dt;
        int rank;
        const int64_t *dims;
        kiln_status want;
        const char *part;
    } refusals[] = {
        {&mx, 0, "NhwcMaxPool", KILN_FLOAT32, 3, x3, KILN_ERR_SHAPE, "rank 3"},
        {&av, 0, "NhwcAveragePool", KILN_FLOAT32, 5, x5, KILN_ERR_SHAPE, "rank 5"},
        {&nokernel, 0, "NhwcMaxPool", KILN_FLOAT32, 4, x4, KILN_ERR_GRAPH, "kernel_shape"},
        {&nokernel, 0, "NhwcAveragePool", KILN_FLOAT32, -1, NULL, KILN_ERR_GRAPH, "kernel_shape"},
        {&mx, 0, "NhwcMaxPool", KILN_INT32, 4, x4, KILN_ERR_UNSUPPORTED, "int32"},
        {&av, 2, "NhwcAveragePool", KILN_FLOAT32, 4, x4, KILN_ERR_UNSUPPORTED, "count_include_pad"},
        {&gl, 0, "NhwcGlobalAveragePool", KILN_FLOAT32, 3, x3, KILN_ERR_SHAPE, "rank 3"},
        {&gl, 0, "NhwcGlobalMaxPool", KILN_UINT8, 4, x4, KILN_ERR_UNSUPPORTED, "uint8"},
    };
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        kiln_status st = infer(refusals[i].k, refusals[i].cip, refusals[i].op, refusals[i].dt, refusals[i].rank,
                               refusals[i].dims, &y);
        EXPECT(st == refusals[i].want && strstr(kiln_last_error(), refusals[i].part));
        if (st != refusals[i].want || !strstr(kiln_last_error(), refusals[i].part))
            fprintf(stderr, "  refusal %zu (%s): status %d, '%s'\n", i, refusals[i].op, (int)st,
                    st ? kiln_last_error() : "");
    }
    /* a 5x5 window with no pads over a 2x2 image */
    pool_case big = mx;
    big.kh = big.kw = 5;
    big.pads[0] = big.pads[1] = big.pads[2] = big.pads[3] = 0;
    EXPECT(infer(&big, 0, "NhwcMaxPool", KILN_FLOAT32, 4, tiny, &y) == KILN_ERR_SHAPE);
#undef EXPECT
    printf("%s  infer: unknown / symbolic dims, float16 / bfloat16 / float64, 9 refusals\n", ok ? "ok  " : "FAIL");
}

/* The kernels refuse a dtype other than float32 and a wrong-rank input. */
static void test_kernel_refusals(void)
{
    const pool_case k = {"float64 input", AVG_POOL, 1, 4, 4, 3, 2, 2, 2, 2, 1, 1, {0, 0, 0, 0}, 0, 0, NULL};
    int64_t xd[4] = {1, 4, 4, 3}, yd[4] = {1, 2, 2, 3}, x3[3] = {4, 4, 3};
    kiln_tensor x, y;
    memset(&x, 0, sizeof x);
    memset(&y, 0, sizeof y);
    kiln_tensor *in[1] = {&x}, *out[1] = {&y};
    int ok = 1;
    for (int op = 0; op < 4; op++) {
        pool_case kc = k;
        kc.op = (pool_op)op;
        pool_node pn;
        make_pool_node(&kc, 0, nhwc_op[op], KILN_DOMAIN, &pn);
        kiln_op_ctx ctx = make_ctx(&pn, in, out);
        kiln_cpu_kernel_fn run = kiln_cpu_find_kernel(nhwc_op[op]);
        CHECK(run != NULL);
        if (!run) {
            ok = 0;
            continue;
        }
        kiln_tensor_set_shape(&x, KILN_FLOAT64, 4, xd);
        kiln_tensor_set_shape(&y, KILN_FLOAT64, 4, op < 2 ? yd : (int64_t[4]){1, 1, 1, 3});
        int good = kiln_tensor_alloc(&x, 1 << 20, "x") == KILN_OK && kiln_tensor_alloc(&y, 1 << 20, "y") == KILN_OK;
        kiln_status st = good ? run(&ctx) : KILN_ERR_OUT_OF_MEMORY;
        int refused = st == KILN_ERR_UNSUPPORTED && strstr(kiln_last_error(), "float64");
        kiln_tensor_set_shape(&x, KILN_FLOAT32, 3, x3);
        int refused_rank = run(&ctx) == KILN_ERR_SHAPE;
        CHECK(refused);
        CHECK(refused_rank);
        ok = ok && refused && refused_rank;
        kiln_tensor_clear(&x);
        kiln_tensor_clear(&y);
    }
    printf("%s  kernels refuse float64 and rank 3 inputs\n", ok ? "ok  " : "FAIL");
}

/* The checks catch wrong kernels: an average pool checked against the max
 * reference, count_include_pad flipped, and one output element unwritten. */
static void test_controls(void)
{
    const pool_case k = {"control", AVG_POOL, 1, 9, 11, 13, 3, 3, 2, 2, 1, 1, {1, 1, 1, 1}, 0, 0, NULL};
    pool_case kmax = k;
    kmax.op = MAX_POOL;
    pool_data d;
    int ok = pool_data_init(&kmax, &d);
    CHECK(ok);
    double wrong_op = 0, wrong_cip = 0, unwritten = 0;
    if (ok) {
        wrong_op = run_nhwc(&k, 0, "NhwcAveragePool", &d, d.ref);
        pool_reference(&k, 0, d.xc.data, d.ydims, d.pads, d.ref);
        wrong_cip = run_nhwc(&k, 1, "NhwcAveragePool", &d, d.ref);
        double right = run_nhwc(&k, 0, "NhwcAveragePool", &d, d.ref);
        CHECK(right <= TOL);
        ((float *)d.y.data)[kiln_tensor_numel(&d.y) / 2] = NAN;
        unwritten = rel_l2(d.y.data, d.ref, kiln_tensor_numel(&d.y));
    }
    CHECK(wrong_op > 1e3 * TOL);
    CHECK(wrong_cip > 1e3 * TOL);
    CHECK(unwritten > TOL);
    int pass = ok && wrong_op > 1e3 * TOL && wrong_cip > 1e3 * TOL && unwritten > TOL;
    printf("%s  controls caught: avg vs max reference %.2e, count_include_pad flipped %.2e, unwritten element %g\n",
           pass ? "ok  " : "FAIL", wrong_op, wrong_cip, unwritten);
    pool_data_free(&d);
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        test_case(&cases[i]);
    test_infer_edges();
    test_kernel_refusals();
    test_controls();
    kiln_thread_pool_set_threads(0);
    for (int op = 0; op < 4; op++)
        printf("worst %-22s rel L2 vs float64 %.2e, max |diff| vs %s %.2e\n", nhwc_op[op], worst_err[op], nchw_op[op],
               worst_nchw[op]);
    return test_summary();
}
