/*
 * recurrent_impl.h - the RNN / GRU / LSTM cell loop in one compute type.
 * Not a normal header: recurrent_f32.c and recurrent_f64.c each include it
 * once, after defining
 *   RNN_T      the compute type (float or double)
 *   RNN_DTYPE  its kiln_dtype
 *   RNN_GEMM   cblas_sgemm or cblas_dgemm
 *   RNN_GEMV   cblas_sgemv or cblas_dgemv
 *   RNN_TANH   the tanh function to use
 *   RNN_ENTRY  the name of the driver it defines (see recurrent_internal.h)
 *
 * Per direction, one GEMM projects every time step of X onto W^T at once
 * (the biases are folded in), then each step adds H_{t-1} R^T with a GEMM
 * over the whole batch and applies the op's gate math row by row. The
 * driver (directions, sequence_lens, layouts, outputs) is shared by the
 * three ops; only the step functions differ.
 *
 * With sequence_lens, batch row b is active for the first len_b steps; at
 * step s it reads time s (forward) or len_b - 1 - s (reverse), so a reverse
 * pass starts at the row's own last step. Y is 0 past len_b; Y_h and Y_c
 * hold the state after the row's last step (0 when len_b is 0, as in
 * onnxruntime).
 */
#include <cblas.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <tgmath.h>

typedef RNN_T real;

/* Buffers of one evaluation, reused by both directions. */
typedef struct rnn_work {
    real *xw;    /* [seq * batch, G*H]: X W^T + folded bias, rows in X's order */
    real *gates; /* [batch, G*H]: the current step's pre-activations */
    real *h;     /* [batch, H]: hidden state */
    real *c;     /* [batch, H]: cell state (LSTM) */
    real *aux;   /* [batch, H]: GRU's r (.) H_{t-1}, or H_{t-1} Rh^T */
    real *bias;  /* [G*H]: the biases folded into xw */
    real *rbh;   /* [H]: GRU's Rbh, kept apart with linear_before_reset */
    int64_t *t;  /* [batch]: each row's time index at this step, -1 when done */
} rnn_work;

/* The weights and activations of one direction. */
typedef struct rnn_dir {
    int index, reverse;
    const real *w, *r, *b, *peep;
    const kiln_rnn_act *acts;
} rnn_dir;

/* ---- buffers ---------------------------------------------------------- */

static kiln_status alloc_real(int64_t n, size_t max_bytes, real **out)
{
    size_t bytes = 0;
    *out = NULL;
    KILN_TRY(kiln_bytes_for(RNN_DTYPE, n, max_bytes, &bytes, "recurrent work buffer"));
    *out = calloc(bytes ? bytes : 1, 1);
    if (!*out)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes for a recurrent work buffer", bytes);
    return KILN_OK;
}

static void work_free(rnn_work *w)
{
    free(w->xw);
    free(w->gates);
    free(w->h);
    free(w->c);
    free(w->aux);
    free(w->bias);
    free(w->rbh);
    free(w->t);
}

static kiln_status work_alloc(const kiln_rnn_job *job, rnn_work *w)
{
    const kiln_rnn_params *p = job->p;
    int64_t gh = p->n_gates * p->hidden, xw = 0, gates = 0, state = 0;
    int64_t dims_xw[3] = {p->seq, p->batch, gh}, dims_state[2] = {p->batch, p->hidden};
    memset(w, 0, sizeof *w);
    KILN_TRY(kiln_shape_numel(dims_xw, 3, &xw, "recurrent input projection"));
    KILN_TRY(kiln_shape_numel(dims_xw + 1, 2, &gates, "recurrent gates"));
    KILN_TRY(kiln_shape_numel(dims_state, 2, &state, "recurrent state"));
    kiln_status st = alloc_real(xw, job->max_bytes, &w->xw);
    if (st == KILN_OK)
        st = alloc_real(gates, job->max_bytes, &w->gates);
    if (st == KILN_OK)
        st = alloc_real(state, job->max_bytes, &w->h);
    if (st == KILN_OK)
        st = alloc_real(state, job->max_bytes, &w->c);
    if (st == KILN_OK)
        st = alloc_real(state, job->max_bytes, &w->aux);
    if (st == KILN_OK)
        st = alloc_real(gh, job->max_bytes, &w->bias);
    if (st == KILN_OK)
        st = alloc_real(p->hidden, job->max_bytes, &w->rbh);
    if (st == KILN_OK && !(w->t = malloc(sizeof(int64_t) * (size_t)(p->batch > 0 ? p->batch : 1))))
        st = kiln_error(KILN_ERR_OUT_OF_MEMORY, "cannot allocate recurrent step indices");
    if (st != KILN_OK)
        work_free(w);
    return st;
}

