/*
 * tensor_basic.c - shape inference for ops that copy or create a tensor:
 * Identity, Dropout, Constant, ConstantOfShape, Shape, Size, EyeLike, Range
 * and Trilu.
 */
#include <math.h>
#include <string.h>

#include "core/dtype.h"
#include "ir/infer/tensor_infer.h"

kiln_status kiln_infer_identity(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    kiln_infer_copy(ctx, 0, 0);
    return KILN_OK;
}

/* The dropout ratio: attribute before opset 12, optional input 1 after. */
static kiln_status dropout_ratio(const kiln_op_ctx *ctx, double *ratio, int *known)
{
    *known = 1;
    if (ctx->opset < 12) {
        *ratio = kiln_attr_float(ctx->node, "ratio", 0.5f);
        return KILN_OK;
    }
    *ratio = 0.5;
    if (ctx->n_in < 2 || !ctx->in[1])
        return KILN_OK;
    if (!ctx->in[1]->data) {
        *known = 0;
        return KILN_OK;
    }
    if (kiln_tensor_numel(ctx->in[1]) != 1)
        return kiln_error(KILN_ERR_SHAPE, "ratio must be a scalar");
    *ratio = kiln_load_f64(ctx->in[1]->data, ctx->in[1]->dtype, 0);
    return KILN_OK;
}

kiln_status kiln_tensor_dropout_check(const kiln_op_ctx *ctx)
{
    int training = 0, known;
    double ratio;
    if (ctx->opset < 7) {
        training = kiln_attr_int(ctx->node, "is_test", 0) == 0;
    } else if (ctx->opset >= 12 && ctx->n_in > 2 && ctx->in[2]) {
        const kiln_tensor *t = ctx->in[2];
        if (!t->data)
            return KILN_OK;
        if (kiln_tensor_numel(t) != 1)
            return kiln_error(KILN_ERR_SHAPE, "training_mode must be a scalar");
        training = kiln_load_f64(t->data, t->dtype, 0) != 0;
    }
    if (!training)
        return KILN_OK;
    KILN_TRY(dropout_ratio(ctx, &ratio, &known));
    if (known && ratio != 0)
        return kiln_error(KILN_ERR_UNSUPPORTED, "Dropout in training mode (ratio %g) is not supported", ratio);
    return KILN_OK;
}

kiln_status kiln_infer_dropout(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(kiln_tensor_dropout_check(ctx));
    const kiln_tensor *x = ctx->in[0];
    kiln_infer_copy(ctx, 0, 0);
    /* the mask is bool from opset 10, the data's type before */
    kiln_infer_set(ctx, 1, ctx->opset >= 10 ? KILN_BOOL : x->dtype, x->rank, x->dims);
    return KILN_OK;
}

/* ---- Constant ------------------------------------------------------------- */

kiln_status kiln_infer_constant(kiln_op_ctx *ctx)
{
    static const char *const refused[] = {"sparse_value", "value_string", "value_strings"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (kiln_attr_find(ctx->node, refused[i]))
            return kiln_error(KILN_ERR_UNSUPPORTED, "Constant with attribute %s is not supported", refused[i]);
    const kiln_attr *a;
    int64_t dims[1];
    if ((a = kiln_attr_find(ctx->node, "value")) != NULL) {
        if (a->type != KILN_ATTR_TENSOR || !a->t)
            return kiln_error(KILN_ERR_GRAPH, "Constant's value attribute is not a tensor");
        if (!kiln_dtype_valid(a->t->dtype))
            return kiln_unsupported_dtype(ctx, "attribute value", a->t->dtype);
        kiln_infer_set(ctx, 0, a->t->dtype, a->t->rank, a->t->dims);
    } else if ((a = kiln_attr_find(ctx->node, "value_float")) != NULL) {
        kiln_infer_set(ctx, 0, KILN_FLOAT32, 0, dims);
    } else if ((a = kiln_attr_find(ctx->node, "value_int")) != NULL) {
        kiln_infer_set(ctx, 0, KILN_INT64, 0, dims);
    } else if ((a = kiln_attr_find(ctx->node, "value_floats")) != NULL) {
        dims[0] = a->n;
        kiln_infer_set(ctx, 0, KILN_FLOAT32, 1, dims);
    } else if ((a = kiln_attr_find(ctx->node, "value_ints")) != NULL) {
        dims[0] = a->n;
        kiln_infer_set(ctx, 0, KILN_INT64, 1, dims);
    } else {
        return kiln_error(KILN_ERR_GRAPH, "Constant has no value attribute");
    }
    return KILN_OK;
}

kiln_status kiln_infer_constant_of_shape(kiln_op_ctx *ctx)
{
    int64_t dims[KILN_MAX_RANK];
    int n, known;
    kiln_dtype dt = KILN_FLOAT32;
    const kiln_attr *a = kiln_attr_find(ctx->node, "value");
    if (a) {
        if (a->type != KILN_ATTR_TENSOR || !a->t || kiln_tensor_numel(a->t) != 1)
            return kiln_error(KILN_ERR_GRAPH, "ConstantOfShape's value must be a one-element tensor");
        dt = a->t->dtype;
        if (!kiln_dtype_valid(dt))
            return kiln_unsupported_dtype(ctx, "attribute value", dt);
    }
    KILN_TRY(kiln_tensor_read_input(ctx, 0, dims, KILN_MAX_RANK, &n, &known, "shape"));
    for (int i = 0; i < n; i++) {
        if (!known)
            dims[i] = KILN_DIM_UNKNOWN;
        else if (dims[i] < 0)
            return kiln_error(KILN_ERR_SHAPE, "shape[%d] is %lld, negative", i, (long long)dims[i]);
    }
    kiln_infer_set(ctx, 0, dt, n, dims);
    return kiln_tensor_check_outputs(ctx);
}

/* ---- Shape, Size ------------------------------------------------------------ */

int64_t kiln_tensor_shape_bound(int64_t v, int r)
{
    if (v < 0)
        v += r;
    return v < 0 ? 0 : v > r ? r : v;
}

kiln_status kiln_infer_shape(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    int r = ctx->in[0]->rank;
    int64_t dims[1] = {KILN_DIM_UNKNOWN};
    if (r >= 0) {
        int64_t start = kiln_tensor_shape_bound(kiln_attr_int(ctx->node, "start", 0), r);
        int64_t end = kiln_tensor_shape_bound(kiln_attr_int(ctx->node, "end", r), r);
        dims[0] = end > start ? end - start : 0;
    }
    kiln_infer_set(ctx, 0, KILN_INT64, 1, dims);
    return KILN_OK;
}

kiln_status kiln_infer_size(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    kiln_infer_set(ctx, 0, KILN_INT64, 0, NULL);
    return KILN_OK;
}

/* ---- EyeLike, Range, Trilu ------------------------------------------------------ */

kiln_status kiln_infer_eye_like(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 2, 2));
    kiln_dtype dt = (kiln_dtype)kiln_attr_int(ctx->node, "dtype", ctx->in[0]->dtype);
    if (!kiln_dtype_valid(dt))
        return kiln_unsupported_dtype(ctx, "attribute dtype", dt);
    kiln_infer_set(ctx, 0, dt, 2, ctx->in[0]->dims);
    return KILN_OK;
}

