/*
 * conv_pool.c - the CPU kernel table of the conv_pool op family. The
 * kernels live in conv_pool_conv.c (Conv, ConvInteger, QLinearConv),
 * conv_pool_transpose.c (ConvTranspose, Col2Im), conv_pool_deform.c,
 * conv_pool_pool.c (windowed and global pools) and conv_pool_unpool.c
 * (MaxUnpool, MaxRoiPool).
 */
#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/ops/conv_pool_kernels.h"

const kiln_cpu_kernel kiln_cpu_conv_pool[] = {
    {"Conv", kiln_cpu_conv},
    {"ConvTranspose", kiln_cpu_conv_transpose},
    {"ConvInteger", kiln_cpu_conv_integer},
    {"QLinearConv", kiln_cpu_qlinear_conv},
    {"DeformConv", kiln_cpu_deform_conv},
    {"MaxPool", kiln_cpu_max_pool},
    {"AveragePool", kiln_cpu_average_pool},
    {"LpPool", kiln_cpu_lp_pool},
    {"GlobalAveragePool", kiln_cpu_global_average_pool},
    {"GlobalMaxPool", kiln_cpu_global_max_pool},
    {"GlobalLpPool", kiln_cpu_global_lp_pool},
    {"MaxUnpool", kiln_cpu_max_unpool},
    {"MaxRoiPool", kiln_cpu_max_roi_pool},
    {"Col2Im", kiln_cpu_col2im},
    {NULL, NULL},
};
