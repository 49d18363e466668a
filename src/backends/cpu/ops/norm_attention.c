/*
 * norm_attention.c - the CPU kernel table of the norm_attention op family.
 * The kernels live in norm_attention_<part>.c:
 *   norms   LayerNormalization, RMSNormalization, GroupNormalization,
 *           InstanceNormalization, BatchNormalization
 *   misc    LpNormalization, LRN, MeanVarianceNormalization, SwiGLU
 *   attn    Attention
 *   rotary  RotaryEmbedding
 *   linear  LinearAttention, CausalConvWithState
 */
#include "backends/cpu/ops/norm_attention_kernels.h"

const kiln_cpu_kernel kiln_cpu_norm_attention[] = {
    {"BatchNormalization", kiln_na_batch_norm},
    {"LayerNormalization", kiln_na_layer_norm},
    {"InstanceNormalization", kiln_na_instance_norm},
    {"GroupNormalization", kiln_na_group_norm},
    {"RMSNormalization", kiln_na_rms_norm},
    {"LpNormalization", kiln_na_lp_norm},
    {"LRN", kiln_na_lrn},
    {"MeanVarianceNormalization", kiln_na_mvn},
    {"SwiGLU", kiln_na_swiglu},
    {"Attention", kiln_na_attention},
    {"RotaryEmbedding", kiln_na_rotary},
    {"LinearAttention", kiln_na_linear_attention},
    {"CausalConvWithState", kiln_na_causal_conv},
    {NULL, NULL},
};
