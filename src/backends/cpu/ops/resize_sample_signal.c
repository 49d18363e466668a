/*
 * resize_sample_signal.c - CPU kernels for HannWindow, HammingWindow,
 * BlackmanWindow and MelWeightMatrix, following ONNX's reference formulas
 * (computed in double, then stored in the requested output type).
 */
#include <math.h>
#include <stdlib.h>

#include "backends/cpu/ops/resize_sample_internal.h"
#include "backends/cpu/cpu_util.h"

#define SIG_PI 3.14159265358979323846

typedef enum { WIN_HANN, WIN_HAMMING, WIN_BLACKMAN } win_kind;

static double window_value(win_kind kind, double n, double n1)
{
    switch (kind) {
    case WIN_HANN: {
        double s = sin(n * SIG_PI / n1);
        return s * s;
    }
    case WIN_HAMMING:
        return 25.0 / 46.0 - cos(n * SIG_PI * 2 / n1) * (1 - 25.0 / 46.0);
    default:
        return cos(n * (SIG_PI * 2) / n1) * -0.5 + cos(n * (SIG_PI * 4) / n1) * 0.08 + 0.42;
    }
}

static kiln_status run_window(kiln_op_ctx *ctx, win_kind kind)
{
    kiln_tensor *y = ctx->out[0];
    int64_t size = y->rank == 1 ? y->dims[0] : -1;
    if (size < 0 || kiln_load_i64(ctx->in[0]->data, ctx->in[0]->dtype, 0) != size)
        return kiln_error(KILN_ERR_INTERNAL, "window output does not have the requested size");
    int periodic = kiln_attr_int(ctx->node, "periodic", 1) != 0;
    double n1 = (double)(periodic ? size : size - 1);
    for (int64_t i = 0; i < size; i++)
        /* a symmetric window of one value would divide 0 by 0: it is 1 */
        kiln_store_f64(y->data, y->dtype, (size_t)i, n1 > 0 ? window_value(kind, (double)i, n1) : 1.0);
    return KILN_OK;
}

kiln_status rs_hann_window(kiln_op_ctx *ctx)
{
    return run_window(ctx, WIN_HANN);
}
kiln_status rs_hamming_window(kiln_op_ctx *ctx)
{
    return run_window(ctx, WIN_HAMMING);
}
kiln_status rs_blackman_window(kiln_op_ctx *ctx)
{
    return run_window(ctx, WIN_BLACKMAN);
}

/* ---- MelWeightMatrix ------------------------------------------------------ */

/* numpy's floor division of doubles (npy_divmod). */
static double floor_divide(double a, double b)
{
    double mod = fmod(a, b);
    if (b == 0)
        return a / b;
    double div = (a - mod) / b;
    if (mod != 0 && (b < 0) != (mod < 0))
        div -= 1.0;
    if (div == 0)
        return copysign(0.0, a / b);
    double fl = floor(div);
    return div - fl > 0.5 ? fl + 1.0 : fl;
}

/* The mel value of an edge in hertz. For float32 edges the first steps
 * run in float32, as the reference's numpy scalars do. */
static double hz_to_mel(double hz, int single)
{
    if (single) {
        float m = 2595.0f * log1pf((float)hz / 700.0f);
        return (double)m / log(10.0);
    }
    return 2595 * log1p(hz / 700) / log(10.0);
}

typedef struct mel_job {
    int64_t mel_bins, dft_length, sample_rate, spec_bins;
    double lower, upper;
    int single;
} mel_job;

/* The spectrogram bin of mel band edge i (num_mel_bins + 2 edges). */
static int64_t edge_bin(const mel_job *j, int64_t i)
{
    double low = hz_to_mel(j->lower, j->single), high = hz_to_mel(j->upper, j->single);
    double step = (high - low) / (double)(j->mel_bins + 2);
    double hz = 700 * expm1(((double)i * step + low) / 2595 * log(10.0));
    double bin = floor_divide((double)(j->dft_length + 1) * hz, (double)j->sample_rate);
    if (!(fabs(bin) < 4e18))
        return -1;
    return (int64_t)bin;
}

static void set_weight(const mel_job *j, double *w, int64_t row, int64_t col, double v)
{
    if (row >= 0 && row < j->spec_bins)
        w[row * j->mel_bins + col] = v;
}

static void mel_triangles(const mel_job *j, double *w)
{
    for (int64_t i = 0; i < j->mel_bins; i++) {
        int64_t lo = edge_bin(j, i), center = edge_bin(j, i + 1), hi = edge_bin(j, i + 2);
        int64_t up = center - lo, down = hi - center;
        if (up == 0)
            set_weight(j, w, center, i, 1);
        for (int64_t k = lo > 0 ? lo : 0; up != 0 && k <= center && k < j->spec_bins; k++)
            set_weight(j, w, k, i, (double)(k - lo) / (double)up);
        for (int64_t k = center > 0 ? center : 0; down > 0 && k < hi && k < j->spec_bins; k++)
            set_weight(j, w, k, i, (double)(hi - k) / (double)down);
    }
}

kiln_status rs_mel_weight_matrix(kiln_op_ctx *ctx)
{
    kiln_tensor *y = ctx->out[0];
    mel_job j;
    j.mel_bins = kiln_load_i64(ctx->in[0]->data, ctx->in[0]->dtype, 0);
    j.dft_length = kiln_load_i64(ctx->in[1]->data, ctx->in[1]->dtype, 0);
    j.sample_rate = kiln_load_i64(ctx->in[2]->data, ctx->in[2]->dtype, 0);
    j.lower = kiln_load_f64(ctx->in[3]->data, ctx->in[3]->dtype, 0);
    j.upper = kiln_load_f64(ctx->in[4]->data, ctx->in[4]->dtype, 0);
    j.single = ctx->in[3]->dtype != KILN_FLOAT64;
    j.spec_bins = j.dft_length / 2 + 1;
    if (j.sample_rate <= 0)
        return kiln_error(KILN_ERR_SHAPE, "sample_rate %lld must be positive", (long long)j.sample_rate);
    if (y->rank != 2 || y->dims[0] != j.spec_bins || y->dims[1] != j.mel_bins)
        return kiln_error(KILN_ERR_INTERNAL, "MelWeightMatrix output is not (%lld, %lld)", (long long)j.spec_bins,
                          (long long)j.mel_bins);
    double *w;
    KILN_TRY(kiln_alloc_zeroed(KILN_FLOAT64, j.spec_bins * j.mel_bins, ctx->max_bytes, "MelWeightMatrix", (void **)&w));
    mel_triangles(&j, w);
    kiln_stage_out_end(y, KILN_FLOAT64, w, KILN_OK);
    return KILN_OK;
}
