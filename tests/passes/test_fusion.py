#!/usr/bin/env python3
"""Tests of the epilogue-fusion passes (fuse_conv_add, fuse_conv_activation,
fuse_matmul_add, fuse_matmul_activation, fuse_add_activation) on small
targeted graphs: each case builds a model with onnx.helper, checks that
`kiln inspect --optimized` reports the expected fusions (and none it must
not make) and the expected layer count, and that `kiln run` gives the same
outputs optimized and unoptimized (relative L2 error <= 1e-5 in float32 and
float64) on fresh random inputs. A few cases also go through an engine file
(`kiln build`, then `kiln run` on the engine).

usage: test_fusion.py KILN"""
import os
import sys
import tempfile

import numpy as np
from onnx import TensorProto, helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # tests/: cli_harness
import cli_harness  # noqa: E402
from cli_harness import (check, check_layers, compare_outputs, const, inspect_optimized, kiln, model,  # noqa: E402
                         run_to_dir, save_case, save_feeds, vi)

RNG = np.random.default_rng()
F32, F64, F16 = TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16
NP_TYPES = {F32: np.float32, F64: np.float64, F16: np.float16}
TOLERANCE = {F32: 1e-5, F64: 1e-5, F16: 1e-5}


def random(shape, dtype=F32, scale=1.0):
    return (scale * RNG.standard_normal(shape)).astype(NP_TYPES[dtype])


def inspect(name, path, expect, forbid, layers):
    r = inspect_optimized(name, path)
    report = r.stdout.partition("\noptimized:\n")[2]
    for e in expect:
        check(e in report, f"{name}: no '{e}' in:\n{r.stdout}")
    for f in forbid:
        check(f not in report, f"{name}: unexpected '{f}' in:\n{r.stdout}")
    check_layers(name, r.stdout, layers)


def run(name, path, args, out_dir, *extra):
    r, outs = run_to_dir(path, args, out_dir, *extra)
    check(r.returncode == 0, f"{name}: run {' '.join(extra)} failed: {r.stderr}")
    return outs


def compare(name, what, ref, outs, tol):
    check(ref and sorted(ref) == sorted(outs), f"{name}: {what} gives outputs {sorted(outs)}, expected {sorted(ref)}")
    compare_outputs(name, what, ref, outs, tol, same_dtype=True)


def run_case(name, m, feeds, expect, layers, forbid=(), dtype=F32, engine=False):
    """expect / forbid: substrings the optimizer report must / must not hold."""
    failed = cli_harness.FAILED
    with tempfile.TemporaryDirectory() as tmp:
        path = save_case(tmp, name, m)
        inspect(name, path, expect, forbid, layers)
        args = save_feeds(tmp, feeds)
        ref = run(name, path, args, os.path.join(tmp, "out0"), "--optimization-level", "0")
        compare(name, "after optimization", ref,
                run(name, path, args, os.path.join(tmp, "out1"), "--optimization-level", "1"), TOLERANCE[dtype])
        if engine:
            eng = os.path.join(tmp, name + ".kiln")
            r = kiln("build", path, "-o", eng)
            check(r.returncode == 0, f"{name}: build failed: {r.stderr}")
            compare(name, "through an engine file", ref, run(name, eng, args, os.path.join(tmp, "out_engine")),
                    TOLERANCE[dtype])
    print(f"{name}: {'ok' if cli_harness.FAILED == failed else 'FAILED'}")


# -- Conv + activation --------------------------------------------------------

def conv_nodes(x="x", out="c", bias=True, name="conv", w="w", **attrs):
    inputs = [x, w, "b"] if bias else [x, w]
    return helper.make_node("Conv", inputs, [out], name=name, pads=[1, 1, 1, 1], **attrs)


def conv_inits(dtype, cin=3, cout=6, k=3, w="w"):
    return [const(w, random((cout, cin, k, k), dtype, 0.3)), const("b", random(cout, dtype, 0.5))]


