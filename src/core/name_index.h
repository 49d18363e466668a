/*
 * name_index.h - a fixed-size hash table from names to table entries, for
 * the registries that the executor asks for every layer of every run (op
 * schemas, CPU kernels): one hash and usually one string compare instead
 * of a walk over a few hundred names. Filled once (under pthread_once by
 * its owner) and read-only after; no allocation.
 */
#ifndef KILN_CORE_NAME_INDEX_H
#define KILN_CORE_NAME_INDEX_H

#include <stdbool.h>

#define KILN_NAME_INDEX_SLOTS 1024 /* a power of two */

typedef struct kiln_name_index {
    const char *name[KILN_NAME_INDEX_SLOTS];
    const void *item[KILN_NAME_INDEX_SLOTS];
    int used;
} kiln_name_index;

/* Adds name -> item unless the name is there already (the first added
 * wins, as in a walk over the tables in order); false when the index is
 * full (at most half its slots are used), and then the owner walks its
 * tables instead. */
bool kiln_name_index_add(kiln_name_index *ix, const char *name, const void *item);
/* The item added under name, or NULL. */
const void *kiln_name_index_find(const kiln_name_index *ix, const char *name);

#endif
