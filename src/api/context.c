/*
 * context.c - execution contexts: bind inputs (checked against the
 * engine's shapes and optimization profiles), run, read outputs.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/dtype.h"

kiln_status kiln_context_create(kiln_engine *engine, kiln_context **out)
{
    if (!engine || !out)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_context_create: engine and out are required");
    kiln_context *c = calloc(1, sizeof *c);
    int nv = engine->graph->n_values;
    if (c)
        c->vals = calloc((size_t)(nv ? nv : 1), sizeof *c->vals);
    if (!c || !c->vals) {
        free(c);
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "context: out of memory");
    }
    c->engine = engine;
    c->profile = -1;
    c->run_profile = -1;
    *out = c;
    return KILN_OK;
}

static void clear_values(kiln_context *c, int keep_inputs)
{
    const kiln_graph *g = c->engine->graph;
    for (int v = 0; v < g->n_values; v++)
        if (!(keep_inputs && g->values[v].is_graph_input))
            kiln_tensor_clear(&c->vals[v]);
}

void kiln_context_free(kiln_context *context)
{
    if (!context)
        return;
    clear_values(context, 0);
    free(context->vals);
    free(context);
}

static int find_input(const kiln_engine *e, const char *name)
{
    for (int i = 0; i < e->n_inputs; i++)
        if (strcmp(e->graph->values[e->inputs[i].value].name, name) == 0)
            return i;
    return -1;
}

kiln_status kiln_context_set_input(kiln_context *context, const char *name, kiln_dtype dtype, int rank,
                                   const int64_t *dims, const void *data, size_t nbytes)
{
    char want[128], got[128];
    if (!context || !name || (!data && nbytes) || rank < 0 || rank > KILN_MAX_RANK || (rank && !dims))
        return kiln_error(KILN_ERR_INVALID_ARGUMENT,
                          "kiln_context_set_input: context, name, data and a rank in 0..%d are required",
                          KILN_MAX_RANK);
    const kiln_engine *e = context->engine;
    const kiln_graph *g = e->graph;
    int i = find_input(e, name);
    if (i < 0)
        return kiln_error(KILN_ERR_NOT_FOUND, "the model has no input named '%s'", name);
    const kiln_engine_binding *io = &e->inputs[i];
    const kiln_value *v = &g->values[io->value];
    if (v->dtype != KILN_UNDEFINED && v->dtype != dtype)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "input '%s' must be %s, got %s", name,
                          kiln_dtype_name(v->dtype), kiln_dtype_name(dtype) ? kiln_dtype_name(dtype) : "(invalid)");
    int mismatch = io->rank >= 0 && io->rank != rank;
    for (int d = 0; d < rank && !mismatch; d++)
        mismatch = dims[d] < 0 || (io->rank >= 0 && io->dims[d] >= 0 && io->dims[d] != dims[d]);
    if (mismatch)
        return kiln_error(KILN_ERR_SHAPE, "input '%s' must have shape %s, got %s", name,
                          kiln_graph_shape_str(g, io->dims, io->rank, want, sizeof want),
                          kiln_shape_str(dims, rank, got, sizeof got));
    KILN_TRY(kiln_context_check_profile_input(context, io->value, rank, dims));
    int64_t n;
    size_t bytes;
    KILN_TRY(kiln_shape_numel(dims, rank, &n, name));
    KILN_TRY(kiln_bytes_for(dtype, n, SIZE_MAX, &bytes, name));
    if (bytes != nbytes)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "input '%s': shape %s of %s needs %zu bytes, got %zu", name,
                          kiln_shape_str(dims, rank, got, sizeof got), kiln_dtype_name(dtype), bytes, nbytes);
    kiln_tensor *t = &context->vals[io->value];
    kiln_tensor_clear(t);
    kiln_tensor_set_shape(t, dtype, rank, dims);
    t->data = (void *)data; /* borrowed until run returns */
    t->nbytes = nbytes;
    if (!t->data)
        t->data = (void *)"";
    return KILN_OK;
}

/* Every bound input dim carrying the same symbol must have the same size. */
static kiln_status check_symbols(const kiln_context *c)
{
    const kiln_engine *e = c->engine;
    const kiln_graph *g = e->graph;
    for (int i = 0; i < e->n_inputs; i++) {
        const kiln_engine_binding *a = &e->inputs[i];
        const kiln_tensor *ta = &c->vals[a->value];
        if (!ta->data)
            return kiln_error(KILN_ERR_INVALID_ARGUMENT, "input '%s' was not set", g->values[a->value].name);
        for (int j = 0; j < i; j++) {
            const kiln_engine_binding *b = &e->inputs[j];
            const kiln_tensor *tb = &c->vals[b->value];
            for (int da = 0; da < a->rank; da++)
                for (int db = 0; db < b->rank; db++)
                    if (KILN_DIM_IS_SYMBOL(a->dims[da]) && a->dims[da] == b->dims[db] &&
                        ta->dims[da] != tb->dims[db])
                        return kiln_error(KILN_ERR_SHAPE,
                                          "inputs '%s' (dim %d = %lld) and '%s' (dim %d = %lld) share symbol '%s' "
                                          "but differ",
                                          g->values[a->value].name, da, (long long)ta->dims[da],
                                          g->values[b->value].name, db, (long long)tb->dims[db],
                                          g->symbols[KILN_DIM_SYMBOL_ID(a->dims[da])]);
        }
    }
    return KILN_OK;
}

