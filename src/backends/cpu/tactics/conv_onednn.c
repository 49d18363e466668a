/*
 * conv_onednn.c - the oneDNN (libdnnl 2.x, C API) tactic of Conv and
 * FusedConv: float32 2-D convolutions of any group count, stride, dilation
 * and padding.
 *
 * Layouts: Conv and FusedConv keep activations NCHW at the tactic's
 * boundary. Their primitive is created with format_tag_any for source and
 * destination, so oneDNN picks its fast blocked layout (nChw16c on
 * AVX-512); the input is reordered into it in the workspace and the result
 * back to NCHW, each step skipped where oneDNN chose plain NCHW. NhwcConv
 * (the channels-last layout pass's) is created on NHWC source and
 * destination as they are: no reorder at all. Weights (OIHW, or NhwcConv's
 * [KH, KW, C/group, M]) are reordered once into the primitive's layout and
 * kept.
 *
 * Epilogue: FusedConv's residual becomes a `sum` post-op (the residual is
 * first written into the destination) and its activation an eltwise
 * post-op; an activation with no oneDNN counterpart leaves both to kiln's
 * own epilogue after the convolution.
 *
 * State: tactics get no per-node state, so a process-wide cache (one mutex)
 * keeps each primitive, keyed by geometry, epilogue and thread count, and
 * under it the reordered weights, keyed by the weight buffer's address plus
 * a fingerprint of sampled values (weights rewritten in place are caught by
 * the fingerprint); whoever frees weights calls kiln_ct_onednn_forget
 * (through kiln_tactics_forget) first, so a reused address never finds a
 * stale copy. Primitives live until the
 * library unloads; reordered weights no run is using are dropped, least
 * recently used first, beyond WEIGHT_CACHE_BYTES.
 *
 * Threads: oneDNN's Debian build runs on OpenMP, and so does kiln's pool
 * where kiln is built with oneDNN (thread_pool.h): each run sets the
 * calling thread's OpenMP thread count to the pool's, and the team that
 * runs kiln's loops runs the primitive. With KILN_THREAD_POOL=pthreads
 * kiln's own workers run its loops, and oneDNN gets the pool's thread count
 * only where the environment sets OMP_WAIT_POLICY or GOMP_SPINCOUNT:
 * libgomp's idle workers otherwise spin for milliseconds after every
 * parallel region, on the cores kiln's workers need for the next layer
 * (measured on 2 cores: mean inference 3-10x slower than with
 * OMP_WAIT_POLICY=passive), and the policy cannot be changed once libgomp
 * has started. Without either variable oneDNN then runs on the calling
 * thread alone, and the autotuner times it as it will run.
 */
#include "backends/cpu/tactics/conv_tactics.h"

#ifdef KILN_HAVE_ONEDNN

#include "backends/cpu/tactics/conv_nhwc.h"

#include <dnnl.h>
#include <dnnl_debug.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/epilogue.h"
#include "backends/cpu/ops/fused_internal.h"
#include "core/thread_pool.h"
#include "ir/infer/infer_util.h"

/* libgomp's, the runtime oneDNN threads with; declared here so that kiln
 * needs no -fopenmp. */
void omp_set_num_threads(int n);
int omp_get_max_threads(void);

#define ALIGN 64
#define WEIGHT_CACHE_BYTES ((size_t)1 << 30)
#define FINGERPRINT_SAMPLES 256
#define MAX_POST_OPS 2

/* Everything a primitive depends on; all int64 so that memcmp compares. */
typedef struct dn_key {
    int64_t n, c, h, w, m, group;
    int64_t kernel[2], stride[2], dilation[2], pad_begin[2], pad_end[2];
    int64_t nhwc, bias, sum, threads, n_post;
    int64_t alg[MAX_POST_OPS], alpha_bits[MAX_POST_OPS], beta_bits[MAX_POST_OPS];
} dn_key;

typedef struct dn_weights {
    struct dn_weights *next;
    const float *user; /* the node's weights (OIHW, or NhwcConv's HWIO) */
    uint64_t fingerprint;
    float *data; /* in the primitive's layout */
    size_t bytes;
    int refs;
    uint64_t used;
} dn_weights;

