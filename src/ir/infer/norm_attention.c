/*
 * norm_attention.c - shape inference for the norm_attention op family.
 */
#include "ir/infer/infer_util.h"

const kiln_op_schema kiln_schemas_norm_attention[] = {
    {NULL, 0, 0, 0, 0, 0, NULL},
};
