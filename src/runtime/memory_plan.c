/*
 * memory_plan.c - arena placement of activation buffers, and the ops that
 * may write their output over an input (see memory_plan.h).
 *
 * Buffers joined by accepted in-place reuse form one block: a chain whose
 * lifetime runs from its first member's first step to its last member's last
 * step and whose storage is shared. Blocks are placed largest first; each
 * goes into the smallest gap between already placed blocks that are alive at
 * some common step, or above the highest of them.
 */
#include "runtime/memory_plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct mem_block {
    size_t size; /* aligned bytes */
    int first;   /* lifetime of the whole chain */
    int last;
    int id;   /* index of the chain's first buffer (tie-break) */
    int made; /* index before sorting: the one block_of holds */
    size_t offset;
} mem_block;

typedef struct planner {
    kiln_mem_buffer *bufs;
    int n;
    int *block_of; /* per buffer: its block */
    mem_block *blocks;
    int n_blocks;
    int *placed; /* placed blocks of nonzero size, by ascending offset */
    int n_placed;
} planner;

static kiln_status check_buffers(const kiln_mem_buffer *bufs, int n)
{
    for (int i = 0; i < n; i++) {
        const kiln_mem_buffer *b = &bufs[i];
        if (b->first < 0 || b->last < b->first)
            return kiln_error(KILN_ERR_INVALID_ARGUMENT, "memory plan: buffer %d has lifetime [%d, %d]", i, b->first,
                              b->last);
        if (b->reuse < -1 || b->reuse >= n || b->reuse == i)
            return kiln_error(KILN_ERR_INVALID_ARGUMENT, "memory plan: buffer %d reuses buffer %d (of %d)", i, b->reuse,
                              n);
    }
    return KILN_OK;
}

static kiln_status align_size(size_t bytes, size_t *out)
{
    if (bytes > SIZE_MAX - (KILN_MEM_ALIGN - 1))
        return kiln_error(KILN_ERR_LIMIT, "memory plan: a %zu-byte buffer cannot be aligned", bytes);
    *out = (bytes + KILN_MEM_ALIGN - 1) / KILN_MEM_ALIGN * KILN_MEM_ALIGN;
    return KILN_OK;
}

/* The naive arena: every buffer on its own, aligned. Bounds every offset the
 * planner computes, so offset arithmetic below cannot overflow. */
static kiln_status naive_sum(const kiln_mem_buffer *bufs, int n, size_t *out)
{
    size_t sum = 0;
    for (int i = 0; i < n; i++) {
        size_t a = 0;
        KILN_TRY(align_size(bufs[i].bytes, &a));
        if (a > SIZE_MAX - sum)
            return kiln_error(KILN_ERR_LIMIT, "memory plan: the buffers' total size overflows");
        sum += a;
    }
    *out = sum;
    return KILN_OK;
}

/* A buffer's index with its first step, for sorting without globals. */
typedef struct step_key {
    int first;
    int index;
} step_key;

static int by_first(const void *pa, const void *pb)
{
    const step_key *a = pa, *b = pb;
    if (a->first != b->first)
        return a->first < b->first ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* Whether buffer i may take over buffer j's storage, j not yet taken. */
static int reuse_ok(const kiln_mem_buffer *bufs, const unsigned char *taken, int i, int j)
{
    return j >= 0 && !taken[j] && bufs[j].last == bufs[i].first && bufs[j].first < bufs[i].first &&
           bufs[j].bytes == bufs[i].bytes;
}

/* Groups buffers into blocks, in order of first step so that a buffer's
 * reuse target already has its block. */
static kiln_status make_blocks(planner *p)
{
    size_t cnt = (size_t)(p->n ? p->n : 1);
    step_key *order = malloc(sizeof(step_key) * cnt);
    unsigned char *taken = calloc(cnt, 1);
    if (!order || !taken) {
        free(order);
        free(taken);
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "memory plan: out of memory");
    }
    for (int i = 0; i < p->n; i++)
        order[i] = (step_key){p->bufs[i].first, i};
    qsort(order, (size_t)p->n, sizeof *order, by_first);
    kiln_status st = KILN_OK;
    for (int k = 0; k < p->n && st == KILN_OK; k++) {
        int i = order[k].index, j = p->bufs[i].reuse;
        kiln_mem_buffer *b = &p->bufs[i];
        b->shares = -1;
        if (reuse_ok(p->bufs, taken, i, j)) {
            taken[j] = 1;
            b->shares = j;
            p->block_of[i] = p->block_of[j];
            mem_block *blk = &p->blocks[p->block_of[i]];
            blk->last = b->last > blk->last ? b->last : blk->last;
            continue;
        }
        mem_block *blk = &p->blocks[p->n_blocks];
        st = align_size(b->bytes, &blk->size);
        blk->first = b->first;
        blk->last = b->last;
        blk->id = i;
        blk->made = p->n_blocks;
        blk->offset = 0;
        p->block_of[i] = p->n_blocks++;
    }
    free(order);
    free(taken);
    return st;
}

