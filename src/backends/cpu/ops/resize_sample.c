/*
 * resize_sample.c - the resize_sample family table: Resize and Upsample
 * (resize_sample_resize.c), GridSample and AffineGrid
 * (resize_sample_grid.c), RoiAlign and NonMaxSuppression
 * (resize_sample_roi.c), DFT and STFT (resize_sample_fft.c), the window
 * functions and MelWeightMatrix (resize_sample_signal.c).
 */
#include "backends/cpu/ops/resize_sample_internal.h"

const kiln_cpu_kernel kiln_cpu_resize_sample[] = {
    {"Resize", rs_resize},
    {"Upsample", rs_resize},
    {"GridSample", rs_grid_sample},
    {"AffineGrid", rs_affine_grid},
    {"RoiAlign", rs_roi_align},
    {"NonMaxSuppression", rs_non_max_suppression},
    {"DFT", rs_dft},
    {"STFT", rs_stft},
    {"HannWindow", rs_hann_window},
    {"HammingWindow", rs_hamming_window},
    {"BlackmanWindow", rs_blackman_window},
    {"MelWeightMatrix", rs_mel_weight_matrix},
    {NULL, NULL},
};
