/*
 * engine.c - building an engine from a network: fixes input shapes from the
 * config and prepares every node on the backend.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

static kiln_status apply_overrides(const kiln_graph *g, const kiln_builder_config *cfg, kiln_engine *e)
{
    for (int i = 0; i < e->n_inputs; i++) {
        const kiln_value *v = &g->values[g->inputs[i]];
        e->inputs[i].value = g->inputs[i];
        e->inputs[i].rank = v->rank;
        memcpy(e->inputs[i].dims, v->dims, sizeof v->dims);
    }
    for (int s = 0; cfg && s < cfg->n_shapes; s++) {
        const kiln_shape_override *o = &cfg->shapes[s];
        int found = -1;
        for (int i = 0; i < e->n_inputs; i++)
            if (strcmp(g->values[e->inputs[i].value].name, o->name) == 0)
                found = i;
        if (found < 0)
            return kiln_error(KILN_ERR_NOT_FOUND, "shape given for '%s', but the model has no input of that name",
                              o->name);
        kiln_engine_binding *io = &e->inputs[found];
        if (io->rank >= 0 && io->rank != o->rank)
            return kiln_error(KILN_ERR_SHAPE, "input '%s' has rank %d; the shape given has rank %d", o->name,
                              io->rank, o->rank);
        for (int d = 0; d < o->rank; d++)
            if (io->rank >= 0 && io->dims[d] >= 0 && io->dims[d] != o->dims[d])
                return kiln_error(KILN_ERR_SHAPE, "input '%s' dim %d is fixed at %lld by the model; %lld was given",
                                  o->name, d, (long long)io->dims[d], (long long)o->dims[d]);
        io->rank = o->rank;
        memcpy(io->dims, o->dims, sizeof(int64_t) * (size_t)o->rank);
    }
    return KILN_OK;
}

kiln_status kiln_engine_build(const kiln_network *network, const kiln_builder_config *config, kiln_engine **out)
{
    if (!network || !out)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_engine_build: network and out are required");
    const kiln_graph *g = network->model->graph;
    kiln_engine *e = calloc(1, sizeof *e);
    if (!e)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine: out of memory");
    e->n_inputs = g->n_inputs;
    e->n_outputs = g->n_outputs;
    e->inputs = calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *e->inputs);
    e->outputs = calloc((size_t)(g->n_outputs ? g->n_outputs : 1), sizeof *e->outputs);
    kiln_status st = (!e->inputs || !e->outputs) ? kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine: out of memory")
                                                 : apply_overrides(g, config, e);
    for (int i = 0; i < e->n_outputs && st == KILN_OK; i++) {
        const kiln_value *v = &g->values[g->outputs[i]];
        e->outputs[i].value = g->outputs[i];
        e->outputs[i].rank = v->rank;
        memcpy(e->outputs[i].dims, v->dims, sizeof v->dims);
    }
    if (st == KILN_OK)
        st = kiln_plan_create(&e->plan, g, config ? config->max_tensor_bytes : KILN_DEFAULT_MAX_TENSOR_BYTES);
    if (st != KILN_OK) {
        free(e->inputs);
        free(e->outputs);
        free(e);
        return st;
    }
    e->model = network->model;
    atomic_fetch_add(&e->model->refs, 1);
    *out = e;
    return KILN_OK;
}

void kiln_engine_free(kiln_engine *engine)
{
    if (!engine)
        return;
    kiln_plan_release(&engine->plan);
    kiln_model_release(engine->model);
    free(engine->inputs);
    free(engine->outputs);
    free(engine);
}

kiln_status kiln_engine_num_io(const kiln_engine *engine, int is_output, int *count)
{
    if (!engine || !count)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_engine_num_io: engine and count are required");
    *count = is_output ? engine->n_outputs : engine->n_inputs;
    return KILN_OK;
}

kiln_status kiln_engine_io(const kiln_engine *engine, int is_output, int index, kiln_io_info *info)
{
    if (!engine || !info)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_engine_io: engine and info are required");
    int n = is_output ? engine->n_outputs : engine->n_inputs;
    if (index < 0 || index >= n)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_engine_io: index %d is out of range (0..%d)", index, n - 1);
    const kiln_engine_binding *io = is_output ? &engine->outputs[index] : &engine->inputs[index];
    kiln_io_info_fill(engine->model->graph, io->value, io->rank, io->dims, info);
    return KILN_OK;
}