typedef struct dn_prim {
    struct dn_prim *next;
    dn_key key;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t conv;
    /* Reorders between the node's layouts and the primitive's; NULL where
     * the primitive takes the node's layout itself. */
    dnnl_primitive_t src_in, dst_in, dst_out, w_in;
    dnnl_memory_desc_t src_user, w_user, b_user, dst_user, src, w, dst, scratch;
    size_t src_bytes, dst_bytes, scratch_bytes;
    dn_weights *weights;
    /* Memory objects of a run (see dn_mems), kept from run to run with
     * their data handles set anew; a run that finds them busy (the same
     * primitive running on another thread) makes its own. */
    atomic_flag busy;
    struct dn_mems *mems;
} dn_prim;

/* The memory objects one run binds: the convolution's arguments and both
 * sides of each reorder; NULL until first bound. */
enum { M_SRC, M_W, M_B, M_DST, M_SCRATCH, M_SRC_FROM, M_SRC_TO, M_Z_FROM, M_Z_TO, M_DST_FROM, M_DST_TO, N_MEMS };
typedef struct dn_mems {
    dnnl_memory_t m[N_MEMS];
} dn_mems;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static dnnl_engine_t engine;
static dn_prim *prims;
static size_t weight_bytes;
static uint64_t use_clock;

static pthread_once_t policy_once = PTHREAD_ONCE_INIT;
static bool omp_policy_set;

static void read_policy(void)
{
    omp_policy_set = getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT");
}

/* The OpenMP threads oneDNN may use (see the top of the file). */
static int64_t onednn_threads(void)
{
    pthread_once(&policy_once, read_policy);
    return omp_policy_set || kiln_thread_pool_openmp() ? kiln_thread_pool_threads() : 1;
}

static kiln_status dn_check(dnnl_status_t s, const char *what)
{
    if (s == dnnl_success)
        return KILN_OK;
    return kiln_error(s == dnnl_out_of_memory ? KILN_ERR_OUT_OF_MEMORY : KILN_ERR_INTERNAL,
                      "conv_onednn: %s failed: %s", what, dnnl_status2str(s));
}

#define DN_TRY(call) KILN_TRY(dn_check((call), #call))

static size_t align_up(size_t n)
{
    return (n + ALIGN - 1) / ALIGN * ALIGN;
}

static int64_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (int64_t)u;
}