/* ---- matrix products ---------------------------------------------------- */

/* Every extent handed to BLAS fits its int arguments. */
static kiln_status check_blas(const kiln_rnn_params *p)
{
    int64_t gh = p->n_gates * p->hidden;
    int64_t rows = p->batch > 0 && p->seq > INT64_MAX / p->batch ? INT64_MAX : p->seq * p->batch;
    if (rows > INT_MAX || gh > INT_MAX || p->input > INT_MAX)
        return kiln_error(KILN_ERR_LIMIT, "%lld rows, %lld gate units and input size %lld are too large for BLAS",
                          (long long)rows, (long long)gh, (long long)p->input);
    return KILN_OK;
}

/* C (m x n, row stride ldc) = A B^T + beta C, with A m x k and B n x k,
 * row-major. Empty extents never reach BLAS (it rejects a zero stride). */
static void gemm_nt(int64_t m, int64_t n, int64_t k, const real *a, int64_t lda, const real *b, int64_t ldb, real beta,
                    real *c, int64_t ldc)
{
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        for (int64_t i = 0; i < m && beta == 0; i++)
            memset(c + i * ldc, 0, sizeof(real) * (size_t)n);
        return;
    }
    /* one row (batch 1): a matrix-vector product, which BLAS does faster */
    if (m == 1) {
        RNN_GEMV(CblasRowMajor, CblasNoTrans, (int)n, (int)k, (real)1, b, (int)ldb, a, 1, beta, c, 1);
        return;
    }
    RNN_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)k, (real)1, a, (int)lda, b, (int)ldb, beta,
             c, (int)ldc);
}

/* ---- activations -------------------------------------------------------- */

static void clip_vec(real *x, int64_t n, real lim)
{
    for (int64_t k = 0; k < n; k++)
        x[k] = x[k] > lim ? lim : x[k] < -lim ? -lim : x[k];
}

static void act_vec(const kiln_rnn_act *act, real *x, int64_t n)
{
    real al = (real)act->alpha, be = (real)act->beta, one = 1, zero = 0;
    switch (act->fn) {
    case KILN_RNN_RELU:
        for (int64_t k = 0; k < n; k++)
            x[k] = x[k] < zero ? zero : x[k];
        break;
    case KILN_RNN_TANH:
        for (int64_t k = 0; k < n; k++)
            x[k] = RNN_TANH(x[k]);
        break;
    case KILN_RNN_SIGMOID:
        for (int64_t k = 0; k < n; k++)
            x[k] = one / (one + exp(-x[k]));
        break;
    case KILN_RNN_AFFINE:
        for (int64_t k = 0; k < n; k++)
            x[k] = al * x[k] + be;
        break;
    case KILN_RNN_LEAKY_RELU:
        for (int64_t k = 0; k < n; k++)
            x[k] = x[k] < zero ? al * x[k] : x[k];
        break;
    case KILN_RNN_THRESHOLDED_RELU:
        for (int64_t k = 0; k < n; k++)
            x[k] = x[k] >= al ? x[k] : zero;
        break;
    case KILN_RNN_SCALED_TANH:
        for (int64_t k = 0; k < n; k++)
            x[k] = al * RNN_TANH(be * x[k]);
        break;
    case KILN_RNN_HARD_SIGMOID:
        for (int64_t k = 0; k < n; k++) {
            real v = al * x[k] + be;
            x[k] = v < zero ? zero : v > one ? one : v;
        }
        break;
    case KILN_RNN_ELU:
        for (int64_t k = 0; k < n; k++)
            x[k] = x[k] < zero ? al * expm1(x[k]) : x[k];
        break;
    case KILN_RNN_SOFTSIGN:
        for (int64_t k = 0; k < n; k++)
            x[k] = x[k] / (one + fabs(x[k]));
        break;
    case KILN_RNN_SOFTPLUS:
        /* log(1 + e^x) without overflow for large x */
        for (int64_t k = 0; k < n; k++)
            x[k] = x[k] > zero ? x[k] + log1p(exp(-x[k])) : log1p(exp(x[k]));
        break;
    }
}