/* The count of an integer range, exact for every int64 start/limit/delta. */
static int64_t range_count_int(int64_t start, int64_t limit, int64_t delta)
{
    if (delta > 0) {
        if (limit <= start)
            return 0;
        uint64_t diff = (uint64_t)limit - (uint64_t)start;
        return (int64_t)((diff - 1) / (uint64_t)delta + 1);
    }
    if (limit >= start)
        return 0;
    uint64_t diff = (uint64_t)start - (uint64_t)limit;
    uint64_t step = (uint64_t)(-(delta + 1)) + 1;
    return (int64_t)((diff - 1) / step + 1);
}

kiln_status kiln_tensor_range_count(const kiln_op_ctx *ctx, int64_t *n)
{
    const kiln_tensor *s = ctx->in[0], *l = ctx->in[1], *d = ctx->in[2];
    for (int i = 0; i < 3; i++)
        if (kiln_tensor_numel(ctx->in[i]) != 1)
            return kiln_error(KILN_ERR_SHAPE, "Range input %d must be a scalar", i);
    if (kiln_dtype_is_float(s->dtype)) {
        double start = kiln_load_f64(s->data, s->dtype, 0), limit = kiln_load_f64(l->data, l->dtype, 0);
        double delta = kiln_load_f64(d->data, d->dtype, 0);
        double c = ceil((limit - start) / delta);
        if (delta == 0 || !isfinite(c))
            return kiln_error(KILN_ERR_SHAPE, "Range(%g, %g, %g) has no finite length", start, limit, delta);
        if (c > (double)INT64_MAX / 2)
            return kiln_error(KILN_ERR_LIMIT, "Range(%g, %g, %g) is too long", start, limit, delta);
        *n = c > 0 ? (int64_t)c : 0;
        return KILN_OK;
    }
    int64_t start = kiln_load_i64(s->data, s->dtype, 0), limit = kiln_load_i64(l->data, l->dtype, 0);
    int64_t delta = kiln_load_i64(d->data, d->dtype, 0);
    if (delta == 0)
        return kiln_error(KILN_ERR_SHAPE, "Range delta is 0");
    *n = range_count_int(start, limit, delta);
    return KILN_OK;
}

kiln_status kiln_infer_range(kiln_op_ctx *ctx)
{
    int64_t dims[1] = {KILN_DIM_UNKNOWN};
    for (int i = 0; i < 3; i++)
        KILN_TRY(kiln_need_input(ctx, i));
    kiln_dtype dt = ctx->in[0]->dtype;
    if (!kiln_dtype_is_float(dt) && !kiln_dtype_is_int(dt))
        return kiln_unsupported_dtype(ctx, "start", dt);
    if (ctx->in[1]->dtype != dt || ctx->in[2]->dtype != dt)
        return kiln_error(KILN_ERR_SHAPE, "Range's start, limit and delta must share one type");
    if (ctx->in[0]->data && ctx->in[1]->data && ctx->in[2]->data)
        KILN_TRY(kiln_tensor_range_count(ctx, &dims[0]));
    kiln_infer_set(ctx, 0, dt, 1, dims);
    return KILN_OK;
}

kiln_status kiln_infer_trilu(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 2, KILN_MAX_RANK));
    if (ctx->n_in > 1 && ctx->in[1] && kiln_tensor_numel(ctx->in[1]) > 1)
        return kiln_error(KILN_ERR_SHAPE, "Trilu's k must be a scalar");
    kiln_infer_copy(ctx, 0, 0);
    return KILN_OK;
}
