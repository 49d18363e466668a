/*
 * executor.c - node-by-node execution (see executor.h): at build time the
 * arena layout of the statically shaped intermediates (one per optimization
 * profile, on its MAX shapes); per run, each output placed in a pooled arena
 * of the run's layout or allocated, then the kernel.
 */
#include "runtime/executor.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_kernels.h"
#include "core/dtype.h"
#include "ir/rewrite.h"
#include "ir/verify.h"
#include "runtime/memory_plan.h"
#include "tune/tactic_registry.h"

#define MAX_NODE_IO 256

/* Under AddressSanitizer the parts of an arena that hold no live tensor are
 * poisoned, so reading a released intermediate or writing past a tensor into
 * free arena space is reported as it would be with one malloc per tensor. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KILN_ARENA_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define KILN_ARENA_ASAN 1
#endif
#ifdef KILN_ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define ARENA_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define ARENA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define ARENA_POISON(p, n) ((void)(p), (void)(n))
#define ARENA_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Arenas not in use by any run, shared by the threads running one plan. */
struct kiln_arena_pool {
    pthread_mutex_t lock;
    int n, cap;
    void **arenas;
};

static kiln_status plan_memory(kiln_plan *plan);

kiln_status kiln_plan_create(kiln_plan *plan, const kiln_graph *g, size_t max_bytes)
{
    memset(plan, 0, sizeof *plan);
    plan->graph = g;
    plan->max_bytes = max_bytes;
    KILN_TRY(kiln_backend_cpu_create(&plan->backend));
    size_t nn = (size_t)(g->n_nodes ? g->n_nodes : 1);
    plan->order = malloc(nn * sizeof(int));
    plan->state = calloc(nn, sizeof(void *));
    plan->last_use = malloc(sizeof(int) * (size_t)(g->n_values ? g->n_values : 1));
    if (!plan->order || !plan->state || !plan->last_use) {
        kiln_plan_release(plan);
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    }
    kiln_status st = kiln_graph_topo_order(g, plan->order);
    for (int v = 0; v < g->n_values; v++)
        plan->last_use[v] = -1;
    for (int i = 0; i < g->n_nodes && st == KILN_OK; i++) {
        const kiln_node *n = &g->nodes[plan->order[i]];
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] >= 0)
                plan->last_use[n->inputs[k]] = i;
    }
    /* every node must be known and supported by the backend */
    for (int i = 0; i < g->n_nodes && st == KILN_OK; i++) {
        int node = plan->order[i];
        const kiln_node *n = &g->nodes[node];
        char label[256], why[256];
        kiln_node_label(g, node, label, sizeof label);
        if (!kiln_op_find(n->domain, n->op_type)) {
            st = kiln_error(KILN_ERR_UNSUPPORTED, "unsupported op %s (opset %d) at node %s", n->op_type, n->opset,
                            label);
            break;
        }
        kiln_op_ctx ctx = {.graph = g, .node = n, .opset = n->opset, .max_bytes = max_bytes};
        if (!plan->backend.iface->supports(plan->backend.ctx, &ctx, why, sizeof why)) {
            st = kiln_error(KILN_ERR_UNSUPPORTED, "unsupported op %s (opset %d) at node %s: %s", n->op_type, n->opset,
                            label, why);
            break;
        }
        st = plan->backend.iface->prepare(plan->backend.ctx, &ctx, &plan->state[node]);
    }
    if (st == KILN_OK)
        st = plan_memory(plan);
    if (st != KILN_OK)
        kiln_plan_release(plan);
    return st;
}

static void pool_free(struct kiln_arena_pool *pool);

static void layouts_free(kiln_plan *plan)
{
    for (int i = 0; plan->layouts && i < plan->n_layouts; i++) {
        free(plan->layouts[i].slots);
        pool_free(plan->layouts[i].pool);
    }
    free(plan->layouts);
}

