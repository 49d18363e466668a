/*
 * softmax_row_f32.h - the vectorized float32 softmax of one contiguous row,
 * shared by the Attention and Softmax kernels.
 */
#ifndef KILN_BACKENDS_CPU_SOFTMAX_ROW_F32_H
#define KILN_BACKENDS_CPU_SOFTMAX_ROW_F32_H

#include <stdint.h>

/* Softmax of row[n] in place: the maximum (NaN aside) subtracted, e^x by a
 * polynomial below 1 ulp, the sum in double. A row of -inf gives zeros, a
 * NaN makes the row NaN. Returns the row's maximum (-inf for such a row, or
 * for n = 0). */
float kiln_softmax_row_f32(float *row, int64_t n);

#endif
