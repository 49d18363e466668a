/*
 * tensor.h - kiln's tensor: dtype, shape and a host buffer.
 *
 * Dims: >= 0 is a known extent. In the IR (not in tensors that hold data) a
 * dim may also be KILN_DIM_UNKNOWN, or a symbol, encoded as
 * KILN_DIM_SYMBOL(k) for symbol number k of the graph.
 */
#ifndef KILN_CORE_TENSOR_H
#define KILN_CORE_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "kiln.h"

#define KILN_DIM_UNKNOWN (-1)
#define KILN_DIM_SYMBOL(k) (-2 - (int64_t)(k))
#define KILN_DIM_IS_SYMBOL(d) ((d) <= -2)
#define KILN_DIM_SYMBOL_ID(d) ((int)(-2 - (d)))

/* Default ceiling for one tensor's bytes; engines may set another. */
#define KILN_DEFAULT_MAX_TENSOR_BYTES ((size_t)16 << 30)

typedef struct kiln_tensor {
    kiln_dtype dtype;
    int rank;                    /* -1 when unknown (IR only) */
    int64_t dims[KILN_MAX_RANK];
    void *data;                  /* NULL when the value is not known */
    size_t nbytes;
    int owns_data;               /* data is freed by kiln_tensor_clear */
} kiln_tensor;

/* Number of elements of a shape. Fails (KILN_ERR_SHAPE / KILN_ERR_LIMIT,
 * message naming `what`) on a negative dim or a product past INT64_MAX. */
kiln_status kiln_shape_numel(const int64_t *dims, int rank, int64_t *out, const char *what);
/* Elements of t, or -1 when any dim is not known. */
int64_t kiln_tensor_numel(const kiln_tensor *t);
/* Byte size of n elements of dt with overflow check. */
kiln_status kiln_bytes_for(kiln_dtype dt, int64_t n, size_t max_bytes, size_t *out, const char *what);

/* Sets dtype and shape (data untouched). */
void kiln_tensor_set_shape(kiln_tensor *t, kiln_dtype dt, int rank, const int64_t *dims);
/* Allocates zeroed storage for t's dtype and shape, refusing more than
 * max_bytes; releases what t owned before. `what` names the tensor. */
kiln_status kiln_tensor_alloc(kiln_tensor *t, size_t max_bytes, const char *what);
/* Frees owned data and resets to an empty tensor. */
void kiln_tensor_clear(kiln_tensor *t);
/* Deep copy of src into dst (dst is cleared first). */
kiln_status kiln_tensor_copy(kiln_tensor *dst, const kiln_tensor *src, const char *what);
/* "1x3x224x224" into buf (symbols as s<k>, unknown as ?). */
const char *kiln_shape_str(const int64_t *dims, int rank, char *buf, size_t len);

/* Row-major strides (in elements) for dims; strides[rank-1] = 1. */
void kiln_strides(const int64_t *dims, int rank, int64_t *strides);

#endif
