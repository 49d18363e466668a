/*
 * test_bad_models.c - loads every file gen_bad_models.py wrote with
 * kiln_onnx_load_file and checks the status class and a piece of the
 * message. Cycles and values without a producer are the verifier's to
 * refuse: for those (and the unknown op, which the runtime refuses) the
 * importer only has to load them without crashing.
 *
 * usage: test_bad_models DIR
 */
#include <stdio.h>
#include <string.h>

#include "kiln.h"
#include "onnx/onnx_import.h"

typedef struct expectation {
    const char *file;
    kiln_status status;
    const char *needle; /* must appear in the message; NULL: none checked */
} expectation;

static const expectation cases[] = {
    {"valid_add.onnx", KILN_OK, NULL},
    {"valid_if.onnx", KILN_OK, NULL},
    {"valid_typed.onnx", KILN_OK, NULL},
    {"valid_external/model.onnx", KILN_OK, NULL},
    {"truncated.onnx", KILN_ERR_PARSE, "byte offset"},
    {"garbled.onnx", KILN_ERR_PARSE, "byte offset"},
    {"length_past_end.onnx", KILN_ERR_PARSE, "byte offset 3: length 65535 runs past the end"},
    {"deep_nesting.onnx", KILN_ERR_PARSE, "nested too deeply"},
    {"empty.onnx", KILN_ERR_PARSE, "opset"},
    {"negative_dim.onnx", KILN_ERR_PARSE, "tensor 'neg_w': dim 0 is -1"},
    {"enormous_dims.onnx", KILN_ERR_LIMIT, "tensor 'huge_w'"},
    {"dim_overflow.onnx", KILN_ERR_LIMIT, "tensor 'overflow_w': the element count overflows"},
    {"raw_size.onnx", KILN_ERR_PARSE, "tensor 'short_w': raw_data has 20 bytes, expected 24"},
    {"typed_count.onnx", KILN_ERR_PARSE, "tensor 'count_w': float_data holds 5 values, expected 6"},
    {"absurd_raw.onnx", KILN_ERR_LIMIT, "tensor 'absurd_w'"},
    {"cycle.onnx", KILN_OK, NULL},
    {"no_producer.onnx", KILN_OK, NULL},
    {"unknown_op.onnx", KILN_OK, NULL},
    {"foreign_domain.onnx", KILN_ERR_UNSUPPORTED, "unsupported op FusedGemm (domain com.microsoft) at node 'fused'"},
    {"opset_too_new.onnx", KILN_ERR_UNSUPPORTED, "opset 99"},
    {"ext_dotdot/model.onnx", KILN_ERR_SECURITY, "tensor 'w': external data '../secret.bin' refused"},
    {"ext_absolute/model.onnx", KILN_ERR_SECURITY, "absolute"},
    {"ext_symlink/model.onnx", KILN_ERR_SECURITY, "'link.bin' refused: the file is a symlink"},
    {"ext_symlink_dir/model.onnx", KILN_ERR_SECURITY, "'up/secret.bin' refused: the path passes through a symlink"},
    {"ext_hardlink/model.onnx", KILN_ERR_SECURITY, "'hard.bin' refused: the file has 2 hard links"},
    {"ext_past_end/model.onnx", KILN_ERR_PARSE, "offset 8 + length 24 is past the end of the file (16 bytes)"},
    {"ext_absurd/model.onnx", KILN_ERR_LIMIT, "tensor 'absurd_w'"},
    {"no_such_file.onnx", KILN_ERR_IO, "no_such_file.onnx"},
    {"ext_dotdot", KILN_ERR_IO, "not a regular file"},
};

static int check_case(const char *dir, const expectation *c)
{
    char path[4096];
    kiln_graph *g = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, c->file);
    kiln_status st = kiln_onnx_load_file(path, NULL, &g);
    const char *msg = kiln_last_error();
    int ok = st == c->status && (st == KILN_OK) == (g != NULL);
    if (ok && c->needle && !strstr(msg, c->needle))
        ok = 0;
    kiln_graph_free(g);
    if (!ok)
        printf("FAIL %s: got %s \"%s\", want %s containing \"%s\"\n", c->file, kiln_status_name(st),
               st == KILN_OK ? "" : msg, kiln_status_name(c->status), c->needle ? c->needle : "");
    else
        printf("ok   %s: %s%s%s\n", c->file, kiln_status_name(st), st == KILN_OK ? "" : ": ", st == KILN_OK ? "" : msg);
    return ok;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (check_case(argv[1], &cases[i]))
            passed++;
        else
            failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
