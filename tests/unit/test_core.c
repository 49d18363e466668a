/*
 * test_core.c - dtype conversions, shape arithmetic and .npy parsing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "core/name_index.h"
#include "core/npy.h"
#include "core/tensor.h"
#include "test_util.h"

static void test_f16_round_trip(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = kiln_f16_to_f32((uint16_t)h);
        if (isnan(f))
            bad += !isnan(kiln_f16_to_f32(kiln_f32_to_f16(f)));
        else
            bad += kiln_f32_to_f16(f) != h;
    }
    CHECK(bad == 0);
    /* ties to even: 2049 lies halfway between 2048 and 2050 */
    CHECK(kiln_f16_to_f32(kiln_f32_to_f16(2049.0f)) == 2048.0f);
    CHECK(kiln_f16_to_f32(kiln_f32_to_f16(2051.0f)) == 2052.0f);
    CHECK(isinf(kiln_f16_to_f32(kiln_f32_to_f16(65520.0f))));
    CHECK(kiln_f16_to_f32(kiln_f32_to_f16(65519.0f)) == 65504.0f);
    CHECK(kiln_f16_to_f32(kiln_f32_to_f16(5.96046448e-8f)) == 5.96046448e-8f);
}

static void test_bf16_and_minifloats(void)
{
    CHECK(kiln_bf16_to_f32(kiln_f32_to_bf16(1.0f)) == 1.0f);
    CHECK(kiln_bf16_to_f32(kiln_f32_to_bf16(1.00390625f)) == 1.0f); /* tie to even */
    kiln_dtype types[] = {KILN_FLOAT8E4M3FN, KILN_FLOAT8E4M3FNUZ, KILN_FLOAT8E5M2, KILN_FLOAT8E5M2FNUZ};
    for (int t = 0; t < 4; t++) {
        int bad = 0;
        for (int c = 0; c < 256; c++) {
            float f = kiln_minifloat_to_f32(types[t], (uint8_t)c);
            if (!isnan(f) && !isinf(f) && !(f == 0 && c != 0))
                bad += kiln_f32_to_minifloat(types[t], f, 1) != c;
        }
        CHECK(bad == 0);
    }
    CHECK(kiln_minifloat_to_f32(KILN_FLOAT8E4M3FN, 0x7e) == 448.0f);
    CHECK(kiln_f32_to_minifloat(KILN_FLOAT8E4M3FN, 1000.0f, 1) == 0x7e);
    CHECK(kiln_minifloat_to_f32(KILN_FLOAT4E2M1, 0x7) == 6.0f);
}

static void test_store_load(void)
{
    int8_t i8[1];
    kiln_store_f64(i8, KILN_INT8, 0, 300.7);
    CHECK(i8[0] == 127);
    kiln_store_f64(i8, KILN_INT8, 0, NAN);
    CHECK(i8[0] == 0);
    int64_t i64[1];
    kiln_store_f64(i64, KILN_INT64, 0, 1e300);
    CHECK(i64[0] == INT64_MAX);
    uint64_t u64[1] = {UINT64_MAX};
    CHECK(kiln_load_u64(u64, KILN_UINT64, 0) == UINT64_MAX);
    int8_t i4[1];
    kiln_store_i64(i4, KILN_INT4, 0, 9); /* wraps to -7 */
    CHECK(i4[0] == -7);
}

static void test_shapes(void)
{
    int64_t n;
    int64_t big[] = {1ll << 40, 1ll << 40};
    CHECK_ERR(kiln_shape_numel(big, 2, &n, "t"), KILN_ERR_LIMIT, "overflows");
    int64_t neg[] = {3, -2};
    CHECK_ERR(kiln_shape_numel(neg, 2, &n, "t"), KILN_ERR_SHAPE, "dim 1");
    int64_t ok[] = {2, 3, 4};
    CHECK(kiln_shape_numel(ok, 3, &n, "t") == KILN_OK && n == 24);
    kiln_tensor t = {0};
    int64_t huge[] = {1ll << 20, 1ll << 20};
    kiln_tensor_set_shape(&t, KILN_FLOAT32, 2, huge);
    CHECK_ERR(kiln_tensor_alloc(&t, KILN_DEFAULT_MAX_TENSOR_BYTES, "huge"), KILN_ERR_LIMIT, "over the limit");
    size_t bytes;
    CHECK_ERR(kiln_bytes_for(KILN_FLOAT64, INT64_MAX / 2, SIZE_MAX, &bytes, "x"), KILN_ERR_LIMIT, "overflow");
}

