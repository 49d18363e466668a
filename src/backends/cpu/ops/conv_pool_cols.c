/*
 * conv_pool_cols.c - im2col / col2im over any number of spatial axes (the
 * channels split over the thread pool), GEMM on OpenBLAS and the compute
 * types of the conv_pool kernels.
 */
#include "backends/cpu/ops/conv_pool_cols.h"

#include <cblas.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_gemm.h"
#include "backends/cpu/cpu_util.h"
#include "core/dtype.h"
#include "core/thread_pool.h"

static void patches_common(const kiln_window *w, kiln_cp_patches *p)
{
    p->n = w->n;
    for (int i = 0; i < w->n; i++) {
        p->kernel[i] = w->kernel[i];
        p->stride[i] = w->stride[i];
        p->dilation[i] = w->dilation[i];
        p->pad[i] = w->pad_begin[i];
    }
}

void kiln_cp_patches_forward(const kiln_window *w, kiln_cp_patches *p)
{
    patches_common(w, p);
    for (int i = 0; i < w->n; i++) {
        p->image[i] = w->in[i];
        p->grid[i] = w->out[i];
    }
}

void kiln_cp_patches_transpose(const kiln_window *w, kiln_cp_patches *p)
{
    patches_common(w, p);
    for (int i = 0; i < w->n; i++) {
        p->image[i] = w->out[i];
        p->grid[i] = w->in[i];
    }
}

int64_t kiln_cp_prod(const int64_t *dims, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p *= dims[i];
    return p;
}

/* One row of the column matrix restricted to fixed outer grid coordinates:
 * grid points [lo, hi) of the last axis land in the image, the first of
 * them at image offset im_off, the next ones `step` apart. */
typedef struct patch_row {
    int valid;
    int64_t lo, hi, im_off, step;
} patch_row;

static void row_at(const kiln_cp_patches *p, const int64_t *im_strides, const int64_t *tap, const int64_t *outer,
                   patch_row *r)
{
    int last = p->n - 1;
    r->valid = 1;
    r->im_off = 0;
    for (int d = 0; d < last; d++) {
        int64_t i = outer[d] * p->stride[d] - p->pad[d] + tap[d] * p->dilation[d];
        if (i < 0 || i >= p->image[d]) {
            r->valid = 0;
            return;
        }
        r->im_off += i * im_strides[d];
    }
    /* grid points g with 0 <= g * s + off < image on the last axis */
    int64_t s = p->stride[last], off = tap[last] * p->dilation[last] - p->pad[last];
    int64_t lo = kiln_ceil_div(-off, s), hi = kiln_ceil_div(p->image[last] - off, s);
    r->lo = lo < 0 ? 0 : lo;
    r->hi = hi > p->grid[last] ? p->grid[last] : hi;
    if (r->hi < r->lo)
        r->hi = r->lo;
    r->im_off += r->lo * s + off;
    r->step = s;
}

/* Copies n elements of esize bytes taken `step` apart. */
static void gather(char *dst, const char *src, int64_t n, int64_t step, size_t esize)
{
    if (step == 1) {
        memcpy(dst, src, (size_t)n * esize);
    } else if (esize == 4) {
        float *d = (float *)dst;
        const float *s = (const float *)src;
        for (int64_t i = 0; i < n; i++)
            d[i] = s[i * step];
    } else {
        double *d = (double *)dst;
        const double *s = (const double *)src;
        for (int64_t i = 0; i < n; i++)
            d[i] = s[i * step];
    }
}

/* One pass between an image and its column matrix: src is read, dst
 * written (im2col: image to columns, col2im: columns to image). */
typedef struct col_pass {
    const kiln_cp_patches *p;
    size_t esize;
    kiln_cp_kind kind; /* col2im */
    const char *src;
    char *dst;
} col_pass;

/* What a pass does with one column row: its channel's image plane starts at
 * element `plane`, the row itself at element `row` of the columns. */
typedef void (*col_row_fn)(const col_pass *cp, int64_t plane, int64_t row, const patch_row *r);

