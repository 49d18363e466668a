/*
 * tensor_params.c - reading and validating the parameters of tensor-family
 * ops (axes, permutations, slice bounds, pads, split sizes), used by both
 * shape inference and the CPU kernels.
 */
#include <stdio.h>
#include <string.h>

#include "core/dtype.h"
#include "ir/infer/tensor_infer.h"

kiln_status kiln_tensor_esize(const kiln_op_ctx *ctx, int i, size_t *esize)
{
    KILN_TRY(kiln_need_input(ctx, i));
    size_t es = kiln_dtype_size(ctx->in[i]->dtype);
    if (es == 0) {
        char which[32];
        snprintf(which, sizeof which, "input %d", i);
        return kiln_unsupported_dtype(ctx, which, ctx->in[i]->dtype);
    }
    *esize = es;
    return KILN_OK;
}

kiln_status kiln_tensor_norm_axes(const int64_t *axes, int n, int rank, const char *what, int *out)
{
    unsigned char seen[KILN_MAX_RANK] = {0};
    if (n > rank && n > 0)
        return kiln_error(KILN_ERR_SHAPE, "%s has %d entries, more than the rank %d", what, n, rank);
    for (int i = 0; i < n; i++) {
        KILN_TRY(kiln_norm_axis(axes[i], rank, what, &out[i]));
        if (seen[out[i]])
            return kiln_error(KILN_ERR_SHAPE, "%s names axis %lld twice", what, (long long)axes[i]);
        seen[out[i]] = 1;
    }
    return KILN_OK;
}

kiln_status kiln_tensor_read_input(const kiln_op_ctx *ctx, int i, int64_t *vals, int max, int *count, int *known,
                                   const char *what)
{
    KILN_TRY(kiln_need_input(ctx, i));
    const kiln_tensor *t = ctx->in[i];
    if (t->rank > 1)
        return kiln_error(KILN_ERR_SHAPE, "%s must be 1-D, not of rank %d", what, t->rank);
    if (!t->data) {
        *known = 0;
        *count = -1;
        if (t->rank == 0)
            *count = 1;
        else if (t->rank == 1 && t->dims[0] >= 0) {
            if (t->dims[0] > max)
                return kiln_error(KILN_ERR_LIMIT, "%s has %lld elements, more than %d", what, (long long)t->dims[0],
                                  max);
            *count = (int)t->dims[0];
        }
        return KILN_OK;
    }
    *known = 1;
    return kiln_read_ints(t, vals, max, count, what);
}

kiln_status kiln_tensor_read_scalar(const kiln_op_ctx *ctx, int i, int64_t *val, const char *what)
{
    KILN_TRY(kiln_need_input(ctx, i));
    const kiln_tensor *t = ctx->in[i];
    if (kiln_tensor_numel(t) != 1)
        return kiln_error(KILN_ERR_SHAPE, "%s must hold exactly one value", what);
    if (!t->data)
        return kiln_error(KILN_ERR_UNSUPPORTED, "%s must be known before running (a constant)", what);
    if (!kiln_dtype_is_int(t->dtype))
        return kiln_error(KILN_ERR_UNSUPPORTED, "%s must be an integer tensor, not %s", what,
                          kiln_dtype_name(t->dtype) ? kiln_dtype_name(t->dtype) : "(invalid)");
    *val = kiln_load_i64(t->data, t->dtype, 0);
    return KILN_OK;
}

kiln_status kiln_tensor_check_outputs(const kiln_op_ctx *ctx)
{
    for (int k = 0; k < ctx->n_out; k++) {
        const kiln_tensor *t = ctx->out[k];
        int known = t && t->rank >= 0;
        for (int d = 0; known && d < t->rank; d++)
            known = t->dims[d] >= 0;
        if (!known)
            continue;
        int64_t n;
        char what[32];
        snprintf(what, sizeof what, "output %d", k);
        KILN_TRY(kiln_shape_numel(t->dims, t->rank, &n, what));
    }
    return KILN_OK;
}

kiln_status kiln_tensor_dim_mul(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0) {
        *out = KILN_DIM_UNKNOWN;
        return KILN_OK;
    }
    if (b != 0 && a > INT64_MAX / b)
        return kiln_error(KILN_ERR_LIMIT, "extent %lld x %lld overflows 64 bits", (long long)a, (long long)b);
    *out = a * b;
    return KILN_OK;
}

