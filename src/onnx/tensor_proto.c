/*
 * tensor_proto.c - ONNX TensorProto to kiln_tensor.
 *
 * Checks dtype and dims (negative dims, element-count overflow, the byte
 * limit) before touching any data, then takes the data from raw_data, the
 * typed field that matches the dtype, or external data. Buffers protobuf-c
 * already allocated (raw_data, and typed arrays whose layout is the tensor's)
 * are moved into the tensor, not copied. Sub-byte types arrive packed
 * (int4, uint4 and float4e2m1 two per byte, int2 and uint2 four per byte),
 * lowest bits first, and are stored one element per byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "core/status.h"
#include "onnx/onnx_internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the ONNX importer assumes a little-endian host (raw_data is little-endian)"
#endif

/* What the checks of the header left for the data readers. */
typedef struct tensor_plan {
    kiln_dtype dtype;
    int64_t numel;
    size_t nbytes; /* as stored in kiln: one byte per sub-byte element */
    size_t packed; /* as stored in ONNX: sub-byte types 8 / bits per byte */
} tensor_plan;

/* Bytes of n elements of dt in ONNX's packed form. */
static size_t packed_bytes(kiln_dtype dt, size_t n)
{
    size_t per = 8 / (size_t)kiln_dtype_bits(dt);
    return n / per + (n % per != 0);
}

static kiln_status read_dtype(const Onnx__TensorProto *tp, const char *what, kiln_dtype *out)
{
    int32_t t = tp->has_data_type ? tp->data_type : 0;
    if (t == KILN_UNDEFINED)
        return kiln_error(KILN_ERR_PARSE, "%s has no data_type", what);
    if (t == KILN_STRING)
        return kiln_error(KILN_ERR_UNSUPPORTED, "%s: string tensors are not supported", what);
    if (t < 0 || t >= KILN_DTYPE_COUNT || !kiln_dtype_valid((kiln_dtype)t)) {
        const char *name = t > 0 && t < KILN_DTYPE_COUNT ? kiln_dtype_name((kiln_dtype)t) : "unknown";
        return kiln_error(KILN_ERR_UNSUPPORTED, "%s: data_type %d (%s) is not supported", what, (int)t, name);
    }
    *out = (kiln_dtype)t;
    return KILN_OK;
}

static kiln_status read_dims(const Onnx__TensorProto *tp, const char *what, kiln_tensor *out)
{
    if (tp->n_dims > KILN_MAX_RANK)
        return kiln_error(KILN_ERR_LIMIT, "%s has rank %zu, over kiln's limit of %d", what, tp->n_dims, KILN_MAX_RANK);
    for (size_t i = 0; i < tp->n_dims; i++) {
        if (tp->dims[i] < 0)
            return kiln_error(KILN_ERR_PARSE, "%s: dim %zu is %lld (negative)", what, i, (long long)tp->dims[i]);
        out->dims[i] = tp->dims[i];
    }
    out->rank = (int)tp->n_dims;
    return KILN_OK;
}

static kiln_status plan_tensor(const Onnx__TensorProto *tp, kiln_onnx_ctx *ctx, const char *what, kiln_tensor *out,
                               tensor_plan *p)
{
    KILN_TRY(read_dtype(tp, what, &p->dtype));
    out->dtype = p->dtype;
    KILN_TRY(read_dims(tp, what, out));
    KILN_TRY(kiln_shape_numel(out->dims, out->rank, &p->numel, what));
    KILN_TRY(kiln_bytes_for(p->dtype, p->numel, ctx->max_bytes, &p->nbytes, what));
    p->packed = kiln_dtype_is_subbyte(p->dtype) ? packed_bytes(p->dtype, (size_t)p->numel) : p->nbytes;
    if (tp->segment)
        return kiln_error(KILN_ERR_UNSUPPORTED, "%s: segmented tensors are not supported", what);
    return KILN_OK;
}

/* Makes `data` (malloc'd, may be NULL when empty) the tensor's storage. */
static kiln_status adopt(kiln_tensor *out, void *data, size_t nbytes, const char *what)
{
    if (!data)
        data = malloc(1); /* empty tensors still get a valid pointer */
    if (!data)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    out->data = data;
    out->nbytes = nbytes;
    out->owns_data = 1;
    return KILN_OK;
}

