/*
 * tune_api.c - the autotuning part of the C API: the builder config's
 * switch, progress callback, timing cache and threads; tuning a built engine
 * (on its first profile's typical shapes when it has profiles); and what
 * the tuner measured. Without autotuning every layer keeps the reference
 * kernel.
 */
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/thread_pool.h"

kiln_status kiln_builder_config_set_progress_callback(kiln_builder_config *config,
                                                      kiln_build_progress_callback callback, void *user)
{
    if (!config)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_builder_config_set_progress_callback: config is required");
    config->progress = callback;
    config->progress_user = user;
    return KILN_OK;
}

kiln_status kiln_builder_config_set_autotune(kiln_builder_config *config, int enable)
{
    if (!config)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_builder_config_set_autotune: config is required");
    config->autotune = enable != 0;
    return KILN_OK;
}

kiln_status kiln_builder_config_set_threads(kiln_builder_config *config, int threads)
{
    if (!config || threads < 0)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_builder_config_set_threads: config and threads >= 0 are "
                                                     "required");
    config->threads = threads;
    return KILN_OK;
}

kiln_status kiln_builder_config_set_timing_cache(kiln_builder_config *config, const char *path)
{
    if (!config)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_builder_config_set_timing_cache: config is required");
    if (path && strlen(path) >= sizeof config->timing_cache)
        return kiln_error(KILN_ERR_LIMIT, "kiln_builder_config_set_timing_cache: the path is longer than %zu bytes",
                          sizeof config->timing_cache - 1);
    snprintf(config->timing_cache, sizeof config->timing_cache, "%s", path ? path : "");
    return KILN_OK;
}

kiln_status kiln_engine_tune(kiln_engine *e, const kiln_builder_config *cfg)
{
    kiln_graph *opt_shapes = NULL;
    kiln_tune_options o = {.workspace = e->opts.workspace, .sources = e->opts.tactic_sources};
    if (cfg && cfg->threads > 0)
        KILN_TRY(kiln_thread_pool_set_threads(cfg->threads));
    if (!cfg || !cfg->autotune) {
        KILN_TRY(kiln_tune_report_init(&e->plan, &e->tune));
        return kiln_plan_prepare_tactics(&e->plan);
    }
    if (cfg && cfg->timing_cache[0])
        o.cache = cfg->timing_cache;
    if (cfg) {
        o.progress = cfg->progress;
        o.progress_user = cfg->progress_user;
    }
    /* every profile is tuned at its own OPT shapes; the report keeps profile 0's times and the totals */
    kiln_status st = KILN_OK;
    for (int p = 0; st == KILN_OK && p < (e->graph->n_profiles > 0 ? e->graph->n_profiles : 1); p++) {
        kiln_tune_report r = {0};
        if (e->graph->n_profiles > 0)
            st = kiln_graph_at_profile(e->graph, p, KILN_PROFILE_OPT, &opt_shapes);
        o.shapes = opt_shapes;
        o.profile = p;
        if (st == KILN_OK)
            st = kiln_autotune(&e->plan, &o, p == 0 ? &e->tune : &r);
        if (p > 0) {
            e->tune.layers_tuned += r.layers_tuned;
            e->tune.cache_hits += r.cache_hits;
            e->tune.tune_ms += r.tune_ms;
            kiln_tune_report_free(&r);
        }
        kiln_graph_free(opt_shapes);
        opt_shapes = NULL;
    }
    return st == KILN_OK ? kiln_plan_prepare_tactics(&e->plan) : st;
}

kiln_status kiln_engine_tuning_summary(const kiln_engine *engine, kiln_tuning_summary *summary)
{
    if (!engine || !summary)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_engine_tuning_summary: engine and summary are required");
    summary->layers_tuned = engine->tune.layers_tuned;
    summary->cache_hits = engine->tune.cache_hits;
    summary->ms = engine->tune.tune_ms;
    return KILN_OK;
}

kiln_status kiln_engine_layer_timing(const kiln_engine *engine, int index, double *ms, double *reference_ms)
{
    if (!engine || !ms || !reference_ms)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_engine_layer_timing: engine, ms and reference_ms are "
                                                     "required");
    if (index < 0 || index >= engine->graph->n_nodes)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_engine_layer_timing: index %d is out of range (0..%d)",
                          index, engine->graph->n_nodes - 1);
    int node = engine->plan.order[index];
    *ms = engine->tune.ms ? engine->tune.ms[node] : -1;
    *reference_ms = engine->tune.reference_ms ? engine->tune.reference_ms[node] : -1;
    return KILN_OK;
}
