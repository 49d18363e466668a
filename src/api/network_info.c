/*
 * network_info.c - read-only queries on a network: nodes and statistics.
 */
#include "api/api_internal.h"
#include "ir/flops.h"

kiln_status kiln_network_node(const kiln_network *network, int index, kiln_node_info *info)
{
    if (!network || !info)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_network_node: network and info are required");
    const kiln_graph *g = network->model->graph;
    if (index < 0 || index >= g->n_nodes)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_network_node: index %d is out of range (0..%d)", index,
                          g->n_nodes - 1);
    const kiln_node *n = &g->nodes[index];
    info->name = n->name;
    info->op_type = n->op_type;
    info->domain = n->domain;
    info->opset = n->opset;
    info->n_inputs = n->n_inputs;
    info->n_outputs = n->n_outputs;
    info->tactic = NULL;
    return KILN_OK;
}

kiln_status kiln_network_stats_get(const kiln_network *network, kiln_network_stats *stats)
{
    if (!network || !stats)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_network_stats_get: network and stats are required");
    const kiln_graph *g = network->model->graph;
    kiln_network_stats s = {0};
    s.n_nodes = g->n_nodes;
    for (int v = 0; v < g->n_values; v++) {
        const kiln_tensor *c = g->values[v].constant;
        if (c) {
            int64_t ne = kiln_tensor_numel(c);
            s.n_parameters += ne > 0 ? ne : 0;
            s.weight_bytes += (int64_t)c->nbytes;
        }
    }
    for (int i = 0; i < g->n_nodes; i++)
        s.flops += kiln_node_flops(g, i, &s.flops_symbolic);
    *stats = s;
    return KILN_OK;
}
