/*
 * reduce_driver.c - the Reduce* kernels. One driver walks the input once in
 * memory order, feeding a running state per output element; a small table
 * gives each op's init / accumulate / finish functions, for floats (computed
 * in double) and for integers (exact, as 64-bit two's-complement patterns).
 * float32 Sum / Mean / SumSquare / L1 / L2 take a direct path without
 * staging or per-element calls (LayerNorm means, global pooling); when
 * whole contiguous rows are reduced, the rows are shared over the thread
 * pool.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_simd.h"
#include "backends/cpu/cpu_util.h"
#include "backends/cpu/ops/reduce_kernels.h"
#include "core/thread_pool.h"
#include "ir/infer/reduce_infer.h"

/* ---- per-op functions ------------------------------------------------- */

/* Float state per output: a, and b for log-sum-exp (a is then the running
 * maximum and b the sum of exp(x - a)). */
typedef struct flt_ops {
    double a0, b0;
    void (*step)(double *a, double *b, double x);
    double (*done)(double a, double b, int64_t n);
} flt_ops;

/* Integer state per output: a 64-bit two's-complement pattern, so sums and
 * products wrap without undefined behaviour; sgn says how to read it. */
typedef struct int_ops {
    uint64_t (*init)(kiln_dtype dt);
    uint64_t (*step)(uint64_t a, uint64_t x, int sgn);
    uint64_t (*done)(uint64_t a, int64_t n, int sgn);
} int_ops;

static void f_add(double *a, double *b, double x)
{
    *a += x;
}

static void f_add_abs(double *a, double *b, double x)
{
    *a += fabs(x);
}

static void f_add_sq(double *a, double *b, double x)
{
    *a += x * x;
}

static void f_mul(double *a, double *b, double x)
{
    *a *= x;
}

/* max / min propagate NaN, as numpy does */
static void f_max(double *a, double *b, double x)
{
    if (x > *a || isnan(x))
        *a = x;
}

static void f_min(double *a, double *b, double x)
{
    if (x < *a || isnan(x))
        *a = x;
}

/* Online log-sum-exp: rescales the sum whenever the maximum grows, so no
 * exp() overflows; -inf terms add nothing, equal maxima (inf too) add 1. */
static void f_lse(double *a, double *b, double x)
{
    if (x == -INFINITY)
        return;
    if (x > *a) {
        *b = *b * exp(*a - x) + 1.0;
        *a = x;
    } else if (x == *a) {
        *b += 1.0;
    } else {
        *b += exp(x - *a);
    }
}

static double f_keep(double a, double b, int64_t n)
{
    return a;
}

static double f_mean(double a, double b, int64_t n)
{
    return a / (double)n;
}

static double f_sqrt(double a, double b, int64_t n)
{
    return sqrt(a);
}

static double f_log(double a, double b, int64_t n)
{
    return log(a);
}

static double f_lse_done(double a, double b, int64_t n)
{
    return b == 0 ? -INFINITY : a + log(b);
}

/* The smallest and largest value of an integer (or bool) type, as patterns. */
static uint64_t i_lowest(kiln_dtype dt)
{
    switch (dt) {
    case KILN_INT8:
        return (uint64_t)(int64_t)INT8_MIN;
    case KILN_INT16:
        return (uint64_t)(int64_t)INT16_MIN;
    case KILN_INT32:
        return (uint64_t)(int64_t)INT32_MIN;
    case KILN_INT64:
        return (uint64_t)INT64_MIN;
    default:
        return 0;
    }
}

static uint64_t i_highest(kiln_dtype dt)
{
    switch (dt) {
    case KILN_BOOL:
        return 1;
    case KILN_INT8:
        return INT8_MAX;
    case KILN_UINT8:
        return UINT8_MAX;
    case KILN_INT16:
        return INT16_MAX;
    case KILN_UINT16:
        return UINT16_MAX;
    case KILN_INT32:
        return INT32_MAX;
    case KILN_UINT32:
        return UINT32_MAX;
    case KILN_INT64:
        return INT64_MAX;
    default:
        return UINT64_MAX;
    }
}

static uint64_t i_zero(kiln_dtype dt)
{
    return 0;
}

static uint64_t i_one(kiln_dtype dt)
{
    return 1;
}

