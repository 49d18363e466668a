/*
 * gpus.c - GPU discovery in the public API; answers "none" in builds
 * without the CUDA backend.
 */
#include <stdio.h>

#include "core/status.h"
#ifdef KILN_HAVE_CUDA
#include "backends/cuda/cuda_device.h"
#endif

kiln_status kiln_gpu_count(int *count)
{
    if (!count)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_gpu_count: count is required");
#ifdef KILN_HAVE_CUDA
    return kiln_cuda_device_count(count);
#else
    *count = 0;
    return KILN_OK;
#endif
}

kiln_status kiln_gpu_describe(int index, char *buf, size_t len)
{
    if (!buf || len == 0)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_gpu_describe: a buffer is required");
#ifdef KILN_HAVE_CUDA
    kiln_gpu_info info;
    KILN_TRY(kiln_cuda_device_info(index, &info));
    snprintf(buf, len, "%s (sm_%d%d, %d SMs, %.1f GiB)", info.name, info.cc_major, info.cc_minor,
             info.multiprocessors, (double)info.total_memory / (1024.0 * 1024.0 * 1024.0));
    return KILN_OK;
#else
    (void)index;
    return kiln_error(KILN_ERR_UNSUPPORTED, "kiln was built without the CUDA backend");
#endif
}