static float bits_float(int64_t b)
{
    uint32_t u = (uint32_t)b;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void add_post_op(dn_key *k, dnnl_alg_kind_t alg, float alpha, float beta)
{
    k->alg[k->n_post] = alg;
    k->alpha_bits[k->n_post] = float_bits(alpha);
    k->beta_bits[k->n_post] = float_bits(beta);
    k->n_post++;
}

/* The eltwise post-ops of e; false when oneDNN has no counterpart. */
static bool map_activation(const kiln_epilogue *e, dn_key *k)
{
    switch (e->kind) {
    case KILN_ACT_NONE:
        return true;
    case KILN_ACT_RELU:
        add_post_op(k, dnnl_eltwise_relu, 0, 0);
        return true;
    case KILN_ACT_LEAKY_RELU:
        add_post_op(k, dnnl_eltwise_relu, e->alpha, 0);
        return true;
    case KILN_ACT_CLIP:
        add_post_op(k, dnnl_eltwise_clip, e->alpha, e->beta);
        return true;
    case KILN_ACT_SIGMOID:
        add_post_op(k, dnnl_eltwise_logistic, 0, 0);
        return true;
    case KILN_ACT_HARD_SWISH:
        add_post_op(k, dnnl_eltwise_hardswish, 0, 0);
        return true;
    case KILN_ACT_TANH:
        add_post_op(k, dnnl_eltwise_tanh, 0, 0);
        return true;
    case KILN_ACT_GELU:
        add_post_op(k, dnnl_eltwise_gelu_erf, 0, 0);
        return true;
    case KILN_ACT_GELU_TANH:
        add_post_op(k, dnnl_eltwise_gelu_tanh, 0, 0);
        return true;
    case KILN_ACT_SWISH:
        add_post_op(k, dnnl_eltwise_swish, 1, 0);
        return true;
    case KILN_ACT_HARD_SIGMOID:
        /* max(0, min(1, alpha x + beta)): oneDNN 2.6 has no hardsigmoid */
        add_post_op(k, dnnl_eltwise_linear, e->alpha, e->beta);
        add_post_op(k, dnnl_eltwise_clip, 0, 1);
        return true;
    }
    return false;
}

/* Reads the node into c and k; *mapped says whether the FusedConv epilogue
 * became post-ops (otherwise kiln's epilogue runs after). */
static kiln_status read_node(const kiln_op_ctx *ctx, int data, kiln_ct_conv *c, dn_key *k, bool *mapped)
{
    int nhwc = strcmp(ctx->node->op_type, "NhwcConv") == 0;
    KILN_TRY(nhwc ? kiln_ct_read_nhwc(ctx, data, c) : kiln_ct_read(ctx, data, c));
    memset(k, 0, sizeof *k);
    k->nhwc = nhwc;
    k->n = c->batch;
    k->c = c->channels;
    k->h = c->win.in[0];
    k->w = c->win.in[1];
    k->m = c->filters;
    k->group = c->group;
    for (int i = 0; i < 2; i++) {
        k->kernel[i] = c->win.kernel[i];
        k->stride[i] = c->win.stride[i];
        k->dilation[i] = c->win.dilation[i];
        k->pad_begin[i] = c->win.pad_begin[i];
        k->pad_end[i] = c->win.pad_end[i];
        if (k->pad_begin[i] < 0 || k->pad_end[i] < 0 || k->stride[i] < 1 || k->dilation[i] < 1)
            return kiln_error(KILN_ERR_UNSUPPORTED, "conv_onednn: negative padding or non-positive stride");
    }
    k->bias = kiln_opt_in(ctx, 2) != NULL;
    k->threads = onednn_threads();
    *mapped = true;
    if (!nhwc && strcmp(ctx->node->op_type, "FusedConv") != 0)
        return KILN_OK;
    const kiln_tensor *z = kiln_opt_in(ctx, 3);
    if (z && (z->dtype != KILN_FLOAT32 || kiln_tensor_numel(z) != kiln_tensor_numel(ctx->out[0])))
        return kiln_error(KILN_ERR_UNSUPPORTED,
                          "conv_onednn: the residual is not a float32 tensor of the output's size");
    kiln_epilogue e;
    KILN_TRY(kiln_epilogue_from_node(ctx->node, &e));
    k->sum = z != NULL;
    *mapped = map_activation(&e, k);
    if (!*mapped) {
        k->sum = 0;
        k->n_post = 0;
    }
    return KILN_OK;
}

/* Destroys the memory objects m holds (those bound so far). */
static void mems_destroy(dn_mems *m)
{
    for (int i = 0; i < N_MEMS; i++)
        if (m->m[i])
            dnnl_memory_destroy(m->m[i]);
}

static void mems_free(dn_mems *m)
{
    if (m)
        mems_destroy(m);
    free(m);
}

/* Points memory object *slot (made on first use) at ptr with layout md. */
static dnnl_status_t bind(dnnl_memory_t *slot, const dnnl_memory_desc_t *md, const void *ptr)
{
    if (*slot)
        return dnnl_memory_set_data_handle(*slot, (void *)ptr);
    return dnnl_memory_create(slot, md, engine, (void *)ptr);
}

/* This thread's stream on the engine, made on its first run and destroyed
 * when the thread ends. */
static pthread_key_t stream_key;
static pthread_once_t stream_once = PTHREAD_ONCE_INIT;
static bool stream_key_ok;

static void stream_destroy(void *s)
{
    dnnl_stream_destroy(s);
}

static void stream_key_create(void)
{
    stream_key_ok = pthread_key_create(&stream_key, stream_destroy) == 0;
}

static kiln_status thread_stream(dnnl_stream_t *out)
{
    pthread_once(&stream_once, stream_key_create);
    if (!stream_key_ok)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "conv_onednn: cannot make a thread key for streams");
    dnnl_stream_t s = pthread_getspecific(stream_key);
    if (!s) {
        DN_TRY(dnnl_stream_create(&s, engine, dnnl_stream_default_flags));
        if (pthread_setspecific(stream_key, s) != 0) {
            dnnl_stream_destroy(s);
            return kiln_error(KILN_ERR_OUT_OF_MEMORY, "conv_onednn: cannot keep this thread's stream");
        }
    }
    *out = s;
    return KILN_OK;
}

