/*
 * npy.c - a strict .npy reader and a writer.
 */
#include "core/npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "core/status.h"

static const struct {
    const char *descr;
    kiln_dtype dtype;
} npy_types[] = {
    {"|b1", KILN_BOOL},   {"|i1", KILN_INT8},    {"|u1", KILN_UINT8},   {"<i2", KILN_INT16},
    {"<u2", KILN_UINT16}, {"<i4", KILN_INT32},   {"<u4", KILN_UINT32},  {"<i8", KILN_INT64},
    {"<u8", KILN_UINT64}, {"<f2", KILN_FLOAT16}, {"<f4", KILN_FLOAT32}, {"<f8", KILN_FLOAT64},
};

#define N_TYPES (sizeof npy_types / sizeof npy_types[0])

/* Finds `'key':` in the header dict and returns the text after it. */
static const char *dict_value(const char *hdr, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(hdr, pat);
    if (!p)
        return NULL;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    if (*p != ':')
        return NULL;
    p++;
    while (*p == ' ')
        p++;
    return p;
}

static kiln_status parse_shape(const char *p, const char *what, size_t off, int *rank, int64_t *dims)
{
    if (*p != '(')
        return kiln_error(KILN_ERR_PARSE, "%s: byte offset %zu: 'shape' is not a tuple", what, off);
    p++;
    int r = 0;
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p == ')')
            break;
        if (*p < '0' || *p > '9')
            return kiln_error(KILN_ERR_PARSE, "%s: byte offset %zu: bad dimension in 'shape'", what, off);
        int64_t v = 0;
        while (*p >= '0' && *p <= '9') {
            if (v > (INT64_MAX - 9) / 10)
                return kiln_error(KILN_ERR_LIMIT, "%s: byte offset %zu: dimension too large", what, off);
            v = v * 10 + (*p++ - '0');
        }
        if (r == KILN_MAX_RANK)
            return kiln_error(KILN_ERR_LIMIT, "%s: rank above kiln's limit of %d", what, KILN_MAX_RANK);
        dims[r++] = v;
        while (*p == ' ')
            p++;
        if (*p == ',')
            p++;
        else if (*p != ')')
            return kiln_error(KILN_ERR_PARSE, "%s: byte offset %zu: bad 'shape' tuple", what, off);
    }
    *rank = r;
    return KILN_OK;
}

kiln_status kiln_npy_parse(const unsigned char *buf, size_t len, const char *what, size_t max_bytes, kiln_tensor *out)
{
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return kiln_error(KILN_ERR_PARSE, "%s: not an .npy file (bad magic at byte offset 0)", what);
    int major = buf[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)buf[8] | ((size_t)buf[9] << 8);
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            return kiln_error(KILN_ERR_PARSE, "%s: truncated header at byte offset %zu", what, len);
        hlen = (size_t)buf[8] | ((size_t)buf[9] << 8) | ((size_t)buf[10] << 16) | ((size_t)buf[11] << 24);
        hstart = 12;
    } else {
        return kiln_error(KILN_ERR_UNSUPPORTED, "%s: .npy format version %d is not supported", what, major);
    }
    if (hlen > len - hstart)
        return kiln_error(KILN_ERR_PARSE, "%s: byte offset %zu: header length %zu runs past the end of the file (%zu "
                          "bytes)", what, (size_t)8, hlen, len);
    char *hdr = malloc(hlen + 1);
    if (!hdr)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    memcpy(hdr, buf + hstart, hlen);
    hdr[hlen] = '\0';
    kiln_status st = KILN_OK;
    const char *descr = dict_value(hdr, "descr");
    const char *fortran = dict_value(hdr, "fortran_order");
    const char *shape = dict_value(hdr, "shape");
    kiln_dtype dt = KILN_UNDEFINED;
    int rank = 0;
    int64_t dims[KILN_MAX_RANK];
    if (!descr || !fortran || !shape)
        st = kiln_error(KILN_ERR_PARSE, "%s: byte offset %zu: header lacks 'descr', 'fortran_order' or 'shape'", what,
                        hstart);
    if (st == KILN_OK && strncmp(fortran, "False", 5) != 0)
        st = kiln_error(KILN_ERR_UNSUPPORTED, "%s: Fortran-order arrays are not supported (save with C order)", what);
    for (size_t i = 0; st == KILN_OK && i < N_TYPES; i++)
        if (descr[0] == '\'' && strncmp(descr + 1, npy_types[i].descr, 3) == 0 && descr[4] == '\'')
            dt = npy_types[i].dtype;
    if (st == KILN_OK && dt == KILN_UNDEFINED)
        st = kiln_error(KILN_ERR_UNSUPPORTED, "%s: dtype %.8s is not supported (little-endian bool, int, uint and "
                        "float only)", what, descr);
    if (st == KILN_OK)
        st = parse_shape(shape, what, hstart, &rank, dims);
    free(hdr);
    KILN_TRY(st);
    kiln_tensor t = {0};
    kiln_tensor_set_shape(&t, dt, rank, dims);
    KILN_TRY(kiln_tensor_alloc(&t, max_bytes, what));
    size_t data_off = hstart + hlen;
    if (len - data_off != t.nbytes) {
        kiln_tensor_clear(&t);
        return kiln_error(KILN_ERR_PARSE, "%s: byte offset %zu: the header promises %zu data bytes, the file has %zu",
                          what, data_off, t.nbytes, len - data_off);
    }
    memcpy(t.data, buf + data_off, t.nbytes);
    *out = t;
    return KILN_OK;
}