static void pool_free(struct kiln_arena_pool *pool)
{
    if (!pool)
        return;
    for (int i = 0; i < pool->n; i++)
        free(pool->arenas[i]); /* unpoisoned when given back */
    free(pool->arenas);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

void kiln_plan_release(kiln_plan *plan)
{
    if (plan->state && plan->backend.iface && plan->graph)
        for (int i = 0; i < plan->graph->n_nodes; i++)
            if (plan->state[i])
                plan->backend.iface->release(plan->backend.ctx, plan->state[i]);
    kiln_backend_free(&plan->backend);
    free(plan->order);
    free(plan->state);
    free(plan->tactics);
    free(plan->last_use);
    layouts_free(plan);
    memset(plan, 0, sizeof *plan);
}

/* ---- build time: the arena layout --------------------------------------- */

/* Bytes of value v, with its shape in `shapes`, when it belongs in the arena:
 * an intermediate (not a graph input, output or constant) whose dtype and
 * every dim are known, within the per-tensor ceiling. */
static int arena_bytes(const kiln_plan *plan, const kiln_graph *shapes, int v, size_t *bytes)
{
    const kiln_value *val = &shapes->values[v];
    size_t es = kiln_dtype_valid(val->dtype) ? kiln_dtype_size(val->dtype) : 0;
    if (val->is_graph_input || val->is_graph_output || val->constant || val->rank < 0 || es == 0)
        return 0;
    uint64_t limit = plan->max_bytes / es, n = 1;
    for (int d = 0; d < val->rank; d++) {
        int64_t dim = val->dims[d];
        if (dim < 0 || (dim > 0 && n > limit / (uint64_t)dim))
            return 0;
        n *= (uint64_t)dim;
    }
    *bytes = (size_t)n * es; /* n <= max_bytes / es */
    return 1;
}

/* One buffer per arena value, alive from the step that writes it to the
 * last step that reads it (or that same step when nobody reads it). */
static int collect_buffers(const kiln_plan *plan, const kiln_graph *shapes, int *first, int *buf_of,
                           kiln_mem_buffer *bufs)
{
    const kiln_graph *g = plan->graph;
    int nb = 0;
    for (int v = 0; v < g->n_values; v++)
        first[v] = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const kiln_node *n = &g->nodes[plan->order[i]];
        for (int k = 0; k < n->n_outputs; k++)
            if (n->outputs[k] >= 0)
                first[n->outputs[k]] = i;
    }
    for (int v = 0; v < g->n_values; v++) {
        size_t bytes = 0;
        buf_of[v] = -1;
        if (first[v] < 0 || !arena_bytes(plan, shapes, v, &bytes))
            continue;
        int last = plan->last_use[v] >= 0 ? plan->last_use[v] : first[v];
        bufs[nb] = (kiln_mem_buffer){.bytes = bytes, .first = first[v], .last = last, .reuse = -1, .shares = -1};
        buf_of[v] = nb++;
    }
    return nb;
}

/* Same dtype, rank and dims: the one test behind same_layout (values at
 * build) and same_shape (tensors at run time). */
static int same_dims(kiln_dtype da, int ra, const int64_t *a, kiln_dtype db, int rb, const int64_t *b)
{
    if (da != db || ra != rb)
        return 0;
    for (int d = 0; d < ra; d++)
        if (a[d] != b[d])
            return 0;
    return 1;
}

static int same_layout(const kiln_value *a, const kiln_value *b)
{
    return same_dims(a->dtype, a->rank, a->dims, b->dtype, b->rank, b->dims);
}

/* Elements of a known shape, -1 when a dim is unknown. */
static int64_t count_elems(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++) {
        if (dims[d] < 0)
            return -1;
        n *= dims[d];
    }
    return rank < 0 ? -1 : n;
}

/* Same dtype and element count: the same bytes under another shape. */
static int same_bytes(kiln_dtype da, int ra, const int64_t *a, kiln_dtype db, int rb, const int64_t *b)
{
    int64_t na = count_elems(ra, a);
    return da == db && na >= 0 && na == count_elems(rb, b);
}

/* Offers in-place reuse where an op allows it (kiln_op_inplace_input) and
 * the input is an arena value that dies at this node with output 0's dtype
 * and shape, or an alias op's input (kiln_op_alias_input) with output 0's
 * bytes; the planner decides. */
