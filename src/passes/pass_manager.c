/*
 * pass_manager.c - the pass list and the fixed-point driver.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/verify.h"
#include "passes/pass.h"

/* Order matters little (the driver iterates), but folding first shrinks
 * what the pattern passes look at. */
static const kiln_pass passes[] = {
    {"fold_constants", kiln_pass_fold_constants},
    {"remove_identity", kiln_pass_remove_identity},
    {"cse", kiln_pass_cse},
    {"fuse_layernorm", kiln_pass_fuse_layernorm},
    {"fuse_gelu", kiln_pass_fuse_gelu},
    {"fuse_attention", kiln_pass_fuse_attention},
    {"fold_batchnorm", kiln_pass_fold_batchnorm},
    {"fuse_conv_add", kiln_pass_fuse_conv_add},
    {"fuse_conv_activation", kiln_pass_fuse_conv_activation},
    {"fuse_matmul_add", kiln_pass_fuse_matmul_add},
    {"fuse_matmul_activation", kiln_pass_fuse_matmul_activation},
    {"fuse_add_activation", kiln_pass_fuse_add_activation},
    {"dead_nodes", kiln_pass_dead_nodes},
};

#define N_PASSES ((int)(sizeof passes / sizeof passes[0]))
#define MAX_ROUNDS 16

static int live_nodes(const kiln_graph *g)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        n += !kiln_node_dead(&g->nodes[i]);
    return n;
}

kiln_status kiln_pass_record(kiln_pass_ctx *ctx, const char *fmt, ...)
{
    if (!ctx->report)
        return KILN_OK;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    kiln_opt_report *r = ctx->report;
    char **grown = realloc(r->records, sizeof *grown * (size_t)(r->n_records + 1));
    char *copy = malloc(strlen(buf) + 1);
    if (!grown || !copy) {
        free(copy);
        if (grown)
            r->records = grown;
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "optimizer report: out of memory");
    }
    strcpy(copy, buf);
    r->records = grown;
    r->records[r->n_records++] = copy;
    return KILN_OK;
}

void kiln_opt_report_free(kiln_opt_report *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n_records; i++)
        free(r->records[i]);
    free(r->records);
    memset(r, 0, sizeof *r);
}

/* Subgraphs refer to outer values by name, which rewiring does not follow. */
static int has_subgraphs(const kiln_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++)
        for (int a = 0; a < g->nodes[i].n_attrs; a++)
            if (g->nodes[i].attrs[a].type == KILN_ATTR_GRAPH || g->nodes[i].attrs[a].type == KILN_ATTR_GRAPHS)
                return 1;
    return 0;
}

kiln_status kiln_optimize(kiln_graph *g, const kiln_eval_hook *eval, kiln_opt_report *report)
{
    kiln_pass_ctx ctx = {.g = g, .eval = *eval, .report = report, .max_fold_bytes = (size_t)256 << 20};
    if (report)
        report->nodes_before = live_nodes(g);
    if (has_subgraphs(g)) {
        if (report)
            report->nodes_after = report->nodes_before;
        return kiln_pass_record(&ctx, "optimizer skipped: the graph has control-flow subgraphs");
    }
    for (int round = 0; round < MAX_ROUNDS; round++) {
        int any = 0;
        for (int p = 0; p < N_PASSES; p++) {
            int changed = 0;
            kiln_status st = passes[p].run(&ctx, &changed);
            if (st != KILN_OK)
                return kiln_error_prefix(st, "optimizer pass %s", passes[p].name);
            if (!changed)
                continue;
            any = 1;
            KILN_TRY(kiln_graph_compact(g));
            KILN_TRY(kiln_graph_verify(g, NULL));
            KILN_TRY(kiln_graph_infer_shapes(g, eval, 1));
        }
        if (!any)
            break;
    }
    if (report)
        report->nodes_after = live_nodes(g);
    return KILN_OK;
}

kiln_status kiln_apply_layout(kiln_graph *g, const kiln_eval_hook *eval, kiln_opt_report *report,
                              kiln_layout layout, int *converted)
{
    kiln_pass_ctx ctx = {.g = g, .eval = *eval, .report = report, .max_fold_bytes = (size_t)256 << 20};
    int changed = 0, dead = 0;
    if (layout == KILN_LAYOUT_NHWC && !has_subgraphs(g))
        KILN_TRY(kiln_pass_layout_nhwc(&ctx, &changed));
    if (changed) {
        KILN_TRY(kiln_graph_compact(g));
        ctx.report = NULL; /* the transposes no one reads are the pass's own business */
        KILN_TRY(kiln_pass_dead_nodes(&ctx, &dead));
        KILN_TRY(kiln_graph_compact(g));
        KILN_TRY(kiln_graph_verify(g, NULL));
        KILN_TRY(kiln_graph_infer_shapes(g, eval, 1));
        if (report)
            report->nodes_after = live_nodes(g);
    }
    if (converted)
        *converted = changed;
    return KILN_OK;
}

const kiln_tensor *kiln_pass_const_input(const kiln_graph *g, const kiln_node *n, int k)
{
    if (k >= n->n_inputs || n->inputs[k] < 0)
        return NULL;
    return g->values[n->inputs[k]].constant;
}

int kiln_pass_single_use(const kiln_graph *g, const kiln_uses *u, int v)
{
    return kiln_uses_count(u, v) == 1 && !g->values[v].is_graph_output;
}
