/*
 * test_onnx_import.c - unit tests of the ONNX importer. Each test builds a
 * small ModelProto in memory with protobuf-c, packs it, loads it with
 * kiln_onnx_load_memory and checks the graph (or the error).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "onnx/onnx.pb-c.h"
#include "onnx/onnx_import.h"

static int passed, failed;

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (cond)                                                                                                      \
            passed++;                                                                                                  \
        else {                                                                                                         \
            failed++;                                                                                                  \
            printf("FAIL %s:%d: %s (last error: %s)\n", __FILE__, __LINE__, #cond, kiln_last_error());                 \
        }                                                                                                              \
    } while (0)

/* ---- a tiny arena so built protos can be freed in one go ---------------- */

#define POOL_MAX 4096
static void *pool[POOL_MAX];
static int pool_n;

static void *take(void *p)
{
    if (!p || pool_n == POOL_MAX) {
        fprintf(stderr, "test arena exhausted\n");
        exit(2);
    }
    pool[pool_n++] = p;
    return p;
}

static void *zalloc(size_t n)
{
    return take(calloc(1, n));
}

static void pool_free(void)
{
    while (pool_n)
        free(pool[--pool_n]);
}

static char *str(const char *s)
{
    char *d = zalloc(strlen(s) + 1);
    memcpy(d, s, strlen(s) + 1);
    return d;
}

/* ---- proto builders ------------------------------------------------------ */

