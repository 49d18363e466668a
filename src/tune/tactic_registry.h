/*
 * tactic_registry.h - the tactics kiln has, per op type (tables defined by
 * the backends' tactic files), and running one with its workspace.
 */
#ifndef KILN_TUNE_TACTIC_REGISTRY_H
#define KILN_TUNE_TACTIC_REGISTRY_H

#include "backends/backend.h"

/* The tactics of op_type (domain-free name); *count 0 and NULL when none. */
const kiln_tactic *kiln_tactics_for(const char *op_type, int *count);
/* The tactic of op_type named name, or NULL. */
const kiln_tactic *kiln_tactic_find(const char *op_type, const char *name);
/* Whether any op has a tactic named name. */
bool kiln_tactic_known(const char *name);
/* Whether t may run the node: its source is in sources, its workspace fits
 * within workspace_limit and it supports the shapes and dtypes in ctx. */
bool kiln_tactic_usable(const kiln_tactic *t, const kiln_op_ctx *ctx, size_t workspace_limit, uint32_t sources);
/* Tells every tactic that caches something derived from the weights at
 * `weights` (a reordered copy) that they are about to be freed. */
void kiln_tactics_forget(const void *weights);
/* Runs t on ctx with a workspace of this thread's (see tactic_registry.c). */
kiln_status kiln_tactic_exec(const kiln_tactic *t, kiln_op_ctx *ctx);

#endif
