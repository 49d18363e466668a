/*
 * conv_pool_pool.c - shape inference for the pools (MaxPool, AveragePool,
 * LpPool, the global pools, MaxRoiPool), MaxUnpool and Col2Im.
 */
#include "core/dtype.h"
#include "ir/infer/conv_pool_geometry.h"
#include "ir/infer/conv_pool_infer.h"
#include "ir/infer/infer_util.h"

/* Sets out[o] to [N, C, w->out...] of X = in[0] with dtype dt. */
static void set_pooled(kiln_op_ctx *ctx, int o, kiln_dtype dt, const kiln_window *w)
{
    int64_t dims[KILN_MAX_RANK];
    dims[0] = ctx->in[0]->dims[0];
    dims[1] = ctx->in[0]->dims[1];
    for (int i = 0; i < w->n; i++)
        dims[2 + i] = w->out[i];
    kiln_infer_set(ctx, o, dt, w->n + 2, dims);
}

/* The windowed pools: outputs of unknown rank while X's rank is unknown. */
static kiln_status infer_window_pool(kiln_op_ctx *ctx, kiln_dtype index_dt)
{
    kiln_dtype dt = ctx->in[0]->dtype;
    if (ctx->in[0]->rank < 0) {
        kiln_infer_set(ctx, 0, dt, -1, NULL);
        kiln_infer_set(ctx, 1, index_dt, -1, NULL);
        return KILN_OK;
    }
    kiln_window w;
    KILN_TRY(kiln_pool_geometry(ctx, &w));
    set_pooled(ctx, 0, dt, &w);
    set_pooled(ctx, 1, index_dt, &w);
    return KILN_OK;
}

kiln_status kiln_cp_max_pool_attrs(const kiln_op_ctx *ctx, int64_t *order)
{
    kiln_dtype dt = ctx->in[0]->dtype;
    if (!kiln_is_std_float(dt) && dt != KILN_INT8 && dt != KILN_UINT8)
        return kiln_unsupported_dtype(ctx, "input 0", dt);
    *order = kiln_attr_int(ctx->node, "storage_order", 0);
    if (*order != 0 && *order != 1)
        return kiln_error(KILN_ERR_UNSUPPORTED, "attribute storage_order is %lld, expected 0 or 1", (long long)*order);
    return KILN_OK;
}

kiln_status kiln_cp_average_pool_attrs(const kiln_op_ctx *ctx, int64_t *count_include_pad)
{
    if (!kiln_is_std_float(ctx->in[0]->dtype))
        return kiln_unsupported_dtype(ctx, "input 0", ctx->in[0]->dtype);
    *count_include_pad = kiln_attr_int(ctx->node, "count_include_pad", 0);
    if (*count_include_pad != 0 && *count_include_pad != 1)
        return kiln_error(KILN_ERR_UNSUPPORTED, "attribute count_include_pad is %lld, expected 0 or 1",
                          (long long)*count_include_pad);
    return KILN_OK;
}

kiln_status kiln_infer_max_pool(kiln_op_ctx *ctx)
{
    int64_t order;
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(kiln_cp_max_pool_attrs(ctx, &order));
    return infer_window_pool(ctx, KILN_INT64);
}

kiln_status kiln_infer_average_pool(kiln_op_ctx *ctx)
{
    int64_t cip;
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(kiln_cp_average_pool_attrs(ctx, &cip));
    return infer_window_pool(ctx, KILN_UNDEFINED);
}

kiln_status kiln_cp_read_p(const kiln_op_ctx *ctx, double *p)
{
    /* opset 1 of LpPool and GlobalLpPool had a float p, later ones an int */
    const kiln_attr *a = kiln_attr_find(ctx->node, "p");
    *p = !a ? 2.0 : a->type == KILN_ATTR_FLOAT ? (double)a->f : (double)a->i;
    if (!(*p > 0.0) || (a && a->type != KILN_ATTR_FLOAT && a->type != KILN_ATTR_INT))
        return kiln_error(KILN_ERR_UNSUPPORTED, "attribute p must be a positive number");
    return KILN_OK;
}

kiln_status kiln_infer_lp_pool(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    if (!kiln_is_std_float(ctx->in[0]->dtype))
        return kiln_unsupported_dtype(ctx, "input 0", ctx->in[0]->dtype);
    double p;
    KILN_TRY(kiln_cp_read_p(ctx, &p));
    return infer_window_pool(ctx, KILN_UNDEFINED);
}

