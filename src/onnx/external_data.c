/*
 * external_data.c - reads a tensor's external data, strictly inside the
 * model's folder.
 *
 * The location is refused when it is absolute, has a ".." component, passes
 * through or ends in a symlink, or names something other than a regular file
 * with a single link. The path is walked one component at a time with
 * openat(O_NOFOLLOW) from a descriptor of the base folder, so no symlink is
 * ever followed, and the final checks are made on the opened descriptor.
 * offset/length must lie inside the file and match the tensor's byte size;
 * the bytes are read once with pread into a new buffer.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"
#include "onnx/onnx_internal.h"

#define EXT_MAX_COMPONENTS 64

typedef struct ext_ref {
    const char *location;
    int64_t offset;
    int64_t length; /* -1: absent */
} ext_ref;

/* A non-negative decimal integer, as ONNX stores offset and length. */
static kiln_status parse_size(const char *s, const char *key, const char *what, int64_t *out)
{
    int64_t v = 0;
    if (s && s[0] == '-')
        return kiln_error(KILN_ERR_PARSE, "%s: external data %s '%s' is negative", what, key, s);
    if (!s || !*s)
        return kiln_error(KILN_ERR_PARSE, "%s: external data %s is empty", what, key);
    for (const char *c = s; *c; c++) {
        if (*c < '0' || *c > '9')
            return kiln_error(KILN_ERR_PARSE, "%s: external data %s '%s' is not a number", what, key, s);
        if (v > (INT64_MAX - (*c - '0')) / 10)
            return kiln_error(KILN_ERR_PARSE, "%s: external data %s '%s' is too large", what, key, s);
        v = v * 10 + (*c - '0');
    }
    *out = v;
    return KILN_OK;
}

static kiln_status read_keys(const Onnx__TensorProto *tp, const char *what, ext_ref *ref)
{
    ref->location = NULL;
    ref->offset = 0;
    ref->length = -1;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        if (!e->key)
            continue;
        if (strcmp(e->key, "location") == 0)
            ref->location = e->value ? e->value : "";
        else if (strcmp(e->key, "offset") == 0)
            KILN_TRY(parse_size(e->value, "offset", what, &ref->offset));
        else if (strcmp(e->key, "length") == 0)
            KILN_TRY(parse_size(e->value, "length", what, &ref->length));
    }
    if (!ref->location || !ref->location[0])
        return kiln_error(KILN_ERR_PARSE, "%s: external data has no location", what);
    return KILN_OK;
}

static kiln_status refuse(const char *what, const char *path, const char *why)
{
    return kiln_error(KILN_ERR_SECURITY, "%s: external data '%s' refused: %s", what, path, why);
}

/* Splits `copy` (a copy of path) into its components in place, dropping
 * empty and "." ones; refuses absolute paths and "..". */
static kiln_status split_path(char *copy, const char *path, const char *what, char **parts, size_t *n)
{
    *n = 0;
    if (path[0] == '/')
        return refuse(what, path, "the path is absolute");
    char *c = copy;
    while (*c) {
        char *start = c;
        while (*c && *c != '/')
            c++;
        if (*c)
            *c++ = '\0';
        if (strcmp(start, "..") == 0)
            return refuse(what, path, "the path has a '..' component");
        if (start[0] == '\0' || strcmp(start, ".") == 0)
            continue;
        if (*n == EXT_MAX_COMPONENTS)
            return kiln_error(KILN_ERR_LIMIT, "%s: external data path '%s' has too many components", what, path);
        parts[(*n)++] = start;
    }
    if (*n == 0)
        return kiln_error(KILN_ERR_PARSE, "%s: external data location '%s' names no file", what, path);
    return KILN_OK;
}

static kiln_status not_found(const char *what, const char *path, int err)
{
    return kiln_error(KILN_ERR_IO, "%s: cannot open external data '%s': %s", what, path, strerror(err));
}

/* Opens folder component `name` under dir without following a symlink. */
static kiln_status open_dir_step(int dir, const char *name, const char *what, const char *path, int *out)
{
    struct stat st;
    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return not_found(what, path, errno);
    if (S_ISLNK(st.st_mode))
        return refuse(what, path, "the path passes through a symlink");
    if (!S_ISDIR(st.st_mode))
        return kiln_error(KILN_ERR_IO, "%s: external data '%s': '%s' is not a folder", what, path, name);
    int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ELOOP ? refuse(what, path, "the path passes through a symlink") : not_found(what, path, errno);
    *out = fd;
    return KILN_OK;
}

