/*
 * norm_attention_norms.c - CPU kernels for the normalizations that
 * standardize groups of contiguous elements: LayerNormalization,
 * RMSNormalization, GroupNormalization and InstanceNormalization (one row
 * normalizer), and BatchNormalization.
 *
 * Precision: float16, bfloat16 and float32 data is computed in float32,
 * float64 data (or stash_type double) in double. Means and variances are
 * accumulated in double in both cases, so long rows (InstanceNormalization
 * over a 224x224 plane) keep float32 accuracy. float32 tensors are read and
 * written in place; other types go through float32 / float64 copies. The
 * rows of the row normalizer are shared over the thread pool, and its loops
 * run in fixed-size blocks that the compiler vectorizes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_simd.h"
#include "backends/cpu/ops/norm_attention_kernels.h"
#include "core/thread_pool.h"

/* Elements of X per chunk of the parallel row loop. Rows are cheap (about
 * 0.5 ns an element): below two chunks (BERT-base's 128 x 768) one thread
 * measured as fast as two, whose rows travel between the cores' caches. */
#define ROW_GRAIN 65536

/* ---- the row normalizer ------------------------------------------------ */

/* `rows` rows of `len` contiguous elements. Each row is standardized with its
 * own mean (none for RMS) and inverse standard deviation; element j of row r
 * is then scaled by scale[k] and shifted by bias[k] (when given), where
 * k = ((r % param_rows) * len + j) / chunk: LayerNormalization has chunk 1
 * and param_rows 1, InstanceNormalization one parameter per row (chunk = len),
 * GroupNormalization one per channel inside the group's row. */
typedef struct row_norm {
    int64_t rows, len;
    int64_t param_rows, chunk;
    int rms;
    double epsilon;
    kiln_dtype work; /* KILN_FLOAT32 or KILN_FLOAT64 */
} row_norm;

/* The row loops work in blocks of LANES elements: compilers vectorize a
 * loop with this fixed trip count at -O2, and leave one over n scalar. */
enum { LANES = 8 };

/*
 * The kernels for one element type T (float or double): stats_ is the mean
 * (0 for RMS) and 1 / sqrt(variance + epsilon) of n values, accumulated in
 * double, one partial sum per lane; scale_span_ is y = (x - m) * inv * s + b
 * with one s and b, scale_vec_ the same with s[j] and b[j] (b may be NULL);
 * norm_rows_ runs the row normalizer on rows [r0, r1) (means / invs, when
 * not NULL, get each row's statistics); channel_affine_ is y = x * a[c] +
 * b[c] over (N, C, spatial).
 */
