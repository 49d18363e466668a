/*
 * fused_matmul_f32.h - the float32 epilogue of the fused matrix products:
 * bias and activation in one pass over the output, split over the thread
 * pool, with a vectorizable erf for GELU.
 */
#ifndef KILN_BACKENDS_CPU_OPS_FUSED_MATMUL_F32_H
#define KILN_BACKENDS_CPU_OPS_FUSED_MATMUL_F32_H

#include <stdint.h>

#include "backends/cpu/epilogue.h"

/* y[rows x len] = act(y + bias) in place, bias NULL or len values added to
 * every row. */
void kiln_epilogue_rows_f32(const kiln_epilogue *e, float *y, const float *bias, int64_t rows, int64_t len);

/* erf(x) for float32 x, vectorizable; absolute error below 5e-7, NaN stays
 * NaN, +-inf give +-1. */
float kiln_erf_f32(float x);

#endif
