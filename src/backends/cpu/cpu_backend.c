/*
 * cpu_backend.c - the CPU reference backend: one kernel per op, looked up in
 * the per-family kernel tables.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "backends/backend.h"
#include "backends/cpu/cpu_kernels.h"
#include "core/name_index.h"

static const kiln_cpu_kernel *const families[] = {
    kiln_cpu_elementwise,  kiln_cpu_conv_pool,  kiln_cpu_linalg,        kiln_cpu_norm_attention, kiln_cpu_tensor,
    kiln_cpu_reduce,       kiln_cpu_cast_quant, kiln_cpu_resize_sample, kiln_cpu_recurrent,      kiln_cpu_fused_conv,
    kiln_cpu_fused_matmul, kiln_cpu_nhwc_conv,  kiln_cpu_nhwc_pool,
};

#define N_FAMILIES (sizeof families / sizeof families[0])

/* The kernels by op name, for the lookups of every layer of every run. */
static kiln_name_index index_;
static bool indexed;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void build_index(void)
{
    indexed = true;
    for (size_t f = 0; f < N_FAMILIES; f++)
        for (const kiln_cpu_kernel *k = families[f]; k->op && indexed; k++)
            indexed = kiln_name_index_add(&index_, k->op, k);
}

static const kiln_cpu_kernel *find_entry(const char *op)
{
    pthread_once(&index_once, build_index);
    if (indexed)
        return kiln_name_index_find(&index_, op);
    for (size_t f = 0; f < N_FAMILIES; f++)
        for (const kiln_cpu_kernel *k = families[f]; k->op; k++)
            if (strcmp(k->op, op) == 0)
                return k;
    return NULL;
}

kiln_cpu_kernel_fn kiln_cpu_find_kernel(const char *op)
{
    const kiln_cpu_kernel *k = find_entry(op);
    return k ? k->run : NULL;
}

static bool cpu_supports(void *bctx, const kiln_op_ctx *ctx, char *why, size_t why_len)
{
    (void)bctx;
    if (ctx->node->domain[0] && strcmp(ctx->node->domain, "ai.onnx") != 0 &&
        strcmp(ctx->node->domain, KILN_DOMAIN) != 0) {
        snprintf(why, why_len, "domain '%s' is not supported", ctx->node->domain);
        return false;
    }
    if (!kiln_cpu_find_kernel(ctx->node->op_type)) {
        snprintf(why, why_len, "no CPU kernel for %s", ctx->node->op_type);
        return false;
    }
    return true;
}

static kiln_status cpu_prepare(void *bctx, const kiln_op_ctx *ctx, void **state)
{
    (void)bctx;
    const kiln_cpu_kernel *k = find_entry(ctx->node->op_type);
    if (!k)
        return kiln_error(KILN_ERR_UNSUPPORTED, "unsupported op %s (opset %d)", ctx->node->op_type, ctx->opset);
    /* the state is the kernel's table entry (an object pointer, so no
     * function-pointer casts) */
    *state = (void *)k;
    return KILN_OK;
}

static kiln_status cpu_run(void *bctx, void *state, kiln_op_ctx *ctx)
{
    (void)bctx;
    const kiln_cpu_kernel *k = state ? state : find_entry(ctx->node->op_type);
    if (!k)
        return kiln_error(KILN_ERR_UNSUPPORTED, "unsupported op %s (opset %d)", ctx->node->op_type, ctx->opset);
    return k->run(ctx);
}

static void cpu_release(void *bctx, void *state)
{
    (void)bctx;
    (void)state;
}

static const kiln_backend_i cpu_iface = {
    .name = "cpu",
    .supports = cpu_supports,
    .prepare = cpu_prepare,
    .run = cpu_run,
    .release = cpu_release,
    .tactics = NULL,
    .free = NULL,
};

kiln_status kiln_backend_cpu_create(kiln_backend *out)
{
    out->iface = &cpu_iface;
    out->ctx = NULL;
    return KILN_OK;
}