static uint64_t i_add(uint64_t a, uint64_t x, int sgn)
{
    return a + x;
}

static uint64_t i_add_abs(uint64_t a, uint64_t x, int sgn)
{
    return a + (sgn && (int64_t)x < 0 ? 0 - x : x);
}

static uint64_t i_add_sq(uint64_t a, uint64_t x, int sgn)
{
    return a + x * x;
}

static uint64_t i_mul(uint64_t a, uint64_t x, int sgn)
{
    return a * x;
}

static uint64_t i_max(uint64_t a, uint64_t x, int sgn)
{
    return (sgn ? (int64_t)x > (int64_t)a : x > a) ? x : a;
}

static uint64_t i_min(uint64_t a, uint64_t x, int sgn)
{
    return (sgn ? (int64_t)x < (int64_t)a : x < a) ? x : a;
}

static uint64_t i_keep(uint64_t a, int64_t n, int sgn)
{
    return a;
}

/* Integer mean truncates toward zero (numpy's mean cast back to the type);
 * the mean of nothing is 0. */
static uint64_t i_mean(uint64_t a, int64_t n, int sgn)
{
    if (n == 0)
        return 0;
    return sgn ? (uint64_t)((int64_t)a / n) : a / (uint64_t)n;
}

/* Truncated square root; a sum of squares that wrapped negative gives 0. */
static uint64_t i_sqrt(uint64_t a, int64_t n, int sgn)
{
    double r = sqrt(sgn ? (double)(int64_t)a : (double)a);
    if (!(r >= 0))
        return 0;
    if (r >= 18446744073709551615.0)
        return UINT64_MAX;
    return (uint64_t)r;
}

/* float32 direct path: what each element contributes to a sum */
enum { FAST_NONE, FAST_ID, FAST_ABS, FAST_SQ };

typedef struct reduce_def {
    const char *name;
    flt_ops flt;
    int_ops ints;   /* all NULL: integer inputs are computed in double */
    int ints_until; /* first opset that no longer takes integer inputs, 0 if none */
    int bools;      /* takes bool inputs */
    int fast;       /* FAST_* contribution for the float32 path */
} reduce_def;

static const reduce_def reduce_defs[] = {
    {"ReduceSum", {0, 0, f_add, f_keep}, {i_zero, i_add, i_keep}, 0, 0, FAST_ID},
    {"ReduceMean", {0, 0, f_add, f_mean}, {i_zero, i_add, i_mean}, 0, 0, FAST_ID},
    {"ReduceMax", {-INFINITY, 0, f_max, f_keep}, {i_lowest, i_max, i_keep}, 0, 1, FAST_NONE},
    {"ReduceMin", {INFINITY, 0, f_min, f_keep}, {i_highest, i_min, i_keep}, 0, 1, FAST_NONE},
    {"ReduceProd", {1, 0, f_mul, f_keep}, {i_one, i_mul, i_keep}, 0, 0, FAST_NONE},
    {"ReduceL1", {0, 0, f_add_abs, f_keep}, {i_zero, i_add_abs, i_keep}, 0, 0, FAST_ABS},
    {"ReduceL2", {0, 0, f_add_sq, f_sqrt}, {i_zero, i_add_sq, i_sqrt}, 0, 0, FAST_SQ},
    {"ReduceSumSquare", {0, 0, f_add_sq, f_keep}, {i_zero, i_add_sq, i_keep}, 0, 0, FAST_SQ},
    {"ReduceLogSum", {0, 0, f_add, f_log}, {NULL, NULL, NULL}, 28, 0, FAST_NONE},
    {"ReduceLogSumExp", {-INFINITY, 0, f_lse, f_lse_done}, {NULL, NULL, NULL}, 28, 0, FAST_NONE},
};

static const reduce_def *find_def(const char *op)
{
    for (size_t i = 0; i < sizeof reduce_defs / sizeof reduce_defs[0]; i++)
        if (strcmp(reduce_defs[i].name, op) == 0)
            return &reduce_defs[i];
    return NULL;
}