/* A gate: clip (when set) then the activation. */
static void gate_act(const kiln_rnn_params *p, const kiln_rnn_act *act, real *x, int64_t n)
{
    if (p->has_clip)
        clip_vec(x, n, (real)p->clip);
    act_vec(act, x, n);
}

/* ---- gate math, one step of the whole batch ------------------------------ */

/* Ht = f(Xt W^T + Ht-1 R^T + Wb + Rb) */
static void step_rnn(const kiln_rnn_params *p, const rnn_dir *dir, rnn_work *w)
{
    int64_t hs = p->hidden;
    gemm_nt(p->batch, hs, hs, w->h, hs, dir->r, hs, 1, w->gates, hs);
    for (int64_t b = 0; b < p->batch; b++) {
        if (w->t[b] < 0)
            continue;
        real *g = w->gates + b * hs;
        gate_act(p, &dir->acts[0], g, hs);
        memcpy(w->h + b * hs, g, sizeof(real) * (size_t)hs);
    }
}

/* z, r = f(...); ht = g(Xt Wh^T + (r (.) Ht-1) Rh^T + Wbh + Rbh), or with
 * linear_before_reset g(Xt Wh^T + r (.) (Ht-1 Rh^T + Rbh) + Wbh);
 * Ht = (1 - z) (.) ht + z (.) Ht-1. Gates are ordered z, r, h. */
static void gru_reset(const kiln_rnn_params *p, const rnn_dir *dir, rnn_work *w)
{
    int64_t hs = p->hidden;
    for (int64_t b = 0; b < p->batch; b++) {
        real *g = w->gates + b * 3 * hs, *aux = w->aux + b * hs, *h = w->h + b * hs;
        if (w->t[b] < 0) {
            memset(aux, 0, sizeof(real) * (size_t)hs);
            continue;
        }
        gate_act(p, &dir->acts[0], g, 2 * hs);
        real *r = g + hs, *gh = g + 2 * hs;
        if (p->linear_before_reset)
            for (int64_t k = 0; k < hs; k++)
                gh[k] += r[k] * (aux[k] + w->rbh[k]);
        else
            for (int64_t k = 0; k < hs; k++)
                aux[k] = r[k] * h[k];
    }
}

static void step_gru(const kiln_rnn_params *p, const rnn_dir *dir, rnn_work *w)
{
    int64_t hs = p->hidden;
    const real *rh = dir->r + 2 * hs * hs;
    gemm_nt(p->batch, 2 * hs, hs, w->h, hs, dir->r, hs, 1, w->gates, 3 * hs);
    if (p->linear_before_reset)
        gemm_nt(p->batch, hs, hs, w->h, hs, rh, hs, 0, w->aux, hs);
    gru_reset(p, dir, w);
    if (!p->linear_before_reset)
        gemm_nt(p->batch, hs, hs, w->aux, hs, rh, hs, 1, w->gates + 2 * hs, 3 * hs);
    for (int64_t b = 0; b < p->batch; b++) {
        if (w->t[b] < 0)
            continue;
        real *z = w->gates + b * 3 * hs, *gh = z + 2 * hs, *h = w->h + b * hs;
        gate_act(p, &dir->acts[1], gh, hs);
        for (int64_t k = 0; k < hs; k++)
            h[k] = (1 - z[k]) * gh[k] + z[k] * h[k];
    }
}

/* out += peephole (.) c, when there are peepholes. */
static void add_peephole(real *out, const real *peep, const real *c, int64_t n)
{
    if (peep)
        for (int64_t k = 0; k < n; k++)
            out[k] += peep[k] * c[k];
}

/* One row: gates ordered i, o, f, c; peepholes i, o, f. The output gate's
 * peephole reads the new cell state. h's input is not clipped (as in
 * onnxruntime): clip bounds the gate pre-activations. */
static void lstm_row(const kiln_rnn_params *p, const rnn_dir *dir, real *g, real *c, real *h)
{
    int64_t hs = p->hidden;
    real *gi = g, *go = g + hs, *gf = g + 2 * hs, *gc = g + 3 * hs;
    const real *pi = dir->peep, *po = pi ? pi + hs : NULL, *pf = pi ? pi + 2 * hs : NULL;
    add_peephole(gi, pi, c, hs);
    gate_act(p, &dir->acts[0], gi, hs);
    if (p->input_forget) {
        for (int64_t k = 0; k < hs; k++)
            gf[k] = 1 - gi[k];
    } else {
        add_peephole(gf, pf, c, hs);
        gate_act(p, &dir->acts[0], gf, hs);
    }
    gate_act(p, &dir->acts[1], gc, hs);
    for (int64_t k = 0; k < hs; k++)
        c[k] = gf[k] * c[k] + gi[k] * gc[k];
    add_peephole(go, po, c, hs);
    gate_act(p, &dir->acts[0], go, hs);
    memcpy(h, c, sizeof(real) * (size_t)hs);
    act_vec(&dir->acts[2], h, hs);
    for (int64_t k = 0; k < hs; k++)
        h[k] *= go[k];
}

