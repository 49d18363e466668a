/*
 * linalg_infer.h - private to the linalg op family: what its shape inference
 * shares with its CPU kernels (the Softmax axis, the parsed form of an Einsum
 * equation).
 *
 * Einsum: every dimension of every term gets a label number: 0..25 for 'A'..'Z',
 * 26..51 for 'a'..'z' (so numeric order is ASCII order), and
 * KILN_EINSUM_LETTERS + j for dimension j of the ellipsis, counted from the
 * left of the longest ellipsis (shorter ellipses align to the right, as
 * numpy broadcasting does).
 */
#ifndef KILN_IR_INFER_LINALG_INFER_H
#define KILN_IR_INFER_LINALG_INFER_H

#include "ir/infer/infer_util.h"

/* The element types of MatMul and Gemm (floats, 32- and 64-bit integers),
 * of Einsum (floats, every 8- to 64-bit integer) and of the quantized
 * operands of QLinearMatMul (8-bit integers and float8). */
int kiln_la_is_matmul_type(kiln_dtype dt);
int kiln_la_is_einsum_type(kiln_dtype dt);
int kiln_la_is_quant_type(kiln_dtype dt);

/* The axis of Softmax / LogSoftmax / Hardmax in [0, rank) for the node's
 * opset (before 13 the input is coerced to 2-D at this axis; default 1 then,
 * -1 from 13). The input rank must be known. */
kiln_status kiln_softmax_axis(const kiln_op_ctx *ctx, int *axis);

/* The shape (rank, dims) a zero point or scale of MatMulInteger /
 * QLinearMatMul takes when broadcast against its operand (A when is_b is 0,
 * else B): rank 0 for one value; a 1-D per-row vector of A becomes [M, 1].
 * Checks that it broadcasts to the operand's shape and does not vary along
 * the reduced dim K. *rank is -1 when shapes are not known well enough. */
kiln_status kiln_quant_matmul_param(const kiln_tensor *p, const kiln_tensor *operand, int is_b, const char *what,
                                    int *rank, int64_t *dims);

#define KILN_EINSUM_LETTERS 52
#define KILN_EINSUM_MAX_LABELS (KILN_EINSUM_LETTERS + KILN_MAX_RANK)
/* Most operands one Einsum node may have. */
#define KILN_EINSUM_MAX_INPUTS 64

typedef struct kiln_einsum_eq {
    int n_in;
    int rank[KILN_EINSUM_MAX_INPUTS];
    unsigned char labels[KILN_EINSUM_MAX_INPUTS][KILN_MAX_RANK];
    int out_rank;
    unsigned char out_labels[KILN_MAX_RANK];
} kiln_einsum_eq;

/* linalg_einsum.c */
/* Parses `equation` for n_in operands of the given (known) ranks. */
kiln_status kiln_einsum_parse(const char *equation, int n_in, const int *ranks, kiln_einsum_eq *eq);

/* The extent of every label over all operands (size-1 extents broadcast;
 * KILN_DIM_UNKNOWN where not known); labels no operand uses get 1. A label
 * repeated within one operand must have one extent there. */
kiln_status kiln_einsum_label_dims(const kiln_einsum_eq *eq, kiln_tensor *const *in, int64_t *label_dims);

#endif