#define DEFINE_NORM_KERNELS(T, SFX)                                                                                    \
    KILN_SIMD_FN static double lane_sum_##SFX(const T *restrict x, int64_t n, double m, int squares)                                \
    {                                                                                                                  \
        double acc[LANES] = {0}, total = 0;                                                                            \
        int64_t j = 0;                                                                                                 \
        if (squares)                                                                                                   \
            for (; j + LANES <= n; j += LANES)                                                                         \
                for (int k = 0; k < LANES; k++)                                                                        \
                    acc[k] += ((double)x[j + k] - m) * ((double)x[j + k] - m);                                         \
        else                                                                                                           \
            for (; j + LANES <= n; j += LANES)                                                                         \
                for (int k = 0; k < LANES; k++)                                                                        \
                    acc[k] += (double)x[j + k];                                                                        \
        for (; j < n; j++)                                                                                             \
            total += squares ? ((double)x[j] - m) * ((double)x[j] - m) : (double)x[j];                                 \
        for (int k = 0; k < LANES; k++)                                                                                \
            total += acc[k];                                                                                           \
        return total;                                                                                                  \
    }                                                                                                                  \
    static void stats_##SFX(const T *x, int64_t n, int rms, double eps, double *mean, double *inv)                     \
    {                                                                                                                  \
        double m = rms || !n ? 0 : lane_sum_##SFX(x, n, 0, 0) / (double)n;                                             \
        double v = lane_sum_##SFX(x, n, m, 1);                                                                         \
        *mean = m;                                                                                                     \
        *inv = 1.0 / sqrt((n ? v / (double)n : 0) + eps);                                                              \
    }                                                                                                                  \
    KILN_SIMD_FN static void scale_span_##SFX(const T *restrict x, T *restrict y, int64_t n, T m, T inv, T s, T b)                  \
    {                                                                                                                  \
        int64_t j = 0;                                                                                                 \
        for (; j + LANES <= n; j += LANES)                                                                             \
            for (int k = 0; k < LANES; k++)                                                                            \
                y[j + k] = (x[j + k] - m) * inv * s + b;                                                               \
        for (; j < n; j++)                                                                                             \
            y[j] = (x[j] - m) * inv * s + b;                                                                           \
    }                                                                                                                  \
    KILN_SIMD_FN static void scale_vec_##SFX(const T *restrict x, T *restrict y, int64_t n, T m, T inv, const T *restrict s,        \
                                const T *restrict b)                                                                   \
    {                                                                                                                  \
        int64_t j = 0;                                                                                                 \
        if (b) {                                                                                                       \
            for (; j + LANES <= n; j += LANES)                                                                         \
                for (int k = 0; k < LANES; k++)                                                                        \
                    y[j + k] = (x[j + k] - m) * inv * s[j + k] + b[j + k];                                             \
            for (; j < n; j++)                                                                                         \
                y[j] = (x[j] - m) * inv * s[j] + b[j];                                                                 \
            return;                                                                                                    \
        }                                                                                                              \
        for (; j + LANES <= n; j += LANES)                                                                             \
            for (int k = 0; k < LANES; k++)                                                                            \
                y[j + k] = (x[j + k] - m) * inv * s[j + k];                                                            \
        for (; j < n; j++)                                                                                             \
            y[j] = (x[j] - m) * inv * s[j];                                                                            \
    }                                                                                                                  \
    static void norm_rows_##SFX(const row_norm *p, int64_t r0, int64_t r1, const T *x, const T *scale, const T *bias,  \
                                T *y, double *means, double *invs)                                                     \
    {                                                                                                                  \
        int64_t per_row = p->len / p->chunk;                                                                           \
        for (int64_t r = r0; r < r1; r++) {                                                                            \
            const T *xr = x + r * p->len;                                                                              \
            T *yr = y + r * p->len;                                                                                    \
            double m, inv;                                                                                             \
            stats_##SFX(xr, p->len, p->rms, p->epsilon, &m, &inv);                                                     \
            T tm = (T)m, tinv = (T)inv;                                                                                \
            int64_t k = (r % p->param_rows) * per_row;                                                                 \
            if (p->chunk == 1)                                                                                         \
                scale_vec_##SFX(xr, yr, p->len, tm, tinv, scale + k, bias ? bias + k : NULL);                          \
            else                                                                                                       \
                for (int64_t j0 = 0; j0 < p->len; j0 += p->chunk, k++)                                                 \
                    scale_span_##SFX(xr + j0, yr + j0, p->chunk, tm, tinv, scale[k], bias ? bias[k] : (T)0);           \
            if (means)                                                                                                 \
                means[r] = m;                                                                                          \
            if (invs)                                                                                                  \
                invs[r] = inv;                                                                                         \
        }                                                                                                              \
    }                                                                                                                  \
    static void channel_affine_##SFX(const T *x, T *y, const double *a, const double *b, int64_t n, int64_t c,         \
                                     int64_t spatial)                                                                  \
    {                                                                                                                  \
        for (int64_t i = 0; i < n; i++)                                                                                \
            for (int64_t ch = 0; ch < c; ch++) {                                                                       \
                const T *xp = x + (i * c + ch) * spatial;                                                              \
                T *yp = y + (i * c + ch) * spatial;                                                                    \
                scale_span_##SFX(xp, yp, spatial, (T)0, (T)1, (T)a[ch], (T)b[ch]);                                     \
            }                                                                                                          \
    }

DEFINE_NORM_KERNELS(float, f32)
DEFINE_NORM_KERNELS(double, f64)

typedef struct rows_job {
    const row_norm *p;
    const void *x, *scale, *bias;
    void *y;
    double *means, *invs;
} rows_job;

static void run_row_range(void *user, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const rows_job *j = user;
    if (j->p->work == KILN_FLOAT32)
        norm_rows_f32(j->p, begin, end, j->x, j->scale, j->bias, j->y, j->means, j->invs);
    else
        norm_rows_f64(j->p, begin, end, j->x, j->scale, j->bias, j->y, j->means, j->invs);
}

