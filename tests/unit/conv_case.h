/*
 * conv_case.h - what the conv tests (test_tactics, test_onednn) share: a
 * Conv/FusedConv case (geometry, bias, residual, fused activation with its
 * alpha and beta), never-zero random fills, its node and tensors with an op
 * context over them, the float64 reference (every fused activation and the
 * residual add), NaN poisoning of outputs and the relative L2 error.
 */
#ifndef KILN_TEST_CONV_CASE_H
#define KILN_TEST_CONV_CASE_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "kiln.h"
#include "tune/tactic_registry.h"

typedef struct conv_case {
    const char *what;
    int64_t n, c, h, w, m, kh, kw;
    int64_t group, stride, dilation;
    int64_t pads[4]; /* top, left, bottom, right */
    int bias, residual;
    const char *act; /* NULL: a plain Conv; "": FusedConv without activation */
    float alpha, beta;
} conv_case;

static uint64_t rng = 0x9e3779b97f4a7c15ull;

/* Uniform in [-1, -0.05] or [0.05, 1]: never zero. */
static inline float nonzero_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    float u = (float)((double)(rng >> 11) / 9007199254740992.0);
    float v = 0.05f + 0.95f * u;
    return (rng & 1) ? v : -v;
}

static inline void fill(kiln_tensor *t)
{
    for (int64_t i = 0; i < kiln_tensor_numel(t); i++)
        ((float *)t->data)[i] = nonzero_random();
}

/* NaN in every element, so that one never written shows. */
static inline void poison(kiln_tensor *t)
{
    for (int64_t i = 0; i < kiln_tensor_numel(t); i++)
        ((float *)t->data)[i] = NAN;
}

static inline int alloc_tensor(kiln_tensor *t, int rank, const int64_t *dims)
{
    kiln_tensor_set_shape(t, KILN_FLOAT32, rank, dims);
    if (kiln_tensor_alloc(t, (size_t)1 << 30, "test tensor") != KILN_OK)
        return 0;
    fill(t);
    return 1;
}

static inline int64_t out_extent(int64_t in, int64_t k, int64_t s, int64_t d, int64_t p0, int64_t p1)
{
    return (in + p0 + p1 - d * (k - 1) - 1) / s + 1;
}

static inline double activation(const conv_case *k, double x)
{
    const char *a = k->act ? k->act : "";
    if (!strcmp(a, "Relu"))
        return x > 0 ? x : 0;
    if (!strcmp(a, "LeakyRelu"))
        return x >= 0 ? x : k->alpha * x;
    if (!strcmp(a, "Clip"))
        return x < k->alpha ? k->alpha : x > k->beta ? k->beta : x;
    if (!strcmp(a, "Sigmoid"))
        return 1 / (1 + exp(-x));
    if (!strcmp(a, "HardSigmoid"))
        return fmax(0, fmin(1, k->alpha * x + k->beta));
    if (!strcmp(a, "HardSwish"))
        return x * fmax(0, fmin(1, x / 6 + 0.5));
    if (!strcmp(a, "Tanh"))
        return tanh(x);
    if (!strcmp(a, "Gelu"))
        return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    if (!strcmp(a, "GeluTanh"))
        return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    if (!strcmp(a, "Swish"))
        return x / (1 + exp(-x));
    return x;
}

/* act(conv(x, w) + b + z) in float64. */
static inline void reference(const conv_case *k, kiln_tensor *const *in, const kiln_tensor *y, double *ref)
{
    const float *x = in[0]->data, *w = in[1]->data, *b = k->bias ? in[2]->data : NULL;
    const float *z = k->residual ? in[3]->data : NULL;
    int64_t oh = y->dims[2], ow = y->dims[3], cg = k->c / k->group, mg = k->m / k->group;
    for (int64_t n = 0; n < k->n; n++)
        for (int64_t m = 0; m < k->m; m++)
            for (int64_t r = 0; r < oh; r++)
                for (int64_t col = 0; col < ow; col++) {
                    double acc = b ? b[m] : 0.0;
                    for (int64_t ch = 0; ch < cg; ch++)
                        for (int64_t i = 0; i < k->kh; i++)
                            for (int64_t j = 0; j < k->kw; j++) {
                                int64_t yi = r * k->stride - k->pads[0] + i * k->dilation;
                                int64_t xi = col * k->stride - k->pads[1] + j * k->dilation;
                                if (yi < 0 || yi >= k->h || xi < 0 || xi >= k->w)
                                    continue;
                                int64_t c_in = (m / mg) * cg + ch;
                                acc += (double)x[((n * k->c + c_in) * k->h + yi) * k->w + xi] *
                                       w[((m * cg + ch) * k->kh + i) * k->kw + j];
                            }
                    int64_t o = ((n * k->m + m) * oh + r) * ow + col;
                    ref[o] = activation(k, z ? acc + z[o] : acc);
                }
}