kiln_status kiln_tensor_dim_add(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0) {
        *out = KILN_DIM_UNKNOWN;
        return KILN_OK;
    }
    if (a > INT64_MAX - b)
        return kiln_error(KILN_ERR_LIMIT, "extent %lld + %lld overflows 64 bits", (long long)a, (long long)b);
    *out = a + b;
    return KILN_OK;
}

kiln_status kiln_tensor_perm(const kiln_op_ctx *ctx, int rank, int *perm)
{
    const int64_t *p;
    int64_t n;
    if (!kiln_attr_ints(ctx->node, "perm", &p, &n)) {
        for (int i = 0; i < rank; i++)
            perm[i] = rank - 1 - i;
        return KILN_OK;
    }
    if (n != rank)
        return kiln_error(KILN_ERR_SHAPE, "perm has %lld entries for an input of rank %d", (long long)n, rank);
    return kiln_tensor_norm_axes(p, rank, rank, "perm", perm);
}

kiln_status kiln_tensor_axis_attr(const kiln_op_ctx *ctx, const char *name, int64_t def, int rank, int *axis)
{
    return kiln_norm_axis(kiln_attr_int(ctx->node, name, def), rank, name, axis);
}

/* ---- Slice --------------------------------------------------------------- */

typedef struct slice_args {
    int64_t starts[KILN_MAX_RANK], ends[KILN_MAX_RANK], axes[KILN_MAX_RANK], steps[KILN_MAX_RANK];
    int n, known, axes_known;
} slice_args;

/* Slice-1: starts, ends and axes are attributes. */
static kiln_status slice_args_attr(const kiln_op_ctx *ctx, slice_args *a)
{
    const int64_t *s, *e, *ax;
    int64_t ns, ne, na;
    if (!kiln_attr_ints(ctx->node, "starts", &s, &ns) || !kiln_attr_ints(ctx->node, "ends", &e, &ne))
        return kiln_error(KILN_ERR_GRAPH, "Slice-1 needs the starts and ends attributes");
    if (ns != ne || ns > KILN_MAX_RANK)
        return kiln_error(KILN_ERR_SHAPE, "starts (%lld) and ends (%lld) differ in length or exceed rank %d",
                          (long long)ns, (long long)ne, KILN_MAX_RANK);
    a->n = (int)ns;
    a->known = a->axes_known = 1;
    for (int i = 0; i < a->n; i++) {
        a->starts[i] = s[i];
        a->ends[i] = e[i];
        a->axes[i] = i;
        a->steps[i] = 1;
    }
    if (kiln_attr_ints(ctx->node, "axes", &ax, &na)) {
        if (na != ns)
            return kiln_error(KILN_ERR_SHAPE, "axes has %lld entries, starts %lld", (long long)na, (long long)ns);
        memcpy(a->axes, ax, (size_t)na * sizeof *ax);
    }
    return KILN_OK;
}

/* An optional 1-D input of the same length as starts; absent: default. */
static kiln_status slice_optional(const kiln_op_ctx *ctx, int i, int n, int64_t *vals, int *known, const char *what)
{
    int count, k = 1;
    if (i >= ctx->n_in || !ctx->in[i])
        return KILN_OK;
    KILN_TRY(kiln_tensor_read_input(ctx, i, vals, KILN_MAX_RANK, &count, &k, what));
    if (count >= 0 && n >= 0 && count != n)
        return kiln_error(KILN_ERR_SHAPE, "%s has %d entries, starts has %d", what, count, n);
    *known = k;
    return KILN_OK;
}

