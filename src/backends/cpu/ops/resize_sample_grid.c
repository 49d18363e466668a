/*
 * resize_sample_grid.c - CPU kernels for GridSample (N-D, opsets 16 and 20+)
 * and AffineGrid.
 *
 * GridSample follows ONNX's reference (PyTorch's grid_sampler): grid
 * values in [-1, 1] are denormalized per spatial axis (the grid's last dim
 * lists axes innermost first), out-of-range coordinates are clamped or
 * reflected per padding_mode, and the output is the tensor product of
 * per-axis taps (1 nearest, 2 linear, 4 cubic). For float32, float16 and
 * bfloat16 inputs coordinates are rounded to float32 as the reference
 * computes them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/ops/resize_sample_internal.h"
#include "backends/cpu/cpu_util.h"

#define GS_MAX_SPATIAL (KILN_MAX_RANK - 2)
/* Coordinates are clamped to this before becoming integers. */
#define GS_COORD_LIMIT 1e15

typedef enum { GS_NEAREST, GS_LINEAR, GS_CUBIC } gs_mode;
typedef enum { GS_ZEROS, GS_BORDER, GS_REFLECTION } gs_padding;

typedef struct gs_job {
    int r; /* spatial rank */
    int64_t len[GS_MAX_SPATIAL];
    double lo[GS_MAX_SPATIAL], hi[GS_MAX_SPATIAL]; /* the borders reflection uses */
    gs_mode mode;
    gs_padding padding;
    int align, single;
} gs_job;

/* Per-axis taps of one output point. */
typedef struct gs_taps {
    int n;
    int64_t idx[4]; /* -1: outside (zeros padding) */
    double w[4];
} gs_taps;

static double rd(const gs_job *j, double v)
{
    return j->single ? (double)(float)v : v;
}

/* Reflects x into [lo, hi] off the nearer border until it lies inside. */
static double reflect(double x, double lo, double hi)
{
    double range = hi - lo;
    if (!(range > 0))
        return lo;
    if (x >= lo && x <= hi)
        return x;
    double dx = x < lo ? lo - x : x - hi;
    double n = floor(dx / range), r = dx - n * range;
    int even = fmod(n, 2) == 0;
    if (x < lo)
        return even ? lo + r : hi - r;
    return even ? hi - r : lo + r;
}

static double denormalize(const gs_job *j, double n, int d)
{
    double len = (double)j->len[d];
    if (j->align)
        return rd(j, rd(j, rd(j, n + 1) / 2) * (len - 1));
    return rd(j, rd(j, rd(j, rd(j, n + 1) * len) - 1) / 2);
}

/* The input index tap i reads along axis d under the padding mode. */
static int64_t pad_index(const gs_job *j, int d, int64_t i)
{
    if (i >= 0 && i < j->len[d])
        return i;
    if (j->padding == GS_ZEROS)
        return -1;
    if (j->padding == GS_BORDER)
        return i < 0 ? 0 : j->len[d] - 1;
    int64_t k = (int64_t)reflect((double)i, j->lo[d], j->hi[d]);
    return k < 0 ? 0 : k >= j->len[d] ? j->len[d] - 1 : k;
}