/* Calls fn for every row of the column matrix of channels [c_begin, c_end),
 * in order. */
static void for_each_row(const col_pass *cp, int64_t c_begin, int64_t c_end, col_row_fn fn)
{
    const kiln_cp_patches *p = cp->p;
    int64_t im_strides[KILN_MAX_RANK];
    kiln_strides(p->image, p->n, im_strides);
    int64_t img = kiln_cp_prod(p->image, p->n), width = p->grid[p->n - 1];
    int64_t row = c_begin * kiln_cp_prod(p->kernel, p->n) * kiln_cp_prod(p->grid, p->n);
    for (int64_t c = c_begin; c < c_end; c++) {
        int64_t tap[KILN_MAX_RANK] = {0};
        do {
            int64_t outer[KILN_MAX_RANK] = {0};
            do {
                patch_row r;
                row_at(p, im_strides, tap, outer, &r);
                fn(cp, c * img, row, &r);
                row += width;
            } while (kiln_nd_next(p->n - 1, p->grid, outer, 0, NULL, NULL));
        } while (kiln_nd_next(p->n, p->kernel, tap, 0, NULL, NULL));
    }
}

/* A pass over channels split across the thread pool: every channel reads
 * and writes only its own rows and its own image plane. */
typedef struct col_par {
    const col_pass *cp;
    col_row_fn fn;
} col_par;

static void channel_chunk(void *user, int64_t begin, int64_t end, int thread)
{
    const col_par *cpp = user;
    (void)thread;
    for_each_row(cpp->cp, begin, end, cpp->fn);
}

/* Column elements per chunk of channels: a few microseconds of copying. */
#define COL_GRAIN 32768

static void for_each_channel(const col_pass *cp, int64_t channels, col_row_fn fn)
{
    const kiln_cp_patches *p = cp->p;
    int64_t per_channel = kiln_cp_prod(p->kernel, p->n) * kiln_cp_prod(p->grid, p->n);
    int64_t grain = per_channel > 0 ? COL_GRAIN / per_channel : channels;
    col_par cpp = {cp, fn};
    kiln_parallel_for_grain(channels, grain > 0 ? grain : 1, channel_chunk, &cpp);
}

static void im2col_row(const col_pass *cp, int64_t plane, int64_t row, const patch_row *r)
{
    size_t es = cp->esize;
    int64_t width = cp->p->grid[cp->p->n - 1];
    char *dst = cp->dst + (size_t)row * es;
    if (!r->valid) {
        memset(dst, 0, (size_t)width * es);
        return;
    }
    memset(dst, 0, (size_t)r->lo * es);
    gather(dst + r->lo * es, cp->src + (size_t)(plane + r->im_off) * es, r->hi - r->lo, r->step, es);
    memset(dst + r->hi * es, 0, (size_t)(width - r->hi) * es);
}

void kiln_cp_im2col(const kiln_cp_patches *p, int64_t channels, size_t esize, const void *im, void *col)
{
    col_pass cp = {p, esize, esize == 4 ? KILN_CP_F32 : KILN_CP_F64, im, col};
    for_each_channel(&cp, channels, im2col_row);
}

/* im[i * step] += col[i] for n elements of the given kind. */
static void scatter_add(char *im, const char *col, int64_t n, int64_t step, kiln_cp_kind kind)
{
    if (kind == KILN_CP_F32) {
        float *d = (float *)im;
        const float *s = (const float *)col;
        for (int64_t i = 0; i < n; i++)
            d[i * step] += s[i];
    } else if (kind == KILN_CP_F64) {
        double *d = (double *)im;
        const double *s = (const double *)col;
        for (int64_t i = 0; i < n; i++)
            d[i * step] += s[i];
    } else {
        /* two's complement wrap-around, without signed overflow */
        int64_t *d = (int64_t *)im;
        const int64_t *s = (const int64_t *)col;
        for (int64_t i = 0; i < n; i++)
            d[i * step] = (int64_t)((uint64_t)d[i * step] + (uint64_t)s[i]);
    }
}

