/*
 * test_memory_plan.c - the activation memory planner: a property test over
 * thousands of random buffer sets (no two buffers alive at one step overlap,
 * offsets aligned, planned <= naive, never below the live-bytes lower
 * bound), in-place reuse rules, the executor running small graphs from
 * the arena (in-place chains, mixed static and dynamic shapes, several
 * threads on one plan), and kiln_engine_memory.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "ir/graph.h"
#include "ir/shape_infer.h"
#include "runtime/executor.h"
#include "runtime/memory_plan.h"
#include "test_util.h"

#define AL KILN_MEM_ALIGN

/* ---- random buffer sets --------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int rnd_int(int n)
{
    return (int)(rnd() % (uint64_t)n);
}

static size_t aligned(size_t b)
{
    return (b + AL - 1) / AL * AL;
}

static size_t random_size(void)
{
    switch (rnd_int(8)) {
    case 0:
        return 0;
    case 1:
        return 1 + (size_t)rnd_int(100);
    case 2:
        return (size_t)1 << (6 + rnd_int(20));
    case 3:
        return AL * (size_t)(1 + rnd_int(8));
    default:
        return 1 + (size_t)rnd_int(1 << 16);
    }
}

/* n buffers over `steps` steps; some are built to take over an earlier
 * buffer in place, some name an arbitrary (often unacceptable) one. */
static void random_buffers(kiln_mem_buffer *b, int n, int steps)
{
    for (int i = 0; i < n; i++) {
        b[i].first = rnd_int(steps);
        b[i].last = b[i].first + (rnd_int(3) ? rnd_int(4) : rnd_int(steps));
        b[i].bytes = random_size();
        b[i].reuse = -1;
        b[i].shares = 7;
        b[i].offset = 12345;
        if (i > 0 && rnd_int(4) == 0) {
            int j = rnd_int(i);
            b[i].reuse = j;
            if (rnd_int(3)) { /* make it acceptable, unless j is claimed twice */
                b[i].first = b[j].last + (b[j].last == b[j].first);
                b[j].last = b[i].first;
                b[i].last = b[i].first + rnd_int(4);
                b[i].bytes = b[j].bytes;
            }
        }
    }
}

static int alive_together(const kiln_mem_buffer *x, const kiln_mem_buffer *y)
{
    return x->first <= y->last && y->first <= x->last;
}

static int overlap(const kiln_mem_buffer *x, const kiln_mem_buffer *y)
{
    return x->bytes && y->bytes && x->offset < y->offset + y->bytes && y->offset < x->offset + x->bytes;
}

static int reuse_acceptable(const kiln_mem_buffer *b, int i, int j)
{
    return j >= 0 && b[j].last == b[i].first && b[j].first < b[i].first && b[j].bytes == b[i].bytes;
}

/* Bytes alive at the busiest step, a pair sharing storage counted once. */
static size_t lower_bound(const kiln_mem_buffer *b, int n)
{
    size_t best = 0;
    int end = 0;
    for (int i = 0; i < n; i++)
        end = b[i].last > end ? b[i].last : end;
    for (int s = 0; s <= end; s++) {
        size_t live = 0;
        for (int i = 0; i < n; i++)
            if (b[i].first <= s && s <= b[i].last && !(b[i].shares >= 0 && b[i].first == s))
                live += aligned(b[i].bytes);
        best = live > best ? live : best;
    }
    return best;
}

/* Every property of one planned set; returns the number of violations. */
static int check_plan(const kiln_mem_buffer *b, int n, size_t naive, size_t planned)
{
    int bad = 0;
    size_t sum = 0;
    for (int i = 0; i < n; i++) {
        sum += aligned(b[i].bytes);
        bad += b[i].offset % AL != 0;
        bad += b[i].offset + aligned(b[i].bytes) > planned;
        int j = b[i].shares;
        if (j >= 0)
            bad += j != b[i].reuse || !reuse_acceptable(b, i, j) || b[j].offset != b[i].offset;
        int claimed = 0;
        for (int k = 0; k < n; k++)
            claimed += b[k].shares == i;
        bad += claimed > 1;
        /* an acceptable offer is only refused when another buffer took the storage */
        if (j < 0 && reuse_acceptable(b, i, b[i].reuse)) {
            int other = 0;
            for (int k = 0; k < n; k++)
                other |= k != i && b[k].shares == b[i].reuse;
            bad += !other;
        }
        for (int k = i + 1; k < n; k++)
            if (alive_together(&b[i], &b[k]) && overlap(&b[i], &b[k]) && b[i].shares != k && b[k].shares != i)
                bad++;
    }
    bad += sum != naive || planned > naive || planned % AL != 0;
    return bad;
}