/* Runs p over X = in[0] into out[0], with scale and bias already in p->work
 * precision. means / invs (rows values each) may be NULL. The rows are
 * shared over the thread pool, at least ROW_GRAIN elements a chunk. */
static kiln_status run_rows(kiln_op_ctx *ctx, const row_norm *p, const void *scale, const void *bias, double *means,
                            double *invs)
{
    const void *x;
    void *x_owned, *y, *y_owned;
    KILN_TRY(kiln_stage_in(ctx->in[0], p->work, ctx->max_bytes, &x, &x_owned));
    kiln_status st = kiln_stage_out(ctx->out[0], p->work, ctx->max_bytes, &y, &y_owned);
    if (st != KILN_OK) {
        free(x_owned);
        return st;
    }
    rows_job job = {p, x, scale, bias, y, means, invs};
    int64_t grain = p->len > 0 && p->len < ROW_GRAIN ? ROW_GRAIN / p->len : 1;
    kiln_parallel_for_grain(p->rows, grain, run_row_range, &job);
    kiln_stage_out_end(ctx->out[0], p->work, y_owned, KILN_OK);
    free(x_owned);
    return KILN_OK;
}

/* A per-channel (or per-group) parameter vector of n elements in `work`
 * precision (caller frees). */
static kiln_status param_vector(const kiln_tensor *t, int64_t n, kiln_dtype work, size_t max_bytes, void **out,
                                const char *what)
{
    if (kiln_tensor_numel(t) != n || t->rank != 1)
        return kiln_error(KILN_ERR_SHAPE, "%s must be a vector of %lld elements", what, (long long)n);
    if (!kiln_is_std_float(t->dtype))
        return kiln_error(KILN_ERR_UNSUPPORTED, "%s has unsupported dtype %s", what, kiln_dtype_name(t->dtype));
    KILN_TRY(kiln_alloc_elems(work, n, max_bytes, what, out));
    kiln_convert(t->data, t->dtype, *out, work, (size_t)n);
    return KILN_OK;
}

/* Checks that parameter p (Scale or B of Layer/RMSNormalization) broadcasts
 * unidirectionally to X; *by_row tells whether it varies over the leading
 * dims [0, axis), i.e. from one row to the next. */
static kiln_status check_param(const kiln_op_ctx *ctx, const kiln_tensor *p, int axis, int *by_row, const char *what)
{
    const kiln_tensor *x = ctx->in[0];
    if (!kiln_is_std_float(p->dtype))
        return kiln_unsupported_dtype(ctx, what, p->dtype);
    if (p->rank > x->rank)
        return kiln_error(KILN_ERR_SHAPE, "%s has rank %d, more than X's %d", what, p->rank, x->rank);
    int lead = x->rank - p->rank;
    *by_row = 0;
    for (int k = 0; k < p->rank; k++) {
        int64_t pd = p->dims[k], xd = x->dims[lead + k];
        if (pd != 1 && pd != xd)
            return kiln_error(KILN_ERR_SHAPE, "%s dim %d is %lld, which does not broadcast to X's %lld", what, k,
                              (long long)pd, (long long)xd);
        if (lead + k < axis && pd != 1)
            *by_row = 1;
    }
    return KILN_OK;
}

/* p (checked by check_param) broadcast to X's dims [from, rank), in `work`
 * precision (caller frees). p does not vary over the dims before `from`. */
static kiln_status expand_param(const kiln_tensor *p, const kiln_tensor *x, int from, kiln_dtype work, size_t max_bytes,
                                void **out, const char *what)
{
    /* p seen without the leading 1s that fall before `from` */
    kiln_tensor view = *p;
    int trank = x->rank - from;
    int drop = p->rank > trank ? p->rank - trank : 0;
    view.rank = p->rank - drop;
    memmove(view.dims, p->dims + drop, sizeof(int64_t) * (size_t)view.rank);
    const int64_t *tdims = x->dims + from;
    int64_t n, strides[KILN_MAX_RANK], idx[KILN_MAX_RANK] = {0}, off = 0;
    KILN_TRY(kiln_shape_numel(tdims, trank, &n, what));
    KILN_TRY(kiln_alloc_elems(work, n, max_bytes, what, out));
    kiln_bcast_strides(&view, trank, tdims, strides);
    int64_t *const sp[1] = {strides};
    for (int64_t i = 0; i < n; i++) {
        kiln_store_f64(*out, work, (size_t)i, kiln_load_f64(p->data, p->dtype, (size_t)off));
        kiln_nd_next(trank, tdims, idx, 1, sp, &off);
    }
    return KILN_OK;
}

