/*
 * network.c - kiln_network: an ONNX model imported, verified and with
 * shapes inferred.
 */
#include <stdlib.h>

#include "api/api_internal.h"
#include "ir/shape_infer.h"
#include "ir/verify.h"
#include "onnx/onnx_import.h"

void kiln_model_release(kiln_model *m)
{
    if (m && atomic_fetch_sub(&m->refs, 1) == 1) {
        kiln_graph_free(m->graph);
        free(m);
    }
}

static kiln_status network_wrap(kiln_graph *g, kiln_network **out)
{
    kiln_status st = kiln_graph_verify(g, NULL);
    if (st == KILN_OK) {
        kiln_eval_hook hook = {kiln_eval_node_cpu, NULL};
        st = kiln_graph_infer_shapes(g, &hook, 1);
    }
    kiln_network *n = NULL;
    kiln_model *m = NULL;
    if (st == KILN_OK) {
        n = calloc(1, sizeof *n);
        m = calloc(1, sizeof *m);
        if (!n || !m)
            st = kiln_error(KILN_ERR_OUT_OF_MEMORY, "network: out of memory");
    }
    if (st != KILN_OK) {
        free(n);
        free(m);
        kiln_graph_free(g);
        return st;
    }
    m->graph = g;
    atomic_init(&m->refs, 1);
    n->model = m;
    *out = n;
    return KILN_OK;
}

kiln_status kiln_network_from_file(const char *path, kiln_network **out)
{
    kiln_graph *g = NULL;
    if (!path || !out)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_network_from_file: path and out are required");
    KILN_TRY(kiln_onnx_load_file(path, NULL, &g));
    return network_wrap(g, out);
}

kiln_status kiln_network_from_memory(const void *data, size_t size, const char *base_dir, kiln_network **out)
{
    kiln_graph *g = NULL;
    if (!data || !out)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_network_from_memory: data and out are required");
    KILN_TRY(kiln_onnx_load_memory(data, size, base_dir, NULL, &g));
    return network_wrap(g, out);
}

void kiln_network_free(kiln_network *network)
{
    if (!network)
        return;
    kiln_model_release(network->model);
    free(network);
}

kiln_status kiln_network_num_io(const kiln_network *network, int is_output, int *count)
{
    if (!network || !count)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_network_num_io: network and count are required");
    const kiln_graph *g = network->model->graph;
    *count = is_output ? g->n_outputs : g->n_inputs;
    return KILN_OK;
}

void kiln_io_info_fill(const kiln_graph *g, int value, int rank, const int64_t *dims, kiln_io_info *info)
{
    const kiln_value *v = &g->values[value];
    info->name = v->name;
    info->dtype = v->dtype;
    info->rank = rank;
    for (int d = 0; d < KILN_MAX_RANK; d++) {
        info->dims[d] = -1;
        info->dim_names[d] = NULL;
    }
    for (int d = 0; d < rank && d < KILN_MAX_RANK; d++) {
        info->dims[d] = dims[d] >= 0 ? dims[d] : -1;
        if (KILN_DIM_IS_SYMBOL(dims[d]) && KILN_DIM_SYMBOL_ID(dims[d]) < g->n_symbols)
            info->dim_names[d] = g->symbols[KILN_DIM_SYMBOL_ID(dims[d])];
    }
}

kiln_status kiln_network_io(const kiln_network *network, int is_output, int index, kiln_io_info *info)
{
    if (!network || !info)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_network_io: network and info are required");
    const kiln_graph *g = network->model->graph;
    int n = is_output ? g->n_outputs : g->n_inputs;
    if (index < 0 || index >= n)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_network_io: index %d is out of range (0..%d)", index,
                          n - 1);
    int v = is_output ? g->outputs[index] : g->inputs[index];
    kiln_io_info_fill(g, v, g->values[v].rank, g->values[v].dims, info);
    return KILN_OK;
}

kiln_status kiln_network_num_nodes(const kiln_network *network, int *count)
{
    if (!network || !count)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_network_num_nodes: network and count are required");
    *count = network->model->graph->n_nodes;
    return KILN_OK;
}
