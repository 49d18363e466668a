/*
 * onnx_import.c - the importer's entry points: map a model or tensor file
 * read-only, check its wire format, unpack it with protobuf-c, read the
 * opset imports and hand the graph to onnx_graph.c; the protobuf is freed
 * before returning (its large buffers have been moved into the graph).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"
#include "ir/op_registry.h"
#include "onnx/onnx_import.h"
#include "onnx/onnx_internal.h"

/* A file's bytes, mapped read-only. */
typedef struct file_map {
    int fd;
    void *data; /* NULL for an empty file */
    size_t size;
} file_map;

static kiln_status map_file(const char *path, file_map *m)
{
    struct stat st;
    m->data = NULL;
    m->size = 0;
    m->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (m->fd < 0)
        return kiln_error(KILN_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    kiln_status s = KILN_OK;
    if (fstat(m->fd, &st) != 0)
        s = kiln_error(KILN_ERR_IO, "cannot stat '%s': %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        s = kiln_error(KILN_ERR_IO, "'%s' is not a regular file", path);
    else if ((uint64_t)st.st_size > SIZE_MAX)
        s = kiln_error(KILN_ERR_LIMIT, "'%s' is too large to map", path);
    if (s == KILN_OK && st.st_size > 0) {
        m->size = (size_t)st.st_size;
        m->data = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, m->fd, 0);
        if (m->data == MAP_FAILED) {
            m->data = NULL;
            s = kiln_error(KILN_ERR_IO, "cannot map '%s': %s", path, strerror(errno));
        }
    }
    if (s != KILN_OK) {
        close(m->fd);
        m->fd = -1;
    }
    return s;
}

static void unmap_file(file_map *m)
{
    if (m->data)
        munmap(m->data, m->size);
    if (m->fd >= 0)
        close(m->fd);
}

/* The folder part of path ("." when there is none); malloc'd. */
static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return kiln_onnx_strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

static void ctx_init(kiln_onnx_ctx *ctx, const char *base_dir, const kiln_onnx_options *opt)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->max_bytes = opt && opt->max_tensor_bytes ? opt->max_tensor_bytes : KILN_DEFAULT_MAX_TENSOR_BYTES;
    ctx->base_dir = base_dir;
    ctx->base_fd = -1;
}

static void ctx_close(kiln_onnx_ctx *ctx)
{
    if (ctx->base_fd >= 0)
        close(ctx->base_fd);
    ctx->base_fd = -1;
}

/* The default-domain opset; other domains matter only to nodes using them. */
static kiln_status read_opsets(const Onnx__ModelProto *m, kiln_onnx_ctx *ctx)
{
    int found = 0;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *op = m->opset_import[i];
        if (!kiln_onnx_default_domain(op->domain))
            continue;
        long long v = op->has_version ? (long long)op->version : 0;
        if (found)
            return kiln_error(KILN_ERR_PARSE, "opset_import lists the default domain (ai.onnx) twice");
        if (v < 1)
            return kiln_error(KILN_ERR_PARSE, "opset_import: default-domain version %lld is not valid", v);
        if (v > KILN_MAX_OPSET)
            return kiln_error(KILN_ERR_UNSUPPORTED,
                              "opset %lld of the default domain (ai.onnx) is newer than kiln "
                              "supports (up to opset %d)",
                              v, KILN_MAX_OPSET);
        ctx->opset = (int)v;
        found = 1;
    }
    if (found)
        return KILN_OK;
    /* a model of only other domains' ops: name the first such op, as the
     * node import would */
    for (size_t i = 0; m->graph && i < m->graph->n_node; i++) {
        const Onnx__NodeProto *n = m->graph->node[i];
        if (!kiln_onnx_default_domain(n->domain))
            return kiln_error(KILN_ERR_UNSUPPORTED, "unsupported op %s (domain %s) at node '%s'",
                              n->op_type ? n->op_type : "?", n->domain, n->name ? n->name : "");
    }
    return kiln_error(KILN_ERR_PARSE, "the model imports no opset for the default domain (ai.onnx)");
}

static kiln_status import_model(Onnx__ModelProto *m, kiln_onnx_ctx *ctx, kiln_graph **out)
{
    KILN_TRY(read_opsets(m, ctx));
    if (!m->graph)
        return kiln_error(KILN_ERR_PARSE, "the model has no graph");
    ctx->ir_version = m->has_ir_version ? m->ir_version : 0;
    ctx->model = m;
    return kiln_onnx_import_graph(m->graph, ctx, out);
}

kiln_status kiln_onnx_load_memory(const void *data, size_t size, const char *base_dir, const kiln_onnx_options *opt,
                                  kiln_graph **out)
{
    if (!out || (!data && size))
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_onnx_load_memory: NULL argument");
    *out = NULL;
    KILN_TRY(kiln_onnx_wire_check(data, size, &onnx__model_proto__descriptor));
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, data);
    if (!m)
        return kiln_error(KILN_ERR_PARSE, "malformed protobuf: the model could not be unpacked");
    kiln_onnx_ctx ctx;
    ctx_init(&ctx, base_dir, opt);
    kiln_status st = import_model(m, &ctx, out);
    ctx_close(&ctx);
    onnx__model_proto__free_unpacked(m, NULL);
    return st;
}

kiln_status kiln_onnx_load_file(const char *path, const kiln_onnx_options *opt, kiln_graph **out)
{
    file_map m;
    if (!path || !out)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_onnx_load_file: NULL argument");
    *out = NULL;
    char *dir = folder_of(path);
    if (!dir)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "out of memory");
    kiln_status st = map_file(path, &m);
    if (st == KILN_OK) {
        st = kiln_onnx_load_memory(m.data, m.size, dir, opt, out);
        if (st != KILN_OK)
            kiln_error_prefix(st, "%s", path);
        unmap_file(&m);
    }
    free(dir);
    return st;
}

static kiln_status import_tensor_file(Onnx__TensorProto *tp, const char *path, kiln_tensor *out, char **name)
{
    kiln_onnx_ctx ctx;
    char what[512];
    char *dir = folder_of(path);
    if (!dir)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "out of memory");
    ctx_init(&ctx, dir, NULL);
    snprintf(what, sizeof what, "tensor '%s'", tp->name ? tp->name : "");
    kiln_status st = kiln_onnx_tensor(tp, &ctx, what, out);
    ctx_close(&ctx);
    free(dir);
    if (st == KILN_OK && name && !(*name = kiln_onnx_strdup(tp->name))) {
        kiln_tensor_clear(out);
        st = kiln_error(KILN_ERR_OUT_OF_MEMORY, "out of memory");
    }
    return st;
}

kiln_status kiln_onnx_load_tensor_file(const char *path, kiln_tensor *out, char **name)
{
    file_map m;
    if (!path || !out)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_onnx_load_tensor_file: NULL argument");
    memset(out, 0, sizeof *out);
    if (name)
        *name = NULL;
    KILN_TRY(map_file(path, &m));
    kiln_status st = kiln_onnx_wire_check(m.data, m.size, &onnx__tensor_proto__descriptor);
    Onnx__TensorProto *tp = NULL;
    if (st == KILN_OK && !(tp = onnx__tensor_proto__unpack(NULL, m.size, m.data)))
        st = kiln_error(KILN_ERR_PARSE, "malformed protobuf: the tensor could not be unpacked");
    if (st == KILN_OK)
        st = import_tensor_file(tp, path, out, name);
    if (tp)
        onnx__tensor_proto__free_unpacked(tp, NULL);
    unmap_file(&m);
    return st == KILN_OK ? st : kiln_error_prefix(st, "%s", path);
}
