/*
 * conv_pool.c - the schema table of the conv_pool op family: convolutions,
 * pools, unpooling and Col2Im. The inference functions live in
 * conv_pool_conv.c and conv_pool_pool.c.
 */
#include "ir/infer/conv_pool_infer.h"

const kiln_op_schema kiln_schemas_conv_pool[] = {
    {"Conv", 2, 3, 1, 1, 0, kiln_infer_conv},
    {"ConvTranspose", 2, 3, 1, 1, 0, kiln_infer_conv_transpose},
    {"ConvInteger", 2, 4, 1, 1, 0, kiln_infer_conv_integer},
    {"QLinearConv", 8, 9, 1, 1, 0, kiln_infer_qlinear_conv},
    {"DeformConv", 3, 5, 1, 1, 0, kiln_infer_deform_conv},
    {"MaxPool", 1, 1, 1, 2, 0, kiln_infer_max_pool},
    {"AveragePool", 1, 1, 1, 1, 0, kiln_infer_average_pool},
    {"LpPool", 1, 1, 1, 1, 0, kiln_infer_lp_pool},
    {"GlobalAveragePool", 1, 1, 1, 1, 0, kiln_infer_global_pool},
    {"GlobalMaxPool", 1, 1, 1, 1, 0, kiln_infer_global_pool},
    {"GlobalLpPool", 1, 1, 1, 1, 0, kiln_infer_global_pool},
    {"MaxUnpool", 2, 3, 1, 1, 0, kiln_infer_max_unpool},
    {"MaxRoiPool", 2, 2, 1, 1, 0, kiln_infer_max_roi_pool},
    {"Col2Im", 3, 3, 1, 1, 0, kiln_infer_col2im},
    {NULL, 0, 0, 0, 0, 0, NULL},
};
