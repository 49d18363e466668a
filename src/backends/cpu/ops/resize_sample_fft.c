/*
 * resize_sample_fft.c - CPU kernels for DFT and STFT, on a small FFT:
 * iterative radix-2 for power-of-two lengths, Bluestein's chirp-z
 * algorithm (a power-of-two convolution) for every other length, both in
 * double precision.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/ops/resize_sample_internal.h"
#include "backends/cpu/cpu_util.h"

typedef struct fft_plan {
    int64_t n, m;                /* m: the power-of-two size the radix-2 passes run on */
    double *tw_re, *tw_im;       /* exp(-2 pi i k / m), k < m / 2 */
    double *chirp_re, *chirp_im; /* Bluestein: exp(-i pi t^2 / n), t < n */
    double *b_re, *b_im;         /* Bluestein: FFT of the conjugate chirp (m values) */
    double *w_re, *w_im;         /* Bluestein work (m values) */
} fft_plan;

#define FFT_PI 3.14159265358979323846

static int is_pow2(int64_t n)
{
    return n > 0 && (n & (n - 1)) == 0;
}

static void fft_free(fft_plan *p)
{
    free(p->tw_re);
    free(p->tw_im);
    free(p->chirp_re);
    free(p->chirp_im);
    free(p->b_re);
    free(p->b_im);
    free(p->w_re);
    free(p->w_im);
    memset(p, 0, sizeof *p);
}

/* In place, length m (a power of two); inverse: conjugate twiddles, no
 * scaling. */
static void radix2(const fft_plan *p, double *re, double *im, int inverse)
{
    int64_t m = p->m;
    for (int64_t i = 1, j = 0; i < m; i++) {
        int64_t bit = m >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j |= bit;
        if (i < j) {
            double t = re[i];
            re[i] = re[j];
            re[j] = t;
            t = im[i];
            im[i] = im[j];
            im[j] = t;
        }
    }
    for (int64_t len = 2; len <= m; len <<= 1) {
        int64_t half = len / 2, step = m / len;
        for (int64_t s = 0; s < m; s += len)
            for (int64_t k = 0; k < half; k++) {
                double wr = p->tw_re[k * step], wi = inverse ? -p->tw_im[k * step] : p->tw_im[k * step];
                int64_t a = s + k, b = a + half;
                double xr = re[b] * wr - im[b] * wi, xi = re[b] * wi + im[b] * wr;
                re[b] = re[a] - xr;
                im[b] = im[a] - xi;
                re[a] += xr;
                im[a] += xi;
            }
    }
}

static double *alloc_d(int64_t n)
{
    return malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
}

/* The Bluestein tables: chirp and the transformed conjugate chirp. */
static void bluestein_tables(fft_plan *p)
{
    int64_t n = p->n, m = p->m;
    for (int64_t t = 0; t < n; t++) {
        /* t^2 mod 2n keeps the angle accurate for long transforms */
        double a = FFT_PI * (double)((t * t) % (2 * n)) / (double)n;
        p->chirp_re[t] = cos(a);
        p->chirp_im[t] = -sin(a);
    }
    for (int64_t t = 0; t < m; t++)
        p->b_re[t] = p->b_im[t] = 0;
    for (int64_t t = 0; t < n; t++) {
        p->b_re[t] = p->chirp_re[t];
        p->b_im[t] = -p->chirp_im[t];
        if (t > 0) {
            p->b_re[m - t] = p->b_re[t];
            p->b_im[m - t] = p->b_im[t];
        }
    }
    radix2(p, p->b_re, p->b_im, 0);
}

static kiln_status fft_init(fft_plan *p, int64_t n, size_t max_bytes)
{
    memset(p, 0, sizeof *p);
    p->n = n;
    p->m = 1;
    while (p->m < (is_pow2(n) ? n : 2 * n - 1))
        p->m <<= 1;
    if ((uint64_t)p->m > max_bytes / (8 * sizeof(double)))
        return kiln_error(KILN_ERR_LIMIT, "a DFT of length %lld needs too much memory", (long long)n);
    p->tw_re = alloc_d(p->m / 2);
    p->tw_im = alloc_d(p->m / 2);
    int blue = !is_pow2(n);
    if (blue) {
        p->chirp_re = alloc_d(n);
        p->chirp_im = alloc_d(n);
        p->b_re = alloc_d(p->m);
        p->b_im = alloc_d(p->m);
        p->w_re = alloc_d(p->m);
        p->w_im = alloc_d(p->m);
    }
    if (!p->tw_re || !p->tw_im ||
        (blue && (!p->chirp_re || !p->chirp_im || !p->b_re || !p->b_im || !p->w_re || !p->w_im))) {
        fft_free(p);
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "cannot allocate a DFT plan");
    }
    for (int64_t k = 0; k < p->m / 2; k++) {
        p->tw_re[k] = cos(2 * FFT_PI * (double)k / (double)p->m);
        p->tw_im[k] = -sin(2 * FFT_PI * (double)k / (double)p->m);
    }
    if (blue)
        bluestein_tables(p);
    return KILN_OK;
}

