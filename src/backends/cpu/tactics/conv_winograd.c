/*
 * conv_winograd.c - Winograd F(2x2, 3x3) for 3x3, stride-1, dilation-1,
 * ungrouped float32 convolutions: every 4x4 input tile d and 3x3 filter g
 * are transformed (V = B^T d B, U = G g G^T), the 16 element-wise products
 * summed over channels become 16 sgemms (M x C) * (C x tiles), and each
 * 4x4 product m gives a 2x2 output tile A^T m A. The workspace holds U, V,
 * the products and a few rows of scratch.
 */
#include <cblas.h>
#include <string.h>

#include "backends/cpu/tactics/conv_tactics.h"
#include "core/thread_pool.h"
#include "backends/cpu/cpu_gemm.h"

/* Floats after the products that four-tile reads may touch past the last. */
#define PROD_SLACK 4

static bool winograd_shape(const kiln_op_ctx *ctx, kiln_ct_conv *c)
{
    if (!kiln_ct_basic(ctx, c) || c->group != 1 || c->channels < 1 || c->filters < 1)
        return false;
    for (int i = 0; i < 2; i++)
        if (c->win.kernel[i] != 3 || c->win.stride[i] != 1 || c->win.dilation[i] != 1)
            return false;
    return c->batch > 0 && c->channels <= INT32_MAX && c->filters <= INT32_MAX;
}

static int64_t n_tiles(const kiln_ct_conv *c)
{
    return c->batch * ((c->win.out[0] + 1) / 2) * ((c->win.out[1] + 1) / 2);
}

/* Split input rows (eight halves of tw + 8) or output rows (two, 2 * tw
 * wide): enough for either. */
static int64_t scratch_floats(const kiln_ct_conv *c)
{
    return 8 * ((c->win.out[1] + 1) / 2 + 8);
}

bool kiln_ct_winograd_supports(const kiln_op_ctx *ctx)
{
    kiln_ct_conv c;
    return winograd_shape(ctx, &c) && n_tiles(&c) <= INT32_MAX;
}

size_t kiln_ct_winograd_workspace(const kiln_op_ctx *ctx)
{
    kiln_ct_conv c;
    if (!winograd_shape(ctx, &c))
        return 0;
    int64_t p = n_tiles(&c);
    return (size_t)(16 * (c.filters * c.channels + c.channels * p + c.filters * p) + PROD_SLACK +
                    scratch_floats(&c) * kiln_thread_pool_threads()) *
           sizeof(float);
}

