"""Float64 numpy references for the ops where onnx.reference
- has no implementation: GlobalLpPool, MaxRoiPool, Scatter;
- computes in float32: Erf (and so Gelu), HardSwish's alpha, GridSample's
  coordinates, AffineGrid, LinearAttention, CausalConvWithState's SiLU, the
  function bodies of GroupNormalization and MeanVarianceNormalization,
  DequantizeLinear of int32, Resize's cubic weights (fixed by OVERRIDES);
- is wrong: LpNormalization, LRN, the opset < 13 Softmax family,
  ConvTranspose with groups or output_shape, Pad with negative pads,
  GatherElements with a negative axis, Unique with sorted=0, Upsample with
  fractional linear scales;
- leaves attributes out: RNN/GRU/LSTM ignore sequence_lens, clip and most
  activations.

Each reference takes the node's inputs in order (None for an omitted optional
input) and its attributes as keywords (some only to accept them), and returns
the list of outputs. OVERRIDES replaces onnx.reference's implementation of an
op for every case."""
import math

import numpy as np
from onnx import helper
from onnx.reference.ops.op_resize import Resize as _Resize


class Resize(_Resize):
    """onnx.reference's Resize with cubic_coeff_a as a Python float: as the
    float32 attribute it makes numpy compute the cubic weights in float32."""
    op_domain = ""

    def _run(self, *inputs, cubic_coeff_a=-0.75, **attrs):
        return super()._run(*inputs, cubic_coeff_a=float(cubic_coeff_a), **attrs)


OVERRIDES = [Resize]

_erf = np.vectorize(math.erf, otypes=[np.float64])


def erf(x):
    """onnx.reference's Erf rounds to float32."""
    return [_erf(x)]


def gelu(x, approximate="none"):
    if approximate == "tanh":
        return [0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))]
    return [0.5 * x * (1 + _erf(x / np.sqrt(2)))]


def hard_swish(x):
    """The function body's HardSigmoid takes alpha = 1/6 as a float32
    attribute; the definition's 1/6 is exact."""
    return [x * np.clip(x / 6 + 0.5, 0, 1)]


def dequantize_int32(x, scale):
    """onnx.reference converts x to float32 first, rounding int32 values."""
    return [x.astype(np.float64) * scale]


def global_lp_pool(x, p=2):
    axes = tuple(range(2, x.ndim))
    return [np.sum(np.abs(x) ** p, axis=axes, keepdims=True) ** (1.0 / p)]


def max_roi_pool(x, rois, pooled_shape, spatial_scale=1.0):
    """Caffe's ROI pooling, as ONNX (and ONNX Runtime) define MaxRoiPool."""
    ph_n, pw_n = pooled_shape
    height, width = x.shape[2:]
    y = np.zeros((len(rois), x.shape[1], ph_n, pw_n))
    for r, (b, x1, y1, x2, y2) in enumerate(rois):
        # C's roundf: half away from zero (the coordinates here are positive)
        x1, y1, x2, y2 = (int(np.floor(v * spatial_scale + 0.5)) for v in (x1, y1, x2, y2))
        bin_h = max(y2 - y1 + 1, 1) / ph_n
        bin_w = max(x2 - x1 + 1, 1) / pw_n
        for ph in range(ph_n):
            h0 = min(max(int(np.floor(ph * bin_h)) + y1, 0), height)
            h1 = min(max(int(np.ceil((ph + 1) * bin_h)) + y1, 0), height)
            for pw in range(pw_n):
                w0 = min(max(int(np.floor(pw * bin_w)) + x1, 0), width)
                w1 = min(max(int(np.ceil((pw + 1) * bin_w)) + x1, 0), width)
                if h1 > h0 and w1 > w0:
                    y[r, :, ph, pw] = x[int(b), :, h0:h1, w0:w1].max(axis=(1, 2))
    return [y]


def scatter(data, indices, updates, axis=0):
    """Scatter (opsets 9-10): ScatterElements without a reduction."""
    out = data.copy()
    indices = np.where(indices < 0, indices + data.shape[axis], indices)
    np.put_along_axis(out, indices, updates, axis=axis)
    return [out]


