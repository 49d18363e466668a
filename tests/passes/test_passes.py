#!/usr/bin/env python3
"""Tests of the graph optimizer on small targeted graphs: each case builds a
model with onnx.helper, checks that `kiln inspect --optimized` reports the
expected rewrite and the expected layer count, and that `kiln run` gives the
same outputs optimized and unoptimized (relative L2 error <= 1e-5 in
float32) on fresh random inputs.

usage: test_passes.py KILN"""
import os
import sys
import tempfile

import numpy as np
from onnx import helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # tests/: cli_harness
import cli_harness  # noqa: E402
from cli_harness import (check, check_layers, compare_outputs, const, inspect_optimized, model,  # noqa: E402
                         run_levels, save_case, save_feeds, vi)

RNG = np.random.default_rng()


def run_case(name, m, feeds, expect_rewrite, expect_layers, shapes=()):
    with tempfile.TemporaryDirectory() as tmp:
        path = save_case(tmp, name, m)
        r = inspect_optimized(name, path, *[a for s in shapes for a in ("--shape", s)])
        check(expect_rewrite in r.stdout, f"{name}: no '{expect_rewrite}' in:\n{r.stdout}")
        check_layers(name, r.stdout, expect_layers, show_report=False)
        ref, outs = run_levels(name, path, save_feeds(tmp, feeds), tmp)
        compare_outputs(name, "after optimization", ref, outs, 1e-5)
        print(f"{name}: ok" if cli_harness.FAILED == 0 else f"{name}: checked")


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
    cli_harness.setup(sys.argv[1], timeout=None)
    return cli_harness.run_tests(test_identity_dropout, test_dead_and_cse, test_constant_folding, test_shape_chain,
                                 test_conv_batchnorm)


if __name__ == "__main__":
    sys.exit(main())