kiln_status kiln_infer_global_pool(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    const kiln_tensor *x = ctx->in[0];
    if (!kiln_is_std_float(x->dtype))
        return kiln_unsupported_dtype(ctx, "input 0", x->dtype);
    double p;
    KILN_TRY(kiln_cp_read_p(ctx, &p));
    if (x->rank < 0) {
        kiln_infer_set(ctx, 0, x->dtype, -1, NULL);
        return KILN_OK;
    }
    KILN_TRY(kiln_need_rank(ctx, 0, 2, KILN_MAX_RANK));
    int64_t dims[KILN_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        dims[i] = i < 2 ? x->dims[i] : 1;
    kiln_infer_set(ctx, 0, x->dtype, x->rank, dims);
    return KILN_OK;
}

kiln_status kiln_max_unpool_shape(const kiln_op_ctx *ctx, int64_t *dims)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 3, KILN_MAX_RANK));
    const kiln_tensor *x = ctx->in[0];
    kiln_window w;
    KILN_TRY(kiln_window_read(ctx, x->rank - 2, NULL, &w));
    KILN_TRY(kiln_window_transpose(&w, x->dims + 2, NULL, NULL));
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int i = 0; i < w.n; i++)
        dims[2 + i] = w.out[i];
    return KILN_OK;
}

kiln_status kiln_infer_max_unpool(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_input(ctx, 0));
    KILN_TRY(kiln_need_input(ctx, 1));
    const kiln_tensor *x = ctx->in[0], *idx = ctx->in[1];
    const kiln_tensor *shape = ctx->n_in > 2 ? ctx->in[2] : NULL;
    if (!kiln_is_std_float(x->dtype))
        return kiln_unsupported_dtype(ctx, "input 0", x->dtype);
    if (idx->dtype != KILN_INT64)
        return kiln_unsupported_dtype(ctx, "input 1", idx->dtype);
    if (shape && shape->dtype != KILN_INT64)
        return kiln_unsupported_dtype(ctx, "input 2", shape->dtype);
    if (x->rank < 0) {
        kiln_infer_set(ctx, 0, x->dtype, -1, NULL);
        return KILN_OK;
    }
    int64_t dims[KILN_MAX_RANK];
    KILN_TRY(kiln_max_unpool_shape(ctx, dims));
    if (shape && shape->data) {
        int count;
        int64_t want[KILN_MAX_RANK];
        KILN_TRY(kiln_read_ints(shape, want, KILN_MAX_RANK, &count, "input 2 (output_shape)"));
        if (count != x->rank)
            return kiln_error(KILN_ERR_SHAPE, "input 2 (output_shape) has %d values, expected %d", count, x->rank);
        for (int i = 0; i < count; i++) {
            /* the unpooled block is placed at the start of each axis */
            if (want[i] < 0 || (dims[i] >= 0 && want[i] < dims[i]))
                return kiln_error(KILN_ERR_SHAPE, "input 2 (output_shape)[%d] is %lld, smaller than the unpooled %lld",
                                  i, (long long)want[i], (long long)dims[i]);
            dims[i] = want[i];
        }
    } else if (shape) {
        for (int i = 0; i < x->rank; i++)
            dims[i] = KILN_DIM_UNKNOWN;
    }
    kiln_infer_set(ctx, 0, x->dtype, x->rank, dims);
    return KILN_OK;
}

kiln_status kiln_infer_max_roi_pool(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 4, 4));
    KILN_TRY(kiln_need_rank(ctx, 1, 2, 2));
    const kiln_tensor *x = ctx->in[0], *rois = ctx->in[1];
    if (!kiln_is_std_float(x->dtype))
        return kiln_unsupported_dtype(ctx, "input 0", x->dtype);
    if (rois->dtype != x->dtype)
        return kiln_unsupported_dtype(ctx, "input 1", rois->dtype);
    if (rois->dims[1] >= 0 && rois->dims[1] != 5)
        return kiln_error(KILN_ERR_SHAPE, "input 1 (rois) has %lld columns, expected 5", (long long)rois->dims[1]);
    const int64_t *pooled;
    int64_t count;
    if (!kiln_attr_ints(ctx->node, "pooled_shape", &pooled, &count))
        return kiln_error(KILN_ERR_GRAPH, "attribute pooled_shape is required");
    if (count != 2)
        return kiln_error(KILN_ERR_SHAPE, "attribute pooled_shape has %lld values, expected 2", (long long)count);
    for (int i = 0; i < 2; i++)
        if (pooled[i] < 1 || pooled[i] > KILN_WINDOW_MAX_EXTENT)
            return kiln_error(KILN_ERR_SHAPE, "attribute pooled_shape[%d] is %lld, expected 1..%lld", i,
                              (long long)pooled[i], (long long)KILN_WINDOW_MAX_EXTENT);
    int64_t dims[4] = {rois->dims[0], x->dims[1], pooled[0], pooled[1]};
    kiln_infer_set(ctx, 0, x->dtype, 4, dims);
    return KILN_OK;
}