/* Largest first; then the longest lived, the earliest, the lowest index. */
static int by_size(const void *pa, const void *pb)
{
    const mem_block *a = pa, *b = pb;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    if (a->last - a->first != b->last - b->first)
        return a->last - a->first > b->last - b->first ? -1 : 1;
    if (a->first != b->first)
        return a->first < b->first ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* Best fit: the smallest gap that holds blk between placed blocks alive at a
 * common step, else the end of the highest such block. */
static size_t find_offset(const planner *p, const mem_block *blk)
{
    size_t top = 0, best = 0, best_gap = SIZE_MAX;
    int found = 0;
    for (int k = 0; k < p->n_placed; k++) {
        const mem_block *o = &p->blocks[p->placed[k]];
        if (o->last < blk->first || o->first > blk->last)
            continue;
        if (o->offset > top && o->offset - top >= blk->size && o->offset - top < best_gap) {
            best_gap = o->offset - top;
            best = top;
            found = 1;
        }
        if (o->offset + o->size > top)
            top = o->offset + o->size;
    }
    return found ? best : top;
}

static void insert_placed(planner *p, int b)
{
    int k = p->n_placed;
    while (k > 0 && p->blocks[p->placed[k - 1]].offset > p->blocks[b].offset)
        k--;
    memmove(&p->placed[k + 1], &p->placed[k], sizeof(int) * (size_t)(p->n_placed - k));
    p->placed[k] = b;
    p->n_placed++;
}

/* Places every block; returns the arena size. Zero-size blocks take no
 * memory: they sit at offset 0 and never split a gap. */
static size_t place_blocks(planner *p)
{
    size_t peak = 0;
    for (int b = 0; b < p->n_blocks; b++) {
        mem_block *blk = &p->blocks[b];
        if (blk->size == 0)
            continue;
        blk->offset = find_offset(p, blk);
        insert_placed(p, b);
        if (blk->offset + blk->size > peak)
            peak = blk->offset + blk->size;
    }
    return peak;
}

static void planner_free(planner *p)
{
    free(p->block_of);
    free(p->blocks);
    free(p->placed);
}

kiln_status kiln_memory_plan(kiln_mem_buffer *bufs, int n, size_t *naive_bytes, size_t *planned_bytes)
{
    if (n < 0 || (n > 0 && !bufs) || !naive_bytes || !planned_bytes)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "kiln_memory_plan: buffers and results are required");
    KILN_TRY(check_buffers(bufs, n));
    KILN_TRY(naive_sum(bufs, n, naive_bytes));
    size_t cnt = (size_t)(n ? n : 1);
    planner p = {.bufs = bufs, .n = n};
    p.block_of = malloc(sizeof(int) * cnt);
    p.blocks = malloc(sizeof(mem_block) * cnt);
    p.placed = malloc(sizeof(int) * cnt);
    kiln_status st = (p.block_of && p.blocks && p.placed)
                         ? make_blocks(&p)
                         : kiln_error(KILN_ERR_OUT_OF_MEMORY, "memory plan: out of memory");
    if (st == KILN_OK) {
        qsort(p.blocks, (size_t)p.n_blocks, sizeof *p.blocks, by_size);
        *planned_bytes = place_blocks(&p);
        /* sorting moved the blocks: placed (no longer needed) maps old indices to new */
        for (int b = 0; b < p.n_blocks; b++)
            p.placed[p.blocks[b].made] = b;
        for (int i = 0; i < n; i++)
            bufs[i].offset = p.blocks[p.placed[p.block_of[i]]].offset;
    }
    planner_free(&p);
    return st;
}

/* Unary elementwise ops whose CPU kernels compute y[i] from x[i] alone, and
 * binary ones computing y[i] from a[i] and b broadcast (in place over a,
 * which the caller only offers when it has y's shape). */
static const char *const inplace_ops[] = {
    "Relu",        "LeakyRelu", "Elu",        "Celu",  "Selu",     "ThresholdedRelu",
    "HardSigmoid", "HardSwish", "Sigmoid",    "Tanh",  "Softplus", "Softsign",
    "Mish",        "Gelu",      "Swish",      "Clip",  "Neg",      "Abs",
    "Sign",        "Shrink",    "BitwiseNot", "Not",   "Exp",      "Log",
    "Sqrt",        "Erf",       "Floor",      "Ceil",  "Round",    "Reciprocal",
    "Sin",         "Cos",       "Tan",        "Asin",  "Acos",     "Atan",
    "Sinh",        "Cosh",      "Asinh",      "Acosh", "Atanh",    "Add",
    "Sub",         "Mul",       "Div"};

/* Ops whose output is their input's bytes under another shape. */
static const char *const alias_ops[] = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"};

int kiln_op_alias_input(const kiln_node *n)
{
    if ((n->domain[0] && strcmp(n->domain, "ai.onnx") != 0) || n->n_inputs < 1 || n->n_outputs != 1)
        return -1;
    for (size_t i = 0; i < sizeof alias_ops / sizeof alias_ops[0]; i++)
        if (strcmp(n->op_type, alias_ops[i]) == 0)
            return 0;
    return -1;
}

int kiln_op_inplace_input(const kiln_node *n)
{
    if ((n->domain[0] && strcmp(n->domain, "ai.onnx") != 0) || n->n_inputs < 1 || n->n_outputs < 1)
        return -1;
    for (size_t i = 0; i < sizeof inplace_ops / sizeof inplace_ops[0]; i++)
        if (strcmp(n->op_type, inplace_ops[i]) == 0)
            return 0;
    return -1;
}
