/*
 * conv_pool.c - shape inference for the conv_pool op family.
 */
#include "ir/infer/infer_util.h"

const kiln_op_schema kiln_schemas_conv_pool[] = {
    {NULL, 0, 0, 0, 0, 0, NULL},
};