static void prim_free(dn_prim *p)
{
    dnnl_primitive_t *all[] = {&p->conv, &p->src_in, &p->dst_in, &p->dst_out, &p->w_in};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (*all[i])
            dnnl_primitive_destroy(*all[i]);
    if (p->pd)
        dnnl_primitive_desc_destroy(p->pd);
    mems_free(p->mems);
    while (p->weights) {
        dn_weights *w = p->weights;
        p->weights = w->next;
        weight_bytes -= w->bytes;
        free(w->data);
        free(w);
    }
    free(p);
}

/* A reorder from `from` to `to`, or NULL when the two are the same layout. */
static kiln_status make_reorder(const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to, dnnl_primitive_t *out)
{
    dnnl_primitive_desc_t rpd;
    *out = NULL;
    if (dnnl_memory_desc_equal(from, to))
        return KILN_OK;
    DN_TRY(dnnl_reorder_primitive_desc_create(&rpd, from, engine, to, engine, NULL));
    dnnl_status_t s = dnnl_primitive_create(out, rpd);
    dnnl_primitive_desc_destroy(rpd);
    return dn_check(s, "creating a reorder");
}

static kiln_status plain_md(dnnl_memory_desc_t *md, int nd, const int64_t *dims, dnnl_format_tag_t tag)
{
    dnnl_dims_t d;
    for (int i = 0; i < nd; i++)
        d[i] = dims[i];
    return dn_check(dnnl_memory_desc_init_by_tag(md, nd, d, dnnl_f32, tag), "describing a tensor");
}

static kiln_status post_ops_attr(const dn_key *k, dnnl_primitive_attr_t attr)
{
    dnnl_post_ops_t po;
    DN_TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    if (!k->sum && !k->n_post)
        return KILN_OK;
    DN_TRY(dnnl_post_ops_create(&po));
    dnnl_status_t s = k->sum ? dnnl_post_ops_append_sum(po, 1.0f) : dnnl_success;
    for (int64_t i = 0; i < k->n_post && s == dnnl_success; i++)
        s = dnnl_post_ops_append_eltwise(po, 1.0f, (dnnl_alg_kind_t)k->alg[i], bits_float(k->alpha_bits[i]),
                                         bits_float(k->beta_bits[i]));
    if (s == dnnl_success)
        s = dnnl_primitive_attr_set_post_ops(attr, po);
    dnnl_post_ops_destroy(po);
    return dn_check(s, "setting the post-ops");
}

/* NhwcConv's weights [KH, KW, C/group, M] described in oneDNN's logical
 * order, (G,) O, I, H, W. */
static kiln_status hwio_md(const dn_key *k, dnnl_memory_desc_t *md)
{
    int64_t cg = k->c / k->group, mg = k->m / k->group;
    dnnl_dims_t d5 = {k->group, mg, cg, k->kernel[0], k->kernel[1]};
    dnnl_dims_t s5 = {mg, 1, k->m, k->kernel[1] * cg * k->m, cg * k->m};
    int grouped = k->group > 1;
    return dn_check(
        dnnl_memory_desc_init_by_strides(md, grouped ? 5 : 4, grouped ? d5 : d5 + 1, dnnl_f32, grouped ? s5 : s5 + 1),
        "describing the weights");
}

/* The convolution descriptor: user layouts recorded in p; for NCHW any
 * layout for the primitive's source and destination, for NHWC the user's;
 * any layout for the weights. */
