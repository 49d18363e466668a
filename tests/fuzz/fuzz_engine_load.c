/*
 * fuzz_engine_load.c - libFuzzer target for the engine file reader: any byte
 * string must decode or fail cleanly, never crash, leak or read out of
 * bounds. The target rewrites the trailing checksum before decoding, so the
 * fuzzer explores the parser instead of stopping at the checksum.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_file.h"
#include "ir/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    if (size >= 8) {
        uint64_t h = kiln_checksum(buf, size - 8);
        for (int i = 0; i < 8; i++)
            buf[size - 8 + (size_t)i] = (uint8_t)(h >> (8 * i));
    }
    kiln_engine_image img;
    /* a 64 MiB ceiling keeps single allocations bounded whatever the dims say */
    if (kiln_engine_decode(buf, size, 1, (size_t)64 << 20, &img) == KILN_OK) {
        kiln_graph_verify(img.graph, NULL);
        kiln_engine_image_clear(&img);
    }
    free(buf);
    return 0;
}
