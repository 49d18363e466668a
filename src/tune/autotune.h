/*
 * autotune.h - the autotuner: at engine build, every layer with more than
 * one usable tactic (supported at its shapes and dtypes, workspace within
 * the limit, source allowed) is timed on this machine with random inputs
 * (a warm-up, then the median of interleaved runs, capped by time) and the
 * fastest kept in the plan. A timing cache file, when given, is read first
 * and written after, so layers it knows are not timed again.
 */
#ifndef KILN_TUNE_AUTOTUNE_H
#define KILN_TUNE_AUTOTUNE_H

#include "runtime/executor.h"

/* Called after each layer that has tactics: done of total, its name. */
typedef void (*kiln_tune_progress)(void *user, int done, int total, const char *layer);

typedef struct kiln_tune_options {
    size_t workspace;         /* bytes a tactic may use */
    uint32_t sources;         /* kiln_tactic_source mask */
    const char *cache;        /* timing cache file, or NULL */
    const kiln_graph *shapes; /* the plan's graph at the shapes to tune for (a profile's), or NULL */
    int profile;              /* the plan layout (profile) whose tactics are chosen; 0 without profiles */
    kiln_tune_progress progress;
    void *progress_user;
} kiln_tune_options;

typedef struct kiln_tune_report {
    double *ms;           /* per node: the chosen tactic's time, -1 when not timed */
    double *reference_ms; /* per node: the reference tactic's time, -1 when not timed */
    int layers_tuned;     /* layers that chose among several tactics */
    int cache_hits;       /* of those, the ones the timing cache answered */
    double tune_ms;       /* wall time of tuning */
} kiln_tune_report;

/* The tactic every layer reports when it runs the backend's own kernel. */
#define KILN_TACTIC_REFERENCE_NAME "reference"
/* The tactic timed as the reference kernel (the backend's Conv driver). */
#define KILN_TACTIC_BASELINE "conv_im2col_sgemm"

/* Chooses the tactics of layout opt->profile; *report (initialized here)
 * holds what this call measured. */
kiln_status kiln_autotune(kiln_plan *plan, const kiln_tune_options *opt, kiln_tune_report *report);
/* A report of nothing measured (every time -1). */
kiln_status kiln_tune_report_init(const kiln_plan *plan, kiln_tune_report *report);
void kiln_tune_report_free(kiln_tune_report *report);

/* The name of node's tactic in the plan's layout (profile) `profile`
 * (0 without profiles). */
const char *kiln_tune_tactic_name(const kiln_plan *plan, int profile, int node);
/* Sets the plan's tactics from names, as engine files record them: one per
 * node for each layout (profile) in turn, or one per node for all layouts;
 * refuses a name that is not a tactic of its node's op. */
kiln_status kiln_tune_apply(kiln_plan *plan, char *const *names, uint32_t n);

/* Readies the plan's tactics for their first run (tactic_prepare.c): each
 * layer's tactic prepare step at its shapes (every profile's OPT), and the
 * matrix-product provider's one-time setup. */
kiln_status kiln_plan_prepare_tactics(const kiln_plan *plan);

#endif
