/*
 * tensor.c - CPU reference kernels for the tensor op family.
 */
#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_util.h"

const kiln_cpu_kernel kiln_cpu_tensor[] = {
    {NULL, NULL},
};