static kiln_status conv_desc(const dn_key *k, const int64_t *out_hw, dn_prim *p, dnnl_convolution_desc_t *cd)
{
    int64_t x[4] = {k->n, k->c, k->h, k->w}, y[4] = {k->n, k->m, out_hw[0], out_hw[1]}, b[1] = {k->m};
    int64_t w4[4] = {k->m, k->c / k->group, k->kernel[0], k->kernel[1]};
    int64_t w5[5] = {k->group, k->m / k->group, k->c / k->group, k->kernel[0], k->kernel[1]};
    int grouped = k->group > 1;
    dnnl_format_tag_t act = k->nhwc ? dnnl_nhwc : dnnl_nchw, act_prim = k->nhwc ? dnnl_nhwc : dnnl_format_tag_any;
    dnnl_memory_desc_t src_any, w_any, dst_any;
    KILN_TRY(plain_md(&p->src_user, 4, x, act));
    KILN_TRY(plain_md(&p->dst_user, 4, y, act));
    KILN_TRY(plain_md(&p->b_user, 1, b, dnnl_x));
    if (k->nhwc)
        KILN_TRY(hwio_md(k, &p->w_user));
    else
        KILN_TRY(grouped ? plain_md(&p->w_user, 5, w5, dnnl_goihw) : plain_md(&p->w_user, 4, w4, dnnl_oihw));
    KILN_TRY(plain_md(&src_any, 4, x, act_prim));
    KILN_TRY(plain_md(&dst_any, 4, y, act_prim));
    KILN_TRY(grouped ? plain_md(&w_any, 5, w5, dnnl_format_tag_any) : plain_md(&w_any, 4, w4, dnnl_format_tag_any));
    dnnl_dims_t strides = {k->stride[0], k->stride[1]}, dil = {k->dilation[0] - 1, k->dilation[1] - 1};
    dnnl_dims_t pad_l = {k->pad_begin[0], k->pad_begin[1]}, pad_r = {k->pad_end[0], k->pad_end[1]};
    return dn_check(dnnl_dilated_convolution_forward_desc_init(cd, dnnl_forward_inference, dnnl_convolution_auto,
                                                               &src_any, &w_any, k->bias ? &p->b_user : NULL, &dst_any,
                                                               strides, dil, pad_l, pad_r),
                    "describing the convolution");
}

static kiln_status prim_build(const dn_key *k, const int64_t *out_hw, dn_prim *p)
{
    dnnl_convolution_desc_t cd;
    dnnl_primitive_attr_t attr;
    KILN_TRY(conv_desc(k, out_hw, p, &cd));
    DN_TRY(dnnl_primitive_attr_create(&attr));
    kiln_status st = post_ops_attr(k, attr);
    if (st == KILN_OK)
        st = dn_check(dnnl_primitive_desc_create(&p->pd, &cd, attr, engine, NULL), "choosing a convolution");
    dnnl_primitive_attr_destroy(attr);
    KILN_TRY(st);
    p->src = *dnnl_primitive_desc_query_md(p->pd, dnnl_query_src_md, 0);
    p->w = *dnnl_primitive_desc_query_md(p->pd, dnnl_query_weights_md, 0);
    p->dst = *dnnl_primitive_desc_query_md(p->pd, dnnl_query_dst_md, 0);
    p->scratch = *dnnl_primitive_desc_query_md(p->pd, dnnl_query_scratchpad_md, 0);
    p->src_bytes = dnnl_memory_desc_get_size(&p->src);
    p->dst_bytes = dnnl_memory_desc_get_size(&p->dst);
    p->scratch_bytes = dnnl_memory_desc_get_size(&p->scratch);
    DN_TRY(dnnl_primitive_create(&p->conv, p->pd));
    KILN_TRY(make_reorder(&p->src_user, &p->src, &p->src_in));
    KILN_TRY(make_reorder(&p->dst_user, &p->dst, &p->dst_in));
    KILN_TRY(make_reorder(&p->dst, &p->dst_user, &p->dst_out));
    return make_reorder(&p->w_user, &p->w, &p->w_in);
}

/* The primitive for k, made on first use; call with cache_lock held. */
static kiln_status prim_get(const dn_key *k, const int64_t *out_hw, dn_prim **out)
{
    for (dn_prim *p = prims; p; p = p->next)
        if (memcmp(&p->key, k, sizeof *k) == 0) {
            *out = p;
            return KILN_OK;
        }
    if (!engine)
        DN_TRY(dnnl_engine_create(&engine, dnnl_cpu, 0));
    dn_prim *p = calloc(1, sizeof *p);
    if (!p)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "conv_onednn: out of memory");
    p->key = *k;
    /* oneDNN sizes its blocking for the thread count it sees at creation */
    omp_set_num_threads((int)k->threads);
    kiln_status st = prim_build(k, out_hw, p);
    if (st != KILN_OK) {
        prim_free(p);
        return st;
    }
    p->next = prims;
    prims = p;
    *out = p;
    return KILN_OK;
}

static uint64_t fingerprint(const float *w, int64_t n)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)n;
    int64_t step = n > FINGERPRINT_SAMPLES ? n / FINGERPRINT_SAMPLES : 1;
    for (int64_t i = 0; i < n; i += step) {
        uint32_t u;
        memcpy(&u, &w[i], sizeof u);
        h = (h ^ u) * 1099511628211ull;
    }
    uint32_t last;
    memcpy(&last, &w[n - 1], sizeof last);
    return (h ^ last) * 1099511628211ull;
}

