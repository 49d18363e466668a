/*
 * fuzz_onnx_load.c - libFuzzer target: any byte string given to the ONNX
 * importer as a model must load or fail cleanly, never crash, leak or read
 * out of bounds. External data is refused (no base folder).
 */
#include <stddef.h>
#include <stdint.h>

#include "onnx/onnx_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kiln_graph *g = NULL;
    /* every allocation the importer makes is bounded by the input's size, so
     * the default tensor ceiling is safe here */
    if (kiln_onnx_load_memory(data, size, NULL, NULL, &g) == KILN_OK)
        kiln_graph_free(g);
    return 0;
}