kiln_red_kind kiln_red_kind_of(kiln_dtype dt)
{
    switch (dt) {
    case KILN_FLOAT16:
    case KILN_BFLOAT16:
    case KILN_FLOAT32:
    case KILN_FLOAT64:
        return KILN_RED_FLOAT;
    case KILN_INT8:
    case KILN_INT16:
    case KILN_INT32:
    case KILN_INT64:
        return KILN_RED_SIGNED;
    case KILN_UINT8:
    case KILN_UINT16:
    case KILN_UINT32:
    case KILN_UINT64:
        return KILN_RED_UNSIGNED;
    default:
        return KILN_RED_NONE;
    }
}

/* How op def computes dt: in double (KILN_RED_FLOAT) or exactly. */
static kiln_status pick_domain(const kiln_op_ctx *ctx, const reduce_def *def, kiln_dtype dt, kiln_red_kind *dom)
{
    kiln_red_kind kind = kiln_red_kind_of(dt);
    if (kind == KILN_RED_FLOAT) {
        *dom = kind;
        return KILN_OK;
    }
    if (dt == KILN_BOOL && def->bools) {
        *dom = KILN_RED_UNSIGNED;
        return KILN_OK;
    }
    if (kind != KILN_RED_NONE && !(def->ints_until && ctx->opset >= def->ints_until)) {
        *dom = !def->ints.step ? KILN_RED_FLOAT : kind;
        return KILN_OK;
    }
    return kiln_unsupported_dtype(ctx, "input 0", dt);
}

/* ---- the walk ----------------------------------------------------------- */

/* The input's dims with extent-1 dims dropped and neighbours of the same
 * kind (reduced or kept) merged into groups. The output, shaped as the
 * input with reduced dims set to 1, is row-major over the kept groups. */
typedef struct reduce_plan {
    int ng;
    int64_t ext[KILN_MAX_RANK];
    unsigned char red[KILN_MAX_RANK];
    int64_t ostride[KILN_MAX_RANK]; /* output stride per group; 0 for reduced groups */
    int64_t n_in, n_out, count;     /* input and output elements; inputs per output */
} reduce_plan;

static kiln_status make_plan(const kiln_tensor *x, const unsigned char *reduced, reduce_plan *p)
{
    int64_t kept[KILN_MAX_RANK];
    int nk = 0;
    memset(p, 0, sizeof *p);
    KILN_TRY(kiln_shape_numel(x->dims, x->rank, &p->n_in, "input 0"));
    for (int d = 0; d < x->rank; d++) {
        int64_t e = x->dims[d];
        if (!reduced[d])
            kept[nk++] = e;
        /* without input elements no row is walked (and merged extents could overflow) */
        if (e == 1 || p->n_in == 0)
            continue;
        if (p->ng > 0 && p->red[p->ng - 1] == reduced[d]) {
            p->ext[p->ng - 1] *= e;
        } else {
            p->ext[p->ng] = e;
            p->red[p->ng++] = reduced[d];
        }
    }
    if (p->ng == 0) {
        p->ng = 1;
        p->ext[0] = 1;
    }
    KILN_TRY(kiln_shape_numel(kept, nk, &p->n_out, "output"));
    /* with no input elements but some outputs, a reduced dim is empty */
    p->count = p->n_out ? p->n_in / p->n_out : 0;
    int64_t s = 1;
    for (int g = p->ng - 1; g >= 0; g--) {
        p->ostride[g] = p->red[g] ? 0 : s;
        if (!p->red[g])
            s *= p->ext[g];
    }
    return KILN_OK;
}

/* One contiguous run of the last group: starts at input element in_off and
 * feeds output out_off (last group reduced) or out_off.. (kept). */
typedef void (*row_fn)(void *env, int64_t in_off, int64_t out_off);

static void for_each_row(const reduce_plan *p, row_fn row, void *env)
{
    int outer = p->ng - 1;
    int64_t len = p->ext[outer], idx[KILN_MAX_RANK] = {0}, ostride[KILN_MAX_RANK], off = 0;
    int64_t *strides[1] = {ostride};
    memcpy(ostride, p->ostride, sizeof ostride);
    for (int64_t start = 0; start < p->n_in; start += len) {
        row(env, start, off);
        kiln_nd_next(outer, p->ext, idx, 1, strides, &off);
    }
}

/* ---- floats, in double -------------------------------------------------- */

typedef struct flt_env {
    const flt_ops *op;
    const double *x;
    double *a, *b;
    int64_t len;
    int last_reduced;
} flt_env;

