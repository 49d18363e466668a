/*
 * nhwc_conv.c - CPU kernel of kiln's channels-last convolution NhwcConv
 * (domain "kiln"; ir/infer/nhwc_conv.c has the contract): what runs when
 * no tactic was chosen. float32 only; it runs the conv_nhwc_gemm tactic's
 * core (every float32 2-D NhwcConv), its im2col block allocated here within
 * the engine's allocation ceiling.
 */
#include <stdlib.h>

#include "backends/cpu/cpu_kernels.h"
#include "backends/cpu/tactics/conv_nhwc.h"
#include "ir/infer/infer_util.h"

static kiln_status run_nhwc_conv(kiln_op_ctx *ctx)
{
    static const char *const which[] = {"input 0 (X)", "input 1 (W)", "input 2 (B)", "input 3 (Z)"};
    for (int i = 0; i < 4; i++) {
        const kiln_tensor *t = kiln_opt_in(ctx, i);
        if (t && t->dtype != KILN_FLOAT32)
            return kiln_unsupported_dtype(ctx, which[i], t->dtype);
    }
    if (ctx->out[0]->dtype != KILN_FLOAT32)
        return kiln_unsupported_dtype(ctx, "output 0 (Y)", ctx->out[0]->dtype);
    kiln_ct_conv c;
    kiln_epilogue e;
    KILN_TRY(kiln_ct_read_nhwc(ctx, 0, &c));
    KILN_TRY(kiln_epilogue_from_node(ctx->node, &e));
    if (!kiln_ct_nhwc_gemm_supports(ctx))
        return kiln_error(KILN_ERR_LIMIT,
                          "NhwcConv: a %lldx%lld kernel over %lld channels per group and %lld filters "
                          "exceeds the matrix products' int extents",
                          (long long)c.win.kernel[0], (long long)c.win.kernel[1], (long long)c.cg,
                          (long long)c.filters);
    size_t bytes = kiln_ct_nhwc_gemm_workspace(ctx);
    void *workspace = NULL;
    if (bytes)
        KILN_TRY(kiln_alloc_elems(KILN_FLOAT32, (int64_t)(bytes / sizeof(float)), ctx->max_bytes,
                                  "NhwcConv im2col block", &workspace));
    kiln_status st = kiln_ct_nhwc_run(ctx, workspace, kiln_ct_nhwc_gemm_core);
    free(workspace);
    return st;
}

const kiln_cpu_kernel kiln_cpu_nhwc_conv[] = {
    {"NhwcConv", run_nhwc_conv},
    {NULL, NULL},
};