/* float64 when the data or the stash type asks for it, else float32. */
static kiln_dtype work_type(const kiln_op_ctx *ctx, kiln_dtype data)
{
    int64_t stash = kiln_attr_int(ctx->node, "stash_type", 1);
    return data == KILN_FLOAT64 || stash == KILN_FLOAT64 ? KILN_FLOAT64 : KILN_FLOAT32;
}

static kiln_status check_stash(const kiln_op_ctx *ctx)
{
    int64_t stash = kiln_attr_int(ctx->node, "stash_type", 1);
    if (!kiln_is_std_float((kiln_dtype)stash))
        return kiln_error(KILN_ERR_UNSUPPORTED, "stash_type %lld is not supported", (long long)stash);
    return KILN_OK;
}

/* Stores n doubles into output o when it is present. */
static void store_stats(kiln_op_ctx *ctx, int o, const double *vals, int64_t n)
{
    if (o < ctx->n_out && ctx->out[o])
        kiln_convert(vals, KILN_FLOAT64, ctx->out[o]->data, ctx->out[o]->dtype, (size_t)n);
}

/* Shared body of LayerNormalization (rms = 0) and RMSNormalization (rms = 1). */
static kiln_status layer_or_rms(kiln_op_ctx *ctx, int rms)
{
    const kiln_tensor *x = ctx->in[0], *b = !rms && ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (!kiln_is_std_float(x->dtype))
        return kiln_unsupported_dtype(ctx, "X", x->dtype);
    KILN_TRY(check_stash(ctx));
    int axis, scale_by_row, bias_by_row = 0;
    KILN_TRY(kiln_norm_axis(kiln_attr_int(ctx->node, "axis", -1), x->rank, "axis", &axis));
    KILN_TRY(check_param(ctx, ctx->in[1], axis, &scale_by_row, "Scale"));
    if (b)
        KILN_TRY(check_param(ctx, b, axis, &bias_by_row, "B"));
    row_norm p = {.chunk = 1, .rms = rms, .epsilon = kiln_attr_float(ctx->node, "epsilon", 1e-5f)};
    p.work = work_type(ctx, x->dtype);
    KILN_TRY(kiln_shape_numel(x->dims, axis, &p.rows, "X"));
    KILN_TRY(kiln_shape_numel(x->dims + axis, x->rank - axis, &p.len, "X"));
    /* parameters that vary from row to row are expanded to X's whole shape */
    int from = scale_by_row || bias_by_row ? 0 : axis;
    p.param_rows = from == 0 ? p.rows : 1;
    void *scale = NULL, *bias = NULL;
    double *stats = NULL;
    kiln_status st = expand_param(ctx->in[1], x, from, p.work, ctx->max_bytes, &scale, "Scale");
    if (st == KILN_OK && b)
        st = expand_param(b, x, from, p.work, ctx->max_bytes, &bias, "B");
    if (st == KILN_OK && !rms)
        st = kiln_alloc_elems(KILN_FLOAT64, 2 * p.rows, ctx->max_bytes, "statistics", (void **)&stats);
    if (st == KILN_OK)
        st = run_rows(ctx, &p, scale, bias, stats, stats ? stats + p.rows : NULL);
    if (st == KILN_OK && stats) {
        store_stats(ctx, 1, stats, p.rows);
        store_stats(ctx, 2, stats + p.rows, p.rows);
    }
    free(scale);
    free(bias);
    free(stats);
    return st;
}

kiln_status kiln_na_layer_norm(kiln_op_ctx *ctx)
{
    return layer_or_rms(ctx, 0);
}

kiln_status kiln_na_rms_norm(kiln_op_ctx *ctx)
{
    return layer_or_rms(ctx, 1);
}

/* Instance (groups = C, one parameter per channel) and group normalization
 * over X (N, C, D1, ...). per_group_params: opset-18 GroupNormalization,
 * whose scale and bias hold one value per group. */
