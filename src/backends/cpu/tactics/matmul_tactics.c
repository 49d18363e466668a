/*
 * matmul_tactics.c - the CPU tactics of MatMul, Gemm, FusedMatMul and
 * FusedGemm: the backend's kernel with its float32 products on one matrix
 * library or the other (cpu_gemm.h providers: OpenBLAS's sgemm, oneDNN's
 * where kiln has it), so that the autotuner picks the faster library per
 * layer and shape instead of one for the whole process.
 */
#include <string.h>

#include "backends/cpu/cpu_gemm.h"
#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/tactics/conv_tactics.h"

/* Every tensor the node reads or writes is float32: its products are sgemm. */
static bool all_f32(const kiln_op_ctx *ctx)
{
    for (int k = 0; k < ctx->n_in; k++)
        if (ctx->in[k] && ctx->in[k]->dtype != KILN_FLOAT32)
            return false;
    for (int k = 0; k < ctx->n_out; k++)
        if (ctx->out[k] && ctx->out[k]->dtype != KILN_FLOAT32)
            return false;
    return ctx->n_out > 0 && kiln_cpu_find_kernel(ctx->node->op_type) != NULL;
}

/* The node's kernel with this thread's products on provider `name`. */
static kiln_status run_on(kiln_op_ctx *ctx, const char *name)
{
    int index = kiln_sgemm_provider_index(name);
    if (index < 0)
        return kiln_error(KILN_ERR_UNSUPPORTED, "matrix products: this build has no %s", name);
    int was = kiln_sgemm_scope(index);
    kiln_status st = kiln_cpu_find_kernel(ctx->node->op_type)(ctx);
    kiln_sgemm_scope(was);
    return st;
}

static bool openblas_supports(const kiln_op_ctx *ctx)
{
    return all_f32(ctx);
}

static kiln_status openblas_run(kiln_op_ctx *ctx, void *workspace)
{
    (void)workspace;
    return run_on(ctx, "openblas");
}

#ifdef KILN_HAVE_ONEDNN
static bool onednn_supports(const kiln_op_ctx *ctx)
{
    return all_f32(ctx);
}

static kiln_status onednn_run(kiln_op_ctx *ctx, void *workspace)
{
    (void)workspace;
    return run_on(ctx, "onednn");
}
#define ONEDNN_ENTRY                                                                                                   \
    {"gemm_onednn", KILN_TACTIC_ONEDNN, onednn_supports, kiln_ct_no_workspace, onednn_run, NULL},
#else
#define ONEDNN_ENTRY
#endif

const kiln_tactic kiln_cpu_matmul_tactics[] = {
    {"gemm_openblas", KILN_TACTIC_OPENBLAS, openblas_supports, kiln_ct_no_workspace, openblas_run, NULL},
    ONEDNN_ENTRY{NULL, 0, NULL, NULL, NULL, NULL},
};
