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

kiln_status kiln_to_f32(const kiln_tensor *t, size_t max_bytes, float **out)
{
    int64_t n = kiln_tensor_numel(t);
    size_t bytes;
    KILN_TRY(kiln_bytes_for(KILN_FLOAT32, n < 0 ? 0 : n, max_bytes, &bytes, "float32 staging buffer"));
    float *f = malloc(bytes ? bytes : 1);
    if (!f)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes", bytes);
    kiln_convert(t->data, t->dtype, f, KILN_FLOAT32, (size_t)n);
    *out = f;
    return KILN_OK;
}

kiln_status kiln_to_f64(const kiln_tensor *t, size_t max_bytes, double **out)
{
    int64_t n = kiln_tensor_numel(t);
    size_t bytes;
    KILN_TRY(kiln_bytes_for(KILN_FLOAT64, n < 0 ? 0 : n, max_bytes, &bytes, "float64 staging buffer"));
    double *f = malloc(bytes ? bytes : 1);
    if (!f)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes", bytes);
    kiln_convert(t->data, t->dtype, f, KILN_FLOAT64, (size_t)n);
    *out = f;
    return KILN_OK;
}

void kiln_from_f32(kiln_tensor *t, const float *src, int64_t n) { kiln_convert(src, KILN_FLOAT32, t->data, t->dtype, (size_t)n); }

void kiln_from_f64(kiln_tensor *t, const double *src, int64_t n) { kiln_convert(src, KILN_FLOAT64, t->data, t->dtype, (size_t)n); }
