/*
 * reduce.c - the op table of the reduce family: reductions, arg-reductions,
 * TopK, cumulative ops and the classification losses. The inference
 * functions live in reduce_axes.c, reduce_topk_cum.c and reduce_loss.c.
 */
#include "ir/infer/reduce_infer.h"

const kiln_op_schema kiln_schemas_reduce[] = {
    {"ReduceMean", 1, 2, 1, 1, 0, kiln_infer_reduce},
    {"ReduceSum", 1, 2, 1, 1, 0, kiln_infer_reduce},
    {"ReduceMax", 1, 2, 1, 1, 0, kiln_infer_reduce},
    {"ReduceMin", 1, 2, 1, 1, 0, kiln_infer_reduce},
    {"ReduceProd", 1, 2, 1, 1, 0, kiln_infer_reduce},
    {"ReduceL1", 1, 2, 1, 1, 0, kiln_infer_reduce},
    {"ReduceL2", 1, 2, 1, 1, 0, kiln_infer_reduce},
    {"ReduceLogSum", 1, 2, 1, 1, 0, kiln_infer_reduce},
    {"ReduceLogSumExp", 1, 2, 1, 1, 0, kiln_infer_reduce},
    {"ReduceSumSquare", 1, 2, 1, 1, 0, kiln_infer_reduce},
    {"ArgMax", 1, 1, 1, 1, 0, kiln_infer_arg_reduce},
    {"ArgMin", 1, 1, 1, 1, 0, kiln_infer_arg_reduce},
    {"TopK", 1, 2, 2, 2, 0, kiln_infer_topk},
    {"CumSum", 2, 2, 1, 1, 0, kiln_infer_cumulative},
    {"CumProd", 2, 2, 1, 1, 0, kiln_infer_cumulative},
    {"SoftmaxCrossEntropyLoss", 2, 3, 1, 2, 0, kiln_infer_sce_loss},
    {"NegativeLogLikelihoodLoss", 2, 3, 1, 1, 0, kiln_infer_nll_loss},
    {NULL, 0, 0, 0, 0, 0, NULL},
};
