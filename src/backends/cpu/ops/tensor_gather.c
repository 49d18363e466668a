/*
 * tensor_gather.c - kernels that select by index or mask: Gather,
 * GatherElements, GatherND, OneHot, Compress, NonZero and Unique. Every
 * index is checked before it is used; negative indices count from the end
 * once. Gather's copies are shared over the thread pool when they are large.
 */
#include <string.h>

#include "backends/cpu/cpu_util.h"
#include "backends/cpu/ops/tensor_kernels.h"
#include "core/dtype.h"
#include "core/thread_pool.h"

typedef struct gather_rows_job {
    const kiln_tensor *x, *idx;
    char *y;
    int64_t m, n;
    size_t block;
} gather_rows_job;

/* Output blocks [begin, end) (block o * m + j is input block o * n + idx[j]);
 * the indices were checked beforehand. */
static void gather_rows(void *user, int64_t begin, int64_t end, int thread)
{
    (void)thread;
    const gather_rows_job *g = user;
    for (int64_t i = begin; i < end; i++) {
        int64_t o = i / g->m, v = 0;
        (void)kiln_load_index(g->idx, i % g->m, g->n, &v);
        memcpy(g->y + (size_t)i * g->block, (const char *)g->x->data + (size_t)(o * g->n + v) * g->block, g->block);
    }
}

/* Bytes a chunk of the parallel copy should move at least. */
#define GATHER_GRAIN_BYTES 65536

kiln_status kiln_cpu_gather(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0], *idx = ctx->in[1];
    int axis;
    size_t es;
    int64_t outer, n, inner, m = kiln_tensor_numel(idx), v;
    KILN_TRY(kiln_tensor_esize(ctx, 0, &es));
    KILN_TRY(kiln_tensor_axis_attr(ctx, "axis", 0, x->rank, &axis));
    KILN_TRY(kiln_split_at_axis(x, axis, &outer, &n, &inner));
    for (int64_t j = 0; j < m; j++)
        KILN_TRY(kiln_load_index(idx, j, n, &v));
    gather_rows_job g = {x, idx, ctx->out[0]->data, m, n, (size_t)inner * es};
    if (m == 0 || g.block == 0)
        return KILN_OK;
    int64_t grain = g.block >= GATHER_GRAIN_BYTES ? 1 : (int64_t)(GATHER_GRAIN_BYTES / g.block);
    kiln_parallel_for_grain(outer * m, grain, gather_rows, &g);
    return KILN_OK;
}

typedef struct gather_job {
    const char *x;
    char *y;
    size_t es;
} gather_job;

static void gather_element(void *user, int64_t i, int64_t at)
{
    const gather_job *j = user;
    memcpy(j->y + (size_t)i * j->es, j->x + (size_t)at * j->es, j->es);
}

kiln_status kiln_cpu_gather_elements(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0], *idx = ctx->in[1];
    int axis, r = x->rank;
    size_t es;
    KILN_TRY(kiln_tensor_esize(ctx, 0, &es));
    KILN_TRY(kiln_tensor_axis_attr(ctx, "axis", 0, r, &axis));
    if (idx->rank != r)
        return kiln_error(KILN_ERR_SHAPE, "indices have rank %d, the data rank %d", idx->rank, r);
    for (int i = 0; i < r; i++)
        if (i != axis && idx->dims[i] > x->dims[i])
            return kiln_error(KILN_ERR_SHAPE, "indices extent %lld on axis %d exceeds the data's %lld",
                              (long long)idx->dims[i], i, (long long)x->dims[i]);
    gather_job job = {x->data, ctx->out[0]->data, es};
    return kiln_walk_elements(x, idx, axis, gather_element, &job);
}

kiln_status kiln_cpu_gather_nd(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0], *idx = ctx->in[1];
    size_t es;
    int64_t b64 = kiln_attr_int(ctx->node, "batch_dims", 0), k64 = idx->dims[idx->rank - 1];
    int64_t xs[KILN_MAX_RANK], batches, tuples, slice, v;
    KILN_TRY(kiln_tensor_esize(ctx, 0, &es));
    if (b64 < 0 || b64 >= idx->rank || b64 >= x->rank || k64 < 1 || k64 > x->rank - b64)
        return kiln_error(KILN_ERR_SHAPE, "batch_dims %lld and tuple length %lld do not fit ranks %d and %d",
                          (long long)b64, (long long)k64, x->rank, idx->rank);
    int b = (int)b64, k = (int)k64, q = idx->rank;
    KILN_TRY(kiln_shape_numel(x->dims, b, &batches, "batch dims"));
    KILN_TRY(kiln_shape_numel(idx->dims + b, q - 1 - b, &tuples, "index tuples"));
    KILN_TRY(kiln_shape_numel(x->dims + b + k, x->rank - b - k, &slice, "gathered slice"));
    kiln_strides(x->dims, x->rank, xs);
    int64_t batch_stride = b > 0 ? xs[b - 1] : 0;
    size_t block = (size_t)slice * es;
    char *dst = ctx->out[0]->data;
    for (int64_t bi = 0; bi < batches; bi++)
        for (int64_t t = 0; t < tuples; t++, dst += block) {
            int64_t at = (bi * tuples + t) * k, off = bi * batch_stride;
            for (int j = 0; j < k; j++) {
                KILN_TRY(kiln_load_index(idx, at + j, x->dims[b + j], &v));
                off += v * xs[b + j];
            }
            memcpy(dst, (const char *)x->data + (size_t)off * es, block);
        }
    return KILN_OK;
}

