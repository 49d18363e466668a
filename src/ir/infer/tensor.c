/*
 * tensor.c - shape inference for the tensor op family.
 */
#include "ir/infer/infer_util.h"

const kiln_op_schema kiln_schemas_tensor[] = {
    {NULL, 0, 0, 0, 0, 0, NULL},
};
