/*
 * engine.c - building an engine from a network: the engine takes its own
 * copy of the graph, fixes input shapes from the config, optimizes it,
 * stores the config's optimization profiles in it (symbolic dims stay), and
 * prepares every node on the backend with an activation arena per profile.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "api/api_internal.h"
#include "tune/tactic_registry.h"
#include "ir/rewrite.h"

static kiln_status apply_overrides(kiln_graph *g, const kiln_builder_config *cfg, int *changed)
{
    for (int s = 0; cfg && s < cfg->n_shapes; s++) {
        const kiln_shape_override *o = &cfg->shapes[s];
        int v = kiln_graph_find_value(g, o->name);
        if (v < 0 || !g->values[v].is_graph_input)
            return kiln_error(KILN_ERR_NOT_FOUND, "shape given for '%s', but the model has no input of that name",
                              o->name);
        kiln_value *io = &g->values[v];
        if (io->rank >= 0 && io->rank != o->rank)
            return kiln_error(KILN_ERR_SHAPE, "input '%s' has rank %d; the shape given has rank %d", o->name,
                              io->rank, o->rank);
        for (int d = 0; d < o->rank; d++)
            if (io->rank >= 0 && io->dims[d] >= 0 && io->dims[d] != o->dims[d])
                return kiln_error(KILN_ERR_SHAPE, "input '%s' dim %d is fixed at %lld by the model; %lld was given",
                                  o->name, d, (long long)io->dims[d], (long long)o->dims[d]);
        io->rank = o->rank;
        memcpy(io->dims, o->dims, sizeof(int64_t) * (size_t)o->rank);
        *changed = 1;
    }
    return KILN_OK;
}

static void bind(const kiln_graph *g, int value, kiln_engine_binding *b)
{
    b->value = value;
    b->rank = g->values[value].rank;
    memcpy(b->dims, g->values[value].dims, sizeof b->dims);
}

/* The engine's graph: a copy with fixed input shapes, optimized, in the
 * layout, with the config's profiles. *converted: whether the layout
 * changed anything. */
static kiln_status prepare_graph(kiln_engine *e, const kiln_graph *src, const kiln_builder_config *cfg,
                                 kiln_layout layout, int *converted)
{
    kiln_eval_hook hook = {kiln_eval_node_cpu, NULL};
    int fixed = 0;
    *converted = 0;
    KILN_TRY(kiln_graph_clone(src, &e->graph));
    KILN_TRY(apply_overrides(e->graph, cfg, &fixed));
    if (fixed)
        KILN_TRY(kiln_graph_infer_shapes(e->graph, &hook, 1));
    if (!cfg || cfg->optimization_level > 0) {
        KILN_TRY(kiln_optimize(e->graph, &hook, &e->report));
        KILN_TRY(kiln_apply_layout(e->graph, &hook, &e->report, layout, converted));
    }
    return kiln_engine_attach_profiles(e, cfg);
}

void kiln_engine_destroy(kiln_engine *e)
{
    kiln_model *m = e->model;
    /* tactics may keep copies derived from the weights, keyed by address */
    for (int v = 0; e->graph && v < e->graph->n_values; v++)
        if (e->graph->values[v].constant)
            kiln_tactics_forget(e->graph->values[v].constant->data);
    kiln_plan_release(&e->plan);
    kiln_graph_free(e->graph);
    kiln_opt_report_free(&e->report);
    kiln_tune_report_free(&e->tune);
    if (e->mapping)
        munmap(e->mapping, e->mapping_size);
    free(e->inputs);
    free(e->outputs);
    free(e);
    kiln_model_release(m); /* after the graph that borrows its weights */
}

kiln_status kiln_engine_finish(kiln_engine *e)
{
    const kiln_graph *g = e->graph;
    kiln_status st = KILN_OK;
    e->n_inputs = g->n_inputs;
    e->n_outputs = g->n_outputs;
    e->inputs = calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *e->inputs);
    e->outputs = calloc((size_t)(g->n_outputs ? g->n_outputs : 1), sizeof *e->outputs);
    if (!e->inputs || !e->outputs)
        st = kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine: out of memory");
    for (int i = 0; st == KILN_OK && i < e->n_inputs; i++)
        bind(g, g->inputs[i], &e->inputs[i]);
    for (int i = 0; st == KILN_OK && i < e->n_outputs; i++)
        bind(g, g->outputs[i], &e->outputs[i]);
    if (st == KILN_OK)
        st = kiln_plan_create(&e->plan, g, e->opts.max_tensor_bytes);
    return st;
}

