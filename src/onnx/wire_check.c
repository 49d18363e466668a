/*
 * wire_check.c - a protobuf wire-format walker run before protobuf-c's unpack.
 *
 * protobuf-c only says whether unpacking failed, not where. This walker goes
 * over the same bytes guided by the message descriptors protoc-c generated,
 * descends into every message-typed field, and reports the first problem as
 * "byte offset N: <what> (field F)". It accepts exactly what protobuf-c's
 * unpack accepts (or slightly less), and it also caps the nesting depth so a
 * crafted file cannot exhaust the stack inside protobuf-c's recursion.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "core/status.h"
#include "onnx/onnx_internal.h"

/* Message nesting the walker (and so protobuf-c) will descend into. ONNX
 * needs about 3 levels per subgraph and a handful for nested TypeProtos. */
#define WIRE_MAX_DEPTH 96

enum { WT_VARINT = 0, WT_64BIT = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_32BIT = 5 };

typedef struct wire {
    const uint8_t *base; /* start of the whole buffer, for absolute offsets */
} wire;

typedef struct span {
    size_t pos, end;
} span;

/* "GraphProto.node" for a known field, "field 17 of GraphProto" otherwise. */
static const char *field_label(const ProtobufCMessageDescriptor *desc, const ProtobufCFieldDescriptor *f,
                               uint64_t number, char *buf, size_t len)
{
    if (f)
        snprintf(buf, len, "%s.%s", desc->short_name, f->name);
    else
        snprintf(buf, len, "field %llu of %s", (unsigned long long)number, desc->short_name);
    return buf;
}

static kiln_status wire_error(size_t offset, const char *what, const char *field)
{
    return kiln_error(KILN_ERR_PARSE, "byte offset %zu: %s (%s)", offset, what, field);
}

/* Reads a varint of at most max_bytes bytes; returns 0 when it does not end
 * in time (truncated, or longer than max_bytes). */
static int read_varint(const uint8_t *p, span *s, unsigned max_bytes, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < max_bytes; i++) {
        if (s->pos + i >= s->end)
            return 0;
        uint8_t b = p[s->pos + i];
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            s->pos += i + 1;
            *out = v;
            return 1;
        }
    }
    return 0;
}

/* The wire type a non-packed field of this protobuf-c type is written with. */
static int natural_wire_type(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return WT_32BIT;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return WT_64BIT;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return WT_LEN;
    default:
        return WT_VARINT;
    }
}

/* Checks the body of a packed repeated scalar field. */
static kiln_status check_packed(const wire *w, span body, ProtobufCType t, const char *field)
{
    int wt = natural_wire_type(t);
    size_t n = body.end - body.pos;
    if (wt == WT_32BIT && n % 4 != 0)
        return wire_error(body.pos, "packed 32-bit values whose length is not a multiple of 4", field);
    if (wt == WT_64BIT && n % 8 != 0)
        return wire_error(body.pos, "packed 64-bit values whose length is not a multiple of 8", field);
    if (wt != WT_VARINT)
        return KILN_OK;
    while (body.pos < body.end) {
        size_t at = body.pos;
        uint64_t v;
        if (!read_varint(w->base, &body, 10, &v))
            return wire_error(at, "truncated or overlong varint in packed values", field);
    }
    return KILN_OK;
}

static kiln_status walk_message(const wire *w, span s, const ProtobufCMessageDescriptor *desc, int depth);

/* Checks one length-delimited field body [pos, end) against its descriptor. */
static kiln_status check_len_field(const wire *w, span body, const ProtobufCFieldDescriptor *f, int depth,
                                   const char *field)
{
    if (!f)
        return KILN_OK;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        if (depth + 1 > WIRE_MAX_DEPTH)
            return wire_error(body.pos, "messages nested too deeply", field);
        return walk_message(w, body, f->descriptor, depth + 1);
    }
    if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_BYTES)
        return KILN_OK;
    if (f->label != PROTOBUF_C_LABEL_REPEATED)
        return wire_error(body.pos, "length-delimited data for a scalar field", field);
    return check_packed(w, body, f->type, field);
}

