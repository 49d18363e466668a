/*
 * pass_fuse_gelu.c - fuses GELU written out as exporters do into ONNX Gelu
 * (opset 20):
 *   x * 0.5 * (1 + Erf(x / sqrt(2)))        -> Gelu(x)
 *   x * 0.5 * (1 + Tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))
 *                                           -> Gelu(x, approximate = "tanh")
 * x / sqrt(2) may be Mul(x, 1 / sqrt(2)); x^3 is Pow(x, 3) or x * (x * x);
 * the product of x, 0.5 and (1 + ...) may be associated either way and every
 * commutative op may have its operands in either order. Constants are
 * scalars matched within 1e-4 (relative).
 */
#include <math.h>
#include <string.h>

#include "passes/pattern_match.h"

#define GELU_MIN_OPSET 20
#define SQRT_2 1.4142135623730951
#define SQRT_2_OVER_PI 0.7978845608028654
#define GELU_CUBIC 0.044715

typedef struct gelu_match {
    kiln_pm_chain c;
    int x;
    int tanh;
} gelu_match;

/* n is a two-input `op` with one input a scalar constant near c: the other. */
static int by_const(const kiln_graph *g, int n, const char *op, double c)
{
    if (n < 0 || !kiln_pm_is(&g->nodes[n], op) || g->nodes[n].n_inputs != 2)
        return -1;
    const int *in = g->nodes[n].inputs;
    return kiln_pm_scalar_near(g, in[1], c) ? in[0] : kiln_pm_scalar_near(g, in[0], c) ? in[1] : -1;
}

/* The private producer of v (read only by `reader`), pushed onto the chain. */
static int private_producer(const kiln_graph *g, const kiln_uses *u, int v, int reader, gelu_match *m)
{
    int p = kiln_pm_producer(g, v, NULL);
    if (p < 0 || kiln_pm_reader(g, u, v, NULL) != reader)
        return -1;
    kiln_pm_push(&m->c, p);
    return p;
}

/* Erf's input: x / sqrt(2) or x * (1 / sqrt(2)); sets m->x. */
static int match_erf_arg(const kiln_graph *g, const kiln_uses *u, int erf, gelu_match *m)
{
    int p = private_producer(g, u, g->nodes[erf].inputs[0], erf, m);
    if (p >= 0 && kiln_pm_is(&g->nodes[p], "Div") && kiln_pm_scalar_near(g, g->nodes[p].inputs[1], SQRT_2))
        m->x = g->nodes[p].inputs[0];
    else
        m->x = by_const(g, p, "Mul", 1.0 / SQRT_2);
    return m->x >= 0;
}

/* x^3 as Pow(x, 3) or x * (x * x), the product in either order. */
static int match_cube(const kiln_graph *g, const kiln_uses *u, int v, int reader, int x, gelu_match *m)
{
    int p = private_producer(g, u, v, reader, m);
    if (p < 0)
        return 0;
    const kiln_node *n = &g->nodes[p];
    if (kiln_pm_is(n, "Pow"))
        return n->inputs[0] == x && kiln_pm_scalar_near(g, n->inputs[1], 3.0);
    int sq = kiln_pm_is(n, "Mul") ? kiln_pm_other(n, x) : -1;
    int sq_node = sq >= 0 ? private_producer(g, u, sq, p, m) : -1;
    if (sq_node < 0 || !kiln_pm_is(&g->nodes[sq_node], "Mul"))
        return 0;
    return g->nodes[sq_node].inputs[0] == x && g->nodes[sq_node].inputs[1] == x;
}

