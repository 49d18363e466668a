/*
 * profile.c - optimization profiles: the builder config's bounds checked
 * against the engine's inputs and stored in its graph (so engine files keep
 * them), the engine's queries, and a context's choice of profile for the
 * shapes it is given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

/* The bounds of value v in profile p, or NULL when p does not bound it. */
static const kiln_profile_dims *find_dims(const kiln_graph *g, int p, int v)
{
    for (int i = 0; i < g->profiles[p].n_inputs; i++)
        if (g->profiles[p].inputs[i].value == v)
            return &g->profiles[p].inputs[i];
    return NULL;
}

static int graph_input_named(const kiln_graph *g, const char *name)
{
    for (int i = 0; i < g->n_inputs; i++)
        if (strcmp(g->values[g->inputs[i]].name, name) == 0)
            return g->inputs[i];
    return -1;
}

static int has_free_dims(const kiln_value *v)
{
    for (int d = 0; d < v->rank; d++)
        if (v->dims[d] < 0)
            return 1;
    return v->rank < 0;
}

/* One config entry against the model's input: name, rank, fixed dims. */
static kiln_status check_entry(const kiln_graph *g, int p, const kiln_profile_shape *s, int *value)
{
    char a[128], b[128];
    const kiln_profile_dims *pd = &s->dims;
    *value = graph_input_named(g, s->name);
    if (*value < 0)
        return kiln_error(KILN_ERR_NOT_FOUND,
                          "profile %d gives bounds for '%s', but the model has no input of that name", p, s->name);
    const kiln_value *v = &g->values[*value];
    if (v->rank >= 0 && v->rank != pd->rank)
        return kiln_error(KILN_ERR_SHAPE, "input '%s' has rank %d (shape %s); profile %d gives rank %d", s->name,
                          v->rank, kiln_graph_shape_str(g, v->dims, v->rank, a, sizeof a), p, pd->rank);
    for (int d = 0; v->rank >= 0 && d < v->rank; d++)
        if (v->dims[d] >= 0 && (pd->min[d] != v->dims[d] || pd->max[d] != v->dims[d]))
            return kiln_error(KILN_ERR_SHAPE,
                              "input '%s' dim %d is fixed at %lld by the model; profile %d gives %s .. %s", s->name, d,
                              (long long)v->dims[d], p, kiln_shape_str(pd->min, pd->rank, a, sizeof a),
                              kiln_shape_str(pd->max, pd->rank, b, sizeof b));
    return KILN_OK;
}

/* Checks config profile p and fills the graph's profile `out`. */
static kiln_status fill_profile(const kiln_graph *g, int p, const kiln_config_profile *cp, kiln_profile *out)
{
    char a[128];
    out->inputs = calloc((size_t)cp->n_shapes + 1, sizeof *out->inputs);
    if (!out->inputs)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine: out of memory");
    for (int i = 0; i < cp->n_shapes; i++) {
        int v = -1;
        KILN_TRY(check_entry(g, p, &cp->shapes[i], &v));
        out->inputs[i] = cp->shapes[i].dims;
        out->inputs[i].value = v;
        out->n_inputs = i + 1;
    }
    for (int i = 0; i < g->n_inputs; i++) {
        const kiln_value *v = &g->values[g->inputs[i]];
        if (has_free_dims(v) && !find_dims(g, p, g->inputs[i]))
            return kiln_error(KILN_ERR_SHAPE, "profile %d gives no bounds for input '%s' (shape %s)", p, v->name,
                              kiln_graph_shape_str(g, v->dims, v->rank, a, sizeof a));
    }
    return KILN_OK;
}

kiln_status kiln_engine_attach_profiles(kiln_engine *e, const kiln_builder_config *cfg)
{
    kiln_graph *g = e->graph;
    if (!cfg || cfg->n_profiles == 0)
        return KILN_OK;
    g->profiles = calloc((size_t)cfg->n_profiles, sizeof *g->profiles);
    if (!g->profiles)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "engine: out of memory");
    for (int p = 0; p < cfg->n_profiles; p++) {
        g->n_profiles = p + 1; /* freed with the graph, even when incomplete */
        KILN_TRY(fill_profile(g, p, &cfg->profiles[p], &g->profiles[p]));
    }
    return KILN_OK;
}

kiln_status kiln_engine_num_profiles(const kiln_engine *engine, int *count)
{
    if (!engine || !count)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_engine_num_profiles: engine and count are required");
    *count = engine->graph->n_profiles;
    return KILN_OK;
}

kiln_status kiln_engine_profile_shape(const kiln_engine *engine, int profile, const char *input, int *rank,
                                      int64_t *min, int64_t *opt, int64_t *max)
{
    if (!engine || !input || !rank || !min || !opt || !max)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT,
                          "kiln_engine_profile_shape: engine, input, rank, min, opt and max are required");
    const kiln_graph *g = engine->graph;
    if (profile < 0 || profile >= g->n_profiles)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "profile %d does not exist (the engine has %d)", profile,
                          g->n_profiles);
    int v = graph_input_named(g, input);
    if (v < 0)
        return kiln_error(KILN_ERR_NOT_FOUND, "the model has no input named '%s'", input);
    const kiln_profile_dims *pd = find_dims(g, profile, v);
    if (!pd && has_free_dims(&g->values[v]))
        return kiln_error(KILN_ERR_NOT_FOUND, "profile %d gives no bounds for input '%s'", profile, input);
    const kiln_value *val = &g->values[v];
    *rank = pd ? pd->rank : val->rank;
    for (int d = 0; d < *rank; d++) {
        min[d] = pd ? pd->min[d] : val->dims[d];
        opt[d] = pd ? pd->opt[d] : val->dims[d];
        max[d] = pd ? pd->max[d] : val->dims[d];
    }
    return KILN_OK;
}