def activations(dtype):
    """(case, nodes from c to y, extra initializers, opset, the activation node's op)"""
    np_t = NP_TYPES[dtype]

    def act(op, ins=("c",), **attrs):
        return helper.make_node(op, list(ins), ["y"], name="act", **attrs)

    sigmoid = helper.make_node("Sigmoid", ["c"], ["s"], name="act")
    return [
        ("relu", [act("Relu")], [], 17, "Relu"),
        ("leaky_relu", [act("LeakyRelu", alpha=0.2)], [], 17, "LeakyRelu"),
        ("relu6", [act("Clip", ("c", "lo", "hi"))], [const("lo", np_t(0)), const("hi", np_t(6))], 17, "Clip"),
        ("clip_min", [act("Clip", ("c", "lo"))], [const("lo", np_t(-0.5))], 17, "Clip"),
        ("clip_max", [act("Clip", ("c", "", "hi"))], [const("hi", np_t(0.7))], 17, "Clip"),
        ("clip_opset10", [act("Clip", min=-1.0, max=1.5)], [], 10, "Clip"),
        ("sigmoid", [act("Sigmoid")], [], 17, "Sigmoid"),
        ("hard_sigmoid", [act("HardSigmoid", alpha=0.3, beta=0.4)], [], 17, "HardSigmoid"),
        ("hard_swish", [act("HardSwish")], [], 17, "HardSwish"),
        ("tanh", [act("Tanh")], [], 17, "Tanh"),
        ("gelu", [act("Gelu")], [], 20, "Gelu"),
        ("gelu_tanh", [act("Gelu", approximate="tanh")], [], 20, "Gelu"),
        ("swish", [sigmoid, helper.make_node("Mul", ["c", "s"], ["y"])], [], 17, "Sigmoid"),
        ("swish_swapped", [sigmoid, helper.make_node("Mul", ["s", "c"], ["y"])], [], 17, "Sigmoid"),
    ]


def test_conv_activations():
    for dtype, suffix in ((F32, ""), (F64, "_f64")):
        for case, nodes, inits, opset, op in activations(dtype):
            m = model([conv_nodes()] + nodes, [vi("x", [2, 3, 9, 9], dtype)], [vi("y", [2, 6, 9, 9], dtype)],
                      conv_inits(dtype) + inits, opset)
            run_case("conv_" + case + suffix, m, {"x": random((2, 3, 9, 9), dtype)},
                     [f"fuse_conv_activation: 'conv' (Conv) + 'act' ({op})"], 1, dtype=dtype)
    m = model([conv_nodes(), helper.make_node("Relu", ["c"], ["y"], name="act")], [vi("x", [2, 3, 9, 9], F16)],
              [vi("y", [2, 6, 9, 9], F16)], conv_inits(F16))
    run_case("conv_relu_f16", m, {"x": random((2, 3, 9, 9), F16)},
             ["fuse_conv_activation: 'conv' (Conv) + 'act' (Relu)"], 1, dtype=F16)


# -- Conv + residual Add (+ activation) ---------------------------------------

def residual_model(dtype=F32, bias=True, relu=True, swapped=False, z_shape=(2, 6, 9, 9), extra_outputs=()):
    add_in = ["z", "c"] if swapped else ["c", "z"]
    nodes = [conv_nodes(bias=bias), helper.make_node("Add", add_in, ["a" if relu else "y"], name="add")]
    if relu:
        nodes.append(helper.make_node("Relu", ["a"], ["y"], name="act"))
    outputs = [vi("y", [2, 6, 9, 9], dtype)] + [vi(o, [2, 6, 9, 9], dtype) for o in extra_outputs]
    inits = conv_inits(dtype) if bias else conv_inits(dtype)[:1]
    m = model(nodes, [vi("x", [2, 3, 9, 9], dtype), vi("z", list(z_shape), dtype)], outputs, inits)
    return m, {"x": random((2, 3, 9, 9), dtype), "z": random(z_shape, dtype)}


def test_conv_residual():
    fused = "fuse_conv_add: 'conv' (Conv) + 'add' (Add)"
    m, feeds = residual_model(relu=False)
    run_case("conv_add", m, feeds, [fused], 1)
    m, feeds = residual_model(relu=False, swapped=True)
    run_case("conv_add_swapped", m, feeds, [fused], 1)
    m, feeds = residual_model()
    run_case("conv_add_relu", m, feeds, [fused, "fuse_conv_activation: 'conv' (FusedConv) + 'act' (Relu)"], 1,
             engine=True)
    m, feeds = residual_model(bias=False)
    run_case("conv_nobias_add_relu", m, feeds, [fused, "fuse_conv_activation"], 1)
    for dtype, suffix in ((F64, "_f64"), (F16, "_f16")):
        m, feeds = residual_model(dtype)
        run_case("conv_add_relu" + suffix, m, feeds, [fused, "fuse_conv_activation"], 1, dtype=dtype)