static size_t make_npy(unsigned char *buf, const char *header, size_t data_bytes)
{
    size_t h = strlen(header);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(h & 0xff);
    buf[9] = (unsigned char)(h >> 8);
    memcpy(buf + 10, header, h);
    for (size_t i = 0; i < data_bytes; i++)
        buf[10 + h + i] = (unsigned char)i;
    return 10 + h + data_bytes;
}

static void test_npy(void)
{
    unsigned char buf[1024];
    kiln_tensor t = {0};
    size_t n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24);
    CHECK(kiln_npy_parse(buf, n, "a.npy", SIZE_MAX, &t) == KILN_OK);
    CHECK(t.dtype == KILN_FLOAT32 && t.rank == 2 && t.dims[0] == 2 && t.dims[1] == 3);
    kiln_tensor_clear(&t);
    CHECK_ERR(kiln_npy_parse(buf, n - 1, "a.npy", SIZE_MAX, &t), KILN_ERR_PARSE, "byte offset");
    n = make_npy(buf, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", 8);
    CHECK_ERR(kiln_npy_parse(buf, n, "b.npy", SIZE_MAX, &t), KILN_ERR_UNSUPPORTED, "dtype");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }\n", 8);
    CHECK_ERR(kiln_npy_parse(buf, n, "c.npy", SIZE_MAX, &t), KILN_ERR_UNSUPPORTED, "Fortran");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }\n", 0);
    CHECK(kiln_npy_parse(buf, n, "d.npy", SIZE_MAX, &t) != KILN_OK);
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,2,3,4,5,6,7,8,9), }\n", 0);
    CHECK_ERR(kiln_npy_parse(buf, n, "e.npy", SIZE_MAX, &t), KILN_ERR_LIMIT, "rank");
    memcpy(buf, "\x93NUMPY\x01\x00\xff\xff", 10);
    CHECK_ERR(kiln_npy_parse(buf, 10, "f.npy", SIZE_MAX, &t), KILN_ERR_PARSE, "past the end");
    CHECK_ERR(kiln_npy_parse((const unsigned char *)"garbage!!!!", 11, "g.npy", SIZE_MAX, &t), KILN_ERR_PARSE, "magic");
}

static void test_npy_write_read(void)
{
    kiln_tensor t = {0}, back = {0};
    int64_t dims[] = {3};
    kiln_tensor_set_shape(&t, KILN_INT64, 1, dims);
    CHECK(kiln_tensor_alloc(&t, SIZE_MAX, "t") == KILN_OK);
    for (int i = 0; i < 3; i++)
        ((int64_t *)t.data)[i] = -i * 1000;
    CHECK(kiln_npy_write("test_core_roundtrip.npy", &t) == KILN_OK);
    CHECK(kiln_npy_read("test_core_roundtrip.npy", SIZE_MAX, &back) == KILN_OK);
    CHECK(back.dtype == KILN_INT64 && back.rank == 1 && back.dims[0] == 3 && !memcmp(back.data, t.data, 24));
    kiln_tensor_clear(&t);
    kiln_tensor_clear(&back);
    remove("test_core_roundtrip.npy");
}

/* The name index: every name found, the first of a name kept, unknown
 * names absent, and no more than half its slots filled. */
static void test_name_index(void)
{
    static kiln_name_index ix;
    static char names[KILN_NAME_INDEX_SLOTS][16];
    int items[KILN_NAME_INDEX_SLOTS];
    int added = 0;
    for (int i = 0; i < KILN_NAME_INDEX_SLOTS; i++) {
        snprintf(names[i], sizeof names[i], "Op%d", i);
        if (!kiln_name_index_add(&ix, names[i], &items[i]))
            break;
        added++;
    }
    CHECK(added == KILN_NAME_INDEX_SLOTS / 2);
    int found = 1;
    for (int i = 0; i < added; i++)
        found &= kiln_name_index_find(&ix, names[i]) == &items[i];
    CHECK(found);
    char again[16];
    strcpy(again, "Op7"); /* another string with a name already there */
    CHECK(kiln_name_index_find(&ix, again) == &items[7]);
    CHECK(kiln_name_index_find(&ix, "Conv") == NULL && kiln_name_index_find(&ix, "") == NULL);
    kiln_name_index small = {0};
    CHECK(kiln_name_index_add(&small, "Relu", &items[0]) && kiln_name_index_add(&small, "Relu", &items[1]));
    CHECK(kiln_name_index_find(&small, "Relu") == &items[0] && small.used == 1);
}

int main(void)
{
    test_name_index();
    test_f16_round_trip();
    test_bf16_and_minifloats();
    test_store_load();
    test_shapes();
    test_npy();
    test_npy_write_read();
    return test_summary();
}
