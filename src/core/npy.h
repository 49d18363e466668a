/*
 * npy.h - NumPy .npy files (format 1.0-3.0, little-endian, C order).
 */
#ifndef KILN_CORE_NPY_H
#define KILN_CORE_NPY_H

#include "core/tensor.h"

/* Reads path into *out (owned data). Refuses big-endian and Fortran-order
 * arrays, unknown dtypes, malformed headers, and files whose size does not
 * match the header; messages name the file and the byte offset. */
kiln_status kiln_npy_read(const char *path, size_t max_bytes, kiln_tensor *out);
/* Parses an .npy image held in memory. */
kiln_status kiln_npy_parse(const unsigned char *buf, size_t len, const char *what, size_t max_bytes, kiln_tensor *out);
/* Writes t (dtype must have an npy equivalent) to path. */
kiln_status kiln_npy_write(const char *path, const kiln_tensor *t);

#endif
