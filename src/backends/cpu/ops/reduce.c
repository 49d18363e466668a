/*
 * reduce.c - the CPU kernel table of the reduce family; the kernels live in
 * reduce_driver.c, reduce_select.c, reduce_cum.c and reduce_loss.c.
 */
#include "backends/cpu/ops/reduce_kernels.h"

const kiln_cpu_kernel kiln_cpu_reduce[] = {
    {"ReduceMean", kiln_cpu_reduce_op},
    {"ReduceSum", kiln_cpu_reduce_op},
    {"ReduceMax", kiln_cpu_reduce_op},
    {"ReduceMin", kiln_cpu_reduce_op},
    {"ReduceProd", kiln_cpu_reduce_op},
    {"ReduceL1", kiln_cpu_reduce_op},
    {"ReduceL2", kiln_cpu_reduce_op},
    {"ReduceLogSum", kiln_cpu_reduce_op},
    {"ReduceLogSumExp", kiln_cpu_reduce_op},
    {"ReduceSumSquare", kiln_cpu_reduce_op},
    {"ArgMax", kiln_cpu_argmax},
    {"ArgMin", kiln_cpu_argmin},
    {"TopK", kiln_cpu_topk},
    {"CumSum", kiln_cpu_cumsum},
    {"CumProd", kiln_cpu_cumprod},
    {"SoftmaxCrossEntropyLoss", kiln_cpu_sce_loss},
    {"NegativeLogLikelihoodLoss", kiln_cpu_nll_loss},
    {NULL, NULL},
};
