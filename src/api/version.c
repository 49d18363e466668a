/*
 * version.c - the library version string.
 */
#include "kiln.h"

const char *kiln_version(void) { return KILN_VERSION_STRING; }
