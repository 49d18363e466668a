/*
 * tensor.c - the op table of the tensor family: ops that create, reshape,
 * reorder, select and scatter data without arithmetic on it. The inference
 * functions live in tensor_basic.c, tensor_reshape.c, tensor_layout.c and
 * tensor_index.c; parameter reading shared with the kernels in
 * tensor_params.c and tensor_unique.c.
 *
 * Arity covers every opset of an op (Slice-1 has one input, Tile-1 three).
 */
#include "ir/infer/tensor_infer.h"

const kiln_op_schema kiln_schemas_tensor[] = {
    {"Identity", 1, 1, 1, 1, 0, kiln_infer_identity},
    {"Dropout", 1, 3, 1, 2, 0, kiln_infer_dropout},
    {"Constant", 0, 0, 1, 1, 0, kiln_infer_constant},
    {"ConstantOfShape", 1, 1, 1, 1, 0, kiln_infer_constant_of_shape},
    {"Shape", 1, 1, 1, 1, KILN_OP_SHAPE_ONLY, kiln_infer_shape},
    {"Size", 1, 1, 1, 1, KILN_OP_SHAPE_ONLY, kiln_infer_size},
    {"EyeLike", 1, 1, 1, 1, 0, kiln_infer_eye_like},
    {"Range", 3, 3, 1, 1, 0, kiln_infer_range},
    {"Trilu", 1, 2, 1, 1, 0, kiln_infer_trilu},
    {"Flatten", 1, 1, 1, 1, 0, kiln_infer_flatten},
    {"Reshape", 1, 2, 1, 1, 0, kiln_infer_reshape},
    {"Squeeze", 1, 2, 1, 1, 0, kiln_infer_squeeze},
    {"Unsqueeze", 1, 2, 1, 1, 0, kiln_infer_unsqueeze},
    {"Expand", 2, 2, 1, 1, 0, kiln_infer_expand},
    {"Tile", 2, 3, 1, 1, 0, kiln_infer_tile},
    {"Transpose", 1, 1, 1, 1, 0, kiln_infer_transpose},
    {"Concat", 1, -1, 1, 1, 0, kiln_infer_concat},
    {"Split", 1, 2, 1, -1, 0, kiln_infer_split},
    {"Slice", 1, 5, 1, 1, 0, kiln_infer_slice},
    {"Pad", 1, 4, 1, 1, 0, kiln_infer_pad},
    {"CenterCropPad", 2, 2, 1, 1, 0, kiln_infer_center_crop_pad},
    {"DepthToSpace", 1, 1, 1, 1, 0, kiln_infer_depth_to_space},
    {"SpaceToDepth", 1, 1, 1, 1, 0, kiln_infer_space_to_depth},
    {"ReverseSequence", 2, 2, 1, 1, 0, kiln_infer_reverse_sequence},
    {"Gather", 2, 2, 1, 1, 0, kiln_infer_gather},
    {"GatherElements", 2, 2, 1, 1, 0, kiln_infer_gather_elements},
    {"GatherND", 2, 2, 1, 1, 0, kiln_infer_gather_nd},
    {"ScatterND", 3, 3, 1, 1, 0, kiln_infer_scatter_nd},
    {"ScatterElements", 3, 3, 1, 1, 0, kiln_infer_scatter_elements},
    {"Scatter", 3, 3, 1, 1, 0, kiln_infer_scatter_elements},
    {"TensorScatter", 2, 3, 1, 1, 0, kiln_infer_tensor_scatter},
    {"OneHot", 3, 3, 1, 1, 0, kiln_infer_one_hot},
    {"Compress", 2, 2, 1, 1, 0, kiln_infer_compress},
    {"NonZero", 1, 1, 1, 1, 0, kiln_infer_nonzero},
    {"Unique", 1, 1, 1, 4, 0, kiln_infer_unique},
    {NULL, 0, 0, 0, 0, 0, NULL},
};
