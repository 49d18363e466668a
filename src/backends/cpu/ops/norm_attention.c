/*
 * norm_attention.c - CPU reference kernels for the norm_attention op family.
 */
#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_util.h"

const kiln_cpu_kernel kiln_cpu_norm_attention[] = {
    {NULL, NULL},
};