static void property_run(uint64_t seed, int cases, double *ratio_sum, int *ratio_n)
{
    kiln_mem_buffer b[80];
    int bad_cases = 0;
    rng_state = seed;
    for (int c = 0; c < cases; c++) {
        int n = rnd_int(80), steps = 1 + rnd_int(40);
        size_t naive = 1, planned = 1;
        random_buffers(b, n, steps);
        if (kiln_memory_plan(b, n, &naive, &planned) != KILN_OK) {
            bad_cases++;
            continue;
        }
        int bad = check_plan(b, n, naive, planned);
        size_t lb = lower_bound(b, n);
        bad += planned < lb;
        if (bad) {
            bad_cases++;
            fprintf(stderr, "seed %llu case %d: %d violations\n", (unsigned long long)seed, c, bad);
        }
        if (lb > 0) {
            *ratio_sum += (double)planned / (double)lb;
            (*ratio_n)++;
        }
    }
    CHECK(bad_cases == 0);
}

static void test_random_plans(void)
{
    uint64_t seeds[] = {1, 2, 3, 42, 20240601, 0xdeadbeef, (uint64_t)time(NULL)};
    int n_seeds = (int)(sizeof seeds / sizeof seeds[0]);
    double ratio = 0;
    int ratio_n = 0;
    printf("property test seeds:");
    for (int s = 0; s < n_seeds; s++)
        printf(" %llu", (unsigned long long)seeds[s]);
    printf("\n");
    for (int s = 0; s < n_seeds; s++)
        property_run(seeds[s], 1000, &ratio, &ratio_n);
    printf("%d random sets: planned / live-bytes lower bound = %.3f on average\n", ratio_n,
           ratio_n ? ratio / ratio_n : 0.0);
}

/* ---- fixed cases ------------------------------------------------------------ */

static kiln_mem_buffer buf(size_t bytes, int first, int last, int reuse)
{
    return (kiln_mem_buffer){.bytes = bytes, .first = first, .last = last, .reuse = reuse, .shares = -1};
}

static void test_fixed_plans(void)
{
    size_t naive = 1, planned = 1;
    CHECK(kiln_memory_plan(NULL, 0, &naive, &planned) == KILN_OK);
    CHECK(naive == 0 && planned == 0);

    /* a CNN-like chain: each activation alive from its producer to its reader */
    kiln_mem_buffer chain[] = {buf(4 * AL, 0, 1, -1), buf(AL, 1, 2, -1), buf(4 * AL, 2, 3, -1), buf(AL, 3, 4, -1),
                               buf(4 * AL, 4, 5, -1)};
    CHECK(kiln_memory_plan(chain, 5, &naive, &planned) == KILN_OK);
    CHECK(naive == 14 * AL);
    CHECK(planned == 5 * AL);
    CHECK(chain[0].offset == chain[2].offset && chain[2].offset == chain[4].offset);

    /* best fit: at step 5 the free gaps are 3 and 1 alignment units long; the last
     * buffer takes the smaller one */
    kiln_mem_buffer gaps[] = {buf(5 * AL, 6, 6, -1), buf(3 * AL, 4, 4, -1), buf(AL, 4, 5, -1), buf(AL, 5, 6, -1),
                              buf(AL, 5, 5, -1)};
    CHECK(kiln_memory_plan(gaps, 5, &naive, &planned) == KILN_OK);
    CHECK(check_plan(gaps, 5, naive, planned) == 0);
    CHECK(gaps[2].offset == 3 * AL && gaps[3].offset == 5 * AL);
    CHECK(gaps[4].offset == 4 * AL);
    CHECK(planned == 6 * AL);

    /* odd sizes are aligned; zero-size buffers take no room */
    kiln_mem_buffer odd[] = {buf(1, 0, 3, -1), buf(65, 0, 3, -1), buf(0, 0, 3, -1)};
    CHECK(kiln_memory_plan(odd, 3, &naive, &planned) == KILN_OK);
    CHECK(naive == 3 * AL && planned == 3 * AL);
    CHECK(odd[0].offset % AL == 0 && odd[1].offset % AL == 0 && !overlap(&odd[0], &odd[1]));
}

