/*
 * tensor_pad.c - Pad (constant, edge, reflect, wrap; negative pads crop),
 * CenterCropPad (a centred constant pad or crop) and ReverseSequence.
 */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/ops/tensor_kernels.h"
#include "core/dtype.h"

/* The padding value: input 2 from opset 11, the float attribute `value` before; 0 by default. */
static void pad_value(const kiln_op_ctx *ctx, size_t es, unsigned char *elem)
{
    kiln_dtype dt = ctx->in[0]->dtype;
    if (ctx->opset >= 11) {
        const kiln_tensor *c = ctx->n_in > 2 ? ctx->in[2] : NULL;
        if (c && c->data && c->dtype == dt && kiln_tensor_numel(c) == 1) {
            memcpy(elem, c->data, es);
            return;
        }
        kiln_elem_from_f64(dt, 0.0, elem);
        return;
    }
    kiln_elem_from_f64(dt, kiln_attr_float(ctx->node, "value", 0.0f), elem);
}

/* Constant mode: fill, then copy the part of x that survives the (possibly
 * negative) pads into place. */
static void pad_constant(kiln_tensor *y, const kiln_tensor *x, const kiln_pad_plan *p, const unsigned char *value,
                         size_t es)
{
    int64_t xs[KILN_MAX_RANK], ys[KILN_MAX_RANK], len[KILN_MAX_RANK], src = 0, dst = 0;
    kiln_fill_elem(y->data, value, es, kiln_tensor_numel(y));
    kiln_strides(x->dims, x->rank, xs);
    kiln_strides(y->dims, y->rank, ys);
    for (int i = 0; i < x->rank; i++) {
        int64_t b = p->begin[i], e = p->end[i];
        len[i] = x->dims[i] + (b < 0 ? b : 0) + (e < 0 ? e : 0);
        if (len[i] <= 0)
            return;
        src += (b < 0 ? -b : 0) * xs[i];
        dst += (b > 0 ? b : 0) * ys[i];
    }
    kiln_copy_strided((char *)y->data + dst * (int64_t)es, ys, (const char *)x->data + src * (int64_t)es, xs, len,
                      x->rank, es);
}

/* Source index along an axis of extent d for input position i (any integer). */
static int64_t pad_source(kiln_pad_mode mode, int64_t i, int64_t d)
{
    if (i >= 0 && i < d)
        return i;
    if (mode == KILN_PAD_EDGE || d == 1)
        return i < 0 ? 0 : d - 1;
    if (mode == KILN_PAD_WRAP)
        return ((i % d) + d) % d;
    /* reflect without repeating the edge: period 2 (d - 1) */
    int64_t period = 2 * (d - 1), m = ((i % period) + period) % period;
    return m < d ? m : period - m;
}

/* Per-axis maps from output position to input position (one allocation). */
static kiln_status pad_maps(const kiln_tensor *y, const kiln_tensor *x, const kiln_pad_plan *p, size_t max_bytes,
                            int64_t **maps, int64_t **store)
{
    int64_t total = 0;
    size_t bytes;
    for (int i = 0; i < y->rank; i++) {
        if (x->dims[i] == 0 && y->dims[i] > 0)
            return kiln_error(KILN_ERR_SHAPE, "cannot pad the empty axis %d in this mode", i);
        total += y->dims[i];
    }
    KILN_TRY(kiln_bytes_for(KILN_INT64, total, max_bytes, &bytes, "Pad index maps"));
    *store = malloc(bytes ? bytes : 1);
    if (!*store)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "Pad: cannot allocate %zu bytes", bytes);
    int64_t *m = *store;
    for (int i = 0; i < y->rank; i++) {
        maps[i] = m;
        for (int64_t o = 0; o < y->dims[i]; o++)
            m[o] = pad_source(p->mode, o - p->begin[i], x->dims[i]);
        m += y->dims[i];
    }
    return KILN_OK;
}

/* One output row along the last axis, copying runs of consecutive sources at once. */
static void pad_row(char *dst, const char *src, const int64_t *map, int64_t n, size_t es)
{
    for (int64_t o = 0; o < n;) {
        int64_t run = 1;
        while (o + run < n && map[o + run] == map[o] + run)
            run++;
        memcpy(dst + (size_t)o * es, src + (size_t)map[o] * es, (size_t)run * es);
        o += run;
    }
}