static void cubic_coeffs(double t, double *w)
{
    const double a = -0.75;
    w[0] = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a;
    w[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
    w[2] = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1;
    w[3] = ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a;
}

static void axis_taps(const gs_job *j, int d, double n, gs_taps *t)
{
    double x = denormalize(j, n, d);
    if (j->mode == GS_NEAREST)
        x = rint(x);
    if (isnan(x))
        x = j->padding == GS_ZEROS ? -GS_COORD_LIMIT : 0;
    if (x < j->lo[d] || x > j->hi[d]) {
        if (j->padding == GS_BORDER)
            x = x < 0 ? 0 : x > (double)(j->len[d] - 1) ? (double)(j->len[d] - 1) : x;
        else if (j->padding == GS_REFLECTION)
            x = reflect(x, j->lo[d], j->hi[d]);
    }
    x = fmax(-GS_COORD_LIMIT, fmin(GS_COORD_LIMIT, x));
    double x0 = floor(x);
    if (j->mode == GS_NEAREST) {
        t->n = 1;
        t->idx[0] = pad_index(j, d, (int64_t)x);
        t->w[0] = 1;
        return;
    }
    if (j->mode == GS_LINEAR) {
        t->n = 2;
        t->w[0] = 1 - (x - x0);
        t->w[1] = x - x0;
    } else {
        t->n = 4;
        cubic_coeffs(x - x0, t->w);
        x0 -= 1;
    }
    for (int k = 0; k < t->n; k++)
        t->idx[k] = pad_index(j, d, (int64_t)x0 + k);
}

/* Sum over the tensor product of the axes' taps. */
static double sample(const gs_job *j, const double *map, const gs_taps *t)
{
    int k[GS_MAX_SPATIAL] = {0};
    double acc = 0;
    for (;;) {
        int64_t off = 0;
        double w = 1;
        for (int d = 0; d < j->r && w != 0; d++) {
            int64_t i = t[d].idx[k[d]];
            w *= t[d].w[k[d]];
            if (i < 0)
                w = 0;
            off = off * j->len[d] + (i < 0 ? 0 : i);
        }
        if (w != 0)
            acc += w * map[off];
        int d = j->r - 1;
        while (d >= 0 && ++k[d] == t[d].n)
            k[d--] = 0;
        if (d < 0)
            return acc;
    }
}

static kiln_status gs_attrs(const kiln_op_ctx *ctx, gs_job *j)
{
    const char *m = kiln_attr_string(ctx->node, "mode", ctx->opset >= 20 ? "linear" : "bilinear");
    const char *p = kiln_attr_string(ctx->node, "padding_mode", "zeros");
    if (!strcmp(m, "nearest"))
        j->mode = GS_NEAREST;
    else if (!strcmp(m, "linear") || !strcmp(m, "bilinear"))
        j->mode = GS_LINEAR;
    else if (!strcmp(m, "cubic") || !strcmp(m, "bicubic"))
        j->mode = GS_CUBIC;
    else
        return kiln_error(KILN_ERR_UNSUPPORTED, "GridSample mode '%s' is not supported", m);
    if (!strcmp(p, "zeros"))
        j->padding = GS_ZEROS;
    else if (!strcmp(p, "border"))
        j->padding = GS_BORDER;
    else if (!strcmp(p, "reflection"))
        j->padding = GS_REFLECTION;
    else
        return kiln_error(KILN_ERR_UNSUPPORTED, "GridSample padding_mode '%s' is not supported", p);
    j->align = kiln_attr_int(ctx->node, "align_corners", 0) != 0;
    return KILN_OK;
}

static kiln_status gs_setup(const kiln_op_ctx *ctx, gs_job *j)
{
    const kiln_tensor *x = ctx->in[0], *g = ctx->in[1], *y = ctx->out[0];
    KILN_TRY(gs_attrs(ctx, j));
    j->r = x->rank - 2;
    if (j->r < 1 || j->r > GS_MAX_SPATIAL || g->rank != x->rank || g->dims[0] != x->dims[0] ||
        g->dims[g->rank - 1] != j->r || y->rank != x->rank)
        return kiln_error(KILN_ERR_SHAPE, "GridSample needs X (N, C, D1..Dr) and grid (N, H1..Hr, r)");
    for (int d = 0; d < j->r; d++) {
        j->len[d] = x->dims[d + 2];
        j->lo[d] = j->align ? 0 : -0.5;
        j->hi[d] = j->align ? (double)j->len[d] - 1 : (double)j->len[d] - 0.5;
        if (y->dims[d + 2] != g->dims[d + 1])
            return kiln_error(KILN_ERR_INTERNAL, "GridSample output dims do not match the grid");
    }
    j->single = x->dtype != KILN_FLOAT64;
    return KILN_OK;
}

typedef struct gs_data {
    const double *x, *grid;
    double *y;
    int64_t n, c, points, map_size;
} gs_data;

static void gs_run(const gs_job *j, const gs_data *io)
{
    gs_taps t[GS_MAX_SPATIAL];
    for (int64_t n = 0; n < io->n; n++)
        for (int64_t p = 0; p < io->points; p++) {
            const double *gp = io->grid + (n * io->points + p) * j->r;
            for (int d = 0; d < j->r; d++)
                axis_taps(j, d, gp[j->r - 1 - d], &t[d]);
            for (int64_t c = 0; c < io->c; c++)
                io->y[(n * io->c + c) * io->points + p] = sample(j, io->x + (n * io->c + c) * io->map_size, t);
        }
}

kiln_status rs_grid_sample(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0], *g = ctx->in[1];
    kiln_tensor *y = ctx->out[0];
    gs_job j = {0};
    KILN_TRY(gs_setup(ctx, &j));
    if (!kiln_dtype_valid(x->dtype) || x->dtype == KILN_BOOL || kiln_dtype_is_subbyte(x->dtype))
        return kiln_unsupported_dtype(ctx, "X", x->dtype);
    int64_t c = x->dims[1], n = x->dims[0];
    gs_data io = {NULL, NULL, NULL, n, c, 0, 1};
    for (int d = 0; d < j.r; d++)
        io.map_size *= j.len[d];
    int64_t ny = kiln_tensor_numel(y);
    io.points = n * c > 0 ? ny / (n * c) : 0;
    if (io.map_size == 0 && ny > 0 && j.padding != GS_ZEROS)
        return kiln_error(KILN_ERR_SHAPE, "GridSample cannot pad an empty input");
    double *xd = NULL, *gd = NULL, *yd = NULL;
    kiln_status st = kiln_to_f64(x, ctx->max_bytes, &xd);
    if (st == KILN_OK)
        st = kiln_to_f64(g, ctx->max_bytes, &gd);
    if (st == KILN_OK)
        st = kiln_alloc_zeroed(KILN_FLOAT64, ny, ctx->max_bytes, "GridSample output", (void **)&yd);
    if (st == KILN_OK && io.map_size > 0) {
        io.x = xd;
        io.grid = gd;
        io.y = yd;
        gs_run(&j, &io);
    }
    kiln_stage_out_end(y, KILN_FLOAT64, yd, st);
    free(xd);
    free(gd);
    return st;
}