kiln_status kiln_cpu_one_hot(kiln_op_ctx *ctx)
{
    const kiln_tensor *idx = ctx->in[0], *vals = ctx->in[2];
    kiln_tensor *y = ctx->out[0];
    int axis;
    int64_t depth, outer, inner;
    size_t es = kiln_dtype_size(vals->dtype);
    KILN_TRY(kiln_tensor_one_hot_params(ctx, &axis, &depth));
    if (es == 0)
        return kiln_unsupported_dtype(ctx, "values", vals->dtype);
    KILN_TRY(kiln_shape_numel(idx->dims, axis, &outer, "indices"));
    KILN_TRY(kiln_shape_numel(idx->dims + axis, idx->rank - axis, &inner, "indices"));
    const char *off_value = vals->data, *on_value = (const char *)vals->data + es;
    kiln_fill_elem(y->data, off_value, es, kiln_tensor_numel(y));
    /* indices outside [-depth, depth) leave their row all off_value (the spec's rule) */
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t v = kiln_load_i64(idx->data, idx->dtype, (size_t)(o * inner + i));
            if (v < 0)
                v += depth;
            if (v >= 0 && v < depth)
                memcpy((char *)y->data + (size_t)((o * depth + v) * inner + i) * es, on_value, es);
        }
    return KILN_OK;
}

kiln_status kiln_cpu_compress(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0], *c = ctx->in[1];
    int axis;
    int64_t count, outer = 1, inner = 1, extent = kiln_tensor_numel(x);
    size_t es;
    KILN_TRY(kiln_tensor_esize(ctx, 0, &es));
    KILN_TRY(kiln_tensor_compress_params(ctx, &axis, &count));
    if (axis >= 0)
        KILN_TRY(kiln_split_at_axis(x, axis, &outer, &extent, &inner));
    int64_t clen = c->dims[0] < extent ? c->dims[0] : extent;
    size_t block = (size_t)inner * es;
    char *dst = ctx->out[0]->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t s = 0; s < clen; s++)
            if (kiln_tensor_nonzero_at(c, s)) {
                memcpy(dst, (const char *)x->data + (size_t)(o * extent + s) * block, block);
                dst += block;
            }
    return KILN_OK;
}

kiln_status kiln_cpu_nonzero(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0];
    kiln_tensor *y = ctx->out[0];
    int r = x->rank;
    int64_t n = kiln_tensor_numel(x), nnz = y->dims[1], pos[KILN_MAX_RANK] = {0}, found = 0;
    int64_t *out = y->data;
    if (!kiln_dtype_valid(x->dtype))
        return kiln_unsupported_dtype(ctx, "X", x->dtype);
    for (int64_t i = 0; i < n; i++) {
        if (kiln_tensor_nonzero_at(x, i)) {
            if (found >= nnz)
                return kiln_error(KILN_ERR_INTERNAL, "NonZero: more nonzeros than the output holds");
            for (int d = 0; d < r; d++)
                out[d * nnz + found] = pos[d];
            found++;
        }
        for (int d = r - 1; d >= 0 && ++pos[d] == x->dims[d]; d--)
            pos[d] = 0;
    }
    if (found != nnz && r > 0)
        return kiln_error(KILN_ERR_INTERNAL, "NonZero: %lld nonzeros for an output of %lld", (long long)found,
                          (long long)nnz);
    return KILN_OK;
}

/* Unique's Y: the first occurrence of every group, in output order. */
static kiln_status unique_values(kiln_op_ctx *ctx, const kiln_unique_result *u, size_t es)
{
    const kiln_tensor *x = ctx->in[0];
    kiln_tensor *y = ctx->out[0];
    int64_t outer = 1, len, inner = 1;
    if (u->axis >= 0)
        KILN_TRY(kiln_split_at_axis(x, u->axis, &outer, &len, &inner));
    if (kiln_tensor_numel(y) != outer * inner * u->n_unique)
        return kiln_error(KILN_ERR_INTERNAL, "Unique: output Y does not match the groups found");
    size_t block = (size_t)inner * es;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t g = 0; g < u->n_unique; g++)
            memcpy((char *)y->data + (size_t)(o * u->n_unique + g) * block,
                   (const char *)x->data + (size_t)(o * u->n_slices + u->first[g]) * block, block);
    return KILN_OK;
}

kiln_status kiln_cpu_unique(kiln_op_ctx *ctx)
{
    kiln_unique_result u;
    size_t es;
    KILN_TRY(kiln_tensor_esize(ctx, 0, &es));
    KILN_TRY(kiln_unique_compute(ctx, &u));
    const int64_t *src[4] = {NULL, u.first, u.inverse, u.counts};
    int64_t len[4] = {0, u.n_unique, u.n_slices, u.n_unique};
    kiln_status st = ctx->out[0] ? unique_values(ctx, &u, es) : KILN_OK;
    for (int k = 1; k < 4 && k < ctx->n_out && st == KILN_OK; k++) {
        if (!ctx->out[k])
            continue;
        if (kiln_tensor_numel(ctx->out[k]) != len[k])
            st = kiln_error(KILN_ERR_INTERNAL, "Unique: output %d does not match the groups found", k);
        else if (len[k])
            memcpy(ctx->out[k]->data, src[k], (size_t)len[k] * sizeof(int64_t));
    }
    kiln_unique_free(&u);
    return st;
}
