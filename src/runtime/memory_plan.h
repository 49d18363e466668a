/*
 * memory_plan.h - liveness-based placement of activation buffers in one
 * arena, and the rule for which ops may write their output over an input.
 *
 * A buffer has a size and a lifetime [first, last] in execution steps: it is
 * written at step `first` and read for the last time at step `last`. Two
 * buffers whose lifetimes share a step must not overlap in memory; the
 * planner gives every buffer a 64-byte aligned offset so that the arena stays
 * small: greedy by size (largest first, as in TFLite's arena planner and
 * ONNX Runtime's memory patterns), each buffer going into the smallest gap
 * that fits among the already placed buffers alive at the same time, or
 * above them when no gap fits.
 *
 * In-place reuse: a buffer may name another (`reuse`) whose storage it may
 * take over, because the op writing it at step `first` reads that buffer for
 * the last time there and writes its output element by element over it. The
 * planner accepts this only when the other buffer dies exactly at `first`,
 * was written before it, has the same byte size and is not taken over by a
 * second buffer; the two then share one offset.
 */
#ifndef KILN_RUNTIME_MEMORY_PLAN_H
#define KILN_RUNTIME_MEMORY_PLAN_H

#include <stddef.h>

#include "core/status.h"
#include "ir/graph.h"

/* Alignment of every offset, and of the arena itself. */
#define KILN_MEM_ALIGN ((size_t)64)

typedef struct kiln_mem_buffer {
    size_t bytes;  /* in: size (0 is allowed) */
    int first;     /* in: step that writes it, >= 0 */
    int last;      /* in: last step that reads it, >= first */
    int reuse;     /* in: index of a buffer it may overwrite in place, or -1 */
    int shares;    /* out: the `reuse` buffer when in-place reuse was accepted, else -1 */
    size_t offset; /* out: offset in the arena, a multiple of KILN_MEM_ALIGN */
} kiln_mem_buffer;

/* Places n buffers. *naive_bytes: the sum of their sizes, each rounded up to
 * the alignment (every buffer separately); *planned_bytes: the arena size
 * (the highest end of any buffer, rounded up), never more than the naive
 * sum. Fails on inconsistent lifetimes or reuse indices, size overflow or
 * out of memory. */
kiln_status kiln_memory_plan(kiln_mem_buffer *bufs, int n, size_t *naive_bytes, size_t *planned_bytes);

/* The input of node n whose storage output 0 may take over in place (the op
 * reads each element of that input only to compute the output element at the
 * same index), or -1. The caller still checks that the input dies at n, is an
 * intermediate, and has output 0's dtype and shape. */
int kiln_op_inplace_input(const kiln_node *n);
/* The input of node n whose bytes output 0 is under another shape (Reshape,
 * Flatten, Squeeze, Unsqueeze, Identity), or -1: output 0 may take over
 * that input's storage when the input dies at n, and the kernel then has
 * nothing to copy. */
int kiln_op_alias_input(const kiln_node *n);

#endif