static void test_inplace(void)
{
    size_t naive = 0, planned = 0;
    /* Relu -> Exp -> Sigmoid over one activation: one buffer */
    kiln_mem_buffer chain[] = {buf(1000, 0, 1, -1), buf(1000, 1, 2, 0), buf(1000, 2, 3, 1)};
    CHECK(kiln_memory_plan(chain, 3, &naive, &planned) == KILN_OK);
    CHECK(chain[1].shares == 0 && chain[2].shares == 1);
    CHECK(chain[0].offset == chain[1].offset && chain[1].offset == chain[2].offset);
    CHECK(naive == 3 * aligned(1000) && planned == aligned(1000));

    /* refused: the input is read later; sizes differ; written at the same step */
    kiln_mem_buffer later[] = {buf(256, 0, 2, -1), buf(256, 1, 2, 0)};
    CHECK(kiln_memory_plan(later, 2, &naive, &planned) == KILN_OK);
    CHECK(later[1].shares == -1 && !overlap(&later[0], &later[1]) && planned == 512);
    kiln_mem_buffer sizes[] = {buf(256, 0, 1, -1), buf(128, 1, 2, 0)};
    CHECK(kiln_memory_plan(sizes, 2, &naive, &planned) == KILN_OK);
    CHECK(sizes[1].shares == -1 && planned == 384);
    kiln_mem_buffer same_step[] = {buf(256, 1, 1, -1), buf(256, 1, 2, 0)};
    CHECK(kiln_memory_plan(same_step, 2, &naive, &planned) == KILN_OK);
    CHECK(same_step[1].shares == -1 && planned == 512);

    /* two outputs offered one dying input: only the first takes it */
    kiln_mem_buffer twice[] = {buf(256, 0, 1, -1), buf(256, 1, 3, 0), buf(256, 1, 3, 0)};
    CHECK(kiln_memory_plan(twice, 3, &naive, &planned) == KILN_OK);
    CHECK(twice[1].shares == 0 && twice[2].shares == -1);
    CHECK(check_plan(twice, 3, naive, planned) == 0 && planned == 512);
}

static void test_bad_input(void)
{
    size_t naive = 0, planned = 0;
    kiln_mem_buffer back[] = {buf(64, 3, 2, -1)};
    CHECK_ERR(kiln_memory_plan(back, 1, &naive, &planned), KILN_ERR_INVALID_ARGUMENT, "lifetime [3, 2]");
    kiln_mem_buffer self[] = {buf(64, 0, 2, 0)};
    CHECK_ERR(kiln_memory_plan(self, 1, &naive, &planned), KILN_ERR_INVALID_ARGUMENT, "reuses buffer 0");
    kiln_mem_buffer huge[] = {buf(SIZE_MAX, 0, 1, -1)};
    CHECK_ERR(kiln_memory_plan(huge, 1, &naive, &planned), KILN_ERR_LIMIT, "cannot be aligned");
    kiln_mem_buffer sum[] = {buf(SIZE_MAX / 2, 0, 1, -1), buf(SIZE_MAX / 2, 0, 1, -1)};
    CHECK_ERR(kiln_memory_plan(sum, 2, &naive, &planned), KILN_ERR_LIMIT, "overflows");
}

/* ---- the executor on small graphs -------------------------------------------- */

static int value(kiln_graph *g, const char *name, kiln_dtype dt, int rank, const int64_t *dims)
{
    int id = -1;
    kiln_graph_value(g, name, &id);
    g->values[id].dtype = dt;
    g->values[id].rank = rank;
    for (int d = 0; d < rank; d++)
        g->values[id].dims[d] = dims[d];
    return id;
}