/* Reorder r from `from` to `to`, through memory objects *a and *b (see bind). */
static kiln_status run_reorder(dnnl_primitive_t r, dnnl_memory_t *a, const dnnl_memory_desc_t *from_md,
                               const void *from, dnnl_memory_t *b, const dnnl_memory_desc_t *to_md, void *to,
                               dnnl_stream_t stream)
{
    dnnl_status_t s = bind(a, from_md, from);
    if (s == dnnl_success)
        s = bind(b, to_md, to);
    if (s == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, *a}, {DNNL_ARG_TO, *b}};
        s = dnnl_primitive_execute(r, stream, 2, args);
    }
    return dn_check(s, "a reorder");
}

/* Drops the least recently used idle weights while over the budget; call
 * with cache_lock held. */
static void weights_trim(void)
{
    while (weight_bytes > WEIGHT_CACHE_BYTES) {
        dn_weights **victim = NULL;
        for (dn_prim *p = prims; p; p = p->next)
            for (dn_weights **w = &p->weights; *w; w = &(*w)->next)
                if ((*w)->refs == 0 && (!victim || (*w)->used < (*victim)->used))
                    victim = w;
        if (!victim)
            return;
        dn_weights *gone = *victim;
        *victim = gone->next;
        weight_bytes -= gone->bytes;
        free(gone->data);
        free(gone);
    }
}

/* Fills (or refreshes) w with c's weights in the primitive's layout. */
static kiln_status weights_fill(dn_prim *p, const kiln_ct_conv *c, uint64_t fp, dn_weights *w)
{
    size_t bytes = align_up(dnnl_memory_desc_get_size(&p->w));
    if (w->bytes != bytes) {
        free(w->data);
        weight_bytes -= w->bytes;
        w->bytes = 0;
        if (!(w->data = aligned_alloc(ALIGN, bytes)))
            return kiln_error(KILN_ERR_OUT_OF_MEMORY, "conv_onednn: cannot allocate %zu bytes of weights", bytes);
        w->bytes = bytes;
        weight_bytes += bytes;
    }
    dnnl_stream_t stream;
    KILN_TRY(thread_stream(&stream));
    dn_mems once = {{NULL}}; /* a reorder made once per weights: its memory objects are not kept */
    kiln_status st =
        run_reorder(p->w_in, &once.m[M_SRC_FROM], &p->w_user, c->w, &once.m[M_SRC_TO], &p->w, w->data, stream);
    if (st == KILN_OK)
        st = dn_check(dnnl_stream_wait(stream), "reordering the weights");
    mems_destroy(&once);
    w->user = c->w;
    w->fingerprint = st == KILN_OK ? fp : 0;
    return st;
}

/* The weights of c in p's layout, with a reference taken (NULL when the
 * primitive takes the node's layout as it is); call with cache_lock held. */
static kiln_status weights_get(dn_prim *p, const kiln_ct_conv *c, dn_weights **out)
{
    *out = NULL;
    if (!p->w_in)
        return KILN_OK;
    uint64_t fp = fingerprint(c->w, c->filters * c->cg * c->win.kernel[0] * c->win.kernel[1]);
    dn_weights *w = p->weights;
    while (w && !(w->user == c->w && (w->fingerprint == fp || w->refs == 0)))
        w = w->next;
    if (!w) {
        if (!(w = calloc(1, sizeof *w)))
            return kiln_error(KILN_ERR_OUT_OF_MEMORY, "conv_onednn: out of memory");
        w->next = p->weights;
        p->weights = w;
    }
    if (w->fingerprint != fp || !w->data)
        KILN_TRY(weights_fill(p, c, fp, w));
    w->refs++;
    w->used = ++use_clock;
    *out = w;
    weights_trim();
    return KILN_OK;
}

/* Drops the reference weights_get took (w may be NULL). */
static void weights_release(dn_weights *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&cache_lock);
    w->refs--;
    pthread_mutex_unlock(&cache_lock);
}

