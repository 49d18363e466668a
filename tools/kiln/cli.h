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

void usage_build(FILE *f);
void usage_run(FILE *f);
void usage_inspect(FILE *f);

/* "1x3x224x224" -> dims; returns 0 on a malformed shape. */
int cli_parse_shape(const char *s, int *rank, int64_t *dims);
/* Splits "NAME=VALUE" at the last '=' into name (malloc'd) and value. */
int cli_split_assign(const char *s, char **name, const char **value);
/* Prints "kiln: <what>: <kiln_last_error()>" to stderr; returns CLI_EXIT_FAIL. */
int cli_fail(const char *what);
double cli_now_ms(void);
/* Writes a shape such as 1x3x224x224 (batch for symbols) into buf. */
const char *cli_shape_str(const kiln_io_info *info, char *buf, size_t len);

#endif
