/*
 * reduce.c - CPU reference kernels for the reduce op family.
 */
#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_util.h"

const kiln_cpu_kernel kiln_cpu_reduce[] = {
    {NULL, NULL},
};