/* Relative L2 error of y against ref; infinite when y has a non-finite
 * element (a poisoned one that was never written). */
static inline double rel_l2(const float *y, const double *ref, int64_t n)
{
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(y[i]))
            return INFINITY;
        num += (y[i] - ref[i]) * (y[i] - ref[i]);
        den += ref[i] * ref[i];
    }
    return sqrt(num / (den > 0 ? den : 1));
}

typedef struct conv_node {
    kiln_attr attrs[8];
    int64_t kernel[2], strides[2], dilations[2], pads[4];
    kiln_node node;
} conv_node;

static inline void make_node(const conv_case *k, conv_node *cn)
{
    int na = 0;
    memset(cn, 0, sizeof *cn);
    cn->kernel[0] = k->kh;
    cn->kernel[1] = k->kw;
    cn->strides[0] = cn->strides[1] = k->stride;
    cn->dilations[0] = cn->dilations[1] = k->dilation;
    memcpy(cn->pads, k->pads, sizeof cn->pads);
    cn->attrs[na++] = (kiln_attr){.name = "kernel_shape", .type = KILN_ATTR_INTS, .n = 2, .ints = cn->kernel};
    cn->attrs[na++] = (kiln_attr){.name = "strides", .type = KILN_ATTR_INTS, .n = 2, .ints = cn->strides};
    cn->attrs[na++] = (kiln_attr){.name = "dilations", .type = KILN_ATTR_INTS, .n = 2, .ints = cn->dilations};
    cn->attrs[na++] = (kiln_attr){.name = "pads", .type = KILN_ATTR_INTS, .n = 4, .ints = cn->pads};
    cn->attrs[na++] = (kiln_attr){.name = "group", .type = KILN_ATTR_INT, .i = k->group};
    if (k->act) {
        cn->attrs[na++] =
            (kiln_attr){.name = "activation", .type = KILN_ATTR_STRING, .s = (char *)k->act, .s_len = strlen(k->act)};
        cn->attrs[na++] = (kiln_attr){.name = "activation_alpha", .type = KILN_ATTR_FLOAT, .f = k->alpha};
        cn->attrs[na++] = (kiln_attr){.name = "activation_beta", .type = KILN_ATTR_FLOAT, .f = k->beta};
    }
    cn->node = (kiln_node){.name = (char *)k->what,
                           .op_type = k->act ? "FusedConv" : "Conv",
                           .domain = k->act ? "kiln" : "",
                           .opset = k->act ? 1 : 17,
                           .n_inputs = 4,
                           .n_outputs = 1,
                           .n_attrs = na,
                           .attrs = cn->attrs};
}

/* One case ready to run: its tensors t (x, w, b, z, y; all filled at
 * random), the node, a context over them (b and z absent where the case has
 * none) and room for the reference output. Not to be moved once set up. */
typedef struct conv_run {
    kiln_tensor t[5];
    kiln_tensor *in[4], *out[1];
    conv_node cn;
    kiln_op_ctx ctx;
    double *ref;
} conv_run;

/* Sets r up for k; 0 when out of memory (conv_run_free is due either way). */
static inline int conv_run_init(const conv_case *k, conv_run *r)
{
    int64_t oh = out_extent(k->h, k->kh, k->stride, k->dilation, k->pads[0], k->pads[2]);
    int64_t ow = out_extent(k->w, k->kw, k->stride, k->dilation, k->pads[1], k->pads[3]);
    int64_t xd[4] = {k->n, k->c, k->h, k->w}, wd[4] = {k->m, k->c / k->group, k->kh, k->kw}, bd[1] = {k->m};
    int64_t yd[4] = {k->n, k->m, oh, ow};
    memset(r, 0, sizeof *r);
    r->in[0] = &r->t[0];
    r->in[1] = &r->t[1];
    r->in[2] = k->bias ? &r->t[2] : NULL;
    r->in[3] = k->residual ? &r->t[3] : NULL;
    r->out[0] = &r->t[4];
    make_node(k, &r->cn);
    int ok = alloc_tensor(&r->t[0], 4, xd) && alloc_tensor(&r->t[1], 4, wd) && alloc_tensor(&r->t[2], 1, bd) &&
             alloc_tensor(&r->t[3], 4, yd) && alloc_tensor(&r->t[4], 4, yd);
    r->ref = ok ? malloc(sizeof(double) * (size_t)kiln_tensor_numel(&r->t[4])) : NULL;
    r->ctx = (kiln_op_ctx){.node = &r->cn.node,
                           .opset = r->cn.node.opset,
                           .n_in = 4,
                           .n_out = 1,
                           .in = r->in,
                           .out = r->out,
                           .max_bytes = (size_t)1 << 30};
    return r->ref != NULL;
}

static inline void conv_run_free(conv_run *r)
{
    free(r->ref);
    for (int i = 0; i < 5; i++)
        kiln_tensor_clear(&r->t[i]);
}

#endif