static void offer_inplace(const kiln_plan *plan, const kiln_graph *shapes, kiln_arena_layout *lay, const int *buf_of,
                          kiln_mem_buffer *bufs)
{
    const kiln_graph *g = plan->graph;
    for (int i = 0; i < g->n_nodes; i++) {
        const kiln_node *n = &g->nodes[plan->order[i]];
        int k = kiln_op_inplace_input(n), alias = k < 0;
        if (alias)
            k = kiln_op_alias_input(n);
        if (k < 0 || k >= n->n_inputs)
            continue;
        int src = n->inputs[k], dst = n->outputs[0];
        if (src < 0 || dst < 0 || buf_of[src] < 0 || buf_of[dst] < 0 || plan->last_use[src] != i)
            continue;
        const kiln_value *vs = &shapes->values[src], *vd = &shapes->values[dst];
        if (alias ? !same_bytes(vs->dtype, vs->rank, vs->dims, vd->dtype, vd->rank, vd->dims) : !same_layout(vs, vd))
            continue;
        bufs[buf_of[dst]].reuse = buf_of[src];
        lay->slots[dst].inplace_input = k;
    }
}

static void fill_slots(const kiln_plan *plan, kiln_arena_layout *lay, const int *buf_of, const kiln_mem_buffer *bufs)
{
    for (int v = 0; v < plan->graph->n_values; v++) {
        kiln_value_slot *s = &lay->slots[v];
        const kiln_mem_buffer *b = buf_of[v] >= 0 ? &bufs[buf_of[v]] : NULL;
        s->in_arena = b != NULL;
        s->offset = b ? b->offset : 0;
        s->bytes = b ? b->bytes : 0;
        if (!b || b->shares < 0)
            s->inplace_input = -1;
    }
}

static kiln_status pool_create(kiln_arena_layout *lay)
{
    struct kiln_arena_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    if (pthread_mutex_init(&pool->lock, NULL) != 0) {
        free(pool);
        return kiln_error(KILN_ERR_INTERNAL, "plan: cannot create the arena pool's lock");
    }
    lay->pool = pool;
    return KILN_OK;
}

/* Lays out `lay` for the value shapes of `shapes` (plan->graph or a copy). */
static kiln_status plan_layout(const kiln_plan *plan, const kiln_graph *shapes, kiln_arena_layout *lay)
{
    const kiln_graph *g = plan->graph;
    size_t nv = (size_t)(g->n_values ? g->n_values : 1);
    int *first = malloc(sizeof(int) * nv), *buf_of = malloc(sizeof(int) * nv);
    kiln_mem_buffer *bufs = malloc(sizeof *bufs * nv);
    lay->slots = calloc(nv, sizeof *lay->slots);
    kiln_status st = KILN_OK;
    if (!first || !buf_of || !bufs || !lay->slots)
        st = kiln_error(KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    if (st == KILN_OK) {
        for (int v = 0; v < g->n_values; v++)
            lay->slots[v].inplace_input = -1;
        int nb = collect_buffers(plan, shapes, first, buf_of, bufs);
        offer_inplace(plan, shapes, lay, buf_of, bufs);
        st = kiln_memory_plan(bufs, nb, &lay->naive_bytes, &lay->planned_bytes);
    }
    if (st == KILN_OK) {
        fill_slots(plan, lay, buf_of, bufs);
        if (lay->planned_bytes > 0)
            st = pool_create(lay);
    }
    free(first);
    free(buf_of);
    free(bufs);
    return st;
}

/* Gives c's input bounded by pd the shape at `point`. */
static void set_input_shape(kiln_graph *c, const kiln_profile_dims *pd, kiln_profile_point point)
{
    const int64_t *dims = point == KILN_PROFILE_MIN ? pd->min : point == KILN_PROFILE_OPT ? pd->opt : pd->max;
    kiln_value *v = &c->values[pd->value];
    v->rank = pd->rank;
    memcpy(v->dims, dims, sizeof(int64_t) * (size_t)pd->rank);
}

kiln_status kiln_graph_at_profile(const kiln_graph *g, int profile, kiln_profile_point point, kiln_graph **out)
{
    kiln_eval_hook hook = {kiln_eval_node_cpu, NULL};
    kiln_graph *c = NULL;
    if (profile < 0 || profile >= g->n_profiles || point < KILN_PROFILE_MIN || point > KILN_PROFILE_MAX)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "profile %d does not exist (the graph has %d)", profile,
                          g->n_profiles);
    KILN_TRY(kiln_graph_clone(g, &c));
    const kiln_profile *p = &g->profiles[profile];
    for (int i = 0; i < p->n_inputs; i++)
        set_input_shape(c, &p->inputs[i], point);
    kiln_status st = kiln_graph_infer_shapes(c, &hook, 1);
    if (st != KILN_OK) {
        kiln_graph_free(c);
        const char *names[] = {"min", "opt", "max"};
        return kiln_error_prefix(st, "profile %d at its %s shapes", profile, names[point]);
    }
    *out = c;
    return KILN_OK;
}