static void col2im_row(const col_pass *cp, int64_t plane, int64_t row, const patch_row *r)
{
    size_t es = cp->esize;
    if (r->valid)
        scatter_add(cp->dst + (size_t)(plane + r->im_off) * es, cp->src + (size_t)(row + r->lo) * es, r->hi - r->lo,
                    r->step, cp->kind);
}

void kiln_cp_col2im(const kiln_cp_patches *p, int64_t channels, kiln_cp_kind kind, const void *col, void *im)
{
    col_pass cp = {p, kind == KILN_CP_F32 ? 4 : 8, kind, col, im};
    for_each_channel(&cp, channels, col2im_row);
}

kiln_status kiln_cp_gemm(size_t esize, int trans_a, int64_t m, int64_t n, int64_t k, const void *a, const void *b,
                         double beta, void *c)
{
    if (m > INT_MAX || n > INT_MAX || k > INT_MAX)
        return kiln_error(KILN_ERR_LIMIT, "matrix product %lldx%lldx%lld is too large for BLAS", (long long)m,
                          (long long)n, (long long)k);
    if (m == 0 || n == 0)
        return KILN_OK;
    if (k == 0) {
        /* BLAS rejects a zero leading dimension; C = beta * C */
        for (int64_t i = 0; i < m * n; i++) {
            if (esize == 4)
                ((float *)c)[i] = beta == 0 ? 0.0f : (float)(beta * ((float *)c)[i]);
            else
                ((double *)c)[i] = beta == 0 ? 0.0 : beta * ((double *)c)[i];
        }
        return KILN_OK;
    }
    int lda = (int)(trans_a ? m : k);
    CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
    if (esize == 4)
        kiln_sgemm(trans_a, 0, m, n, k, 1.0f, a, lda, b, n, (float)beta, c, n);
    else
        cblas_dgemm(CblasRowMajor, ta, CblasNoTrans, (int)m, (int)n, (int)k, 1.0, a, lda, b, (int)n, beta, c, (int)n);
    return KILN_OK;
}

void kiln_cp_fill_rows(void *y, size_t esize, int64_t rows, int64_t len, const void *bias)
{
    for (int64_t r = 0; r < rows; r++) {
        if (esize == 4) {
            float v = bias ? ((const float *)bias)[r] : 0.0f, *row = (float *)y + r * len;
            for (int64_t i = 0; i < len; i++)
                row[i] = v;
        } else {
            double v = bias ? ((const double *)bias)[r] : 0.0, *row = (double *)y + r * len;
            for (int64_t i = 0; i < len; i++)
                row[i] = v;
        }
    }
}

size_t kiln_cp_esize(kiln_dtype dt)
{
    return dt == KILN_FLOAT64 ? 8 : 4;
}

kiln_dtype kiln_cp_dtype(size_t esize)
{
    return esize == 8 ? KILN_FLOAT64 : KILN_FLOAT32;
}

kiln_status kiln_cp_alloc(int64_t n, size_t esize, size_t max_bytes, const char *what, void **out)
{
    return kiln_alloc_elems(kiln_cp_dtype(esize), n, max_bytes, what, out);
}

kiln_status kiln_cp_alloc_matrix(int64_t rows, int64_t cols, size_t esize, size_t max_bytes, const char *what,
                                 void **out)
{
    int64_t dims[2] = {rows, cols}, n;
    KILN_TRY(kiln_shape_numel(dims, 2, &n, what));
    return kiln_cp_alloc(n, esize, max_bytes, what, out);
}

kiln_status kiln_cp_check_out(const kiln_op_ctx *ctx, int o, int rank, const int64_t *dims)
{
    const kiln_tensor *t = o < ctx->n_out ? ctx->out[o] : NULL;
    if (!t || !t->data || !kiln_has_shape(t, rank, dims))
        return kiln_error(KILN_ERR_SHAPE, "output %d was not allocated with the shape the inputs give", o);
    return KILN_OK;
}