static int col2im_dtype(kiln_dtype dt)
{
    return kiln_is_std_float(dt) || dt == KILN_INT8 || dt == KILN_UINT8 || dt == KILN_INT16 || dt == KILN_UINT16 ||
           dt == KILN_INT32 || dt == KILN_UINT32 || dt == KILN_INT64 || dt == KILN_UINT64;
}

kiln_status kiln_col2im_window(const kiln_op_ctx *ctx, int64_t *image, kiln_window *w, int64_t *k, int64_t *blocks)
{
    int64_t block[KILN_MAX_RANK];
    int n, nb;
    KILN_TRY(kiln_read_ints(ctx->in[1], image, KILN_MAX_RANK - 2, &n, "input 1 (image_shape)"));
    KILN_TRY(kiln_read_ints(ctx->in[2], block, KILN_MAX_RANK - 2, &nb, "input 2 (block_shape)"));
    if (n != nb || n < 1)
        return kiln_error(KILN_ERR_SHAPE, "input 1 (image_shape) has %d values and input 2 (block_shape) %d", n, nb);
    for (int i = 0; i < n; i++)
        if (block[i] < 1 || image[i] < 0)
            return kiln_error(KILN_ERR_SHAPE, "spatial axis %d: image extent %lld, block extent %lld", i,
                              (long long)image[i], (long long)block[i]);
    KILN_TRY(kiln_window_read(ctx, n, block, w));
    KILN_TRY(kiln_window_forward(w, image));
    KILN_TRY(kiln_shape_numel(block, n, k, "block_shape"));
    return kiln_shape_numel(w->out, n, blocks, "sliding blocks");
}

/* Col2Im once image_shape and block_shape are known: C from the block size,
 * and the column count must match the sliding-block grid. */
static kiln_status col2im_dims(kiln_op_ctx *ctx, int64_t *dims, int *rank)
{
    const kiln_tensor *x = ctx->in[0];
    int64_t image[KILN_MAX_RANK], k, blocks;
    kiln_window w;
    KILN_TRY(kiln_col2im_window(ctx, image, &w, &k, &blocks));
    if (x->dims[1] >= 0 && x->dims[1] % k != 0)
        return kiln_error(KILN_ERR_SHAPE, "input 0 has %lld rows, not a multiple of the block size %lld",
                          (long long)x->dims[1], (long long)k);
    if (x->dims[2] >= 0 && x->dims[2] != blocks)
        return kiln_error(KILN_ERR_SHAPE, "input 0 has %lld columns, but the image holds %lld sliding blocks",
                          (long long)x->dims[2], (long long)blocks);
    *rank = w.n + 2;
    dims[0] = x->dims[0];
    dims[1] = x->dims[1] >= 0 ? x->dims[1] / k : KILN_DIM_UNKNOWN;
    for (int i = 0; i < w.n; i++)
        dims[2 + i] = image[i];
    return KILN_OK;
}

kiln_status kiln_infer_col2im(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 3, 3));
    KILN_TRY(kiln_need_rank(ctx, 1, 1, 1));
    KILN_TRY(kiln_need_rank(ctx, 2, 1, 1));
    const kiln_tensor *x = ctx->in[0];
    if (!col2im_dtype(x->dtype))
        return kiln_unsupported_dtype(ctx, "input 0", x->dtype);
    int64_t dims[KILN_MAX_RANK];
    int rank = -1;
    if (ctx->in[1]->data && ctx->in[2]->data) {
        KILN_TRY(col2im_dims(ctx, dims, &rank));
    } else if (ctx->in[1]->dims[0] >= 0) {
        if (ctx->in[1]->dims[0] < 1 || ctx->in[1]->dims[0] > KILN_MAX_RANK - 2)
            return kiln_error(KILN_ERR_SHAPE, "input 1 (image_shape) has %lld values, expected 1..%d",
                              (long long)ctx->in[1]->dims[0], KILN_MAX_RANK - 2);
        rank = (int)ctx->in[1]->dims[0] + 2;
        dims[0] = x->dims[0];
        for (int i = 1; i < rank; i++)
            dims[i] = KILN_DIM_UNKNOWN;
    }
    kiln_infer_set(ctx, 0, x->dtype, rank, dims);
    return KILN_OK;
}