/* Layout i: on the graph's own shapes, or on profile i's MAX shapes. */
static kiln_status plan_profile_layout(kiln_plan *plan, int i)
{
    kiln_graph *shapes = NULL;
    if (plan->graph->n_profiles == 0)
        return plan_layout(plan, plan->graph, &plan->layouts[i]);
    KILN_TRY(kiln_graph_at_profile(plan->graph, i, KILN_PROFILE_MAX, &shapes));
    kiln_status st = plan_layout(plan, shapes, &plan->layouts[i]);
    kiln_graph_free(shapes);
    return st;
}

static kiln_status plan_memory(kiln_plan *plan)
{
    int n = plan->graph->n_profiles ? plan->graph->n_profiles : 1;
    plan->layouts = calloc((size_t)n, sizeof *plan->layouts);
    if (!plan->layouts)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    plan->n_layouts = n;
    for (int i = 0; i < n; i++) {
        KILN_TRY(plan_profile_layout(plan, i));
        if (plan->layouts[i].planned_bytes >= plan->planned_bytes) {
            plan->planned_bytes = plan->layouts[i].planned_bytes;
            plan->naive_bytes = plan->layouts[i].naive_bytes;
        }
    }
    plan->slots = plan->layouts[0].slots;
    return KILN_OK;
}

/* ---- run time ----------------------------------------------------------- */

/* One run's arena: the layout and the memory borrowed for it. */
typedef struct run_arena {
    const kiln_arena_layout *layout;
    unsigned char *base; /* NULL when the layout's arena is empty */
} run_arena;

/* A free arena from the layout's pool, or a new one; NULL when it has none. */
static kiln_status arena_take(const kiln_arena_layout *lay, unsigned char **arena)
{
    struct kiln_arena_pool *pool = lay->pool;
    *arena = NULL;
    if (!pool)
        return KILN_OK;
    pthread_mutex_lock(&pool->lock);
    if (pool->n > 0)
        *arena = pool->arenas[--pool->n];
    pthread_mutex_unlock(&pool->lock);
    if (!*arena)
        *arena = aligned_alloc(KILN_MEM_ALIGN, lay->planned_bytes); /* a multiple of the alignment */
    if (!*arena)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "cannot allocate the %zu-byte activation arena", lay->planned_bytes);
    ARENA_POISON(*arena, lay->planned_bytes);
    return KILN_OK;
}

/* Returns an arena to the pool (freed when the pool cannot grow). */
static void arena_give(const kiln_arena_layout *lay, unsigned char *arena)
{
    struct kiln_arena_pool *pool = lay->pool;
    if (!arena)
        return;
    ARENA_UNPOISON(arena, lay->planned_bytes);
    pthread_mutex_lock(&pool->lock);
    if (pool->n == pool->cap) {
        int cap = pool->cap ? pool->cap * 2 : 4;
        void **grown = realloc(pool->arenas, sizeof *grown * (size_t)cap);
        if (grown) {
            pool->arenas = grown;
            pool->cap = cap;
        }
    }
    if (pool->n < pool->cap) {
        pool->arenas[pool->n++] = arena;
        arena = NULL;
    }
    pthread_mutex_unlock(&pool->lock);
    free(arena);
}

/* Own storage for t, poisoned: a kernel that forgets to write an element
 * leaves NaN / all-ones bits that tests catch. */
/* Whether outputs are poisoned (0xff bytes: NaN in floats) before their
 * kernel runs, so that a kernel leaving part of its output unwritten shows
 * NaNs rather than stale values: KILN_POISON=1 or 0 in the environment, by
 * default on in debug and sanitizer builds (KILN_POISON_DEFAULT) and off in
 * release builds, where it would cost a pass over every activation. */
static int poison_on;
static pthread_once_t poison_once = PTHREAD_ONCE_INIT;

static void read_poison(void)
{
    const char *e = getenv("KILN_POISON");
#ifdef KILN_POISON_DEFAULT
    poison_on = !e || strcmp(e, "0") != 0;
#else
    poison_on = e && strcmp(e, "0") != 0;
#endif
}

