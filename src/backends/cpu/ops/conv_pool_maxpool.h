/*
 * conv_pool_maxpool.h - the float32 2-D MaxPool plane (no Indices), which
 * conv_pool_pool.c uses instead of its float64 staging.
 */
#ifndef KILN_BACKENDS_CPU_OPS_CONV_POOL_MAXPOOL_H
#define KILN_BACKENDS_CPU_OPS_CONV_POOL_MAXPOOL_H

#include "ir/infer/conv_pool_geometry.h"

/* y (w->out[0] x w->out[1]) = the max of each window of x (w->in[0] x
 * w->in[1]) over its taps inside x, in row-major tap order (a NaN first tap
 * stays, later NaNs are skipped: as the staged kernel); a window without
 * taps inside x gives 0. w->n must be 2. */
void kiln_cp_max_plane_f32(const kiln_window *w, const float *x, float *y);

#endif
