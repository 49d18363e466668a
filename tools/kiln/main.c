/*
 * main.c - the kiln command line: `kiln COMMAND [ARGS]`, one file per
 * subcommand.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/thread_pool.h"

static void usage(FILE *f)
{
    fprintf(f, "kiln %s - ONNX inference optimizer and runtime\n\n"
               "usage: kiln COMMAND [ARGS]\n\n"
               "commands:\n"
               "  build MODEL    optimize a model for this machine and write an engine file\n"
               "  run MODEL      run a model or engine on inputs from .npy files or on deterministic random data\n"
               "  bench MODEL    time many runs: latency percentiles, throughput, and a per-layer profile\n"
               "  inspect MODEL  print inputs, outputs, op histogram, node, parameter and FLOP counts; for an\n"
               "                 engine, its layers and their tactics\n"
               "  compare MODEL  run the optimized engine (or an engine file) and the unoptimized model on the same\n"
               "                 inputs and report the errors per output, or per layer with --per-layer\n"
               "  help COMMAND   describe a command's flags (same as kiln COMMAND --help)\n\n"
               "options:\n"
               "  --help         this text\n"
               "  --version      print the version\n",
            kiln_version());
}

/* With KILN_THREAD_POOL=pthreads, oneDNN's tactics run on OpenMP
 * (libgomp) beside kiln's own workers; libgomp's idle threads spin for
 * milliseconds after each parallel region unless OMP_WAIT_POLICY says
 * otherwise, on the cores kiln's workers need next, and libgomp reads the
 * policy once, when it loads. So there, where libgomp is linked in and the
 * policy is unset, the CLI starts itself again with OMP_WAIT_POLICY=passive
 * (and goes on as it is when that fails). The default pool is OpenMP's own
 * team, whose spinning serves the next layer. */
static void passive_openmp(char **argv)
{
    if (kiln_thread_pool_openmp() || getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT") ||
        !dlsym(RTLD_DEFAULT, "omp_get_max_threads"))
        return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1) == 0)
        execv("/proc/self/exe", argv);
}

int main(int argc, char **argv)
{
    passive_openmp(argv);
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("kiln %s\n", kiln_version());
        int gpus = 0;
        if (kiln_gpu_count(&gpus) == KILN_OK)
            for (int i = 0; i < gpus; i++) {
                char desc[512];
                if (kiln_gpu_describe(i, desc, sizeof desc) == KILN_OK)
                    printf("gpu %d: %s\n", i, desc);
            }
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "help")) {
        if (argc > 2 && !strcmp(argv[2], "build"))
            usage_build(stdout);
        else if (argc > 2 && !strcmp(argv[2], "run"))
            usage_run(stdout);
        else if (argc > 2 && !strcmp(argv[2], "bench"))
            usage_bench(stdout);
        else if (argc > 2 && !strcmp(argv[2], "inspect"))
            usage_inspect(stdout);
        else if (argc > 2 && !strcmp(argv[2], "compare"))
            usage_compare(stdout);
        else
            usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "build"))
        return cmd_build(argc - 1, argv + 1);
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench"))
        return cmd_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "inspect"))
        return cmd_inspect(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare"))
        return cmd_compare(argc - 1, argv + 1);
    fprintf(stderr, "kiln: unknown command '%s' (see kiln --help)\n", cmd);
    return CLI_EXIT_USAGE;
}