static int node(kiln_graph *g, const char *op, int n_in, const int *in, int out)
{
    int idx = -1;
    kiln_graph_add_node(g, op, "", op, n_in, in, 1, &out, &idx);
    g->values[out].producer = idx;
    g->nodes[idx].opset = 17;
    return idx;
}

static const int64_t dims234[] = {2, 3, 4};

/* x -> Relu -> a -> Exp -> b -> Add(b, x) -> c -> Sigmoid -> d -> Mul(d, d) -> e (output) */
static kiln_graph *inplace_graph(int *vals_out)
{
    kiln_graph *g = NULL;
    kiln_graph_create(&g);
    g->opset = 17;
    int x = value(g, "x", KILN_FLOAT32, 3, dims234), a = value(g, "a", KILN_UNDEFINED, -1, NULL);
    int b = value(g, "b", KILN_UNDEFINED, -1, NULL), c = value(g, "c", KILN_UNDEFINED, -1, NULL);
    int d = value(g, "d", KILN_UNDEFINED, -1, NULL), e = value(g, "e", KILN_UNDEFINED, -1, NULL);
    kiln_graph_add_input(g, x);
    int bx[] = {b, x}, dd[] = {d, d};
    node(g, "Relu", 1, &x, a);
    node(g, "Exp", 1, &a, b);
    node(g, "Add", 2, bx, c);
    node(g, "Sigmoid", 1, &c, d);
    node(g, "Mul", 2, dd, e);
    kiln_graph_add_output(g, e);
    int ids[] = {x, a, b, c, d, e};
    memcpy(vals_out, ids, sizeof ids);
    kiln_eval_hook hook = {kiln_eval_node_cpu, NULL};
    CHECK(kiln_graph_infer_shapes(g, &hook, 1) == KILN_OK);
    return g;
}

static float inplace_ref(float x)
{
    float c = expf(x > 0 ? x : 0) + x, d = 1.0f / (1.0f + expf(-c));
    return d * d;
}

/* Runs the plan on x = i * 0.25 - 3 and compares with the reference. */
static int run_and_compare(const kiln_plan *plan, int x, int e)
{
    float xs[24];
    for (int i = 0; i < 24; i++)
        xs[i] = (float)i * 0.25f - 3.0f;
    kiln_tensor *vals = calloc((size_t)plan->graph->n_values, sizeof *vals);
    if (!vals)
        return 1;
    kiln_tensor_set_shape(&vals[x], KILN_FLOAT32, 3, dims234);
    vals[x].data = xs;
    vals[x].nbytes = sizeof xs;
    int bad = kiln_plan_run(plan, vals, NULL) != KILN_OK || !vals[e].data || !vals[e].owns_data;
    for (int i = 0; !bad && i < 24; i++)
        bad = fabsf(((float *)vals[e].data)[i] - inplace_ref(xs[i])) > 1e-5f;
    for (int v = 0; v < plan->graph->n_values; v++)
        if (v != x)
            kiln_tensor_clear(&vals[v]);
    free(vals);
    return bad;
}

static void test_executor_inplace(void)
{
    int id[6];
    kiln_graph *g = inplace_graph(id);
    kiln_plan plan;
    CHECK(kiln_plan_create(&plan, g, SIZE_MAX) == KILN_OK);
    /* a..d live in the arena, each taking over the previous one; e is an output */
    for (int k = 1; k <= 4; k++)
        CHECK(plan.slots[id[k]].in_arena && plan.slots[id[k]].offset == plan.slots[id[1]].offset);
    CHECK(plan.slots[id[1]].inplace_input == -1);
    for (int k = 2; k <= 4; k++)
        CHECK(plan.slots[id[k]].inplace_input == 0);
    CHECK(!plan.slots[id[0]].in_arena && !plan.slots[id[5]].in_arena);
    CHECK(plan.naive_bytes == 4 * aligned(96) && plan.planned_bytes == aligned(96));
    for (int run = 0; run < 3; run++)
        CHECK(run_and_compare(&plan, id[0], id[5]) == 0);
    kiln_plan_release(&plan);
    kiln_graph_free(g);
}