kiln_status kiln_npy_read(const char *path, size_t max_bytes, kiln_tensor *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return kiln_error(KILN_ERR_IO, "%s: cannot open", path);
    kiln_status st = KILN_OK;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0)
        st = kiln_error(KILN_ERR_IO, "%s: cannot determine the file size", path);
    else if ((size_t)size > max_bytes + 65536 + 12)
        st = kiln_error(KILN_ERR_LIMIT, "%s: %ld bytes, over the limit of %zu", path, size, max_bytes);
    unsigned char *buf = NULL;
    if (st == KILN_OK) {
        buf = malloc((size_t)size + 1);
        if (!buf)
            st = kiln_error(KILN_ERR_OUT_OF_MEMORY, "%s: cannot allocate %ld bytes", path, size);
        else if (fread(buf, 1, (size_t)size, f) != (size_t)size)
            st = kiln_error(KILN_ERR_IO, "%s: read failed", path);
    }
    fclose(f);
    if (st == KILN_OK)
        st = kiln_npy_parse(buf, (size_t)size, path, max_bytes, out);
    free(buf);
    return st;
}

kiln_status kiln_npy_write(const char *path, const kiln_tensor *t)
{
    const char *descr = NULL;
    for (size_t i = 0; i < N_TYPES; i++)
        if (npy_types[i].dtype == t->dtype)
            descr = npy_types[i].descr;
    if (!descr)
        return kiln_error(KILN_ERR_UNSUPPORTED, "%s: dtype %s has no .npy equivalent", path,
                          kiln_dtype_name(t->dtype) ? kiln_dtype_name(t->dtype) : "(invalid)");
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < t->rank; i++)
        n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%lld,%s", (long long)t->dims[i],
                      i + 1 < t->rank ? " " : "");
    n += snprintf(hdr + n, sizeof hdr - (size_t)n, "), }");
    /* pad with spaces so the data starts on a 64-byte boundary, end with \n */
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f)
        return kiln_error(KILN_ERR_IO, "%s: cannot create", path);
    size_t hlen = (size_t)n + pad + 1;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, (size_t)n, f) == (size_t)n;
    for (size_t i = 0; ok && i < pad; i++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    ok = ok && (t->nbytes == 0 || fwrite(t->data, 1, t->nbytes, f) == t->nbytes);
    ok = (fclose(f) == 0) && ok;
    return ok ? KILN_OK : kiln_error(KILN_ERR_IO, "%s: write failed", path);
}