/* ---- AffineGrid ----------------------------------------------------------- */

/* Normalized coordinate of index i of an axis of length len. */
static double base_coord(int64_t i, int64_t len, int align)
{
    if (align)
        return len > 1 ? -1 + (double)i * (2.0 / (double)(len - 1)) : -1;
    double step = 2.0 / (double)len;
    return -1 + step / 2 + (double)i * step;
}

kiln_status rs_affine_grid(kiln_op_ctx *ctx)
{
    const kiln_tensor *theta = ctx->in[0];
    kiln_tensor *y = ctx->out[0];
    int r = y->rank - 2; /* spatial rank: 2 or 3 */
    int align = kiln_attr_int(ctx->node, "align_corners", 0) != 0;
    if ((r != 2 && r != 3) || theta->rank != 3 || theta->dims[0] != y->dims[0] || theta->dims[1] != r ||
        theta->dims[2] != r + 1 || y->dims[r + 1] != r)
        return kiln_error(KILN_ERR_SHAPE, "AffineGrid needs theta (N, %d, %d) for a %d-D size", r, r + 1, r);
    double *th;
    KILN_TRY(kiln_to_f64(theta, ctx->max_bytes, &th));
    int64_t points = 1;
    for (int d = 0; d < r; d++)
        points *= y->dims[d + 1];
    int64_t idx[3] = {0, 0, 0}, e = 0;
    for (int64_t n = 0; n < y->dims[0]; n++)
        for (int64_t p = 0; p < points; p++) {
            /* homogeneous point: x (innermost axis) first, then y, z, 1 */
            double h[4] = {0, 0, 0, 1};
            for (int64_t rem = p, d = r - 1; d >= 0; d--) {
                idx[d] = rem % y->dims[d + 1];
                rem /= y->dims[d + 1];
                h[r - 1 - d] = base_coord(idx[d], y->dims[d + 1], align);
            }
            h[r] = 1;
            for (int o = 0; o < r; o++) {
                const double *row = th + (n * r + o) * (r + 1);
                double v = 0;
                for (int k = 0; k <= r; k++)
                    v += row[k] * h[k];
                kiln_store_f64(y->data, y->dtype, (size_t)e++, v);
            }
        }
    free(th);
    return KILN_OK;
}
