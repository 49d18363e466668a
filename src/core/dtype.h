/*
 * dtype.h - element types: sizes, names, classes, and conversion of single
 * elements to and from double / int64 so reference kernels can take every
 * dtype ONNX allows without one copy of each kernel per type.
 *
 * In memory kiln keeps one element per byte for sub-byte types (int4, uint4,
 * float4e2m1, int2, uint2); the ONNX importer unpacks them. float16, bfloat16 and the
 * float8 types are kept as their bit patterns.
 */
#ifndef KILN_CORE_DTYPE_H
#define KILN_CORE_DTYPE_H

#include <stddef.h>
#include <stdint.h>

#include "kiln.h"

int kiln_dtype_valid(kiln_dtype dt);    /* a numeric or bool type kiln stores */
int kiln_dtype_is_float(kiln_dtype dt); /* float16/32/64, bfloat16, float8/4 */
int kiln_dtype_is_int(kiln_dtype dt);   /* signed or unsigned integer (not bool) */
int kiln_dtype_is_signed(kiln_dtype dt);
int kiln_dtype_is_subbyte(kiln_dtype dt); /* int4, uint4, float4e2m1, int2, uint2 */
/* Bits of one element in ONNX's packed form (4 for int4, 2 for int2, ...). */
int kiln_dtype_bits(kiln_dtype dt);

float kiln_f16_to_f32(uint16_t h);
uint16_t kiln_f32_to_f16(float f); /* round to nearest even */
float kiln_bf16_to_f32(uint16_t h);
uint16_t kiln_f32_to_bf16(float f); /* round to nearest even */
/* float8 / float4 / e8m0 types. saturate: out-of-range finite values clamp
 * to the largest finite value instead of becoming inf or NaN. */
float kiln_minifloat_to_f32(kiln_dtype dt, uint8_t bits);
uint8_t kiln_f32_to_minifloat(kiln_dtype dt, float f, int saturate);

/* double -> int64 without undefined behaviour: truncation toward zero,
 * saturating at the int64 range, NaN -> 0. */
int64_t kiln_f64_to_i64_sat(double v);

/* Element i of `base`, converted. Floats convert to integers by truncation
 * toward zero, saturating at the integer type's range (NaN becomes 0). */
double kiln_load_f64(const void *base, kiln_dtype dt, size_t i);
int64_t kiln_load_i64(const void *base, kiln_dtype dt, size_t i);
uint64_t kiln_load_u64(const void *base, kiln_dtype dt, size_t i);
/* Stores v as element i. Integers wrap as C casts of int64 do; floats to
 * integer types truncate and saturate as above; floats to float8 saturate. */
void kiln_store_f64(void *base, kiln_dtype dt, size_t i, double v);
void kiln_store_i64(void *base, kiln_dtype dt, size_t i, int64_t v);
void kiln_store_u64(void *base, kiln_dtype dt, size_t i, uint64_t v);

/* Converts n elements; for float targets through double, for integer targets
 * from integer sources exactly. */
void kiln_convert(const void *src, kiln_dtype src_dt, void *dst, kiln_dtype dst_dt, size_t n);

#endif
