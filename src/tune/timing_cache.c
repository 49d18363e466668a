/*
 * timing_cache.c - the autotuner's timing cache file (see timing_cache.h).
 */
#include "tune/timing_cache.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"

#define CACHE_HEADER "kiln-timing-cache 1"
#define CACHE_LINE_MAX 8192

const kiln_timing_entry *kiln_timing_cache_find(const kiln_timing_cache *c, const char *key)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->entries[i].key, key) == 0)
            return &c->entries[i];
    return NULL;
}

kiln_status kiln_timing_cache_put(kiln_timing_cache *c, const kiln_timing_entry *e)
{
    kiln_timing_entry *old = (kiln_timing_entry *)kiln_timing_cache_find(c, e->key);
    char *key = old ? old->key : strdup(e->key);
    if (!key)
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "timing cache: out of memory");
    if (!old && c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 64;
        kiln_timing_entry *grown = realloc(c->entries, sizeof *grown * (size_t)cap);
        if (!grown) {
            free(key);
            return kiln_error(KILN_ERR_OUT_OF_MEMORY, "timing cache: out of memory");
        }
        c->entries = grown;
        c->cap = cap;
    }
    kiln_timing_entry *slot = old ? old : &c->entries[c->n++];
    *slot = *e;
    slot->key = key;
    return KILN_OK;
}

void kiln_timing_cache_free(kiln_timing_cache *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->entries[i].key);
    free(c->entries);
    memset(c, 0, sizeof *c);
}

/* "KEY\tTACTIC\tMS\tREF_MS\n" into an entry (key pointing into line). */
static int parse_line(char *line, kiln_timing_entry *e)
{
    char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL, *end;
    if (!t2 || t2 - t1 - 1 >= (ptrdiff_t)sizeof e->tactic)
        return 0;
    *t1 = *t2 = '\0';
    e->key = line;
    snprintf(e->tactic, sizeof e->tactic, "%s", t1 + 1);
    e->ms = strtod(t2 + 1, &end);
    if (end == t2 + 1 || *end != '\t')
        return 0;
    e->reference_ms = strtod(end + 1, &end);
    return *end == '\n' || *end == '\0';
}

static kiln_status read_lines(kiln_timing_cache *c, FILE *f, const char *path)
{
    char line[CACHE_LINE_MAX];
    int no = 1;
    if (!fgets(line, sizeof line, f) || strncmp(line, CACHE_HEADER, strlen(CACHE_HEADER)) != 0)
        return kiln_error(KILN_ERR_PARSE, "%s: not a kiln timing cache", path);
    while (fgets(line, sizeof line, f)) {
        kiln_timing_entry e;
        no++;
        if (!parse_line(line, &e))
            return kiln_error(KILN_ERR_PARSE, "%s:%d: malformed timing cache entry", path, no);
        KILN_TRY(kiln_timing_cache_put(c, &e));
    }
    return KILN_OK;
}

kiln_status kiln_timing_cache_load(kiln_timing_cache *c, const char *path)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? KILN_OK : kiln_error(KILN_ERR_IO, "%s: cannot read the timing cache", path);
    kiln_status st = read_lines(c, f, path);
    fclose(f);
    if (st != KILN_OK)
        kiln_timing_cache_free(c);
    return st;
}

kiln_status kiln_timing_cache_save(const kiln_timing_cache *c, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return kiln_error(KILN_ERR_IO, "%s: cannot write the timing cache", path);
    int ok = fprintf(f, "%s\n", CACHE_HEADER) > 0;
    for (int i = 0; i < c->n && ok; i++) {
        const kiln_timing_entry *e = &c->entries[i];
        ok = fprintf(f, "%s\t%s\t%.6f\t%.6f\n", e->key, e->tactic, e->ms, e->reference_ms) > 0;
    }
    ok = (fclose(f) == 0) && ok;
    return ok ? KILN_OK : kiln_error(KILN_ERR_IO, "%s: cannot write the timing cache", path);
}

/* Appends to buf at *pos; 0 when it does not fit. */
static int put(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = *pos < len ? vsnprintf(buf + *pos, len - *pos, fmt, ap) : -1;
    va_end(ap);
    if (n < 0 || (size_t)n >= len - *pos)
        return 0;
    *pos += (size_t)n;
    return 1;
}

static int put_attr(char *buf, size_t len, size_t *pos, const kiln_attr *a)
{
    int ok = put(buf, len, pos, "%s=", a->name);
    if (a->type == KILN_ATTR_INT)
        ok = ok && put(buf, len, pos, "%lld", (long long)a->i);
    else if (a->type == KILN_ATTR_FLOAT)
        ok = ok && put(buf, len, pos, "%.9g", a->f);
    else if (a->type == KILN_ATTR_STRING)
        ok = ok && put(buf, len, pos, "%s", a->s);
    for (int64_t k = 0; a->type == KILN_ATTR_INTS && k < a->n; k++)
        ok = ok && put(buf, len, pos, "%s%lld", k ? "," : "", (long long)a->ints[k]);
    for (int64_t k = 0; a->type == KILN_ATTR_FLOATS && k < a->n; k++)
        ok = ok && put(buf, len, pos, "%s%.9g", k ? "," : "", a->floats[k]);
    return ok && put(buf, len, pos, ";");
}

static int put_tensor(char *buf, size_t len, size_t *pos, const kiln_tensor *t)
{
    if (!t)
        return put(buf, len, pos, " -");
    int ok = put(buf, len, pos, " %s[", kiln_dtype_name(t->dtype) ? kiln_dtype_name(t->dtype) : "?");
    for (int d = 0; d < t->rank && ok; d++)
        ok = put(buf, len, pos, "%s%lld", d ? "x" : "", (long long)t->dims[d]);
    return ok && put(buf, len, pos, "]");
}

/* Tabs and line breaks would break the file's lines. */
static void sanitize(char *s)
{
    for (; *s; s++)
        if (*s == '\t' || *s == '\n' || *s == '\r')
            *s = ' ';
}

kiln_status kiln_timing_key(const char *device, const kiln_op_ctx *ctx, char *buf, size_t len)
{
    size_t pos = 0;
    const kiln_node *n = ctx->node;
    int ok = put(buf, len, &pos, "%s|%s:%s|", device, n->domain, n->op_type);
    for (int i = 0; i < n->n_attrs && ok; i++)
        ok = put_attr(buf, len, &pos, &n->attrs[i]);
    ok = ok && put(buf, len, &pos, "|");
    for (int i = 0; i < ctx->n_in && ok; i++)
        ok = put_tensor(buf, len, &pos, ctx->in[i]);
    if (!ok)
        return kiln_error(KILN_ERR_LIMIT, "timing cache: the key of node '%s' is too long", n->name);
    sanitize(buf);
    return KILN_OK;
}