/* Forward transform of n values in place (no scaling). */
static void fft_forward(const fft_plan *p, double *re, double *im)
{
    if (!p->chirp_re) {
        radix2(p, re, im, 0);
        return;
    }
    int64_t n = p->n, m = p->m;
    for (int64_t t = 0; t < m; t++) {
        double cr = t < n ? p->chirp_re[t] : 0, ci = t < n ? p->chirp_im[t] : 0;
        double xr = t < n ? re[t] : 0, xi = t < n ? im[t] : 0;
        p->w_re[t] = xr * cr - xi * ci;
        p->w_im[t] = xr * ci + xi * cr;
    }
    radix2(p, p->w_re, p->w_im, 0);
    for (int64_t t = 0; t < m; t++) {
        double ar = p->w_re[t], ai = p->w_im[t];
        p->w_re[t] = ar * p->b_re[t] - ai * p->b_im[t];
        p->w_im[t] = ar * p->b_im[t] + ai * p->b_re[t];
    }
    radix2(p, p->w_re, p->w_im, 1);
    for (int64_t k = 0; k < n; k++) {
        double cr = p->w_re[k] / (double)m, ci = p->w_im[k] / (double)m;
        re[k] = cr * p->chirp_re[k] - ci * p->chirp_im[k];
        im[k] = cr * p->chirp_im[k] + ci * p->chirp_re[k];
    }
}

/* Inverse transform (no scaling): conj(FFT(conj(x))). */
static void fft_inverse(const fft_plan *p, double *re, double *im)
{
    for (int64_t k = 0; k < p->n; k++)
        im[k] = -im[k];
    fft_forward(p, re, im);
    for (int64_t k = 0; k < p->n; k++)
        im[k] = -im[k];
}

/* ---- DFT ------------------------------------------------------------------ */

typedef struct dft_job {
    kiln_dft_params p;
    int64_t outer, inner, len_in; /* input viewed as outer x len_in x inner x c_in */
    int c_in;
    const double *x;
    double *y;
    double *re, *im; /* one line, n values */
} dft_job;

static void load_line(const dft_job *j, int64_t o, int64_t i, int64_t take)
{
    for (int64_t t = 0; t < j->p.n; t++) {
        j->re[t] = j->im[t] = 0;
        if (t >= take)
            continue;
        const double *v = j->x + ((o * j->len_in + t) * j->inner + i) * j->c_in;
        j->re[t] = v[0];
        j->im[t] = j->c_in == 2 ? v[1] : 0;
    }
}

/* numpy's irfft: the first n/2 + 1 values are one half of a Hermitian
 * spectrum (imaginary parts of the DC and Nyquist terms are dropped). */
static void hermitian_fill(const dft_job *j)
{
    int64_t n = j->p.n;
    j->im[0] = 0;
    if (n % 2 == 0)
        j->im[n / 2] = 0;
    for (int64_t k = 1; k < (n + 1) / 2; k++) {
        j->re[n - k] = j->re[k];
        j->im[n - k] = -j->im[k];
    }
}

static void dft_line(const dft_job *j, const fft_plan *plan, int64_t o, int64_t i)
{
    int64_t n = j->p.n, half = n / 2 + 1;
    int irfft = j->p.inverse && j->p.onesided;
    load_line(j, o, i, irfft ? (j->len_in < half ? j->len_in : half) : (j->len_in < n ? j->len_in : n));
    if (irfft)
        hermitian_fill(j);
    if (j->p.inverse)
        fft_inverse(plan, j->re, j->im);
    else
        fft_forward(plan, j->re, j->im);
    double scale = j->p.inverse ? 1.0 / (double)n : 1.0;
    for (int64_t k = 0; k < j->p.out_len; k++) {
        double *out = j->y + ((o * j->p.out_len + k) * j->inner + i) * j->p.out_last;
        out[0] = j->re[k] * scale;
        if (j->p.out_last == 2)
            out[1] = j->im[k] * scale;
    }
}

static kiln_status dft_setup(kiln_op_ctx *ctx, dft_job *j)
{
    const kiln_tensor *x = ctx->in[0];
    KILN_TRY(kiln_dft_params_parse(ctx, &j->p));
    if (j->p.axis < 0 || j->p.n < 1)
        return kiln_error(KILN_ERR_INTERNAL, "DFT parameters are not known");
    j->c_in = (int)x->dims[x->rank - 1];
    j->len_in = x->dims[j->p.axis];
    j->outer = 1;
    j->inner = 1;
    for (int d = 0; d < j->p.axis; d++)
        j->outer *= x->dims[d];
    for (int d = j->p.axis + 1; d < x->rank - 1; d++)
        j->inner *= x->dims[d];
    return KILN_OK;
}