static kiln_status slice_args_input(const kiln_op_ctx *ctx, slice_args *a)
{
    int ns, ne, ks, ke;
    KILN_TRY(kiln_tensor_read_input(ctx, 1, a->starts, KILN_MAX_RANK, &ns, &ks, "starts"));
    KILN_TRY(kiln_tensor_read_input(ctx, 2, a->ends, KILN_MAX_RANK, &ne, &ke, "ends"));
    if (ns >= 0 && ne >= 0 && ns != ne)
        return kiln_error(KILN_ERR_SHAPE, "starts has %d entries, ends %d", ns, ne);
    a->n = ns >= 0 ? ns : ne;
    for (int i = 0; i < KILN_MAX_RANK; i++) {
        a->axes[i] = i;
        a->steps[i] = 1;
    }
    int ka = 1, kst = 1;
    KILN_TRY(slice_optional(ctx, 3, a->n, a->axes, &ka, "axes"));
    KILN_TRY(slice_optional(ctx, 4, a->n, a->steps, &kst, "steps"));
    a->axes_known = ka && a->n >= 0;
    a->known = ks && ke && ka && kst && a->n >= 0;
    return KILN_OK;
}

/* Effective first index and element count along one axis of extent d
 * (the clamping rules of the Slice spec), without overflow for any input. */
static void slice_axis(int64_t start, int64_t end, int64_t step, int64_t d, int64_t *first, int64_t *count)
{
    if (start < 0)
        start += d;
    if (end < 0)
        end += d;
    if (step > 0) {
        start = start < 0 ? 0 : start > d ? d : start;
        end = end < 0 ? 0 : end > d ? d : end;
        *count = end > start ? (end - start - 1) / step + 1 : 0;
    } else {
        start = start < 0 ? 0 : start > d - 1 ? d - 1 : start;
        end = end < -1 ? -1 : end > d - 1 ? d - 1 : end;
        if (step < -INT64_MAX)
            step = -INT64_MAX;
        *count = (d > 0 && start > end) ? (start - end - 1) / -step + 1 : 0;
    }
    *first = *count > 0 ? start : 0;
}

kiln_status kiln_tensor_slice_plan(const kiln_op_ctx *ctx, kiln_slice_plan *p)
{
    slice_args a;
    int r = ctx->in[0]->rank, axes[KILN_MAX_RANK];
    memset(p, 0, sizeof *p);
    memset(&a, 0, sizeof a);
    KILN_TRY(ctx->opset < 10 ? slice_args_attr(ctx, &a) : slice_args_input(ctx, &a));
    for (int i = 0; i < r; i++) {
        p->start[i] = 0;
        p->step[i] = 1;
        p->count[i] = ctx->in[0]->dims[i];
    }
    if (!a.axes_known) {
        memset(p->sliced, 1, sizeof p->sliced);
        return KILN_OK;
    }
    KILN_TRY(kiln_tensor_norm_axes(a.axes, a.n, r, "axes", axes));
    for (int i = 0; i < a.n; i++)
        p->sliced[axes[i]] = 1;
    if (!a.known)
        return KILN_OK;
    p->known = 1;
    for (int i = 0; i < a.n; i++) {
        int ax = axes[i];
        int64_t d = ctx->in[0]->dims[ax];
        if (a.steps[i] == 0)
            return kiln_error(KILN_ERR_SHAPE, "steps[%d] is 0", i);
        p->step[ax] = a.steps[i];
        if (d < 0)
            p->count[ax] = KILN_DIM_UNKNOWN;
        else
            slice_axis(a.starts[i], a.ends[i], a.steps[i], d, &p->start[ax], &p->count[ax]);
    }
    return KILN_OK;
}

/* ---- Pad and CenterCropPad ------------------------------------------------ */

static kiln_status pad_mode(const kiln_op_ctx *ctx, kiln_pad_mode *mode)
{
    const char *m = kiln_attr_string(ctx->node, "mode", "constant");
    if (strcmp(m, "constant") == 0)
        *mode = KILN_PAD_CONSTANT;
    else if (strcmp(m, "reflect") == 0)
        *mode = KILN_PAD_REFLECT;
    else if (strcmp(m, "edge") == 0)
        *mode = KILN_PAD_EDGE;
    else if (strcmp(m, "wrap") == 0)
        *mode = KILN_PAD_WRAP;
    else
        return kiln_error(KILN_ERR_UNSUPPORTED, "Pad mode '%s' is not supported", m);
    return KILN_OK;
}