void kiln_ct_onednn_forget(const void *weights)
{
    pthread_mutex_lock(&cache_lock);
    for (dn_prim *p = prims; p; p = p->next)
        for (dn_weights **w = &p->weights; *w;) {
            dn_weights *cur = *w;
            if (cur->user != weights) {
                w = &cur->next;
            } else if (cur->refs > 0) {
                cur->fingerprint = 0; /* a run still holds it: refilled on the next use */
                w = &cur->next;
            } else {
                *w = cur->next;
                weight_bytes -= cur->bytes;
                free(cur->data);
                free(cur);
            }
        }
    pthread_mutex_unlock(&cache_lock);
}

bool kiln_ct_onednn_holds(const void *weights)
{
    bool found = false;
    pthread_mutex_lock(&cache_lock);
    for (dn_prim *p = prims; p && !found; p = p->next)
        for (dn_weights *w = p->weights; w && !found; w = w->next)
            found = w->user == weights && w->data && w->fingerprint != 0;
    pthread_mutex_unlock(&cache_lock);
    return found;
}

/* Workspace: the blocked source and destination (where oneDNN chose a
 * blocked layout) and the primitive's scratchpad, each 64-byte aligned. */
static size_t ws_bytes(const dn_prim *p)
{
    return ALIGN + (p->src_in ? align_up(p->src_bytes) : 0) + (p->dst_out ? align_up(p->dst_bytes) : 0) +
           align_up(p->scratch_bytes);
}

/* Looks up (or makes) the primitive of ctx's node, optionally with its
 * weights referenced. */
static kiln_status lookup(const kiln_op_ctx *ctx, int data, kiln_ct_conv *c, bool *mapped, dn_prim **p, dn_weights **w)
{
    dn_key k;
    KILN_TRY(read_node(ctx, data, c, &k, mapped));
    pthread_mutex_lock(&cache_lock);
    kiln_status st = prim_get(&k, c->win.out, p);
    if (st == KILN_OK && w)
        st = weights_get(*p, c, w);
    pthread_mutex_unlock(&cache_lock);
    return st;
}

bool kiln_ct_onednn_supports(const kiln_op_ctx *ctx)
{
    kiln_ct_conv c;
    dn_key k;
    bool mapped;
    return read_node(ctx, 0, &c, &k, &mapped) == KILN_OK && c.batch > 0 && c.channels > 0 && c.filters > 0 &&
           c.win.out[0] > 0 && c.win.out[1] > 0;
}

size_t kiln_ct_onednn_workspace(const kiln_op_ctx *ctx)
{
    kiln_ct_conv c;
    bool mapped;
    dn_prim *p;
    /* a node oneDNN cannot take asks for more than any limit */
    return lookup(ctx, 0, &c, &mapped, &p, NULL) == KILN_OK ? ws_bytes(p) : SIZE_MAX;
}

static void *carve(char **at, size_t bytes)
{
    void *p = *at;
    *at += align_up(bytes);
    return p;
}

/* The primitive on c, in the stream, through the memory objects m: source
 * in, residual in, convolution, destination out. */
static kiln_status execute(const dn_prim *p, const dn_weights *w, const kiln_ct_conv *c, const float *z, void *ws,
                           dnnl_stream_t stream, dn_mems *m)
{
    char *at = (char *)(((uintptr_t)ws + ALIGN - 1) / ALIGN * ALIGN);
    void *src = p->src_in ? carve(&at, p->src_bytes) : (void *)c->x;
    void *dst = p->dst_out ? carve(&at, p->dst_bytes) : c->y;
    void *scratch = carve(&at, p->scratch_bytes);
    if (p->src_in)
        KILN_TRY(run_reorder(p->src_in, &m->m[M_SRC_FROM], &p->src_user, c->x, &m->m[M_SRC_TO], &p->src, src, stream));
    if (z && p->dst_in)
        KILN_TRY(run_reorder(p->dst_in, &m->m[M_Z_FROM], &p->dst_user, z, &m->m[M_Z_TO], &p->dst, dst, stream));
    else if (z && (const float *)dst != z)
        memcpy(dst, z, p->dst_bytes);
    dnnl_exec_arg_t args[5];
    int n = 0;
    const void *ptr[5] = {src, w ? w->data : c->w, c->b, dst, scratch};
    const dnnl_memory_desc_t *md[5] = {&p->src, &p->w, &p->b_user, &p->dst, &p->scratch};
    const int kind[5] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST, DNNL_ARG_SCRATCHPAD};
    const int slot[5] = {M_SRC, M_W, M_B, M_DST, M_SCRATCH};
    dnnl_status_t s = dnnl_success;
    for (int i = 0; i < 5 && s == dnnl_success; i++) {
        if ((i == 2 && !c->b) || (i == 4 && !p->scratch_bytes))
            continue;
        s = bind(&m->m[slot[i]], md[i], ptr[i]);
        args[n++] = (dnnl_exec_arg_t){kind[i], m->m[slot[i]]};
    }
    if (s == dnnl_success)
        s = dnnl_primitive_execute(p->conv, stream, n, args);
    KILN_TRY(dn_check(s, "the convolution"));
    if (p->dst_out)
        KILN_TRY(run_reorder(p->dst_out, &m->m[M_DST_FROM], &p->dst, dst, &m->m[M_DST_TO], &p->dst_user, c->y, stream));
    return dn_check(dnnl_stream_wait(stream), "waiting for the convolution");
}

