/*
 * cpu_simd.h - KILN_SIMD_FN, put on the few hot float32 loops of the CPU
 * kernels (rows of elementwise ops, convolution rows, pooling rows).
 *
 * The library builds at -O2 for a baseline x86-64, where GCC vectorises
 * only the cheapest loops and only with SSE2. With GCC on x86-64 Linux a
 * function marked KILN_SIMD_FN is compiled at -O3 twice, for x86-64-v3
 * (AVX2, FMA) and for the baseline, and the loader picks the clone the CPU
 * runs (an ifunc). Elsewhere the mark does nothing.
 */
#ifndef KILN_BACKENDS_CPU_CPU_SIMD_H
#define KILN_BACKENDS_CPU_CPU_SIMD_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && __GNUC__ >= 11
#define KILN_SIMD_FN __attribute__((optimize("O3"), target_clones("arch=x86-64-v3", "default")))
#else
#define KILN_SIMD_FN
#endif

#endif
