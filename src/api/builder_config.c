/*
 * builder_config.c - options for building an engine.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

kiln_status kiln_builder_config_create(kiln_builder_config **out)
{
    if (!out)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_builder_config_create: out is required");
    kiln_builder_config *c = calloc(1, sizeof *c);
    if (!c)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "builder config: out of memory");
    c->precision = KILN_PRECISION_FP32;
    c->workspace = (size_t)1 << 30;
    c->tactic_sources = ~0u;
    c->max_tensor_bytes = KILN_DEFAULT_MAX_TENSOR_BYTES;
    c->optimization_level = 1;
    c->autotune = 1;
    *out = c;
    return KILN_OK;
}

void kiln_builder_config_free(kiln_builder_config *config)
{
    if (!config)
        return;
    for (int i = 0; i < config->n_shapes; i++)
        free(config->shapes[i].name);
    free(config->shapes);
    for (int p = 0; p < config->n_profiles; p++) {
        for (int i = 0; i < config->profiles[p].n_shapes; i++)
            free(config->profiles[p].shapes[i].name);
        free(config->profiles[p].shapes);
    }
    free(config->profiles);
    free(config);
}

kiln_status kiln_builder_config_set_precision(kiln_builder_config *config, kiln_precision precision)
{
    if (!config)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_builder_config_set_precision: config is required");
    if (precision != KILN_PRECISION_FP32)
        return kiln_error(KILN_ERR_UNSUPPORTED, "precision %d is not available yet: only FP32 is built",
                          (int)precision);
    config->precision = precision;
    return KILN_OK;
}

kiln_status kiln_builder_config_set_workspace(kiln_builder_config *config, size_t bytes)
{
    if (!config)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_builder_config_set_workspace: config is required");
    config->workspace = bytes;
    return KILN_OK;
}

kiln_status kiln_builder_config_set_tactic_sources(kiln_builder_config *config, uint32_t mask)
{
    if (!config)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_builder_config_set_tactic_sources: config is required");
    config->tactic_sources = mask;
    return KILN_OK;
}

kiln_status kiln_builder_config_set_max_tensor_bytes(kiln_builder_config *config, size_t bytes)
{
    if (!config || bytes == 0)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT,
                          "kiln_builder_config_set_max_tensor_bytes: config and a nonzero size are required");
    config->max_tensor_bytes = bytes;
    return KILN_OK;
}

kiln_status kiln_builder_config_set_input_shape(kiln_builder_config *config, const char *name, int rank,
                                                const int64_t *dims)
{
    if (!config || !name || rank < 0 || rank > KILN_MAX_RANK || (rank > 0 && !dims))
        return kiln_error(KILN_ERR_INVALID_ARGUMENT,
                          "kiln_builder_config_set_input_shape: config, name and a rank in 0..%d are required",
                          KILN_MAX_RANK);
    for (int d = 0; d < rank; d++)
        if (dims[d] < 0)
            return kiln_error(KILN_ERR_INVALID_ARGUMENT, "input '%s': dim %d is %lld; shapes must be >= 0", name, d,
                              (long long)dims[d]);
    kiln_shape_override *s = NULL;
    for (int i = 0; i < config->n_shapes; i++)
        if (strcmp(config->shapes[i].name, name) == 0)
            s = &config->shapes[i];
    if (!s) {
        kiln_shape_override *ns = realloc(config->shapes, sizeof *ns * (size_t)(config->n_shapes + 1));
        if (!ns)
            return kiln_error(KILN_ERR_OUT_OF_MEMORY, "builder config: out of memory");
        config->shapes = ns;
        s = &ns[config->n_shapes];
        s->name = malloc(strlen(name) + 1);
        if (!s->name)
            return kiln_error(KILN_ERR_OUT_OF_MEMORY, "builder config: out of memory");
        strcpy(s->name, name);
        config->n_shapes++;
    }
    s->rank = rank;
    for (int d = 0; d < rank; d++)
        s->dims[d] = dims[d];
    return KILN_OK;
}

kiln_status kiln_builder_config_set_optimization_level(kiln_builder_config *config, int level)
{
    if (!config || level < 0 || level > 1)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT,
                          "kiln_builder_config_set_optimization_level: config and a level of 0 or 1 are required");
    config->optimization_level = level;
    return KILN_OK;
}

kiln_status kiln_builder_config_set_layout(kiln_builder_config *config, kiln_layout layout)
{
    if (!config || (layout != KILN_LAYOUT_AUTO && layout != KILN_LAYOUT_NCHW && layout != KILN_LAYOUT_NHWC))
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_builder_config_set_layout: config and a layout of "
                                                     "KILN_LAYOUT_AUTO, _NCHW or _NHWC are required");
    config->layout = layout;
    return KILN_OK;
}

kiln_status kiln_builder_config_add_profile(kiln_builder_config *config, int *index)
{
    if (!config || !index)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_builder_config_add_profile: config and index are required");
    kiln_config_profile *np = realloc(config->profiles, sizeof *np * ((size_t)config->n_profiles + 1));
    if (!np)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "builder config: out of memory");
    config->profiles = np;
    np[config->n_profiles] = (kiln_config_profile){0, NULL};
    *index = config->n_profiles++;
    return KILN_OK;
}

/* min <= opt <= max and min >= 0 in every dim. */
static kiln_status check_bounds(const char *input, int rank, const int64_t *min, const int64_t *opt,
                                const int64_t *max)
{
    char a[128], b[128], c[128];
    for (int d = 0; d < rank; d++)
        if (min[d] < 0 || min[d] > opt[d] || opt[d] > max[d])
            return kiln_error(KILN_ERR_INVALID_ARGUMENT,
                              "input '%s': profile shapes min %s, opt %s, max %s need 0 <= min <= opt <= max in "
                              "every dim (dim %d is not)",
                              input, kiln_shape_str(min, rank, a, sizeof a), kiln_shape_str(opt, rank, b, sizeof b),
                              kiln_shape_str(max, rank, c, sizeof c), d);
    return KILN_OK;
}

