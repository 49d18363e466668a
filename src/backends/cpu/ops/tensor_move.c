/*
 * tensor_move.c - kernels that reorder or replicate elements through strided
 * views: Transpose, DepthToSpace, SpaceToDepth, Slice, Expand, Tile, and the
 * block copies of Concat and Split (Concat's rows split over the thread
 * pool; the strided views through kiln_copy_strided, which splits too).
 */
#include <string.h>

#include "backends/cpu/cpu_util.h"
#include "backends/cpu/ops/tensor_kernels.h"
#include "core/thread_pool.h"

/* Output = the view (dims, strides over src) in row-major order. */
static void gather_view(kiln_tensor *y, const void *src, const int64_t *dims, const int64_t *strides, int rank,
                        size_t es)
{
    int64_t dst_strides[KILN_COPY_MAX_RANK];
    kiln_strides(dims, rank, dst_strides);
    kiln_copy_strided(y->data, dst_strides, src, strides, dims, rank, es);
}

/* Permutes a (virtual) reshape of x to `view` dims by perm. */
static void permute_view(kiln_tensor *y, const void *x, const int64_t *view, int rank, const int *perm, size_t es)
{
    int64_t vs[KILN_COPY_MAX_RANK], dims[KILN_COPY_MAX_RANK], strides[KILN_COPY_MAX_RANK];
    kiln_strides(view, rank, vs);
    for (int i = 0; i < rank; i++) {
        dims[i] = view[perm[i]];
        strides[i] = vs[perm[i]];
    }
    gather_view(y, x, dims, strides, rank, es);
}

kiln_status kiln_cpu_transpose(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0];
    int perm[KILN_MAX_RANK];
    size_t es;
    KILN_TRY(kiln_tensor_esize(ctx, 0, &es));
    KILN_TRY(kiln_tensor_perm(ctx, x->rank, perm));
    permute_view(ctx->out[0], x->data, x->dims, x->rank, perm, es);
    return KILN_OK;
}

/* DepthToSpace / SpaceToDepth: the element size, block size and mode. */
static kiln_status block_setup(const kiln_op_ctx *ctx, size_t *es, int64_t *b, int *crd)
{
    KILN_TRY(kiln_tensor_esize(ctx, 0, es));
    return kiln_tensor_block_params(ctx, b, crd);
}

kiln_status kiln_cpu_depth_to_space(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0];
    int64_t b;
    int crd;
    size_t es;
    KILN_TRY(block_setup(ctx, &es, &b, &crd));
    int64_t n = x->dims[0], c = x->dims[1] / (b * b), h = x->dims[2], w = x->dims[3];
    /* DCR: x as [n, b, b, c, h, w] -> [n, c, h, b, w, b]; CRD: x as [n, c, b, b, h, w] */
    static const int dcr[6] = {0, 3, 4, 1, 5, 2}, crd_perm[6] = {0, 1, 4, 2, 5, 3};
    int64_t view_dcr[6] = {n, b, b, c, h, w}, view_crd[6] = {n, c, b, b, h, w};
    permute_view(ctx->out[0], x->data, crd ? view_crd : view_dcr, 6, crd ? crd_perm : dcr, es);
    return KILN_OK;
}

kiln_status kiln_cpu_space_to_depth(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0];
    int64_t b;
    int crd;
    size_t es;
    KILN_TRY(block_setup(ctx, &es, &b, &crd));
    /* x as [n, c, h/b, b, w/b, b] -> DCR [n, b, b, c, h/b, w/b] or CRD [n, c, b, b, h/b, w/b] */
    static const int dcr[6] = {0, 3, 5, 1, 2, 4}, crd_perm[6] = {0, 1, 3, 5, 2, 4};
    int64_t view[6] = {x->dims[0], x->dims[1], x->dims[2] / b, b, x->dims[3] / b, b};
    permute_view(ctx->out[0], x->data, view, 6, crd ? crd_perm : dcr, es);
    return KILN_OK;
}

kiln_status kiln_cpu_slice(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0];
    kiln_slice_plan p;
    int64_t xs[KILN_MAX_RANK], strides[KILN_MAX_RANK], offset = 0;
    size_t es;
    KILN_TRY(kiln_tensor_esize(ctx, 0, &es));
    KILN_TRY(kiln_tensor_slice_plan(ctx, &p));
    if (!p.known)
        return kiln_error(KILN_ERR_INTERNAL, "Slice: parameters not known at run time");
    kiln_strides(x->dims, x->rank, xs);
    for (int i = 0; i < x->rank; i++) {
        if (p.count[i] != ctx->out[0]->dims[i])
            return kiln_error(KILN_ERR_INTERNAL, "Slice: axis %d has %lld elements, the output %lld", i,
                              (long long)p.count[i], (long long)ctx->out[0]->dims[i]);
        strides[i] = xs[i] * p.step[i];
        offset += p.start[i] * xs[i];
    }
    if (kiln_tensor_numel(ctx->out[0]) == 0)
        return KILN_OK;
    gather_view(ctx->out[0], (const char *)x->data + offset * (int64_t)es, p.count, strides, x->rank, es);
    return KILN_OK;
}

kiln_status kiln_cpu_expand(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0];
    kiln_tensor *y = ctx->out[0];
    int64_t strides[KILN_MAX_RANK];
    size_t es;
    KILN_TRY(kiln_tensor_esize(ctx, 0, &es));
    if (x->rank > y->rank)
        return kiln_error(KILN_ERR_INTERNAL, "Expand: output rank %d below the input's %d", y->rank, x->rank);
    kiln_bcast_strides(x, y->rank, y->dims, strides);
    gather_view(y, x->data, y->dims, strides, y->rank, es);
    return KILN_OK;
}

