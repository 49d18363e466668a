/*
 * cuda_device.cu - GPU discovery through the CUDA runtime. No device or no
 * driver is a normal answer (count 0), not an error.
 */
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

#include "backends/cuda/cuda_device.h"
extern "C" {
#include "core/status.h"
}

extern "C" kiln_status kiln_cuda_device_count(int *count)
{
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver || err == cudaErrorInitializationError) {
        cudaGetLastError(); /* clear the sticky error */
        *count = 0;
        return KILN_OK;
    }
    if (err != cudaSuccess) {
        cudaGetLastError();
        *count = 0;
        return kiln_error(KILN_ERR_UNSUPPORTED, "CUDA: %s", cudaGetErrorString(err));
    }
    *count = n;
    return KILN_OK;
}

extern "C" kiln_status kiln_cuda_device_info(int device, kiln_gpu_info *info)
{
    cudaDeviceProp prop;
    cudaError_t err = cudaGetDeviceProperties(&prop, device);
    if (err != cudaSuccess)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "CUDA device %d: %s", device, cudaGetErrorString(err));
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s", prop.name);
    info->cc_major = prop.major;
    info->cc_minor = prop.minor;
    info->total_memory = prop.totalGlobalMem;
    info->multiprocessors = prop.multiProcessorCount;
    return KILN_OK;
}
