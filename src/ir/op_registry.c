/*
 * op_registry.c - joins the per-family schema tables into one lookup.
 */
#include "ir/op_registry.h"

#include <pthread.h>
#include <string.h>

#include "core/name_index.h"

static const kiln_op_schema *const families[] = {
    kiln_schemas_elementwise,    kiln_schemas_conv_pool,     kiln_schemas_linalg,
    kiln_schemas_norm_attention, kiln_schemas_tensor,        kiln_schemas_reduce,
    kiln_schemas_cast_quant,     kiln_schemas_resize_sample, kiln_schemas_recurrent,
};

static const kiln_op_schema *const kiln_families[] = {
    kiln_schemas_fused_conv,
    kiln_schemas_fused_matmul,
    kiln_schemas_nhwc_conv,
    kiln_schemas_nhwc_pool,
};

#define N_FAMILIES ((int)(sizeof families / sizeof families[0]))
#define N_KILN_FAMILIES ((int)(sizeof kiln_families / sizeof kiln_families[0]))

static const kiln_op_schema *find_in(const kiln_op_schema *const *tables, int n, const char *name)
{
    for (int f = 0; f < n; f++)
        for (const kiln_op_schema *s = tables[f]; s->name; s++)
            if (strcmp(s->name, name) == 0)
                return s;
    return NULL;
}

/* The tables by name, for the lookups of every layer of every run. */
static kiln_name_index onnx_index, kiln_index;
static bool indexed;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static bool index_tables(kiln_name_index *ix, const kiln_op_schema *const *tables, int n)
{
    for (int f = 0; f < n; f++)
        for (const kiln_op_schema *s = tables[f]; s->name; s++)
            if (!kiln_name_index_add(ix, s->name, s))
                return false;
    return true;
}

static void build_index(void)
{
    indexed =
        index_tables(&onnx_index, families, N_FAMILIES) && index_tables(&kiln_index, kiln_families, N_KILN_FAMILIES);
}

static const kiln_op_schema *find(const kiln_name_index *ix, const kiln_op_schema *const *tables, int n,
                                  const char *name)
{
    pthread_once(&index_once, build_index);
    return indexed ? kiln_name_index_find(ix, name) : find_in(tables, n, name);
}

const kiln_op_schema *kiln_op_find(const char *domain, const char *name)
{
    if (domain && strcmp(domain, KILN_DOMAIN) == 0)
        return find(&kiln_index, kiln_families, N_KILN_FAMILIES, name);
    if (domain && domain[0] && strcmp(domain, "ai.onnx") != 0)
        return NULL;
    return find(&onnx_index, families, N_FAMILIES, name);
}

int kiln_op_count(void)
{
    int n = 0;
    for (int f = 0; f < N_FAMILIES; f++)
        for (const kiln_op_schema *s = families[f]; s->name; s++)
            n++;
    return n;
}

const kiln_op_schema *kiln_op_at(int i)
{
    for (int f = 0; f < N_FAMILIES; f++)
        for (const kiln_op_schema *s = families[f]; s->name; s++)
            if (i-- == 0)
                return s;
    return NULL;
}
