/*
 * resize_sample_roi.c - CPU kernels for RoiAlign and NonMaxSuppression.
 *
 * RoiAlign follows ONNX's reference (onnxruntime's algorithm): every
 * output bin averages (or, for mode "max", takes the largest weighted
 * corner of) a grid of bilinear samples; the sample positions and weights
 * depend only on the ROI, so they are computed once per ROI and reused for
 * every channel.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/ops/resize_sample_internal.h"
#include "backends/cpu/cpu_util.h"

/* Samples per bin side past this are refused (a ROI of absurd size). */
#define ROI_MAX_GRID (1 << 16)

typedef struct roi_sample {
    int64_t pos[4];
    double w[4];
} roi_sample;

typedef struct roi_job {
    int64_t height, width, ph, pw;
    double spatial_scale;
    int64_t sampling_ratio;
    int half_pixel, max_mode;
} roi_job;

typedef struct roi_geom {
    double start_h, start_w, bin_h, bin_w;
    int64_t grid_h, grid_w;
} roi_geom;

/* Bilinear sample at (y, x): 4 corner offsets and weights; all weights 0
 * when the point lies more than one pixel outside the map. */
static void bilinear_sample(const roi_job *j, double y, double x, roi_sample *s)
{
    memset(s, 0, sizeof *s);
    if (y < -1.0 || y > (double)j->height || x < -1.0 || x > (double)j->width)
        return;
    y = y > 0 ? y : 0;
    x = x > 0 ? x : 0;
    int64_t y_lo = (int64_t)y, x_lo = (int64_t)x, y_hi, x_hi;
    if (y_lo >= j->height - 1) {
        y_hi = y_lo = j->height - 1;
        y = (double)y_lo;
    } else {
        y_hi = y_lo + 1;
    }
    if (x_lo >= j->width - 1) {
        x_hi = x_lo = j->width - 1;
        x = (double)x_lo;
    } else {
        x_hi = x_lo + 1;
    }
    double ly = y - (double)y_lo, lx = x - (double)x_lo, hy = 1 - ly, hx = 1 - lx;
    s->pos[0] = y_lo * j->width + x_lo;
    s->pos[1] = y_lo * j->width + x_hi;
    s->pos[2] = y_hi * j->width + x_lo;
    s->pos[3] = y_hi * j->width + x_hi;
    s->w[0] = hy * hx;
    s->w[1] = hy * lx;
    s->w[2] = ly * hx;
    s->w[3] = ly * lx;
}

static kiln_status roi_geometry(const roi_job *j, const double *box, roi_geom *g)
{
    double off = j->half_pixel ? 0.5 : 0.0;
    double sw = box[0] * j->spatial_scale - off, sh = box[1] * j->spatial_scale - off;
    double ew = box[2] * j->spatial_scale - off, eh = box[3] * j->spatial_scale - off;
    double rw = ew - sw, rh = eh - sh;
    if (!j->half_pixel) {
        rw = rw > 1 ? rw : 1;
        rh = rh > 1 ? rh : 1;
    }
    g->start_h = sh;
    g->start_w = sw;
    g->bin_h = rh / (double)j->ph;
    g->bin_w = rw / (double)j->pw;
    double gh = j->sampling_ratio > 0 ? (double)j->sampling_ratio : ceil(rh / (double)j->ph);
    double gw = j->sampling_ratio > 0 ? (double)j->sampling_ratio : ceil(rw / (double)j->pw);
    if (!(fabs(gh) <= ROI_MAX_GRID) || !(fabs(gw) <= ROI_MAX_GRID))
        return kiln_error(KILN_ERR_LIMIT, "a ROI gives %g x %g samples per bin; they must be finite and at most %d", gh,
                          gw, ROI_MAX_GRID);
    g->grid_h = (int64_t)gh;
    g->grid_w = (int64_t)gw;
    return KILN_OK;
}

/* The samples of every bin of one ROI, bin after bin. */
static void roi_samples(const roi_job *j, const roi_geom *g, roi_sample *out)
{
    for (int64_t ph = 0; ph < j->ph; ph++)
        for (int64_t pw = 0; pw < j->pw; pw++)
            for (int64_t iy = 0; iy < g->grid_h; iy++) {
                double y = g->start_h + (double)ph * g->bin_h + ((double)iy + 0.5) * g->bin_h / (double)g->grid_h;
                for (int64_t ix = 0; ix < g->grid_w; ix++) {
                    double x = g->start_w + (double)pw * g->bin_w + ((double)ix + 0.5) * g->bin_w / (double)g->grid_w;
                    bilinear_sample(j, y, x, out++);
                }
            }
}

static double pool_bin(const roi_job *j, const double *map, const roi_sample *s, int64_t n, int64_t count)
{
    double acc = 0;
    for (int64_t k = 0; k < n; k++, s++) {
        if (!j->max_mode) {
            acc += s->w[0] * map[s->pos[0]] + s->w[1] * map[s->pos[1]] + s->w[2] * map[s->pos[2]] +
                   s->w[3] * map[s->pos[3]];
            continue;
        }
        double v = s->w[0] * map[s->pos[0]];
        for (int c = 1; c < 4; c++)
            v = fmax(v, s->w[c] * map[s->pos[c]]);
        acc = k == 0 ? v : fmax(acc, v);
    }
    return j->max_mode ? acc : acc / (double)count;
}

typedef struct roi_io {
    const double *x, *rois;
    double *y;
    const kiln_tensor *batch;
    int64_t n_batch, channels;
} roi_io;

