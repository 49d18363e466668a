/*
 * resize_sample.c - CPU reference kernels for the resize_sample op family.
 */
#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/cpu_util.h"

const kiln_cpu_kernel kiln_cpu_resize_sample[] = {
    {NULL, NULL},
};
