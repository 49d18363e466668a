/*
 * recurrent_infer.h - private to the recurrent op family (RNN, GRU, LSTM):
 * the parsed and checked form of a node's attributes and input shapes, which
 * shape inference and the CPU kernels share.
 */
#ifndef KILN_IR_INFER_RECURRENT_INFER_H
#define KILN_IR_INFER_RECURRENT_INFER_H

#include "ir/infer/infer_util.h"

typedef enum kiln_rnn_kind { KILN_RNN_PLAIN, KILN_RNN_GRU, KILN_RNN_LSTM } kiln_rnn_kind;

/* Input positions, as ONNX numbers them (initial_c and P: LSTM only). */
enum {
    KILN_RNN_IN_X = 0,
    KILN_RNN_IN_W = 1,
    KILN_RNN_IN_R = 2,
    KILN_RNN_IN_B = 3,
    KILN_RNN_IN_SEQ_LENS = 4,
    KILN_RNN_IN_INITIAL_H = 5,
    KILN_RNN_IN_INITIAL_C = 6,
    KILN_RNN_IN_P = 7
};

/* The activation functions ONNX lists for the recurrent ops. */
typedef enum kiln_rnn_act_fn {
    KILN_RNN_RELU,
    KILN_RNN_TANH,
    KILN_RNN_SIGMOID,
    KILN_RNN_AFFINE,
    KILN_RNN_LEAKY_RELU,
    KILN_RNN_THRESHOLDED_RELU,
    KILN_RNN_SCALED_TANH,
    KILN_RNN_HARD_SIGMOID,
    KILN_RNN_ELU,
    KILN_RNN_SOFTSIGN,
    KILN_RNN_SOFTPLUS
} kiln_rnn_act_fn;

typedef struct kiln_rnn_act {
    kiln_rnn_act_fn fn;
    float alpha, beta;
} kiln_rnn_act;

/* Activations per direction: f (RNN); f, g (GRU); f, g, h (LSTM). */
#define KILN_RNN_MAX_ACTS 3

typedef struct kiln_rnn_params {
    kiln_rnn_kind kind;
    int n_gates; /* rows of W per hidden unit: 1, 3 or 4 */
    int n_acts;  /* activations per direction: 1, 2 or 3 */
    int n_dirs;  /* 2 for bidirectional, else 1 */
    int reverse; /* direction "reverse" (n_dirs is 1 then) */
    int layout;  /* 0: [seq, batch, ...]; 1: [batch, seq, ...] */
    /* >= 0 when known; else KILN_DIM_UNKNOWN or a symbol (build time only) */
    int64_t seq, batch, input, hidden;
    int hidden_from_attr; /* hidden is the hidden_size attribute, not R's dim */
    kiln_rnn_act acts[2][KILN_RNN_MAX_ACTS];
    int has_clip;
    float clip;              /* > 0 when has_clip */
    int input_forget;        /* LSTM: f = 1 - i */
    int linear_before_reset; /* GRU */
} kiln_rnn_params;

/* Parses the node's attributes into p (recurrent_params.c); the shape
 * fields are left KILN_DIM_UNKNOWN except hidden from hidden_size. */
kiln_status kiln_rnn_parse_attrs(const kiln_op_ctx *ctx, kiln_rnn_params *p);

/* Parses the attributes of ctx's RNN / GRU / LSTM node and checks the
 * inputs' dtypes and shapes against each other (unknown dims are taken as
 * compatible), and sequence_lens' values when they are known. */
kiln_status kiln_rnn_params_get(const kiln_op_ctx *ctx, kiln_rnn_params *p);

#endif