/* p->packed bytes of packed sub-byte elements (lowest bits first) -> one
 * element per byte; signed integer types are sign-extended. */
static kiln_status unpack_subbyte(const uint8_t *src, const tensor_plan *p, kiln_tensor *out, const char *what)
{
    unsigned bits = (unsigned)kiln_dtype_bits(p->dtype), per = 8 / bits, mask = (1u << bits) - 1;
    int is_sint = kiln_dtype_is_int(p->dtype) && kiln_dtype_is_signed(p->dtype);
    int sign = is_sint ? 1 << (bits - 1) : 0;
    uint8_t *dst = malloc(p->nbytes ? p->nbytes : 1);
    if (!dst)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", what, p->nbytes);
    for (size_t i = 0; i < p->nbytes; i++) {
        int v = (int)(src[i / per] >> (i % per * bits) & mask);
        dst[i] = (uint8_t)((v ^ sign) - sign);
    }
    return adopt(out, dst, p->nbytes, what);
}

static const char *shape_text(const kiln_tensor *t, const tensor_plan *p, char *buf, size_t len)
{
    char dims[128];
    snprintf(buf, len, "%s %s", kiln_shape_str(t->dims, t->rank, dims, sizeof dims), kiln_dtype_name(p->dtype));
    return buf;
}

static kiln_status load_raw(Onnx__TensorProto *tp, const tensor_plan *p, kiln_tensor *out, const char *what)
{
    if (tp->raw_data.len != p->packed) {
        char shape[160];
        return kiln_error(KILN_ERR_PARSE, "%s: raw_data has %zu bytes, expected %zu (%s)", what, tp->raw_data.len,
                          p->packed, shape_text(out, p, shape, sizeof shape));
    }
    if (kiln_dtype_is_subbyte(p->dtype))
        return unpack_subbyte(tp->raw_data.data, p, out, what);
    /* move protobuf-c's copy: with data NULL, free_unpacked leaves it alone */
    void *data = tp->raw_data.data;
    tp->raw_data.data = NULL;
    tp->raw_data.len = 0;
    if (adopt(out, data, p->nbytes, what) != KILN_OK) {
        free(data);
        return KILN_ERR_OUT_OF_MEMORY;
    }
    return KILN_OK;
}

static kiln_status count_error(const char *what, const char *field, size_t have, size_t want)
{
    return kiln_error(KILN_ERR_PARSE, "%s: %s holds %zu values, expected %zu", what, field, have, want);
}

/* Moves a protobuf-c repeated array whose element layout is the tensor's. */
static kiln_status take_array(void **arr, size_t *n, const char *field, const tensor_plan *p, kiln_tensor *out,
                              const char *what)
{
    if (*n != (size_t)p->numel)
        return count_error(what, field, *n, (size_t)p->numel);
    void *data = *arr;
    *arr = NULL;
    *n = 0;
    if (adopt(out, data, p->nbytes, what) != KILN_OK) {
        free(data);
        return KILN_ERR_OUT_OF_MEMORY;
    }
    return KILN_OK;
}

/* int32_data holds one element per entry for 8- and 16-bit types (their bit
 * patterns for float16, bfloat16 and float8) and bool. */
static kiln_status narrow_int32(const Onnx__TensorProto *tp, const tensor_plan *p, kiln_tensor *out, const char *what)
{
    if (tp->n_int32_data != (size_t)p->numel)
        return count_error(what, "int32_data", tp->n_int32_data, (size_t)p->numel);
    uint8_t *dst = malloc(p->nbytes ? p->nbytes : 1);
    if (!dst)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", what, p->nbytes);
    size_t es = kiln_dtype_size(p->dtype);
    for (size_t i = 0; i < tp->n_int32_data; i++) {
        int32_t v = tp->int32_data[i];
        if (p->dtype == KILN_BOOL)
            dst[i] = v != 0;
        else if (es == 1)
            dst[i] = (uint8_t)v;
        else {
            uint16_t h = (uint16_t)v;
            memcpy(dst + 2 * i, &h, 2);
        }
    }
    return adopt(out, dst, p->nbytes, what);
}

