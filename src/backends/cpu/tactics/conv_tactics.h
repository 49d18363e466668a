/*
 * conv_tactics.h - the CPU tactics of Conv and FusedConv (alternative
 * kernels the autotuner times against each other), and what their files
 * share: the float32 2-D geometry of a node and the per-tactic cores.
 *
 * Every tactic handles float32, 2-D convolutions only; its core computes
 * y = conv(x, w) + b, and the FusedConv variant then runs the epilogue.
 */
#ifndef KILN_BACKENDS_CPU_TACTICS_CONV_TACTICS_H
#define KILN_BACKENDS_CPU_TACTICS_CONV_TACTICS_H

#include "backends/backend.h"
#include "backends/cpu/epilogue.h"
#include "ir/infer/conv_pool_geometry.h"

/* One float32 2-D convolution as the tactics see it. */
typedef struct kiln_ct_conv {
    kiln_window win;
    int64_t batch, channels, filters, group; /* N, C, M, group */
    int64_t cg, mg;                          /* channels and filters per group */
    const float *x, *w, *b;                  /* b: NULL or M values */
    float *y;
    size_t max_bytes;
} kiln_ct_conv;

/* Fills c from the node (geometry only when data is 0); fails when the node
 * is not a float32 2-D convolution with known shapes. */
kiln_status kiln_ct_read(const kiln_op_ctx *ctx, int data, kiln_ct_conv *c);
/* Points c at the tensors' data (b may be NULL). */
void kiln_ct_set_data(kiln_ct_conv *c, const kiln_tensor *x, const kiln_tensor *w, const kiln_tensor *b,
                      const kiln_tensor *y);
/* Whether the node is a float32 2-D convolution; fills c's geometry. */
bool kiln_ct_basic(const kiln_op_ctx *ctx, kiln_ct_conv *c);

typedef kiln_status (*kiln_ct_core)(const kiln_ct_conv *c, void *workspace);
/* Reads the node and runs core; FusedConv (fused != 0) then applies its
 * epilogue. */
kiln_status kiln_ct_run(kiln_op_ctx *ctx, void *workspace, kiln_ct_core core, int fused);

/* A core that applies FusedConv's epilogue as it goes (part by part, while
 * each part is in cache): y = act(conv(x, w) + b + add); add is NULL or
 * float32 of the output's shape. */
typedef kiln_status (*kiln_ct_epilogue_core)(const kiln_ct_conv *c, const kiln_epilogue *e, const float *add,
                                             void *workspace);
/* FusedConv through such a core; an addend it cannot take (another dtype,
 * or broadcast) goes through plain and the separate epilogue instead. */
kiln_status kiln_ct_run_fused_inline(kiln_op_ctx *ctx, void *workspace, kiln_ct_core plain,
                                     kiln_ct_epilogue_core core);

/* The cores, supports and workspace sizes, one family per file. */
kiln_status kiln_ct_im2col_core(const kiln_ct_conv *c, void *workspace);
bool kiln_ct_im2col_supports(const kiln_op_ctx *ctx);
size_t kiln_ct_im2col_workspace(const kiln_op_ctx *ctx);

kiln_status kiln_ct_pointwise_core(const kiln_ct_conv *c, void *workspace);
bool kiln_ct_pointwise_supports(const kiln_op_ctx *ctx);
size_t kiln_ct_pointwise_workspace(const kiln_op_ctx *ctx);
/* the epilogue applied to each tile of the product as it is done */
kiln_status kiln_ct_pointwise_epilogue_core(const kiln_ct_conv *c, const kiln_epilogue *e, const float *add,
                                            void *workspace);

kiln_status kiln_ct_direct_core(const kiln_ct_conv *c, void *workspace);
bool kiln_ct_direct_supports(const kiln_op_ctx *ctx);
kiln_status kiln_ct_depthwise_core(const kiln_ct_conv *c, void *workspace);
/* the epilogue applied to each plane right after computing it */
kiln_status kiln_ct_depthwise_epilogue_core(const kiln_ct_conv *c, const kiln_epilogue *e, const float *add,
                                            void *workspace);
bool kiln_ct_depthwise_supports(const kiln_op_ctx *ctx);
size_t kiln_ct_no_workspace(const kiln_op_ctx *ctx);

kiln_status kiln_ct_winograd_core(const kiln_ct_conv *c, void *workspace);
bool kiln_ct_winograd_supports(const kiln_op_ctx *ctx);
size_t kiln_ct_winograd_workspace(const kiln_op_ctx *ctx);

/* oneDNN (conv_onednn.c), where kiln was built with it: full run functions,
 * since its post-ops take FusedConv's epilogue. KILN_CT_ONEDNN_ENTRY(conv)
 * or (fused) is its table entry, or nothing. */
/* Whether oneDNN holds reordered copies of the weights at `weights` (for
 * tests; always false in a build without oneDNN). */
bool kiln_ct_onednn_holds(const void *weights);
#ifdef KILN_HAVE_ONEDNN
kiln_status kiln_ct_onednn_conv(kiln_op_ctx *ctx, void *workspace);
kiln_status kiln_ct_onednn_fused(kiln_op_ctx *ctx, void *workspace);
bool kiln_ct_onednn_supports(const kiln_op_ctx *ctx);
size_t kiln_ct_onednn_workspace(const kiln_op_ctx *ctx);
/* Drops the reordered copies of the weights at `weights` (their owner is
 * freeing them: the address may come back holding other weights). */
void kiln_ct_onednn_forget(const void *weights);
/* Makes the node's primitive and reorders its weights ahead of the first run. */
kiln_status kiln_ct_onednn_prepare(const kiln_op_ctx *ctx);
#define KILN_CT_ONEDNN_ENTRY(suffix)                                                                                   \
    {"conv_onednn",           KILN_TACTIC_ONEDNN,      kiln_ct_onednn_supports,                                        \
     kiln_ct_onednn_workspace, kiln_ct_onednn_##suffix, kiln_ct_onednn_prepare},
/* NhwcConv on oneDNN, channels-last in and out */
kiln_status kiln_ct_onednn_nhwc(kiln_op_ctx *ctx, void *workspace);
#define KILN_CT_ONEDNN_NHWC_ENTRY                                                                                      \
    {"conv_nhwc_onednn",      KILN_TACTIC_ONEDNN,  kiln_ct_onednn_supports,                                            \
     kiln_ct_onednn_workspace, kiln_ct_onednn_nhwc, kiln_ct_onednn_prepare},
#else
#define KILN_CT_ONEDNN_ENTRY(suffix)
#define KILN_CT_ONEDNN_NHWC_ENTRY
#endif

/* The tables (NULL-named terminator), for the tactic registry. */
extern const kiln_tactic kiln_cpu_conv_tactics[];
extern const kiln_tactic kiln_cpu_fused_conv_tactics[];
extern const kiln_tactic kiln_cpu_nhwc_conv_tactics[];
/* MatMul, Gemm, FusedMatMul and FusedGemm (matmul_tactics.c) */
extern const kiln_tactic kiln_cpu_matmul_tactics[];

#endif
