/*
 * test_engine_file.c - engine files: a saved and reloaded engine gives the
 * same outputs bit for bit; truncated, corrupted, foreign-version and
 * foreign-device files are refused with the right status and message and
 * never crash (including corruptions with a recomputed checksum, which
 * reach the parser).
 */
#include <stdlib.h>

#include "engine/engine_file.h"
#include "kiln.h"
#include "test_util.h"

#define SAMPLE KILN_SOURCE_DIR "/models/sample_cnn.onnx"

static float input[2 * 3 * 64 * 64];

static int run(kiln_engine *e, float *out)
{
    kiln_context *c = NULL;
    int64_t dims[] = {2, 3, 64, 64};
    kiln_tensor_view v;
    int ok = kiln_context_create(e, &c) == KILN_OK &&
             kiln_context_set_input(c, "input", KILN_FLOAT32, 4, dims, input, sizeof input) == KILN_OK &&
             kiln_context_run(c) == KILN_OK && kiln_context_output(c, "logits", 0, &v) == KILN_OK &&
             v.nbytes == 2 * 10 * sizeof(float);
    if (ok)
        memcpy(out, v.data, v.nbytes);
    kiln_context_free(c);
    return ok;
}

/* Rewrites the trailing checksum so a corrupted body reaches the parser. */
static void fix_checksum(uint8_t *buf, size_t len)
{
    uint64_t h = kiln_checksum(buf, len - 8);
    for (int i = 0; i < 8; i++)
        buf[len - 8 + (size_t)i] = (uint8_t)(h >> (8 * i));
}

/* Decodes img from bytes, lets `edit` change it, re-encodes it. */
static int reencode(const uint8_t *buf, size_t len, void (*edit)(kiln_engine_image *), kiln_writer *w)
{
    kiln_engine_image img;
    if (kiln_engine_decode(buf, len, 0, SIZE_MAX, &img) != KILN_OK)
        return 0;
    edit(&img);
    int ok = kiln_engine_encode(&img, w) == KILN_OK;
    kiln_engine_image_clear(&img);
    return ok;
}

static void old_version(kiln_engine_image *img)
{
    free(img->kiln_version);
    img->kiln_version = strdup("0.0.1");
}

static void foreign_feature(kiln_engine_image *img)
{
    char *d = malloc(strlen(img->device) + 32);
    sprintf(d, "%s avx1024imaginary", img->device);
    free(img->device);
    img->device = d;
}

static void foreign_arch(kiln_engine_image *img)
{
    free(img->device);
    img->device = strdup("cpu riscv128");
}

static void expect_refused(const uint8_t *buf, size_t len, void (*edit)(kiln_engine_image *), const char *part)
{
    kiln_writer w = {0};
    kiln_engine *e = NULL;
    CHECK(reencode(buf, len, edit, &w));
    CHECK_ERR(kiln_engine_deserialize(w.buf, w.len, &e), KILN_ERR_INCOMPATIBLE, part);
    CHECK(e == NULL);
    kiln_writer_free(&w);
}

static void test_corruption(const uint8_t *buf, size_t len)
{
    uint8_t *copy = malloc(len);
    kiln_engine *e = NULL;
    int refused = 0, tries = 0;
    /* truncations: every length in the header, then spread over the file */
    for (size_t n = 0; n < len; n += n < 512 ? 1 : len / 97 + 1) {
        tries++;
        refused += kiln_engine_deserialize(buf, n, &e) != KILN_OK;
    }
    CHECK(refused == tries);
    /* single-byte flips are caught by the checksum */
    srand(12345);
    refused = 0;
    for (int i = 0; i < 300; i++) {
        memcpy(copy, buf, len);
        copy[(size_t)rand() % len] ^= (uint8_t)(1 + rand() % 255);
        refused += kiln_engine_deserialize(copy, len, &e) == KILN_ERR_PARSE;
    }
    CHECK(refused == 300);
    CHECK_ERR(kiln_engine_deserialize("KILNENG\x1a\x03\x00\x00\x00....................", 32, &e), KILN_ERR_UNSUPPORTED,
              "format version 3");
    CHECK_ERR(kiln_engine_deserialize("PK\x03\x04 not an engine at all", 26, &e), KILN_ERR_PARSE, "bad magic");
    /* with the checksum recomputed the parser itself must hold: any status,
     * no crash (ASan / UBSan runs check that), no engine from nonsense */
    for (int i = 0; i < 2000; i++) {
        memcpy(copy, buf, len);
        for (int k = 0; k < 1 + i % 4; k++)
            copy[(size_t)rand() % (len - 8)] = (uint8_t)rand();
        fix_checksum(copy, len);
        if (kiln_engine_deserialize(copy, len, &e) == KILN_OK) {
            kiln_engine_free(e);
            e = NULL;
        }
    }
    free(copy);
}

int main(void)
{
    for (size_t i = 0; i < sizeof input / sizeof input[0]; i++)
        input[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
    kiln_network *net = NULL;
    kiln_engine *built = NULL, *loaded = NULL, *mapped = NULL;
    void *data = NULL;
    size_t size = 0;
    float a[20], b[20], c[20]; /* batch 2 x 10 logits */
    CHECK(kiln_network_from_file(SAMPLE, &net) == KILN_OK);
    CHECK(kiln_engine_build(net, NULL, &built) == KILN_OK);
    CHECK(kiln_engine_serialize(built, &data, &size) == KILN_OK);
    CHECK(kiln_engine_deserialize(data, size, &loaded) == KILN_OK);
    CHECK(kiln_engine_save(built, "test_engine_file.engine") == KILN_OK);
    CHECK(kiln_is_engine_file("test_engine_file.engine") && !kiln_is_engine_file(SAMPLE));
    CHECK(kiln_engine_load("test_engine_file.engine", &mapped) == KILN_OK);
    CHECK(run(built, a) && run(loaded, b) && run(mapped, c));
    CHECK(memcmp(a, b, sizeof a) == 0 && memcmp(a, c, sizeof a) == 0);
    int lb = 0, ll = 0;
    kiln_engine_num_layers(built, &lb);
    kiln_engine_num_layers(mapped, &ll);
    CHECK(lb == ll && lb > 0);
    kiln_network_free(net);
    kiln_engine_free(built);
    kiln_engine_free(loaded);
    kiln_engine_free(mapped);
    remove("test_engine_file.engine");
    CHECK_ERR(kiln_engine_load("/nonexistent.engine", &mapped), KILN_ERR_IO, "/nonexistent.engine");
    expect_refused(data, size, old_version, "built by kiln 0.0.1");
    expect_refused(data, size, foreign_feature, "avx1024imaginary");
    expect_refused(data, size, foreign_arch, "riscv128");
    test_corruption(data, size);
    kiln_free(data);
    return test_summary();
}