kiln_status kiln_engine_build_layout(const kiln_network *network, const kiln_builder_config *config,
                                     kiln_layout layout, int only_if_converted, kiln_engine **out)
{
    *out = NULL;
    kiln_engine *e = calloc(1, sizeof *e);
    if (!e)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine: out of memory");
    e->model = network->model;
    atomic_fetch_add(&e->model->refs, 1);
    e->opts = (kiln_engine_options){KILN_PRECISION_FP32, 1, KILN_DEFAULT_MAX_TENSOR_BYTES, (size_t)1 << 30, ~0u};
    if (config)
        e->opts = (kiln_engine_options){config->precision, config->optimization_level, config->max_tensor_bytes,
                                        config->workspace, config->tactic_sources};
    int converted = 0;
    kiln_status st = prepare_graph(e, network->model->graph, config, layout, &converted);
    if (st == KILN_OK && only_if_converted && !converted) {
        kiln_engine_destroy(e);
        return KILN_OK;
    }
    if (st == KILN_OK)
        st = kiln_engine_finish(e);
    if (st == KILN_OK)
        st = kiln_engine_tune(e, config);
    if (st != KILN_OK) {
        kiln_engine_destroy(e);
        return st;
    }
    *out = e;
    return KILN_OK;
}

kiln_status kiln_engine_build(const kiln_network *network, const kiln_builder_config *config, kiln_engine **out)
{
    if (!network || !out)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_engine_build: network and out are required");
    kiln_layout layout = config ? config->layout : KILN_LAYOUT_NCHW;
    if (layout == KILN_LAYOUT_AUTO && (!config->autotune || config->optimization_level == 0))
        layout = KILN_LAYOUT_NCHW; /* nothing is timed: the model's own layout */
    if (layout == KILN_LAYOUT_AUTO)
        return kiln_engine_build_auto_layout(network, config, out);
    return kiln_engine_build_layout(network, config, layout, 0, out);
}

void kiln_engine_free(kiln_engine *engine)
{
    if (engine)
        kiln_engine_destroy(engine);
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
    kiln_io_info_fill(engine->graph, io->value, io->rank, io->dims, info);
    return KILN_OK;
}

kiln_status kiln_engine_num_layers(const kiln_engine *engine, int *count)
{
    if (!engine || !count)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_engine_num_layers: engine and count are required");
    *count = engine->graph->n_nodes;
    return KILN_OK;
}

kiln_status kiln_engine_layer(const kiln_engine *engine, int index, kiln_node_info *info)
{
    if (!engine || !info)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_engine_layer: engine and info are required");
    const kiln_graph *g = engine->graph;
    if (index < 0 || index >= g->n_nodes)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_engine_layer: index %d is out of range (0..%d)", index,
                          g->n_nodes - 1);
    const kiln_node *n = &g->nodes[engine->plan.order[index]];
    info->name = n->name;
    info->op_type = n->op_type;
    info->domain = n->domain;
    info->opset = n->opset;
    info->n_inputs = n->n_inputs;
    info->n_outputs = n->n_outputs;
    info->tactic = kiln_tune_tactic_name(&engine->plan, 0, engine->plan.order[index]);
    return KILN_OK;
}

kiln_status kiln_engine_layer_tactic(const kiln_engine *engine, int profile, int index, const char **tactic)
{
    if (!engine || !tactic)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_engine_layer_tactic: engine and tactic are required");
    const kiln_graph *g = engine->graph;
    int profiles = g->n_profiles > 0 ? g->n_profiles : 1;
    if (index < 0 || index >= g->n_nodes || profile < 0 || profile >= profiles)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT,
                          "kiln_engine_layer_tactic: layer %d of %d or profile %d of %d is out of range", index,
                          g->n_nodes, profile, profiles);
    *tactic = kiln_tune_tactic_name(&engine->plan, profile, engine->plan.order[index]);
    return KILN_OK;
}

kiln_status kiln_engine_num_rewrites(const kiln_engine *engine, int *count)
{
    if (!engine || !count)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_engine_num_rewrites: engine and count are required");
    *count = engine->report.n_records;
    return KILN_OK;
}

kiln_status kiln_engine_rewrite(const kiln_engine *engine, int index, const char **text)
{
    if (!engine || !text || index < 0 || index >= engine->report.n_records)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_engine_rewrite: engine, text and an index in range are "
                          "required");
    *text = engine->report.records[index];
    return KILN_OK;
}