static kiln_status channel_groups(kiln_op_ctx *ctx, int64_t groups, int per_group_params)
{
    const kiln_tensor *x = ctx->in[0];
    if (!kiln_is_std_float(x->dtype))
        return kiln_unsupported_dtype(ctx, "X", x->dtype);
    if (x->rank < 2)
        return kiln_error(KILN_ERR_SHAPE, "X must have rank >= 2 (N, C, ...), got %d", x->rank);
    int64_t n = x->dims[0], c = x->dims[1], spatial;
    KILN_TRY(kiln_shape_numel(x->dims + 2, x->rank - 2, &spatial, "X"));
    if (groups <= 0 || c % groups != 0)
        return kiln_error(KILN_ERR_SHAPE, "%lld channels do not divide into %lld groups", (long long)c,
                          (long long)groups);
    row_norm p = {.rows = n * groups,
                  .len = c / groups * spatial,
                  .param_rows = groups,
                  .epsilon = kiln_attr_float(ctx->node, "epsilon", 1e-5f)};
    p.work = work_type(ctx, x->dtype);
    p.chunk = per_group_params ? p.len : spatial;
    int64_t n_params = per_group_params ? groups : c;
    if (p.chunk == 0) {
        /* empty groups: nothing to normalize */
        return KILN_OK;
    }
    void *scale = NULL, *bias = NULL;
    kiln_status st = param_vector(ctx->in[1], n_params, p.work, ctx->max_bytes, &scale, "scale");
    if (st == KILN_OK)
        st = param_vector(ctx->in[2], n_params, p.work, ctx->max_bytes, &bias, "bias");
    if (st == KILN_OK)
        st = run_rows(ctx, &p, scale, bias, NULL, NULL);
    free(scale);
    free(bias);
    return st;
}

kiln_status kiln_na_instance_norm(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0];
    if (x->rank < 2)
        return kiln_error(KILN_ERR_SHAPE, "input must have rank >= 2 (N, C, ...), got %d", x->rank);
    /* no channels: nothing to normalize (and no groups to form) */
    if (x->dims[1] == 0)
        return KILN_OK;
    return channel_groups(ctx, x->dims[1], 0);
}

kiln_status kiln_na_group_norm(kiln_op_ctx *ctx)
{
    KILN_TRY(check_stash(ctx));
    const kiln_attr *a = kiln_attr_find(ctx->node, "num_groups");
    if (!a || a->type != KILN_ATTR_INT)
        return kiln_error(KILN_ERR_GRAPH, "attribute num_groups (int) is required");
    return channel_groups(ctx, a->i, ctx->opset < 21);
}

/* ---- BatchNormalization ------------------------------------------------ */

static double load_work(const void *x, kiln_dtype work, size_t i)
{
    return work == KILN_FLOAT32 ? ((const float *)x)[i] : ((const double *)x)[i];
}

/* Batch mean and (population) variance of every channel, in double. */
static void batch_stats(const void *x, kiln_dtype work, int64_t n, int64_t c, int64_t spatial, double *mean,
                        double *var)
{
    double count = (double)(n * spatial);
    for (int64_t ch = 0; ch < c; ch++) {
        double s = 0, s2 = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < spatial; j++)
                s += load_work(x, work, (size_t)((i * c + ch) * spatial + j));
        mean[ch] = count > 0 ? s / count : 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < spatial; j++) {
                double d = load_work(x, work, (size_t)((i * c + ch) * spatial + j)) - mean[ch];
                s2 += d * d;
            }
        var[ch] = count > 0 ? s2 / count : 0;
    }
}

/* The BatchNormalization inputs scale, B, input_mean, input_var as doubles
 * (params[k * c + ch]). */
static kiln_status bn_params(const kiln_op_ctx *ctx, int64_t c, double **out)
{
    static const char *const names[] = {"scale", "B", "input_mean", "input_var"};
    KILN_TRY(kiln_alloc_elems(KILN_FLOAT64, 4 * c, ctx->max_bytes, "BatchNormalization parameters", (void **)out));
    for (int k = 0; k < 4; k++) {
        const kiln_tensor *t = ctx->in[k + 1];
        if (t->rank != 1 || t->dims[0] != c || !kiln_is_std_float(t->dtype)) {
            free(*out);
            if (!kiln_is_std_float(t->dtype))
                return kiln_unsupported_dtype(ctx, names[k], t->dtype);
            return kiln_error(KILN_ERR_SHAPE, "%s must be a vector of %lld elements (one per channel)", names[k],
                              (long long)c);
        }
        kiln_convert(t->data, t->dtype, *out + k * c, KILN_FLOAT64, (size_t)c);
    }
    return KILN_OK;
}