static void step_lstm(const kiln_rnn_params *p, const rnn_dir *dir, rnn_work *w)
{
    int64_t hs = p->hidden;
    gemm_nt(p->batch, 4 * hs, hs, w->h, hs, dir->r, hs, 1, w->gates, 4 * hs);
    for (int64_t b = 0; b < p->batch; b++)
        if (w->t[b] >= 0)
            lstm_row(p, dir, w->gates + b * 4 * hs, w->c + b * hs, w->h + b * hs);
}

/* ---- the shared driver --------------------------------------------------- */

/* Row of X (and of xw) holding time t of batch entry b. */
static int64_t x_row(const kiln_rnn_params *p, int64_t t, int64_t b)
{
    return p->layout ? b * p->seq + t : t * p->batch + b;
}

/* Element offset of Y[t, d, b, :] (layout 0) or Y[b, t, d, :] (layout 1). */
static int64_t y_offset(const kiln_rnn_params *p, int64_t t, int d, int64_t b)
{
    int64_t cell = p->layout ? (b * p->seq + t) * p->n_dirs + d : (t * p->n_dirs + d) * p->batch + b;
    return cell * p->hidden;
}

/* Element offset of state [d, b, :] (layout 0) or [b, d, :] (layout 1). */
static int64_t state_offset(const kiln_rnn_params *p, int d, int64_t b)
{
    return (p->layout ? b * p->n_dirs + d : d * p->batch + b) * p->hidden;
}

/* Writes n values at element offset off of t, converting to t's dtype. */
static void put_row(kiln_tensor *t, int64_t off, const real *src, int64_t n)
{
    if (t->dtype == RNN_DTYPE)
        memcpy((real *)t->data + off, src, sizeof(real) * (size_t)n);
    else
        kiln_convert(src, RNN_DTYPE, (char *)t->data + (size_t)off * kiln_dtype_size(t->dtype), t->dtype, (size_t)n);
}

/* All-zero bytes are 0.0 in every float format. */
static void zero_row(kiln_tensor *t, int64_t off, int64_t n)
{
    size_t es = kiln_dtype_size(t->dtype);
    memset((char *)t->data + (size_t)off * es, 0, (size_t)n * es);
}

static void dir_init(const kiln_rnn_job *job, int d, rnn_dir *dir)
{
    const kiln_rnn_params *p = job->p;
    int64_t gh = p->n_gates * p->hidden;
    dir->index = d;
    dir->reverse = p->n_dirs == 2 ? d == 1 : p->reverse;
    dir->w = (const real *)job->w + d * gh * p->input;
    dir->r = (const real *)job->r + d * gh * p->hidden;
    dir->b = job->b ? (const real *)job->b + d * 2 * gh : NULL;
    dir->peep = job->peep ? (const real *)job->peep + d * 3 * p->hidden : NULL;
    dir->acts = p->acts[d];
}

/* bias = Wb + Rb, except GRU's Rbh with linear_before_reset, which goes
 * inside the reset product (rbh). */
static void fold_bias(const kiln_rnn_params *p, const rnn_dir *dir, rnn_work *w)
{
    int64_t hs = p->hidden, gh = p->n_gates * hs;
    int split = p->kind == KILN_RNN_GRU && p->linear_before_reset;
    memset(w->bias, 0, sizeof(real) * (size_t)gh);
    memset(w->rbh, 0, sizeof(real) * (size_t)hs);
    if (!dir->b)
        return;
    for (int64_t k = 0; k < gh; k++)
        w->bias[k] = dir->b[k] + (split && k >= 2 * hs ? 0 : dir->b[gh + k]);
    if (split)
        memcpy(w->rbh, dir->b + gh + 2 * hs, sizeof(real) * (size_t)hs);
}