static Onnx__TensorProto *tensor(const char *name, int dtype, int rank, const int64_t *dims)
{
    Onnx__TensorProto *t = zalloc(sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = str(name);
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = (size_t)rank;
    t->dims = zalloc(sizeof(int64_t) * (size_t)(rank + 1));
    if (rank)
        memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
    return t;
}

static void set_raw(Onnx__TensorProto *t, const void *data, size_t len)
{
    t->has_raw_data = 1;
    t->raw_data.len = len;
    t->raw_data.data = zalloc(len + 1);
    memcpy(t->raw_data.data, data, len);
}

static Onnx__TypeProto *tensor_type(int elem, int rank, const char *const *dims)
{
    Onnx__TypeProto *tp = zalloc(sizeof *tp);
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = zalloc(sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = elem;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    if (rank < 0)
        return tp;
    Onnx__TensorShapeProto *sh = zalloc(sizeof *sh);
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)rank;
    sh->dim = zalloc(sizeof *sh->dim * (size_t)(rank + 1));
    for (int i = 0; i < rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = zalloc(sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        /* "123" -> dim_value, "?" -> neither, other text -> dim_param */
        if (dims[i][0] >= '0' && dims[i][0] <= '9') {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = atoll(dims[i]);
        } else if (dims[i][0] == '-') {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = atoll(dims[i]);
        } else if (strcmp(dims[i], "?") != 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = str(dims[i]);
        }
        sh->dim[i] = d;
    }
    tt->shape = sh;
    return tp;
}

static Onnx__ValueInfoProto *value_info(const char *name, Onnx__TypeProto *type)
{
    Onnx__ValueInfoProto *vi = zalloc(sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = str(name);
    vi->type = type;
    return vi;
}

static char **strs(int n, const char *const *s)
{
    char **a = zalloc(sizeof(char *) * (size_t)(n + 1));
    for (int i = 0; i < n; i++)
        a[i] = str(s[i]);
    return a;
}

static Onnx__NodeProto *node(const char *op, const char *name, int n_in, const char *const *in, int n_out,
                             const char *const *out)
{
    Onnx__NodeProto *n = zalloc(sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = str(op);
    n->name = str(name);
    n->n_input = (size_t)n_in;
    n->input = strs(n_in, in);
    n->n_output = (size_t)n_out;
    n->output = strs(n_out, out);
    return n;
}

static Onnx__AttributeProto *attr(Onnx__NodeProto *n, const char *name, int type)
{
    Onnx__AttributeProto *a = zalloc(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = str(name);
    a->has_type = 1;
    a->type = (Onnx__AttributeProto__AttributeType)type;
    Onnx__AttributeProto **na = zalloc(sizeof *na * (n->n_attribute + 1));
    if (n->n_attribute)
        memcpy(na, n->attribute, sizeof *na * n->n_attribute);
    na[n->n_attribute++] = a;
    n->attribute = na;
    return a;
}

#define APPEND(arr, count, item)                                                                                       \
    do {                                                                                                               \
        void *grown_ = zalloc(sizeof *(arr) * ((count) + 1));                                                          \
        if (count)                                                                                                     \
            memcpy(grown_, (arr), sizeof *(arr) * (count));                                                            \
        (arr) = grown_;                                                                                                \
        (arr)[(count)++] = (item);                                                                                     \
    } while (0)

static Onnx__GraphProto *graph(const char *name)
{
    Onnx__GraphProto *g = zalloc(sizeof *g);
    onnx__graph_proto__init(g);
    g->name = str(name);
    return g;
}

static Onnx__ModelProto *model(Onnx__GraphProto *g, const char *domain, int64_t opset)
{
    Onnx__ModelProto *m = zalloc(sizeof *m);
    onnx__model_proto__init(m);
    m->has_ir_version = 1;
    m->ir_version = 9;
    m->graph = g;
    if (opset > 0) {
        Onnx__OperatorSetIdProto *op = zalloc(sizeof *op);
        onnx__operator_set_id_proto__init(op);
        op->domain = str(domain);
        op->has_version = 1;
        op->version = opset;
        APPEND(m->opset_import, m->n_opset_import, op);
    }
    return m;
}

/* Packs m and loads it; *g is NULL on failure. */
static kiln_status load(const Onnx__ModelProto *m, const char *base_dir, kiln_graph **g)
{
    size_t n = onnx__model_proto__get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);
    onnx__model_proto__pack(m, buf);
    kiln_status st = kiln_onnx_load_memory(buf, n, base_dir, NULL, g);
    free(buf);
    return st;
}

static const kiln_value *value(const kiln_graph *g, const char *name)
{
    int id = kiln_graph_find_value(g, name);
    return id >= 0 ? &g->values[id] : NULL;
}

static int has_error(const char *needle)
{
    return strstr(kiln_last_error(), needle) != NULL;
}

/* ---- tests ------------------------------------------------------------- */

static void test_initializers(void)
{
    Onnx__GraphProto *gp = graph("inits");
    const int64_t d23[] = {2, 3}, d3[] = {3}, d2[] = {2};
    const float w[6] = {1, 2, 3, 4, 5, 6};
    Onnx__TensorProto *raw = tensor("w_raw", KILN_FLOAT32, 2, d23);
    set_raw(raw, w, sizeof w);
    Onnx__TensorProto *typed = tensor("b_typed", KILN_FLOAT32, 1, d3);
    typed->n_float_data = 3;
    typed->float_data = zalloc(sizeof(float) * 3);
    memcpy(typed->float_data, w, sizeof(float) * 3);
    Onnx__TensorProto *i64 = tensor("shape", KILN_INT64, 1, d2);
    i64->n_int64_data = 2;
    i64->int64_data = zalloc(sizeof(int64_t) * 2);
    i64->int64_data[0] = -1;
    i64->int64_data[1] = 1LL << 40;
    Onnx__TensorProto *u32 = tensor("u32", KILN_UINT32, 1, d2);
    u32->n_uint64_data = 2;
    u32->uint64_data = zalloc(sizeof(uint64_t) * 2);
    u32->uint64_data[0] = 7;
    u32->uint64_data[1] = 0xffffffffu;
    Onnx__TensorProto *i8 = tensor("i8", KILN_INT8, 1, d3);
    i8->n_int32_data = 3;
    i8->int32_data = zalloc(sizeof(int32_t) * 3);
    i8->int32_data[0] = -128;
    i8->int32_data[1] = 5;
    i8->int32_data[2] = 127;
    Onnx__TensorProto *b = tensor("flags", KILN_BOOL, 1, d2);
    b->n_int32_data = 2;
    b->int32_data = zalloc(sizeof(int32_t) * 2);
    b->int32_data[1] = 1;
    Onnx__TensorProto *scalar = tensor("scalar", KILN_FLOAT64, 0, d2);
    scalar->n_double_data = 1;
    scalar->double_data = zalloc(sizeof(double));
    scalar->double_data[0] = 2.5;
    Onnx__TensorProto *empty = tensor("empty", KILN_FLOAT32, 1, (const int64_t[]){0});
    Onnx__TensorProto *list[] = {raw, typed, i64, u32, i8, b, scalar, empty};
    for (size_t i = 0; i < sizeof list / sizeof *list; i++)
        APPEND(gp->initializer, gp->n_initializer, list[i]);
    APPEND(gp->output, gp->n_output, value_info("w_raw", NULL));

    kiln_graph *g = NULL;
    CHECK(load(model(gp, "", 17), NULL, &g) == KILN_OK);
    if (g) {
        const kiln_value *v = value(g, "w_raw");
        CHECK(v && v->constant && v->constant->dtype == KILN_FLOAT32 && v->constant->rank == 2);
        CHECK(v && v->constant && v->constant->nbytes == sizeof w && memcmp(v->constant->data, w, sizeof w) == 0);
        CHECK(v && v->producer == -1 && !v->is_graph_input && v->is_graph_output);
        CHECK(v && v->dtype == KILN_FLOAT32 && v->rank == 2 && v->dims[0] == 2 && v->dims[1] == 3);
        v = value(g, "b_typed");
        CHECK(v && v->constant && memcmp(v->constant->data, w, 12) == 0 && v->constant->owns_data);
        v = value(g, "shape");
        CHECK(v && v->constant && ((int64_t *)v->constant->data)[0] == -1 &&
              ((int64_t *)v->constant->data)[1] == 1LL << 40);
        v = value(g, "u32");
        CHECK(v && v->constant && v->constant->nbytes == 8 && ((uint32_t *)v->constant->data)[1] == 0xffffffffu);
        v = value(g, "i8");
        CHECK(v && v->constant && ((int8_t *)v->constant->data)[0] == -128 && ((int8_t *)v->constant->data)[2] == 127);
        v = value(g, "flags");
        CHECK(v && v->constant && ((uint8_t *)v->constant->data)[0] == 0 && ((uint8_t *)v->constant->data)[1] == 1);
        v = value(g, "scalar");
        CHECK(v && v->constant && v->constant->rank == 0 && *(double *)v->constant->data == 2.5);
        v = value(g, "empty");
        CHECK(v && v->constant && v->constant->nbytes == 0 && v->constant->data != NULL);
        CHECK(g->n_inputs == 0 && g->n_outputs == 1);
    }
    kiln_graph_free(g);
    pool_free();
}

static void test_fp16_and_int4(void)
{
    Onnx__GraphProto *gp = graph("small types");
    const int64_t d3[] = {3}, d5[] = {5};
    uint16_t h[3] = {0x3c00, 0xc000, 0x7bff}; /* 1, -2, 65504 */
    Onnx__TensorProto *hraw = tensor("h_raw", KILN_FLOAT16, 1, d3);
    set_raw(hraw, h, sizeof h);
    Onnx__TensorProto *htyped = tensor("h_typed", KILN_FLOAT16, 1, d3);
    htyped->n_int32_data = 3;
    htyped->int32_data = zalloc(sizeof(int32_t) * 3);
    for (int i = 0; i < 3; i++)
        htyped->int32_data[i] = h[i];
    /* elements 1, 2, 3, -1, -8 packed low nibble first */
    const uint8_t packed[3] = {0x21, 0xf3, 0x08};
    Onnx__TensorProto *i4 = tensor("i4", KILN_INT4, 1, d5);
    set_raw(i4, packed, sizeof packed);
    Onnx__TensorProto *u4 = tensor("u4", KILN_UINT4, 1, d5);
    u4->n_int32_data = 3;
    u4->int32_data = zalloc(sizeof(int32_t) * 3);
    for (int i = 0; i < 3; i++)
        u4->int32_data[i] = packed[i];
    APPEND(gp->initializer, gp->n_initializer, hraw);
    APPEND(gp->initializer, gp->n_initializer, htyped);
    APPEND(gp->initializer, gp->n_initializer, i4);
    APPEND(gp->initializer, gp->n_initializer, u4);

    kiln_graph *g = NULL;
    CHECK(load(model(gp, "ai.onnx", 21), NULL, &g) == KILN_OK);
    if (g) {
        const kiln_value *a = value(g, "h_raw"), *b = value(g, "h_typed");
        CHECK(a && b && a->constant->nbytes == 6 && memcmp(a->constant->data, h, 6) == 0);
        CHECK(a && b && b->constant->nbytes == 6 && memcmp(b->constant->data, h, 6) == 0);
        const int8_t want_i4[5] = {1, 2, 3, -1, -8};
        const uint8_t want_u4[5] = {1, 2, 3, 15, 8};
        const kiln_value *s = value(g, "i4"), *u = value(g, "u4");
        CHECK(s && s->constant->nbytes == 5 && memcmp(s->constant->data, want_i4, 5) == 0);
        CHECK(u && u->constant->nbytes == 5 && memcmp(u->constant->data, want_u4, 5) == 0);
    }
    kiln_graph_free(g);
    pool_free();
}

/* -2, 1, 0, -1, 1 as int2 (2, 1, 0, 3, 1 as uint2), four per byte, lowest
 * bits first; the padding bits of the last byte are set and must be ignored. */
static const uint8_t packed2[2] = {0xc6, 0xfd};

static void test_int2(void)
{
    Onnx__GraphProto *gp = graph("int2");
    const int64_t d5[] = {5}, d3[] = {3}, d4[] = {4};
    Onnx__TensorProto *i2 = tensor("i2", KILN_INT2, 1, d5);
    set_raw(i2, packed2, sizeof packed2);
    Onnx__TensorProto *u2 = tensor("u2", KILN_UINT2, 1, d5);
    u2->n_int32_data = 2;
    u2->int32_data = zalloc(sizeof(int32_t) * 2);
    for (int i = 0; i < 2; i++)
        u2->int32_data[i] = packed2[i];
    Onnx__TensorProto *u2raw = tensor("u2_3", KILN_UINT2, 1, d3);
    set_raw(u2raw, packed2, 1);
    Onnx__TensorProto *i2typed = tensor("i2_4", KILN_INT2, 1, d4);
    i2typed->n_int32_data = 1;
    i2typed->int32_data = zalloc(sizeof(int32_t));
    i2typed->int32_data[0] = 0xb4; /* 0, 1, -1, -2 */
    Onnx__TensorProto *list[] = {i2, u2, u2raw, i2typed};
    for (size_t i = 0; i < sizeof list / sizeof *list; i++)
        APPEND(gp->initializer, gp->n_initializer, list[i]);
    APPEND(gp->input, gp->n_input, value_info("x", tensor_type(KILN_INT2, 1, (const char *[]){"7"})));
    APPEND(gp->output, gp->n_output, value_info("x", tensor_type(KILN_UINT2, 1, (const char *[]){"7"})));

    kiln_graph *g = NULL;
    CHECK(load(model(gp, "", 25), NULL, &g) == KILN_OK);
    if (g) {
        const int8_t want_i2[5] = {-2, 1, 0, -1, 1}, want_i2_4[4] = {0, 1, -1, -2};
        const uint8_t want_u2[5] = {2, 1, 0, 3, 1};
        const kiln_value *a = value(g, "i2"), *b = value(g, "u2"), *c = value(g, "u2_3"), *d = value(g, "i2_4");
        CHECK(a && a->constant && a->constant->nbytes == 5 && memcmp(a->constant->data, want_i2, 5) == 0);
        CHECK(b && b->constant && b->constant->nbytes == 5 && memcmp(b->constant->data, want_u2, 5) == 0);
        CHECK(c && c->constant && c->constant->nbytes == 3 && memcmp(c->constant->data, want_u2, 3) == 0);
        CHECK(d && d->constant && d->constant->nbytes == 4 && memcmp(d->constant->data, want_i2_4, 4) == 0);
        const kiln_value *x = value(g, "x");
        CHECK(x && x->is_graph_input && x->dtype == KILN_INT2 && x->rank == 1 && x->dims[0] == 7);
    }
    kiln_graph_free(g);
    pool_free();
}

/* Packed 2-bit data of the wrong length is refused, naming the tensor and
 * both byte counts. */
static void test_int2_errors(void)
{
    kiln_graph *g = NULL;
    Onnx__GraphProto *gp = graph("bad int2");
    Onnx__TensorProto *t = tensor("codes", KILN_INT2, 1, (const int64_t[]){9});
    set_raw(t, (const uint8_t[]){0x12, 0x34, 0x56, 0x78}, 4);
    APPEND(gp->initializer, gp->n_initializer, t);
    CHECK(load(model(gp, "", 25), NULL, &g) == KILN_ERR_PARSE && has_error("raw_data has 4 bytes, expected 3"));
    t->raw_data.len = 2;
    CHECK(load(model(gp, "", 25), NULL, &g) == KILN_ERR_PARSE && has_error("'codes'") &&
          has_error("raw_data has 2 bytes, expected 3"));
    t->has_raw_data = 0;
    t->data_type = KILN_UINT2;
    t->n_int32_data = 9;
    t->int32_data = zalloc(sizeof(int32_t) * 9);
    CHECK(load(model(gp, "", 25), NULL, &g) == KILN_ERR_PARSE && has_error("'codes'") &&
          has_error("int32_data holds 9 values, expected 3"));
    t->n_int32_data = 3;
    t->dims[0] = 12;
    CHECK(load(model(gp, "", 25), NULL, &g) == KILN_OK);
    kiln_graph_free(g);
    g = NULL;
    t->dims[0] = 13;
    CHECK(load(model(gp, "", 25), NULL, &g) == KILN_ERR_PARSE && has_error("expected 4"));
    pool_free();
}

static void test_inputs_and_symbols(void)
{
    Onnx__GraphProto *gp = graph("inputs");
    const char *xd[] = {"batch", "3", "?", "224"}, *yd[] = {"batch", "seq"};
    APPEND(gp->input, gp->n_input, value_info("x", tensor_type(KILN_FLOAT32, 4, xd)));
    APPEND(gp->input, gp->n_input, value_info("y", tensor_type(KILN_INT64, 2, yd)));
    APPEND(gp->input, gp->n_input, value_info("norank", tensor_type(KILN_FLOAT32, -1, NULL)));
    /* IR < 4 style: an input that is also an initializer is a constant */
    const int64_t d1[] = {1};
    Onnx__TensorProto *c = tensor("c", KILN_FLOAT32, 1, d1);
    set_raw(c, (const float[]){4.0f}, 4);
    APPEND(gp->initializer, gp->n_initializer, c);
    APPEND(gp->input, gp->n_input, value_info("c", tensor_type(KILN_FLOAT32, 1, (const char *[]){"1"})));
    APPEND(gp->output, gp->n_output, value_info("x", NULL));

    kiln_graph *g = NULL;
    CHECK(load(model(gp, "", 13), NULL, &g) == KILN_OK);
    if (g) {
        const kiln_value *x = value(g, "x"), *y = value(g, "y"), *nr = value(g, "norank"), *cv = value(g, "c");
        CHECK(g->n_inputs == 3 && g->n_symbols == 2);
        CHECK(x && x->is_graph_input && x->is_graph_output && x->rank == 4);
        CHECK(x && KILN_DIM_IS_SYMBOL(x->dims[0]) && strcmp(g->symbols[KILN_DIM_SYMBOL_ID(x->dims[0])], "batch") == 0);
        CHECK(x && x->dims[1] == 3 && x->dims[2] == KILN_DIM_UNKNOWN && x->dims[3] == 224);
        CHECK(y && y->dtype == KILN_INT64 && y->dims[0] == x->dims[0]);
        CHECK(y && KILN_DIM_IS_SYMBOL(y->dims[1]) && strcmp(g->symbols[KILN_DIM_SYMBOL_ID(y->dims[1])], "seq") == 0);
        CHECK(nr && nr->rank == -1 && nr->dtype == KILN_FLOAT32);
        CHECK(cv && cv->constant && !cv->is_graph_input);
    }
    kiln_graph_free(g);
    pool_free();

    /* a negative dim names the input and the dim */
    gp = graph("neg");
    APPEND(gp->input, gp->n_input, value_info("img", tensor_type(KILN_FLOAT32, 2, (const char *[]){"1", "-4"})));
    CHECK(load(model(gp, "", 13), NULL, &g) == KILN_ERR_PARSE && has_error("'img'") && has_error("dim 1"));
    pool_free();

    /* non-tensor graph inputs are refused by name */
    gp = graph("seq");
    Onnx__TypeProto *st = zalloc(sizeof *st);
    onnx__type_proto__init(st);
    Onnx__TypeProto__Sequence *seq = zalloc(sizeof *seq);
    onnx__type_proto__sequence__init(seq);
    seq->elem_type = tensor_type(KILN_FLOAT32, -1, NULL);
    st->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
    st->sequence_type = seq;
    APPEND(gp->input, gp->n_input, value_info("items", st));
    CHECK(load(model(gp, "", 13), NULL, &g) == KILN_ERR_UNSUPPORTED && has_error("'items'") && has_error("sequence"));
    pool_free();
}

static void test_opsets(void)
{
    kiln_graph *g = NULL;
    Onnx__GraphProto *gp = graph("ops");
    APPEND(gp->input, gp->n_input, value_info("x", tensor_type(KILN_FLOAT32, 1, (const char *[]){"4"})));
    APPEND(gp->node, gp->n_node, node("Relu", "r", 1, (const char *[]){"x"}, 1, (const char *[]){"y"}));
    APPEND(gp->output, gp->n_output, value_info("y", NULL));
    Onnx__ModelProto *m = model(gp, "", 13);
    /* another domain in opset_import is harmless while no node uses it */
    Onnx__OperatorSetIdProto *ms = zalloc(sizeof *ms);
    onnx__operator_set_id_proto__init(ms);
    ms->domain = str("com.microsoft");
    ms->has_version = 1;
    ms->version = 1;
    APPEND(m->opset_import, m->n_opset_import, ms);
    CHECK(load(m, NULL, &g) == KILN_OK);
    if (g) {
        CHECK(g->opset == 13 && g->n_nodes == 1 && g->nodes[0].opset == 13);
        CHECK(strcmp(g->nodes[0].domain, "") == 0 && strcmp(g->nodes[0].op_type, "Relu") == 0);
        CHECK(g->values[g->nodes[0].outputs[0]].producer == 0 && g->ir_version == 9);
    }
    kiln_graph_free(g);

    CHECK(load(model(gp, "", 99), NULL, &g) == KILN_ERR_UNSUPPORTED && has_error("99"));
    CHECK(load(model(gp, "", 0), NULL, &g) == KILN_ERR_PARSE && has_error("opset"));
    CHECK(load(model(gp, "ai.onnx", 25), NULL, &g) == KILN_OK);
    kiln_graph_free(g);

    /* a node in another domain */
    gp->node[0]->domain = str("com.microsoft");
    gp->node[0]->op_type = str("FusedGemm");
    CHECK(load(model(gp, "", 13), NULL, &g) == KILN_ERR_UNSUPPORTED && has_error("unsupported op FusedGemm") &&
          has_error("com.microsoft") && has_error("'r'"));
    /* an unknown default-domain op is the runtime's business */
    gp->node[0]->domain = str("");
    gp->node[0]->op_type = str("NoSuchOp");
    CHECK(load(model(gp, "", 13), NULL, &g) == KILN_OK);
    kiln_graph_free(g);
    pool_free();
}

static void test_nodes(void)
{
    kiln_graph *g = NULL;
    Onnx__GraphProto *gp = graph("nodes");
    APPEND(gp->input, gp->n_input, value_info("x", tensor_type(KILN_FLOAT32, 1, (const char *[]){"4"})));
    /* Clip with an absent optional min: "" -> -1; and an absent optional output */
    APPEND(gp->node, gp->n_node, node("Clip", "", 3, (const char *[]){"x", "", "hi"}, 1, (const char *[]){"c"}));
    APPEND(gp->node, gp->n_node, node("Dropout", "drop", 1, (const char *[]){"c"}, 2, (const char *[]){"d", ""}));
    APPEND(gp->node, gp->n_node, node("Constant", "k", 0, NULL, 1, (const char *[]){"hi"}));
    Onnx__AttributeProto *a = attr(gp->node[2], "value", KILN_ATTR_TENSOR);
    a->t = tensor("", KILN_FLOAT32, 0, NULL);
    set_raw(a->t, (const float[]){6.0f}, 4);
    Onnx__TypeProto *ct = tensor_type(KILN_FLOAT32, 1, (const char *[]){"n"});
    APPEND(gp->value_info, gp->n_value_info, value_info("c", ct));
    APPEND(gp->value_info, gp->n_value_info, value_info("stale", ct));
    APPEND(gp->output, gp->n_output, value_info("d", tensor_type(KILN_FLOAT32, 1, (const char *[]){"4"})));
    CHECK(load(model(gp, "", 13), NULL, &g) == KILN_OK);
    if (g) {
        CHECK(g->n_nodes == 3 && g->nodes[0].n_inputs == 3 && g->nodes[0].inputs[1] == -1);
        CHECK(g->nodes[1].n_outputs == 2 && g->nodes[1].outputs[1] == -1);
        CHECK(strcmp(g->nodes[2].op_type, "Constant") == 0 && g->nodes[2].n_attrs == 1);
        CHECK(g->nodes[2].attrs[0].t && *(float *)g->nodes[2].attrs[0].t->data == 6.0f);
        const kiln_value *hi = value(g, "hi"), *c = value(g, "c"), *d = value(g, "d");
        CHECK(hi && hi->producer == 2 && !hi->constant);
        CHECK(c && c->producer == 0 && c->dtype == KILN_FLOAT32 && c->rank == 1 && KILN_DIM_IS_SYMBOL(c->dims[0]));
        CHECK(d && d->is_graph_output && d->producer == 1 && d->rank == 1 && d->dims[0] == 4);
        CHECK(value(g, "stale") == NULL);
    }
    kiln_graph_free(g);

    /* a value produced twice */
    gp->node[2]->output[0] = str("c");
    CHECK(load(model(gp, "", 13), NULL, &g) == KILN_ERR_GRAPH && has_error("'c'"));
    pool_free();
}

static Onnx__GraphProto *branch(const char *name, const char *op)
{
    Onnx__GraphProto *b = graph(name);
    /* "x" comes from the outer scope */
    APPEND(b->node, b->n_node, node(op, "", 1, (const char *[]){"x"}, 1, (const char *[]){"out"}));
    APPEND(b->output, b->n_output, value_info("out", tensor_type(KILN_FLOAT32, -1, NULL)));
    return b;
}

static void test_attributes(void)
{
    kiln_graph *g = NULL;
    Onnx__GraphProto *gp = graph("attrs");
    APPEND(gp->input, gp->n_input, value_info("x", tensor_type(KILN_FLOAT32, 1, (const char *[]){"4"})));
    APPEND(gp->input, gp->n_input, value_info("cond", tensor_type(KILN_BOOL, 0, NULL)));
    Onnx__NodeProto *n = node("If", "if", 1, (const char *[]){"cond"}, 1, (const char *[]){"y"});
    APPEND(gp->node, gp->n_node, n);
    APPEND(gp->output, gp->n_output, value_info("y", NULL));
    attr(n, "then_branch", KILN_ATTR_GRAPH)->g = branch("then", "Relu");
    attr(n, "else_branch", KILN_ATTR_GRAPH)->g = branch("else", "Neg");
    Onnx__AttributeProto *af = attr(n, "f", KILN_ATTR_FLOAT);
    af->has_f = 1;
    af->f = 0.5f;
    Onnx__AttributeProto *ai = attr(n, "i", KILN_ATTR_INT);
    ai->has_i = 1;
    ai->i = -7;
    Onnx__AttributeProto *s = attr(n, "s", KILN_ATTR_STRING);
    s->has_s = 1;
    s->s.data = (uint8_t *)str("hello");
    s->s.len = 5;
    Onnx__AttributeProto *fl = attr(n, "fl", KILN_ATTR_FLOATS);
    fl->n_floats = 2;
    fl->floats = zalloc(sizeof(float) * 2);
    fl->floats[1] = 3.0f;
    Onnx__AttributeProto *is = attr(n, "is", KILN_ATTR_INTS);
    is->n_ints = 3;
    is->ints = zalloc(sizeof(int64_t) * 3);
    is->ints[2] = 9;
    Onnx__AttributeProto *ss = attr(n, "ss", KILN_ATTR_STRINGS);
    ss->n_strings = 2;
    ss->strings = zalloc(sizeof *ss->strings * 2);
    ss->strings[0].data = (uint8_t *)str("a");
    ss->strings[0].len = 1;
    Onnx__AttributeProto *ts = attr(n, "ts", KILN_ATTR_TENSORS);
    ts->n_tensors = 1;
    ts->tensors = zalloc(sizeof *ts->tensors);
    ts->tensors[0] = tensor("t0", KILN_INT32, 1, (const int64_t[]){1});
    ts->tensors[0]->n_int32_data = 1;
    ts->tensors[0]->int32_data = zalloc(sizeof(int32_t));
    ts->tensors[0]->int32_data[0] = 42;
    Onnx__AttributeProto *gs = attr(n, "gs", KILN_ATTR_GRAPHS);
    gs->n_graphs = 1;
    gs->graphs = zalloc(sizeof *gs->graphs);
    gs->graphs[0] = branch("g0", "Abs");
    Onnx__AttributeProto *untyped = attr(n, "old_style", 0);
    untyped->has_type = 0;
    untyped->has_i = 1;
    untyped->i = 3;

    CHECK(load(model(gp, "", 16), NULL, &g) == KILN_OK);
    if (g && g->n_nodes == 1) {
        const kiln_node *nd = &g->nodes[0];
        const kiln_attr *tb = kiln_attr_find(nd, "then_branch");
        CHECK(nd->n_attrs == 11);
        CHECK(tb && tb->type == KILN_ATTR_GRAPH && tb->g && tb->g->n_nodes == 1 && tb->g->opset == 16);
        if (tb && tb->g) {
            int x = kiln_graph_find_value(tb->g, "x");
            CHECK(x >= 0 && tb->g->values[x].producer == -1 && !tb->g->values[x].is_graph_input);
            CHECK(strcmp(tb->g->name, "then") == 0 && tb->g->n_outputs == 1);
        }
        CHECK(kiln_attr_float(nd, "f", 0) == 0.5f && kiln_attr_int(nd, "i", 0) == -7);
        CHECK(strcmp(kiln_attr_string(nd, "s", ""), "hello") == 0 && kiln_attr_find(nd, "s")->s_len == 5);
        const float *fv;
        const int64_t *iv;
        int64_t cnt;
        CHECK(kiln_attr_floats(nd, "fl", &fv, &cnt) && cnt == 2 && fv[1] == 3.0f);
        CHECK(kiln_attr_ints(nd, "is", &iv, &cnt) && cnt == 3 && iv[2] == 9);
        const kiln_attr *sa = kiln_attr_find(nd, "ss");
        CHECK(sa && sa->type == KILN_ATTR_STRINGS && sa->n == 2 && strcmp(sa->strings[0], "a") == 0 &&
              strcmp(sa->strings[1], "") == 0);
        const kiln_attr *ta = kiln_attr_find(nd, "ts");
        CHECK(ta && ta->n == 1 && ta->tensors[0] && *(int32_t *)ta->tensors[0]->data == 42);
        const kiln_attr *ga = kiln_attr_find(nd, "gs");
        CHECK(ga && ga->n == 1 && ga->graphs[0] && strcmp(ga->graphs[0]->nodes[0].op_type, "Abs") == 0);
        CHECK(kiln_attr_int(nd, "old_style", 0) == 3);
    }
    kiln_graph_free(g);

    /* a broken subgraph reports the outer node and the inner problem */
    gs->graphs[0]->node[0]->domain = str("ai.onnx.ml");
    CHECK(load(model(gp, "", 16), NULL, &g) == KILN_ERR_UNSUPPORTED && has_error("'if'") && has_error("ai.onnx.ml"));
    gs->graphs[0]->node[0]->domain = NULL;

    /* unsupported attribute kinds name node and attribute */
    Onnx__AttributeProto *sp = attr(n, "sparse", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR);
    CHECK(load(model(gp, "", 16), NULL, &g) == KILN_ERR_UNSUPPORTED && has_error("'if'") && has_error("'sparse'"));
    sp->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS;
    CHECK(load(model(gp, "", 16), NULL, &g) == KILN_ERR_UNSUPPORTED && has_error("'sparse'"));
    sp->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    sp->ref_attr_name = str("outer");
    CHECK(load(model(gp, "", 16), NULL, &g) == KILN_ERR_UNSUPPORTED && has_error("ref_attr_name"));
    sp->ref_attr_name = NULL;
    sp->name = str("f");
    CHECK(load(model(gp, "", 16), NULL, &g) == KILN_ERR_PARSE && has_error("twice"));
    pool_free();
}

static void test_tensor_errors(void)
{
    kiln_graph *g = NULL;
    const int64_t d23[] = {2, 3};
    Onnx__GraphProto *gp = graph("bad");
    Onnx__TensorProto *t = tensor("weights", KILN_FLOAT32, 2, d23);
    set_raw(t, "0123456789", 10);
    APPEND(gp->initializer, gp->n_initializer, t);
    CHECK(load(model(gp, "", 13), NULL, &g) == KILN_ERR_PARSE && has_error("'weights'") && has_error("24") &&
          has_error("10"));
    t->has_raw_data = 0;
    t->n_float_data = 5;
    t->float_data = zalloc(sizeof(float) * 5);
    CHECK(load(model(gp, "", 13), NULL, &g) == KILN_ERR_PARSE && has_error("float_data") && has_error("5"));
    t->dims[0] = -2;
    CHECK(load(model(gp, "", 13), NULL, &g) == KILN_ERR_PARSE && has_error("'weights'") && has_error("-2"));
    t->dims[0] = 1LL << 40;
    t->dims[1] = 1LL << 40;
    CHECK(load(model(gp, "", 13), NULL, &g) == KILN_ERR_LIMIT && has_error("'weights'"));
    t->dims[1] = 1;
    CHECK(load(model(gp, "", 13), NULL, &g) == KILN_ERR_LIMIT && has_error("'weights'"));
    t->dims[0] = 2;
    t->dims[1] = 3;
    t->data_type = KILN_STRING;
    CHECK(load(model(gp, "", 13), NULL, &g) == KILN_ERR_UNSUPPORTED && has_error("string"));
    /* external data from memory without a base folder */
    t->data_type = KILN_FLOAT32;
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    Onnx__StringStringEntryProto *e = zalloc(sizeof *e);
    onnx__string_string_entry_proto__init(e);
    e->key = str("location");
    e->value = str("weights.bin");
    APPEND(t->external_data, t->n_external_data, e);
    CHECK(load(model(gp, "", 13), NULL, &g) == KILN_ERR_SECURITY && has_error("weights.bin"));
    pool_free();
}

static void test_external_data(void)
{
    char dir[] = "/tmp/kiln_test_onnx_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/w.bin", dir);
    FILE *f = fopen(path, "wb");
    const float vals[4] = {9, 1, 2, 3};
    fwrite(vals, sizeof vals, 1, f);
    fclose(f);

    Onnx__GraphProto *gp = graph("ext");
    Onnx__TensorProto *t = tensor("w", KILN_FLOAT32, 1, (const int64_t[]){3});
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    const char *kv[][2] = {{"location", "./w.bin"}, {"offset", "4"}, {"length", "12"}, {"checksum", "x"}};
    for (int i = 0; i < 4; i++) {
        Onnx__StringStringEntryProto *e = zalloc(sizeof *e);
        onnx__string_string_entry_proto__init(e);
        e->key = str(kv[i][0]);
        e->value = str(kv[i][1]);
        APPEND(t->external_data, t->n_external_data, e);
    }
    APPEND(gp->initializer, gp->n_initializer, t);
    kiln_graph *g = NULL;
    CHECK(load(model(gp, "", 13), dir, &g) == KILN_OK);
    if (g) {
        const kiln_value *v = value(g, "w");
        CHECK(v && v->constant && v->constant->nbytes == 12 && memcmp(v->constant->data, vals + 1, 12) == 0);
    }
    kiln_graph_free(g);
    t->external_data[2]->value = str("16");
    CHECK(load(model(gp, "", 13), dir, &g) == KILN_ERR_PARSE && has_error("past the end"));
    t->external_data[2]->value = str("-1");
    CHECK(load(model(gp, "", 13), dir, &g) == KILN_ERR_PARSE && has_error("negative"));
    t->external_data[2]->value = str("12");
    t->external_data[0]->value = str("../w.bin");
    CHECK(load(model(gp, "", 13), dir, &g) == KILN_ERR_SECURITY && has_error("'w'") && has_error("../w.bin"));
    t->external_data[0]->value = str(path);
    CHECK(load(model(gp, "", 13), dir, &g) == KILN_ERR_SECURITY && has_error("absolute"));
    t->external_data[0]->value = str("missing.bin");
    CHECK(load(model(gp, "", 13), dir, &g) == KILN_ERR_IO && has_error("missing.bin"));
    pool_free();
    unlink(path);
    rmdir(dir);
}

static void test_wire_errors(void)
{
    Onnx__GraphProto *gp = graph("wire");
    APPEND(gp->input, gp->n_input, value_info("x", tensor_type(KILN_FLOAT32, 1, (const char *[]){"4"})));
    Onnx__ModelProto *m = model(gp, "", 13);
    size_t n = onnx__model_proto__get_packed_size(m);
    uint8_t *buf = malloc(n);
    onnx__model_proto__pack(m, buf);
    kiln_graph *g = NULL;
    for (size_t cut = 1; cut < n; cut++) {
        kiln_status st = kiln_onnx_load_memory(buf, cut, NULL, NULL, &g);
        kiln_graph_free(g);
        g = NULL;
        if (st != KILN_OK && st != KILN_ERR_PARSE) {
            CHECK(!"a truncated model gives OK or a parse error");
            break;
        }
    }
    CHECK(kiln_onnx_load_memory(buf, n - 1, NULL, NULL, &g) == KILN_ERR_PARSE && has_error("byte offset"));
    uint8_t bad[] = {0x3a, 0x7f, 0x01}; /* field 7 (graph), length 127, 1 byte present */
    CHECK(kiln_onnx_load_memory(bad, sizeof bad, NULL, NULL, &g) == KILN_ERR_PARSE && has_error("byte offset 1") &&
          has_error("ModelProto.graph"));
    uint8_t group[] = {0x0b};
    CHECK(kiln_onnx_load_memory(group, 1, NULL, NULL, &g) == KILN_ERR_PARSE && has_error("group"));
    CHECK(kiln_onnx_load_memory(buf, 0, NULL, NULL, &g) == KILN_ERR_PARSE);
    free(buf);
    pool_free();
}

/* Packs t into the file at path; 1 on success. */
static int write_tensor(const char *path, const Onnx__TensorProto *t)
{
    size_t n = onnx__tensor_proto__get_packed_size(t);
    uint8_t *buf = malloc(n ? n : 1);
    FILE *f = buf ? fopen(path, "wb") : NULL;
    int ok = f != NULL;
    if (f) {
        onnx__tensor_proto__pack(t, buf);
        ok = fwrite(buf, 1, n, f) == n;
        ok = fclose(f) == 0 && ok;
    }
    free(buf);
    return ok;
}

static void test_tensor_file(void)
{
    char path[] = "/tmp/kiln_test_tensor_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        CHECK(!"mkstemp");
        return;
    }
    close(fd);
    Onnx__TensorProto *t = tensor("input_0", KILN_INT16, 2, (const int64_t[]){1, 2});
    set_raw(t, (const int16_t[]){-3, 300}, 4);
    CHECK(write_tensor(path, t));
    kiln_tensor out;
    char *name = NULL;
    CHECK(kiln_onnx_load_tensor_file(path, &out, &name) == KILN_OK);
    CHECK(name && strcmp(name, "input_0") == 0);
    CHECK(out.dtype == KILN_INT16 && out.rank == 2 && out.dims[1] == 2 && ((int16_t *)out.data)[1] == 300);
    kiln_tensor_clear(&out);
    free(name);
    /* test data of a packed type goes through the same unpacking */
    t = tensor("input_1", KILN_INT2, 2, (const int64_t[]){1, 5});
    set_raw(t, packed2, sizeof packed2);
    CHECK(write_tensor(path, t));
    CHECK(kiln_onnx_load_tensor_file(path, &out, NULL) == KILN_OK);
    CHECK(out.dtype == KILN_INT2 && out.rank == 2 && out.nbytes == 5 && ((int8_t *)out.data)[0] == -2 &&
          ((int8_t *)out.data)[3] == -1);
    kiln_tensor_clear(&out);
    t->raw_data.len = 1;
    CHECK(write_tensor(path, t));
    CHECK(kiln_onnx_load_tensor_file(path, &out, NULL) == KILN_ERR_PARSE && has_error("'input_1'") &&
          has_error("raw_data has 1 bytes, expected 2"));
    CHECK(kiln_onnx_load_tensor_file("/nonexistent/x.pb", &out, NULL) == KILN_ERR_IO);
    unlink(path);
    pool_free();
}

int main(void)
{
    test_initializers();
    test_fp16_and_int4();
    test_int2();
    test_int2_errors();
    test_inputs_and_symbols();
    test_opsets();
    test_nodes();
    test_attributes();
    test_tensor_errors();
    test_external_data();
    test_wire_errors();
    test_tensor_file();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
