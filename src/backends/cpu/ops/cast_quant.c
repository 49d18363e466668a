/*
 * cast_quant.c - CPU reference kernels for the cast_quant op family.
 */
#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_util.h"

const kiln_cpu_kernel kiln_cpu_cast_quant[] = {
    {NULL, NULL},
};