static kiln_status run_rois(const roi_job *j, const roi_io *io, int64_t n_rois, size_t max_bytes)
{
    for (int64_t r = 0; r < n_rois; r++) {
        int64_t b = kiln_load_i64(io->batch->data, io->batch->dtype, (size_t)r);
        if (b < 0 || b >= io->n_batch)
            return kiln_error(KILN_ERR_SHAPE, "batch index %lld of ROI %lld is outside [0, %lld)", (long long)b,
                              (long long)r, (long long)io->n_batch);
        roi_geom g = {0};
        KILN_TRY(roi_geometry(j, io->rois + r * 4, &g));
        int64_t per_bin = g.grid_h > 0 && g.grid_w > 0 ? g.grid_h * g.grid_w : 0;
        int64_t count = g.grid_h * g.grid_w > 1 ? g.grid_h * g.grid_w : 1;
        double n_samples = (double)per_bin * (double)j->ph * (double)j->pw;
        if (n_samples * (double)sizeof(roi_sample) > (double)max_bytes)
            return kiln_error(KILN_ERR_LIMIT, "ROI %lld needs %g samples, too many", (long long)r, n_samples);
        roi_sample *s = malloc((size_t)n_samples * sizeof *s + 1);
        if (!s)
            return kiln_error(KILN_ERR_OUT_OF_MEMORY, "cannot allocate RoiAlign samples");
        roi_samples(j, &g, s);
        for (int64_t c = 0; c < io->channels; c++) {
            const double *map = io->x + (b * io->channels + c) * j->height * j->width;
            double *out = io->y + (r * io->channels + c) * j->ph * j->pw;
            for (int64_t k = 0; k < j->ph * j->pw; k++)
                out[k] = pool_bin(j, map, s + k * per_bin, per_bin, count);
        }
        free(s);
    }
    return KILN_OK;
}

static kiln_status roi_attrs(const kiln_op_ctx *ctx, roi_job *j)
{
    const kiln_node *n = ctx->node;
    const char *mode = kiln_attr_string(n, "mode", "avg");
    const char *ctm =
        kiln_attr_string(n, "coordinate_transformation_mode", ctx->opset >= 16 ? "half_pixel" : "output_half_pixel");
    if (strcmp(mode, "avg") && strcmp(mode, "max"))
        return kiln_error(KILN_ERR_UNSUPPORTED, "RoiAlign mode '%s' is not supported", mode);
    if (strcmp(ctm, "half_pixel") && strcmp(ctm, "output_half_pixel"))
        return kiln_error(KILN_ERR_UNSUPPORTED, "coordinate_transformation_mode '%s' is not supported", ctm);
    j->max_mode = !strcmp(mode, "max");
    j->half_pixel = !strcmp(ctm, "half_pixel");
    j->ph = kiln_attr_int(n, "output_height", 1);
    j->pw = kiln_attr_int(n, "output_width", 1);
    j->sampling_ratio = kiln_attr_int(n, "sampling_ratio", 0);
    j->spatial_scale = kiln_attr_float(n, "spatial_scale", 1.0f);
    if (j->ph <= 0 || j->pw <= 0 || j->sampling_ratio < 0 || j->sampling_ratio > ROI_MAX_GRID)
        return kiln_error(KILN_ERR_SHAPE, "RoiAlign needs positive output sizes and a sampling_ratio >= 0");
    return KILN_OK;
}

kiln_status rs_roi_align(kiln_op_ctx *ctx)
{
    const kiln_tensor *x = ctx->in[0], *rois = ctx->in[1], *bi = ctx->in[2];
    kiln_tensor *y = ctx->out[0];
    roi_job j = {0};
    KILN_TRY(roi_attrs(ctx, &j));
    if (x->rank != 4 || rois->rank != 2 || rois->dims[1] != 4 || kiln_tensor_numel(bi) != rois->dims[0] ||
        y->rank != 4 || y->dims[0] != rois->dims[0] || y->dims[1] != x->dims[1] || y->dims[2] != j.ph ||
        y->dims[3] != j.pw)
        return kiln_error(KILN_ERR_SHAPE, "RoiAlign needs X (N, C, H, W), rois (R, 4) and batch_indices (R)");
    j.height = x->dims[2];
    j.width = x->dims[3];
    roi_io io = {NULL, NULL, NULL, bi, x->dims[0], x->dims[1]};
    double *xd = NULL, *rd = NULL, *yd = NULL;
    kiln_status st = kiln_to_f64(x, ctx->max_bytes, &xd);
    if (st == KILN_OK)
        st = kiln_to_f64(rois, ctx->max_bytes, &rd);
    if (st == KILN_OK)
        st = kiln_alloc_zeroed(KILN_FLOAT64, kiln_tensor_numel(y), ctx->max_bytes, "RoiAlign output", (void **)&yd);
    if (st == KILN_OK && j.height > 0 && j.width > 0) {
        io.x = xd;
        io.rois = rd;
        io.y = yd;
        st = run_rois(&j, &io, rois->dims[0], ctx->max_bytes);
    }
    kiln_stage_out_end(y, KILN_FLOAT64, yd, st);
    free(xd);
    free(rd);
    return st;
}

kiln_status rs_non_max_suppression(kiln_op_ctx *ctx)
{
    kiln_tensor *y = ctx->out[0];
    int64_t count;
    KILN_TRY(kiln_nms_run(ctx, NULL, &count));
    if (y->rank != 2 || y->dims[0] != count || y->dims[1] != 3 || y->dtype != KILN_INT64)
        return kiln_error(KILN_ERR_INTERNAL, "NonMaxSuppression output is not (%lld, 3) int64", (long long)count);
    return kiln_nms_run(ctx, y->data, &count);
}