/* The pads list: an attribute before opset 11 ("paddings" in Pad-1), else input 1. */
static kiln_status pad_values(const kiln_op_ctx *ctx, int64_t *pads, int *n, int *known)
{
    if (ctx->opset >= 11)
        return kiln_tensor_read_input(ctx, 1, pads, KILN_TENSOR_MAX_PARAMS, n, known, "pads");
    const int64_t *v;
    int64_t count;
    if (!kiln_attr_ints(ctx->node, "pads", &v, &count) && !kiln_attr_ints(ctx->node, "paddings", &v, &count))
        return kiln_error(KILN_ERR_GRAPH, "Pad needs the pads attribute before opset 11");
    if (count > KILN_TENSOR_MAX_PARAMS)
        return kiln_error(KILN_ERR_SHAPE, "pads has %lld entries, more than %d", (long long)count,
                          KILN_TENSOR_MAX_PARAMS);
    memcpy(pads, v, (size_t)count * sizeof *v);
    *n = (int)count;
    *known = 1;
    return KILN_OK;
}

kiln_status kiln_tensor_pad_plan(const kiln_op_ctx *ctx, kiln_pad_plan *p)
{
    int64_t pads[KILN_TENSOR_MAX_PARAMS], axes_v[KILN_MAX_RANK];
    int r = ctx->in[0]->rank, n_pads, known_pads, n_axes = r, known_axes = 1, axes[KILN_MAX_RANK];
    memset(p, 0, sizeof *p);
    KILN_TRY(pad_mode(ctx, &p->mode));
    KILN_TRY(pad_values(ctx, pads, &n_pads, &known_pads));
    for (int i = 0; i < r; i++)
        axes_v[i] = i;
    if (ctx->opset >= 18 && ctx->n_in > 3 && ctx->in[3])
        KILN_TRY(kiln_tensor_read_input(ctx, 3, axes_v, KILN_MAX_RANK, &n_axes, &known_axes, "axes"));
    if (!known_axes) {
        memset(p->padded, 1, sizeof p->padded);
        return KILN_OK;
    }
    KILN_TRY(kiln_tensor_norm_axes(axes_v, n_axes, r, "axes", axes));
    if (n_pads >= 0 && n_pads != 2 * n_axes)
        return kiln_error(KILN_ERR_SHAPE, "pads has %d entries; %d axes need %d", n_pads, n_axes, 2 * n_axes);
    for (int i = 0; i < n_axes; i++)
        p->padded[axes[i]] = 1;
    if (!known_pads)
        return KILN_OK;
    p->known = 1;
    for (int i = 0; i < n_axes; i++) {
        p->begin[axes[i]] = pads[i];
        p->end[axes[i]] = pads[n_axes + i];
    }
    return KILN_OK;
}

kiln_status kiln_tensor_center_crop_plan(const kiln_op_ctx *ctx, kiln_pad_plan *p)
{
    int64_t shape[KILN_MAX_RANK], axes_v[KILN_MAX_RANK];
    const int64_t *av;
    int64_t na;
    int r = ctx->in[0]->rank, n_shape, known, axes[KILN_MAX_RANK], n_axes = r;
    memset(p, 0, sizeof *p);
    p->mode = KILN_PAD_CONSTANT;
    KILN_TRY(kiln_tensor_read_input(ctx, 1, shape, KILN_MAX_RANK, &n_shape, &known, "shape"));
    for (int i = 0; i < r; i++)
        axes_v[i] = i;
    if (kiln_attr_ints(ctx->node, "axes", &av, &na)) {
        if (na > KILN_MAX_RANK)
            return kiln_error(KILN_ERR_SHAPE, "axes has %lld entries, more than %d", (long long)na, KILN_MAX_RANK);
        memcpy(axes_v, av, (size_t)na * sizeof *av);
        n_axes = (int)na;
    }
    KILN_TRY(kiln_tensor_norm_axes(axes_v, n_axes, r, "axes", axes));
    if (n_shape >= 0 && n_shape != n_axes)
        return kiln_error(KILN_ERR_SHAPE, "shape has %d entries for %d axes", n_shape, n_axes);
    for (int i = 0; i < n_axes; i++) {
        p->padded[axes[i]] = 1;
        p->target[axes[i]] = known ? shape[i] : KILN_DIM_UNKNOWN;
        if (known && shape[i] < 0)
            return kiln_error(KILN_ERR_SHAPE, "shape[%d] is %lld, negative", i, (long long)shape[i]);
    }
    if (!known)
        return KILN_OK;
    p->known = 1;
    for (int i = 0; i < n_axes; i++) {
        int64_t d = ctx->in[0]->dims[axes[i]], want = shape[i];
        /* crop or pad by the difference, the smaller half before */
        int64_t diff = d < 0 ? 0 : want - d;
        int64_t half = diff >= 0 ? diff / 2 : -((-diff) / 2);
        p->begin[axes[i]] = half;
        p->end[axes[i]] = diff - half;
        if (d < 0)
            p->known = 0;
    }
    return KILN_OK;
}