static kiln_status onednn_run(kiln_op_ctx *ctx, void *ws, int fused)
{
    kiln_ct_conv c;
    bool mapped;
    dn_prim *p;
    dn_weights *w = NULL;
    KILN_TRY(lookup(ctx, 1, &c, &mapped, &p, &w));
    /* the pool's threads, unless another thread's run has them; the OpenMP
     * thread count is per calling thread: set it on each run */
    int threads = p->key.threads > 1 ? kiln_thread_pool_acquire() : 1;
    if (threads > (int)p->key.threads)
        threads = (int)p->key.threads;
    if (omp_get_max_threads() != threads)
        omp_set_num_threads(threads);
    const kiln_tensor *z = fused && mapped ? kiln_opt_in(ctx, 3) : NULL;
    dnnl_stream_t stream;
    kiln_status st = thread_stream(&stream);
    if (st == KILN_OK) {
        /* the primitive's kept memory objects, or this run's own while another thread has them */
        bool held = !atomic_flag_test_and_set(&p->busy);
        if (held && !p->mems)
            p->mems = calloc(1, sizeof *p->mems); /* only the holder touches p->mems */
        dn_mems local = {{NULL}}, *m = held && p->mems ? p->mems : &local;
        st = execute(p, w, &c, z ? z->data : NULL, ws, stream, m);
        if (m == &local)
            mems_destroy(&local);
        if (held)
            atomic_flag_clear(&p->busy);
    }
    if (threads > 1)
        kiln_thread_pool_release();
    weights_release(w);
    if (st != KILN_OK || !fused || mapped)
        return st;
    return kiln_fused_epilogue(ctx, kiln_opt_in(ctx, 3), kiln_tensor_numel(ctx->out[0]));
}

kiln_status kiln_ct_onednn_prepare(const kiln_op_ctx *ctx)
{
    kiln_ct_conv c;
    bool mapped;
    dn_prim *p;
    dn_weights *w = NULL;
    const kiln_tensor *weights = kiln_opt_in(ctx, 1);
    /* weights that are not constants (a graph input) are only known at run time: the primitive alone */
    KILN_TRY(lookup(ctx, 1, &c, &mapped, &p, weights && weights->data ? &w : NULL));
    weights_release(w);
    return KILN_OK;
}

kiln_status kiln_ct_onednn_conv(kiln_op_ctx *ctx, void *workspace)
{
    return onednn_run(ctx, workspace, 0);
}

kiln_status kiln_ct_onednn_fused(kiln_op_ctx *ctx, void *workspace)
{
    return onednn_run(ctx, workspace, 1);
}

kiln_status kiln_ct_onednn_nhwc(kiln_op_ctx *ctx, void *workspace)
{
    return onednn_run(ctx, workspace, 1);
}

/* Frees the cache when the library is unloaded or the process exits
 * (before libdnnl's own teardown, which runs after its users'). */
__attribute__((destructor)) static void onednn_cache_free(void)
{
    pthread_mutex_lock(&cache_lock);
    while (prims) {
        dn_prim *p = prims;
        prims = p->next;
        prim_free(p);
    }
    if (engine)
        dnnl_engine_destroy(engine);
    engine = NULL;
    pthread_mutex_unlock(&cache_lock);
}

#else

bool kiln_ct_onednn_holds(const void *weights)
{
    (void)weights;
    return false; /* no oneDNN: nothing is ever reordered */
}

#endif