static void flt_row(void *env, int64_t in_off, int64_t out_off)
{
    const flt_env *e = env;
    const double *x = e->x + in_off;
    if (e->last_reduced) {
        for (int64_t i = 0; i < e->len; i++)
            e->op->step(&e->a[out_off], &e->b[out_off], x[i]);
    } else {
        for (int64_t i = 0; i < e->len; i++)
            e->op->step(&e->a[out_off + i], &e->b[out_off + i], x[i]);
    }
}

static kiln_status reduce_float(kiln_op_ctx *ctx, const reduce_def *def, const reduce_plan *p)
{
    const void *x;
    void *staged, *mem;
    KILN_TRY(kiln_stage_in(ctx->in[0], KILN_FLOAT64, ctx->max_bytes, &x, &staged));
    kiln_status st = kiln_alloc_elems(KILN_FLOAT64, 2 * p->n_out, ctx->max_bytes, "reduction state", &mem);
    if (st != KILN_OK) {
        free(staged);
        return st;
    }
    double *a = mem;
    flt_env e = {&def->flt, x, a, a + p->n_out, p->ext[p->ng - 1], p->red[p->ng - 1]};
    for (int64_t o = 0; o < p->n_out; o++) {
        e.a[o] = def->flt.a0;
        e.b[o] = def->flt.b0;
    }
    for_each_row(p, flt_row, &e);
    for (int64_t o = 0; o < p->n_out; o++)
        a[o] = def->flt.done(e.a[o], e.b[o], p->count);
    kiln_from_f64(ctx->out[0], a, p->n_out);
    free(a);
    free(staged);
    return KILN_OK;
}

/* ---- float32 direct path for sums --------------------------------------- */

typedef struct fast_env {
    int kind;
    const float *x;
    double *a;
    int64_t len;
    int last_reduced;
} fast_env;

/* The plain sum in blocks of LANES partial sums: a loop of that fixed trip
 * count vectorizes at -O2. */
enum { LANES = 8 };

KILN_SIMD_FN static double sum_plain(const float *restrict x, int64_t n)
{
    double acc[LANES] = {0}, s = 0;
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++)
            acc[k] += (double)x[i + k];
    for (; i < n; i++)
        s += x[i];
    for (int k = 0; k < LANES; k++)
        s += acc[k];
    return s;
}

static double sum_row(int kind, const float *x, int64_t n)
{
    double s = 0;
    if (kind == FAST_ID)
        s = sum_plain(x, n);
    else if (kind == FAST_ABS)
        for (int64_t i = 0; i < n; i++)
            s += fabs((double)x[i]);
    else
        for (int64_t i = 0; i < n; i++)
            s += (double)x[i] * x[i];
    return s;
}

static void add_row(int kind, const float *x, int64_t n, double *acc)
{
    if (kind == FAST_ID)
        for (int64_t i = 0; i < n; i++)
            acc[i] += x[i];
    else if (kind == FAST_ABS)
        for (int64_t i = 0; i < n; i++)
            acc[i] += fabs((double)x[i]);
    else
        for (int64_t i = 0; i < n; i++)
            acc[i] += (double)x[i] * x[i];
}

static void fast_row(void *env, int64_t in_off, int64_t out_off)
{
    const fast_env *e = env;
    if (e->last_reduced)
        e->a[out_off] += sum_row(e->kind, e->x + in_off, e->len);
    else
        add_row(e->kind, e->x + in_off, e->len, e->a + out_off);
}

typedef struct rows_job {
    const reduce_def *def;
    const reduce_plan *p;
    const float *x;
    float *y;
} rows_job;

/* Outputs [begin, end) of a plan of (kept rows, reduced row) groups. */
static void reduce_rows(void *user, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const rows_job *j = user;
    int64_t len = j->p->ext[1];
    for (int64_t o = begin; o < end; o++)
        j->y[o] = (float)j->def->flt.done(sum_row(j->def->fast, j->x + o * len, len), 0, j->p->count);
}

/* Input elements a chunk of the parallel row loop should hold at least. */
#define ROWS_GRAIN 65536

