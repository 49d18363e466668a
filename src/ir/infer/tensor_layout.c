/*
 * tensor_layout.c - shape inference for ops that reorder, join, cut or pad
 * tensors: Transpose, Concat, Split, Slice, Pad, CenterCropPad,
 * DepthToSpace, SpaceToDepth and ReverseSequence.
 */
#include <string.h>

#include "core/dtype.h"
#include "ir/infer/tensor_infer.h"

kiln_status kiln_infer_transpose(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 0, KILN_MAX_RANK));
    const kiln_tensor *x = ctx->in[0];
    int perm[KILN_MAX_RANK];
    int64_t dims[KILN_MAX_RANK];
    KILN_TRY(kiln_tensor_perm(ctx, x->rank, perm));
    for (int i = 0; i < x->rank; i++)
        dims[i] = x->dims[perm[i]];
    kiln_infer_set(ctx, 0, x->dtype, x->rank, dims);
    return KILN_OK;
}

/* Merges input t's dims into dims (all but the axis must agree; unknown agrees with anything). */
static kiln_status concat_merge(const kiln_tensor *t, int k, int axis, int64_t *dims)
{
    for (int d = 0; d < t->rank; d++) {
        if (d == axis) {
            KILN_TRY(kiln_tensor_dim_add(dims[d], t->dims[d], &dims[d]));
        } else if (dims[d] < 0) {
            dims[d] = t->dims[d];
        } else if (t->dims[d] >= 0 && t->dims[d] != dims[d]) {
            return kiln_error(KILN_ERR_SHAPE, "input %d has extent %lld on axis %d, input 0 %lld", k,
                              (long long)t->dims[d], d, (long long)dims[d]);
        }
    }
    return KILN_OK;
}

kiln_status kiln_infer_concat(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 1, KILN_MAX_RANK));
    const kiln_tensor *x = ctx->in[0];
    int axis;
    int64_t dims[KILN_MAX_RANK];
    if (ctx->opset >= 4 && !kiln_attr_find(ctx->node, "axis"))
        return kiln_error(KILN_ERR_GRAPH, "Concat needs the axis attribute");
    KILN_TRY(kiln_tensor_axis_attr(ctx, "axis", 1, x->rank, &axis));
    memcpy(dims, x->dims, sizeof dims);
    for (int k = 1; k < ctx->n_in; k++) {
        KILN_TRY(kiln_need_input(ctx, k));
        const kiln_tensor *t = ctx->in[k];
        if (t->rank != x->rank)
            return kiln_error(KILN_ERR_SHAPE, "input %d has rank %d, input 0 rank %d", k, t->rank, x->rank);
        if (t->dtype != x->dtype)
            return kiln_error(KILN_ERR_SHAPE, "input %d is %s, input 0 %s", k, kiln_dtype_name(t->dtype),
                              kiln_dtype_name(x->dtype));
        KILN_TRY(concat_merge(t, k, axis, dims));
    }
    kiln_infer_set(ctx, 0, x->dtype, x->rank, dims);
    return kiln_tensor_check_outputs(ctx);
}

kiln_status kiln_infer_split(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 1, KILN_MAX_RANK));
    const kiln_tensor *x = ctx->in[0];
    int64_t sizes[KILN_TENSOR_MAX_SPLIT], dims[KILN_MAX_RANK];
    int axis, known;
    KILN_TRY(kiln_tensor_split_sizes(ctx, &axis, sizes, &known));
    memcpy(dims, x->dims, sizeof dims);
    for (int k = 0; k < ctx->n_out; k++) {
        dims[axis] = sizes[k];
        kiln_infer_set(ctx, k, x->dtype, x->rank, dims);
    }
    return KILN_OK;
}

kiln_status kiln_infer_slice(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 0, KILN_MAX_RANK));
    const kiln_tensor *x = ctx->in[0];
    kiln_slice_plan p;
    int64_t dims[KILN_MAX_RANK];
    KILN_TRY(kiln_tensor_slice_plan(ctx, &p));
    for (int i = 0; i < x->rank; i++)
        dims[i] = !p.sliced[i] ? x->dims[i] : p.known ? p.count[i] : KILN_DIM_UNKNOWN;
    kiln_infer_set(ctx, 0, x->dtype, x->rank, dims);
    return KILN_OK;
}

/* Output dims of a padding plan; removal past the extent is an error. */
static kiln_status padded_dims(const kiln_tensor *x, const kiln_pad_plan *p, int64_t *dims)
{
    for (int i = 0; i < x->rank; i++) {
        int64_t d = x->dims[i];
        dims[i] = d;
        if (!p->padded[i])
            continue;
        if (!p->known || d < 0) {
            dims[i] = KILN_DIM_UNKNOWN;
            continue;
        }
        if (d > INT64_MAX / 2 || p->begin[i] > INT64_MAX / 4 || p->end[i] > INT64_MAX / 4 || p->begin[i] < -d ||
            p->end[i] < -d)
            return kiln_error(KILN_ERR_SHAPE, "pads %lld, %lld are out of range for axis %d of extent %lld",
                              (long long)p->begin[i], (long long)p->end[i], i, (long long)d);
        dims[i] = d + p->begin[i] + p->end[i];
        if (dims[i] < 0)
            return kiln_error(KILN_ERR_SHAPE, "pads %lld, %lld remove more than the extent %lld of axis %d",
                              (long long)p->begin[i], (long long)p->end[i], (long long)d, i);
    }
    return KILN_OK;
}

