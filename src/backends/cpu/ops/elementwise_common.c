/*
 * elementwise_common.c - dtype classes, the broadcast row plan (run on the
 * caller or split over the thread pool) and shape checks shared by the
 * elementwise CPU kernels.
 */
#include "backends/cpu/ops/elementwise_common.h"

#include <string.h>

#include "core/thread_pool.h"

/* Elements per piece of a parallel plan run: a few microseconds of work. */
#define EW_PIECE 16384

kiln_ew_class kiln_ew_class_of(kiln_dtype dt)
{
    if (dt == KILN_FLOAT64)
        return KILN_EW_F64;
    if (kiln_dtype_is_float(dt))
        return KILN_EW_F32;
    if (dt == KILN_BOOL || (kiln_dtype_is_int(dt) && !kiln_dtype_is_signed(dt)))
        return KILN_EW_U64;
    if (kiln_dtype_is_int(dt))
        return KILN_EW_I64;
    return KILN_EW_NONE;
}

/* Input k must broadcast to out's dims: right-aligned, each dim equal or 1. */
static kiln_status check_broadcast(const kiln_tensor *out, const kiln_tensor *in, int k)
{
    if (in->rank < 0 || in->rank > out->rank)
        return kiln_error(KILN_ERR_SHAPE, "input %d has rank %d, more than the output's %d", k, in->rank, out->rank);
    for (int i = 0; i < in->rank; i++) {
        int64_t d = in->dims[i], o = out->dims[i + out->rank - in->rank];
        if (d != o && d != 1) {
            char s1[96], s2[96];
            return kiln_error(KILN_ERR_SHAPE, "input %d of shape %s does not broadcast to the output shape %s", k,
                              kiln_shape_str(in->dims, in->rank, s1, sizeof s1),
                              kiln_shape_str(out->dims, out->rank, s2, sizeof s2));
        }
    }
    return KILN_OK;
}

kiln_status kiln_ew_plan_init(kiln_ew_plan *p, const kiln_tensor *out, int n_in, const kiln_tensor *const *in)
{
    int64_t st[KILN_EW_MAX_IN][KILN_MAX_RANK];
    KILN_CHECK(n_in >= 1 && n_in <= KILN_EW_MAX_IN && out->rank >= 0 && out->rank <= KILN_MAX_RANK);
    KILN_TRY(kiln_shape_numel(out->dims, out->rank, &p->total, "output"));
    for (int k = 0; k < n_in; k++) {
        KILN_TRY(check_broadcast(out, in[k], k));
        kiln_bcast_strides(in[k], out->rank, out->dims, st[k]);
    }
    p->n_in = n_in;
    p->rank = 0;
    for (int i = 0; i < out->rank; i++) {
        if (out->dims[i] == 1)
            continue;
        /* dim i continues the previous dim when every input walks both as one */
        int merge = p->rank > 0;
        for (int k = 0; merge && k < n_in; k++)
            merge = p->strides[k][p->rank - 1] == st[k][i] * out->dims[i];
        if (merge) {
            p->dims[p->rank - 1] *= out->dims[i];
        } else {
            p->dims[p->rank] = out->dims[i];
            p->rank++;
        }
        for (int k = 0; k < n_in; k++)
            p->strides[k][p->rank - 1] = st[k][i];
    }
    if (p->rank == 0) {
        p->rank = 1;
        p->dims[0] = 1;
        for (int k = 0; k < n_in; k++)
            p->strides[k][0] = 0;
    }
    return KILN_OK;
}

kiln_status kiln_ew_broadcast(const kiln_tensor *out, int n_in, const kiln_tensor *const *in, kiln_ew_row_fn fn,
                              void *user)
{
    kiln_ew_plan plan;
    KILN_TRY(kiln_ew_plan_init(&plan, out, n_in, in));
    kiln_ew_plan_run(&plan, fn, user);
    return KILN_OK;
}

void kiln_ew_plan_run(kiln_ew_plan *p, kiln_ew_row_fn fn, void *user)
{
    if (p->total == 0)
        return;
    int64_t idx[KILN_MAX_RANK] = {0}, off[KILN_EW_MAX_IN] = {0}, step[KILN_EW_MAX_IN] = {0};
    int64_t *strides[KILN_EW_MAX_IN];
    int inner = p->rank - 1;
    for (int k = 0; k < p->n_in; k++) {
        strides[k] = p->strides[k];
        step[k] = p->strides[k][inner];
    }
    int64_t out = 0;
    do {
        fn(user, out, off, step, p->dims[inner]);
        out += p->dims[inner];
    } while (kiln_nd_next(inner, p->dims, idx, p->n_in, strides, off));
}

/* A plan split into pieces: each row of `inner` elements is cut into
 * `per_row` pieces of at most `len` elements. */
typedef struct plan_split {
    const kiln_ew_plan *p;
    kiln_ew_row_fn fn;
    void *user;
    int64_t inner, len, per_row;
} plan_split;

