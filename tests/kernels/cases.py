"""The table of kernel cases for test_kernels.py: one entry per (op,
attributes, input shapes and dtypes), grouped by op family.

An input is random (`x(*shape)`, a graph input drawn fresh each run) or
constant (`c(value)`, an initializer: axes, sizes, pads, scales and the like).
FLOAT stands for the case's float dtype (float32 unless the case says
otherwise); the float64 reference model has float64 wherever FLOAT is.

Tolerances, on the relative L2 error ||out - ref|| / ||ref|| against float64:
float32 1e-5, float16 1e-3 (its resolution is 2^-11 = 4.9e-4), float64 1e-12.
Integer and bool outputs, and every op in EXACT_OPS, must match bitwise.
A case that needs a looser tolerance says why in `why`."""
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np
from onnx import TensorProto

import references as R

FLOAT = "FLOAT"  # the case's float dtype
EXACT = 0.0
TOL = {np.float32: 1e-5, np.float16: 1e-3, np.float64: 1e-12}

# Ops whose float outputs are copies or exact functions of their inputs.
EXACT_OPS = {
    "Abs", "Neg", "Relu", "Sign", "Floor", "Ceil", "Round", "Clip", "Identity", "Min", "Max", "Where", "Mod",
    "MaxPool", "GlobalMaxPool", "MaxUnpool", "MaxRoiPool", "ReduceMax", "ReduceMin", "TopK", "Hardmax",
    "Transpose", "Gather", "GatherElements", "GatherND", "Slice", "Concat", "Split", "Pad", "Expand", "Tile",
    "Reshape", "Flatten", "Squeeze", "Unsqueeze", "DepthToSpace", "SpaceToDepth", "ReverseSequence", "Trilu",
    "ScatterND", "ScatterElements", "Scatter", "TensorScatter", "OneHot", "Compress", "Unique", "CenterCropPad",
    "EyeLike", "ConstantOfShape", "Dropout", "Cast", "CastLike", "BitCast",
}
OFFSET_NORM = "inputs 100 deviations from their mean: the mean's float32 rounding is 100x larger relative to them"


def long_sum(n):
    return f"a float32 sum of {n} terms may be off by ~sqrt(n)*2^-24 = {np.sqrt(n) * 2**-24:.0e} relative"


# --- input generators: (rng, shape) -> float64 or integer array -------------

def normal(scale=1.0):
    return lambda rng, shape: rng.standard_normal(shape) * scale


def uniform(lo, hi):
    return lambda rng, shape: rng.uniform(lo, hi, shape)


def away(lo, hi):
    """Random sign times uniform(lo, hi): away from zero."""
    return lambda rng, shape: rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


def log_uniform(limit):
    """Random sign times exp(uniform(-limit, limit)): long products neither
    overflow nor underflow."""
    return lambda rng, shape: np.exp(rng.uniform(-limit, limit, shape)) * rng.choice([-1.0, 1.0], shape)


def ints(lo, hi):
    """Integers in [lo, hi)."""
    return lambda rng, shape: rng.integers(lo, hi, shape, dtype=np.uint64 if hi > 2**63 else np.int64)


def near(base, spread=4):
    """Integers within `spread` of `base`: beyond 2^53 they collide when
    converted to float64, so they catch integer ops computed in double."""
    return lambda rng, shape: np.asarray(base, dtype=object) + rng.integers(-spread, spread + 1, shape).astype(object)


def steps(lo, hi, step):
    """Multiples of step in [lo, hi): ties for ArgMax, equality for compares."""
    return lambda rng, shape: rng.integers(int(lo / step), int(hi / step), shape) * step


def halves(rng, shape):
    """Half of the values exact multiples of 0.5 (Round's ties), half random."""
    tie = rng.integers(-16, 17, shape) * 0.5
    return np.where(rng.random(shape) < 0.5, tie, rng.standard_normal(shape) * 4)


def specials(rng, shape):
    """Mostly normal values with NaN, +inf and -inf sprinkled in."""
    v = rng.standard_normal(shape)
    pick = rng.random(shape)
    v[pick < 0.1] = np.nan
    v[(pick >= 0.1) & (pick < 0.2)] = np.inf
    v[(pick >= 0.2) & (pick < 0.3)] = -np.inf
    return v


def offset(mean, scale=1.0):
    """Normal values around a large mean: stresses how a norm's variance is
    computed (E[x^2] - E[x]^2 cancels catastrophically)."""
    return lambda rng, shape: mean + rng.standard_normal(shape) * scale


def midpoints(of, nudge=0.0):
    """Values halfway between neighbouring `of` (float16 or float32) values,
    the ties of a rounding Cast; with `nudge`, moved by that relative amount
    up or down at random (a float64 input then tests double rounding)."""
    def gen(rng, shape):
        v = (rng.standard_normal(shape) * 10).astype(of)
        mid = v.astype(np.float64) + np.spacing(v).astype(np.float64) / 2
        return mid * (1 + nudge * rng.choice([-1.0, 0.0, 1.0], shape))
    return gen


def booleans(rng, shape):
    return rng.random(shape) < 0.5


def key_mask(rng, shape):
    """An Attention bool mask (..., q, kv) with key 0 always kept: no query
    has all its keys masked out."""
    mask = rng.random(shape) < 0.6
    mask[..., 0] = True
    return mask


def perm_along(axis, n):
    """Indices along `axis` that are a prefix of a permutation of range(n)
    for every other position: unique scatter targets."""
    def gen(rng, shape):
        moved = list(shape)
        moved.append(moved.pop(axis))
        flat = np.array([rng.permutation(n)[:moved[-1]] for _ in range(int(np.prod(moved[:-1])))])
        return np.moveaxis(flat.reshape(moved), -1, axis)
    return gen


def unique_rows(*dims):
    """ScatterND indices: distinct index tuples into dims, one per row."""
    def gen(rng, shape):
        flat = rng.choice(int(np.prod(dims)), shape[0], replace=False)
        return np.stack(np.unravel_index(flat, dims), axis=1)
    return gen


def unpool_indices(rng, shape):
    """MaxUnpool indices into a (N, C, 2H, 2W) output, one per 2x2 window."""
    n, c, h, w = shape
    dy, dx = rng.integers(0, 2, shape), rng.integers(0, 2, shape)
    rows = 2 * np.arange(h)[:, None] + dy
    cols = 2 * np.arange(w)[None, :] + dx
    plane = (np.arange(n)[:, None, None, None] * c + np.arange(c)[None, :, None, None]) * (4 * h * w)
    return plane + rows * (2 * w) + cols


def boxes(height, width, batch=None):
    """Boxes [x1, y1, x2, y2] inside the image, x1 < x2 and y1 < y2; with
    `batch`, MaxRoiPool's rows [batch_index, x1, y1, x2, y2]."""
    def gen(rng, shape):
        count = shape[0]
        x = np.sort(rng.uniform(0, width - 1, (count, 2)), axis=1)
        y = np.sort(rng.uniform(0, height - 1, (count, 2)), axis=1)
        b = np.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], axis=1)
        if batch is None:
            return b
        return np.concatenate([rng.integers(0, batch, (count, 1)).astype(float), b], axis=1)
    return gen


def well_conditioned(rng, shape):
    """Square matrices 2I + small noise, for Det."""
    return 2 * np.eye(shape[-1]) + rng.standard_normal(shape) * 0.3


