/*
 * resize_sample_plan.c - Resize's per-axis sampling plans: for every output
 * index of an axis, the input indices it reads and their weights.
 *
 * This follows ONNX's reference implementation step by step, in double
 * precision: the source coordinate x of output index y per
 * coordinate_transformation_mode; then a window of n taps (n even) that
 * starts at floor(x) - n/2 + 1, or at x - n/2 when x is an integer, with
 * ratio = x - floor(x) (1 when x is an integer); the weights of the mode
 * (antialiased filters stretch by 1/scale when downsampling);
 * exclude_outside; and finally indices clamped into the input, which is
 * the reference's edge padding.
 */
#include <math.h>
#include <stdlib.h>

#include "backends/cpu/ops/resize_sample_internal.h"

/* Coordinates past this are clamped before converting to integers. */
#define RS_COORD_LIMIT 4e18
/* The widest antialiasing filter accepted. */
#define RS_MAX_TAPS (1 << 24)

void rs_axis_free(rs_axis *a)
{
    free(a->idx);
    free(a->w);
    free(a->outside);
    a->idx = NULL;
    a->w = NULL;
    a->outside = NULL;
}

/* math.isclose(a, b) with its default tolerances. */
static int is_close(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b));
}

/* The source coordinate of output index y. The reference uses the
 * fractional output width scale * in, not the integer extent. */
static double source_coord(const kiln_resize_params *p, int d, double y, int64_t in, int64_t out)
{
    double s = p->scale[d], ow = s * (double)in, in1 = (double)(in - 1);
    switch (p->coord) {
    case RS_ALIGN_CORNERS:
        return ow == 1 ? 0 : y * in1 / (ow - 1);
    case RS_ASYMMETRIC:
        return y / s;
    case RS_TF_HALF_PIXEL_FOR_NN:
        return (y + 0.5) / s;
    case RS_TF_CROP_AND_RESIZE: {
        double a = p->roi_start[d], b = p->roi_end[d];
        double x = ow == 1 ? (b - a) * in1 / 2 : y * (b - a) * in1 / (ow - 1);
        return x + a * in1;
    }
    case RS_PYTORCH_HALF_PIXEL:
        /* 0 for a single output, as the spec and onnxruntime say (the
         * ONNX reference uses -0.5) */
        return ow == 1 ? 0 : (y + 0.5) / s - 0.5;
    case RS_HALF_PIXEL_SYMMETRIC: {
        double adjustment = (double)out / ow, center = (double)in / 2;
        return center * (1 - adjustment) + (y + 0.5) / s - 0.5;
    }
    default:
        return (y + 0.5) / s - 0.5;
    }
}

/* Taps per output index: 2 for nearest (one gets weight 1), 2 for linear,
 * 4 for cubic; antialiased filters widen with 1 / scale. A double, as a
 * tiny scale could make it too large for an integer. */
static double tap_count(const kiln_resize_params *p, double s)
{
    int aa = p->antialias && s < 1;
    switch (p->mode) {
    case RS_LINEAR:
        return aa ? 2 - 2 * (floor(-1 / s) + 1) : 2;
    case RS_CUBIC:
        return aa ? 2 - 2 * (floor(-2 / s) + 1) : 4;
    default:
        return 2;
    }
}

static double cubic_kernel(double x, double a)
{
    x = fabs(x);
    if (x <= 1)
        return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2)
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0;
}

/* Antialiased weights: the filter stretched by 1 / s, normalized. Tap k
 * sits at distance (first + k - ratio) from the source coordinate. */
static void antialias_weights(const kiln_resize_params *p, double ratio, double s, int64_t n, double *w)
{
    int64_t first = 1 - n / 2;
    double sum = 0;
    for (int64_t k = 0; k < n; k++) {
        double t = ((double)(first + k) - ratio) * s;
        w[k] = p->mode == RS_LINEAR ? fmax(0, fmin(1, 1 - fabs(t))) : cubic_kernel(t, p->cubic_a);
        sum += w[k];
    }
    for (int64_t k = 0; k < n; k++)
        w[k] /= sum;
}

