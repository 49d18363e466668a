/*
 * nhwc_pool_kernels.h - the float32 loops of the channels-last pools
 * (nhwc_pool.c runs them over the thread pool): one output row of a
 * windowed max or average pool, and a run of channels of a global pool.
 * Channels are the contiguous innermost axis, so every inner loop runs over
 * C (or a block of it) and vectorises.
 *
 * The results are those of conv_pool_pool.c's NCHW kernels, bit for bit:
 * the same tap order, sums in float64, and the same rules for taps outside
 * the input (max: never taken, a window without input taps gives 0;
 * average: see kiln_nhwc_avg_row_f32).
 */
#ifndef KILN_BACKENDS_CPU_OPS_NHWC_POOL_KERNELS_H
#define KILN_BACKENDS_CPU_OPS_NHWC_POOL_KERNELS_H

#include <stdint.h>

#include "ir/infer/conv_pool_geometry.h"

/* A windowed pool over X [N, H, W, C] into Y [N, OH, OW, C]. */
typedef struct kiln_nhwc_pool_f32 {
    const kiln_window *w;  /* 2 axes: in = {H, W}, out = {OH, OW}, pads resolved */
    int64_t channels;      /* C */
    int count_include_pad; /* average pool */
    const float *x;
    float *y;
} kiln_nhwc_pool_f32;

/* Output row r (of the N * OH rows) of the max pool: per channel the max
 * of the window's taps inside X in row-major tap order (a NaN first tap
 * stays, later NaNs are skipped, as MaxPool's kernels do). */
void kiln_nhwc_max_row_f32(const kiln_nhwc_pool_f32 *p, int64_t r);

/* Output row r of the average pool: the sum of the taps inside X over a
 * count that is, with count_include_pad 0, those taps; with 1, the taps
 * inside the explicitly padded input (begin pads, X, end pads) - not the
 * ones past the end pad that ceil_mode's last window may reach. A count of
 * 0 gives 0. */
void kiln_nhwc_avg_row_f32(const kiln_nhwc_pool_f32 *p, int64_t r);

/* y[0, n) = the mean (avg) or max (max) of channels [0, n) over `pixels`
 * pixels of x, one every `stride` floats; 0 when there are no pixels. */
void kiln_nhwc_global_avg_f32(const float *x, int64_t pixels, int64_t stride, int64_t n, float *y);
void kiln_nhwc_global_max_f32(const float *x, int64_t pixels, int64_t stride, int64_t n, float *y);

#endif