static int poison_outputs(void)
{
    pthread_once(&poison_once, read_poison);
    return poison_on;
}

static kiln_status alloc_poisoned(kiln_tensor *t, size_t max_bytes, const char *what)
{
    KILN_TRY(kiln_tensor_alloc(t, max_bytes, what));
    if (poison_outputs())
        memset(t->data, 0xff, t->nbytes);
    return KILN_OK;
}

static int same_shape(const kiln_tensor *a, const kiln_tensor *b)
{
    return same_dims(a->dtype, a->rank, a->dims, b->dtype, b->rank, b->dims);
}

/* Output k's storage: its arena slot when it has one and the actual size
 * fits, else its own allocation; poisoned either way (where poisoning is
 * on), unless it takes over its input's storage in place (then the input's
 * values must stay). */
static kiln_status place_output(const run_arena *arena, kiln_op_ctx *ctx, int k, const char *what)
{
    kiln_tensor *t = ctx->out[k];
    const kiln_value_slot *s = &arena->layout->slots[ctx->node->outputs[k]];
    int64_t n = 0;
    size_t bytes = 0;
    KILN_TRY(kiln_shape_numel(t->dims, t->rank, &n, what));
    KILN_TRY(kiln_bytes_for(t->dtype, n, ctx->max_bytes, &bytes, what));
    if (!arena->base || !s->in_arena || bytes > s->bytes)
        return alloc_poisoned(t, ctx->max_bytes, what);
    unsigned char *p = arena->base + s->offset;
    int src_k = s->inplace_input;
    const kiln_tensor *src = src_k >= 0 && src_k < ctx->n_in ? ctx->in[src_k] : NULL;
    int shared = src && src->data == p;
    /* the kernel reads the input at the output's indices: shapes must agree
     * (for an alias op, only the bytes) */
    if (shared && (kiln_op_alias_input(ctx->node) == src_k
                       ? !same_bytes(src->dtype, src->rank, src->dims, t->dtype, t->rank, t->dims)
                       : !same_shape(src, t)))
        return alloc_poisoned(t, ctx->max_bytes, what);
    if (t->owns_data)
        free(t->data);
    ARENA_UNPOISON(p, bytes);
    t->data = p;
    t->nbytes = bytes;
    t->owns_data = 0;
    if (!shared && poison_outputs())
        memset(p, 0xff, bytes);
    return KILN_OK;
}

/* Shapes the outputs (already inferred) must have, then their storage;
 * errors name the output, and the caller prefixes the node. */
static kiln_status place_outputs(const run_arena *arena, kiln_op_ctx *ctx)
{
    static const char *const names[] = {"output 0", "output 1", "output 2", "output 3"};
    for (int k = 0; k < ctx->n_out; k++) {
        kiln_tensor *t = ctx->out[k];
        if (!t)
            continue;
        if (t->rank < 0 || kiln_tensor_numel(t) < 0)
            return kiln_error(KILN_ERR_INTERNAL, "output %d has no known shape after inference", k);
        if (!kiln_dtype_valid(t->dtype))
            return kiln_error(KILN_ERR_UNSUPPORTED, "output %d has unsupported dtype %s", k,
                              kiln_dtype_name(t->dtype) ? kiln_dtype_name(t->dtype) : "(invalid)");
        char what[32];
        if (k < (int)(sizeof names / sizeof *names))
            KILN_TRY(place_output(arena, ctx, k, names[k]));
        else {
            snprintf(what, sizeof what, "output %d", k);
            KILN_TRY(place_output(arena, ctx, k, what));
        }
    }
    return KILN_OK;
}

kiln_status kiln_eval_node_cpu(void *user, kiln_op_ctx *ctx)
{
    (void)user;
    kiln_cpu_kernel_fn fn = kiln_cpu_find_kernel(ctx->node->op_type);
    if (!fn)
        return kiln_error(KILN_ERR_UNSUPPORTED, "no CPU kernel for %s", ctx->node->op_type);
    return fn(ctx);
}

/* Releases value v; its arena storage is poisoned for AddressSanitizer
 * unless an output of the node that just ran took it over in place. */
