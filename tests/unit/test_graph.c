/*
 * test_graph.c - IR verification, topological order and shape inference
 * (symbolic dims through an exporter-style Shape -> Reshape chain).
 */
#include <stdlib.h>

#include "ir/graph.h"
#include "ir/shape_infer.h"
#include "ir/verify.h"
#include "runtime/executor.h"
#include "test_util.h"

static int value(kiln_graph *g, const char *name)
{
    int id = -1;
    kiln_graph_value(g, name, &id);
    return id;
}

static int node(kiln_graph *g, const char *op, int n_in, const int *in, int n_out, const int *out)
{
    int idx = -1;
    kiln_graph_add_node(g, op, "", op, n_in, in, n_out, out, &idx);
    for (int k = 0; k < n_out; k++)
        g->values[out[k]].producer = idx;
    g->nodes[idx].opset = 17;
    return idx;
}

static kiln_tensor *int64_const(const int64_t *v, int n, int rank)
{
    kiln_tensor *t = calloc(1, sizeof *t);
    int64_t dims[1] = {n};
    kiln_tensor_set_shape(t, KILN_INT64, rank, dims);
    kiln_tensor_alloc(t, SIZE_MAX, "const");
    for (int i = 0; i < n; i++)
        ((int64_t *)t->data)[i] = v[i];
    return t;
}

static void test_cycle_and_producers(void)
{
    kiln_graph *g;
    CHECK(kiln_graph_create(&g) == KILN_OK);
    int a = value(g, "a"), b = value(g, "b"), x = value(g, "x");
    g->values[x].dtype = KILN_FLOAT32;
    kiln_graph_add_input(g, x);
    int in1[] = {x, b}, in2[] = {a};
    node(g, "Add", 2, in1, 1, &a);
    node(g, "Relu", 1, in2, 1, &b);
    kiln_graph_add_output(g, b);
    CHECK_ERR(kiln_graph_verify(g, NULL), KILN_ERR_GRAPH, "cycle");
    kiln_graph_free(g);

    CHECK(kiln_graph_create(&g) == KILN_OK);
    int y = value(g, "y"), ghost = value(g, "ghost");
    node(g, "Relu", 1, &ghost, 1, &y);
    kiln_graph_add_output(g, y);
    CHECK_ERR(kiln_graph_verify(g, NULL), KILN_ERR_GRAPH, "'ghost' has no producer");
    kiln_graph_free(g);

    CHECK(kiln_graph_create(&g) == KILN_OK);
    x = value(g, "x");
    y = value(g, "y");
    kiln_graph_add_input(g, x);
    node(g, "Relu", 1, &x, 1, &y);
    node(g, "Neg", 1, &x, 1, &y);
    CHECK_ERR(kiln_graph_verify(g, NULL), KILN_ERR_GRAPH, "produced more than once");
    kiln_graph_free(g);
}

static void test_topo_order(void)
{
    kiln_graph *g;
    CHECK(kiln_graph_create(&g) == KILN_OK);
    int v[5];
    char name[8];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "v%d", i);
        v[i] = value(g, name);
    }
    kiln_graph_add_input(g, v[0]);
    /* nodes added in reverse order of the chain v0 -> v1 -> ... -> v4 */
    for (int i = 3; i >= 0; i--)
        node(g, "Relu", 1, &v[i], 1, &v[i + 1]);
    int order[4];
    CHECK(kiln_graph_topo_order(g, order) == KILN_OK);
    for (int i = 0; i < 4; i++)
        CHECK(g->nodes[order[i]].inputs[0] == v[i]);
    kiln_graph_free(g);
}

/* x[batch, 3, 8] -> Relu -> Reshape(y, concat(unsqueeze(shape(y)[0]), [-1])) -> z[batch, 24] */
static void test_symbolic_reshape_chain(void)
{
    kiln_graph *g;
    CHECK(kiln_graph_create(&g) == KILN_OK);
    g->opset = 17;
    int sym;
    kiln_graph_symbol(g, "batch", &sym);
    int x = value(g, "x"), y = value(g, "y"), s = value(g, "s"), i0 = value(g, "i0"), b = value(g, "b");
    int ax = value(g, "ax"), b1 = value(g, "b1"), m1 = value(g, "m1"), t = value(g, "t"), z = value(g, "z");
    int64_t xdims[] = {KILN_DIM_SYMBOL(sym), 3, 8};
    g->values[x].dtype = KILN_FLOAT32;
    g->values[x].rank = 3;
    for (int d = 0; d < 3; d++)
        g->values[x].dims[d] = xdims[d];
    kiln_graph_add_input(g, x);
    int64_t zero = 0, minus1 = -1;
    g->values[i0].constant = int64_const(&zero, 1, 0);
    g->values[ax].constant = int64_const(&zero, 1, 1);
    g->values[m1].constant = int64_const(&minus1, 1, 1);
    node(g, "Relu", 1, &x, 1, &y);
    node(g, "Shape", 1, &y, 1, &s);
    int gin[] = {s, i0}, uin[] = {b, ax}, cin[] = {b1, m1}, rin[] = {y, t};
    node(g, "Gather", 2, gin, 1, &b);
    node(g, "Unsqueeze", 2, uin, 1, &b1);
    int c = node(g, "Concat", 2, cin, 1, &t);
    kiln_attr axis = {.type = KILN_ATTR_INT, .i = 0};
    axis.name = malloc(5);
    strcpy(axis.name, "axis");
    kiln_node_add_attr(g, c, &axis);
    node(g, "Reshape", 2, rin, 1, &z);
    kiln_graph_add_output(g, z);
    CHECK(kiln_graph_verify(g, NULL) == KILN_OK);
    kiln_eval_hook hook = {kiln_eval_node_cpu, NULL};
    CHECK(kiln_graph_infer_shapes(g, &hook, 1) == KILN_OK);
    CHECK(g->values[z].dtype == KILN_FLOAT32);
    CHECK(g->values[z].rank == 2);
    CHECK(g->values[z].dims[0] == KILN_DIM_SYMBOL(sym));
    CHECK(g->values[z].dims[1] == 24);
    CHECK(g->values[y].dims[0] == KILN_DIM_SYMBOL(sym) && g->values[y].dims[2] == 8);
    kiln_graph_free(g);
}

static void test_unknown_op(void)
{
    kiln_graph *g;
    CHECK(kiln_graph_create(&g) == KILN_OK);
    int x = value(g, "x"), y = value(g, "y"), z = value(g, "z");
    g->values[x].dtype = KILN_FLOAT32;
    g->values[x].rank = 1;
    g->values[x].dims[0] = 4;
    kiln_graph_add_input(g, x);
    node(g, "NoSuchOp", 1, &x, 1, &y);
    node(g, "Relu", 1, &y, 1, &z);
    kiln_graph_add_output(g, z);
    kiln_eval_hook hook = {kiln_eval_node_cpu, NULL};
    CHECK(kiln_graph_infer_shapes(g, &hook, 1) == KILN_OK); /* unknown ops leave shapes unknown */
    CHECK(g->values[z].rank == -1);
    kiln_plan plan;
    CHECK_ERR(kiln_plan_create(&plan, g, SIZE_MAX), KILN_ERR_UNSUPPORTED, "unsupported op NoSuchOp (opset 17)");
    kiln_graph_free(g);
}

int main(void)
{
    test_cycle_and_producers();
    test_topo_order();
    test_symbolic_reshape_chain();
    test_unknown_op();
    return test_summary();
}
