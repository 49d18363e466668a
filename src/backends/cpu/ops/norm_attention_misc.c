/*
 * norm_attention_misc.c - CPU kernels for the smaller normalizations
 * (LpNormalization, LRN, MeanVarianceNormalization) and SwiGLU.
 *
 * The normalizations here are rare in real models and take any float type
 * through a float64 copy of their input; results are rounded once into the
 * output type. SwiGLU (LLM feed-forward blocks) has a float32 fast path.
 */
#include <math.h>
#include <stdlib.h>

#include "backends/cpu/ops/norm_attention_kernels.h"

/* X = in[0] as doubles, with a zeroed output buffer of the same size. */
static kiln_status stage_f64(const kiln_op_ctx *ctx, double **x, double **y)
{
    const kiln_tensor *t = ctx->in[0];
    if (!kiln_is_std_float(t->dtype))
        return kiln_unsupported_dtype(ctx, "X", t->dtype);
    KILN_TRY(kiln_to_f64(t, ctx->max_bytes, x));
    kiln_status st = kiln_alloc_zeroed(KILN_FLOAT64, kiln_tensor_numel(t), ctx->max_bytes, "output", (void **)y);
    if (st != KILN_OK)
        free(*x);
    return st;
}

/* Writes y into out[0] and frees both buffers. */
static kiln_status finish_f64(kiln_op_ctx *ctx, double *x, double *y)
{
    kiln_from_f64(ctx->out[0], y, kiln_tensor_numel(ctx->out[0]));
    free(x);
    free(y);
    return KILN_OK;
}

/* ---- LpNormalization ---------------------------------------------------- */

kiln_status kiln_na_lp_norm(kiln_op_ctx *ctx)
{
    const kiln_tensor *t = ctx->in[0];
    int64_t p = kiln_attr_int(ctx->node, "p", 2);
    if (p != 1 && p != 2)
        return kiln_error(KILN_ERR_UNSUPPORTED, "p = %lld is not supported (only 1 or 2)", (long long)p);
    int axis;
    KILN_TRY(kiln_norm_axis(kiln_attr_int(ctx->node, "axis", -1), t->rank, "axis", &axis));
    int64_t outer, n, inner;
    KILN_TRY(kiln_split_at_axis(t, axis, &outer, &n, &inner));
    double *x, *y;
    KILN_TRY(stage_f64(ctx, &x, &y));
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const double *xp = x + o * n * inner + i;
            double *yp = y + o * n * inner + i, norm = 0;
            for (int64_t k = 0; k < n; k++)
                norm += p == 1 ? fabs(xp[k * inner]) : xp[k * inner] * xp[k * inner];
            if (p == 2)
                norm = sqrt(norm);
            /* a zero norm gives zeros, not 0/0 */
            for (int64_t k = 0; k < n; k++)
                yp[k * inner] = norm == 0 ? 0 : xp[k * inner] / norm;
        }
    return finish_f64(ctx, x, y);
}

/* ---- LRN ------------------------------------------------------------------ */

kiln_status kiln_na_lrn(kiln_op_ctx *ctx)
{
    const kiln_tensor *t = ctx->in[0];
    if (t->rank < 2)
        return kiln_error(KILN_ERR_SHAPE, "X must have rank >= 2 (N, C, ...), got %d", t->rank);
    int64_t size = kiln_attr_int(ctx->node, "size", 0);
    if (size <= 0)
        return kiln_error(KILN_ERR_SHAPE, "size must be positive, got %lld", (long long)size);
    double alpha = kiln_attr_float(ctx->node, "alpha", 1e-4f), beta = kiln_attr_float(ctx->node, "beta", 0.75f);
    double bias = kiln_attr_float(ctx->node, "bias", 1.0f);
    int64_t n = t->dims[0], c = t->dims[1], spatial;
    KILN_TRY(kiln_shape_numel(t->dims + 2, t->rank - 2, &spatial, "X"));
    /* channel window [ch - before, ch + after] */
    int64_t before = (size - 1) / 2, after = size / 2;
    double *x, *y;
    KILN_TRY(stage_f64(ctx, &x, &y));
    for (int64_t b = 0; b < n; b++)
        for (int64_t ch = 0; ch < c; ch++) {
            int64_t lo = ch - before < 0 ? 0 : ch - before, hi = ch + after >= c ? c - 1 : ch + after;
            for (int64_t s = 0; s < spatial; s++) {
                double sq = 0;
                for (int64_t k = lo; k <= hi; k++) {
                    double v = x[(b * c + k) * spatial + s];
                    sq += v * v;
                }
                int64_t at = (b * c + ch) * spatial + s;
                y[at] = x[at] / pow(bias + alpha / (double)size * sq, beta);
            }
        }
    return finish_f64(ctx, x, y);
}

