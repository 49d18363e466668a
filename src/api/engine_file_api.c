/*
 * engine_file_api.c - saving and loading engines (format in
 * engine/engine_file.h). A loaded engine maps its file read-only and runs on
 * the weights in place; it is checked for kiln version and device first.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "engine/device_id.h"
#include "engine/engine_file.h"
#include "ir/verify.h"
#include "tune/tactic_registry.h"

void kiln_free(void *p) { free(p); }

static kiln_status encode(const kiln_engine *e, kiln_writer *w)
{
    char device[256];
    kiln_cpu_device_identity(device, sizeof device);
    /* one tactic per layer for each profile in turn */
    size_t rows = (size_t)(e->plan.n_layouts > 0 ? e->plan.n_layouts : 1), nodes = (size_t)e->graph->n_nodes;
    char **tactics = calloc(rows * nodes + 1, sizeof(char *));
    if (!tactics)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine file: out of memory");
    for (size_t at = 0; at < rows * nodes; at++)
        tactics[at] = (char *)kiln_tune_tactic_name(&e->plan, (int)(at / nodes), (int)(at % nodes));
    kiln_engine_image img = {
        .kiln_version = (char *)kiln_version(),
        .backend = (char *)e->plan.backend.iface->name,
        .device = device,
        .precision = (int32_t)e->opts.precision,
        .optimization_level = e->opts.optimization_level,
        .max_tensor_bytes = e->opts.max_tensor_bytes,
        .workspace = e->opts.workspace,
        .tactic_sources = e->opts.tactic_sources,
        .nodes_before = e->report.nodes_before,
        .n_records = (uint32_t)e->report.n_records,
        .records = e->report.records,
        .graph = e->graph,
        .n_tactics = (uint32_t)(rows * nodes),
        .tactics = tactics,
    };
    kiln_status st = kiln_engine_encode(&img, w);
    free(tactics);
    return st;
}

kiln_status kiln_engine_serialize(const kiln_engine *engine, void **data, size_t *size)
{
    if (!engine || !data || !size)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_engine_serialize: engine, data and size are required");
    kiln_writer w = {0};
    kiln_status st = encode(engine, &w);
    if (st != KILN_OK) {
        kiln_writer_free(&w);
        return st;
    }
    *data = w.buf;
    *size = w.len;
    return KILN_OK;
}

kiln_status kiln_engine_save(const kiln_engine *engine, const char *path)
{
    if (!engine || !path)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_engine_save: engine and path are required");
    kiln_writer w = {0};
    KILN_TRY(encode(engine, &w));
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(w.buf, 1, w.len, f) == w.len;
    if (f)
        ok = (fclose(f) == 0) && ok;
    kiln_writer_free(&w);
    return ok ? KILN_OK : kiln_error(KILN_ERR_IO, "%s: cannot write the engine file", path);
}

/* The version and device checks that decide whether an image may run. */
static kiln_status check_image(const kiln_engine_image *img)
{
    char here[256], why[512];
    if (strcmp(img->kiln_version, kiln_version()) != 0)
        return kiln_error(KILN_ERR_INCOMPATIBLE,
                          "the engine was built by kiln %s; this is kiln %s: rebuild it with `kiln build`",
                          img->kiln_version, kiln_version());
    if (strcmp(img->backend, "cpu") != 0)
        return kiln_error(KILN_ERR_INCOMPATIBLE, "the engine is for backend '%s', which this kiln does not have",
                          img->backend);
    kiln_cpu_device_identity(here, sizeof here);
    if (!kiln_device_compatible(img->device, here, why, sizeof why))
        return kiln_error(KILN_ERR_INCOMPATIBLE, "%s: rebuild the engine on this machine with `kiln build`", why);
    if (img->precision != KILN_PRECISION_FP32 || img->optimization_level < 0 || img->optimization_level > 1)
        return kiln_error(KILN_ERR_PARSE, "engine file: build options out of range");
    for (uint32_t i = 0; i < img->n_tactics; i++)
        if (strcmp(img->tactics[i], KILN_TACTIC_REFERENCE) != 0 && !kiln_tactic_known(img->tactics[i]))
            return kiln_error(KILN_ERR_INCOMPATIBLE, "layer %u uses tactic '%s', which this kiln does not have", i,
                              img->tactics[i]);
    return KILN_OK;
}

/* Builds an engine around a decoded image (taking its graph and report). */
static kiln_status engine_from_image(kiln_engine_image *img, kiln_engine **out)
{
    KILN_TRY(check_image(img));
    KILN_TRY(kiln_graph_verify(img->graph, NULL));
    kiln_engine *e = calloc(1, sizeof *e);
    if (!e)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine: out of memory");
    e->opts = (kiln_engine_options){(kiln_precision)img->precision, img->optimization_level,
                                    (size_t)img->max_tensor_bytes, (size_t)img->workspace, img->tactic_sources};
    e->graph = img->graph;
    img->graph = NULL;
    e->report.nodes_before = img->nodes_before;
    e->report.nodes_after = e->graph->n_nodes;
    e->report.n_records = (int)img->n_records;
    e->report.records = img->records;
    img->records = NULL;
    img->n_records = 0;
    kiln_status st = kiln_engine_finish(e);
    if (st == KILN_OK)
        st = kiln_tune_apply(&e->plan, img->tactics, img->n_tactics);
    if (st == KILN_OK)
        st = kiln_plan_prepare_tactics(&e->plan);
    if (st != KILN_OK) {
        kiln_engine_destroy(e);
        return st;
    }
    *out = e;
    return KILN_OK;
}

kiln_status kiln_engine_deserialize(const void *data, size_t size, kiln_engine **out)
{
    if (!data || !out)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_engine_deserialize: data and out are required");
    kiln_engine_image img;
    KILN_TRY(kiln_engine_decode(data, size, 0, KILN_DEFAULT_MAX_TENSOR_BYTES, &img));
    kiln_status st = engine_from_image(&img, out);
    kiln_engine_image_clear(&img);
    return st;
}

kiln_status kiln_engine_load(const char *path, kiln_engine **out)
{
    if (!path || !out)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_engine_load: path and out are required");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kiln_error(KILN_ERR_IO, "%s: cannot open", path);
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0) {
        close(fd);
        return kiln_error(KILN_ERR_IO, "%s: not a regular, non-empty file", path);
    }
    size_t size = (size_t)sb.st_size;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return kiln_error(KILN_ERR_IO, "%s: cannot map the file", path);
    kiln_engine_image img;
    kiln_status st = kiln_engine_decode(map, size, 1, KILN_DEFAULT_MAX_TENSOR_BYTES, &img);
    if (st == KILN_OK)
        st = engine_from_image(&img, out);
    kiln_engine_image_clear(&img);
    if (st != KILN_OK) {
        munmap(map, size);
        return kiln_error_prefix(st, "%s", path);
    }
    (*out)->mapping = map;
    (*out)->mapping_size = size;
    return KILN_OK;
}

int kiln_is_engine_file(const char *path)
{
    char magic[8];
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f)
        return 0;
    size_t n = fread(magic, 1, sizeof magic, f);
    fclose(f);
    return n == sizeof magic && memcmp(magic, KILN_ENGINE_MAGIC, sizeof magic) == 0;
}
