/*
 * depthwise_f32.h - one output plane of a float32 2-D depthwise convolution
 * (one input channel per filter), shared by the Conv kernel's grouped
 * driver and the depthwise tactic.
 */
#ifndef KILN_BACKENDS_CPU_DEPTHWISE_F32_H
#define KILN_BACKENDS_CPU_DEPTHWISE_F32_H

#include "ir/infer/conv_pool_geometry.h"

/* y (w->out[0] x w->out[1]) = bias + x (w->in[0] x w->in[1]) correlated
 * with the kernel k (w->kernel[0] x w->kernel[1]) under w's stride,
 * dilation and padding (w->n must be 2). */
void kiln_dw_plane_f32(const kiln_window *w, const float *x, const float *k, float bias, float *y);

#endif