/* Checks one field whose tag has been read; advances s past its value. */
static kiln_status walk_field(const wire *w, span *s, const ProtobufCMessageDescriptor *desc, uint64_t number, int wt,
                              int depth)
{
    char field[160];
    const ProtobufCFieldDescriptor *f =
        number <= UINT_MAX ? protobuf_c_message_descriptor_get_field(desc, (unsigned)number) : NULL;
    field_label(desc, f, number, field, sizeof field);
    size_t at = s->pos;
    uint64_t v;
    if (wt == WT_SGROUP || wt == WT_EGROUP)
        return wire_error(at, "group wire types are not supported", field);
    if (wt != WT_VARINT && wt != WT_64BIT && wt != WT_LEN && wt != WT_32BIT) {
        char what[48];
        snprintf(what, sizeof what, "invalid wire type %d", wt);
        return wire_error(at, what, field);
    }
    if (f && wt != natural_wire_type(f->type) && !(wt == WT_LEN && f->label == PROTOBUF_C_LABEL_REPEATED)) {
        char what[64];
        snprintf(what, sizeof what, "wire type %d does not fit the field's type", wt);
        return wire_error(at, what, field);
    }
    switch (wt) {
    case WT_VARINT:
        if (!read_varint(w->base, s, 10, &v))
            return wire_error(at, "truncated or overlong varint", field);
        return KILN_OK;
    case WT_64BIT:
    case WT_32BIT: {
        size_t n = wt == WT_64BIT ? 8 : 4;
        if (s->end - s->pos < n)
            return wire_error(at, "fixed-size value runs past the end of its message", field);
        s->pos += n;
        return KILN_OK;
    }
    default:
        break;
    }
    /* protobuf-c reads length prefixes of at most 5 bytes and refuses lengths over INT_MAX */
    if (!read_varint(w->base, s, 5, &v))
        return wire_error(at, "truncated or overlong length", field);
    if (v > INT_MAX) {
        char what[96];
        snprintf(what, sizeof what, "length %llu is over protobuf's 2 GiB limit", (unsigned long long)v);
        return wire_error(at, what, field);
    }
    if (v > s->end - s->pos) {
        char what[128];
        snprintf(what, sizeof what, "length %llu runs past the end of its message (%zu bytes left)",
                 (unsigned long long)v, s->end - s->pos);
        return wire_error(at, what, field);
    }
    span body = {s->pos, s->pos + (size_t)v};
    s->pos = body.end;
    return check_len_field(w, body, f, depth, field);
}

static kiln_status walk_message(const wire *w, span s, const ProtobufCMessageDescriptor *desc, int depth)
{
    while (s.pos < s.end) {
        size_t at = s.pos;
        uint64_t tag;
        if (!read_varint(w->base, &s, 5, &tag)) {
            char field[96];
            snprintf(field, sizeof field, "in %s", desc->short_name);
            return wire_error(at, "truncated or overlong field tag", field);
        }
        if ((tag >> 3) == 0) {
            char field[96];
            snprintf(field, sizeof field, "in %s", desc->short_name);
            return wire_error(at, "field number 0", field);
        }
        KILN_TRY(walk_field(w, &s, desc, tag >> 3, (int)(tag & 7), depth));
    }
    return KILN_OK;
}

kiln_status kiln_onnx_wire_check(const void *data, size_t size, const ProtobufCMessageDescriptor *desc)
{
    wire w = {data};
    span s = {0, size};
    /* protobuf-c counts repeated fields in 32 bits; a message over 2 GiB is
     * not valid protobuf anyway (big models keep weights in external data) */
    if (size > INT_MAX)
        return kiln_error(KILN_ERR_LIMIT, "a %s of %zu bytes is over protobuf's 2 GiB limit", desc->short_name, size);
    return walk_message(&w, s, desc, 0);
}
