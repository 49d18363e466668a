/*
 * reduce.c - shape inference for the reduce op family.
 */
#include "ir/infer/infer_util.h"

const kiln_op_schema kiln_schemas_reduce[] = {
    {NULL, 0, 0, 0, 0, 0, NULL},
};
