/*
 * conv_pool.c - CPU reference kernels for the conv_pool op family.
 */
#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_util.h"

const kiln_cpu_kernel kiln_cpu_conv_pool[] = {
    {NULL, NULL},
};