/* The input offsets of the first element of row r (outer index r). */
static void row_offsets(const kiln_ew_plan *p, int64_t r, int64_t *idx, int64_t *off)
{
    int inner = p->rank - 1;
    for (int k = 0; k < p->n_in; k++)
        off[k] = 0;
    for (int d = inner - 1; d >= 0; d--) {
        idx[d] = r % p->dims[d];
        r /= p->dims[d];
        for (int k = 0; k < p->n_in; k++)
            off[k] += idx[d] * p->strides[k][d];
    }
}

static void run_pieces(void *user, int64_t begin, int64_t end, int thread)
{
    const plan_split *sp = user;
    const kiln_ew_plan *p = sp->p;
    int inner = p->rank - 1;
    int64_t idx[KILN_MAX_RANK] = {0}, off[KILN_EW_MAX_IN] = {0}, step[KILN_EW_MAX_IN] = {0}, at[KILN_EW_MAX_IN];
    int64_t *strides[KILN_EW_MAX_IN];
    (void)thread;
    for (int k = 0; k < p->n_in; k++) {
        strides[k] = (int64_t *)p->strides[k];
        step[k] = p->strides[k][inner];
    }
    int64_t row = -1;
    for (int64_t i = begin; i < end; i++) {
        int64_t r = i / sp->per_row, start = (i % sp->per_row) * sp->len;
        if (r == row + 1 && row >= 0)
            kiln_nd_next(inner, p->dims, idx, p->n_in, strides, off);
        else if (r != row)
            row_offsets(p, r, idx, off);
        row = r;
        int64_t n = sp->inner - start < sp->len ? sp->inner - start : sp->len;
        for (int k = 0; k < p->n_in; k++)
            at[k] = off[k] + start * step[k];
        sp->fn(sp->user, r * sp->inner + start, at, step, n);
    }
}

void kiln_ew_plan_run_parallel(kiln_ew_plan *p, kiln_ew_row_fn fn, void *user)
{
    if (p->total < 2 * EW_PIECE) {
        kiln_ew_plan_run(p, fn, user);
        return;
    }
    int64_t inner = p->dims[p->rank - 1];
    int64_t len = inner < EW_PIECE ? inner : EW_PIECE;
    plan_split sp = {p, fn, user, inner, len, (inner + len - 1) / len};
    int64_t pieces = p->total / inner * sp.per_row, grain = EW_PIECE / len;
    kiln_parallel_for_grain(pieces, grain > 0 ? grain : 1, run_pieces, &sp);
}

kiln_status kiln_ew_need_io(const kiln_op_ctx *ctx, int n_in)
{
    for (int i = 0; i < n_in; i++)
        KILN_TRY(kiln_need_input(ctx, i));
    if (ctx->n_out < 1 || !ctx->out[0])
        return kiln_error(KILN_ERR_GRAPH, "output 0 is required");
    return KILN_OK;
}

kiln_status kiln_ew_need_out_dtype(const kiln_tensor *out, kiln_dtype dt)
{
    if (out->dtype != dt)
        return kiln_error(KILN_ERR_INTERNAL, "output has dtype %s, expected %s", kiln_ew_dtype_name(out->dtype),
                          kiln_ew_dtype_name(dt));
    return KILN_OK;
}

kiln_status kiln_ew_need_same_dtype(const kiln_tensor *t, int i, const kiln_tensor *ref, int r)
{
    if (t->dtype != ref->dtype)
        return kiln_error(KILN_ERR_GRAPH, "input %d has dtype %s but input %d has %s", i, kiln_ew_dtype_name(t->dtype),
                          r, kiln_ew_dtype_name(ref->dtype));
    return KILN_OK;
}

kiln_status kiln_ew_check_out(const kiln_tensor *out, kiln_dtype dt, const kiln_tensor *like)
{
    if (!out)
        return kiln_error(KILN_ERR_GRAPH, "output 0 is required");
    KILN_TRY(kiln_ew_need_out_dtype(out, dt));
    if (!kiln_has_shape(out, like->rank, like->dims)) {
        char s1[96], s2[96];
        return kiln_error(KILN_ERR_SHAPE, "output shape %s differs from the expected %s",
                          kiln_shape_str(out->dims, out->rank, s1, sizeof s1),
                          kiln_shape_str(like->dims, like->rank, s2, sizeof s2));
    }
    return KILN_OK;
}

kiln_status kiln_ew_legacy_view(const kiln_op_ctx *ctx, const kiln_tensor *a, const kiln_tensor *b,
                                kiln_tensor *view)
{
    *view = *b;
    view->owns_data = 0;
    KILN_TRY(kiln_ew_legacy_rank(ctx, a, b, &view->rank));
    for (int i = b->rank; i < view->rank; i++)
        view->dims[i] = 1;
    return KILN_OK;
}