static void cubic_weights(double r, double a, double *w)
{
    w[0] = ((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a;
    w[1] = ((a + 2) * r - (a + 3)) * r * r + 1;
    w[2] = ((a + 2) * (1 - r) - (a + 3)) * (1 - r) * (1 - r) + 1;
    w[3] = ((a * ((1 - r) + 1) - 5 * a) * ((1 - r) + 1) + 8 * a) * ((1 - r) + 1) - 4 * a;
}

/* Nearest: the chosen tap of the window [floor(x), floor(x) + 1] (or
 * [x - 1, x] for an integer x, which always takes x). */
static int nearest_second(const kiln_resize_params *p, double ratio, double s)
{
    if (ratio == 1)
        return 1;
    switch (p->nearest) {
    case RS_ROUND_PREFER_CEIL:
        return ratio >= 0.5;
    case RS_FLOOR:
        return 0;
    case RS_CEIL:
        return 1;
    case RS_SIMPLE:
        return s < 1;
    default:
        return ratio > 0.5;
    }
}

static void tap_weights(const kiln_resize_params *p, double ratio, double s, int64_t n, double *w)
{
    if (p->mode == RS_NEAREST) {
        w[1] = nearest_second(p, ratio, s);
        w[0] = 1 - w[1];
    } else if (p->antialias && s < 1) {
        antialias_weights(p, ratio, s, n, w);
    } else if (p->mode == RS_LINEAR) {
        w[0] = 1 - ratio;
        w[1] = ratio;
    } else {
        cubic_weights(ratio, p->cubic_a, w);
    }
}

/* Weights of taps outside the input become 0; the rest are renormalized. */
static void exclude_outside(int64_t start, int64_t n, int64_t in, double *w)
{
    double sum = 0;
    for (int64_t k = 0; k < n; k++) {
        if (start + k < 0 || start + k >= in)
            w[k] = 0;
        sum += w[k];
    }
    for (int64_t k = 0; sum != 0 && k < n; k++)
        w[k] /= sum;
}

static int64_t clamp_index(int64_t i, int64_t in)
{
    return i < 0 ? 0 : i >= in ? in - 1 : i;
}

/* Fills the taps of output index y; nearest keeps only the chosen tap. */
static void plan_index(const kiln_resize_params *p, int d, int64_t y, int64_t n, rs_axis *a, double *w)
{
    double s = p->scale[d];
    double x = source_coord(p, d, (double)y, a->in, a->out);
    x = fmax(-RS_COORD_LIMIT, fmin(RS_COORD_LIMIT, x));
    double fx = floor(x);
    double ratio = x == fx ? 1.0 : x - fx;
    /* The reference places the window from x + n/2 (its edge padding),
     * whose rounding can differ from x's: follow it. */
    double xp = x + (double)(n / 2), fp = floor(xp);
    int64_t start = (int64_t)fp - n / 2 + (xp == fp ? -(n / 2) : 1 - n / 2);
    a->outside[y] = p->coord == RS_TF_CROP_AND_RESIZE && (x < 0 || x > (double)(a->in - 1));
    tap_weights(p, ratio, s, n, w);
    if (p->exclude_outside)
        exclude_outside(start, n, a->in, w);
    int64_t *idx = a->idx + y * a->taps;
    double *wo = a->w + y * a->taps;
    if (p->mode == RS_NEAREST) {
        int k = nearest_second(p, ratio, s);
        idx[0] = clamp_index(start + k, a->in);
        wo[0] = w[k];
        return;
    }
    for (int64_t k = 0; k < n; k++) {
        idx[k] = clamp_index(start + k, a->in);
        wo[k] = w[k];
    }
}

static kiln_status plan_alloc(rs_axis *a, size_t max_bytes, size_t wbytes)
{
    size_t n = (size_t)a->out * (size_t)a->taps;
    if (n / (size_t)a->taps != (size_t)a->out || n > max_bytes / 16 || wbytes > max_bytes)
        return kiln_error(KILN_ERR_LIMIT, "the Resize sampling plan is too large (%lld x %d taps)", (long long)a->out,
                          a->taps);
    a->idx = malloc(n * sizeof *a->idx + 1);
    a->w = malloc(n * sizeof *a->w + 1);
    a->outside = malloc((size_t)a->out + 1);
    if (!a->idx || !a->w || !a->outside) {
        rs_axis_free(a);
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "cannot allocate the Resize sampling plan");
    }
    return KILN_OK;
}

kiln_status rs_plan_axis(const kiln_resize_params *p, int d, int64_t in, size_t max_bytes, rs_axis *a)
{
    double s = p->scale[d];
    *a = (rs_axis){in, p->out_dims[d], 1, 0, NULL, NULL, NULL};
    int trivial_roi = p->coord != RS_TF_CROP_AND_RESIZE || (p->roi_start[d] == 0 && is_close(p->roi_end[d], 1));
    if (a->out == in && is_close(s, 1) && trivial_roi) {
        a->identity = 1;
        return KILN_OK;
    }
    if (a->out == 0)
        return KILN_OK; /* nothing to sample */
    if (in <= 0 || !(s > 0))
        return in == 0 && a->out == 0
                   ? KILN_OK
                   : kiln_error(KILN_ERR_SHAPE, "cannot resize axis %d of extent %lld", d, (long long)in);
    double taps = tap_count(p, s);
    if (!(taps <= RS_MAX_TAPS))
        return kiln_error(KILN_ERR_LIMIT, "scale %g of axis %d needs too wide an antialiasing filter", s, d);
    int64_t n = (int64_t)taps;
    a->taps = p->mode == RS_NEAREST ? 1 : (int)n;
    KILN_TRY(plan_alloc(a, max_bytes, (size_t)n * sizeof(double)));
    double *w = malloc((size_t)n * sizeof *w);
    if (!w) {
        rs_axis_free(a);
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "cannot allocate Resize weights");
    }
    for (int64_t y = 0; y < a->out; y++)
        plan_index(p, d, y, n, a, w);
    free(w);
    return KILN_OK;
}