/* xw = X W^T + bias for every time step at once. */
static void project(const kiln_rnn_job *job, const rnn_dir *dir, rnn_work *w)
{
    const kiln_rnn_params *p = job->p;
    int64_t gh = p->n_gates * p->hidden, rows = p->seq * p->batch;
    fold_bias(p, dir, w);
    for (int64_t i = 0; i < rows; i++)
        memcpy(w->xw + i * gh, w->bias, sizeof(real) * (size_t)gh);
    gemm_nt(rows, gh, p->input, job->x, p->input, dir->w, p->input, 1, w->xw, gh);
}

/* H and C from initial_h / initial_c, else 0. */
static void init_state(const kiln_rnn_job *job, const rnn_dir *dir, rnn_work *w)
{
    const kiln_rnn_params *p = job->p;
    int64_t hs = p->hidden;
    size_t row = sizeof(real) * (size_t)hs;
    for (int64_t b = 0; b < p->batch; b++) {
        int64_t at = state_offset(p, dir->index, b);
        if (job->h0)
            memcpy(w->h + b * hs, (const real *)job->h0 + at, row);
        else
            memset(w->h + b * hs, 0, row);
        if (job->c0)
            memcpy(w->c + b * hs, (const real *)job->c0 + at, row);
        else
            memset(w->c + b * hs, 0, row);
    }
}

/* Each row's time index at step s, and its projected input in gates. */
static void load_step(const kiln_rnn_job *job, const rnn_dir *dir, rnn_work *w, int64_t s)
{
    const kiln_rnn_params *p = job->p;
    int64_t gh = p->n_gates * p->hidden;
    size_t row = sizeof(real) * (size_t)gh;
    for (int64_t b = 0; b < p->batch; b++) {
        int64_t len = job->lens[b];
        w->t[b] = s >= len ? -1 : dir->reverse ? len - 1 - s : s;
        if (w->t[b] < 0)
            memset(w->gates + b * gh, 0, row);
        else
            memcpy(w->gates + b * gh, w->xw + x_row(p, w->t[b], b) * gh, row);
    }
}

static void store_step(const kiln_rnn_job *job, const rnn_dir *dir, const rnn_work *w)
{
    const kiln_rnn_params *p = job->p;
    for (int64_t b = 0; b < p->batch && job->y; b++)
        if (w->t[b] >= 0)
            put_row(job->y, y_offset(p, w->t[b], dir->index, b), w->h + b * p->hidden, p->hidden);
}

/* Y past each row's length is 0; Y_h / Y_c get the final states. */
static void finish_dir(const kiln_rnn_job *job, const rnn_dir *dir, const rnn_work *w)
{
    const kiln_rnn_params *p = job->p;
    int64_t hs = p->hidden;
    for (int64_t b = 0; b < p->batch; b++) {
        int64_t len = job->lens[b], at = state_offset(p, dir->index, b);
        for (int64_t t = len; t < p->seq && job->y; t++)
            zero_row(job->y, y_offset(p, t, dir->index, b), hs);
        if (job->y_h && len == 0)
            zero_row(job->y_h, at, hs);
        else if (job->y_h)
            put_row(job->y_h, at, w->h + b * hs, hs);
        if (job->y_c && len == 0)
            zero_row(job->y_c, at, hs);
        else if (job->y_c)
            put_row(job->y_c, at, w->c + b * hs, hs);
    }
}

static void run_dir(const kiln_rnn_job *job, int d, rnn_work *w)
{
    const kiln_rnn_params *p = job->p;
    rnn_dir dir;
    dir_init(job, d, &dir);
    project(job, &dir, w);
    init_state(job, &dir, w);
    int64_t steps = 0;
    for (int64_t b = 0; b < p->batch; b++)
        steps = job->lens[b] > steps ? job->lens[b] : steps;
    for (int64_t s = 0; s < steps; s++) {
        load_step(job, &dir, w, s);
        if (p->kind == KILN_RNN_LSTM)
            step_lstm(p, &dir, w);
        else if (p->kind == KILN_RNN_GRU)
            step_gru(p, &dir, w);
        else
            step_rnn(p, &dir, w);
        store_step(job, &dir, w);
    }
    finish_dir(job, &dir, w);
}

kiln_status RNN_ENTRY(const kiln_rnn_job *job)
{
    rnn_work w;
    KILN_TRY(check_blas(job->p));
    KILN_TRY(work_alloc(job, &w));
    for (int d = 0; d < job->p->n_dirs; d++)
        run_dir(job, d, &w);
    work_free(&w);
    return KILN_OK;
}
