#!/usr/bin/env python3
"""Tests of the kiln command line: help and version, the run/inspect
contract, and that bad input (malformed .npy, wrong dtype or shape, unknown
ops, bad flags, absurd shapes) gives a message on stderr and a nonzero exit
code, never a signal.

usage: test_cli.py KILN SAMPLE_MODEL"""
import os
import re
import sys

import numpy as np
import onnx
from onnx import helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # tests/: cli_harness
import cli_harness  # noqa: E402
from cli_harness import check, expect_error, kiln, rel_l2, vi  # noqa: E402


def tiny_model(path, op="Relu", domain=""):
    node = helper.make_node(op, ["x"], ["y"], name="the_node", domain=domain)
    g = helper.make_graph([node], "g", [vi("x", [2, 3])], [vi("y", [2, 3])])
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    m = helper.make_model(g, opset_imports=opsets)
    onnx.save(m, path)


def test_help_and_version():
    r = kiln("--version")
    check(r.returncode == 0 and r.stdout.startswith("kiln "), "--version")
    r = kiln("--help")
    check(r.returncode == 0 and "run" in r.stdout and "inspect" in r.stdout, "--help lists commands")
    r = kiln("run", "--help")
    for flag in ["--input", "--shape", "--output-dir", "--iterations", "--warmup", "--seed", "--optimization-level",
                 "--layout"]:
        check(flag in r.stdout, f"run --help describes {flag}")
    r = kiln("build", "--help")
    for flag in ["--output", "--shape", "--optimization-level", "--workspace", "--tactic-sources"]:
        check(flag in r.stdout, f"build --help describes {flag}")
    check(kiln("inspect", "--help").returncode == 0, "inspect --help")
    expect_error(["frobnicate"], 2, "unknown command", "unknown command")
    expect_error(["run"], 2, "no MODEL", "run without a model")


