/*
 * conv_pool_unpool.c - CPU kernels for MaxUnpool and MaxRoiPool.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "backends/cpu/cpu_util.h"
#include "backends/cpu/ops/conv_pool_kernels.h"
#include "core/dtype.h"
#include "ir/infer/conv_pool_infer.h"

/* The flat position in the output (shape out) of flat position idx in the
 * unpooled shape `full` (the unpooled block sits at the start of each axis). */
static int64_t place(int rank, const int64_t *full, const int64_t *out, int64_t idx)
{
    int64_t coord[KILN_MAX_RANK], pos = 0;
    for (int d = rank - 1; d >= 0; d--) {
        coord[d] = idx % full[d];
        idx /= full[d];
    }
    for (int d = 0; d < rank; d++)
        pos = pos * out[d] + coord[d];
    return pos;
}

kiln_status kiln_cpu_max_unpool(kiln_op_ctx *ctx)
{
    int64_t full[KILN_MAX_RANK], total;
    KILN_TRY(kiln_max_unpool_shape(ctx, full));
    const kiln_tensor *x = ctx->in[0], *ind = ctx->in[1];
    kiln_tensor *y = ctx->out[0];
    int rank = x->rank;
    if (!kiln_is_std_float(x->dtype) || y->dtype != x->dtype)
        return kiln_unsupported_dtype(ctx, "input 0", x->dtype);
    if (ind->dtype != KILN_INT64 || kiln_tensor_numel(ind) != kiln_tensor_numel(x))
        return kiln_error(KILN_ERR_SHAPE, "input 1 (I) must be int64 with the shape of input 0");
    if (y->rank != rank)
        return kiln_error(KILN_ERR_SHAPE, "output 0 has rank %d, expected %d", y->rank, rank);
    for (int d = 0; d < rank; d++)
        if (y->dims[d] < full[d])
            return kiln_error(KILN_ERR_SHAPE, "output extent %lld on axis %d is below the unpooled %lld",
                              (long long)y->dims[d], d, (long long)full[d]);
    KILN_TRY(kiln_shape_numel(full, rank, &total, "unpooled shape"));
    size_t es = kiln_dtype_size(x->dtype);
    int64_t n = kiln_tensor_numel(x);
    const int64_t *idx = ind->data;
    memset(y->data, 0, y->nbytes);
    for (int64_t i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= total)
            return kiln_error(KILN_ERR_SHAPE, "input 1 (I) element %lld is %lld, outside 0..%lld", (long long)i,
                              (long long)idx[i], (long long)(total - 1));
        int64_t pos = place(rank, full, y->dims, idx[i]);
        memcpy((char *)y->data + (size_t)pos * es, (const char *)x->data + (size_t)i * es, es);
    }
    return KILN_OK;
}

/* An RoI coordinate scaled and rounded half away from zero, kept in a range
 * where the window arithmetic cannot overflow. */
static int64_t roi_coord(double v, double scale)
{
    double r = round(v * scale);
    if (!(r > -1e12))
        return (int64_t)-1e12;
    return r > 1e12 ? (int64_t)1e12 : (int64_t)r;
}

/* [lo, hi) of bin b (of bins) of an RoI axis starting at start with extent
 * len, clamped to [0, size). */
static void roi_bin(int64_t b, int64_t bins, int64_t start, int64_t len, int64_t size, int64_t *lo, int64_t *hi)
{
    double bin = (double)len / (double)bins;
    int64_t l = (int64_t)floor((double)b * bin) + start, h = (int64_t)ceil((double)(b + 1) * bin) + start;
    *lo = l < 0 ? 0 : l > size ? size : l;
    *hi = h < 0 ? 0 : h > size ? size : h;
}

/* Max over the bins of one RoI for every channel. */
static void roi_pool_one(const kiln_tensor *x, const int64_t *box, int64_t batch, const int64_t *pooled, kiln_tensor *y,
                         int64_t roi)
{
    int64_t c_n = x->dims[1], h = x->dims[2], w = x->dims[3];
    int64_t rh = box[3] - box[1] + 1, rw = box[2] - box[0] + 1;
    rh = rh < 1 ? 1 : rh;
    rw = rw < 1 ? 1 : rw;
    for (int64_t c = 0; c < c_n; c++) {
        int64_t plane = (batch * c_n + c) * h * w;
        for (int64_t ph = 0; ph < pooled[0]; ph++) {
            for (int64_t pw = 0; pw < pooled[1]; pw++) {
                int64_t h0, h1, w0, w1;
                roi_bin(ph, pooled[0], box[1], rh, h, &h0, &h1);
                roi_bin(pw, pooled[1], box[0], rw, w, &w0, &w1);
                double best = h1 > h0 && w1 > w0 ? -DBL_MAX : 0.0;
                for (int64_t i = h0; i < h1; i++)
                    for (int64_t j = w0; j < w1; j++) {
                        double v = kiln_load_f64(x->data, x->dtype, (size_t)(plane + i * w + j));
                        best = v > best ? v : best;
                    }
                int64_t o = ((roi * c_n + c) * pooled[0] + ph) * pooled[1] + pw;
                kiln_store_f64(y->data, y->dtype, (size_t)o, best);
            }
        }
    }
}

kiln_status kiln_cpu_max_roi_pool(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 4, 4));
    KILN_TRY(kiln_need_rank(ctx, 1, 2, 2));
    const kiln_tensor *x = ctx->in[0], *rois = ctx->in[1];
    kiln_tensor *y = ctx->out[0];
    if (!kiln_is_std_float(x->dtype) || rois->dtype != x->dtype || y->dtype != x->dtype)
        return kiln_unsupported_dtype(ctx, "input 0", x->dtype);
    if (rois->dims[1] != 5)
        return kiln_error(KILN_ERR_SHAPE, "input 1 (rois) has %lld columns, expected 5", (long long)rois->dims[1]);
    const int64_t *pooled;
    int64_t count;
    if (!kiln_attr_ints(ctx->node, "pooled_shape", &pooled, &count) || count != 2 || pooled[0] < 1 || pooled[1] < 1)
        return kiln_error(KILN_ERR_SHAPE, "attribute pooled_shape must hold two positive values");
    int64_t dims[4] = {rois->dims[0], x->dims[1], pooled[0], pooled[1]};
    KILN_TRY(kiln_cp_check_out(ctx, 0, 4, dims));
    double scale = kiln_attr_float(ctx->node, "spatial_scale", 1.0f);
    for (int64_t r = 0; r < rois->dims[0]; r++) {
        double batch = kiln_load_f64(rois->data, rois->dtype, (size_t)(r * 5));
        if (!(batch >= 0 && batch < (double)x->dims[0]))
            return kiln_error(KILN_ERR_SHAPE, "input 1 (rois) row %lld names batch %g, outside 0..%lld", (long long)r,
                              batch, (long long)(x->dims[0] - 1));
        int64_t box[4];
        for (int i = 0; i < 4; i++)
            box[i] = roi_coord(kiln_load_f64(rois->data, rois->dtype, (size_t)(r * 5 + 1 + i)), scale);
        roi_pool_one(x, box, (int64_t)batch, pooled, y, r);
    }
    return KILN_OK;
}
