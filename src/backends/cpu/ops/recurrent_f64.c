/*
 * recurrent_f64.c - the recurrent cell loop in float64: an instance of
 * recurrent_impl.h.
 */
#include "backends/cpu/ops/recurrent_internal.h"

#define RNN_T double
#define RNN_DTYPE KILN_FLOAT64
#define RNN_GEMM cblas_dgemm
#define RNN_GEMV cblas_dgemv
#define RNN_TANH tanh
#define RNN_ENTRY kiln_rnn_compute_f64

#include "backends/cpu/ops/recurrent_impl.h"
