/*
 * tactic_registry.c - per-op tables of tactics (see tactic_registry.h).
 */
#include "tune/tactic_registry.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/tactics/conv_tactics.h"

static const struct {
    const char *op;
    const kiln_tactic *table;
} registry[] = {
    {"Conv", kiln_cpu_conv_tactics},
    {"FusedConv", kiln_cpu_fused_conv_tactics},
    {"NhwcConv", kiln_cpu_nhwc_conv_tactics},
    {"MatMul", kiln_cpu_matmul_tactics},
    {"Gemm", kiln_cpu_matmul_tactics},
    {"FusedMatMul", kiln_cpu_matmul_tactics},
    {"FusedGemm", kiln_cpu_matmul_tactics},
};

const kiln_tactic *kiln_tactics_for(const char *op_type, int *count)
{
    *count = 0;
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
        if (strcmp(registry[i].op, op_type) == 0) {
            while (registry[i].table[*count].name)
                (*count)++;
            return registry[i].table;
        }
    return NULL;
}

const kiln_tactic *kiln_tactic_find(const char *op_type, const char *name)
{
    int n;
    const kiln_tactic *t = kiln_tactics_for(op_type, &n);
    for (int i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return &t[i];
    return NULL;
}

bool kiln_tactic_known(const char *name)
{
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
        if (kiln_tactic_find(registry[i].op, name))
            return true;
    return false;
}

void kiln_tactics_forget(const void *weights)
{
#ifdef KILN_HAVE_ONEDNN
    if (weights)
        kiln_ct_onednn_forget(weights);
#else
    (void)weights;
#endif
}

bool kiln_tactic_usable(const kiln_tactic *t, const kiln_op_ctx *ctx, size_t workspace_limit, uint32_t sources)
{
    return (t->source & sources) != 0 && t->supports(ctx) && t->workspace(ctx) <= workspace_limit;
}

/* Each thread keeps its largest workspace so far (freed when the thread
 * exits): a run's layers reuse one buffer instead of mapping and faulting
 * in fresh pages for every layer of every run. Concurrent runs are on
 * different threads, so never share a buffer. */
static pthread_key_t ws_key;
static pthread_once_t ws_once = PTHREAD_ONCE_INIT;
static int ws_key_ok;

typedef struct workspace_buf {
    void *data;
    size_t bytes;
} workspace_buf;

static void free_workspace(void *p)
{
    workspace_buf *w = p;
    if (w)
        free(w->data);
    free(w);
}

static void make_ws_key(void)
{
    ws_key_ok = pthread_key_create(&ws_key, free_workspace) == 0;
}

/* This thread's workspace of at least bytes (64-byte aligned), or NULL. */
static void *thread_workspace(size_t bytes)
{
    pthread_once(&ws_once, make_ws_key);
    if (!ws_key_ok)
        return NULL;
    workspace_buf *w = pthread_getspecific(ws_key);
    if (!w) {
        if (!(w = calloc(1, sizeof *w)) || pthread_setspecific(ws_key, w) != 0) {
            free(w);
            return NULL;
        }
    }
    if (w->bytes < bytes) {
        free(w->data);
        w->bytes = 0;
        size_t rounded = (bytes + 63) / 64 * 64;
        if (!(w->data = aligned_alloc(64, rounded)))
            return NULL;
        w->bytes = rounded;
    }
    return w->data;
}

kiln_status kiln_tactic_exec(const kiln_tactic *t, kiln_op_ctx *ctx)
{
    size_t bytes = t->workspace(ctx);
    void *ws = NULL;
    if (bytes > ctx->max_bytes)
        return kiln_error(KILN_ERR_LIMIT, "tactic %s needs %zu bytes of workspace, over the %zu-byte ceiling", t->name,
                          bytes, ctx->max_bytes);
    if (bytes && !(ws = thread_workspace(bytes)))
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "tactic %s: cannot allocate %zu bytes of workspace", t->name, bytes);
    return t->run(ctx, ws);
}