def group_normalization(x, scale, bias, num_groups, epsilon=1e-5, stash_type=1):
    """Opset 21 scales each channel; opset 18 took one scale per group."""
    n, c = x.shape[:2]
    g = x.reshape(n, num_groups, -1)
    g = (g - g.mean(axis=2, keepdims=True)) / np.sqrt(g.var(axis=2, keepdims=True) + epsilon)
    if scale.size != c:
        scale, bias = np.repeat(scale, c // num_groups), np.repeat(bias, c // num_groups)
    bshape = (1, c) + (1,) * (x.ndim - 2)
    return [g.reshape(x.shape) * scale.reshape(bshape) + bias.reshape(bshape)]


def affine_grid(theta, size, align_corners=0):
    spatial = [int(s) for s in size[2:]]

    def base(n):
        if align_corners:
            return np.linspace(-1.0, 1.0, n)
        return (np.arange(n) * 2.0 + 1.0) / n - 1.0

    # the grid's last axis is (x, y[, z]): the innermost spatial axis first
    mesh = list(np.meshgrid(*[base(n) for n in spatial], indexing="ij"))[::-1]
    homo = np.stack(mesh + [np.ones(spatial)], axis=-1)  # (*spatial, k+1)
    return [np.einsum("...j,nij->n...i", homo, theta)]


def linear_attention(query, key, value, past_state=None, decay=None, beta=None, *, q_num_heads, kv_num_heads,
                     scale=0.0, update_rule="gated_delta", chunk_size=None):
    """The recurrence of onnx.reference's LinearAttention, in float64; the
    update rule follows from which of decay and beta are given."""
    b, t, _ = query.shape
    d_k = query.shape[-1] // q_num_heads
    d_v = value.shape[-1] // kv_num_heads

    def heads(a, h):  # (B, T, H*D) -> (B, H, T, D)
        return a.reshape(b, t, h, -1).transpose(0, 2, 1, 3)

    q, k, v = heads(query, q_num_heads), heads(key, kv_num_heads), heads(value, kv_num_heads)
    state = past_state.copy() if past_state is not None else np.zeros((b, kv_num_heads, d_k, d_v))
    scale = scale or 1.0 / np.sqrt(d_k)
    out = np.zeros((b, q_num_heads, t, d_v))
    for i in range(t):
        k_t, v_t = k[:, :, i], v[:, :, i]
        if decay is not None:
            g_t = np.exp(heads(decay, kv_num_heads)[:, :, i])  # (B, H_kv, 1 or d_k)
            state = state * g_t[..., None]
        if beta is not None:
            v_t = heads(beta, beta.shape[-1])[:, :, i] * (v_t - np.einsum("bhdm,bhd->bhm", state, k_t))
        state = state + k_t[..., :, None] * v_t[..., None, :]
        read = np.repeat(state, q_num_heads // kv_num_heads, axis=1)
        out[:, :, i] = scale * np.einsum("bhd,bhdm->bhm", q[:, :, i], read)
    return [out.transpose(0, 2, 1, 3).reshape(b, t, -1), state]


def causal_conv_with_state(x, weight, bias=None, past_state=None, activation="none"):
    """Depthwise causal 1-D convolution over [past_state, x], then SiLU."""
    b, c, length = x.shape
    k = weight.shape[2]
    pad = past_state if past_state is not None else np.zeros((b, c, k - 1))
    padded = np.concatenate([pad, x], axis=2)
    windows = np.lib.stride_tricks.sliding_window_view(padded, k, axis=2)  # (B, C, L, k)
    y = np.einsum("bclk,ck->bcl", windows, weight[:, 0, :])
    if bias is not None:
        y = y + bias[None, :, None]
    if activation in ("silu", "swish"):
        y = y / (1.0 + np.exp(-y))
    return [y, padded[:, :, length:]]


_ACTIVATIONS = {
    "Sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)),
    "Tanh": np.tanh,
    "Relu": lambda v: np.maximum(v, 0.0),
}
_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
_DEFAULT_ACTIVATIONS = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}


def _recurrent(kind, X, W, R, B=None, sequence_lens=None, initial_h=None, initial_c=None, P=None, *,
               hidden_size, direction="forward", layout=0, activations=None, clip=None, linear_before_reset=0):
    """RNN, GRU and LSTM as the ONNX spec writes their equations, every
    attribute but activation_alpha/beta and LSTM's input_forget."""
    if layout:
        X = X.transpose(1, 0, 2)
        initial_h = None if initial_h is None else initial_h.transpose(1, 0, 2)
        initial_c = None if initial_c is None else initial_c.transpose(1, 0, 2)
    seq, batch, _ = X.shape
    hs, n_dir = hidden_size, W.shape[0]
    n_act = len(_DEFAULT_ACTIVATIONS[kind])
    acts = activations or _DEFAULT_ACTIVATIONS[kind] * n_dir
    lens = np.full(batch, seq) if sequence_lens is None else sequence_lens.astype(np.int64)
    Y = np.zeros((seq, n_dir, batch, hs))
    Y_h = np.zeros((n_dir, batch, hs))
    Y_c = np.zeros((n_dir, batch, hs))

    def clipped(v):
        return v if clip is None else np.clip(v, -clip, clip)

    for d in range(n_dir):
        f, g, h = ([_ACTIVATIONS[a] for a in acts[d * n_act:(d + 1) * n_act]] + [None, None])[:3]
        bias = np.zeros(2 * _GATES[kind] * hs) if B is None else B[d]
        wb, rb = bias[:_GATES[kind] * hs], bias[_GATES[kind] * hs:]
        H = np.zeros((batch, hs)) if initial_h is None else initial_h[d].copy()
        C = np.zeros((batch, hs)) if initial_c is None else initial_c[d].copy()
        backward = direction == "reverse" or d == 1
        for step in range(seq):
            t = np.where(backward, lens - 1 - step, step)
            valid = step < lens
            x = X[np.clip(t, 0, seq - 1), np.arange(batch)]
            gx = x @ W[d].T + wb
            if kind == "RNN":
                H_new = f(clipped(gx + H @ R[d].T + rb))
            elif kind == "GRU":
                rz, rr, rh = np.split(R[d], 3)
                bz, br, bh = np.split(rb, 3)
                xz, xr, xh = np.split(gx, 3, axis=1)
                z = f(clipped(xz + H @ rz.T + bz))
                r = f(clipped(xr + H @ rr.T + br))
                if linear_before_reset:
                    hh = g(clipped(xh + r * (H @ rh.T + bh)))
                else:
                    hh = g(clipped(xh + (r * H) @ rh.T + bh))
                H_new = (1.0 - z) * hh + z * H
            else:
                gates = gx + H @ R[d].T + rb
                i, o, fg, c = np.split(gates, 4, axis=1)
                pi, po, pf = np.split(P[d], 3) if P is not None else (0.0, 0.0, 0.0)
                i = f(clipped(i + pi * C))
                fg = f(clipped(fg + pf * C))
                C_new = fg * C + i * g(clipped(c))
                o = f(clipped(o + po * C_new))
                H_new = o * h(C_new)
                C = np.where(valid[:, None], C_new, C)
            H = np.where(valid[:, None], H_new, H)
            Y[t[valid], d, np.arange(batch)[valid]] = H_new[valid]
        Y_h[d], Y_c[d] = H, C
    if layout:
        Y, Y_h, Y_c = Y.transpose(2, 0, 1, 3), Y_h.transpose(1, 0, 2), Y_c.transpose(1, 0, 2)
    return [Y, Y_h, Y_c] if kind == "LSTM" else [Y, Y_h]


def rnn(*inputs, **attrs):
    return _recurrent("RNN", *inputs, **attrs)


def gru(*inputs, **attrs):
    return _recurrent("GRU", *inputs, **attrs)


def lstm(*inputs, **attrs):
    return _recurrent("LSTM", *inputs, **attrs)


def _coerced_2d(fn):
    """Opset < 13 Softmax family: the input is seen as 2-D, (d0*..*d{axis-1},
    d{axis}*..*dn), and normalized along its second axis (onnx.reference
    applies the opset 13 semantics to every opset)."""
    def ref(x, axis=1):
        flat = x.reshape(int(np.prod(x.shape[:axis])), -1)
        return [fn(flat).reshape(x.shape)]
    return ref


def _log_softmax(v):
    shifted = v - v.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _hardmax(v):
    return (np.arange(v.shape[1]) == v.argmax(axis=1)[:, None]).astype(v.dtype)


softmax_2d = _coerced_2d(lambda v: np.exp(_log_softmax(v)))
log_softmax_2d = _coerced_2d(_log_softmax)
hardmax_2d = _coerced_2d(_hardmax)


def conv_transpose(x, w, b=None, *, group=1, strides=None, pads=None, dilations=None, output_padding=None,
                   output_shape=None):
    """ConvTranspose (onnx.reference fails for group > 1 and output_shape):
    every input element scatters x * w into the output."""
    n, c_in = x.shape[:2]
    spatial, kernel = x.shape[2:], w.shape[2:]
    dims = len(spatial)
    strides, dilations = strides or [1] * dims, dilations or [1] * dims
    pads, output_padding = pads or [0] * (2 * dims), output_padding or [0] * dims
    c_out = w.shape[1] * group
    full = [(i - 1) * s + (k - 1) * d + 1 + p
            for i, s, k, d, p in zip(spatial, strides, kernel, dilations, output_padding)]
    if output_shape:  # the padding that gives output_shape, the odd unit at the start (auto_pad NOTSET)
        total = [f - o for f, o in zip(full, output_shape)]
        pads = [t - t // 2 for t in total] + [t // 2 for t in total]
    y = np.zeros((n, group, c_out // group, *full))
    xg = x.reshape(n, group, c_in // group, *spatial)
    wg = w.reshape(group, c_in // group, c_out // group, *kernel)
    for k in np.ndindex(*kernel):
        contrib = np.einsum("ngi...,gio->ngo...", xg, wg[(slice(None), slice(None), slice(None)) + k])
        where = tuple(slice(kk * d, kk * d + (i - 1) * s + 1, s)
                      for kk, d, i, s in zip(k, dilations, spatial, strides))
        y[(slice(None), slice(None), slice(None)) + where] += contrib
    y = y.reshape(n, c_out, *full)
    crop = tuple(slice(pads[i], full[i] - pads[i + dims]) for i in range(dims))
    y = y[(slice(None), slice(None)) + crop]
    if b is not None:
        y = y + b.reshape(1, -1, *([1] * dims))
    return [y]


def lp_normalization(x, axis=-1, p=2):
    """onnx.reference leaves out the absolute value (wrong for p=1)."""
    return [x / np.sum(np.abs(x) ** p, axis=axis, keepdims=True) ** (1.0 / p)]


def lrn(x, size, alpha=1e-4, beta=0.75, bias=1.0):
    """onnx.reference loops over the batch axis instead of the channels."""
    square = x ** 2
    total = np.zeros_like(x)
    for ch in range(x.shape[1]):
        lo, hi = max(0, ch - (size - 1) // 2), min(x.shape[1] - 1, ch + size // 2)
        total[:, ch] = square[:, lo:hi + 1].sum(axis=1)
    return [x / (bias + alpha / size * total) ** beta]


def mean_variance_normalization(x, axes=(0, 2, 3)):
    """The function body's epsilon constant is float32, so onnx.reference
    cannot run it in float64."""
    mean = x.mean(axis=tuple(axes), keepdims=True)
    std = np.sqrt((x ** 2).mean(axis=tuple(axes), keepdims=True) - mean ** 2)
    return [(x - mean) / (std + 1e-9)]


def upsample_linear(x, scales, mode="linear"):
    """Upsample (opsets 9): asymmetric (multi)linear interpolation;
    onnx.reference handles integer scales only."""
    y = x
    for axis, scale in enumerate(scales):
        n_in, n_out = y.shape[axis], int(np.floor(y.shape[axis] * scale))
        pos = np.minimum(np.arange(n_out) / scale, n_in - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        shape = [1] * y.ndim
        shape[axis] = n_out
        frac = (pos - lo).reshape(shape)
        y = np.take(y, lo, axis=axis) * (1 - frac) + np.take(y, hi, axis=axis) * frac
    return [y]


def gather_elements(data, indices, axis=0):
    """onnx.reference mishandles a negative axis."""
    indices = np.where(indices < 0, indices + data.shape[axis], indices)
    return [np.take_along_axis(data, indices, axis=axis)]


def pad(x, pads, constant_value=None, axes=None, mode="constant"):
    """Pad with negative pads (crops); onnx.reference rejects them."""
    axes = range(x.ndim) if axes is None else [a % x.ndim for a in axes]
    before, after = [0] * x.ndim, [0] * x.ndim
    for i, a in enumerate(axes):
        before[a], after[a] = int(pads[i]), int(pads[i + len(axes)])
    crop = tuple(slice(max(-b, 0), n - max(-e, 0)) for b, e, n in zip(before, after, x.shape))
    widths = [(max(b, 0), max(e, 0)) for b, e in zip(before, after)]
    return [np.pad(x[crop], widths, constant_values=0 if constant_value is None else constant_value)]


def unique(x, axis=None, sorted=1):
    """Unique with sorted=0 (onnx.reference fails on it): the unique values
    in order of first occurrence."""
    values, first, inverse, counts = np.unique(x, axis=axis, return_index=True, return_inverse=True,
                                              return_counts=True)
    if not sorted:
        order = np.argsort(first)
        rank = np.argsort(order)
        values, first, counts = np.take(values, order, axis=axis or 0), first[order], counts[order]
        inverse = rank[inverse]
    return [values, first, inverse.reshape(-1), counts]


def bitcast_float32(x, to):
    """BitCast of float32 data: the float64 copy would change the bit width."""
    return [x.astype(np.float32).view(helper.tensor_dtype_to_np_dtype(to))]


def _reflect(v, lo, hi):
    """Reflects coordinates outside [lo, hi] back in by the near border."""
    span = hi - lo
    dist = np.where(v < lo, lo - v, np.where(v > hi, v - hi, 0.0))
    folds = np.floor(dist / span)
    rest = dist - folds * span
    even = folds % 2 == 0
    low, high = np.where(even, lo + rest, hi - rest), np.where(even, hi - rest, lo + rest)
    return np.where(v < lo, low, np.where(v > hi, high, v))


def _keys_cubic(t, a=-0.75):
    """Weights of the neighbours at offsets -1, 0, 1, 2 for a fraction t."""
    return [((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
            ((a + 2) * t - (a + 3)) * t * t + 1,
            ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1,
            ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a]


def grid_sample(x, grid, mode="linear", padding_mode="zeros", align_corners=0):
    """onnx.reference's GridSample (any rank) vectorized, without its float32
    coordinates."""
    mode = {"bilinear": "linear", "bicubic": "cubic"}.get(mode, mode)
    batch, dims = x.shape[0], x.shape[2:]
    lo = [0.0 if align_corners else -0.5 for _ in dims]
    hi = [d - 1.0 if align_corners else d - 0.5 for d in dims]
    pos = []
    for i, d in enumerate(dims):
        g = grid[..., len(dims) - 1 - i]  # the grid's last axis runs (x, y, z): innermost axis first
        p = (g + 1) / 2 * (d - 1) if align_corners else ((g + 1) * d - 1) / 2
        if mode == "nearest":
            p = np.rint(p)
        outside = (p < lo[i]) | (p > hi[i])
        if padding_mode == "border":
            p = np.where(outside, np.clip(p, 0, d - 1), p)
        elif padding_mode == "reflection":
            p = _reflect(p, lo[i], hi[i])
        pos.append(p)

    b = np.arange(batch).reshape((batch,) + (1,) * (grid.ndim - 2))

    def pixels(idx):  # x at integer positions idx (one array per axis), padded
        valid = np.ones(idx[0].shape, bool)
        fixed = []
        for i, (j, d) in enumerate(zip(idx, dims)):
            if padding_mode == "zeros":
                valid &= (j >= 0) & (j < d)
            elif padding_mode == "reflection":
                j = _reflect(j.astype(np.float64), lo[i], hi[i]).astype(np.int64)
            fixed.append(np.clip(j, 0, d - 1))
        values = np.moveaxis(x[(b, slice(None), *fixed)], -1, 1)  # (N, C, *out)
        return np.where(valid[:, None], values, 0.0)

    if mode == "nearest":
        return [pixels([p.astype(np.int64) for p in pos])]
    offsets, weights = ([0, 1], lambda t: [1 - t, t]) if mode == "linear" else ([-1, 0, 1, 2], _keys_cubic)
    base = [np.floor(p).astype(np.int64) for p in pos]
    w = [weights(p - f) for p, f in zip(pos, base)]
    y = 0.0
    for corner in np.ndindex(*[len(offsets)] * len(dims)):
        weight = np.prod([w[i][k] for i, k in enumerate(corner)], axis=0)
        y = y + weight[:, None] * pixels([f + offsets[k] for f, k in zip(base, corner)])
    return [y]
