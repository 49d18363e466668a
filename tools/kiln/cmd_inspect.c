/*
 * cmd_inspect.c - `kiln inspect MODEL`: inputs, outputs, op histogram, node
 * count, parameters and a FLOP estimate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void usage_inspect(FILE *f)
{
    fprintf(f, "usage: kiln inspect MODEL\n\n"
               "Prints the model's inputs and outputs (dtype and shape; symbolic dims by name), a histogram of\n"
               "its ops, a line 'nodes: N', the parameter count and an estimate of the FLOPs of one run.\n\n"
               "options:\n"
               "  --help   this text\n");
}

typedef struct op_bin {
    const char *op;
    int count;
} op_bin;

static int by_count(const void *a, const void *b)
{
    const op_bin *x = a, *y = b;
    if (x->count != y->count)
        return y->count - x->count;
    return strcmp(x->op, y->op);
}

static void print_io(const kiln_network *net, int is_output)
{
    int n = 0;
    kiln_network_num_io(net, is_output, &n);
    printf("%s:\n", is_output ? "outputs" : "inputs");
    for (int i = 0; i < n; i++) {
        kiln_io_info info;
        char shape[256];
        kiln_network_io(net, is_output, i, &info);
        printf("  %-24s %-9s %s\n", info.name, info.dtype ? kiln_dtype_name(info.dtype) : "?",
               cli_shape_str(&info, shape, sizeof shape));
    }
}

static int print_ops(const kiln_network *net, int n_nodes)
{
    op_bin *bins = calloc((size_t)(n_nodes ? n_nodes : 1), sizeof *bins);
    int n_bins = 0;
    if (!bins) {
        fprintf(stderr, "kiln: inspect: out of memory\n");
        return CLI_EXIT_FAIL;
    }
    for (int i = 0; i < n_nodes; i++) {
        kiln_node_info ni;
        kiln_network_node(net, i, &ni);
        int b = 0;
        while (b < n_bins && strcmp(bins[b].op, ni.op_type) != 0)
            b++;
        if (b == n_bins)
            bins[n_bins++].op = ni.op_type;
        bins[b].count++;
    }
    qsort(bins, (size_t)n_bins, sizeof *bins, by_count);
    printf("ops:\n");
    for (int b = 0; b < n_bins; b++)
        printf("  %-24s %d\n", bins[b].op, bins[b].count);
    free(bins);
    return 0;
}

int cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage_inspect(stdout);
            return 0;
        }
        if (argv[i][0] == '-' || path) {
            fprintf(stderr, "kiln inspect: unexpected argument '%s'\n", argv[i]);
            usage_inspect(stderr);
            return CLI_EXIT_USAGE;
        }
        path = argv[i];
    }
    if (!path) {
        usage_inspect(stderr);
        return CLI_EXIT_USAGE;
    }
    kiln_network *net = NULL;
    if (kiln_network_from_file(path, &net) != KILN_OK)
        return cli_fail(path);
    kiln_network_stats s;
    kiln_network_stats_get(net, &s);
    printf("model: %s\n", path);
    print_io(net, 0);
    print_io(net, 1);
    int rc = print_ops(net, s.n_nodes);
    printf("nodes: %d\n", s.n_nodes);
    printf("parameters: %lld (%.1f MiB of weights)\n", (long long)s.n_parameters,
           (double)s.weight_bytes / (1024.0 * 1024.0));
    printf("flops: %.3f GFLOP per run%s\n", s.flops / 1e9, s.flops_symbolic ? " (symbolic dims counted as 1)" : "");
    kiln_network_free(net);
    return rc;
}