static kiln_status dft_execute(kiln_op_ctx *ctx, dft_job *j)
{
    fft_plan plan;
    KILN_TRY(fft_init(&plan, j->p.n, ctx->max_bytes));
    j->re = alloc_d(j->p.n);
    j->im = alloc_d(j->p.n);
    kiln_status st = j->re && j->im ? KILN_OK : kiln_error(KILN_ERR_OUT_OF_MEMORY, "cannot allocate a DFT line");
    for (int64_t o = 0; st == KILN_OK && o < j->outer; o++)
        for (int64_t i = 0; i < j->inner; i++)
            dft_line(j, &plan, o, i);
    free(j->re);
    free(j->im);
    fft_free(&plan);
    return st;
}

kiln_status rs_dft(kiln_op_ctx *ctx)
{
    dft_job j = {0};
    KILN_TRY(dft_setup(ctx, &j));
    kiln_tensor *y = ctx->out[0];
    double *x = NULL, *yd = NULL;
    kiln_status st = kiln_to_f64(ctx->in[0], ctx->max_bytes, &x);
    if (st == KILN_OK)
        st = kiln_alloc_zeroed(KILN_FLOAT64, kiln_tensor_numel(y), ctx->max_bytes, "DFT output", (void **)&yd);
    if (st == KILN_OK) {
        j.x = x;
        j.y = yd;
        st = dft_execute(ctx, &j);
    }
    kiln_stage_out_end(y, KILN_FLOAT64, yd, st);
    free(x);
    return st;
}

/* ---- STFT ----------------------------------------------------------------- */

typedef struct stft_job {
    kiln_stft_params p;
    int64_t batch, len;
    int c_in;
    const double *x, *window; /* window: NULL for a rectangular one */
    double *y;
} stft_job;

static void stft_frames(const stft_job *j, const fft_plan *plan, double *re, double *im)
{
    int64_t fl = j->p.frame_length;
    for (int64_t b = 0; b < j->batch; b++)
        for (int64_t f = 0; f < j->p.frames; f++) {
            for (int64_t t = 0; t < fl; t++) {
                const double *v = j->x + (b * j->len + f * j->p.step + t) * j->c_in;
                double w = j->window ? j->window[t] : 1;
                re[t] = v[0] * w;
                im[t] = j->c_in == 2 ? v[1] * w : 0;
            }
            fft_forward(plan, re, im);
            double *out = j->y + (b * j->p.frames + f) * j->p.bins * 2;
            for (int64_t k = 0; k < j->p.bins; k++) {
                out[2 * k] = re[k];
                out[2 * k + 1] = im[k];
            }
        }
}

static kiln_status stft_execute(kiln_op_ctx *ctx, stft_job *j)
{
    fft_plan plan;
    KILN_TRY(fft_init(&plan, j->p.frame_length, ctx->max_bytes));
    double *re = alloc_d(j->p.frame_length), *im = alloc_d(j->p.frame_length);
    kiln_status st = re && im ? KILN_OK : kiln_error(KILN_ERR_OUT_OF_MEMORY, "cannot allocate an STFT frame");
    if (st == KILN_OK)
        stft_frames(j, &plan, re, im);
    free(re);
    free(im);
    fft_free(&plan);
    return st;
}

kiln_status rs_stft(kiln_op_ctx *ctx)
{
    stft_job j = {0};
    const kiln_tensor *x = ctx->in[0], *w = ctx->n_in > 2 ? ctx->in[2] : NULL;
    kiln_tensor *y = ctx->out[0];
    KILN_TRY(kiln_stft_params_parse(ctx, &j.p));
    if (j.p.step < 1 || j.p.frame_length < 1 || j.p.frames < 0)
        return kiln_error(KILN_ERR_INTERNAL, "STFT parameters are not known");
    if (j.p.frames > 0 && j.p.frame_length > x->dims[1])
        return kiln_error(KILN_ERR_SHAPE, "frame_length %lld exceeds the signal's %lld samples",
                          (long long)j.p.frame_length, (long long)x->dims[1]);
    j.batch = x->dims[0];
    j.len = x->dims[1];
    j.c_in = (int)x->dims[2];
    double *xd = NULL, *wd = NULL, *yd = NULL;
    kiln_status st = kiln_to_f64(x, ctx->max_bytes, &xd);
    if (st == KILN_OK && w)
        st = kiln_to_f64(w, ctx->max_bytes, &wd);
    if (st == KILN_OK)
        st = kiln_alloc_zeroed(KILN_FLOAT64, kiln_tensor_numel(y), ctx->max_bytes, "DFT output", (void **)&yd);
    if (st == KILN_OK) {
        j.x = xd;
        j.window = wd;
        j.y = yd;
        st = stft_execute(ctx, &j);
    }
    kiln_stage_out_end(y, KILN_FLOAT64, yd, st);
    free(xd);
    free(wd);
    return st;
}
