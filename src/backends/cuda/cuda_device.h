/*
 * cuda_device.h - which NVIDIA GPUs this process can use. The CUDA backend
 * builds on this; engines will record the identity for device binding.
 * Compiled only where nvcc exists (KILN_HAVE_CUDA); callers use
 * kiln_cuda_available() from core code through the weak fallback below.
 */
#ifndef KILN_BACKENDS_CUDA_DEVICE_H
#define KILN_BACKENDS_CUDA_DEVICE_H

#include <stddef.h>

#include "kiln.h"

typedef struct kiln_gpu_info {
    char name[256];
    int cc_major, cc_minor;
    size_t total_memory;
    int multiprocessors;
} kiln_gpu_info;

#ifdef __cplusplus
extern "C" {
#endif
/* Number of usable GPUs (0 with no driver or no device; not an error). */
kiln_status kiln_cuda_device_count(int *count);
kiln_status kiln_cuda_device_info(int device, kiln_gpu_info *info);
#ifdef __cplusplus
}
#endif

#endif