typedef struct thread_job {
    const kiln_plan *plan;
    int x, e, bad;
} thread_job;

static void *thread_main(void *p)
{
    thread_job *j = p;
    for (int i = 0; i < 50; i++)
        j->bad += run_and_compare(j->plan, j->x, j->e);
    return NULL;
}

static void test_executor_threads(void)
{
    int id[6];
    kiln_graph *g = inplace_graph(id);
    kiln_plan plan;
    CHECK(kiln_plan_create(&plan, g, SIZE_MAX) == KILN_OK);
    pthread_t t[4];
    thread_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (thread_job){&plan, id[0], id[5], 0};
        CHECK(pthread_create(&t[i], NULL, thread_main, &jobs[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK(jobs[i].bad == 0);
    }
    kiln_plan_release(&plan);
    kiln_graph_free(g);
}

/* An input read again later is not overwritten: x -> Relu -> a; Exp(a) -> b;
 * Add(b, a) -> c (output). */
static void test_executor_no_inplace(void)
{
    kiln_graph *g = NULL;
    kiln_graph_create(&g);
    g->opset = 17;
    int x = value(g, "x", KILN_FLOAT32, 3, dims234), a = value(g, "a", KILN_UNDEFINED, -1, NULL);
    int b = value(g, "b", KILN_UNDEFINED, -1, NULL), c = value(g, "c", KILN_UNDEFINED, -1, NULL);
    kiln_graph_add_input(g, x);
    int ba[] = {b, a};
    node(g, "Relu", 1, &x, a);
    node(g, "Exp", 1, &a, b);
    node(g, "Add", 2, ba, c);
    kiln_graph_add_output(g, c);
    kiln_eval_hook hook = {kiln_eval_node_cpu, NULL};
    CHECK(kiln_graph_infer_shapes(g, &hook, 1) == KILN_OK);
    kiln_plan plan;
    CHECK(kiln_plan_create(&plan, g, SIZE_MAX) == KILN_OK);
    CHECK(plan.slots[b].inplace_input == -1 && plan.slots[a].offset != plan.slots[b].offset);
    CHECK(plan.planned_bytes == 2 * aligned(96));
    float xs[24];
    kiln_tensor vals[4] = {{0}};
    for (int i = 0; i < 24; i++)
        xs[i] = (float)i - 12.0f;
    kiln_tensor_set_shape(&vals[x], KILN_FLOAT32, 3, dims234);
    vals[x].data = xs;
    vals[x].nbytes = sizeof xs;
    CHECK(kiln_plan_run(&plan, vals, NULL) == KILN_OK);
    int bad = 0;
    for (int i = 0; i < 24; i++) {
        float r = xs[i] > 0 ? xs[i] : 0;
        bad += fabsf(((float *)vals[c].data)[i] - (expf(r) + r)) > 1e-3f * (1 + expf(r));
    }
    CHECK(bad == 0);
    kiln_tensor_clear(&vals[c]);
    kiln_plan_release(&plan);
    kiln_graph_free(g);
}

/* Mixed plan: Relu's output is static (arena), Reshape to a shape given as an
 * input and everything after it dynamic (allocated per tensor). */
static void test_executor_mixed(void)
{
    kiln_graph *g = NULL;
    kiln_graph_create(&g);
    g->opset = 17;
    int64_t two = 2, d26[] = {2, 6};
    int x = value(g, "x", KILN_FLOAT32, 2, d26), s = value(g, "s", KILN_INT64, 1, &two);
    int a = value(g, "a", KILN_UNDEFINED, -1, NULL), r = value(g, "r", KILN_UNDEFINED, -1, NULL);
    int e = value(g, "e", KILN_UNDEFINED, -1, NULL), y = value(g, "y", KILN_UNDEFINED, -1, NULL);
    kiln_graph_add_input(g, x);
    kiln_graph_add_input(g, s);
    int as[] = {a, s};
    node(g, "Relu", 1, &x, a);
    node(g, "Reshape", 2, as, r);
    node(g, "Exp", 1, &r, e);
    node(g, "Neg", 1, &e, y);
    kiln_graph_add_output(g, y);
    kiln_eval_hook hook = {kiln_eval_node_cpu, NULL};
    CHECK(kiln_graph_infer_shapes(g, &hook, 1) == KILN_OK);
    kiln_plan plan;
    CHECK(kiln_plan_create(&plan, g, SIZE_MAX) == KILN_OK);
    CHECK(plan.slots[a].in_arena && !plan.slots[r].in_arena && !plan.slots[e].in_arena);
    CHECK(plan.planned_bytes == aligned(48));
    float xs[12];
    int64_t shape[2] = {3, 4};
    for (int i = 0; i < 12; i++)
        xs[i] = (float)i - 5.0f;
    for (int run = 0; run < 2; run++) {
        kiln_tensor vals[6] = {{0}};
        kiln_tensor_set_shape(&vals[x], KILN_FLOAT32, 2, d26);
        vals[x].data = xs;
        vals[x].nbytes = sizeof xs;
        kiln_tensor_set_shape(&vals[s], KILN_INT64, 1, &two);
        vals[s].data = shape;
        vals[s].nbytes = sizeof shape;
        CHECK(kiln_plan_run(&plan, vals, NULL) == KILN_OK);
        CHECK(vals[y].rank == 2 && vals[y].dims[0] == 3 && vals[y].dims[1] == 4);
        int bad = 0;
        for (int i = 0; i < 12; i++)
            bad += fabsf(((float *)vals[y].data)[i] + expf(xs[i] > 0 ? xs[i] : 0)) > 1e-3f;
        CHECK(bad == 0);
        kiln_tensor_clear(&vals[y]);
    }
    kiln_plan_release(&plan);
    kiln_graph_free(g);
}

static void test_inplace_ops(void)
{
    kiln_node n = {.op_type = "Relu", .domain = "", .n_inputs = 1, .n_outputs = 1};
    CHECK(kiln_op_inplace_input(&n) == 0);
    n.op_type = "Add";
    n.n_inputs = 2;
    CHECK(kiln_op_inplace_input(&n) == 0);
    n.op_type = "MatMul";
    CHECK(kiln_op_inplace_input(&n) == -1);
    n.op_type = "Relu";
    n.domain = "com.example";
    CHECK(kiln_op_inplace_input(&n) == -1);
}

/* kiln_engine_memory: fixed shapes put every activation in the arena. */
static void test_engine_memory(void)
{
    kiln_network *net = NULL;
    size_t naive = 0, planned = 0, dynamic_naive = 0;
    CHECK(kiln_network_from_file(KILN_SOURCE_DIR "/models/sample_cnn.onnx", &net) == KILN_OK);
    for (int fixed = 0; net && fixed < 2; fixed++) {
        kiln_builder_config *cfg = NULL;
        kiln_engine *engine = NULL;
        int64_t dims[] = {2, 3, 64, 64};
        CHECK(kiln_builder_config_create(&cfg) == KILN_OK);
        if (fixed)
            CHECK(kiln_builder_config_set_input_shape(cfg, "input", 4, dims) == KILN_OK);
        CHECK(kiln_engine_build(net, cfg, &engine) == KILN_OK);
        CHECK(kiln_engine_memory(engine, &naive, &planned) == KILN_OK);
        /* with a symbolic batch only the small shape tensors have fixed sizes */
        CHECK(fixed ? planned > 0 && planned < naive && naive > dynamic_naive : planned <= naive);
        dynamic_naive = fixed ? dynamic_naive : naive;
        CHECK_ERR(kiln_engine_memory(engine, NULL, &planned), KILN_ERR_INVALID_ARGUMENT, "naive_bytes");
        kiln_engine_free(engine);
        kiln_builder_config_free(cfg);
    }
    CHECK_ERR(kiln_engine_memory(NULL, &naive, &planned), KILN_ERR_INVALID_ARGUMENT, "engine");
    kiln_network_free(net);
}

int main(void)
{
    test_random_plans();
    test_fixed_plans();
    test_inplace();
    test_bad_input();
    test_inplace_ops();
    test_executor_inplace();
    test_executor_no_inplace();
    test_executor_mixed();
    test_executor_threads();
    test_engine_memory();
    return test_summary();
}
