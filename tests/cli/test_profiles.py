#!/usr/bin/env python3
"""Tests of `kiln build --profile`: optimization profiles on a two-input model
with symbolic [batch, seq] inputs and on the sample CNN, `kiln inspect` of
the engine, runs inside the profiles (outputs checked), shapes outside them
refused with the bounds named, and malformed or inconsistent profiles
refused with a message and a nonzero exit code.

usage: test_profiles.py KILN SAMPLE_MODEL"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # tests/: cli_harness
import cli_harness  # noqa: E402
from cli_harness import check, expect_error, kiln, vi  # noqa: E402


def two_input_model(path):
    """y = (ids + mask) * 2 over [batch, seq] inputs."""
    nodes = [helper.make_node("Add", ["ids", "mask"], ["s"]),
             helper.make_node("Mul", ["s", "two"], ["y"])]
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    inputs = [vi(n, ["batch", "seq"]) for n in ("ids", "mask")]
    g = helper.make_graph(nodes, "g", inputs, [vi("y", ["batch", "seq"])], [two])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)


def run_with(engine, tmp, batch, seq):
    a = np.random.default_rng(seq).standard_normal((batch, seq)).astype(np.float32)
    b = np.random.default_rng(seq + 1).standard_normal((batch, seq)).astype(np.float32)
    np.save(os.path.join(tmp, "a.npy"), a)
    np.save(os.path.join(tmp, "b.npy"), b)
    out = os.path.join(tmp, f"out_{batch}_{seq}")
    r = kiln("run", engine, "--input", f"ids={tmp}/a.npy", "--input", f"mask={tmp}/b.npy", "--output-dir", out)
    ok = r.returncode == 0 and os.path.exists(os.path.join(out, "y.npy"))
    if ok:
        y = np.load(os.path.join(out, "y.npy"))
        ok = y.shape == (batch, seq) and np.allclose(y, (a + b) * 2)
    return ok, r


def test_two_inputs(tmp):
    model = os.path.join(tmp, "two.onnx")
    engine = os.path.join(tmp, "two.engine")
    two_input_model(model)
    spec = "ids=1x16:8x128:32x512,mask=1x16:8x128:32x512"
    r = kiln("build", model, "-o", engine, "--profile", spec, "--profile", "ids=1x1:1x4:1x8,mask=1x1:1x4:1x8")
    check(r.returncode == 0, f"build with two profiles: {r.stderr.strip()}")
    r = kiln("inspect", engine)
    check(r.returncode == 0 and "profiles: 2" in r.stdout, f"inspect lists the profiles: {r.stdout}")
    check("min 1x16  opt 8x128  max 32x512" in r.stdout, "inspect prints profile 0's bounds")
    check("min 1x1  opt 1x4  max 1x8" in r.stdout, "inspect prints profile 1's bounds")
    for batch, seq in ((1, 16), (3, 77), (32, 512), (1, 5), (1, 1)):
        ok, r = run_with(engine, tmp, batch, seq)
        check(ok, f"run at {batch}x{seq}: {r.stderr.strip()}")
    expect_error(["run", engine, "--shape", "ids=1x600", "--shape", "mask=1x600"], 1,
                 "input 'ids' shape 1x600 is outside every profile (profile 0: 1x16 .. 32x512, profile 1: 1x1 .. 1x8)",
                 "a shape outside every profile")
    expect_error(["run", engine, "--shape", "ids=2x12", "--shape", "mask=2x12"], 1, "outside every profile",
                 "a shape between the profiles")


def test_no_single_profile(tmp):
    """Inputs with independent symbols: each fits some profile, none fits both."""
    model = os.path.join(tmp, "concat.onnx")
    engine = os.path.join(tmp, "concat.engine")
    node = helper.make_node("Concat", ["a", "b"], ["y"], axis=0)
    g = helper.make_graph([node], "g", [vi("a", ["n"]), vi("b", ["m"])], [vi("y", ["k"])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), model)
    r = kiln("build", model, "-o", engine, "--profile", "a=1:2:4,b=1:2:4", "--profile", "a=8:8:16,b=8:8:16")
    check(r.returncode == 0, f"build the Concat model: {r.stderr.strip()}")
    r = kiln("run", engine, "--shape", "a=3", "--shape", "b=4")
    check(r.returncode == 0, f"run inside profile 0: {r.stderr.strip()}")
    expect_error(["run", engine, "--shape", "a=2", "--shape", "b=10"], 1,
                 "the bound inputs fit no single profile: 'b' shape 10 is outside profile 0: 1 .. 4; "
                 "'a' shape 2 is outside profile 1: 8 .. 16", "inputs split across profiles")


def test_sample_cnn(tmp):
    engine = os.path.join(tmp, "cnn.engine")
    r = kiln("build", SAMPLE, "-o", engine, "--profile", "input=1x3x64x64:4x3x64x64:8x3x64x64")
    check(r.returncode == 0, f"build the sample CNN with a profile: {r.stderr.strip()}")
    r = kiln("run", engine, "--shape", "input=5x3x64x64", "--iterations", "2")
    check(r.returncode == 0, f"run the sample CNN at batch 5: {r.stderr.strip()}")
    expect_error(["run", engine, "--shape", "input=9x3x64x64"], 1, "outside every profile", "batch 9 refused")


def test_bad_profiles(tmp):
    model = os.path.join(tmp, "two.onnx")
    out = os.path.join(tmp, "bad.engine")
    build = ["build", model, "-o", out, "--profile"]
    expect_error(build + ["ids=1x16:8x128"], 2, "--profile takes NAME=MIN:OPT:MAX", "two shapes only")
    expect_error(build + ["ids=1x16:8x128:32"], 2, "three shapes of one rank", "ranks differ")
    expect_error(build + ["1x16:8x128:32x512"], 2, "--profile takes", "no name")
    expect_error(build + ["ids=1x16:8x128:32xq"], 2, "--profile takes", "not a number")
    expect_error(build + ["ids=1x600:8x128:32x512,mask=1x16:8x128:32x512"], 1,
                 "need 0 <= min <= opt <= max", "min above opt")
    expect_error(build + ["ids=1x16:8x128:32x512"], 1, "profile 0 gives no bounds for input 'mask'",
                 "an input left out")
    expect_error(build + ["ids=1x16:8x128:32x512,mask=1x16:8x128:32x512,extra=1:1:1"], 1,
                 "profile 0 gives bounds for 'extra', but the model has no input of that name", "unknown input")
    expect_error(build + ["ids=1x16:8x128:32x512,mask=16:128:512"], 1, "input 'mask' has rank 2", "wrong rank")
    expect_error(["build", SAMPLE, "-o", out, "--profile", "input=1x3x64x64:2x3x64x64:4x3x32x64"], 1,
                 "need 0 <= min <= opt <= max", "max below opt")
    expect_error(["build", SAMPLE, "-o", out, "--profile", "input=1x3x32x32:2x3x32x32:4x3x32x32"], 1,
                 "dim 2 is fixed at 64 by the model", "a fixed dim changed")
    check(not os.path.exists(out), "no engine file after a refused profile")
    r = kiln("build", "--help")
    check(r.returncode == 0 and "--profile NAME=MIN:OPT:MAX" in r.stdout, "build --help describes --profile")


def main():
    global SAMPLE
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    SAMPLE = sys.argv[2]
    cli_harness.setup(sys.argv[1])
    sys.exit(cli_harness.run_tests(test_two_inputs, test_no_single_profile, test_sample_cnn, test_bad_profiles,
                                   tmp=True))


if __name__ == "__main__":
    main()