/* The final file: a regular file with one link, checked on the open descriptor. */
static kiln_status open_file_step(int dir, const char *name, const char *what, const char *path, int *out,
                                  struct stat *st)
{
    if (fstatat(dir, name, st, AT_SYMLINK_NOFOLLOW) != 0)
        return not_found(what, path, errno);
    if (S_ISLNK(st->st_mode))
        return refuse(what, path, "the file is a symlink");
    int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno == ELOOP ? refuse(what, path, "the file is a symlink") : not_found(what, path, errno);
    kiln_status s = KILN_OK;
    if (fstat(fd, st) != 0)
        s = kiln_error(KILN_ERR_IO, "%s: cannot stat external data '%s': %s", what, path, strerror(errno));
    else if (!S_ISREG(st->st_mode))
        s = refuse(what, path, "it is not a regular file");
    else if (st->st_nlink > 1)
        s = kiln_error(KILN_ERR_SECURITY, "%s: external data '%s' refused: the file has %llu hard links", what, path,
                       (unsigned long long)st->st_nlink);
    if (s != KILN_OK) {
        close(fd);
        return s;
    }
    *out = fd;
    return KILN_OK;
}

/* Opens the file that parts[0..n) name beneath base_fd; *fd and *st describe it. */
static kiln_status open_beneath(int base_fd, char **parts, size_t n, const char *path, const char *what, int *fd,
                                struct stat *st)
{
    kiln_status s = KILN_OK;
    int dir = base_fd;
    for (size_t i = 0; s == KILN_OK && i + 1 < n; i++) {
        int next = -1;
        s = open_dir_step(dir, parts[i], what, path, &next);
        if (dir != base_fd)
            close(dir);
        dir = s == KILN_OK ? next : base_fd;
    }
    if (s == KILN_OK)
        s = open_file_step(dir, parts[n - 1], what, path, fd, st);
    if (dir != base_fd)
        close(dir);
    return s;
}

static kiln_status check_range(const ext_ref *ref, const struct stat *st, size_t nbytes, const char *what)
{
    int64_t size = (int64_t)st->st_size;
    if (ref->offset > size)
        return kiln_error(KILN_ERR_PARSE,
                          "%s: external data '%s': offset %lld is past the end of the file (%lld bytes)", what,
                          ref->location, (long long)ref->offset, (long long)size);
    int64_t left = size - ref->offset;
    if (ref->length >= 0 && ref->length > left)
        return kiln_error(KILN_ERR_PARSE,
                          "%s: external data '%s': offset %lld + length %lld is past the end of the file (%lld bytes)",
                          what, ref->location, (long long)ref->offset, (long long)ref->length, (long long)size);
    int64_t have = ref->length >= 0 ? ref->length : left;
    if ((uint64_t)have != (uint64_t)nbytes)
        return kiln_error(KILN_ERR_PARSE, "%s: external data '%s' has %lld bytes at offset %lld, expected %zu", what,
                          ref->location, (long long)have, (long long)ref->offset, nbytes);
    return KILN_OK;
}

static kiln_status read_all(int fd, const ext_ref *ref, size_t nbytes, const char *what, void **out)
{
    char *buf = malloc(nbytes ? nbytes : 1);
    if (!buf)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", what, nbytes);
    size_t done = 0;
    while (done < nbytes) {
        ssize_t r = pread(fd, buf + done, nbytes - done, (off_t)(ref->offset + (int64_t)done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            return kiln_error(KILN_ERR_IO, "%s: cannot read external data '%s': %s", what, ref->location,
                              r < 0 ? strerror(errno) : "the file ended early");
        }
        done += (size_t)r;
    }
    *out = buf;
    return KILN_OK;
}

static kiln_status open_base(kiln_onnx_ctx *ctx, const char *what, const char *path)
{
    if (ctx->base_fd >= 0)
        return KILN_OK;
    if (!ctx->base_dir)
        return refuse(what, path, "the model was loaded from memory without a base folder");
    ctx->base_fd = open(ctx->base_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ctx->base_fd < 0)
        return kiln_error(KILN_ERR_IO, "%s: cannot open the model folder '%s': %s", what, ctx->base_dir,
                          strerror(errno));
    return KILN_OK;
}

/* Validates the location, then opens it beneath the base folder. */
static kiln_status open_location(kiln_onnx_ctx *ctx, const char *path, const char *what, int *fd, struct stat *st)
{
    char *parts[EXT_MAX_COMPONENTS];
    size_t n;
    char *copy = kiln_onnx_strdup(path);
    if (!copy)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "%s: out of memory", what);
    kiln_status s = split_path(copy, path, what, parts, &n);
    if (s == KILN_OK)
        s = open_base(ctx, what, path);
    if (s == KILN_OK)
        s = open_beneath(ctx->base_fd, parts, n, path, what, fd, st);
    free(copy);
    return s;
}

kiln_status kiln_onnx_external_read(const Onnx__TensorProto *tp, kiln_onnx_ctx *ctx, const char *what, size_t nbytes,
                                    void **out)
{
    ext_ref ref;
    struct stat st;
    int fd = -1;
    KILN_TRY(read_keys(tp, what, &ref));
    KILN_TRY(open_location(ctx, ref.location, what, &fd, &st));
    kiln_status s = check_range(&ref, &st, nbytes, what);
    if (s == KILN_OK)
        s = read_all(fd, &ref, nbytes, what, out);
    close(fd);
    return s;
}
