/*
 * onnx_internal.h - what the ONNX importer's files share: the import
 * context, and one entry point per job (wire check, TensorProto, external
 * data, graph, attribute). Not part of kiln's interface.
 */
#ifndef KILN_ONNX_INTERNAL_H
#define KILN_ONNX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/tensor.h"
#include "ir/graph.h"
#include "onnx/onnx.pb-c.h"

/* Subgraph (If/Loop/Scan bodies) nesting the importer follows. */
#define KILN_ONNX_MAX_SUBGRAPH_DEPTH 32

typedef struct kiln_onnx_ctx {
    size_t max_bytes;     /* ceiling for one tensor */
    const char *base_dir; /* folder for external data; NULL refuses it */
    int base_fd;          /* base_dir opened on first use; -1 before */
    int opset;            /* default-domain opset of the model */
    int64_t ir_version;
    const Onnx__ModelProto *model; /* for model-local functions; NULL for tensor files */
    int depth;                     /* subgraph nesting of the graph being imported */
} kiln_onnx_ctx;

/* Walks the protobuf wire format of `desc` over data; KILN_ERR_PARSE with
 * "byte offset N: ..." at the first problem. */
kiln_status kiln_onnx_wire_check(const void *data, size_t size, const ProtobufCMessageDescriptor *desc);

/* TensorProto -> tensor with owned data. Buffers protobuf-c allocated are
 * moved out of tp (tp's fields are emptied), not copied. `what` names the
 * tensor in messages ("tensor 'w'"). */
kiln_status kiln_onnx_tensor(Onnx__TensorProto *tp, kiln_onnx_ctx *ctx, const char *what, kiln_tensor *out);

/* Reads the `nbytes` bytes of tp's external data into a new malloc'd buffer,
 * resolving the location inside ctx->base_dir only. */
kiln_status kiln_onnx_external_read(const Onnx__TensorProto *tp, kiln_onnx_ctx *ctx, const char *what, size_t nbytes,
                                    void **out);

/* GraphProto -> a new graph (also used for subgraph attributes). */
kiln_status kiln_onnx_import_graph(Onnx__GraphProto *gp, kiln_onnx_ctx *ctx, kiln_graph **out);

/* AttributeProto -> attribute; `node` labels the node in messages. */
kiln_status kiln_onnx_import_attr(Onnx__AttributeProto *ap, kiln_onnx_ctx *ctx, const char *node, kiln_attr *out);

/* "" and "ai.onnx" (or no domain at all) name ONNX's default domain. */
static inline int kiln_onnx_default_domain(const char *d)
{
    return !d || d[0] == '\0' || strcmp(d, "ai.onnx") == 0;
}

/* A malloc'd copy of s ("" for NULL), or NULL when out of memory. */
static inline char *kiln_onnx_strdup(const char *s)
{
    size_t n = strlen(s ? s : "");
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s ? s : "", n + 1);
    return d;
}

#endif