/* Edge, reflect and wrap: every output element reads the mapped input element. */
static kiln_status pad_mapped(kiln_op_ctx *ctx, const kiln_pad_plan *p, size_t es)
{
    const kiln_tensor *x = ctx->in[0];
    kiln_tensor *y = ctx->out[0];
    int64_t *maps[KILN_MAX_RANK], *store, xs[KILN_MAX_RANK], idx[KILN_MAX_RANK] = {0};
    int r = y->rank;
    if (kiln_tensor_numel(y) == 0)
        return KILN_OK;
    if (r == 0)
        return kiln_error(KILN_ERR_INTERNAL, "Pad: scalar input in a mapped mode");
    KILN_TRY(pad_maps(y, x, p, ctx->max_bytes, maps, &store));
    kiln_strides(x->dims, r, xs);
    int64_t row = y->dims[r - 1];
    char *dst = y->data;
    for (;;) {
        int64_t src = 0;
        for (int i = 0; i < r - 1; i++)
            src += maps[i][idx[i]] * xs[i];
        pad_row(dst, (const char *)x->data + (size_t)src * es, maps[r - 1], row, es);
        dst += (size_t)row * es;
        int k = r - 2;
        while (k >= 0 && ++idx[k] == y->dims[k])
            idx[k--] = 0;
        if (k < 0)
            break;
    }
    free(store);
    return KILN_OK;
}

/* Shared by Pad and CenterCropPad once the plan is read. */
static kiln_status pad_run(kiln_op_ctx *ctx, const kiln_pad_plan *p, const unsigned char *value, size_t es)
{
    const kiln_tensor *x = ctx->in[0];
    kiln_tensor *y = ctx->out[0];
    if (!p->known)
        return kiln_error(KILN_ERR_INTERNAL, "%s: pads not known at run time", ctx->node->op_type);
    for (int i = 0; i < x->rank; i++)
        if (x->dims[i] + p->begin[i] + p->end[i] != y->dims[i])
            return kiln_error(KILN_ERR_INTERNAL, "%s: axis %d does not match the output", ctx->node->op_type, i);
    if (p->mode == KILN_PAD_CONSTANT || x->rank == 0) {
        pad_constant(y, x, p, value, es);
        return KILN_OK;
    }
    return pad_mapped(ctx, p, es);
}

kiln_status kiln_cpu_pad(kiln_op_ctx *ctx)
{
    kiln_pad_plan p;
    unsigned char value[KILN_MAX_ELEM];
    size_t es;
    KILN_TRY(kiln_tensor_esize(ctx, 0, &es));
    KILN_TRY(kiln_tensor_pad_plan(ctx, &p));
    pad_value(ctx, es, value);
    return pad_run(ctx, &p, value, es);
}

kiln_status kiln_cpu_center_crop_pad(kiln_op_ctx *ctx)
{
    kiln_pad_plan p;
    unsigned char zero[KILN_MAX_ELEM];
    size_t es;
    KILN_TRY(kiln_tensor_esize(ctx, 0, &es));
    KILN_TRY(kiln_tensor_center_crop_plan(ctx, &p));
    kiln_elem_from_f64(ctx->in[0]->dtype, 0.0, zero);
    return pad_run(ctx, &p, zero, es);
}

kiln_status kiln_cpu_reverse_sequence(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0], *lens = ctx->in[1];
    int ba, ta;
    size_t es;
    int64_t inner;
    KILN_TRY(kiln_tensor_esize(ctx, 0, &es));
    KILN_TRY(kiln_tensor_reverse_axes(ctx, &ba, &ta));
    if (!kiln_dtype_is_int(lens->dtype))
        return kiln_unsupported_dtype(ctx, "sequence_lens", lens->dtype);
    KILN_TRY(kiln_shape_numel(x->dims + 2, x->rank - 2, &inner, "ReverseSequence input"));
    int64_t nb = x->dims[ba], nt = x->dims[ta];
    /* element (b, t) block starts at b * bstride + t * tstride */
    int64_t bstride = (ba == 0 ? nt : 1) * inner, tstride = (ta == 0 ? nb : 1) * inner;
    size_t block = (size_t)inner * es;
    for (int64_t b = 0; b < nb; b++) {
        int64_t len = kiln_load_i64(lens->data, lens->dtype, (size_t)b);
        if (len < 0 || len > nt)
            return kiln_error(KILN_ERR_SHAPE, "sequence_lens[%lld] is %lld, outside 0..%lld", (long long)b,
                              (long long)len, (long long)nt);
        for (int64_t t = 0; t < nt; t++) {
            int64_t from = t < len ? len - 1 - t : t;
            memcpy((char *)ctx->out[0]->data + (size_t)(b * bstride + t * tstride) * es,
                   (const char *)x->data + (size_t)(b * bstride + from * tstride) * es, block);
        }
    }
    return KILN_OK;
}
