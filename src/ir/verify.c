/*
 * verify.c - structural checks of the IR and Kahn's topological sort.
 */
#include "ir/verify.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

static int value_defined(const kiln_graph *g, const kiln_graph *outer, int v)
{
    const kiln_value *val = &g->values[v];
    if (val->producer >= 0 || val->is_graph_input || val->constant)
        return 1;
    return outer && kiln_graph_find_value(outer, val->name) >= 0;
}

kiln_status kiln_graph_verify(const kiln_graph *g, const kiln_graph *outer)
{
    char label[256];
    int *producer = malloc(sizeof(int) * (size_t)(g->n_values ? g->n_values : 1));
    if (!producer)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "verify: out of memory");
    for (int v = 0; v < g->n_values; v++)
        producer[v] = -1;
    kiln_status st = KILN_OK;
    for (int i = 0; i < g->n_nodes && st == KILN_OK; i++) {
        const kiln_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_outputs && st == KILN_OK; k++) {
            int v = n->outputs[k];
            if (v < -1 || v >= g->n_values)
                st = kiln_error(KILN_ERR_INTERNAL, "node %s: output %d has a bad value id",
                                kiln_node_label(g, i, label, sizeof label), k);
            else if (v >= 0 && (producer[v] >= 0 || g->values[v].is_graph_input || g->values[v].constant))
                st = kiln_error(KILN_ERR_GRAPH, "value '%s' is produced more than once (again by node %s)",
                                g->values[v].name, kiln_node_label(g, i, label, sizeof label));
            else if (v >= 0)
                producer[v] = i;
        }
    }
    for (int i = 0; i < g->n_nodes && st == KILN_OK; i++) {
        const kiln_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs && st == KILN_OK; k++) {
            int v = n->inputs[k];
            if (v < -1 || v >= g->n_values)
                st = kiln_error(KILN_ERR_INTERNAL, "node %s: input %d has a bad value id",
                                kiln_node_label(g, i, label, sizeof label), k);
            else if (v >= 0 && !value_defined(g, outer, v))
                st = kiln_error(KILN_ERR_GRAPH, "node %s: input '%s' has no producer (not a graph input, "
                                "initializer or node output)", kiln_node_label(g, i, label, sizeof label),
                                g->values[v].name);
        }
    }
    for (int k = 0; k < g->n_outputs && st == KILN_OK; k++)
        if (!value_defined(g, outer, g->outputs[k]))
            st = kiln_error(KILN_ERR_GRAPH, "graph output '%s' has no producer", g->values[g->outputs[k]].name);
    free(producer);
    if (st != KILN_OK)
        return st;
    int *order = malloc(sizeof(int) * (size_t)(g->n_nodes ? g->n_nodes : 1));
    if (!order)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "verify: out of memory");
    st = kiln_graph_topo_order(g, order);
    free(order);
    return st;
}

kiln_status kiln_graph_topo_order(const kiln_graph *g, int *order)
{
    int n = g->n_nodes;
    size_t cnt = (size_t)(n ? n : 1);
    int *pending = calloc(cnt, sizeof(int));    /* unresolved inputs per node */
    int *queue = malloc(cnt * sizeof(int));
    /* consumers as CSR: first[v]..first[v+1] in cons[] */
    int *first = calloc((size_t)g->n_values + 1, sizeof(int));
    int total = 0;
    for (int i = 0; i < n; i++)
        total += g->nodes[i].n_inputs;
    int *cons = malloc(sizeof(int) * (size_t)(total ? total : 1));
    int *fill = calloc((size_t)g->n_values + 1, sizeof(int));
    kiln_status st = KILN_OK;
    if (!pending || !queue || !first || !cons || !fill) {
        st = kiln_error(KILN_ERR_OUT_OF_MEMORY, "topological sort: out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++) {
            int v = g->nodes[i].inputs[k];
            if (v >= 0 && g->values[v].producer >= 0) {
                first[v + 1]++;
                pending[i]++;
            }
        }
    for (int v = 0; v < g->n_values; v++)
        first[v + 1] += first[v];
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++) {
            int v = g->nodes[i].inputs[k];
            if (v >= 0 && g->values[v].producer >= 0)
                cons[first[v] + fill[v]++] = i;
        }
    int head = 0, tail = 0;
    for (int i = 0; i < n; i++)
        if (pending[i] == 0)
            queue[tail++] = i;
    while (head < tail) {
        int i = queue[head++];
        const kiln_node *nd = &g->nodes[i];
        for (int k = 0; k < nd->n_outputs; k++) {
            int v = nd->outputs[k];
            if (v < 0 || g->values[v].producer != i)
                continue;
            for (int c = first[v]; c < first[v + 1]; c++)
                if (--pending[cons[c]] == 0)
                    queue[tail++] = cons[c];
        }
    }
    if (tail < n) {
        char label[256];
        int stuck = 0;
        while (stuck < n && pending[stuck] == 0)
            stuck++;
        st = kiln_error(KILN_ERR_GRAPH, "the graph has a cycle through node %s",
                        kiln_node_label(g, stuck < n ? stuck : 0, label, sizeof label));
        goto done;
    }
    memcpy(order, queue, sizeof(int) * (size_t)n);
done:
    free(pending);
    free(queue);
    free(first);
    free(cons);
    free(fill);
    return st;
}
