/*
 * name_index.c - open addressing with linear probing over FNV-1a hashes
 * (see name_index.h).
 */
#include "core/name_index.h"

#include <stdint.h>
#include <string.h>

#define MASK (KILN_NAME_INDEX_SLOTS - 1)

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

bool kiln_name_index_add(kiln_name_index *ix, const char *name, const void *item)
{
    if (ix->used >= KILN_NAME_INDEX_SLOTS / 2)
        return false;
    for (uint32_t i = hash(name) & MASK;; i = (i + 1) & MASK) {
        if (!ix->name[i]) {
            ix->name[i] = name;
            ix->item[i] = item;
            ix->used++;
            return true;
        }
        if (!strcmp(ix->name[i], name))
            return true; /* the first entry of this name stays */
    }
}

const void *kiln_name_index_find(const kiln_name_index *ix, const char *name)
{
    for (uint32_t i = hash(name) & MASK; ix->name[i]; i = (i + 1) & MASK)
        if (!strcmp(ix->name[i], name))
            return ix->item[i];
    return NULL;
}