/* U[e][m][ch] = (G g G^T)[e] for every filter m and channel ch. */
static void transform_filters(const kiln_ct_conv *c, float *u)
{
    int64_t mc = c->filters * c->channels;
    for (int64_t f = 0; f < mc; f++) {
        const float *g = c->w + f * 9;
        float t[4][3], r[4][4];
        for (int j = 0; j < 3; j++) {
            t[0][j] = g[j];
            t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
            t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
            t[3][j] = g[6 + j];
        }
        for (int i = 0; i < 4; i++) {
            r[i][0] = t[i][0];
            r[i][1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
            r[i][2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
            r[i][3] = t[i][2];
        }
        for (int e = 0; e < 16; e++)
            u[e * mc + f] = r[e / 4][e % 4];
    }
}

/* Four tiles at a time: GCC / Clang vector extensions (SSE, NEON, or
 * scalar code where the target has neither). */
typedef float v4f __attribute__((vector_size(16)));

static v4f load4(const float *p)
{
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The first n (1..4) lanes of v to p. */
static void store_lanes(float *p, v4f v, int64_t n)
{
    memcpy(p, &v, (size_t)(n < 4 ? n : 4) * sizeof(float));
}

/* Row yi of plane from input column x0, zero-padded and split: even[k] is
 * column x0 + 2k, odd[k] column x0 + 2k + 1, for k < half. */
static void split_row(const kiln_window *w, const float *plane, int64_t yi, int64_t x0, int64_t half, float *even,
                      float *odd)
{
    for (int64_t k = 0; k < 2 * half; k++) {
        int64_t xi = x0 + k;
        float v = yi >= 0 && yi < w->in[0] && xi >= 0 && xi < w->in[1] ? plane[yi * w->in[1] + xi] : 0.0f;
        (k % 2 ? odd : even)[k / 2] = v;
    }
}

/* V[e][ch][p] = (B^T d B)[e] for the tiles of one tile row, four at a time:
 * the split input rows give d[i][0..3] = ev[i][tx], od[i][tx], ev[i][tx + 1],
 * od[i][tx + 1]. */
static void transform_tile_row(const float *rows, int64_t half, int64_t tw, int64_t cp, float *o)
{
    for (int64_t tx = 0; tx < tw; tx += 4) {
        v4f d[4][4], t[4][4];
        for (int i = 0; i < 4; i++) {
            const float *ev = rows + 2 * i * half, *od = ev + half;
            d[i][0] = load4(ev + tx);
            d[i][1] = load4(od + tx);
            d[i][2] = load4(ev + tx + 1);
            d[i][3] = load4(od + tx + 1);
        }
        for (int j = 0; j < 4; j++) {
            t[0][j] = d[0][j] - d[2][j];
            t[1][j] = d[1][j] + d[2][j];
            t[2][j] = d[2][j] - d[1][j];
            t[3][j] = d[1][j] - d[3][j];
        }
        for (int i = 0; i < 4; i++) {
            store_lanes(o + (i * 4 + 0) * cp + tx, t[i][0] - t[i][2], tw - tx);
            store_lanes(o + (i * 4 + 1) * cp + tx, t[i][1] + t[i][2], tw - tx);
            store_lanes(o + (i * 4 + 2) * cp + tx, t[i][2] - t[i][1], tw - tx);
            store_lanes(o + (i * 4 + 3) * cp + tx, t[i][1] - t[i][3], tw - tx);
        }
    }
}

/* Split input rows: tw + 8 columns a half, so four tiles may read past the
 * last one. */
static int64_t split_half(int64_t tw)
{
    return tw + 8;
}

/* One convolution's buffers in the workspace; rows holds each thread's
 * scratch. */
typedef struct wino_job {
    const kiln_ct_conv *c;
    float *u, *v, *prod, *rows;
} wino_job;

/* V[e][ch][p] for the input planes [begin, end) (image * channels +
 * channel) and every tile p of theirs. */
static void transform_inputs(void *user, int64_t begin, int64_t end, int thread)
{
    const wino_job *j = user;
    const kiln_ct_conv *c = j->c;
    const kiln_window *w = &c->win;
    int64_t th = (w->out[0] + 1) / 2, tw = (w->out[1] + 1) / 2, p_all = n_tiles(c), cp = c->channels * p_all;
    int64_t half = split_half(tw);
    float *rows = j->rows + thread * scratch_floats(c);
    for (int64_t q = begin; q < end; q++) {
        int64_t b = q / c->channels, ch = q % c->channels;
        const float *plane = c->x + q * w->in[0] * w->in[1];
        for (int64_t ty = 0; ty < th; ty++) {
            for (int i = 0; i < 4; i++)
                split_row(w, plane, 2 * ty - w->pad_begin[0] + i, -w->pad_begin[1], half, rows + 2 * i * half,
                          rows + (2 * i + 1) * half);
            transform_tile_row(rows, half, tw, cp, j->v + ch * p_all + (b * th + ty) * tw);
        }
    }
}

/* Two output rows (2 * tw wide, in out0 and out1) of one filter from the
 * products of one tile row s (stride mp between the 16 products), four
 * tiles at a time (reading up to three products past the row: PROD_SLACK
 * covers the last). */
static void output_tile_row(const float *s, int64_t tw, int64_t mp, float bias, float *out0, float *out1)
{
    for (int64_t tx = 0; tx < tw; tx += 4) {
        v4f t[2][4], y[4];
        for (int j = 0; j < 4; j++) {
            v4f a = load4(s + j * mp + tx), b = load4(s + (4 + j) * mp + tx), c = load4(s + (8 + j) * mp + tx);
            t[0][j] = a + b + c;
            t[1][j] = b - c - load4(s + (12 + j) * mp + tx);
        }
        y[0] = t[0][0] + t[0][1] + t[0][2] + bias;
        y[1] = t[0][1] - t[0][2] - t[0][3] + bias;
        y[2] = t[1][0] + t[1][1] + t[1][2] + bias;
        y[3] = t[1][1] - t[1][2] - t[1][3] + bias;
        for (int64_t l = 0; l < 4 && tx + l < tw; l++) {
            out0[2 * (tx + l)] = y[0][l];
            out0[2 * (tx + l) + 1] = y[1][l];
            out1[2 * (tx + l)] = y[2][l];
            out1[2 * (tx + l) + 1] = y[3][l];
        }
    }
}

/* y = A^T m A + bias for the output planes [begin, end) (image * filters
 * + filter), cut at the plane's edge. */
static void transform_outputs(void *user, int64_t begin, int64_t end, int thread)
{
    const wino_job *j = user;
    const kiln_ct_conv *c = j->c;
    const kiln_window *w = &c->win;
    int64_t oh = w->out[0], ow = w->out[1], th = (oh + 1) / 2, tw = (ow + 1) / 2, p_all = n_tiles(c);
    int64_t mp = c->filters * p_all;
    float *rows = j->rows + thread * scratch_floats(c);
    for (int64_t q = begin; q < end; q++) {
        int64_t b = q / c->filters, m = q % c->filters;
        float *plane = c->y + q * oh * ow, bias = c->b ? c->b[m] : 0.0f;
        for (int64_t ty = 0; ty < th; ty++) {
            output_tile_row(j->prod + m * p_all + (b * th + ty) * tw, tw, mp, bias, rows, rows + 2 * tw);
            memcpy(plane + 2 * ty * ow, rows, (size_t)ow * sizeof(float));
            if (2 * ty + 1 < oh)
                memcpy(plane + (2 * ty + 1) * ow, rows + 2 * tw, (size_t)ow * sizeof(float));
        }
    }
}

kiln_status kiln_ct_winograd_core(const kiln_ct_conv *c, void *workspace)
{
    int64_t p = n_tiles(c), m = c->filters, ch = c->channels;
    wino_job j = {c, workspace, NULL, NULL, NULL};
    j.v = j.u + 16 * m * ch;
    j.prod = j.v + 16 * ch * p;
    j.rows = j.prod + 16 * m * p + PROD_SLACK;
    transform_filters(c, j.u);
    kiln_parallel_for(c->batch * ch, transform_inputs, &j);
    for (int e = 0; e < 16; e++)
        kiln_sgemm(0, 0, m, p, ch, 1.0f, j.u + e * m * ch, ch, j.v + e * ch * p, p, 0.0f, j.prod + e * m * p, p);
    kiln_parallel_for(c->batch * m, transform_outputs, &j);
    return KILN_OK;
}