def test_resnet_blocks():
    """ResNet's bottleneck end: Conv + BatchNormalization + Add + Relu, with
    the shortcut a Conv + BatchNormalization too (downsampling) or the input."""
    c = 8

    def stats(p):
        return [const(p + "scale", RNG.uniform(0.5, 1.5, c).astype(np.float32)), const(p + "bias", random(c)),
                const(p + "mean", random(c)), const(p + "var", RNG.uniform(0.5, 2.0, c).astype(np.float32))]

    def bn(p, x, y):
        return helper.make_node("BatchNormalization", [x] + [p + s for s in ("scale", "bias", "mean", "var")], [y],
                                name=p + "bn")

    for case, shortcut in (("resnet_identity", False), ("resnet_downsample", True)):
        nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
                 bn("m", "c1", "main")]
        inits = [const("w1", random((c, c, 3, 3), scale=0.2))] + stats("m")
        short = "x"
        if shortcut:
            nodes += [helper.make_node("Conv", ["x", "w2"], ["c2"], name="conv2"), bn("s", "c2", "short")]
            inits += [const("w2", random((c, c, 1, 1), scale=0.3))] + stats("s")
            short = "short"
        nodes += [helper.make_node("Add", ["main", short], ["a"], name="add"),
                  helper.make_node("Relu", ["a"], ["y"], name="act")]
        m = model(nodes, [vi("x", [2, c, 7, 7])], [vi("y", [2, c, 7, 7])], inits)
        run_case(case, m, {"x": random((2, c, 7, 7))},
                 ["fold_batchnorm", "fuse_conv_add: 'conv1' (Conv) + 'add' (Add)", "fuse_conv_activation"],
                 1 + shortcut)


# -- MatMul + bias (+ activation), Gemm + activation ---------------------------

def linear_model(dtype=F32, a_shape=(4, 16), act=None, swapped=False, opset=17, bias_shape=(8,), const_w=True):
    add_in = ["bias", "mm"] if swapped else ["mm", "bias"]
    out_shape = list(a_shape[:-1]) + [8]
    nodes = [helper.make_node("MatMul", ["a", "w"], ["mm"], name="mm"),
             helper.make_node("Add", add_in, ["l" if act else "y"], name="add")]
    if act:
        nodes.append(helper.make_node(act, ["l"], ["y"], name="act"))
    inputs = [vi("a", list(a_shape), dtype)]
    inits = [const("bias", random(bias_shape, dtype))]
    feeds = {"a": random(a_shape, dtype)}
    if const_w:
        inits.append(const("w", random((16, 8), dtype, 0.3)))
    else:
        inputs.append(vi("w", [16, 8], dtype))
        feeds["w"] = random((16, 8), dtype, 0.3)
    return model(nodes, inputs, [vi("y", out_shape, dtype)], inits, opset), feeds


def test_matmul():
    fused = "fuse_matmul_add: 'mm' (MatMul) + 'add' (Add)"
    m, feeds = linear_model()
    run_case("matmul_bias", m, feeds, [fused], 1)
    m, feeds = linear_model(swapped=True)
    run_case("matmul_bias_swapped", m, feeds, [fused], 1)
    m, feeds = linear_model(a_shape=(2, 5, 16), act="Relu")
    run_case("matmul_bias_relu", m, feeds, [fused, "fuse_matmul_activation: 'mm' (FusedMatMul) + 'act' (Relu)"], 1)
    m, feeds = linear_model(a_shape=(2, 5, 16), act="Gelu", opset=20)
    run_case("matmul_bias_gelu", m, feeds, [fused, "fuse_matmul_activation"], 1, engine=True)
    m, feeds = linear_model(F64, a_shape=(3, 16), act="Tanh")
    run_case("matmul_bias_tanh_f64", m, feeds, [fused, "fuse_matmul_activation"], 1, dtype=F64)
    m = model([helper.make_node("MatMul", ["a", "w"], ["mm"], name="mm"),
               helper.make_node("Tanh", ["mm"], ["y"], name="act")], [vi("a", [4, 16])], [vi("y", [4, 8])],
              [const("w", random((16, 8), scale=0.3))])
    run_case("matmul_tanh", m, {"a": random((4, 16))}, ["fuse_matmul_activation: 'mm' (MatMul) + 'act' (Tanh)"], 1)
    m = model([helper.make_node("Gemm", ["a", "w", "bias"], ["g"], name="gemm", transB=1, alpha=0.5, beta=2.0),
               helper.make_node("Relu", ["g"], ["y"], name="act")], [vi("a", [4, 16])], [vi("y", [4, 8])],
              [const("w", random((8, 16), scale=0.3)), const("bias", random(8))])
    run_case("gemm_relu", m, {"a": random((4, 16))}, ["fuse_matmul_activation: 'gemm' (Gemm) + 'act' (Relu)"], 1)


