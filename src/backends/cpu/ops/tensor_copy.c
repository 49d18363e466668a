/*
 * tensor_copy.c - the byte-moving helpers of the tensor family, and the
 * kernels that copy or create a tensor: Identity (and the reshape-like ops),
 * Dropout, Constant, ConstantOfShape, Shape, Size, EyeLike, Range, Trilu.
 * Large strided copies are split over the thread pool along their outer dim.
 */
#include <stddef.h>
#include <string.h>

#include "backends/cpu/cpu_util.h"
#include "backends/cpu/ops/tensor_kernels.h"
#include "core/dtype.h"
#include "core/thread_pool.h"

/* ---- helpers ------------------------------------------------------------ */

/* One row of n elements with element strides; fixed-size memcpy lets the
 * compiler emit plain loads and stores. */
static void copy_row(char *dst, int64_t ds, const char *src, int64_t ss, int64_t n, size_t es)
{
    if (ds == 1 && ss == 1) {
        memcpy(dst, src, (size_t)n * es);
        return;
    }
    ptrdiff_t dstep = (ptrdiff_t)(ds * (int64_t)es), sstep = (ptrdiff_t)(ss * (int64_t)es);
    switch (es) {
    case 1:
        for (int64_t i = 0; i < n; i++, dst += dstep, src += sstep)
            *dst = *src;
        break;
    case 2:
        for (int64_t i = 0; i < n; i++, dst += dstep, src += sstep)
            memcpy(dst, src, 2);
        break;
    case 4:
        for (int64_t i = 0; i < n; i++, dst += dstep, src += sstep)
            memcpy(dst, src, 4);
        break;
    case 8:
        for (int64_t i = 0; i < n; i++, dst += dstep, src += sstep)
            memcpy(dst, src, 8);
        break;
    default:
        for (int64_t i = 0; i < n; i++, dst += dstep, src += sstep)
            memcpy(dst, src, es);
        break;
    }
}

/* Drops extent-1 dims and merges neighbours that are contiguous in both
 * src and dst. Returns the new rank, or -1 when the block is empty. */
static int simplify_view(const int64_t *dims, const int64_t *dstr, const int64_t *sstr, int rank, int64_t *d,
                         int64_t *ds, int64_t *ss)
{
    int r = 0;
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 0)
            return -1;
        if (dims[i] == 1)
            continue;
        if (r > 0 && ds[r - 1] == dstr[i] * dims[i] && ss[r - 1] == sstr[i] * dims[i]) {
            d[r - 1] *= dims[i];
            ds[r - 1] = dstr[i];
            ss[r - 1] = sstr[i];
            continue;
        }
        d[r] = dims[i];
        ds[r] = dstr[i];
        ss[r] = sstr[i];
        r++;
    }
    return r;
}

/* A rows x cols block where src is contiguous along rows and dst along
 * cols (a 2-D transpose), in square tiles so both sides stay in cache; a
 * block of few columns (NCHW -> NHWC of an image's 3 channels) goes one
 * column at a time down runs of rows instead, a long loop per column rather
 * than a short one per row. */
static void copy_tile(char *dst, int64_t dst_row, const char *src, int64_t src_col, int64_t rows, int64_t cols,
                      size_t es)
{
    enum { TILE = 32, FEW_COLS = 8, COL_RUN = 1024 };
    if (cols < FEW_COLS) {
        /* runs of COL_RUN rows: the block of dst they fill stays in cache across the columns */
        for (int64_t jb = 0; jb < rows; jb += COL_RUN)
            for (int64_t i = 0; i < cols; i++)
                copy_row(dst + (jb * dst_row + i) * (int64_t)es, dst_row, src + (jb + i * src_col) * (int64_t)es, 1,
                         jb + COL_RUN < rows ? COL_RUN : rows - jb, es);
        return;
    }
    for (int64_t jb = 0; jb < rows; jb += TILE)
        for (int64_t ib = 0; ib < cols; ib += TILE) {
            int64_t jn = jb + TILE < rows ? jb + TILE : rows, n = ib + TILE < cols ? TILE : cols - ib;
            for (int64_t j = jb; j < jn; j++)
                copy_row(dst + (j * dst_row + ib) * (int64_t)es, 1, src + (j + ib * src_col) * (int64_t)es, src_col, n,
                         es);
        }
}

