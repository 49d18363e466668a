/*
 * pass.h - graph optimization passes and the driver that runs them.
 *
 * A pass rewrites the graph in place (ir/rewrite.h) and says whether it
 * changed anything; the driver runs the pass list until nothing changes,
 * compacting and re-inferring shapes between passes. Each rewrite that users
 * would want to see (a fusion, a fold) is recorded in the report by name.
 */
#ifndef KILN_PASSES_PASS_H
#define KILN_PASSES_PASS_H

#include "ir/rewrite.h"
#include "ir/shape_infer.h"

typedef struct kiln_opt_report {
    int nodes_before, nodes_after;
    int n_records;
    char **records; /* "fold_batchnorm: BatchNormalization 'bn1' into Conv 'conv1'" */
} kiln_opt_report;

typedef struct kiln_pass_ctx {
    kiln_graph *g;
    kiln_eval_hook eval;     /* runs one node on the CPU (constant folding) */
    kiln_opt_report *report; /* may be NULL */
    size_t max_fold_bytes;   /* largest constant a fold may create */
} kiln_pass_ctx;

typedef kiln_status (*kiln_pass_fn)(kiln_pass_ctx *ctx, int *changed);

typedef struct kiln_pass {
    const char *name;
    kiln_pass_fn run;
} kiln_pass;

/* Runs every pass to a fixed point. report may be NULL. */
kiln_status kiln_optimize(kiln_graph *g, const kiln_eval_hook *eval, kiln_opt_report *report);
void kiln_opt_report_free(kiln_opt_report *r);
/* Appends a formatted record (no-op when ctx->report is NULL). */
kiln_status kiln_pass_record(kiln_pass_ctx *ctx, const char *fmt, ...) KILN_PRINTF(2, 3);

/* The passes, one file each. */
kiln_status kiln_pass_fold_constants(kiln_pass_ctx *ctx, int *changed);
kiln_status kiln_pass_remove_identity(kiln_pass_ctx *ctx, int *changed);
kiln_status kiln_pass_dead_nodes(kiln_pass_ctx *ctx, int *changed);
kiln_status kiln_pass_cse(kiln_pass_ctx *ctx, int *changed);
kiln_status kiln_pass_fold_batchnorm(kiln_pass_ctx *ctx, int *changed);
kiln_status kiln_pass_fuse_conv_add(kiln_pass_ctx *ctx, int *changed);
kiln_status kiln_pass_fuse_conv_activation(kiln_pass_ctx *ctx, int *changed);
kiln_status kiln_pass_fuse_matmul_add(kiln_pass_ctx *ctx, int *changed);
kiln_status kiln_pass_fuse_matmul_activation(kiln_pass_ctx *ctx, int *changed);
kiln_status kiln_pass_fuse_add_activation(kiln_pass_ctx *ctx, int *changed);
kiln_status kiln_pass_fuse_layernorm(kiln_pass_ctx *ctx, int *changed);
kiln_status kiln_pass_fuse_gelu(kiln_pass_ctx *ctx, int *changed);
kiln_status kiln_pass_fuse_attention(kiln_pass_ctx *ctx, int *changed);
/* Not in the fixed-point list: see kiln_apply_layout. */
kiln_status kiln_pass_layout_nhwc(kiln_pass_ctx *ctx, int *changed);

/* Puts an optimized graph's convolutions (and the ops between them) into
 * `layout` (KILN_LAYOUT_NHWC; NCHW leaves the graph as it is), then removes
 * what that left dead and infers shapes again. *converted (may be NULL)
 * gets whether anything changed. */
kiln_status kiln_apply_layout(kiln_graph *g, const kiln_eval_hook *eval, kiln_opt_report *report,
                              kiln_layout layout, int *converted);

/* Helpers shared by passes */
/* The node's constant input k (NULL when absent or not constant). */
const kiln_tensor *kiln_pass_const_input(const kiln_graph *g, const kiln_node *n, int k);
/* v is read by exactly one node input and is not a graph output, so the
 * node producing it may be merged into that reader. */
int kiln_pass_single_use(const kiln_graph *g, const kiln_uses *u, int v);

#endif