/* ---- MeanVarianceNormalization --------------------------------------------- */

/* Sums x (or its squared deviation from mean[], when mean is given) into
 * acc[], which has X's shape with the reduced dims collapsed: stride[k] is
 * 0 for a reduced dim. */
static void mvn_accumulate(const kiln_tensor *t, const double *x, const double *mean, int64_t *stride, double *acc)
{
    int64_t n = kiln_tensor_numel(t), idx[KILN_MAX_RANK] = {0}, off = 0;
    int64_t *const sp[1] = {stride};
    for (int64_t i = 0; i < n; i++) {
        double v = mean ? (x[i] - mean[off]) * (x[i] - mean[off]) : x[i];
        acc[off] += v;
        kiln_nd_next(t->rank, t->dims, idx, 1, sp, &off);
    }
}

kiln_status kiln_na_mvn(kiln_op_ctx *ctx)
{
    static const int64_t default_axes[] = {0, 2, 3};
    const kiln_tensor *t = ctx->in[0];
    const int64_t *axes = default_axes;
    int64_t n_axes = 3;
    kiln_attr_ints(ctx->node, "axes", &axes, &n_axes);
    int reduced[KILN_MAX_RANK] = {0};
    for (int64_t k = 0; k < n_axes; k++) {
        int a;
        KILN_TRY(kiln_norm_axis(axes[k], t->rank, "axes entry", &a));
        reduced[a] = 1;
    }
    /* strides into the statistics (X's shape with reduced dims of 1) */
    int64_t stride[KILN_MAX_RANK], groups = 1, count = 1;
    for (int k = t->rank - 1; k >= 0; k--) {
        stride[k] = reduced[k] ? 0 : groups;
        groups *= reduced[k] ? 1 : t->dims[k];
        count *= reduced[k] ? t->dims[k] : 1;
    }
    double *x, *y, *mean = calloc((size_t)(2 * groups + 1), sizeof(double));
    if (!mean)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "cannot allocate MeanVarianceNormalization statistics");
    kiln_status st = stage_f64(ctx, &x, &y);
    if (st != KILN_OK) {
        free(mean);
        return st;
    }
    double *var = mean + groups;
    mvn_accumulate(t, x, NULL, stride, mean);
    for (int64_t g = 0; g < groups; g++)
        mean[g] /= (double)count;
    mvn_accumulate(t, x, mean, stride, var);
    int64_t n = kiln_tensor_numel(t), idx[KILN_MAX_RANK] = {0}, off = 0;
    int64_t *const sp[1] = {stride};
    /* (X - E[X]) / (sqrt(Var[X]) + 1e-9), as ONNX's function body */
    for (int64_t i = 0; i < n; i++) {
        y[i] = (x[i] - mean[off]) / (sqrt(var[off] / (double)count) + 1e-9);
        kiln_nd_next(t->rank, t->dims, idx, 1, sp, &off);
    }
    free(mean);
    return finish_f64(ctx, x, y);
}

/* ---- SwiGLU ------------------------------------------------------------- */

kiln_status kiln_na_swiglu(kiln_op_ctx *ctx)
{
    const kiln_tensor *a = ctx->in[0], *b = ctx->in[1];
    if (!kiln_is_std_float(a->dtype))
        return kiln_unsupported_dtype(ctx, "A", a->dtype);
    if (b->dtype != a->dtype)
        return kiln_error(KILN_ERR_SHAPE, "A (%s) and B (%s) must have one dtype", kiln_dtype_name(a->dtype),
                          kiln_dtype_name(b->dtype));
    if (!kiln_has_shape(b, a->rank, a->dims))
        return kiln_error(KILN_ERR_SHAPE, "A and B must have one shape (SwiGLU does not broadcast)");
    int64_t n = kiln_tensor_numel(a);
    double alpha = kiln_attr_float(ctx->node, "alpha", 1.0f);
    kiln_tensor *y = ctx->out[0];
    if (a->dtype == KILN_FLOAT32) {
        const float *ap = a->data, *bp = b->data;
        float *yp = y->data, fa = (float)alpha;
        for (int64_t i = 0; i < n; i++)
            yp[i] = ap[i] / (1.0f + expf(-fa * ap[i])) * bp[i];
        return KILN_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        double av = kiln_load_f64(a->data, a->dtype, (size_t)i), bv = kiln_load_f64(b->data, b->dtype, (size_t)i);
        kiln_store_f64(y->data, y->dtype, (size_t)i, av / (1.0 + exp(-alpha * av)) * bv);
    }
    return KILN_OK;
}
