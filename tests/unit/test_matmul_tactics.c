/*
 * test_matmul_tactics.c - the matrix-product tactics (one per sgemm
 * provider) of MatMul and Gemm against float64 on fresh random inputs:
 * single, batched (the batch split over the pool, each product on a worker)
 * and broadcast MatMuls, Gemm with transposes, alpha, beta and a bias, at 1
 * and 3 threads, outputs poisoned first; the scope a tactic sets is the
 * calling thread's only and ends with the run; float64 layers are not the
 * tactics'.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_gemm.h"
#include "conv_case.h"
#include "core/thread_pool.h"
#include "test_util.h"
#include "tune/tactic_registry.h"

typedef struct mm_case {
    const char *what;
    const char *op; /* "MatMul" or "Gemm" */
    int ra, rb;
    int64_t a[4], b[4];
    int trans_a, trans_b, bias; /* Gemm */
    float alpha, beta;
} mm_case;

static const mm_case cases[] = {
    {"matmul 37x53 by 53x29", "MatMul", 2, 2, {37, 53}, {53, 29}, 0, 0, 0, 1, 0},
    {"matmul batch 6 of 33x40 by 40x50", "MatMul", 3, 3, {6, 33, 40}, {6, 40, 50}, 0, 0, 0, 1, 0},
    {"matmul 2x3 batch broadcast against a shared B", "MatMul", 4, 2, {2, 3, 17, 64}, {64, 70}, 0, 0, 0, 1, 0},
    {"matmul 128x256 by 256x300 (tiles on the pool)", "MatMul", 2, 2, {128, 256}, {256, 300}, 0, 0, 0, 1, 0},
    {"gemm A' B' alpha 0.5 beta 2 bias", "Gemm", 2, 2, {40, 31}, {25, 40}, 1, 1, 1, 0.5f, 2.0f},
    {"gemm 96x128 by 128x72, bias", "Gemm", 2, 2, {96, 128}, {128, 72}, 0, 0, 1, 1, 1},
};

/* The float64 product: MatMul with numpy broadcasting of the batch dims,
 * or Gemm alpha * op(A) op(B) + beta * C. */
static void mm_reference(const mm_case *k, const float *a, const float *b, const float *c, const kiln_tensor *y,
                      double *ref)
{
    int64_t m = y->dims[y->rank - 2], n = y->dims[y->rank - 1];
    int64_t kk = k->trans_a ? k->a[0] : k->a[k->ra - 1];
    int64_t batches = kiln_tensor_numel(y) / (m * n);
    int64_t a_batches = 1, b_batches = 1;
    for (int d = 0; d < k->ra - 2; d++)
        a_batches *= k->a[d];
    for (int d = 0; d < k->rb - 2; d++)
        b_batches *= k->b[d];
    for (int64_t t = 0; t < batches; t++) {
        const float *at = a + (a_batches > 1 ? t : 0) * m * kk, *bt = b + (b_batches > 1 ? t : 0) * kk * n;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double acc = 0;
                for (int64_t p = 0; p < kk; p++)
                    acc += (double)(k->trans_a ? at[p * m + i] : at[i * kk + p]) *
                           (k->trans_b ? bt[j * kk + p] : bt[p * n + j]);
                ref[(t * m + i) * n + j] = strcmp(k->op, "Gemm") ? acc : k->alpha * acc + (c ? k->beta * c[j] : 0);
            }
    }
}

typedef struct mm_run {
    kiln_tensor t[4]; /* a, b, c, y */
    kiln_tensor *in[3], *out[1];
    kiln_attr attrs[4];
    kiln_node node;
    kiln_op_ctx ctx;
    double *ref;
} mm_run;

