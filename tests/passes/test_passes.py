#!/usr/bin/env python3
"""Tests of the graph optimizer on small targeted graphs: each case builds a
model with onnx.helper, checks that `kiln inspect --optimized` reports the
expected rewrite and the expected layer count, and that `kiln run` gives the
same outputs optimized and unoptimized (relative L2 error <= 1e-5 in
float32) on fresh random inputs.

usage: test_passes.py KILN"""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng()
PASSED = FAILED = 0


def check(cond, what):
    global PASSED, FAILED
    PASSED += bool(cond)
    FAILED += not cond
    if not cond:
        print(f"FAIL: {what}")


def model(nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    return m


def vi(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def run_case(name, m, feeds, expect_rewrite, expect_layers, shapes=()):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, name + ".onnx")
        onnx.save(m, path)
        shape_args = [a for s in shapes for a in ("--shape", s)]
        r = subprocess.run([KILN, "inspect", path, "--optimized", *shape_args], capture_output=True, text=True)
        check(r.returncode == 0, f"{name}: inspect failed: {r.stderr}")
        check(expect_rewrite in r.stdout, f"{name}: no '{expect_rewrite}' in:\n{r.stdout}")
        layers = re.search(r"^layers: (\d+)", r.stdout, re.M)
        check(layers and int(layers.group(1)) == expect_layers,
              f"{name}: expected {expect_layers} layers, got {layers.group(1) if layers else '?'}")
        args = []
        for k, v in feeds.items():
            np.save(os.path.join(tmp, k + ".npy"), v)
            args += ["--input", f"{k}={tmp}/{k}.npy"]
        outs = {}
        for level in ("0", "1"):
            d = os.path.join(tmp, "out" + level)
            r = subprocess.run([KILN, "run", path, *args, "--output-dir", d, "--optimization-level", level],
                               capture_output=True, text=True)
            check(r.returncode == 0, f"{name}: run at level {level} failed: {r.stderr}")
            outs[level] = {f: np.load(os.path.join(d, f)) for f in sorted(os.listdir(d))} if r.returncode == 0 else {}
        for f, ref in outs["0"].items():
            got = outs["1"].get(f)
            ok = got is not None and got.shape == ref.shape
            err = np.linalg.norm(got.astype(np.float64) - ref) / max(np.linalg.norm(ref.astype(np.float64)), 1e-30) \
                if ok else float("inf")
            check(ok and err <= 1e-5, f"{name}: output {f} differs after optimization (relative L2 {err:.2e})")
        print(f"{name}: ok" if FAILED == 0 else f"{name}: checked")


def test_identity_dropout():
    nodes = [helper.make_node("Identity", ["x"], ["a"]), helper.make_node("Dropout", ["a"], ["b"]),
             helper.make_node("Relu", ["b"], ["c"]), helper.make_node("Identity", ["c"], ["y"])]
    m = model(nodes, [vi("x", [2, 5])], [vi("y", [2, 5])])
    run_case("identity_dropout", m, {"x": RNG.standard_normal((2, 5)).astype(np.float32)}, "remove_identity", 1)


def test_dead_and_cse():
    nodes = [helper.make_node("Sigmoid", ["x"], ["s1"]), helper.make_node("Sigmoid", ["x"], ["s2"]),
             helper.make_node("Add", ["s1", "s2"], ["y"]), helper.make_node("Exp", ["x"], ["unused"]),
             helper.make_node("Neg", ["unused"], ["unused2"])]
    m = model(nodes, [vi("x", [3, 4])], [vi("y", [3, 4])])
    run_case("dead_and_cse", m, {"x": RNG.standard_normal((3, 4)).astype(np.float32)}, "dead_nodes", 2)
    run_case("cse", m, {"x": RNG.standard_normal((3, 4)).astype(np.float32)}, "cse: 1 duplicate nodes", 2)


def test_constant_folding():
    w = RNG.standard_normal((4, 4)).astype(np.float32)
    nodes = [helper.make_node("Transpose", ["w"], ["wt"], perm=[1, 0]),
             helper.make_node("Mul", ["wt", "two"], ["w2"]), helper.make_node("MatMul", ["x", "w2"], ["y"])]
    m = model(nodes, [vi("x", [2, 4])], [vi("y", [2, 4])], [const("w", w), const("two", np.float32(2))])
    run_case("fold_weights", m, {"x": RNG.standard_normal((2, 4)).astype(np.float32)}, "fold_constants", 1)


def test_shape_chain():
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Gather", ["s", "zero"], ["b"], axis=0),
             helper.make_node("Unsqueeze", ["b", "axes"], ["b1"]),
             helper.make_node("Concat", ["b1", "minus1"], ["t"], axis=0),
             helper.make_node("Reshape", ["x", "t"], ["y"])]
    m = model(nodes, [vi("x", ["batch", 3, 4])], [vi("y", ["batch", 12])],
              [const("zero", np.int64(0)), const("axes", np.array([0], np.int64)),
               const("minus1", np.array([-1], np.int64))])
    run_case("shape_chain", m, {"x": RNG.standard_normal((5, 3, 4)).astype(np.float32)}, "fold_constants", 1,
             shapes=["x=5x3x4"])


def test_conv_batchnorm():
    c = 6
    w = RNG.standard_normal((c, 3, 3, 3)).astype(np.float32)
    b = RNG.standard_normal(c).astype(np.float32)
    stats = [const("scale", RNG.uniform(0.5, 1.5, c).astype(np.float32)),
             const("bias", RNG.standard_normal(c).astype(np.float32)),
             const("mean", RNG.standard_normal(c).astype(np.float32)),
             const("var", RNG.uniform(0.5, 2.0, c).astype(np.float32))]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["y"], epsilon=1e-3)]
    m = model(nodes, [vi("x", [2, 3, 9, 9])], [vi("y", [2, c, 9, 9])], [const("w", w), const("b", b)] + stats)
    run_case("conv_batchnorm", m, {"x": RNG.standard_normal((2, 3, 9, 9)).astype(np.float32)},
             "fold_batchnorm: ", 1)
    nodes[0] = helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1])
    m = model(nodes, [vi("x", [2, 3, 9, 9])], [vi("y", [2, c, 9, 9])], [const("w", w)] + stats)
    run_case("conv_nobias_batchnorm", m, {"x": RNG.standard_normal((2, 3, 9, 9)).astype(np.float32)},
             "fold_batchnorm: ", 1)


def main():
    global KILN
    KILN = sys.argv[1]
    test_identity_dropout()
    test_dead_and_cse()
    test_constant_folding()
    test_shape_chain()
    test_conv_batchnorm()
    print(f"{PASSED} passed, {FAILED} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
