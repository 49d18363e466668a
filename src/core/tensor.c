/*
 * tensor.c - shape arithmetic with overflow checks, and tensor storage.
 */
#include "core/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "core/status.h"

kiln_status kiln_shape_numel(const int64_t *dims, int rank, int64_t *out, const char *what)
{
    int64_t n = 1;
    if (rank < 0 || rank > KILN_MAX_RANK)
        return kiln_error(KILN_ERR_SHAPE, "%s: rank %d is outside 0..%d", what, rank, KILN_MAX_RANK);
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return kiln_error(KILN_ERR_SHAPE, "%s: dim %d is %lld, not a known size", what, i, (long long)dims[i]);
        if (dims[i] != 0 && n > INT64_MAX / dims[i])
            return kiln_error(KILN_ERR_LIMIT, "%s: the element count overflows 64 bits", what);
        n *= dims[i];
    }
    *out = n;
    return KILN_OK;
}

int64_t kiln_tensor_numel(const kiln_tensor *t)
{
    int64_t n = 1;
    if (t->rank < 0)
        return -1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0)
            return -1;
        if (t->dims[i] != 0 && n > INT64_MAX / t->dims[i])
            return -1;
        n *= t->dims[i];
    }
    return n;
}

kiln_status kiln_bytes_for(kiln_dtype dt, int64_t n, size_t max_bytes, size_t *out, const char *what)
{
    size_t es = kiln_dtype_size(dt);
    if (es == 0)
        return kiln_error(KILN_ERR_UNSUPPORTED, "%s: dtype %s has no fixed element size", what,
                          kiln_dtype_name(dt) ? kiln_dtype_name(dt) : "(invalid)");
    if (n < 0 || (uint64_t)n > SIZE_MAX / es)
        return kiln_error(KILN_ERR_LIMIT, "%s: %lld elements overflow the address space", what, (long long)n);
    size_t bytes = (size_t)n * es;
    if (bytes > max_bytes)
        return kiln_error(KILN_ERR_LIMIT, "%s: needs %zu bytes, over the limit of %zu bytes", what, bytes, max_bytes);
    *out = bytes;
    return KILN_OK;
}

void kiln_tensor_set_shape(kiln_tensor *t, kiln_dtype dt, int rank, const int64_t *dims)
{
    t->dtype = dt;
    t->rank = rank;
    for (int i = 0; i < rank && i < KILN_MAX_RANK; i++)
        t->dims[i] = dims[i];
}

kiln_status kiln_tensor_alloc(kiln_tensor *t, size_t max_bytes, const char *what)
{
    int64_t n;
    size_t bytes;
    KILN_TRY(kiln_shape_numel(t->dims, t->rank, &n, what));
    KILN_TRY(kiln_bytes_for(t->dtype, n, max_bytes, &bytes, what));
    if (t->owns_data)
        free(t->data);
    t->data = NULL;
    t->owns_data = 0;
    /* one byte minimum so empty tensors still have a valid pointer */
    t->data = calloc(bytes ? bytes : 1, 1);
    if (!t->data)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", what, bytes);
    t->nbytes = bytes;
    t->owns_data = 1;
    return KILN_OK;
}

void kiln_tensor_clear(kiln_tensor *t)
{
    if (t->owns_data)
        free(t->data);
    memset(t, 0, sizeof *t);
}

kiln_status kiln_tensor_copy(kiln_tensor *dst, const kiln_tensor *src, const char *what)
{
    kiln_tensor_clear(dst);
    kiln_tensor_set_shape(dst, src->dtype, src->rank, src->dims);
    if (!src->data)
        return KILN_OK;
    dst->data = malloc(src->nbytes ? src->nbytes : 1);
    if (!dst->data)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", what, src->nbytes);
    memcpy(dst->data, src->data, src->nbytes);
    dst->nbytes = src->nbytes;
    dst->owns_data = 1;
    return KILN_OK;
}

const char *kiln_shape_str(const int64_t *dims, int rank, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    if (rank < 0) {
        snprintf(buf, len, "(unknown rank)");
        return buf;
    }
    if (rank == 0) {
        snprintf(buf, len, "scalar");
        return buf;
    }
    for (int i = 0; i < rank && used < len; i++) {
        int w;
        if (dims[i] >= 0)
            w = snprintf(buf + used, len - used, "%s%lld", i ? "x" : "", (long long)dims[i]);
        else if (KILN_DIM_IS_SYMBOL(dims[i]))
            w = snprintf(buf + used, len - used, "%ss%d", i ? "x" : "", KILN_DIM_SYMBOL_ID(dims[i]));
        else
            w = snprintf(buf + used, len - used, "%s?", i ? "x" : "");
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

void kiln_strides(const int64_t *dims, int rank, int64_t *strides)
{
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}