/* ---- contexts ----------------------------------------------------------- */

kiln_status kiln_context_set_profile(kiln_context *context, int index)
{
    if (!context)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_context_set_profile: context is required");
    int n = context->engine->graph->n_profiles;
    if (index < -1 || index >= n)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT,
                          "profile %d does not exist (the engine has %d; -1 chooses per run)", index, n);
    context->profile = index;
    return KILN_OK;
}

/* 1 when the shape lies inside profile p's bounds for value v (or p does
 * not bound v). */
static int fits(const kiln_graph *g, int p, int v, int rank, const int64_t *dims)
{
    const kiln_profile_dims *pd = find_dims(g, p, v);
    if (!pd)
        return 1;
    if (pd->rank != rank)
        return 0;
    for (int d = 0; d < rank; d++)
        if (dims[d] < pd->min[d] || dims[d] > pd->max[d])
            return 0;
    return 1;
}

/* Appends sep and "profile P: MIN .. MAX" for value v to buf at *used. */
static void append_bounds(const kiln_graph *g, int p, int v, const char *sep, char *buf, size_t len, size_t *used)
{
    char a[128], b[128];
    const kiln_profile_dims *pd = find_dims(g, p, v);
    if (*used >= len || !pd)
        return;
    int n = snprintf(buf + *used, len - *used, "%sprofile %d: %s .. %s", sep, p,
                     kiln_shape_str(pd->min, pd->rank, a, sizeof a), kiln_shape_str(pd->max, pd->rank, b, sizeof b));
    *used += n > 0 ? (size_t)n : 0;
}

static kiln_status outside(const kiln_context *c, int only, int v, int rank, const int64_t *dims)
{
    const kiln_graph *g = c->engine->graph;
    char shape[128], bounds[1024] = "";
    size_t used = 0;
    for (int p = 0; p < g->n_profiles; p++)
        if (only < 0 || p == only)
            append_bounds(g, p, v, used ? ", " : "", bounds, sizeof bounds, &used);
    return kiln_error(KILN_ERR_SHAPE, "input '%s' shape %s is outside %s (%s)", g->values[v].name,
                      kiln_shape_str(dims, rank, shape, sizeof shape),
                      only < 0 ? "every profile" : "the chosen profile", bounds);
}

kiln_status kiln_context_check_profile_input(const kiln_context *c, int value, int rank, const int64_t *dims)
{
    const kiln_graph *g = c->engine->graph;
    if (g->n_profiles == 0)
        return KILN_OK;
    if (c->profile >= 0)
        return fits(g, c->profile, value, rank, dims) ? KILN_OK : outside(c, c->profile, value, rank, dims);
    for (int p = 0; p < g->n_profiles; p++)
        if (fits(g, p, value, rank, dims))
            return KILN_OK;
    return outside(c, -1, value, rank, dims);
}

/* The first bound input outside profile p, or -1. */
static int first_misfit(const kiln_context *c, int p)
{
    const kiln_engine *e = c->engine;
    for (int i = 0; i < e->n_inputs; i++) {
        const kiln_tensor *t = &c->vals[e->inputs[i].value];
        if (!fits(e->graph, p, e->inputs[i].value, t->rank, t->dims))
            return i;
    }
    return -1;
}

/* Names, for every profile, an input it refuses. */
static kiln_status no_profile_fits(const kiln_context *c)
{
    const kiln_engine *e = c->engine;
    char msg[1024] = "", shape[128];
    size_t used = 0;
    for (int p = 0; p < e->graph->n_profiles && used < sizeof msg; p++) {
        int bad = first_misfit(c, p);
        if (bad < 0)
            continue;
        int v = e->inputs[bad].value;
        const kiln_tensor *t = &c->vals[v];
        int n = snprintf(msg + used, sizeof msg - used, "%s'%s' shape %s is outside ", used ? "; " : "",
                         e->graph->values[v].name, kiln_shape_str(t->dims, t->rank, shape, sizeof shape));
        used += n > 0 ? (size_t)n : 0;
        append_bounds(e->graph, p, v, "", msg, sizeof msg, &used);
    }
    return kiln_error(KILN_ERR_SHAPE, "the bound inputs fit no single profile: %s", msg);
}

kiln_status kiln_context_pick_profile(const kiln_context *c, int *profile)
{
    const kiln_engine *e = c->engine;
    *profile = -1;
    if (e->graph->n_profiles == 0)
        return KILN_OK;
    if (c->profile >= 0) {
        int bad = first_misfit(c, c->profile);
        if (bad < 0) {
            *profile = c->profile;
            return KILN_OK;
        }
        const kiln_tensor *t = &c->vals[e->inputs[bad].value];
        return outside(c, c->profile, e->inputs[bad].value, t->rank, t->dims);
    }
    for (int p = 0; p < e->graph->n_profiles; p++)
        if (first_misfit(c, p) < 0) {
            *profile = p;
            return KILN_OK;
        }
    return no_profile_fits(c);
}