/* The entry for `input` in profile p, added when absent. */
static kiln_status profile_entry(kiln_config_profile *p, const char *input, kiln_profile_shape **out)
{
    for (int i = 0; i < p->n_shapes; i++)
        if (strcmp(p->shapes[i].name, input) == 0) {
            *out = &p->shapes[i];
            return KILN_OK;
        }
    char *name = malloc(strlen(input) + 1);
    kiln_profile_shape *ns = name ? realloc(p->shapes, sizeof *ns * ((size_t)p->n_shapes + 1)) : NULL;
    if (!ns) {
        free(name);
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "builder config: out of memory");
    }
    strcpy(name, input);
    p->shapes = ns;
    *out = &ns[p->n_shapes++];
    memset(*out, 0, sizeof **out);
    (*out)->name = name;
    (*out)->dims.value = -1;
    return KILN_OK;
}

kiln_status kiln_builder_config_set_profile_shape(kiln_builder_config *config, int profile, const char *input,
                                                  int rank, const int64_t *min, const int64_t *opt,
                                                  const int64_t *max)
{
    if (!config || !input || rank < 0 || rank > KILN_MAX_RANK || (rank > 0 && (!min || !opt || !max)))
        return kiln_error(KILN_ERR_INVALID_ARGUMENT,
                          "kiln_builder_config_set_profile_shape: config, input, min, opt, max and a rank in 0..%d "
                          "are required",
                          KILN_MAX_RANK);
    if (profile < 0 || profile >= config->n_profiles)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "input '%s': profile %d does not exist (the config has %d)",
                          input, profile, config->n_profiles);
    KILN_TRY(check_bounds(input, rank, min, opt, max));
    kiln_profile_shape *s = NULL;
    KILN_TRY(profile_entry(&config->profiles[profile], input, &s));
    s->dims.rank = rank;
    for (int d = 0; d < rank; d++) {
        s->dims.min[d] = min[d];
        s->dims.opt[d] = opt[d];
        s->dims.max[d] = max[d];
    }
    return KILN_OK;
}
