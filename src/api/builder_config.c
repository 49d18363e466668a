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