# -- Add + activation -----------------------------------------------------------

def test_add_activation():
    for case, b_shape, op, dtype in (("add_relu", (2, 3, 4), "Relu", F32), ("add_bcast_sigmoid", (4,), "Sigmoid", F32),
                                     ("add_leaky_relu_f64", (3, 1), "LeakyRelu", F64)):
        m = model([helper.make_node("Add", ["p", "q"], ["s"], name="add"),
                   helper.make_node(op, ["s"], ["y"], name="act")],
                  [vi("p", [2, 3, 4], dtype), vi("q", list(b_shape), dtype)], [vi("y", [2, 3, 4], dtype)])
        run_case(case, m, {"p": random((2, 3, 4), dtype), "q": random(b_shape, dtype)},
                 [f"fuse_add_activation: 'add' (Add) + 'act' ({op})"], 1, dtype=dtype)


# -- what must not fuse ---------------------------------------------------------

def test_negative():
    x, feeds = vi("x", [2, 3, 9, 9]), {"x": random((2, 3, 9, 9))}

    def out(name):
        return vi(name, [2, 6, 9, 9])

    relu, sigm = helper.make_node("Relu", ["c"], ["y"], name="act"), helper.make_node("Sigmoid", ["c"], ["y2"])
    m = model([conv_nodes(), relu], [x], [out("y"), out("c")], conv_inits(F32))
    run_case("no_fuse_conv_output", m, feeds, [], 2, forbid=["fuse_"])
    m = model([conv_nodes(), relu, sigm], [x], [out("y"), out("y2")], conv_inits(F32))
    run_case("no_fuse_two_readers", m, feeds, [], 3, forbid=["fuse_"])
    m = model([conv_nodes(), helper.make_node("Sigmoid", ["c"], ["s"]), helper.make_node("Mul", ["c", "s"], ["y"])],
              [x], [out("y"), out("s")], conv_inits(F32))
    run_case("no_fuse_swish_sigmoid_output", m, feeds, [], 3, forbid=["fuse_"])
    m = model([conv_nodes(), helper.make_node("Clip", ["c", "lo"], ["y"], name="act")], [x, vi("lo", [])],
              [out("y")], conv_inits(F32))
    run_case("no_fuse_clip_input_bound", m, dict(feeds, lo=np.float32(0.1)), [], 2, forbid=["fuse_"])
    m, feeds = residual_model(relu=False, extra_outputs=["c"])
    run_case("no_fuse_residual_conv_output", m, feeds, [], 2, forbid=["fuse_"])
    m, feeds = residual_model(extra_outputs=["a"])
    run_case("no_fuse_residual_sum_output", m, feeds, ["fuse_conv_add"], 2, forbid=["fuse_conv_activation"])
    m, feeds = residual_model(relu=False, z_shape=(1, 6, 1, 1))
    run_case("no_fuse_residual_broadcast", m, feeds, [], 2, forbid=["fuse_"])
    m, feeds = linear_model(const_w=False)
    run_case("no_fuse_matmul_input_weights", m, feeds, [], 2, forbid=["fuse_"])
    m, feeds = linear_model(bias_shape=(4, 8))
    run_case("no_fuse_matmul_matrix_bias", m, feeds, [], 2, forbid=["fuse_"])
    m = model([helper.make_node("MatMul", ["a", "w"], ["mm"]), helper.make_node("Add", ["mm", "bias"], ["y"]),
               helper.make_node("Relu", ["mm"], ["y2"])], [vi("a", [4, 16])], [vi("y", [4, 8]), vi("y2", [4, 8])],
              [const("w", random((16, 8))), const("bias", random(8))])
    run_case("no_fuse_matmul_two_readers", m, {"a": random((4, 16))}, [], 3, forbid=["fuse_"])
    m = model([helper.make_node("Add", ["p", "q"], ["s"]), helper.make_node("Relu", ["s"], ["y"])],
              [vi("p", [2, 3]), vi("q", [2, 3])], [vi("y", [2, 3]), vi("s", [2, 3])])
    run_case("no_fuse_add_output", m, {"p": random((2, 3)), "q": random((2, 3))}, [], 2, forbid=["fuse_"])


def main():
    cli_harness.setup(sys.argv[1], timeout=None)
    return cli_harness.run_tests(test_conv_activations, test_conv_residual, test_resnet_blocks, test_matmul,
                                 test_add_activation, test_negative)


if __name__ == "__main__":
    sys.exit(main())