/* When dst is contiguous along the last dim but src is not, moves the dim
 * along which src is contiguous next to it, so blocks can be tiled. */
static int tile_dims(int64_t *d, int64_t *ds, int64_t *ss, int r)
{
    if (r < 2 || ds[r - 1] != 1 || ss[r - 1] == 1 || d[r - 1] < 2)
        return 0;
    for (int j = r - 2; j >= 0; j--) {
        if (ss[j] != 1 || d[j] < 8)
            continue;
        int64_t dj = d[j], dsj = ds[j], ssj = ss[j];
        for (int k = j; k < r - 2; k++) {
            d[k] = d[k + 1];
            ds[k] = ds[k + 1];
            ss[k] = ss[k + 1];
        }
        d[r - 2] = dj;
        ds[r - 2] = dsj;
        ss[r - 2] = ssj;
        return 1;
    }
    return 0;
}

/* The copy of a simplified view (r >= 1 dims, `tiled` as tile_dims set). */
static void copy_view(char *dp, const char *sp, const int64_t *d, const int64_t *ds, const int64_t *ss, int r,
                      int tiled, size_t esize)
{
    int64_t idx[KILN_COPY_MAX_RANK];
    int outer = r - 1 - tiled; /* dims walked by the loop below */
    int64_t doff = 0, soff = 0;
    memset(idx, 0, sizeof idx);
    for (;;) {
        if (tiled)
            copy_tile(dp + doff * (int64_t)esize, ds[r - 2], sp + soff * (int64_t)esize, ss[r - 1], d[r - 2], d[r - 1],
                      esize);
        else
            copy_row(dp + doff * (int64_t)esize, ds[r - 1], sp + soff * (int64_t)esize, ss[r - 1], d[r - 1], esize);
        int k = outer - 1;
        for (; k >= 0; k--) {
            idx[k]++;
            doff += ds[k];
            soff += ss[k];
            if (idx[k] < d[k])
                break;
            doff -= ds[k] * d[k];
            soff -= ss[k] * d[k];
            idx[k] = 0;
        }
        if (k < 0)
            return;
    }
}

/* A large copy split over the thread pool along its first (outer) dim, or
 * along its first two when the first alone is too short to share (a batch
 * of one: Transpose(0, 2, 1, 3) of [1, S, H, D]). */
typedef struct copy_job {
    char *dp;
    const char *sp;
    int64_t d[KILN_COPY_MAX_RANK], ds[KILN_COPY_MAX_RANK], ss[KILN_COPY_MAX_RANK];
    int r, tiled;
    int two; /* iterations are (i0, i1) pairs, i0 * d[1] + i1 */
    size_t esize;
} copy_job;

static void copy_chunk(void *user, int64_t begin, int64_t end, int thread)
{
    const copy_job *j = user;
    int64_t d[KILN_COPY_MAX_RANK];
    (void)thread;
    memcpy(d, j->d, sizeof d);
    if (!j->two) {
        d[0] = end - begin;
        copy_view(j->dp + begin * j->ds[0] * (int64_t)j->esize, j->sp + begin * j->ss[0] * (int64_t)j->esize, d, j->ds,
                  j->ss, j->r, j->tiled, j->esize);
        return;
    }
    /* one (i0, i1) at a time: the view of dims 1.. with dim 1 cut to one */
    d[1] = 1;
    for (int64_t u = begin; u < end; u++) {
        int64_t i0 = u / j->d[1], i1 = u % j->d[1];
        int64_t doff = i0 * j->ds[0] + i1 * j->ds[1], soff = i0 * j->ss[0] + i1 * j->ss[1];
        copy_view(j->dp + doff * (int64_t)j->esize, j->sp + soff * (int64_t)j->esize, d + 1, j->ds + 1, j->ss + 1,
                  j->r - 1, j->tiled, j->esize);
    }
}

/* Bytes per chunk of a parallel copy: a few microseconds of moving. */
#define COPY_GRAIN_BYTES (256 * 1024)

