/*
 * cli.h - shared pieces of the kiln command line.
 */
#ifndef KILN_CLI_H
#define KILN_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "kiln.h"

/* Exit codes: 0 success, 1 failure (bad model, bad input, mismatch),
 * 2 bad command-line usage. */
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

int cmd_build(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_bench(int argc, char **argv);

void usage_build(FILE *f);
void usage_run(FILE *f);
void usage_inspect(FILE *f);
void usage_compare(FILE *f);
void usage_bench(FILE *f);

/* "1x3x224x224" -> dims; returns 0 on a malformed shape. */
int cli_parse_shape(const char *s, int *rank, int64_t *dims);
/* Splits "NAME=VALUE" at the last '=' into name (malloc'd) and value. */
int cli_split_assign(const char *s, char **name, const char **value);
/* Reads a whole number in [lo, hi] from flag's value val into *out: 1, or
 * 0 with "kiln CMD: FLAG takes a number from LO to HI, got 'VAL'" printed. */
int cli_parse_count(const char *cmd, const char *flag, const char *val, long lo, long hi, int *out);
/* Prints "kiln: <what>: <kiln_last_error()>" to stderr; returns CLI_EXIT_FAIL. */
int cli_fail(const char *what);
double cli_now_ms(void);
/* mkdir -p: creates dir and any missing parents; 0 on success (errno set
 * otherwise). */
int cli_mkdirs(const char *dir);
/* Writes a shape such as 1x3x224x224 (batch for symbols) into buf. */
const char *cli_shape_str(const kiln_io_info *info, char *buf, size_t len);

/* The inputs of a run (cli_inputs.c): --input NAME=FILE.npy, --shape
 * NAME=DIMS and --seed N, then one tensor per engine input. */
struct kiln_tensor;
typedef struct cli_inputs {
    uint64_t seed;
    int n_files, n_shapes, n_tensors;
    char **file_names;   /* --input NAME */
    const char **files;  /* --input FILE, borrowed from argv */
    char **shape_names;  /* --shape NAME */
    int *shape_ranks;
    int64_t (*shape_dims)[KILN_MAX_RANK];
    struct kiln_tensor *file_data; /* per --input: the file once read (for the build's shapes), until
                                    * cli_inputs_prepare takes it over */
    struct kiln_tensor *tensors;   /* from cli_inputs_prepare: one per engine input, in its order */
    int layout;                    /* --layout for a build from an .onnx file (kiln_layout) */
} cli_inputs;

/* Room for the flags of argc arguments; 0 when out of memory. */
int cli_inputs_init(cli_inputs *in, int argc);
void cli_inputs_free(cli_inputs *in);
/* Prints usage(stdout) and returns 1 when argv[1..argc) holds --help or -h. */
int cli_help(int argc, char **argv, void (*usage)(FILE *f));

/* A command's own flags for cli_parse_args: CLI_FLAG_VALUE when it took arg
 * with its value val, CLI_FLAG_SWITCH when it took arg alone, 0 when arg is
 * not one of its flags (val is NULL when missing: a flag that needs a value
 * then answers 0), -1 when malformed (message printed). */
#define CLI_FLAG_VALUE 1
#define CLI_FLAG_SWITCH 2
typedef int (*cli_flag_fn)(void *args, const char *arg, const char *val);
/* Parses argv[1..argc) of `kiln CMD`: --input, --shape and --seed into in,
 * the command's own flags through flag(args, arg, val), and one MODEL
 * argument. 1 when well formed; else 0 with a message printed ("kiln CMD:
 * unexpected argument", "... no MODEL given", ...). in is initialized here;
 * free it with cli_inputs_free in either case. */
int cli_parse_args(int argc, char **argv, const char *cmd, cli_inputs *in, const char **model, cli_flag_fn flag,
                   void *args);
/* Takes flag arg with its value val (NULL when missing) when it is --input,
 * --shape or --seed: 1 taken, 0 not an input flag, -1 malformed (message
 * printed, prefixed "kiln CMD:"). */
int cli_inputs_arg(cli_inputs *in, const char *cmd, const char *arg, const char *val);
/* --layout auto|nchw|nhwc; 0 (message printed) when val is none of them. */
int cli_parse_layout(const char *cmd, const char *val, int *layout);
/* Fixes the --shape shapes in a build config; 0 or CLI_EXIT_FAIL. */
int cli_inputs_configure(const cli_inputs *in, kiln_builder_config *cfg);
/* Loads the .npy files and makes deterministic random data for the other
 * inputs of engine; 0 or CLI_EXIT_FAIL (message printed). */
int cli_inputs_prepare(cli_inputs *in, const char *cmd, const kiln_engine *engine);
/* Loads MODEL when it is an engine file, else parses and builds it at
 * opt_level with the --shape shapes; times in ms. 0 or CLI_EXIT_FAIL. */
int cli_open_engine(const char *model, int opt_level, cli_inputs *in, kiln_engine **engine, double *t_load,
                    double *t_build);
/* Binds the prepared tensors into ctx under the names of engine's inputs
 * (ctx may run another engine with inputs of the same names); errors are
 * reported as "kiln: <what>: ...". */
int cli_inputs_bind(const cli_inputs *in, const kiln_engine *engine, kiln_context *ctx, const char *what);

#endif