/* int32_data holds one byte of packed sub-byte elements per entry. */
static kiln_status unpack_int32_subbyte(const Onnx__TensorProto *tp, const tensor_plan *p, kiln_tensor *out,
                                        const char *what)
{
    if (tp->n_int32_data != p->packed)
        return count_error(what, "int32_data", tp->n_int32_data, p->packed);
    uint8_t *bytes = malloc(p->packed ? p->packed : 1);
    if (!bytes)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", what, p->packed);
    for (size_t i = 0; i < p->packed; i++)
        bytes[i] = (uint8_t)tp->int32_data[i];
    kiln_status st = unpack_subbyte(bytes, p, out, what);
    free(bytes);
    return st;
}

static kiln_status narrow_uint64(const Onnx__TensorProto *tp, const tensor_plan *p, kiln_tensor *out, const char *what)
{
    if (tp->n_uint64_data != (size_t)p->numel)
        return count_error(what, "uint64_data", tp->n_uint64_data, (size_t)p->numel);
    uint32_t *dst = malloc(p->nbytes ? p->nbytes : 1);
    if (!dst)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", what, p->nbytes);
    for (size_t i = 0; i < tp->n_uint64_data; i++)
        dst[i] = (uint32_t)tp->uint64_data[i];
    return adopt(out, dst, p->nbytes, what);
}

static kiln_status load_typed(Onnx__TensorProto *tp, const tensor_plan *p, kiln_tensor *out, const char *what)
{
    switch (p->dtype) {
    case KILN_FLOAT32:
        return take_array((void **)&tp->float_data, &tp->n_float_data, "float_data", p, out, what);
    case KILN_FLOAT64:
        return take_array((void **)&tp->double_data, &tp->n_double_data, "double_data", p, out, what);
    case KILN_INT64:
        return take_array((void **)&tp->int64_data, &tp->n_int64_data, "int64_data", p, out, what);
    case KILN_UINT64:
        return take_array((void **)&tp->uint64_data, &tp->n_uint64_data, "uint64_data", p, out, what);
    case KILN_INT32:
        return take_array((void **)&tp->int32_data, &tp->n_int32_data, "int32_data", p, out, what);
    case KILN_UINT32:
        return narrow_uint64(tp, p, out, what);
    default:
        if (kiln_dtype_is_subbyte(p->dtype))
            return unpack_int32_subbyte(tp, p, out, what);
        return narrow_int32(tp, p, out, what);
    }
}

static kiln_status load_external(Onnx__TensorProto *tp, kiln_onnx_ctx *ctx, const tensor_plan *p, kiln_tensor *out,
                                 const char *what)
{
    void *data = NULL;
    KILN_TRY(kiln_onnx_external_read(tp, ctx, what, p->packed, &data));
    if (!kiln_dtype_is_subbyte(p->dtype)) {
        if (adopt(out, data, p->nbytes, what) != KILN_OK) {
            free(data);
            return KILN_ERR_OUT_OF_MEMORY;
        }
        return KILN_OK;
    }
    kiln_status st = unpack_subbyte(data, p, out, what);
    free(data);
    return st;
}

static kiln_status load_data(Onnx__TensorProto *tp, kiln_onnx_ctx *ctx, const tensor_plan *p, kiln_tensor *out,
                             const char *what)
{
    int location = tp->has_data_location ? (int)tp->data_location : ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT;
    if (location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return load_external(tp, ctx, p, out, what);
    if (location != ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT)
        return kiln_error(KILN_ERR_PARSE, "%s: unknown data_location %d", what, location);
    if (tp->has_raw_data)
        return load_raw(tp, p, out, what);
    return load_typed(tp, p, out, what);
}

kiln_status kiln_onnx_tensor(Onnx__TensorProto *tp, kiln_onnx_ctx *ctx, const char *what, kiln_tensor *out)
{
    tensor_plan p;
    memset(out, 0, sizeof *out);
    kiln_status st = plan_tensor(tp, ctx, what, out, &p);
    if (st == KILN_OK)
        st = load_data(tp, ctx, &p, out, what);
    if (st != KILN_OK)
        kiln_tensor_clear(out);
    return st;
}