void kiln_copy_strided(void *dst, const int64_t *dst_strides, const void *src, const int64_t *src_strides,
                       const int64_t *dims, int rank, size_t esize)
{
    copy_job j;
    int r = simplify_view(dims, dst_strides, src_strides, rank, j.d, j.ds, j.ss);
    if (r < 0)
        return;
    if (r == 0) {
        memcpy(dst, src, esize);
        return;
    }
    j.tiled = tile_dims(j.d, j.ds, j.ss, r);
    j.dp = dst;
    j.sp = src;
    j.r = r;
    j.esize = esize;
    j.two = 0;
    int64_t per_outer = (int64_t)esize;
    for (int i = 1; i < r; i++)
        per_outer *= j.d[i];
    /* only dims the loop walks (not a tiled or row dim) are split */
    int walked = r - 1 - j.tiled;
    if (walked >= 1 && per_outer > 0 && j.d[0] * per_outer >= 2 * COPY_GRAIN_BYTES) {
        int64_t units = j.d[0], per_unit = per_outer;
        if (walked >= 2 && j.d[0] < 4 * (int64_t)kiln_thread_pool_threads() && j.d[1] > 1) {
            j.two = 1;
            units = j.d[0] * j.d[1];
            per_unit = per_outer / j.d[1];
        }
        if (units > 1) {
            int64_t grain = COPY_GRAIN_BYTES / per_unit;
            kiln_parallel_for_grain(units, grain > 0 ? grain : 1, copy_chunk, &j);
            return;
        }
    }
    copy_view(j.dp, j.sp, j.d, j.ds, j.ss, r, j.tiled, esize);
}

void kiln_fill_elem(void *dst, const void *elem, size_t esize, int64_t n)
{
    char *p = dst;
    if (n <= 0)
        return;
    memcpy(p, elem, esize);
    /* doubling copies: log2(n) memcpy calls */
    int64_t done = 1;
    while (done < n) {
        int64_t c = done < n - done ? done : n - done;
        memcpy(p + done * (int64_t)esize, p, (size_t)c * esize);
        done += c;
    }
}

kiln_status kiln_load_index(const kiln_tensor *idx, int64_t pos, int64_t extent, int64_t *out)
{
    int64_t v = kiln_load_i64(idx->data, idx->dtype, (size_t)pos);
    int64_t w = v < 0 ? v + extent : v;
    if (w < 0 || w >= extent)
        return kiln_error(KILN_ERR_SHAPE, "index %lld at position %lld is out of range for extent %lld", (long long)v,
                          (long long)pos, (long long)extent);
    *out = w;
    return KILN_OK;
}

kiln_status kiln_walk_elements(const kiln_tensor *x, const kiln_tensor *idx, int axis, kiln_elem_fn fn, void *user)
{
    int64_t xs[KILN_MAX_RANK], pos[KILN_MAX_RANK] = {0}, off = 0, v, n = kiln_tensor_numel(idx);
    kiln_strides(x->dims, x->rank, xs);
    int64_t axis_stride = xs[axis];
    xs[axis] = 0; /* the axis position comes from the index */
    int64_t *strides[1] = {xs};
    for (int64_t i = 0; i < n; i++) {
        KILN_TRY(kiln_load_index(idx, i, x->dims[axis], &v));
        fn(user, i, off + v * axis_stride);
        kiln_nd_next(x->rank, idx->dims, pos, 1, strides, &off);
    }
    return KILN_OK;
}

void kiln_elem_from_f64(kiln_dtype dt, double v, unsigned char *elem)
{
    memset(elem, 0, KILN_MAX_ELEM);
    kiln_store_f64(elem, dt, 0, v);
}

/* ---- Identity, Dropout -------------------------------------------------- */

/* Output 0 takes input 0's bytes (same element count and type). */
static kiln_status copy_input(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0];
    kiln_tensor *y = ctx->out[0];
    if (x->dtype != y->dtype || x->nbytes != y->nbytes)
        return kiln_error(KILN_ERR_INTERNAL, "%s: output holds %zu bytes, input %zu", ctx->node->op_type, y->nbytes,
                          x->nbytes);
    /* the executor may hand a reshape its input's own storage (kiln_op_alias_input) */
    if (y->nbytes && y->data != x->data)
        memcpy(y->data, x->data, x->nbytes);
    return KILN_OK;
}