/* ---- Split -------------------------------------------------------------- */

/* The explicit split list, if any: attribute before opset 13 (Split-1 also
 * took it as input 1), input 1 from 13. *given = 0 when there is none. */
static kiln_status split_list(const kiln_op_ctx *ctx, int64_t *vals, int max, int *n, int *given, int *known)
{
    const int64_t *v;
    int64_t count;
    *given = 0;
    *known = 1;
    if (ctx->n_in > 1 && ctx->in[1]) {
        *given = 1;
        return kiln_tensor_read_input(ctx, 1, vals, max, n, known, "split");
    }
    if (ctx->opset < 13 && kiln_attr_ints(ctx->node, "split", &v, &count)) {
        if (count > max)
            return kiln_error(KILN_ERR_LIMIT, "split has %lld entries, more than %d", (long long)count, max);
        memcpy(vals, v, (size_t)count * sizeof *v);
        *n = (int)count;
        *given = 1;
    }
    return KILN_OK;
}

/* Equal parts; when the extent does not divide, every part but the last
 * gets ceil(d / n) and the last the rest (Split-18's num_outputs rule). */
static kiln_status split_equal(int64_t d, int n, int64_t *sizes)
{
    int64_t chunk = d % n == 0 ? d / n : d / n + 1;
    for (int i = 0; i < n; i++)
        sizes[i] = chunk;
    sizes[n - 1] = d - chunk * (n - 1);
    if (sizes[n - 1] < 0)
        return kiln_error(KILN_ERR_SHAPE, "an extent of %lld cannot be split into %d parts", (long long)d, n);
    return KILN_OK;
}

kiln_status kiln_tensor_split_sizes(const kiln_op_ctx *ctx, int *axis, int64_t *sizes, int *known)
{
    const kiln_tensor *x = ctx->in[0];
    int n = ctx->node->n_outputs, count, given;
    KILN_TRY(kiln_tensor_axis_attr(ctx, "axis", 0, x->rank, axis));
    int64_t d = x->dims[*axis];
    if (n < 1 || n > KILN_TENSOR_MAX_SPLIT)
        return kiln_error(KILN_ERR_LIMIT, "Split has %d outputs; kiln takes 1..%d", n, KILN_TENSOR_MAX_SPLIT);
    KILN_TRY(split_list(ctx, sizes, n, &count, &given, known));
    if (given) {
        if (count >= 0 && count != n)
            return kiln_error(KILN_ERR_SHAPE, "split has %d entries for %d outputs", count, n);
        if (!*known) {
            for (int i = 0; i < n; i++)
                sizes[i] = KILN_DIM_UNKNOWN;
            return KILN_OK;
        }
        int64_t sum = 0;
        for (int i = 0; i < n; i++) {
            if (sizes[i] < 0 || sizes[i] > INT64_MAX - sum)
                return kiln_error(KILN_ERR_SHAPE, "split[%d] is %lld", i, (long long)sizes[i]);
            sum += sizes[i];
        }
        if (d >= 0 && sum != d)
            return kiln_error(KILN_ERR_SHAPE, "split sizes add up to %lld, the axis has %lld", (long long)sum,
                              (long long)d);
        return KILN_OK;
    }
    int64_t num = kiln_attr_int(ctx->node, "num_outputs", n);
    if (num != n)
        return kiln_error(KILN_ERR_SHAPE, "num_outputs is %lld but the node has %d outputs", (long long)num, n);
    if (d < 0) {
        for (int i = 0; i < n; i++)
            sizes[i] = KILN_DIM_UNKNOWN;
        return KILN_OK;
    }
    return split_equal(d, n, sizes);
}