def test_run_and_inspect(tmp):
    r = kiln("inspect", SAMPLE)
    check(r.returncode == 0 and "nodes: 17" in r.stdout and "parameters:" in r.stdout and "flops:" in r.stdout,
          f"inspect sample: {r.stdout}")
    gflop = {}
    for batch in (1, 64):
        r = kiln("inspect", SAMPLE, "--shape", f"input={batch}x3x64x64")
        m = re.search(r"^flops: ([\d.]+) GFLOP per run at the --shape shapes$", r.stdout, re.M)
        check(r.returncode == 0 and m is not None, f"inspect --shape counts FLOPs at the shape: {r.stdout}")
        gflop[batch] = float(m.group(1)) if m else 0
    check(gflop[1] > 0 and 62 <= gflop[64] / gflop[1] <= 66, f"FLOPs scale with the batch: {gflop}")
    out = os.path.join(tmp, "out", "nested")  # missing parents are created, as mkdir -p does
    r = kiln("run", SAMPLE, "--shape", "input=4x3x64x64", "--output-dir", out)
    check(r.returncode == 0 and "run" in r.stdout, f"run sample: {r.stderr}")
    y = np.load(os.path.join(out, "logits.npy"))
    check(y.shape == (4, 10) and y.dtype == np.float32 and np.isfinite(y).all(), "logits.npy shape and dtype")
    r2 = kiln("run", SAMPLE, "--shape", "input=4x3x64x64", "--output-dir", out + "2")
    # each run builds its own engine and the autotuner may pick another tactic, which may round differently
    check(rel_l2(y, np.load(os.path.join(out + "2", "logits.npy"))) <= 1e-5, "random inputs are deterministic")
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    np.save(os.path.join(tmp, "x.npy"), x)
    r = kiln("run", SAMPLE, "--input", f"input={tmp}/x.npy", "--output-dir", out + "3", "--iterations", "3")
    check(r.returncode == 0 and "3 iterations" in r.stdout, f"run with --input: {r.stdout} {r.stderr}")
    r = kiln("run", SAMPLE, "--input", f"input={tmp}/x.npy", "--warmup", "2", "--iterations", "3")
    check(r.returncode == 0 and "over 3 iterations" in r.stdout, f"run --warmup 2: {r.stdout} {r.stderr}")
    import onnxruntime as ort
    ref = ort.InferenceSession(SAMPLE, providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    got = np.load(os.path.join(out + "3", "logits.npy"))
    check(np.linalg.norm(got - ref) / np.linalg.norm(ref) < 1e-5, "sample model matches ONNX Runtime")
    r = kiln("run", SAMPLE)
    check(r.returncode == 0 and "note: input 'input' dim 0 (batch) set to 1" in r.stderr, "symbolic dim note")


def test_engine_files(tmp):
    engine = os.path.join(tmp, "sample.engine")
    r = kiln("build", SAMPLE, "-o", engine, "--shape", "input=2x3x64x64")
    check(r.returncode == 0 and "layers" in r.stdout, f"build: {r.stdout} {r.stderr}")
    r = kiln("inspect", engine)
    check(r.returncode == 0 and "layers: " in r.stdout and "tactic reference" in r.stdout, f"inspect engine: {r.stdout}")
    x = np.random.default_rng(1).standard_normal((2, 3, 64, 64)).astype(np.float32)
    np.save(os.path.join(tmp, "xe.npy"), x)
    outs = []
    for m in (SAMPLE, engine):
        d = os.path.join(tmp, "eng_out" + str(len(outs)))
        r = kiln("run", m, "--input", f"input={tmp}/xe.npy", "--output-dir", d)
        check(r.returncode == 0, f"run {m}: {r.stderr}")
        outs.append(np.load(os.path.join(d, "logits.npy")) if r.returncode == 0 else None)
    check(outs[0] is not None and outs[1] is not None and rel_l2(outs[1], outs[0]) <= 1e-5,
          "engine file gives the model's outputs (up to the rounding of the tactics each build chose)")
    data = bytearray(open(engine, "rb").read())
    data[len(data) // 2] ^= 0x55
    open(engine + ".bad", "wb").write(data)
    expect_error(["run", engine + ".bad"], 1, "checksum mismatch", "corrupted engine")
    open(engine + ".short", "wb").write(data[: len(data) // 3])
    expect_error(["inspect", engine + ".short"], 1, "rebuild it", "truncated engine")
    expect_error(["build", SAMPLE], 2, "no -o ENGINE", "build without -o")
    expect_error(["build", SAMPLE, "-o", engine, "--workspace", "lots"], 2, "--workspace takes", "bad workspace")
    expect_error(["build", SAMPLE, "-o", engine, "--tactic-sources", "magic"], 2, "unknown tactic source",
                 "bad tactic source")


def test_bad_inputs(tmp):
    def npy(name, data):
        p = os.path.join(tmp, name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    good = np.zeros((2, 3, 64, 64), np.float32)
    np.save(os.path.join(tmp, "good.npy"), good)
    raw = open(os.path.join(tmp, "good.npy"), "rb").read()
    cases = [
        ("truncated.npy", raw[:-10], "data bytes"),
        ("garbage.npy", b"not an npy file at all", "not an .npy file"),
        ("header.npy", raw[:12], "byte offset"),
    ]
    for name, data, needle in cases:
        expect_error(["run", SAMPLE, "--input", f"input={npy(name, data)}"], 1, needle, name)
    np.save(os.path.join(tmp, "int.npy"), good.astype(np.int64))
    expect_error(["run", SAMPLE, "--input", f"input={tmp}/int.npy"], 1, "must be float32", "wrong dtype")
    np.save(os.path.join(tmp, "shape.npy"), np.zeros((2, 3, 32, 64), np.float32))
    # the build fixes the input's shape from the file, so the model's fixed dim refuses it there
    expect_error(["run", SAMPLE, "--input", f"input={tmp}/shape.npy"], 1, "input 'input' dim 2 is fixed at 64",
                 "wrong shape")
    expect_error(["run", SAMPLE, "--input", f"input={tmp}/shape.npy", "--optimization-level", "0"], 1,
                 "must have shape", "wrong shape, unoptimized")
    np.save(os.path.join(tmp, "f64.npy"), np.zeros((2, 3), ">f8"))
    expect_error(["run", SAMPLE, "--input", f"input={tmp}/f64.npy"], 1, "not supported", "big-endian npy")
    expect_error(["run", SAMPLE, "--input", "nosuch=x.npy"], 1, "no input of that name", "unknown input")
    expect_error(["run", SAMPLE, "--input", f"input={tmp}/missing.npy"], 1, "cannot open", "missing file")
    expect_error(["run", SAMPLE, "--shape", "input=axb"], 2, "--shape takes", "malformed --shape")
    expect_error(["run", SAMPLE, "--shape", "input=1000000000x3x64x64"], 1, "over the limit", "absurd shape")
    expect_error(["run", SAMPLE, "--iterations", "0"], 2, "--iterations", "bad --iterations")
    expect_error(["run", SAMPLE, "--warmup", "-1"], 2, "--warmup", "bad --warmup")
    expect_error(["run", SAMPLE, "--bogus"], 2, "unexpected argument", "unknown flag")
    unknown = os.path.join(tmp, "unknown_op.onnx")
    tiny_model(unknown, op="FooBar")
    expect_error(["run", unknown], 1, "unsupported op FooBar (opset 17) at node 'the_node'", "unknown op")
    foreign = os.path.join(tmp, "foreign.onnx")
    tiny_model(foreign, op="Gelu", domain="com.microsoft")
    expect_error(["run", foreign], 1, "com.microsoft", "non-default domain")
    expect_error(["inspect", os.path.join(tmp, "garbage.npy")], 1, "garbage.npy", "inspect garbage")
    expect_error(["run", os.path.join(tmp, "nosuchmodel.onnx")], 1, "nosuchmodel.onnx", "missing model")


def main():
    global SAMPLE
    SAMPLE = sys.argv[2]
    cli_harness.setup(sys.argv[1])
    test_help_and_version()
    return cli_harness.run_tests(test_run_and_inspect, test_engine_files, test_bad_inputs, tmp=True)


if __name__ == "__main__":
    sys.exit(main())
