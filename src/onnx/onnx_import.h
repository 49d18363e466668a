/*
 * onnx_import.h - ONNX (protobuf) to kiln's graph IR.
 *
 * Reads ModelProto with protobuf-c over ONNX's own onnx.proto: initializers
 * (raw_data and typed fields), Constant nodes, opset imports, value_info,
 * subgraph attributes, and external data resolved only inside the model's
 * folder (no "..", no absolute paths, no symlinks or hardlinks leading out).
 * A large initializer is copied once at most: protobuf-c's unpack copy is
 * handed to the IR as it is.
 */
#ifndef KILN_ONNX_IMPORT_H
#define KILN_ONNX_IMPORT_H

#include <stddef.h>

#include "core/tensor.h"
#include "ir/graph.h"

typedef struct kiln_onnx_options {
    size_t max_tensor_bytes; /* 0: KILN_DEFAULT_MAX_TENSOR_BYTES */
} kiln_onnx_options;

/* Parses the model file at path. Caller frees *out with kiln_graph_free. */
kiln_status kiln_onnx_load_file(const char *path, const kiln_onnx_options *opt, kiln_graph **out);
/* Parses a model in memory; base_dir (may be NULL: external data refused)
 * is where external data files are looked up. Caller frees *out. */
kiln_status kiln_onnx_load_memory(const void *data, size_t size, const char *base_dir,
                                  const kiln_onnx_options *opt, kiln_graph **out);
/* Reads a serialized TensorProto file (the ONNX test-data format, input_0.pb).
 * *out gets owned data; *name (may be NULL) gets a malloc'd copy of the
 * tensor's name, "" when it has none. */
kiln_status kiln_onnx_load_tensor_file(const char *path, kiln_tensor *out, char **name);

#endif
