/*
 * recurrent_internal.h - private to the recurrent family's CPU kernels: one
 * RNN / GRU / LSTM evaluation with its inputs staged in the compute type
 * (float32 for float16, bfloat16 and float32; float64 for float64), and the
 * per-type drivers that run it (recurrent_f32.c, recurrent_f64.c, both
 * instances of recurrent_impl.h).
 */
#ifndef KILN_BACKENDS_CPU_OPS_RECURRENT_INTERNAL_H
#define KILN_BACKENDS_CPU_OPS_RECURRENT_INTERNAL_H

#include "backends/cpu/cpu_util.h"
#include "ir/infer/recurrent_infer.h"

/* Array pointers are in the compute type and follow ONNX's layouts for
 * p->layout; optional ones are NULL when absent. Outputs are NULL when not
 * requested and may have any float dtype (converted on writing). */
typedef struct kiln_rnn_job {
    const kiln_rnn_params *p; /* every shape field known */
    const void *x, *w, *r;
    const void *b, *h0, *c0, *peep;
    const int64_t *lens; /* p->batch lengths, each in [0, p->seq] */
    kiln_tensor *y, *y_h, *y_c;
    size_t max_bytes;
} kiln_rnn_job;

kiln_status kiln_rnn_compute_f32(const kiln_rnn_job *job);
kiln_status kiln_rnn_compute_f64(const kiln_rnn_job *job);

#endif