static kiln_status reduce_fast_f32(kiln_op_ctx *ctx, const reduce_def *def, const reduce_plan *p)
{
    if (p->ng == 2 && !p->red[0] && p->red[1]) {
        /* whole rows reduced (LayerNorm's means): rows shared over the pool */
        rows_job j = {def, p, ctx->in[0]->data, ctx->out[0]->data};
        int64_t grain = p->ext[1] < ROWS_GRAIN ? ROWS_GRAIN / p->ext[1] : 1;
        kiln_parallel_for_grain(p->ext[0], grain, reduce_rows, &j);
        return KILN_OK;
    }
    void *mem;
    KILN_TRY(kiln_alloc_zeroed(KILN_FLOAT64, p->n_out, ctx->max_bytes, "reduction state", &mem));
    double *a = mem;
    fast_env e = {def->fast, ctx->in[0]->data, a, p->ext[p->ng - 1], p->red[p->ng - 1]};
    for_each_row(p, fast_row, &e);
    float *y = ctx->out[0]->data;
    for (int64_t o = 0; o < p->n_out; o++)
        y[o] = (float)def->flt.done(a[o], 0, p->count);
    free(a);
    return KILN_OK;
}

/* ---- integers, exact ---------------------------------------------------- */

typedef struct int_env {
    const int_ops *op;
    const uint64_t *x;
    uint64_t *a;
    int64_t len;
    int last_reduced, sgn;
} int_env;

static void int_row(void *env, int64_t in_off, int64_t out_off)
{
    const int_env *e = env;
    const uint64_t *x = e->x + in_off;
    if (e->last_reduced) {
        uint64_t acc = e->a[out_off];
        for (int64_t i = 0; i < e->len; i++)
            acc = e->op->step(acc, x[i], e->sgn);
        e->a[out_off] = acc;
    } else {
        for (int64_t i = 0; i < e->len; i++)
            e->a[out_off + i] = e->op->step(e->a[out_off + i], x[i], e->sgn);
    }
}

static kiln_status reduce_int(kiln_op_ctx *ctx, const reduce_def *def, const reduce_plan *p, int sgn)
{
    kiln_dtype wide = sgn ? KILN_INT64 : KILN_UINT64;
    const void *x;
    void *staged, *mem;
    KILN_TRY(kiln_stage_in(ctx->in[0], wide, ctx->max_bytes, &x, &staged));
    kiln_status st = kiln_alloc_elems(wide, p->n_out, ctx->max_bytes, "reduction state", &mem);
    if (st != KILN_OK) {
        free(staged);
        return st;
    }
    uint64_t *a = mem;
    int_env e = {&def->ints, x, a, p->ext[p->ng - 1], p->red[p->ng - 1], sgn};
    uint64_t init = def->ints.init(ctx->in[0]->dtype);
    for (int64_t o = 0; o < p->n_out; o++)
        a[o] = init;
    for_each_row(p, int_row, &e);
    for (int64_t o = 0; o < p->n_out; o++)
        a[o] = def->ints.done(a[o], p->count, sgn);
    kiln_convert(a, wide, ctx->out[0]->data, ctx->out[0]->dtype, (size_t)p->n_out);
    free(a);
    free(staged);
    return KILN_OK;
}

kiln_status kiln_cpu_reduce_op(kiln_op_ctx *ctx)
{
    const reduce_def *def = find_def(ctx->node->op_type);
    KILN_CHECK(def != NULL);
    const kiln_tensor *x = ctx->in[0];
    kiln_red_kind dom = KILN_RED_FLOAT;
    KILN_TRY(pick_domain(ctx, def, x->dtype, &dom));
    kiln_reduce_axes ax;
    KILN_TRY(kiln_reduce_get_axes(ctx, &ax));
    KILN_CHECK(ax.known);
    reduce_plan p;
    KILN_TRY(make_plan(x, ax.reduced, &p));
    KILN_CHECK(kiln_tensor_numel(ctx->out[0]) == p.n_out && ctx->out[0]->dtype == x->dtype);
    if (p.n_out == 0)
        return KILN_OK;
    if (dom == KILN_RED_FLOAT && x->dtype == KILN_FLOAT32 && def->fast != FAST_NONE)
        return reduce_fast_f32(ctx, def, &p);
    if (dom == KILN_RED_FLOAT)
        return reduce_float(ctx, def, &p);
    return reduce_int(ctx, def, &p, dom == KILN_RED_SIGNED);
}
