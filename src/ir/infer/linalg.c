/*
 * linalg.c - shape inference for the linalg op family.
 */
#include "ir/infer/infer_util.h"

const kiln_op_schema kiln_schemas_linalg[] = {
    {NULL, 0, 0, 0, 0, 0, NULL},
};