kiln_status kiln_cpu_identity(kiln_op_ctx *ctx)
{
    size_t es;
    KILN_TRY(kiln_tensor_esize(ctx, 0, &es));
    return copy_input(ctx);
}

kiln_status kiln_cpu_dropout(kiln_op_ctx *ctx)
{
    size_t es;
    unsigned char one[KILN_MAX_ELEM];
    KILN_TRY(kiln_tensor_esize(ctx, 0, &es));
    KILN_TRY(kiln_tensor_dropout_check(ctx));
    if (ctx->out[0])
        KILN_TRY(copy_input(ctx));
    if (ctx->n_out > 1 && ctx->out[1]) {
        kiln_tensor *m = ctx->out[1];
        kiln_elem_from_f64(m->dtype, 1.0, one);
        kiln_fill_elem(m->data, one, kiln_dtype_size(m->dtype), kiln_tensor_numel(m));
    }
    return KILN_OK;
}

/* ---- Constant, ConstantOfShape --------------------------------------------- */

kiln_status kiln_cpu_constant(kiln_op_ctx *ctx)
{
    kiln_tensor *y = ctx->out[0];
    const kiln_attr *a;
    if ((a = kiln_attr_find(ctx->node, "value")) != NULL && a->type == KILN_ATTR_TENSOR && a->t) {
        if (!a->t->data || a->t->nbytes != y->nbytes)
            return kiln_error(KILN_ERR_INTERNAL, "Constant: value holds %zu bytes, the output %zu", a->t->nbytes,
                              y->nbytes);
        if (y->nbytes)
            memcpy(y->data, a->t->data, y->nbytes);
    } else if ((a = kiln_attr_find(ctx->node, "value_float")) != NULL) {
        kiln_store_f64(y->data, KILN_FLOAT32, 0, a->f);
    } else if ((a = kiln_attr_find(ctx->node, "value_int")) != NULL) {
        kiln_store_i64(y->data, KILN_INT64, 0, a->i);
    } else if ((a = kiln_attr_find(ctx->node, "value_floats")) != NULL && a->n == kiln_tensor_numel(y)) {
        for (int64_t i = 0; i < a->n; i++)
            kiln_store_f64(y->data, KILN_FLOAT32, (size_t)i, a->floats[i]);
    } else if ((a = kiln_attr_find(ctx->node, "value_ints")) != NULL && a->n == kiln_tensor_numel(y)) {
        if (a->n)
            memcpy(y->data, a->ints, (size_t)a->n * sizeof(int64_t));
    } else {
        return kiln_error(KILN_ERR_UNSUPPORTED, "Constant without a supported value attribute");
    }
    return KILN_OK;
}

kiln_status kiln_cpu_constant_of_shape(kiln_op_ctx *ctx)
{
    kiln_tensor *y = ctx->out[0];
    unsigned char elem[KILN_MAX_ELEM];
    size_t es = kiln_dtype_size(y->dtype);
    const kiln_attr *a = kiln_attr_find(ctx->node, "value");
    if (a && a->t && a->t->data) {
        if (a->t->dtype != y->dtype || a->t->nbytes != es)
            return kiln_error(KILN_ERR_INTERNAL, "ConstantOfShape: value does not match the output type");
        memcpy(elem, a->t->data, es);
    } else {
        kiln_elem_from_f64(y->dtype, 0.0, elem);
    }
    kiln_fill_elem(y->data, elem, es, kiln_tensor_numel(y));
    return KILN_OK;
}

/* ---- Shape, Size ------------------------------------------------------------- */

kiln_status kiln_cpu_shape(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0];
    int64_t *y = ctx->out[0]->data, n = ctx->out[0]->dims[0];
    int64_t start = kiln_tensor_shape_bound(kiln_attr_int(ctx->node, "start", 0), x->rank);
    if (start + n > x->rank)
        return kiln_error(KILN_ERR_INTERNAL, "Shape: %lld values from axis %lld of rank %d", (long long)n,
                          (long long)start, x->rank);
    for (int64_t i = 0; i < n; i++)
        y[i] = x->dims[start + i];
    return KILN_OK;
}

