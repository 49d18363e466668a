/*
 * backend.h - the interface every backend implements (CPU now; CUDA later).
 *
 * A backend is an interface table plus a context pointer, as in ggml: the
 * runtime asks `supports` for each node, `prepare`s per-node state once per
 * engine (weights in the backend's layout, chosen tactic), and `run`s nodes
 * with their inputs and outputs bound. Tactics are the alternative kernels
 * for one node; the autotuner times them and records the winner's index in
 * the node state.
 */
#ifndef KILN_BACKENDS_BACKEND_H
#define KILN_BACKENDS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "ir/op_registry.h"

typedef struct kiln_tactic {
    const char *name;           /* "conv_im2col_sgemm", ... */
    uint32_t source;            /* a kiln_tactic_source bit */
    /* Whether this tactic handles the node at these shapes and dtypes. */
    bool (*supports)(const kiln_op_ctx *ctx);
    /* Scratch bytes the tactic needs at these shapes. */
    size_t (*workspace)(const kiln_op_ctx *ctx);
    kiln_status (*run)(kiln_op_ctx *ctx, void *workspace);
    /* Readies the tactic for the node before its first run (the context
     * has the shapes and the constant inputs' data, no activations); NULL
     * when there is nothing to ready. */
    kiln_status (*prepare)(const kiln_op_ctx *ctx);
} kiln_tactic;

typedef struct kiln_backend_i {
    const char *name;
    /* Whether the backend can run node with these input shapes / dtypes;
     * when not, writes the reason into why. */
    bool (*supports)(void *bctx, const kiln_op_ctx *ctx, char *why, size_t why_len);
    /* Per-node state kept by the engine; *state may stay NULL. */
    kiln_status (*prepare)(void *bctx, const kiln_op_ctx *ctx, void **state);
    kiln_status (*run)(void *bctx, void *state, kiln_op_ctx *ctx);
    void (*release)(void *bctx, void *state);
    /* The tactics for a node (NULL, 0 when the backend has a single kernel). */
    const kiln_tactic *(*tactics)(void *bctx, const kiln_node *node, int *count);
    void (*free)(void *bctx);
} kiln_backend_i;

typedef struct kiln_backend {
    const kiln_backend_i *iface;
    void *ctx;
} kiln_backend;

/* The CPU reference backend. */
kiln_status kiln_backend_cpu_create(kiln_backend *out);
static inline void kiln_backend_free(kiln_backend *b)
{
    if (b->iface && b->iface->free)
        b->iface->free(b->ctx);
    b->iface = NULL;
    b->ctx = NULL;
}

#endif