def hann(rng, shape):
    """A Hann window scaled by a random positive factor."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(shape[0]) / shape[0])) * rng.uniform(0.5, 1.0)


# --- inputs and cases -------------------------------------------------------

@dataclass
class In:
    shape: tuple = ()
    gen: Callable = normal()
    dtype: object = FLOAT
    value: np.ndarray = None  # a constant: stored as an initializer
    ref_dtype: type = None  # its dtype in the reference model, when not dtype (FLOAT: float64)


def x(*shape, gen=normal(), dtype=FLOAT):
    """A random graph input."""
    return In(tuple(shape), gen, dtype)


def c(value, dtype=np.int64):
    """A constant input (an initializer)."""
    return In(np.shape(value), None, dtype, np.asarray(value, dtype=np.float64 if dtype is FLOAT else dtype))


def scales(value):
    """Resize's scales or roi: float32 for kiln, float64 for the reference
    (onnx.reference computes the coordinates in the scales' precision)."""
    return In(np.shape(value), None, np.float32, np.asarray(value, np.float32), np.float64)


@dataclass
class Case:
    op: str
    inputs: list  # In, or None for an omitted optional input
    attrs: dict = field(default_factory=dict)
    dtype: type = np.float32  # what FLOAT is
    ref_dtype: type = np.float64  # what FLOAT is in the reference model
    opset: int = None  # default: 21, or the op's newest version if it is newer
    outputs: object = 1  # how many, or which (a tuple of positions; the others are omitted)
    tol: float = None  # default: by dtype (TOL), EXACT for EXACT_OPS
    why: str = ""  # why the tolerance is not the default
    ref: Callable = None  # a float64 numpy reference (see references.py)
    known_failure: str = ""  # a kiln bug this case shows, with the diagnosis
    may_be_unsupported: bool = False  # skip, not fail, on "unsupported op"

    def output_slots(self):
        return list(range(self.outputs)) if isinstance(self.outputs, int) else list(self.outputs)

    def tolerance(self):
        if self.tol is not None:
            return self.tol
        return EXACT if self.op in EXACT_OPS else TOL[self.dtype]


class Sizes(NamedTuple):
    n: int  # batch
    c: int  # channels (a multiple of 4)
    h: int  # image height
    w: int  # image width
    d: int  # depth of volumes
    l: int  # length of 1-D signals
    m: int  # MatMul: (m x k) @ (k x p)
    k: int
    p: int
    s: int  # sequence length (attention, recurrences)
    long: int  # length of the long reductions


FULL = Sizes(n=2, c=8, h=17, w=19, d=6, l=37, m=33, k=65, p=47, s=11, long=32768)
SMALL = Sizes(n=1, c=4, h=9, w=10, d=4, l=11, m=5, k=9, p=4, s=4, long=1024)


def elementwise(s):
    img = (s.n, s.c, s.h, s.w)
    unary = [
        ("Exp", {}, normal(2)), ("Log", {}, uniform(0.05, 20)), ("Sqrt", {}, uniform(0.01, 20)),
        ("Reciprocal", {}, away(0.1, 10)), ("Sin", {}, normal(3)), ("Cos", {}, normal(3)),
        ("Tan", {}, uniform(-1.4, 1.4)), ("Asin", {}, uniform(-0.99, 0.99)), ("Acos", {}, uniform(-0.99, 0.99)),
        ("Atan", {}, normal(3)), ("Sinh", {}, uniform(-5, 5)), ("Cosh", {}, uniform(-5, 5)),
        ("Asinh", {}, normal(3)), ("Acosh", {}, uniform(1.01, 10)), ("Atanh", {}, uniform(-0.99, 0.99)),
        ("Tanh", {}, normal(2)), ("Sigmoid", {}, normal(4)), ("Erf", {}, normal(1.5)),
        ("Softplus", {}, normal(4)), ("Softsign", {}, normal(3)), ("Mish", {}, normal(3)),
        ("HardSwish", {}, normal(4)), ("Elu", {"alpha": 0.7}, normal(2)), ("Selu", {}, normal(2)),
        ("Celu", {"alpha": 1.3}, normal(2)), ("LeakyRelu", {"alpha": 0.03}, normal()),
        ("ThresholdedRelu", {"alpha": 0.4}, normal()), ("HardSigmoid", {"alpha": 0.3, "beta": 0.45}, normal(3)),
        ("Swish", {"alpha": 1.5}, normal(3)), ("Gelu", {}, normal(2)), ("Gelu", {"approximate": "tanh"}, normal(2)),
        ("Shrink", {"lambd": 0.6, "bias": 0.2}, normal()),
        ("Relu", {}, normal()), ("Neg", {}, normal()), ("Abs", {}, normal()), ("Sign", {}, normal()),
        ("Floor", {}, normal(5)), ("Ceil", {}, normal(5)), ("Round", {}, halves), ("Identity", {}, normal()),
    ]
    refs = {"Erf": R.erf, "Gelu": R.gelu, "HardSwish": R.hard_swish}
    cases = [Case(op, [x(*img, gen=g)], attrs, dtype=dtype, ref=refs.get(op))
             for dtype in (np.float32, np.float64) for op, attrs, g in unary]
    cases += [Case(op, [x(*img, gen=g)], dtype=np.float16, ref=refs.get(op))
              for op, g in [("Exp", normal(2)), ("Tanh", normal(2)), ("Sigmoid", normal(4)), ("Gelu", normal(2)),
                            ("Sqrt", uniform(0.01, 20)), ("Relu", normal())]]
    cases += [
        Case("Clip", [x(*img), c(-0.5, FLOAT), c(0.8, FLOAT)]),
        Case("Clip", [x(*img), None, c(0.3, FLOAT)]),
        Case("Clip", [x(*img)], {"min": -0.2, "max": 0.6}, opset=6),
        Case("IsNaN", [x(*img, gen=specials)]),
        Case("IsInf", [x(*img, gen=specials)]),
        Case("IsInf", [x(*img, gen=specials)], {"detect_negative": 0}),
        # binary float ops, broadcasting both ways
        Case("Add", [x(*img), x(s.c, 1, 1)]),
        Case("Add", [x(s.n, 1, s.h, s.w), x(1, s.c, s.h, 1)]),
        Case("Sub", [x(s.h, s.w), x(*img)]),
        Case("Mul", [x(*img), x()]),
        Case("Mul", [x(s.n, s.c, 1, s.w), x(s.h, 1)]),
        Case("Div", [x(*img), x(*img, gen=away(0.5, 2))]),
        Case("Div", [x(s.c, 1, 1), x(*img, gen=away(0.5, 2))]),
        Case("Pow", [x(*img, gen=uniform(0.1, 3)), x(s.c, 1, 1)]),
        Case("Pow", [x(*img), c(3.0, FLOAT)]),
        Case("Pow", [x(*img, gen=uniform(0.1, 3)), c(0.5, FLOAT)]),
        Case("Mod", [x(*img, gen=normal(10)), x(s.w, gen=away(0.5, 3))], {"fmod": 1}),
        Case("PRelu", [x(*img), x(s.c, 1, 1)]),
        Case("PRelu", [x(*img), x(s.w)]),
        Case("Max", [x(*img), x(s.c, 1, 1), x(s.w)]),
        Case("Min", [x(*img), x(s.h, 1)]),
        Case("Sum", [x(*img), x(s.c, 1, 1), x(s.w)]),
        Case("Mean", [x(*img), x(s.h, s.w)]),
        Case("Where", [x(s.h, s.w, gen=booleans, dtype=np.bool_), x(*img), x(s.c, 1, 1)]),
        Case("Where", [x(s.c, 1, 1, gen=booleans, dtype=np.bool_), x(s.h, 1, gen=ints(-9, 9), dtype=np.int64),
                       x(s.n, 1, 1, s.w, gen=ints(-9, 9), dtype=np.int64)]),
        Case("Max", [x(*img), x(s.w)], dtype=np.float16),
        Case("Sum", [x(*img)]),
        Case("Add", [x(*img), x(s.c, 1, 1)], dtype=np.float16),
        Case("Mul", [x(*img), x(s.w)], dtype=np.float16),
        Case("Add", [x(*img), x(s.c, 1, 1)], dtype=np.float64),
        Case("Div", [x(*img), x(*img, gen=away(0.5, 2))], dtype=np.float64),
        Case("Pow", [x(*img, gen=uniform(0.1, 3)), x(*img)], dtype=np.float64),
        # comparisons and logic (values on a grid, so that equality happens)
        Case("Equal", [x(*img, gen=steps(-2, 2, 0.5)), x(s.c, 1, 1, gen=steps(-2, 2, 0.5))]),
        Case("Less", [x(*img), x(s.w)]),
        Case("Greater", [x(*img), x(s.c, 1, 1)]),
        Case("LessOrEqual", [x(*img, gen=steps(-2, 2, 0.5)), x(s.w, gen=steps(-2, 2, 0.5))]),
        Case("GreaterOrEqual", [x(*img, gen=steps(-2, 2, 0.5)), x(s.h, 1, gen=steps(-2, 2, 0.5))]),
        Case("And", [x(*img, gen=booleans, dtype=np.bool_), x(s.w, gen=booleans, dtype=np.bool_)]),
        Case("Or", [x(*img, gen=booleans, dtype=np.bool_), x(s.c, 1, 1, gen=booleans, dtype=np.bool_)]),
        Case("Xor", [x(*img, gen=booleans, dtype=np.bool_), x(*img, gen=booleans, dtype=np.bool_)]),
        Case("Not", [x(*img, gen=booleans, dtype=np.bool_)]),
        # integer arithmetic and bit operations: exact
        Case("Add", [x(*img, gen=ints(-1000, 1000), dtype=np.int32),
                     x(s.c, 1, 1, gen=ints(-1000, 1000), dtype=np.int32)]),
        Case("Sub", [x(*img, gen=ints(-2**40, 2**40), dtype=np.int64),
                     x(s.w, gen=ints(-2**40, 2**40), dtype=np.int64)]),
        Case("Mul", [x(*img, gen=ints(-3000, 3000), dtype=np.int32), x(s.w, gen=ints(-3000, 3000), dtype=np.int32)]),
        Case("Div", [x(*img, gen=ints(-1000, 1000), dtype=np.int32), x(s.w, gen=away(1, 30), dtype=np.int32)]),
        Case("Mod", [x(*img, gen=ints(-1000, 1000), dtype=np.int32), x(s.w, gen=away(1, 30), dtype=np.int32)]),
        Case("Mod", [x(*img, gen=ints(-1000, 1000), dtype=np.int64), x(s.w, gen=away(1, 30), dtype=np.int64)],
             {"fmod": 1}),
        Case("Max", [x(*img, gen=ints(-2**40, 2**40), dtype=np.int64),
                     x(s.c, 1, 1, gen=ints(-2**40, 2**40), dtype=np.int64)]),
        Case("Abs", [x(*img, gen=ints(-1000, 1000), dtype=np.int32)]),
        Case("Clip", [x(*img, gen=ints(-1000, 1000), dtype=np.int32), c(-300, np.int32), c(500, np.int32)]),
        Case("Neg", [x(*img, gen=ints(-127, 128), dtype=np.int8)]),
        Case("BitwiseAnd", [x(*img, gen=ints(-2**31, 2**31), dtype=np.int32),
                            x(s.w, gen=ints(-2**31, 2**31), dtype=np.int32)]),
        Case("BitwiseOr", [x(*img, gen=ints(0, 256), dtype=np.uint8), x(s.c, 1, 1, gen=ints(0, 256), dtype=np.uint8)]),
        Case("BitwiseXor", [x(*img, gen=ints(-2**62, 2**62), dtype=np.int64),
                            x(*img, gen=ints(-2**62, 2**62), dtype=np.int64)]),
        Case("BitwiseNot", [x(*img, gen=ints(0, 256), dtype=np.uint8)]),
        Case("BitShift", [x(*img, gen=ints(0, 2**32), dtype=np.uint32), x(s.w, gen=ints(0, 32), dtype=np.uint32)],
             {"direction": "LEFT"}),
        Case("BitShift", [x(*img, gen=ints(0, 256), dtype=np.uint8), x(s.c, 1, 1, gen=ints(0, 8), dtype=np.uint8)],
             {"direction": "RIGHT"}),
        Case("Pow", [x(*img, gen=ints(-6, 7), dtype=np.int32), x(s.w, gen=ints(0, 8), dtype=np.int32)]),
        Case("Pow", [x(*img), c(2, np.int64)]),
        # int64 and uint64 beyond 2^53: exact only if not computed in double
        Case("Add", [x(*img, gen=near(2**62), dtype=np.int64), x(s.w, gen=near(-2**61), dtype=np.int64)]),
        Case("Add", [x(*img, gen=near(2**63), dtype=np.uint64), x(s.c, 1, 1, gen=ints(0, 2**40), dtype=np.uint64)]),
        Case("Mul", [x(*img, gen=near(2**40), dtype=np.int64), x(s.w, gen=near(2**20, 100), dtype=np.int64)]),
        Case("Div", [x(*img, gen=near(2**62, 10**6), dtype=np.int64), x(s.w, gen=away(1, 1000), dtype=np.int64)]),
        Case("Mod", [x(*img, gen=near(2**62, 10**6), dtype=np.int64), x(s.w, gen=away(1, 1000), dtype=np.int64)]),
        Case("Less", [x(*img, gen=near(2**60), dtype=np.int64), x(s.w, gen=near(2**60), dtype=np.int64)]),
        Case("Equal", [x(*img, gen=near(2**60), dtype=np.int64), x(s.c, 1, 1, gen=near(2**60), dtype=np.int64)]),
        Case("Min", [x(*img, gen=near(2**63 + 2**62), dtype=np.uint64),
                     x(s.w, gen=near(2**63 + 2**62), dtype=np.uint64)]),
        Case("Clip", [x(*img, gen=near(2**60), dtype=np.int64), c(2**60 - 2), c(2**60 + 1)]),
    ]
    return cases


def conv_pool(s):
    n, ch, h, w = s.n, s.c, s.h, s.w
    img = (n, ch, h, w)
    vol = (n, 4, s.d, s.h // 2 + 1, s.w // 2)
    half = (n, ch, h // 2 + 1, w // 2 + 1)
    return [
        Case("Conv", [x(*img), x(16, ch, 3, 3), x(16)], {"pads": [1, 1, 1, 1]}),
        Case("Conv", [x(*img), x(16, ch // 2, 3, 3)], {"group": 2, "strides": [2, 2]}),
        Case("Conv", [x(*img), x(ch, 1, 3, 3), x(ch)], {"group": ch, "pads": [1, 1, 1, 1]}),
        Case("Conv", [x(*img), x(2 * ch, 1, 5, 5)], {"group": ch, "pads": [2, 2, 2, 2], "strides": [2, 1]}),
        Case("Conv", [x(*img), x(12, ch, 3, 3), x(12)], {"dilations": [2, 2], "strides": [2, 2], "pads": [0, 1, 2, 1]}),
        Case("Conv", [x(*img), x(12, ch, 4, 4)], {"auto_pad": "SAME_UPPER", "strides": [2, 2]}),
        Case("Conv", [x(*img), x(12, ch, 3, 3)], {"auto_pad": "SAME_LOWER", "strides": [2, 2]}),
        Case("Conv", [x(*img), x(24, ch, 1, 1), x(24)], {"auto_pad": "VALID"}),
        Case("Conv", [x(*img), x(12, ch // 4, 2, 5)], {"group": 4, "strides": [1, 3]}),
        Case("Conv", [x(n, ch, s.l), x(12, ch, 5), x(12)], {"strides": [2], "pads": [2, 1], "dilations": [2]}),
        Case("Conv", [x(n, ch, s.l), x(ch, 4, 3)], {"group": ch // 4}),
        Case("Conv", [x(*vol), x(6, 4, 3, 3, 3), x(6)], {"pads": [1] * 6}),
        Case("Conv", [x(*vol), x(6, 2, 2, 3, 3)], {"group": 2, "strides": [2, 2, 2], "dilations": [1, 2, 1]}),
        Case("Conv", [x(*vol), x(4, 1, 3, 3, 3), x(4)], {"group": 4, "pads": [1] * 6}),
        Case("Conv", [x(*img), x(16, ch, 1, 1)], {"strides": [2, 2]}),
        Case("Conv", [x(*img), x(5, ch, h, w), x(5)]),
        Case("Conv", [x(*img), x(6, ch, 3, 3)], {"pads": [3, 4, 3, 2]}),
        Case("Conv", [x(*img), x(16, ch, 3, 3), x(16)], {"pads": [1, 1, 1, 1]}, dtype=np.float16),
        Case("Conv", [x(*img), x(16, ch, 3, 3), x(16)], {"pads": [1, 1, 1, 1]}, dtype=np.float64),
        Case("ConvInteger", [x(*img, gen=ints(0, 256), dtype=np.uint8),
                             x(8, ch, 3, 3, gen=ints(0, 256), dtype=np.uint8),
                             c(131, np.uint8), c(117, np.uint8)], {"pads": [1, 1, 1, 1]}),
        Case("QLinearConv", [x(*img, gen=ints(0, 256), dtype=np.uint8), c(0.05, np.float32), c(128, np.uint8),
                             x(8, ch, 3, 3, gen=ints(-127, 128), dtype=np.int8),
                             c(np.linspace(0.002, 0.01, 8), np.float32),
                             c(np.zeros(8), np.int8), c(2.5, np.float32), c(120, np.uint8),
                             x(8, gen=ints(-2000, 2000), dtype=np.int32)], {"pads": [1, 1, 1, 1]}),
        Case("DeformConv", [x(n, ch, 9, 10), x(8, ch, 3, 3), x(n, 2 * 9, 9, 10, gen=normal(0.8)), x(8)],
             {"pads": [1, 1, 1, 1]}),
        Case("DeformConv", [x(n, ch, 9, 10), x(8, ch // 2, 3, 3), x(n, 2 * 2 * 9, 4, 4, gen=normal(0.8)), None,
                            x(n, 2 * 9, 4, 4, gen=uniform(0, 1))],
             {"group": 2, "offset_group": 2, "strides": [2, 2]}),
        # ConvTranspose: weights are (C_in, C_out / group, k...)
        Case("ConvTranspose", [x(*half), x(ch, 6, 3, 3), x(6)], {"strides": [2, 2], "pads": [1, 1, 1, 1],
                                                                  "output_padding": [1, 1]}),
        Case("ConvTranspose", [x(*half), x(ch, 3, 3, 3)], {"group": 2, "strides": [2, 1]}, ref=R.conv_transpose),
        Case("ConvTranspose", [x(*half), x(ch, 5, 3, 3)], {"dilations": [2, 2], "pads": [1, 0, 2, 1]}),
        Case("ConvTranspose", [x(*half), x(ch, 4, 3, 3)],
             {"strides": [2, 2], "output_shape": [2 * half[2], 2 * half[3]]}, ref=R.conv_transpose),
        Case("ConvTranspose", [x(*half), x(ch, 4, 4, 4), x(4)], {"strides": [2, 2], "auto_pad": "SAME_UPPER"}),
        Case("ConvTranspose", [x(*half), x(ch, 1, 4, 4)], {"group": ch, "strides": [2, 2], "pads": [1, 1, 1, 1]},
             ref=R.conv_transpose),
        Case("ConvTranspose", [x(n, ch, s.l), x(ch, 5, 4), x(5)], {"strides": [3]}),
        Case("ConvTranspose", [x(*half), x(ch, 6, 3, 3)], {"strides": [3, 2], "dilations": [2, 1],
                                                          "output_padding": [2, 1], "pads": [1, 2, 0, 1]}),
        Case("ConvTranspose", [x(*img), x(ch, 16, 1, 1), x(16)]),
        Case("ConvTranspose", [x(n, 4, 4, 5, 6), x(4, 3, 3, 3, 3)], {"strides": [2, 2, 2], "pads": [1] * 6}),
        Case("ConvTranspose", [x(*half), x(ch, 6, 3, 3), x(6)], {"strides": [2, 2]}, dtype=np.float16),
        # pools
        Case("MaxPool", [x(*img)], {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
        Case("MaxPool", [x(*img)], {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}),
        Case("MaxPool", [x(*img)], {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1}),
        Case("MaxPool", [x(*img)], {"kernel_shape": [3, 3], "dilations": [2, 2], "pads": [2, 2, 2, 2]}),
        Case("MaxPool", [x(*img)], {"kernel_shape": [3, 2], "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
        Case("MaxPool", [x(*img)], {"kernel_shape": [3, 3], "strides": [2, 2]}, outputs=2),
        Case("MaxPool", [x(*img)], {"kernel_shape": [2, 3], "strides": [1, 2], "storage_order": 1}, outputs=2),
        Case("MaxPool", [x(n, ch, s.l)], {"kernel_shape": [3], "strides": [2]}),
        Case("MaxPool", [x(*vol)], {"kernel_shape": [2, 2, 2], "strides": [2, 2, 2]}),
        Case("MaxPool", [x(*img, gen=ints(-128, 128), dtype=np.int8)], {"kernel_shape": [3, 3], "strides": [2, 2]}),
        Case("AveragePool", [x(*img)], {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
        Case("AveragePool", [x(*img)], {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1],
                                        "count_include_pad": 1}),
        Case("AveragePool", [x(*img)], {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
        Case("AveragePool", [x(*img)], {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1],
                                        "ceil_mode": 1, "count_include_pad": 1}),
        Case("AveragePool", [x(*img)], {"kernel_shape": [3, 3], "dilations": [2, 2]}),
        Case("AveragePool", [x(*img)], {"kernel_shape": [4, 4], "strides": [3, 3], "auto_pad": "SAME_LOWER"}),
        Case("AveragePool", [x(n, ch, s.l)], {"kernel_shape": [4], "strides": [2], "pads": [1, 2]}),
        Case("AveragePool", [x(*vol)], {"kernel_shape": [2, 3, 3], "strides": [1, 2, 2]}),
        Case("AveragePool", [x(*img)], {"kernel_shape": [3, 3], "strides": [2, 2]}, dtype=np.float16),
        Case("LpPool", [x(*img)], {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "p": 2}),
        Case("LpPool", [x(*img)], {"kernel_shape": [2, 2], "p": 3}),
        Case("GlobalAveragePool", [x(*img)]),
        Case("GlobalAveragePool", [x(*vol)]),
        Case("GlobalMaxPool", [x(*img)]),
        Case("GlobalLpPool", [x(*img)], ref=R.global_lp_pool),
        Case("GlobalLpPool", [x(*img)], {"p": 3}, ref=R.global_lp_pool),
        Case("MaxUnpool", [x(*half), x(*half, gen=unpool_indices, dtype=np.int64)],
             {"kernel_shape": [2, 2], "strides": [2, 2]}),
        Case("MaxUnpool", [x(*half), x(*half, gen=unpool_indices, dtype=np.int64),
                           c([n, ch, 2 * half[2] + 1, 2 * half[3] + 1])], {"kernel_shape": [2, 2], "strides": [2, 2]}),
        Case("MaxRoiPool", [x(n, ch, 20, 24), x(5, 5, gen=boxes(40, 48, batch=n))],
             {"pooled_shape": [3, 4], "spatial_scale": 0.5}, ref=R.max_roi_pool),
        Case("Col2Im", [x(n, ch * 6, ((h - 3) // 2 + 1) * ((w + 2 - 2) // 1 + 1)), c([h, w]), c([3, 2])],
             {"strides": [2, 1], "pads": [0, 1, 0, 1]}),
        Case("Col2Im", [x(n, ch * 9, (h - 4) * (w - 4)), c([h, w]), c([3, 3])], {"dilations": [2, 2]}),
    ]


def linalg(s):
    m, k, p = s.m, s.k, s.p
    return [
        Case("MatMul", [x(3, m, k), x(k, p)]),
        Case("MatMul", [x(2, 3, m, k), x(3, k, p)]),
        Case("MatMul", [x(4, 1, m, k), x(5, k, p)]),
        Case("MatMul", [x(k), x(3, k, p)]),
        Case("MatMul", [x(3, m, k), x(k)]),
        Case("MatMul", [x(k), x(k)]),
        Case("MatMul", [x(m, 1), x(1, p)]),
        Case("MatMul", [x(1, k), x(k, 129)]),
        Case("MatMul", [x(7, 129), x(129, 3)]),
        Case("MatMul", [x(2, 1, m, k, gen=ints(-100, 100), dtype=np.int32),
                        x(3, k, p, gen=ints(-100, 100), dtype=np.int32)]),
        Case("MatMul", [x(8, s.long // 8), x(s.long // 8, 8)], tol=1e-4, why=long_sum(s.long // 8)),
        Case("MatMul", [x(3, m, k), x(k, p)], dtype=np.float16),
        Case("MatMul", [x(2, 3, m, k), x(3, k, p)], dtype=np.float64),
        Case("Gemm", [x(m, k), x(k, p), x(p)], {"alpha": 0.7, "beta": 1.3}),
        Case("Gemm", [x(k, m), x(p, k), x(m, 1)], {"transA": 1, "transB": 1}),
        Case("Gemm", [x(m, k), x(p, k)], {"transB": 1}),
        Case("Gemm", [x(m, k), x(k, p), x()], {"beta": 0.5}),
        Case("Gemm", [x(k, m), x(k, p), x(m, p)], {"transA": 1, "alpha": -1.5}),
        Case("Gemm", [x(m, k), x(k, p), x(p)], dtype=np.float64),
        Case("MatMulInteger", [x(3, m, k, gen=ints(0, 256), dtype=np.uint8), x(k, p, gen=ints(0, 256), dtype=np.uint8),
                               c(113, np.uint8), c(140, np.uint8)]),
        Case("MatMulInteger", [x(m, k, gen=ints(-128, 128), dtype=np.int8),
                               x(k, p, gen=ints(-128, 128), dtype=np.int8)]),
        Case("QLinearMatMul", [x(m, k, gen=ints(0, 256), dtype=np.uint8), c(0.02, np.float32), c(128, np.uint8),
                               x(k, p, gen=ints(0, 256), dtype=np.uint8), c(0.015, np.float32), c(125, np.uint8),
                               c(1.5, np.float32), c(130, np.uint8)]),
        Case("Einsum", [x(3, m, k), x(3, k, p)], {"equation": "bij,bjk->bik"}),
        Case("Einsum", [x(m, k)], {"equation": "ij->ji"}),
        Case("Einsum", [x(3, m, m)], {"equation": "bii->bi"}),
        Case("Einsum", [x(m, m)], {"equation": "ii->"}),
        Case("Einsum", [x(m, k), x(m, k)], {"equation": "ij,ij->ij"}),
        Case("Einsum", [x(m), x(p)], {"equation": "i,j->ij"}),
        Case("Einsum", [x(2, 3, m, 16), x(2, 3, p, 16)], {"equation": "bhqd,bhkd->bhqk"}),
        Case("Einsum", [x(m, k, 3)], {"equation": "ijk->j"}),
        Case("Einsum", [x(m, k), x(k)], {"equation": "ij,j->i"}),
        Case("Einsum", [x(2, 3, m, k), x(2, 3, k, p)], {"equation": "...ij,...jk->...ik"}),
        Case("Einsum", [x(2, m), x(5, m, p), x(2, p)], {"equation": "bn,anm,bm->ba"}),
        Case("Softmax", [x(s.n, s.c, s.h, s.w, gen=normal(3))], {"axis": -1}),
        Case("Softmax", [x(s.n, s.c, s.h, s.w, gen=normal(3))], {"axis": 1}),
        Case("Softmax", [x(s.n, s.c, s.h, s.w, gen=normal(3))], {"axis": 0}),
        Case("Softmax", [x(s.n, s.c, s.h, s.w, gen=normal(3))], {"axis": 1}, opset=11, ref=R.softmax_2d),
        Case("Softmax", [x(s.n, s.m, s.k, gen=normal(50))], {"axis": -1}),
        Case("Softmax", [x(s.n, s.m, s.k, gen=normal(3))], dtype=np.float16),
        Case("Softmax", [x(s.n, s.m, s.k, gen=normal(3))], dtype=np.float64),
        Case("LogSoftmax", [x(s.n, s.c, s.h, s.w, gen=normal(3))], {"axis": -1}),
        Case("LogSoftmax", [x(s.n, s.c, s.h, s.w, gen=normal(3))], {"axis": 2}),
        Case("LogSoftmax", [x(s.n, s.c, s.h, s.w, gen=normal(3))], {"axis": 2}, opset=11, ref=R.log_softmax_2d),
        Case("Hardmax", [x(s.n, s.m, s.k)], {"axis": -1}),
        Case("Hardmax", [x(s.n, s.c, s.h, s.w)], {"axis": 1}, opset=11, ref=R.hardmax_2d),
        Case("Det", [x(3, 5, 5, gen=well_conditioned)]),
        Case("Det", [x(7, 7, gen=well_conditioned)]),
        Case("Det", [x(2, 3, 4, 4, gen=well_conditioned)], dtype=np.float64),
    ]


def norm_attention(s):
    n, ch, h, w = s.n, s.c, s.h, s.w
    img = (n, ch, h, w)
    b, sq, heads, hd = s.n, s.s, 4, 16
    return [
        Case("BatchNormalization", [x(*img), x(ch), x(ch), x(ch), x(ch, gen=uniform(0.5, 2))], {"epsilon": 1e-3}),
        Case("BatchNormalization", [x(s.m, ch), x(ch), x(ch), x(ch), x(ch, gen=uniform(0.5, 2))]),
        Case("BatchNormalization", [x(n, ch, s.l), x(ch), x(ch), x(ch), x(ch, gen=uniform(0.5, 2))],
             dtype=np.float16),
        Case("BatchNormalization", [x(*img), x(ch), x(ch), x(ch), x(ch, gen=uniform(0.5, 2))],
             {"training_mode": 1, "momentum": 0.8}, outputs=3),
        Case("LayerNormalization", [x(n, sq, 64), x(64), x(64)]),
        Case("LayerNormalization", [x(*img), x(ch, h, w)], {"axis": 1, "epsilon": 1e-3}, outputs=3),
        Case("LayerNormalization", [x(n, sq, 64), x(64), x(64)], dtype=np.float16),
        Case("LayerNormalization", [x(n, sq, 64), x(64), x(64)], dtype=np.float64),
        Case("LayerNormalization", [x(n, sq, 64, gen=offset(100)), x(64), x(64)], tol=1e-4, why=OFFSET_NORM),
        Case("InstanceNormalization", [x(*img), x(ch), x(ch)]),
        Case("InstanceNormalization", [x(*img, gen=offset(100)), x(ch), x(ch)], tol=1e-4, why=OFFSET_NORM),
        Case("InstanceNormalization", [x(n, ch, s.l), x(ch), x(ch)], {"epsilon": 1e-2}),
        Case("GroupNormalization", [x(*img), x(ch), x(ch)], {"num_groups": 4}, ref=R.group_normalization),
        Case("GroupNormalization", [x(*img), x(ch), x(ch)], {"num_groups": 1, "epsilon": 1e-3},
             ref=R.group_normalization),
        Case("GroupNormalization", [x(n, ch, s.l), x(ch), x(ch)], {"num_groups": ch}, ref=R.group_normalization),
        Case("GroupNormalization", [x(*img, gen=offset(100)), x(ch), x(ch)], {"num_groups": 2},
             ref=R.group_normalization, tol=1e-4, why=OFFSET_NORM),
        Case("GroupNormalization", [x(*img), x(2), x(2)], {"num_groups": 2}, opset=18, ref=R.group_normalization),
        Case("RMSNormalization", [x(n, sq, 64), x(64)]),
        Case("RMSNormalization", [x(*img), x(h, w)], {"axis": 2, "epsilon": 1e-3}),
        Case("LpNormalization", [x(*img)], {"axis": 1, "p": 2}, ref=R.lp_normalization),
        Case("LpNormalization", [x(*img)], {"axis": -1, "p": 1}, ref=R.lp_normalization),
        Case("LRN", [x(*img)], {"size": 5, "alpha": 1e-2, "beta": 0.75, "bias": 1.5}, ref=R.lrn),
        Case("LRN", [x(*img)], {"size": 2}, ref=R.lrn),
        Case("MeanVarianceNormalization", [x(*img)], ref=R.mean_variance_normalization),
        Case("MeanVarianceNormalization", [x(*img)], {"axes": [1, 3]}, ref=R.mean_variance_normalization),
        Case("MeanVarianceNormalization", [x(*img, gen=offset(100))], ref=R.mean_variance_normalization, tol=1e-4,
             why=OFFSET_NORM),
        Case("SwiGLU", [x(n, sq, 64, gen=normal(3)), x(n, sq, 64)]),
        Case("SwiGLU", [x(n, sq, 64, gen=normal(3)), x(n, sq, 64)], {"alpha": 1.702}),
        Case("Attention", [x(b, heads, sq, hd), x(b, heads, sq + 3, hd), x(b, heads, sq + 3, 24)]),
        Case("Attention", [x(b, heads, sq, hd), x(b, heads, sq, hd), x(b, heads, sq, hd)], {"is_causal": 1}),
        Case("Attention", [x(b, heads, sq, hd), x(b, 2, sq, hd), x(b, 2, sq, hd)]),
        Case("Attention", [x(b, sq, heads * hd), x(b, sq + 2, 2 * hd), x(b, sq + 2, 2 * 8)],
             {"q_num_heads": heads, "kv_num_heads": 2}),
        Case("Attention", [x(b, heads, sq, hd), x(b, heads, sq, hd), x(b, heads, sq, hd), x(sq, sq)],
             {"scale": 0.1}),
        Case("Attention", [x(b, heads, sq, hd), x(b, heads, sq, hd), x(b, heads, sq, hd),
                           x(b, 1, sq, sq, gen=key_mask, dtype=np.bool_)], {"softcap": 2.0}),
        Case("Attention", [x(b, heads, sq, hd), x(b, heads, 3, hd), x(b, heads, 3, hd), None,
                           x(b, heads, 5, hd), x(b, heads, 5, hd)], {"is_causal": 1}, outputs=3),
        Case("Attention", [x(b, heads, sq, hd), x(b, heads, sq, hd), x(b, heads, sq, hd)],
             {"qk_matmul_output_mode": 3}, outputs=(0, 3)),
        Case("Attention", [x(b, heads, sq, hd), x(b, heads, sq, hd), x(b, heads, sq, hd)], {"is_causal": 1},
             dtype=np.float16),
        Case("Attention", [x(b, heads, sq, hd), x(b, heads, sq + 3, hd), x(b, heads, sq + 3, hd), x(sq, sq + 3)],
             {"is_causal": 1}),
        Case("Attention", [x(b, heads, sq, hd), x(b, heads, sq + 3, hd), x(b, heads, sq + 3, hd), None, None, None,
                           x(b, gen=ints(sq, sq + 4), dtype=np.int64)], {"is_causal": 1}),
        Case("Attention", [x(b, heads, sq, hd), x(b, heads, sq, hd), x(b, heads, sq, hd)],
             {"is_causal": 1, "left_window_size": 3}),
        Case("RotaryEmbedding", [x(b, heads, sq, hd), x(sq + 4, hd // 2), x(sq + 4, hd // 2),
                                 x(b, sq, gen=ints(0, sq + 4), dtype=np.int64)]),
        Case("RotaryEmbedding", [x(b, sq, heads * hd), x(b, sq, hd // 2), x(b, sq, hd // 2)],
             {"interleaved": 1, "num_heads": heads}),
        Case("RotaryEmbedding", [x(b, heads, sq, hd), x(sq, hd // 4), x(sq, hd // 4),
                                 x(b, sq, gen=ints(0, sq), dtype=np.int64)], {"rotary_embedding_dim": hd // 2}),
        Case("LinearAttention", [x(b, sq, heads * hd), x(b, sq, heads * hd), x(b, sq, heads * 8)],
             {"q_num_heads": heads, "kv_num_heads": heads, "update_rule": "linear"}, outputs=2,
             ref=R.linear_attention),
        Case("LinearAttention", [x(b, sq, heads * hd), x(b, sq, 2 * hd), x(b, sq, 2 * 8), x(b, 2, hd, 8),
                                 x(b, sq, 2, gen=uniform(-0.5, -0.01))],
             {"q_num_heads": heads, "kv_num_heads": 2, "update_rule": "gated"}, outputs=2, ref=R.linear_attention),
        Case("LinearAttention", [x(b, sq, heads * hd, gen=normal(0.25)), x(b, sq, heads * hd, gen=normal(0.25)),
                                 x(b, sq, heads * 8), None, x(b, sq, heads * hd, gen=uniform(-0.5, -0.01)),
                                 x(b, sq, heads, gen=uniform(0.1, 0.9))],
             {"q_num_heads": heads, "kv_num_heads": heads, "update_rule": "gated_delta", "scale": 0.3}, outputs=2,
             ref=R.linear_attention),
        Case("LinearAttention", [x(b, sq, heads * hd, gen=normal(0.25)), x(b, sq, heads * hd, gen=normal(0.25)),
                                 x(b, sq, heads * 8), None, None, x(b, sq, 1, gen=uniform(0.1, 0.9))],
             {"q_num_heads": heads, "kv_num_heads": heads, "update_rule": "delta"}, outputs=2,
             ref=R.linear_attention),
        Case("CausalConvWithState", [x(n, ch, s.l), x(ch, 1, 4), x(ch)], outputs=2, ref=R.causal_conv_with_state),
        Case("CausalConvWithState", [x(n, ch, s.l), x(ch, 1, 3), None, x(n, ch, 2)], {"activation": "silu"},
             outputs=2, ref=R.causal_conv_with_state),
    ]


def reduce(s):
    img = (s.n, s.c, s.h, s.w)
    gens = {"ReduceProd": log_uniform(0.2), "ReduceLogSum": uniform(0.1, 2), "ReduceLogSumExp": normal(3)}
    cases = []
    for op in ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
               "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]:
        g = gens.get(op, normal())
        cases += [
            Case(op, [x(*img, gen=g), c([1])]),
            Case(op, [x(*img, gen=g), c([0, -1])], {"keepdims": 0}),
            Case(op, [x(*img, gen=g)], {"keepdims": 0}),
        ]
    cases += [
        Case("ReduceSum", [x(4, s.long), c([1])], tol=1e-4, why=long_sum(s.long)),
        Case("ReduceMean", [x(s.long, 3), c([0])], {"keepdims": 0}, tol=1e-4, why=long_sum(s.long)),
        Case("ReduceSumSquare", [x(2, s.long)], tol=1e-4, why=long_sum(s.long)),
        Case("ReduceSum", [x(*img), c([], np.int64)], {"noop_with_empty_axes": 1}),
        Case("ReduceSum", [x(*img), c([2, 3])], opset=13),
        Case("ReduceMean", [x(*img)], {"axes": [1, 2]}, opset=13),
        Case("ReduceMax", [x(*img)], {"axes": [-1], "keepdims": 0}, opset=13),
        Case("ReduceSum", [x(*img, gen=ints(-2**40, 2**40), dtype=np.int64), c([1, 3])]),
        Case("ReduceSum", [x(*img, gen=near(2**54), dtype=np.int64), c([1])]),
        Case("ReduceMax", [x(*img, gen=near(2**60), dtype=np.int64), c([3])]),
        Case("ArgMax", [x(*img, gen=near(2**60, 1000), dtype=np.int64)], {"axis": 3}),
        Case("CumSum", [x(*img, gen=near(2**55), dtype=np.int64), c(1)]),
        Case("ReduceMax", [x(*img, gen=ints(-1000, 1000), dtype=np.int32), c([2])]),
        Case("ReduceMin", [x(*img, gen=ints(0, 256), dtype=np.uint8), c([0])]),
        Case("ReduceProd", [x(*img, gen=away(1, 3), dtype=np.int32), c([1])]),
        Case("ReduceMean", [x(*img), c([1])], dtype=np.float16),
        Case("ReduceSum", [x(*img), c([2, 3])], dtype=np.float64),
        # arg reductions, selection, scans
        Case("ArgMax", [x(*img)], {"axis": 1}),
        Case("ArgMax", [x(*img)], {"axis": -1, "keepdims": 0}),
        Case("ArgMax", [x(*img, gen=steps(0, 2, 1))], {"axis": 2, "select_last_index": 1}),
        Case("ArgMin", [x(*img, gen=steps(0, 2, 1))], {"axis": 3}),
        Case("ArgMin", [x(*img, gen=ints(-5, 5), dtype=np.int32)], {"axis": 0, "select_last_index": 1}),
        Case("TopK", [x(*img), c([5])], {"axis": -1}, outputs=2),
        Case("TopK", [x(*img), c([3])], {"axis": 1, "largest": 0}, outputs=2),
        Case("TopK", [x(*img), c([s.h])], {"axis": 2}, outputs=2),
        Case("TopK", [x(s.n, s.long // 8), c([10])], outputs=2),
        Case("TopK", [x(*img, gen=ints(-100, 100), dtype=np.int64), c([4])], outputs=2),
        Case("TopK", [x(*img, gen=steps(-2, 2, 0.5)), c([6])], {"axis": 3}, outputs=2),
        Case("TopK", [x(*img, gen=steps(-2, 2, 0.5)), c([3])], {"axis": 1, "largest": 0}, outputs=2),
        Case("ReduceL2", [x(*img), c([1, 2])], dtype=np.float64),
        Case("ArgMax", [x(*img)], {"axis": 1}, dtype=np.float16),
        Case("CumSum", [x(*img), c(1)]),
        Case("CumSum", [x(*img), c(-1, np.int32)], {"exclusive": 1}),
        Case("CumSum", [x(*img), c(2)], {"reverse": 1}),
        Case("CumSum", [x(*img), c(3)], {"reverse": 1, "exclusive": 1}),
        Case("CumSum", [x(*img, gen=ints(-1000, 1000), dtype=np.int32), c(0)]),
        Case("CumSum", [x(2, s.long), c(1)], tol=1e-4, why=long_sum(s.long)),
        Case("CumProd", [x(*img, gen=log_uniform(0.2)), c(3)]),
        Case("CumProd", [x(*img, gen=log_uniform(0.2)), c(1)], {"exclusive": 1, "reverse": 1}),
        # losses
        Case("SoftmaxCrossEntropyLoss", [x(s.m, 10, gen=normal(2)), x(s.m, gen=ints(0, 10), dtype=np.int64)]),
        Case("SoftmaxCrossEntropyLoss", [x(s.n, 10, s.l, gen=normal(2)), x(s.n, s.l, gen=ints(0, 10), dtype=np.int64),
                                         x(10, gen=uniform(0.2, 1.5))], {"reduction": "sum"}, outputs=2),
        Case("SoftmaxCrossEntropyLoss", [x(s.n, 10, s.l, gen=normal(2)), x(s.n, s.l, gen=ints(0, 10), dtype=np.int64)],
             {"reduction": "none", "ignore_index": 2}),
        Case("SoftmaxCrossEntropyLoss", [x(s.n, 10, s.l, gen=normal(2)), x(s.n, s.l, gen=ints(0, 10), dtype=np.int64),
                                         x(10, gen=uniform(0.2, 1.5))], {"ignore_index": 3}),
        Case("NegativeLogLikelihoodLoss", [x(s.m, 10), x(s.m, gen=ints(0, 10), dtype=np.int64)]),
        Case("NegativeLogLikelihoodLoss", [x(s.n, 10, s.l), x(s.n, s.l, gen=ints(0, 10), dtype=np.int64),
                                           x(10, gen=uniform(0.2, 1.5))], {"reduction": "sum", "ignore_index": 1}),
        Case("NegativeLogLikelihoodLoss", [x(s.n, 10, s.l), x(s.n, s.l, gen=ints(0, 10), dtype=np.int64),
                                           x(10, gen=uniform(0.2, 1.5))], {"reduction": "none"}),
    ]
    return cases


def resize_sample(s):
    n, ch, h, w = s.n, s.c, s.h, s.w
    img = (n, ch, h, w)
    up = scales([1, 1, 2.0, 2.0])
    frac = scales([1, 1, 1.7, 0.6])
    down = scales([1, 1, 0.5, 0.4])
    none = scales([])
    sizes = c([n, ch, h + 6, 2 * w - 3])
    grid = x(n, 9, 11, 2, gen=uniform(-1.2, 1.2))
    wide_grid = x(n, 9, 11, 2, gen=uniform(-2.5, 2.5))
    return [
        Case("Resize", [x(*img), None, up], {"mode": "nearest", "coordinate_transformation_mode": "asymmetric"},
             tol=EXACT),
        Case("Resize", [x(*img), None, None, sizes], {"mode": "nearest", "nearest_mode": "round_prefer_ceil"},
             tol=EXACT),
        Case("Resize", [x(*img), None, frac], {"mode": "nearest", "nearest_mode": "floor",
                                               "coordinate_transformation_mode": "align_corners"}, tol=EXACT),
        Case("Resize", [x(*img), None, up], {"mode": "nearest", "nearest_mode": "ceil"}, tol=EXACT),
        Case("Resize", [x(*img), None, scales([1, 1, 0.5, 0.5])], {"mode": "nearest"}, tol=EXACT),
        Case("Resize", [x(*img, gen=ints(0, 256), dtype=np.uint8), None, frac], {"mode": "nearest"}),
        Case("Resize", [x(*img), None, frac], {"mode": "cubic"}, dtype=np.float64),
        Case("GridSample", [x(*img), x(n, 9, 11, 2, gen=uniform(-1.2, 1.2))], {"mode": "cubic"}, dtype=np.float64,
             ref=R.grid_sample),
        Case("Resize", [x(*img), None, frac], {"mode": "linear"}),
        Case("Resize", [x(*img), None, None, sizes], {"mode": "linear",
                                                      "coordinate_transformation_mode": "align_corners"}),
        Case("Resize", [x(*img), None, down], {"mode": "linear", "coordinate_transformation_mode": "asymmetric"}),
        Case("Resize", [x(*img), None, frac], {"mode": "linear",
                                               "coordinate_transformation_mode": "pytorch_half_pixel"}),
        Case("Resize", [x(*img), None, frac], {"mode": "linear",
                                               "coordinate_transformation_mode": "half_pixel_symmetric"}),
        Case("Resize", [x(*img), None, down], {"mode": "linear", "antialias": 1}),
        Case("Resize", [x(*img), None, frac], {"mode": "cubic"}),
        Case("Resize", [x(*img), None, None, sizes], {"mode": "cubic", "cubic_coeff_a": -0.5, "exclude_outside": 1,
                                                      "coordinate_transformation_mode": "asymmetric"}),
        Case("Resize", [x(*img), None, down], {"mode": "cubic", "antialias": 1}),
        Case("Resize", [x(*img), scales([0, 0, 0.2, 0.1, 1, 1, 0.9, 1.1]), up],
             {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize", "extrapolation_value": 0.5}),
        Case("Resize", [x(*img), None, None, c([h + 9, w + 2])],
             {"mode": "linear", "axes": [2, 3], "keep_aspect_ratio_policy": "not_larger"}),
        Case("Resize", [x(n, 3, s.d, 6, 7), None, scales([1, 1, 1.5, 2.0, 0.6])], {"mode": "linear"}),
        Case("Resize", [x(n, ch, s.l), None, scales([1, 1, 2.5])], {"mode": "cubic"}),
        Case("Resize", [x(*img), none, frac], {"mode": "linear"}, opset=11),
        Case("Resize", [x(*img), None, frac], {"mode": "linear"}, dtype=np.float16),
        Case("Upsample", [x(*img), c([1, 1, 2, 3], np.float32)], {"mode": "nearest"}, opset=9, tol=EXACT),
        Case("Upsample", [x(*img), c([1, 1, 2, 1.5], np.float32)], {"mode": "linear"}, opset=9, ref=R.upsample_linear),
        Case("GridSample", [x(*img), grid], {}, ref=R.grid_sample),
        Case("GridSample", [x(*img), grid], {"padding_mode": "border", "align_corners": 1}, ref=R.grid_sample),
        Case("GridSample", [x(*img), wide_grid], {"padding_mode": "reflection"}, ref=R.grid_sample),
        Case("GridSample", [x(*img), grid], {"mode": "nearest"}, ref=R.grid_sample),
        Case("GridSample", [x(*img), wide_grid], {"mode": "nearest", "padding_mode": "reflection", "align_corners": 1},
             ref=R.grid_sample),
        Case("GridSample", [x(*img), grid], {"mode": "cubic"}, ref=R.grid_sample),
        Case("GridSample", [x(*img), grid], {"mode": "cubic", "padding_mode": "border"}, ref=R.grid_sample),
        Case("GridSample", [x(*img), wide_grid], {"mode": "cubic", "padding_mode": "reflection", "align_corners": 1},
             ref=R.grid_sample),
        Case("GridSample", [x(*img), grid], {"mode": "bilinear"}, opset=16, ref=R.grid_sample),
        Case("GridSample", [x(n, 3, s.d, 7, 8), x(n, 4, 5, 6, 3, gen=uniform(-1.2, 1.2))], ref=R.grid_sample),
        Case("GridSample", [x(*img), grid], dtype=np.float16, ref=R.grid_sample),
        Case("AffineGrid", [x(n, 2, 3), c([n, ch, h, w])], ref=R.affine_grid),
        Case("AffineGrid", [x(n, 2, 3), c([n, ch, h, w])], {"align_corners": 1}, ref=R.affine_grid),
        Case("AffineGrid", [x(n, 3, 4), c([n, ch, s.d, 7, 8])], ref=R.affine_grid),
        Case("RoiAlign", [x(*img), x(6, 4, gen=boxes(h, w)), x(6, gen=ints(0, n), dtype=np.int64)],
             {"output_height": 3, "output_width": 4, "sampling_ratio": 2}),
        Case("RoiAlign", [x(*img), x(6, 4, gen=boxes(2 * h, 2 * w)), x(6, gen=ints(0, n), dtype=np.int64)],
             {"output_height": 4, "output_width": 4, "spatial_scale": 0.5,
              "coordinate_transformation_mode": "output_half_pixel"}),
        Case("RoiAlign", [x(*img), x(6, 4, gen=boxes(h, w)), x(6, gen=ints(0, n), dtype=np.int64)],
             {"output_height": 2, "output_width": 3, "mode": "max", "sampling_ratio": 2}),
        Case("NonMaxSuppression", [x(n, 40, 4, gen=uniform(0, 1)), x(n, 3, 40, gen=uniform(0, 1)), c([10]),
                                   c([0.5], np.float32), c([0.3], np.float32)]),
        Case("NonMaxSuppression", [x(1, 40, 4, gen=uniform(0.2, 1)), x(1, 2, 40, gen=uniform(0, 1)), c([40]),
                                   c([0.3], np.float32)], {"center_point_box": 1}),
        # signal processing
        Case("DFT", [x(n, s.l, 1), None, c(1)]),
        Case("DFT", [x(n, s.l, 2), None, c(1)], {"inverse": 1}),
        Case("DFT", [x(n, s.l, 1), c(s.l + 5), c(1)], {"onesided": 1}),
        Case("DFT", [x(n, 5, s.l, 2), c(16), c(-2)]),
        Case("DFT", [x(n, s.l, 2)], {"axis": 1}, opset=17),
        Case("STFT", [x(n, 128, 1), c(16), x(32, gen=hann)]),
        Case("STFT", [x(n, 128, 1), c(8), None, c(24)], {"onesided": 0}),
        Case("HannWindow", [c(32)]),
        Case("HammingWindow", [c(33)], {"periodic": 0}),
        Case("BlackmanWindow", [c(40)]),
        Case("MelWeightMatrix", [c(8), c(64), c(16000), c(20.0, np.float32), c(8000.0, np.float32)]),
    ]


def tensor(s):
    n, ch, h, w = s.n, s.c, s.h, s.w
    img = (n, ch, h, w)
    even = (n, ch, 10, 12)
    big = 2**62
    return [
        Case("Transpose", [x(*img)], {"perm": [0, 2, 3, 1]}),
        # NCHW -> NHWC of a 3-channel image: few columns, in runs of rows (one partial)
        Case("Transpose", [x(2, 3, 48, 40)], {"perm": [0, 2, 3, 1]}),
        Case("Transpose", [x(*img)]),
        Case("Transpose", [x(2, 3, 4, 5, 6)], {"perm": [4, 2, 0, 3, 1]}),
        Case("Transpose", [x(s.m, s.k, gen=ints(-big, big), dtype=np.int64)], {"perm": [1, 0]}),
        Case("Transpose", [x(*img)], {"perm": [3, 1, 0, 2]}, dtype=np.float16),
        Case("Transpose", [x(*img, gen=ints(0, 256), dtype=np.uint8)], {"perm": [0, 3, 1, 2]}),
        Case("Transpose", [x(*img, gen=booleans, dtype=np.bool_)], {"perm": [2, 0, 3, 1]}),
        Case("Gather", [x(*img), x(5, gen=ints(-n, n), dtype=np.int64)]),
        Case("Gather", [x(*img), x(3, 4, gen=ints(-ch, ch), dtype=np.int64)], {"axis": 1}),
        Case("Gather", [x(*img), c(-2)], {"axis": -1}),
        Case("Gather", [x(*img), x(4, gen=ints(-h, h), dtype=np.int32)], {"axis": 2}, dtype=np.float16),
        Case("Gather", [x(s.k, 64, gen=ints(-big, big), dtype=np.int64), x(n, s.s, gen=ints(0, s.k), dtype=np.int32)]),
        Case("GatherElements", [x(*img), x(n, 3, h, w, gen=ints(-ch, ch), dtype=np.int64)], {"axis": 1}),
        Case("GatherElements", [x(*img), x(n, ch, h, 7, gen=ints(0, w), dtype=np.int32)], {"axis": -1},
             ref=R.gather_elements),
        Case("GatherND", [x(*img), x(4, 2, gen=unique_rows(n, ch), dtype=np.int64)]),
        Case("GatherND", [x(*img), x(n, 3, 2, gen=ints(0, ch), dtype=np.int64)], {"batch_dims": 1}),
        Case("Slice", [x(*img), c([1, 2]), c([6, -3]), c([1, 3])]),
        Case("Slice", [x(*img), c([-1, 100]), c([-100, 0]), c([2, 3]), c([-1, -3])]),
        Case("Slice", [x(*img), c([0, 1]), c([2**63 - 1, 7]), c([1, 2]), c([3, 2])]),
        Case("Concat", [x(n, 3, h, w), x(*img), x(n, 1, h, w)], {"axis": 1}),
        Case("Concat", [x(*img), x(n, ch, h, 4)], {"axis": -1}),
        Case("Concat", [x(*img, gen=booleans, dtype=np.bool_), x(n, ch, 3, w, gen=booleans, dtype=np.bool_)],
             {"axis": 2}),
        Case("Concat", [x(2, s.k, dtype=np.int64, gen=ints(-big, big)), x(5, s.k, dtype=np.int64, gen=ints(-big, big))],
             {"axis": 0}),
        Case("Split", [x(*img), c([2, ch - 2])], {"axis": 1}, outputs=2),
        Case("Split", [x(*img)], {"axis": -1, "num_outputs": 3}, outputs=3),
        Case("Split", [x(*img)], {"axis": 1}, opset=13, outputs=4),
        Case("Pad", [x(*img), c([0, 1, 2, 3, 0, 2, 1, 0]), c(1.5, FLOAT)]),
        Case("Pad", [x(*img), c([0, 0, 2, 3, 0, 0, 3, 1])], {"mode": "reflect"}),
        Case("Pad", [x(*img), c([0, 0, 4, 0, 0, 0, 1, 5])], {"mode": "edge"}),
        Case("Pad", [x(*img), c([0, 0, 3, 2, 0, 0, 1, 4])], {"mode": "wrap"}),
        Case("Pad", [x(*img, gen=ints(-128, 128), dtype=np.int8), c([0, 1, 2, 3, 0, 0, 3, 1])], {"mode": "reflect"}),
        Case("Pad", [x(*img), c([1, 0, 2, 3, 0, 2, 1, 0]), c(-2.5, FLOAT)], dtype=np.float64),
        Case("Pad", [x(*img), c([-1, 2, -3, 1]), None, c([2, 3])], ref=R.pad),
        Case("Expand", [x(ch, 1, 1), c(list(img))]),
        Case("Expand", [x(1, w), c([h, 1])]),
        Case("Tile", [x(*img), c([2, 1, 3, 1])]),
        Case("Tile", [x(h, w, gen=ints(-big, big), dtype=np.int64), c([3, 2])]),
        Case("Expand", [x(ch, 1, 1, gen=ints(0, 65536), dtype=np.uint16), c([n, 1, h, w])]),
        Case("Slice", [x(*img, gen=ints(-2**15, 2**15), dtype=np.int16), c([1, -2]), c([-1, 0]), c([1, 3]),
                       c([2, -3])]),
        Case("Split", [x(*img, gen=ints(-128, 128), dtype=np.int8), c([2, w - 4, 2])], {"axis": 3}, outputs=3),
        Case("DepthToSpace", [x(*even)], {"blocksize": 2, "mode": "CRD"}, dtype=np.float64),
        Case("Reshape", [x(*img), c([n, -1, w])]),
        Case("Reshape", [x(*img), c([0, 0, -1])]),
        Case("Flatten", [x(*img)], {"axis": 2}),
        Case("Flatten", [x(*img)], {"axis": 0}),
        Case("Squeeze", [x(n, 1, h, 1), c([1, -1])]),
        Case("Unsqueeze", [x(*img), c([0, 5])]),
        Case("DepthToSpace", [x(*even)], {"blocksize": 2}),
        Case("DepthToSpace", [x(*even)], {"blocksize": 2, "mode": "CRD"}),
        Case("SpaceToDepth", [x(*even)], {"blocksize": 2}),
        Case("ReverseSequence", [x(s.s, 5, 6), x(5, gen=ints(1, s.s + 1), dtype=np.int64)],
             {"batch_axis": 1, "time_axis": 0}),
        Case("ReverseSequence", [x(4, s.s, 6), x(4, gen=ints(1, s.s + 1), dtype=np.int64)],
             {"batch_axis": 0, "time_axis": 1}),
        Case("Trilu", [x(n, h, w), c(1)]),
        Case("Trilu", [x(n, h, w), c(-2)], {"upper": 0}),
        Case("ScatterND", [x(*img), x(3, 2, gen=unique_rows(n, ch), dtype=np.int64), x(3, h, w)]),
        Case("ScatterND", [x(*img), x(5, 1, gen=ints(0, n), dtype=np.int64), x(5, ch, h, w)], {"reduction": "add"},
             tol=TOL[np.float32]),
        Case("ScatterND", [x(*img), x(5, 1, gen=ints(0, n), dtype=np.int64), x(5, ch, h, w)], {"reduction": "max"}),
        Case("ScatterND", [x(*img), x(5, 1, gen=ints(0, n), dtype=np.int64), x(5, ch, h, w, gen=uniform(0.5, 2))],
             {"reduction": "mul"}, tol=TOL[np.float32]),
        Case("ScatterElements", [x(*img), x(n, 3, h, w, gen=perm_along(1, ch), dtype=np.int64), x(n, 3, h, w)],
             {"axis": 1}),
        Case("ScatterElements", [x(*img), x(n, ch, h, 9, gen=ints(-w, w), dtype=np.int64), x(n, ch, h, 9)],
             {"axis": -1, "reduction": "add"}, tol=TOL[np.float32]),
        Case("ScatterElements", [x(*img), x(n, ch, 5, w, gen=ints(0, h), dtype=np.int64), x(n, ch, 5, w)],
             {"axis": 2, "reduction": "min"}),
        Case("Scatter", [x(*img), x(n, ch, h, 4, gen=perm_along(3, w), dtype=np.int64), x(n, ch, h, 4)],
             {"axis": 3}, opset=10, ref=R.scatter),
        Case("TensorScatter", [x(n, 4, 12, 8), x(n, 4, 3, 8), x(n, gen=ints(0, 10), dtype=np.int64)], {"axis": 2}),
        Case("TensorScatter", [x(n, 4, 12, 8), x(n, 4, 5, 8), x(n, gen=ints(0, 12), dtype=np.int64)],
             {"axis": -2, "mode": "circular"}),
        Case("OneHot", [x(n, 7, gen=ints(-10, 10), dtype=np.int64), c(10), c([-0.5, 2.0], FLOAT)]),
        Case("OneHot", [x(n, 7, gen=ints(0, 6), dtype=np.int32), c(6.0, np.float32), c([0, 1], np.int64)], {"axis": 1}),
        Case("Compress", [x(*img), x(ch, gen=booleans, dtype=np.bool_)], {"axis": 1}),
        Case("Compress", [x(h, w), x(h * w - 5, gen=booleans, dtype=np.bool_)]),
        Case("NonZero", [x(*img, gen=ints(0, 3), dtype=np.int32)]),
        Case("NonZero", [x(h, w, gen=steps(0, 2, 1))]),
        Case("Unique", [x(50, gen=ints(-10, 10), dtype=np.int64)], outputs=4),
        Case("Unique", [x(20, 3, gen=ints(0, 2), dtype=np.int64)], {"axis": 0}, outputs=4),
        Case("Unique", [x(h, w, gen=steps(-2, 2, 0.5))], {"sorted": 0}, outputs=4, ref=R.unique),
        Case("CenterCropPad", [x(h, w, ch), c([h - 4, w + 3])], {"axes": [0, 1]}),
        Case("CenterCropPad", [x(*img), c([n, 5, h + 2, w - 3])]),
        Case("Range", [c(-3.0, FLOAT), c(7.5, FLOAT), c(0.37, FLOAT)], tol=TOL[np.float32]),
        Case("Range", [c(10), c(-40), c(-3)]),
        Case("EyeLike", [x(h, w)], {"k": 2}),
        Case("EyeLike", [x(h, w)], {"k": -3, "dtype": TensorProto.INT32}),
        Case("ConstantOfShape", [c([2, 3, 4])], {"value": np.array([3.5], np.float32)}),
        Case("Shape", [x(*img)], {"start": 1, "end": -1}),
        Case("Size", [x(*img)]),
        Case("Dropout", [x(*img)], outputs=2),
        Case("CastLike", [x(*img, gen=normal(100)), c([0], np.int32)]),
        Case("BitCast", [x(*img)], {"to": TensorProto.INT32}, ref=R.bitcast_float32),
    ]


def cast_quant(s):
    img = (s.n, s.c, s.h, s.w)
    cases = [
        Case("Cast", [x(*img, gen=normal(100))], {"to": TensorProto.FLOAT16}),
        Case("Cast", [x(*img, gen=normal(1e-5))], {"to": TensorProto.FLOAT16}),
        Case("Cast", [x(*img, gen=normal(1e5))], {"to": TensorProto.FLOAT16}),
        Case("Cast", [x(*img, gen=midpoints(np.float16))], {"to": TensorProto.FLOAT16}),
        Case("Cast", [x(*img, gen=midpoints(np.float16, 2.0**-40))], {"to": TensorProto.FLOAT16}, dtype=np.float64),
        Case("Cast", [x(*img, gen=midpoints(np.float32, 2.0**-40))], {"to": TensorProto.FLOAT}, dtype=np.float64),
        Case("Cast", [x(*img, gen=normal(1000))], {"to": TensorProto.INT32}),
        Case("Cast", [x(*img, gen=normal(1e6))], {"to": TensorProto.INT64}),
        Case("Cast", [x(*img, gen=uniform(0, 255.9))], {"to": TensorProto.UINT8}),
        Case("Cast", [x(*img, gen=uniform(-128.9, 127.9))], {"to": TensorProto.INT8}),
        Case("Cast", [x(*img, gen=steps(-2, 2, 1))], {"to": TensorProto.BOOL}),
        Case("Cast", [x(*img)], {"to": TensorProto.DOUBLE}),
        Case("Cast", [x(*img)], {"to": TensorProto.FLOAT}, dtype=np.float64),
        Case("Cast", [x(*img)], {"to": TensorProto.FLOAT}, dtype=np.float16),
        Case("Cast", [x(*img, gen=ints(-2**31, 2**31), dtype=np.int32)], {"to": TensorProto.FLOAT}),
        Case("Cast", [x(*img, gen=ints(-2**62, 2**62), dtype=np.int64)], {"to": TensorProto.FLOAT}),
        Case("Cast", [x(*img, gen=ints(-2**62, 2**62), dtype=np.int64)], {"to": TensorProto.INT32}),
        Case("Cast", [x(*img, gen=ints(-2**62, 2**62), dtype=np.int64)], {"to": TensorProto.DOUBLE}),
        Case("Cast", [x(*img, gen=ints(0, 2**64), dtype=np.uint64)], {"to": TensorProto.FLOAT}),
        Case("Cast", [x(*img, gen=normal(2**60))], {"to": TensorProto.INT64}, dtype=np.float64),
        Case("Cast", [x(*img, gen=ints(0, 256), dtype=np.uint8)], {"to": TensorProto.FLOAT16}),
        Case("Cast", [x(*img, gen=booleans, dtype=np.bool_)], {"to": TensorProto.FLOAT}),
        Case("QuantizeLinear", [x(*img), c(0.02, FLOAT), c(128, np.uint8)]),
        Case("QuantizeLinear", [x(*img, gen=normal(4)), c(0.02, FLOAT), c(-3, np.int8)]),
        Case("QuantizeLinear", [x(*img), c(np.linspace(0.01, 0.03, s.c), FLOAT), c(np.arange(s.c) - 4, np.int8)],
             {"axis": 1}),
        Case("QuantizeLinear", [x(*img), x(s.n, (s.c + 2) // 3, s.h, s.w, gen=uniform(0.01, 0.03)),
                                x(s.n, (s.c + 2) // 3, s.h, s.w, gen=ints(0, 256), dtype=np.uint8)],
             {"axis": 1, "block_size": 3}),
        Case("QuantizeLinear", [x(*img), c(0.001, FLOAT), c(-100, np.int16)]),
        Case("QuantizeLinear", [x(*img), c(0.001, FLOAT), c(30000, np.uint16)]),
        Case("QuantizeLinear", [x(*img), c(0.02, FLOAT)]),
        Case("QuantizeLinear", [x(*img, gen=steps(-20, 20, 0.25)), c(0.5, FLOAT), c(0, np.int8)]),
        Case("DequantizeLinear", [x(*img, gen=ints(0, 256), dtype=np.uint8), c(0.02, FLOAT), c(128, np.uint8)]),
        Case("DequantizeLinear", [x(*img, gen=ints(-128, 128), dtype=np.int8), c(np.linspace(0.01, 0.03, s.n), FLOAT),
                                  c(np.arange(s.n) - 1, np.int8)], {"axis": 0}),
        Case("DequantizeLinear", [x(*img, gen=ints(-2**31, 2**31), dtype=np.int32), c(1e-6, FLOAT)],
             ref=R.dequantize_int32),
        Case("DequantizeLinear", [x(*img, gen=ints(-2**15, 2**15), dtype=np.int16),
                                  x(s.n, s.c, s.h, (s.w + 3) // 4, gen=uniform(0.01, 0.03)),
                                  x(s.n, s.c, s.h, (s.w + 3) // 4, gen=ints(-100, 100), dtype=np.int16)],
             {"axis": 3, "block_size": 4}),
        Case("DequantizeLinear", [x(*img, gen=ints(0, 256), dtype=np.uint8), c(0.02, FLOAT), c(128, np.uint8)],
             dtype=np.float16),
        Case("DynamicQuantizeLinear", [x(*img)], outputs=3),
    ]
    for case in cases:
        if "Quantize" in case.op and case.op != "DequantizeLinear":
            case.ref_dtype = np.float32  # the spec divides by the scale in float32; float64 would move near-ties
    return cases


def recurrent(s):
    seq, batch, inp, hid = s.s, 3, 10, 12

    def weights(gates, dirs=1, hid=hid, batch_first=False):
        return [x(batch, seq, inp) if batch_first else x(seq, batch, inp), x(dirs, gates * hid, inp, gen=normal(0.3)),
                x(dirs, gates * hid, hid, gen=normal(0.3)), x(dirs, 2 * gates * hid, gen=normal(0.3))]

    lens = x(batch, gen=ints(1, seq + 1), dtype=np.int32)
    h0 = x(2, batch, hid)
    cases = [
        Case("RNN", weights(1), {"hidden_size": hid}, outputs=2),
        Case("RNN", weights(1, batch_first=True) + [None, x(batch, 1, hid)], {"hidden_size": hid, "layout": 1},
             outputs=2),
        Case("RNN", weights(1, 2) + [lens, h0], {"hidden_size": hid, "direction": "bidirectional"}, outputs=2),
        Case("RNN", weights(1) + [lens], {"hidden_size": hid, "direction": "reverse", "activations": ["Relu"],
                                          "clip": 1.5}, outputs=2),
        Case("GRU", weights(3), {"hidden_size": hid}, outputs=2),
        Case("GRU", weights(3), {"hidden_size": hid, "linear_before_reset": 1}, outputs=2),
        Case("GRU", weights(3, 2) + [lens, h0], {"hidden_size": hid, "direction": "bidirectional"}, outputs=2),
        Case("GRU", weights(3) + [lens], {"hidden_size": hid, "direction": "reverse",
                                          "activations": ["Sigmoid", "Relu"], "clip": 2.0}, outputs=2),
        Case("GRU", weights(3, 2, batch_first=True) + [lens, x(batch, 2, hid)],
             {"hidden_size": hid, "direction": "bidirectional", "layout": 1}, outputs=2),
        Case("GRU", weights(3), {"hidden_size": hid, "linear_before_reset": 1}, outputs=2, dtype=np.float64),
        Case("LSTM", weights(4), {"hidden_size": hid}, outputs=3),
        Case("LSTM", weights(4) + [None, x(1, batch, hid), x(1, batch, hid), x(1, 3 * hid, gen=normal(0.3))],
             {"hidden_size": hid}, outputs=3),
        Case("LSTM", weights(4, 2) + [lens, h0, x(2, batch, hid)], {"hidden_size": hid, "direction": "bidirectional"},
             outputs=3),
        Case("LSTM", weights(4) + [lens], {"hidden_size": hid, "direction": "reverse", "clip": 1.0}, outputs=3),
        Case("LSTM", [x(batch, seq, inp), *weights(4)[1:], None, x(batch, 1, hid), x(batch, 1, hid)],
             {"hidden_size": hid, "layout": 1}, outputs=3),
        Case("LSTM", weights(4, 2) + [lens, None, None, x(2, 3 * hid, gen=normal(0.3))],
             {"hidden_size": hid, "direction": "bidirectional",
              "activations": ["Sigmoid", "Tanh", "Relu", "Sigmoid", "Relu", "Tanh"]}, outputs=3),
        Case("LSTM", weights(4, hid=7), {"hidden_size": 7}, outputs=(1, 2)),
        Case("LSTM", weights(4), {"hidden_size": hid}, outputs=3, dtype=np.float16),
        Case("LSTM", weights(4) + [lens], {"hidden_size": hid}, outputs=3, dtype=np.float64),
    ]
    refs = {"RNN": R.rnn, "GRU": R.gru, "LSTM": R.lstm}
    for case in cases:
        case.ref, case.may_be_unsupported = refs[case.op], True
    return cases


FAMILIES = [elementwise, conv_pool, linalg, norm_attention, reduce, resize_sample, tensor, cast_quant, recurrent]


def all_cases(small=False):
    """The whole table, at full or small sizes: a list of (family, Case)."""
    sizes = SMALL if small else FULL
    return [(family.__name__, case) for family in FAMILIES for case in family(sizes)]