kiln_status kiln_cpu_size(kiln_op_ctx *ctx)
{
    int64_t n;
    KILN_TRY(kiln_shape_numel(ctx->in[0]->dims, ctx->in[0]->rank, &n, "Size input"));
    *(int64_t *)ctx->out[0]->data = n;
    return KILN_OK;
}

/* ---- EyeLike, Range, Trilu ------------------------------------------------------ */

kiln_status kiln_cpu_eye_like(kiln_op_ctx *ctx)
{
    kiln_tensor *y = ctx->out[0];
    unsigned char zero[KILN_MAX_ELEM], one[KILN_MAX_ELEM];
    size_t es = kiln_dtype_size(y->dtype);
    int64_t rows = y->dims[0], cols = y->dims[1], k = kiln_attr_int(ctx->node, "k", 0);
    kiln_elem_from_f64(y->dtype, 0.0, zero);
    kiln_elem_from_f64(y->dtype, 1.0, one);
    kiln_fill_elem(y->data, zero, es, rows * cols);
    if (k <= -rows || k >= cols)
        return KILN_OK;
    for (int64_t i = 0; i < rows; i++) {
        int64_t j = i + k;
        if (j >= 0 && j < cols)
            memcpy((char *)y->data + (size_t)(i * cols + j) * es, one, es);
    }
    return KILN_OK;
}

kiln_status kiln_cpu_range(kiln_op_ctx *ctx)
{
    const kiln_tensor *s = ctx->in[0], *d = ctx->in[2];
    kiln_tensor *y = ctx->out[0];
    int64_t n;
    KILN_TRY(kiln_tensor_range_count(ctx, &n));
    if (n != y->dims[0])
        return kiln_error(KILN_ERR_INTERNAL, "Range: %lld values for an output of %lld", (long long)n,
                          (long long)y->dims[0]);
    if (kiln_dtype_is_float(y->dtype)) {
        double start = kiln_load_f64(s->data, s->dtype, 0), delta = kiln_load_f64(d->data, d->dtype, 0);
        for (int64_t i = 0; i < n; i++)
            kiln_store_f64(y->data, y->dtype, (size_t)i, start + (double)i * delta);
        return KILN_OK;
    }
    /* integer ranges in wrapping unsigned arithmetic: no overflow UB */
    uint64_t start = (uint64_t)kiln_load_i64(s->data, s->dtype, 0),
             delta = (uint64_t)kiln_load_i64(d->data, d->dtype, 0);
    for (int64_t i = 0; i < n; i++)
        kiln_store_i64(y->data, y->dtype, (size_t)i, (int64_t)(start + (uint64_t)i * delta));
    return KILN_OK;
}

kiln_status kiln_cpu_trilu(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0];
    size_t es;
    int64_t k = 0, batch;
    unsigned char zero[KILN_MAX_ELEM];
    KILN_TRY(kiln_tensor_esize(ctx, 0, &es));
    if (ctx->n_in > 1 && ctx->in[1])
        KILN_TRY(kiln_tensor_read_scalar(ctx, 1, &k, "k"));
    int upper = kiln_attr_int(ctx->node, "upper", 1) != 0;
    int64_t rows = x->dims[x->rank - 2], cols = x->dims[x->rank - 1];
    KILN_TRY(kiln_shape_numel(x->dims, x->rank - 2, &batch, "Trilu batch"));
    /* beyond +-(rows + cols) every k means the same */
    int64_t lim = rows + cols;
    k = k < -lim ? -lim : k > lim ? lim : k;
    kiln_elem_from_f64(x->dtype, 0.0, zero);
    KILN_TRY(copy_input(ctx));
    for (int64_t b = 0; b < batch; b++)
        for (int64_t i = 0; i < rows; i++) {
            char *row = (char *)ctx->out[0]->data + (size_t)((b * rows + i) * cols) * es;
            /* upper keeps j >= i + k; lower keeps j <= i + k */
            int64_t lo = upper ? 0 : i + k + 1, hi = upper ? i + k : cols;
            lo = lo < 0 ? 0 : lo;
            hi = hi > cols ? cols : hi;
            if (hi > lo)
                kiln_fill_elem(row + (size_t)lo * es, zero, es, hi - lo);
        }
    return KILN_OK;
}