kiln_status kiln_infer_pad(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 0, KILN_MAX_RANK));
    const kiln_tensor *x = ctx->in[0];
    kiln_pad_plan p;
    int64_t dims[KILN_MAX_RANK];
    KILN_TRY(kiln_tensor_pad_plan(ctx, &p));
    if (ctx->opset >= 11 && ctx->n_in > 2 && ctx->in[2]) {
        if (ctx->in[2]->dtype != x->dtype)
            return kiln_error(KILN_ERR_SHAPE, "constant_value is %s, the data %s", kiln_dtype_name(ctx->in[2]->dtype),
                              kiln_dtype_name(x->dtype));
        if (kiln_tensor_numel(ctx->in[2]) > 1)
            return kiln_error(KILN_ERR_SHAPE, "constant_value must be a scalar");
    }
    KILN_TRY(padded_dims(x, &p, dims));
    kiln_infer_set(ctx, 0, x->dtype, x->rank, dims);
    return kiln_tensor_check_outputs(ctx);
}

kiln_status kiln_infer_center_crop_pad(kiln_op_ctx *ctx)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 0, KILN_MAX_RANK));
    const kiln_tensor *x = ctx->in[0];
    kiln_pad_plan p;
    int64_t dims[KILN_MAX_RANK];
    KILN_TRY(kiln_tensor_center_crop_plan(ctx, &p));
    /* the requested extents, whether or not the input's are known */
    for (int i = 0; i < x->rank; i++)
        dims[i] = p.padded[i] ? p.target[i] : x->dims[i];
    kiln_infer_set(ctx, 0, x->dtype, x->rank, dims);
    return kiln_tensor_check_outputs(ctx);
}

/* ---- DepthToSpace, SpaceToDepth ------------------------------------------- */

kiln_status kiln_tensor_block_params(const kiln_op_ctx *ctx, int64_t *block, int *crd)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 4, 4));
    *block = kiln_attr_int(ctx->node, "blocksize", 0);
    if (*block <= 0 || *block > (int64_t)1 << 20)
        return kiln_error(KILN_ERR_SHAPE, "blocksize %lld is not a positive size", (long long)*block);
    const char *mode = kiln_attr_string(ctx->node, "mode", "DCR");
    if (strcmp(mode, "DCR") != 0 && strcmp(mode, "CRD") != 0)
        return kiln_error(KILN_ERR_UNSUPPORTED, "mode '%s' is not supported (DCR or CRD)", mode);
    *crd = strcmp(mode, "CRD") == 0;
    return KILN_OK;
}

/* A known extent that must divide by k; unknown stays unknown. */
static kiln_status div_dim(int64_t d, int64_t k, const char *what, int64_t *out)
{
    if (d < 0) {
        *out = KILN_DIM_UNKNOWN;
        return KILN_OK;
    }
    if (d % k != 0)
        return kiln_error(KILN_ERR_SHAPE, "%s %lld is not a multiple of %lld", what, (long long)d, (long long)k);
    *out = d / k;
    return KILN_OK;
}

kiln_status kiln_infer_depth_to_space(kiln_op_ctx *ctx)
{
    int64_t b, dims[4];
    int crd;
    KILN_TRY(kiln_tensor_block_params(ctx, &b, &crd));
    const kiln_tensor *x = ctx->in[0];
    dims[0] = x->dims[0];
    KILN_TRY(div_dim(x->dims[1], b * b, "the channel count", &dims[1]));
    KILN_TRY(kiln_tensor_dim_mul(x->dims[2], b, &dims[2]));
    KILN_TRY(kiln_tensor_dim_mul(x->dims[3], b, &dims[3]));
    kiln_infer_set(ctx, 0, x->dtype, 4, dims);
    return kiln_tensor_check_outputs(ctx);
}

kiln_status kiln_infer_space_to_depth(kiln_op_ctx *ctx)
{
    int64_t b, dims[4];
    int crd;
    KILN_TRY(kiln_tensor_block_params(ctx, &b, &crd));
    const kiln_tensor *x = ctx->in[0];
    dims[0] = x->dims[0];
    KILN_TRY(kiln_tensor_dim_mul(x->dims[1], b * b, &dims[1]));
    KILN_TRY(div_dim(x->dims[2], b, "the height", &dims[2]));
    KILN_TRY(div_dim(x->dims[3], b, "the width", &dims[3]));
    kiln_infer_set(ctx, 0, x->dtype, 4, dims);
    return KILN_OK;
}

kiln_status kiln_tensor_reverse_axes(const kiln_op_ctx *ctx, int *batch_axis, int *time_axis)
{
    KILN_TRY(kiln_need_rank(ctx, 0, 2, KILN_MAX_RANK));
    KILN_TRY(kiln_need_rank(ctx, 1, 1, 1));
    int64_t b = kiln_attr_int(ctx->node, "batch_axis", 1), t = kiln_attr_int(ctx->node, "time_axis", 0);
    if ((b != 0 && b != 1) || (t != 0 && t != 1) || b == t)
        return kiln_error(KILN_ERR_SHAPE, "batch_axis %lld and time_axis %lld must be 0 and 1 in some order",
                          (long long)b, (long long)t);
    int64_t nb = ctx->in[0]->dims[b], ns = ctx->in[1]->dims[0];
    if (nb >= 0 && ns >= 0 && nb != ns)
        return kiln_error(KILN_ERR_SHAPE, "sequence_lens has %lld entries for a batch of %lld", (long long)ns,
                          (long long)nb);
    *batch_axis = (int)b;
    *time_axis = (int)t;
    return KILN_OK;
}

kiln_status kiln_infer_reverse_sequence(kiln_op_ctx *ctx)
{
    int b, t;
    KILN_TRY(kiln_tensor_reverse_axes(ctx, &b, &t));
    kiln_infer_copy(ctx, 0, 0);
    return KILN_OK;
}
