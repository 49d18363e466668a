/*
 * conv_pool_cols.h - lowering of convolutions to matrix products for the
 * conv_pool kernels: im2col / col2im over any number of spatial axes, a
 * row-major GEMM on OpenBLAS, and the compute types (float32 for float16 /
 * bfloat16 / float32, float64 for float64).
 */
#ifndef KILN_BACKENDS_CPU_OPS_CONV_POOL_COLS_H
#define KILN_BACKENDS_CPU_OPS_CONV_POOL_COLS_H

#include <stddef.h>
#include <stdint.h>

#include "ir/infer/conv_pool_geometry.h"

/* Patches of an image: the column matrix has one row per (channel, kernel
 * tap) and one column per grid point; grid point g and tap k read image
 * position g * stride - pad + k * dilation on each axis (outside: zero). */
typedef struct kiln_cp_patches {
    int n;
    int64_t image[KILN_MAX_RANK];
    int64_t grid[KILN_MAX_RANK];
    int64_t kernel[KILN_MAX_RANK];
    int64_t stride[KILN_MAX_RANK];
    int64_t dilation[KILN_MAX_RANK];
    int64_t pad[KILN_MAX_RANK];
} kiln_cp_patches;

/* Element kinds col2im accumulates in. */
typedef enum kiln_cp_kind { KILN_CP_F32, KILN_CP_F64, KILN_CP_I64 } kiln_cp_kind;

/* Conv: the image is the input, the grid the output. */
void kiln_cp_patches_forward(const kiln_window *w, kiln_cp_patches *p);
/* ConvTranspose: the image is the output, the grid the input. */
void kiln_cp_patches_transpose(const kiln_window *w, kiln_cp_patches *p);

/* Products of the extents (all known, small enough: they describe tensors
 * that exist). */
int64_t kiln_cp_prod(const int64_t *dims, int n);

/* col[(c * K + k) * G + g] = image value for channel c, tap k, grid point g
 * (K taps, G grid points); elements of esize bytes (4 or 8). */
void kiln_cp_im2col(const kiln_cp_patches *p, int64_t channels, size_t esize, const void *im, void *col);
/* The adjoint: adds every column entry into its image position. */
void kiln_cp_col2im(const kiln_cp_patches *p, int64_t channels, kiln_cp_kind kind, const void *col, void *im);

/* c (m x n) = op(a) * b + beta * c, all row-major; op(a) is a (m x k), or
 * a stored as (k x m) when trans_a. esize 4: sgemm, 8: dgemm. */
kiln_status kiln_cp_gemm(size_t esize, int trans_a, int64_t m, int64_t n, int64_t k, const void *a, const void *b,
                         double beta, void *c);

/* Sets rows (each len elements) of y to bias[row], or to zero when bias is
 * NULL. */
void kiln_cp_fill_rows(void *y, size_t esize, int64_t rows, int64_t len, const void *bias);

/* The compute element size of a float dtype: 8 for float64, else 4. */
size_t kiln_cp_esize(kiln_dtype dt);

/* The compute dtype of esize: float64 for 8, else float32. */
kiln_dtype kiln_cp_dtype(size_t esize);

/* malloc of n elements of esize bytes, refusing more than max_bytes. */
kiln_status kiln_cp_alloc(int64_t n, size_t esize, size_t max_bytes, const char *what, void **out);

/* The same for a rows x cols matrix (a column buffer), its size checked. */
kiln_status kiln_cp_alloc_matrix(int64_t rows, int64_t cols, size_t esize, size_t max_bytes, const char *what,
                                 void **out);

/* Checks that out[o] has the shape the kernel computed. */
kiln_status kiln_cp_check_out(const kiln_op_ctx *ctx, int o, int rank, const int64_t *dims);

#endif
