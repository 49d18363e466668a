/*
 * reduce_loss.c - NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.
 * Both gather -logp[n, label, d] (times the label's weight) per sample and
 * reduce it: "none", "sum", or "mean" (divided by the summed weights of the
 * samples not ignored). SoftmaxCrossEntropyLoss first takes log-softmax over
 * the class axis. Computed in double; inputs are (N, C, d1..dk) viewed as
 * (N, C, D).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_util.h"
#include "backends/cpu/ops/reduce_kernels.h"

enum { RED_NONE, RED_SUM, RED_MEAN };

typedef struct loss_job {
    const kiln_tensor *labels, *weights;
    kiln_tensor *out;
    int64_t n, c, d;
    int reduction, has_ii;
    int64_t ii; /* ignore_index */
} loss_job;

static kiln_status check_dtypes(const kiln_op_ctx *ctx, const loss_job *j)
{
    if (!kiln_is_std_float(ctx->in[0]->dtype))
        return kiln_unsupported_dtype(ctx, "input 0", ctx->in[0]->dtype);
    if (!kiln_dtype_is_int(j->labels->dtype) || kiln_dtype_is_subbyte(j->labels->dtype))
        return kiln_unsupported_dtype(ctx, "the labels", j->labels->dtype);
    if (j->weights && !kiln_is_std_float(j->weights->dtype))
        return kiln_unsupported_dtype(ctx, "the weights", j->weights->dtype);
    return KILN_OK;
}

/* Checks the shapes against each other and sets n, c, d. */
static kiln_status check_shapes(const kiln_tensor *x, loss_job *j)
{
    if (x->rank < 2)
        return kiln_error(KILN_ERR_SHAPE, "input 0 has rank %d; it must be (N, C, d1..dk)", x->rank);
    if (j->labels->rank != x->rank - 1 || j->labels->dims[0] != x->dims[0])
        return kiln_error(KILN_ERR_SHAPE, "the labels do not have the input's (N, d1..dk) shape");
    for (int i = 2; i < x->rank; i++)
        if (j->labels->dims[i - 1] != x->dims[i])
            return kiln_error(KILN_ERR_SHAPE, "the labels do not have the input's (N, d1..dk) shape");
    j->n = x->dims[0];
    j->c = x->dims[1];
    KILN_TRY(kiln_shape_numel(x->dims + 2, x->rank - 2, &j->d, "the input's d1..dk"));
    if (j->weights && kiln_tensor_numel(j->weights) != j->c)
        return kiln_error(KILN_ERR_SHAPE, "the weights have %lld entries for %lld classes",
                          (long long)kiln_tensor_numel(j->weights), (long long)j->c);
    return KILN_OK;
}

static kiln_status loss_setup(kiln_op_ctx *ctx, loss_job *j)
{
    memset(j, 0, sizeof *j);
    j->labels = ctx->in[1];
    j->weights = ctx->n_in > 2 ? ctx->in[2] : NULL;
    j->out = ctx->out[0];
    const char *r = kiln_attr_string(ctx->node, "reduction", "mean");
    if (strcmp(r, "none") == 0)
        j->reduction = RED_NONE;
    else if (strcmp(r, "sum") == 0)
        j->reduction = RED_SUM;
    else if (strcmp(r, "mean") == 0)
        j->reduction = RED_MEAN;
    else
        return kiln_error(KILN_ERR_UNSUPPORTED, "reduction '%s' is not one of none, sum, mean", r);
    j->has_ii = kiln_attr_find(ctx->node, "ignore_index") != NULL;
    j->ii = kiln_attr_int(ctx->node, "ignore_index", 0);
    KILN_TRY(check_dtypes(ctx, j));
    KILN_TRY(check_shapes(ctx->in[0], j));
    KILN_CHECK(kiln_tensor_numel(j->out) == (j->reduction == RED_NONE ? j->n * j->d : 1));
    return KILN_OK;
}

/* Gathers and reduces the loss over log-probabilities logp (N, C, D). */
static kiln_status gather_loss(const loss_job *j, const double *logp)
{
    double total = 0, wsum = 0;
    for (int64_t n = 0; n < j->n; n++)
        for (int64_t d = 0; d < j->d; d++) {
            int64_t at = n * j->d + d, t = kiln_load_i64(j->labels->data, j->labels->dtype, (size_t)at);
            double loss = 0, w = 0;
            if (!j->has_ii || t != j->ii) {
                if (t < 0 || t >= j->c)
                    return kiln_error(KILN_ERR_INVALID_ARGUMENT, "label %lld at position %lld is outside [0, %lld)",
                                      (long long)t, (long long)at, (long long)j->c);
                w = j->weights ? kiln_load_f64(j->weights->data, j->weights->dtype, (size_t)t) : 1.0;
                loss = -logp[(n * j->c + t) * j->d + d] * w;
            }
            if (j->reduction == RED_NONE)
                kiln_store_f64(j->out->data, j->out->dtype, (size_t)at, loss);
            total += loss;
            wsum += w;
        }
    if (j->reduction == RED_SUM)
        kiln_store_f64(j->out->data, j->out->dtype, 0, total);
    else if (j->reduction == RED_MEAN)
        kiln_store_f64(j->out->data, j->out->dtype, 0, total / wsum);
    return KILN_OK;
}

kiln_status kiln_cpu_nll_loss(kiln_op_ctx *ctx)
{
    loss_job j;
    double *staged = NULL;
    KILN_TRY(loss_setup(ctx, &j));
    if (ctx->in[0]->dtype != KILN_FLOAT64)
        KILN_TRY(kiln_to_f64(ctx->in[0], ctx->max_bytes, &staged));
    kiln_status st = gather_loss(&j, staged ? staged : ctx->in[0]->data);
    free(staged);
    return st;
}

/* In place: x (N, C, D) becomes log(softmax(x)) over C. */
static void log_softmax(double *x, int64_t n, int64_t c, int64_t d)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < d; k++) {
            double *v = x + i * c * d + k, mx = -INFINITY, sum = 0;
            for (int64_t l = 0; l < c; l++)
                mx = v[l * d] > mx ? v[l * d] : mx;
            for (int64_t l = 0; l < c; l++)
                sum += exp(v[l * d] - mx);
            double lse = mx + log(sum);
            for (int64_t l = 0; l < c; l++)
                v[l * d] -= lse;
        }
}

kiln_status kiln_cpu_sce_loss(kiln_op_ctx *ctx)
{
    loss_job j;
    double *logp;
    KILN_TRY(loss_setup(ctx, &j));
    kiln_tensor *log_prob = ctx->n_out > 1 ? ctx->out[1] : NULL;
    KILN_CHECK(!log_prob || kiln_tensor_numel(log_prob) == j.n * j.c * j.d);
    KILN_TRY(kiln_to_f64(ctx->in[0], ctx->max_bytes, &logp));
    log_softmax(logp, j.n, j.c, j.d);
    if (log_prob)
        kiln_from_f64(log_prob, logp, j.n * j.c * j.d);
    kiln_status st = gather_loss(&j, logp);
    free(logp);
    return st;
}
