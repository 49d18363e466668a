/*
 * cpu_util.c - shared reference-kernel helpers.
 */
#include "backends/cpu/cpu_util.h"

#include <stdlib.h>

void kiln_bcast_strides(const kiln_tensor *in, int rank, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        int ii = i - (rank - in->rank);
        if (ii < 0) {
            strides[i] = 0;
            continue;
        }
        strides[i] = (in->dims[ii] == 1 && dims[i] != 1) ? 0 : s;
        s *= in->dims[ii];
    }
}

int kiln_nd_next(int rank, const int64_t *dims, int64_t *idx, int n, int64_t *const *strides, int64_t *offsets)
{
    for (int d = rank - 1; d >= 0; d--) {
        idx[d]++;
        for (int k = 0; k < n; k++)
            offsets[k] += strides[k][d];
        if (idx[d] < dims[d])
            return 1;
        for (int k = 0; k < n; k++)
            offsets[k] -= strides[k][d] * idx[d];
        idx[d] = 0;
    }
    return 0;
}

/* A copy of t's elements converted to dt (caller frees). */
static kiln_status convert_copy(const kiln_tensor *t, kiln_dtype dt, size_t max_bytes, void **out)
{
    int64_t n = kiln_tensor_numel(t);
    n = n < 0 ? 0 : n;
    KILN_TRY(kiln_alloc_elems(dt, n, max_bytes, "staging buffer", out));
    kiln_convert(t->data, t->dtype, *out, dt, (size_t)n);
    return KILN_OK;
}

kiln_status kiln_to_f32(const kiln_tensor *t, size_t max_bytes, float **out)
{
    void *buf;
    KILN_TRY(convert_copy(t, KILN_FLOAT32, max_bytes, &buf));
    *out = buf;
    return KILN_OK;
}

kiln_status kiln_to_f64(const kiln_tensor *t, size_t max_bytes, double **out)
{
    void *buf;
    KILN_TRY(convert_copy(t, KILN_FLOAT64, max_bytes, &buf));
    *out = buf;
    return KILN_OK;
}

kiln_status kiln_stage_in(const kiln_tensor *t, kiln_dtype dt, size_t max_bytes, const void **data, void **owned)
{
    *data = NULL;
    *owned = NULL;
    if (!t)
        return KILN_OK;
    if (t->dtype == dt) {
        *data = t->data;
        return KILN_OK;
    }
    KILN_TRY(convert_copy(t, dt, max_bytes, owned));
    *data = *owned;
    return KILN_OK;
}

kiln_status kiln_stage_out(kiln_tensor *t, kiln_dtype dt, size_t max_bytes, void **data, void **owned)
{
    *owned = NULL;
    if (t->dtype == dt) {
        *data = t->data;
        return KILN_OK;
    }
    KILN_TRY(kiln_alloc_elems(dt, kiln_tensor_numel(t), max_bytes, "output staging buffer", owned));
    *data = *owned;
    return KILN_OK;
}

void kiln_stage_out_end(kiln_tensor *t, kiln_dtype dt, void *owned, kiln_status st)
{
    if (owned && st == KILN_OK)
        kiln_convert(owned, dt, t->data, t->dtype, (size_t)kiln_tensor_numel(t));
    free(owned);
}

int kiln_has_shape(const kiln_tensor *t, int rank, const int64_t *dims)
{
    if (t->rank != rank)
        return 0;
    for (int k = 0; k < rank; k++)
        if (t->dims[k] != dims[k])
            return 0;
    return 1;
}

kiln_status kiln_split_at_axis(const kiln_tensor *t, int axis, int64_t *outer, int64_t *len, int64_t *inner)
{
    *len = t->dims[axis];
    KILN_TRY(kiln_shape_numel(t->dims, axis, outer, "the dims before the axis"));
    return kiln_shape_numel(t->dims + axis + 1, t->rank - axis - 1, inner, "the dims after the axis");
}

void kiln_from_f32(kiln_tensor *t, const float *src, int64_t n)
{
    kiln_convert(src, KILN_FLOAT32, t->data, t->dtype, (size_t)n);
}

void kiln_from_f64(kiln_tensor *t, const double *src, int64_t n)
{
    kiln_convert(src, KILN_FLOAT64, t->data, t->dtype, (size_t)n);
}
