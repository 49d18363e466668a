/*
 * tensor.c - the CPU kernel table of the tensor op family. Reshape-like ops
 * (Flatten, Reshape, Squeeze, Unsqueeze) keep the element order, so they
 * share Identity's copy.
 */
#include "backends/cpu/ops/tensor_kernels.h"

const kiln_cpu_kernel kiln_cpu_tensor[] = {
    {"Identity", kiln_cpu_identity},
    {"Dropout", kiln_cpu_dropout},
    {"Constant", kiln_cpu_constant},
    {"ConstantOfShape", kiln_cpu_constant_of_shape},
    {"Shape", kiln_cpu_shape},
    {"Size", kiln_cpu_size},
    {"EyeLike", kiln_cpu_eye_like},
    {"Range", kiln_cpu_range},
    {"Trilu", kiln_cpu_trilu},
    {"Flatten", kiln_cpu_identity},
    {"Reshape", kiln_cpu_identity},
    {"Squeeze", kiln_cpu_identity},
    {"Unsqueeze", kiln_cpu_identity},
    {"Expand", kiln_cpu_expand},
    {"Tile", kiln_cpu_tile},
    {"Transpose", kiln_cpu_transpose},
    {"Concat", kiln_cpu_concat},
    {"Split", kiln_cpu_split},
    {"Slice", kiln_cpu_slice},
    {"Pad", kiln_cpu_pad},
    {"CenterCropPad", kiln_cpu_center_crop_pad},
    {"DepthToSpace", kiln_cpu_depth_to_space},
    {"SpaceToDepth", kiln_cpu_space_to_depth},
    {"ReverseSequence", kiln_cpu_reverse_sequence},
    {"Gather", kiln_cpu_gather},
    {"GatherElements", kiln_cpu_gather_elements},
    {"GatherND", kiln_cpu_gather_nd},
    {"ScatterND", kiln_cpu_scatter_nd},
    {"ScatterElements", kiln_cpu_scatter_elements},
    {"Scatter", kiln_cpu_scatter_elements},
    {"TensorScatter", kiln_cpu_tensor_scatter},
    {"OneHot", kiln_cpu_one_hot},
    {"Compress", kiln_cpu_compress},
    {"NonZero", kiln_cpu_nonzero},
    {"Unique", kiln_cpu_unique},
    {NULL, NULL},
};