/* Tanh's input: sqrt(2 / pi) * (x + 0.044715 * x^3); sets m->x. */
static int match_tanh_arg(const kiln_graph *g, const kiln_uses *u, int tanh, gelu_match *m)
{
    int p = private_producer(g, u, g->nodes[tanh].inputs[0], tanh, m);
    int inner = by_const(g, p, "Mul", SQRT_2_OVER_PI);
    int add = inner >= 0 ? private_producer(g, u, inner, p, m) : -1;
    if (add < 0 || !kiln_pm_is(&g->nodes[add], "Add") || g->nodes[add].n_inputs != 2)
        return 0;
    for (int k = 0; k < 2; k++) {
        int x = g->nodes[add].inputs[k], cubic = g->nodes[add].inputs[1 - k];
        int cn = kiln_pm_producer(g, cubic, "Mul");
        int cube = by_const(g, cn, "Mul", GELU_CUBIC);
        int mark = m->c.n;
        if (cube >= 0 && private_producer(g, u, cubic, add, m) >= 0 && match_cube(g, u, cube, cn, x, m)) {
            m->x = x;
            return 1;
        }
        m->c.n = mark;
    }
    return 0;
}

/* The product of x, 0.5 and a = (1 + f) in any association; pushes its Muls
 * and sets the chain's output. */
static int match_product(const kiln_graph *g, const kiln_uses *u, int a, gelu_match *m)
{
    int m1 = kiln_pm_reader(g, u, a, "Mul");
    int o1 = m1 >= 0 ? kiln_pm_other(&g->nodes[m1], a) : -1;
    if (o1 < 0)
        return 0;
    int v1 = g->nodes[m1].outputs[0];
    int m0 = kiln_pm_producer(g, o1, "Mul");
    if (m0 >= 0 && kiln_pm_reader(g, u, o1, "Mul") == m1 && by_const(g, m0, "Mul", 0.5) == m->x) {
        kiln_pm_push(&m->c, m0); /* (x * 0.5) * a */
        kiln_pm_push(&m->c, m1);
        m->c.out = v1;
        return 1;
    }
    int m2 = kiln_pm_reader(g, u, v1, "Mul");
    if (m2 < 0)
        return 0;
    int ok = o1 == m->x ? by_const(g, m2, "Mul", 0.5) == v1             /* (x * a) * 0.5 */
                        : kiln_pm_scalar_near(g, o1, 0.5) && kiln_pm_other(&g->nodes[m2], v1) == m->x;
    kiln_pm_push(&m->c, m1);
    kiln_pm_push(&m->c, m2);
    m->c.out = g->nodes[m2].outputs[0];
    return ok;
}

/* From the Erf or Tanh node f. */
static int match_gelu(const kiln_graph *g, const kiln_uses *u, int f, gelu_match *m)
{
    memset(m, 0, sizeof *m);
    m->x = -1;
    m->tanh = kiln_pm_is(&g->nodes[f], "Tanh");
    if (!(m->tanh ? match_tanh_arg(g, u, f, m) : match_erf_arg(g, u, f, m)))
        return 0;
    kiln_pm_push(&m->c, f);
    int add = kiln_pm_reader(g, u, g->nodes[f].outputs[0], "Add");
    if (by_const(g, add, "Add", 1.0) != g->nodes[f].outputs[0])
        return 0;
    kiln_pm_push(&m->c, add);
    if (!match_product(g, u, g->nodes[add].outputs[0], m) || !kiln_pm_chain_ok(&m->c))
        return 0;
    const kiln_value *xv = &g->values[m->x];
    return kiln_pm_std_float(xv->dtype) && xv->rank >= 0 && g->values[m->c.out].rank == xv->rank;
}

kiln_status kiln_pass_fuse_gelu(kiln_pass_ctx *ctx, int *changed)
{
    kiln_graph *g = ctx->g;
    kiln_uses u;
    KILN_TRY(kiln_uses_build(g, &u));
    kiln_status st = KILN_OK;
    for (int i = 0, end = g->n_nodes; i < end && st == KILN_OK; i++) {
        gelu_match m;
        const kiln_node *n = &g->nodes[i];
        if (!(kiln_pm_is(n, "Erf") || kiln_pm_is(n, "Tanh")) || !match_gelu(g, &u, i, &m))
            continue;
        int gelu = -1;
        st = kiln_pm_replace(ctx, "fuse_gelu", &m.c, "Gelu", GELU_MIN_OPSET, &m.x, 1, &gelu);
        if (st == KILN_OK && m.tanh)
            st = kiln_node_set_string(g, gelu, "approximate", "tanh");
        *changed = 1;
    }
    kiln_uses_free(&u);
    return st;
}