kiln_status kiln_cpu_tile(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0];
    kiln_tensor *y = ctx->out[0];
    int64_t reps[KILN_MAX_RANK], xs[KILN_MAX_RANK], ys[KILN_MAX_RANK];
    int64_t dims[KILN_COPY_MAX_RANK], ss[KILN_COPY_MAX_RANK], ds[KILN_COPY_MAX_RANK];
    int known, r = x->rank;
    size_t es;
    KILN_TRY(kiln_tensor_esize(ctx, 0, &es));
    KILN_TRY(kiln_tensor_tile_repeats(ctx, reps, &known));
    if (!known)
        return kiln_error(KILN_ERR_INTERNAL, "Tile: repeats not known at run time");
    kiln_strides(x->dims, r, xs);
    kiln_strides(y->dims, r, ys);
    /* axis i as (repeat, extent): output index rep * extent + j reads input j */
    for (int i = 0; i < r; i++) {
        dims[2 * i] = reps[i];
        dims[2 * i + 1] = x->dims[i];
        ss[2 * i] = 0;
        ss[2 * i + 1] = xs[i];
        ds[2 * i] = x->dims[i] * ys[i];
        ds[2 * i + 1] = ys[i];
    }
    kiln_copy_strided(y->data, ds, x->data, ss, dims, 2 * r, es);
    return KILN_OK;
}

/* The tensor as (outer, axis * inner) rows of bytes around axis. */
static void rows_at(const kiln_tensor *t, int axis, size_t es, int64_t *outer, size_t *row_bytes)
{
    int64_t o = 1, in = 1;
    for (int i = 0; i < axis; i++)
        o *= t->dims[i];
    for (int i = axis; i < t->rank; i++)
        in *= t->dims[i];
    *outer = o;
    *row_bytes = (size_t)in * es;
}

/* Concat's copies over the thread pool: rows [begin, end) of the output,
 * each gathered from every input. */
typedef struct concat_job {
    const kiln_op_ctx *ctx;
    size_t es, y_row;
    int axis;
} concat_job;

static void concat_rows(void *user, int64_t begin, int64_t end, int thread)
{
    const concat_job *j = user;
    const kiln_op_ctx *ctx = j->ctx;
    char *y = ctx->out[0]->data;
    (void)thread;
    for (int64_t o = begin; o < end; o++) {
        size_t at = 0;
        for (int k = 0; k < ctx->n_in; k++) {
            int64_t xo;
            size_t x_row;
            rows_at(ctx->in[k], j->axis, j->es, &xo, &x_row);
            if (x_row)
                memcpy(y + (size_t)o * j->y_row + at, (const char *)ctx->in[k]->data + (size_t)o * x_row, x_row);
            at += x_row;
        }
    }
}

/* Output bytes per chunk of a parallel Concat. */
#define CONCAT_GRAIN_BYTES (256 * 1024)

kiln_status kiln_cpu_concat(kiln_op_ctx *ctx)
{
    kiln_tensor *y = ctx->out[0];
    int axis;
    int64_t outer;
    size_t es, y_row, x_row, at = 0;
    KILN_TRY(kiln_tensor_esize(ctx, 0, &es));
    KILN_TRY(kiln_tensor_axis_attr(ctx, "axis", 1, y->rank, &axis));
    rows_at(y, axis, es, &outer, &y_row);
    for (int k = 0; k < ctx->n_in; k++) {
        const kiln_tensor *x = ctx->in[k];
        int64_t xo;
        rows_at(x, axis, es, &xo, &x_row);
        if (at + x_row > y_row || (xo != outer && x_row))
            return kiln_error(KILN_ERR_INTERNAL, "Concat: input %d does not fit the output", k);
        at += x_row;
    }
    concat_job job = {ctx, es, y_row, axis};
    int64_t grain = y_row ? (int64_t)(CONCAT_GRAIN_BYTES / y_row) : 1;
    kiln_parallel_for_grain(outer, grain > 0 ? grain : 1, concat_rows, &job);
    return KILN_OK;
}

kiln_status kiln_cpu_split(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0];
    int axis, known;
    int64_t sizes[KILN_TENSOR_MAX_SPLIT], outer;
    size_t es, x_row, y_row, at = 0;
    KILN_TRY(kiln_tensor_esize(ctx, 0, &es));
    KILN_TRY(kiln_tensor_split_sizes(ctx, &axis, sizes, &known));
    rows_at(x, axis, es, &outer, &x_row);
    size_t inner_bytes = x->dims[axis] ? x_row / (size_t)x->dims[axis] : 0;
    for (int k = 0; k < ctx->node->n_outputs; k++) {
        size_t part = (size_t)sizes[k] * inner_bytes;
        kiln_tensor *y = k < ctx->n_out ? ctx->out[k] : NULL;
        if (at + part > x_row)
            return kiln_error(KILN_ERR_INTERNAL, "Split: output %d does not fit the input", k);
        if (y) {
            int64_t yo;
            rows_at(y, axis, es, &yo, &y_row);
            if (y_row != part)
                return kiln_error(KILN_ERR_INTERNAL, "Split: output %d has an unexpected shape", k);
            for (int64_t o = 0; o < outer && part; o++)
                memcpy((char *)y->data + (size_t)o * part, (const char *)x->data + (size_t)o * x_row + at, part);
        }
        at += part;
    }
    return KILN_OK;
}