static void release(const run_arena *arena, kiln_tensor *vals, const kiln_op_ctx *ctx, int v)
{
    kiln_tensor *t = &vals[v];
    int taken = 0;
    for (int k = 0; k < ctx->n_out; k++)
        taken |= ctx->out[k] && ctx->out[k] != t && ctx->out[k]->data == t->data;
    if (arena->layout->slots[v].in_arena && !t->owns_data && t->data && !taken)
        ARENA_POISON(t->data, t->nbytes);
    kiln_tensor_clear(t);
}

/* Releases intermediates read for the last time at step i, and outputs
 * nobody reads. */
static void release_dead(const kiln_plan *plan, const run_arena *arena, kiln_tensor *vals, const kiln_op_ctx *ctx,
                         int i)
{
    const kiln_graph *g = plan->graph;
    const kiln_node *n = ctx->node;
    for (int k = 0; k < ctx->n_in; k++) {
        int v = n->inputs[k];
        if (v >= 0 && plan->last_use[v] == i && g->values[v].producer >= 0 && !g->values[v].is_graph_output)
            release(arena, vals, ctx, v);
    }
    for (int k = 0; k < ctx->n_out; k++) {
        int v = n->outputs[k];
        if (v >= 0 && plan->last_use[v] < 0 && !g->values[v].is_graph_output)
            release(arena, vals, ctx, v);
    }
}

static kiln_status run_node(const kiln_plan *plan, kiln_tensor *vals, const run_arena *arena, int i,
                            const kiln_tactic *const *tactics, const kiln_run_observer *observer)
{
    const kiln_graph *g = plan->graph;
    int node = plan->order[i];
    kiln_tensor *in[MAX_NODE_IO], *out[MAX_NODE_IO];
    char label[256];
    kiln_op_ctx ctx;
    kiln_node_ctx(g, node, vals, in, out, plan->max_bytes, &ctx);
    for (int k = 0; k < ctx.n_in; k++)
        if (in[k] && !in[k]->data)
            return kiln_error(KILN_ERR_INTERNAL, "node %s: input %d was not computed",
                              kiln_node_label(g, node, label, sizeof label), k);
    KILN_TRY(kiln_node_infer(&ctx));
    kiln_status st = place_outputs(arena, &ctx);
    const kiln_tactic *tactic = tactics ? tactics[node] : NULL;
    if (st == KILN_OK)
        st = tactic && tactic->supports(&ctx) ? kiln_tactic_exec(tactic, &ctx)
                                              : plan->backend.iface->run(plan->backend.ctx, plan->state[node], &ctx);
    if (st != KILN_OK)
        return kiln_error_prefix(st, "node %s", kiln_node_label(g, node, label, sizeof label));
    if (observer)
        KILN_TRY(observer->after_node(observer->user, g, node, out, ctx.n_out));
    release_dead(plan, arena, vals, &ctx, i);
    return KILN_OK;
}

kiln_status kiln_plan_run_profile(const kiln_plan *plan, int profile, kiln_tensor *vals,
                                  const kiln_run_observer *observer)
{
    const kiln_graph *g = plan->graph;
    if (profile >= plan->n_layouts)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "profile %d does not exist (the plan has %d)", profile,
                          g->n_profiles);
    run_arena arena = {&plan->layouts[profile > 0 ? profile : 0], NULL};
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].constant) {
            vals[v] = *g->values[v].constant;
            vals[v].owns_data = 0;
        }
    KILN_TRY(arena_take(arena.layout, &arena.base));
    kiln_status st = KILN_OK;
    const kiln_tactic *const *tactics =
        plan->tactics ? plan->tactics + (size_t)(profile > 0 ? profile : 0) * (size_t)g->n_nodes : NULL;
    for (int i = 0; i < g->n_nodes && st == KILN_OK; i++)
        st = run_node(plan, vals, &arena, i, tactics, observer);
    /* after a failure some arena views are still bound: none may outlive the run */
    for (int v = 0; v < g->n_values; v++)
        if (arena.layout->slots[v].in_arena && !vals[v].owns_data)
            kiln_tensor_clear(&vals[v]);
    arena_give(arena.layout, arena.base);
    return st;
}

kiln_status kiln_plan_run(const kiln_plan *plan, kiln_tensor *vals, const kiln_run_observer *observer)
{
    return kiln_plan_run_profile(plan, -1, vals, observer);
}