/* Training mode: normalizes with the batch statistics and writes the
 * running mean and variance (input * momentum + batch * (1 - momentum)). */
static void bn_training(kiln_op_ctx *ctx, const void *x, kiln_dtype work, int64_t n, int64_t c, int64_t spatial,
                        double *params, double *scratch)
{
    double *mean = params + 2 * c, *var = params + 3 * c;
    double *bmean = scratch, *bvar = scratch + c;
    double momentum = kiln_attr_float(ctx->node, "momentum", 0.9f);
    batch_stats(x, work, n, c, spatial, bmean, bvar);
    for (int64_t ch = 0; ch < c; ch++) {
        double rm = mean[ch] * momentum + bmean[ch] * (1 - momentum);
        double rv = var[ch] * momentum + bvar[ch] * (1 - momentum);
        mean[ch] = bmean[ch];
        var[ch] = bvar[ch];
        bmean[ch] = rm;
        bvar[ch] = rv;
    }
    store_stats(ctx, 1, bmean, c);
    store_stats(ctx, 2, bvar, c);
}

static kiln_status bn_check(const kiln_op_ctx *ctx, int *training)
{
    const kiln_tensor *x = ctx->in[0];
    if (!kiln_is_std_float(x->dtype))
        return kiln_unsupported_dtype(ctx, "X", x->dtype);
    if (x->rank < 2)
        return kiln_error(KILN_ERR_SHAPE, "X must have rank >= 2 (N, C, ...), got %d", x->rank);
    if (ctx->opset < 9 && kiln_attr_int(ctx->node, "spatial", 1) == 0)
        return kiln_error(KILN_ERR_UNSUPPORTED, "spatial = 0 is not supported");
    int extra = 0;
    for (int o = 1; o < ctx->n_out; o++)
        extra |= ctx->out[o] != NULL;
    *training = ctx->opset >= 14 && kiln_attr_int(ctx->node, "training_mode", 0) != 0;
    if (ctx->opset < 14 && extra)
        return kiln_error(KILN_ERR_UNSUPPORTED, "training outputs of opset-%d BatchNormalization are not supported",
                          ctx->opset);
    return KILN_OK;
}

kiln_status kiln_na_batch_norm(kiln_op_ctx *ctx)
{
    int training = 0;
    KILN_TRY(bn_check(ctx, &training));
    const kiln_tensor *x = ctx->in[0];
    int64_t n = x->dims[0], c = x->dims[1], spatial;
    KILN_TRY(kiln_shape_numel(x->dims + 2, x->rank - 2, &spatial, "X"));
    kiln_dtype work = x->dtype == KILN_FLOAT64 ? KILN_FLOAT64 : KILN_FLOAT32;
    double *params, *ab = NULL;
    KILN_TRY(bn_params(ctx, c, &params));
    const void *xw = NULL;
    void *x_owned = NULL, *y, *y_owned = NULL;
    kiln_status st = kiln_alloc_elems(KILN_FLOAT64, 2 * c, ctx->max_bytes, "BatchNormalization scratch", (void **)&ab);
    if (st == KILN_OK)
        st = kiln_stage_in(x, work, ctx->max_bytes, &xw, &x_owned);
    if (st == KILN_OK)
        st = kiln_stage_out(ctx->out[0], work, ctx->max_bytes, &y, &y_owned);
    if (st == KILN_OK) {
        double eps = kiln_attr_float(ctx->node, "epsilon", 1e-5f);
        if (training)
            bn_training(ctx, xw, work, n, c, spatial, params, ab);
        /* fold into y = x * a + b with a = scale / sqrt(var + eps), b = B - mean * a */
        for (int64_t ch = 0; ch < c; ch++) {
            ab[ch] = params[ch] / sqrt(params[3 * c + ch] + eps);
            ab[c + ch] = params[c + ch] - params[2 * c + ch] * ab[ch];
        }
        if (work == KILN_FLOAT32)
            channel_affine_f32(xw, y, ab, ab + c, n, c, spatial);
        else
            channel_affine_f64(xw, y, ab, ab + c, n, c, spatial);
    }
    kiln_stage_out_end(ctx->out[0], work, y_owned, st);
    free(x_owned);
    free(params);
    free(ab);
    return st;
}