kiln_status kiln_context_set_layer_callback(kiln_context *context, kiln_layer_callback callback, void *user)
{
    if (!context)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_context_set_layer_callback: context is required");
    context->layer_callback = callback;
    context->layer_user = user;
    return KILN_OK;
}

#define MAX_LAYER_OUTPUTS 64

/* Hands a layer's outputs to the user's callback as views. */
static kiln_status after_layer(void *user, const kiln_graph *g, int node, kiln_tensor *const *outputs, int n_out)
{
    const kiln_context *c = user;
    const kiln_node *n = &g->nodes[node];
    kiln_tensor_view views[MAX_LAYER_OUTPUTS];
    int count = n_out < MAX_LAYER_OUTPUTS ? n_out : MAX_LAYER_OUTPUTS;
    for (int k = 0; k < count; k++) {
        memset(&views[k], 0, sizeof views[k]);
        const kiln_tensor *t = outputs[k];
        if (!t)
            continue;
        views[k].name = g->values[n->outputs[k]].name;
        views[k].dtype = t->dtype;
        views[k].rank = t->rank;
        memcpy(views[k].dims, t->dims, sizeof(int64_t) * (size_t)(t->rank > 0 ? t->rank : 0));
        views[k].data = t->data;
        views[k].nbytes = t->nbytes;
    }
    kiln_node_info info = {n->name, n->op_type, n->domain, n->opset, n->n_inputs, n->n_outputs,
                           kiln_tune_tactic_name(&c->engine->plan, c->run_profile, node)};
    if (c->layer_callback(c->layer_user, &info, count, views) != 0)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "the run was stopped by the layer callback after layer '%s' (%s)",
                          n->name, n->op_type);
    return KILN_OK;
}

kiln_status kiln_context_run(kiln_context *context)
{
    if (!context)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_context_run: context is required");
    clear_values(context, 1);
    context->ran = 0;
    KILN_TRY(check_symbols(context));
    int profile = -1;
    KILN_TRY(kiln_context_pick_profile(context, &profile));
    context->run_profile = profile;
    kiln_run_observer observer = {after_layer, context};
    kiln_status st = kiln_plan_run_profile(&context->engine->plan, profile, context->vals,
                                           context->layer_callback ? &observer : NULL);
    if (st != KILN_OK) {
        clear_values(context, 1);
        return st;
    }
    /* outputs that alias an input must not borrow the caller's buffer */
    const kiln_graph *g = context->engine->graph;
    for (int i = 0; i < g->n_outputs; i++) {
        kiln_tensor *t = &context->vals[g->outputs[i]];
        if (g->values[g->outputs[i]].is_graph_input) {
            kiln_tensor copy = {0};
            KILN_TRY(kiln_tensor_copy(&copy, t, g->values[g->outputs[i]].name));
            context->vals[g->outputs[i]] = copy;
        }
    }
    context->ran = 1;
    return KILN_OK;
}

kiln_status kiln_context_output(const kiln_context *context, const char *name, int index, kiln_tensor_view *out)
{
    if (!context || !out)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_context_output: context and out are required");
    const kiln_graph *g = context->engine->graph;
    if (!context->ran)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_context_output: the context has not run successfully");
    int v = -1;
    if (name) {
        for (int i = 0; i < g->n_outputs; i++)
            if (strcmp(g->values[g->outputs[i]].name, name) == 0)
                v = g->outputs[i];
        if (v < 0)
            return kiln_error(KILN_ERR_NOT_FOUND, "the model has no output named '%s'", name);
    } else {
        if (index < 0 || index >= g->n_outputs)
            return kiln_error(KILN_ERR_INVALID_ARGUMENT, "output index %d is out of range (0..%d)", index,
                              g->n_outputs - 1);
        v = g->outputs[index];
    }
    const kiln_tensor *t = &context->vals[v];
    out->name = g->values[v].name;
    out->dtype = t->dtype;
    out->rank = t->rank;
    memset(out->dims, 0, sizeof out->dims);
    memcpy(out->dims, t->dims, sizeof(int64_t) * (size_t)(t->rank > 0 ? t->rank : 0));
    out->data = t->data;
    out->nbytes = t->nbytes;
    return KILN_OK;
}
