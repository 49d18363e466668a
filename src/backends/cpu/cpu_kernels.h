/*
 * cpu_kernels.h - the CPU reference kernels: one table per op family.
 * A kernel sees the contract of kiln_op_ctx in ir/op_registry.h.
 */
#ifndef KILN_BACKENDS_CPU_KERNELS_H
#define KILN_BACKENDS_CPU_KERNELS_H

#include "ir/op_registry.h"

typedef kiln_status (*kiln_cpu_kernel_fn)(kiln_op_ctx *ctx);

typedef struct kiln_cpu_kernel {
    const char *op;
    kiln_cpu_kernel_fn run;
} kiln_cpu_kernel;

/* Each ends with an entry whose op is NULL. */
extern const kiln_cpu_kernel kiln_cpu_elementwise[];
extern const kiln_cpu_kernel kiln_cpu_conv_pool[];
extern const kiln_cpu_kernel kiln_cpu_linalg[];
extern const kiln_cpu_kernel kiln_cpu_norm_attention[];
extern const kiln_cpu_kernel kiln_cpu_tensor[];
extern const kiln_cpu_kernel kiln_cpu_reduce[];
extern const kiln_cpu_kernel kiln_cpu_cast_quant[];
extern const kiln_cpu_kernel kiln_cpu_resize_sample[];
extern const kiln_cpu_kernel kiln_cpu_recurrent[];
extern const kiln_cpu_kernel kiln_cpu_fused_conv[];
extern const kiln_cpu_kernel kiln_cpu_fused_matmul[];
extern const kiln_cpu_kernel kiln_cpu_nhwc_conv[];
extern const kiln_cpu_kernel kiln_cpu_nhwc_pool[];

/* The kernel for op, or NULL. */
kiln_cpu_kernel_fn kiln_cpu_find_kernel(const char *op);

#endif