static int mm_init(const mm_case *k, mm_run *r)
{
    memset(r, 0, sizeof *r);
    int gemm = !strcmp(k->op, "Gemm");
    int64_t m = k->trans_a ? k->a[1] : k->a[k->ra - 2], n = k->trans_b ? k->b[0] : k->b[k->rb - 1];
    int64_t yd[4], cd[1] = {n};
    int yr = k->ra > k->rb ? k->ra : k->rb;
    for (int d = 0; d < yr - 2; d++)
        yd[d] = k->ra >= k->rb ? k->a[d] : k->b[d];
    yd[yr - 2] = m;
    yd[yr - 1] = n;
    int na = 0;
    if (gemm) {
        r->attrs[na++] = (kiln_attr){.name = "transA", .type = KILN_ATTR_INT, .i = k->trans_a};
        r->attrs[na++] = (kiln_attr){.name = "transB", .type = KILN_ATTR_INT, .i = k->trans_b};
        r->attrs[na++] = (kiln_attr){.name = "alpha", .type = KILN_ATTR_FLOAT, .f = k->alpha};
        r->attrs[na++] = (kiln_attr){.name = "beta", .type = KILN_ATTR_FLOAT, .f = k->beta};
    }
    r->node = (kiln_node){.name = (char *)k->what, .op_type = (char *)k->op, .domain = "", .opset = 17,
                          .n_inputs = 3, .n_outputs = 1, .n_attrs = na, .attrs = r->attrs};
    r->in[0] = &r->t[0];
    r->in[1] = &r->t[1];
    r->in[2] = gemm && k->bias ? &r->t[2] : NULL;
    r->out[0] = &r->t[3];
    int ok = alloc_tensor(&r->t[0], k->ra, k->a) && alloc_tensor(&r->t[1], k->rb, k->b) &&
             alloc_tensor(&r->t[2], 1, cd) && alloc_tensor(&r->t[3], yr, yd);
    r->ctx = (kiln_op_ctx){.node = &r->node, .opset = 17, .n_in = gemm && k->bias ? 3 : 2, .n_out = 1,
                           .in = r->in, .out = r->out, .max_bytes = (size_t)1 << 30};
    r->ref = ok ? malloc(sizeof(double) * (size_t)kiln_tensor_numel(&r->t[3])) : NULL;
    if (r->ref)
        mm_reference(k, r->t[0].data, r->t[1].data, r->in[2] ? r->t[2].data : NULL, &r->t[3], r->ref);
    return r->ref != NULL;
}

static void mm_free(mm_run *r)
{
    for (int i = 0; i < 4; i++)
        kiln_tensor_clear(&r->t[i]);
    free(r->ref);
}

static double worst;

static void test_case(const mm_case *k, int *ran)
{
    mm_run r;
    int n;
    CHECK(mm_init(k, &r));
    const kiln_tactic *t = kiln_tactics_for(k->op, &n);
    CHECK(t && n >= 1);
    for (int i = 0; r.ref && t && i < n; i++) {
        CHECK(t[i].supports(&r.ctx) && t[i].workspace(&r.ctx) == 0);
        poison(&r.t[3]);
        int before = kiln_sgemm_active();
        kiln_status st = kiln_tactic_exec(&t[i], &r.ctx);
        CHECK(st == KILN_OK && kiln_sgemm_active() == before); /* the tactic's scope ends with its run */
        double e = rel_l2(r.t[3].data, r.ref, kiln_tensor_numel(&r.t[3]));
        if (!(e <= 1e-5))
            fprintf(stderr, "%s on %s (%d threads): relative L2 %.3g\n", t[i].name, k->what,
                    kiln_thread_pool_threads(), e);
        CHECK(e <= 1e-5);
        worst = e > worst ? e : worst;
        ran[i]++;
    }
    mm_free(&r);
}

/* A float64 MatMul is not a tactic's (its products are not sgemm). */
static void test_float64_refused(void)
{
    int n;
    const kiln_tactic *t = kiln_tactics_for("MatMul", &n);
    kiln_tensor a = {0}, b = {0}, y = {0};
    int64_t d[2] = {4, 4};
    kiln_tensor_set_shape(&a, KILN_FLOAT64, 2, d);
    kiln_tensor_set_shape(&b, KILN_FLOAT64, 2, d);
    kiln_tensor_set_shape(&y, KILN_FLOAT64, 2, d);
    kiln_tensor *in[2] = {&a, &b}, *out[1] = {&y};
    kiln_node node = {.name = "f64", .op_type = "MatMul", .domain = "", .opset = 17, .n_inputs = 2, .n_outputs = 1};
    kiln_op_ctx ctx = {.node = &node, .opset = 17, .n_in = 2, .n_out = 1, .in = in, .out = out, .max_bytes = 1 << 20};
    for (int i = 0; t && i < n; i++)
        CHECK(!t[i].supports(&ctx));
}

int main(void)
{
    int ran[8] = {0}, n = 0;
    kiln_tactics_for("MatMul", &n);
    CHECK(n == kiln_sgemm_num_providers()); /* one tactic per provider this build has */
    for (int threads = 1; threads <= 3; threads += 2) {
        CHECK(kiln_thread_pool_set_threads(threads) == KILN_OK);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            test_case(&cases[i], ran);
    }
    for (int i = 0; i < n && i < 8; i++)
        CHECK(ran[i] == 2 * (int)(sizeof cases / sizeof cases[0]));
    test_float64_refused();
    printf("%d tactics, largest relative L2 error %.3g\n", n, worst);
    return test_summary();
}
