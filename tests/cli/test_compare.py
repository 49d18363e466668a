#!/usr/bin/env python3
"""Tests of `kiln compare`: the optimized engine (or an engine file) against
kiln's unoptimized reference, per output and with --per-layer per layer.
Covers passing models, tolerances that demonstrably fail, a genuine
divergence (a reference model with one changed weight in a middle layer)
named as the first divergent layer, integer and NaN outputs, and usage and
model errors.

usage: test_compare.py KILN SAMPLE_MODEL"""
import os
import re
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # tests/: cli_harness
import cli_harness  # noqa: E402
from cli_harness import check, expect, kiln, vi  # noqa: E402


def first_divergence(out):
    m = re.search(r"first divergence: layer \d+ '([^']*)' \(([^)]*)\), output '([^']*)'", out)
    return m.groups() if m else None


def mlp(path, w2_delta=0.0):
    """x[4,16] -> /fc1 MatMul -> /act1 Relu -> /fc2 MatMul -> /scale Mul -> /fc3 MatMul -> y[4,8], plus
    an int64 ArgMax output. /fc1 + /act1 fuse; /fc2 stays a layer of its own. w2_delta changes one
    weight of /fc2."""
    rng = np.random.default_rng(7)
    w1 = rng.standard_normal((16, 32)).astype(np.float32) * 0.3
    w2 = rng.standard_normal((32, 32)).astype(np.float32) * 0.3
    w3 = rng.standard_normal((32, 8)).astype(np.float32) * 0.3
    w2[3, 5] += w2_delta
    inits = [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2"),
             numpy_helper.from_array(w3, "w3"), numpy_helper.from_array(np.array(1.5, np.float32), "s")]
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h1"], name="/fc1"),
        helper.make_node("Relu", ["h1"], ["a1"], name="/act1"),
        helper.make_node("MatMul", ["a1", "w2"], ["h2"], name="/fc2"),
        helper.make_node("Mul", ["h2", "s"], ["m2"], name="/scale"),
        helper.make_node("MatMul", ["m2", "w3"], ["y"], name="/fc3"),
        helper.make_node("ArgMax", ["y"], ["cls"], name="/argmax", axis=1, keepdims=0),
    ]
    g = helper.make_graph(nodes, "mlp", [vi("x", [4, 16])], [vi("y", [4, 8]), vi("cls", [4], TensorProto.INT64)],
                          inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)


def sqrt_model(path, abs_first=False):
    """y = sqrt(x): NaN for the negative random inputs, unless abs_first."""
    nodes = [helper.make_node("Abs", ["x"], ["ax"], name="/abs")] if abs_first else []
    nodes.append(helper.make_node("Sqrt", ["ax" if abs_first else "x"], ["y"], name="/sqrt"))
    g = helper.make_graph(nodes, "g", [vi("x", [64])], [vi("y", [64])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)


def test_help():
    r = kiln("compare", "--help")
    for flag in ["--reference", "--input", "--shape", "--atol", "--rtol", "--per-layer", "--seed"]:
        check(flag in r.stdout, f"compare --help describes {flag}")
    check("compare" in kiln("--help").stdout, "kiln --help lists compare")
    check(kiln("help", "compare").stdout == r.stdout, "kiln help compare")


def test_sample():
    r = expect(["compare", SAMPLE, "--shape", "input=2x3x64x64"], 0, "kiln compare: PASS", "sample passes")
    check(re.search(r"logits +float32 +2x10 +max abs \S+ +max rel \S+ +rel L2 \S+ +PASS", r.stdout),
          f"per-output line: {r.stdout}")
    r = expect(["compare", SAMPLE, "--per-layer", "--layout", "nchw"], 0, "no layer diverges",
               "sample --per-layer passes")
    for name in ["/GlobalAveragePool_1", "/Gemm_1", "/Conv_1"]:
        check(name in r.stdout, f"--per-layer lists {name}")
    check(re.search(r"/Conv_1 +FusedConv +relu_1 .* ok", r.stdout),
          "a fused convolution's output keeps the absorbed Relu's name and is compared with it")
    # channels-last: each convolution's [N, H, W, C] output is compared with the reference's NCHW tensor
    r = expect(["compare", SAMPLE, "--per-layer", "--layout", "nhwc", "--shape", "input=2x3x64x64"], 0,
               "no layer diverges", "sample --per-layer --layout nhwc passes")
    for conv in ("1", "2", "3"):
        check(re.search(rf"/Conv_{conv} +NhwcConv +relu_{conv}\.nhwc__\d+ .* ok", r.stdout),
              f"channels-last /Conv_{conv} is compared with the reference's relu_{conv}:\n{r.stdout}")
    x = np.random.default_rng(3).standard_normal((1, 3, 64, 64)).astype(np.float32)
    np.save(os.path.join(TMP, "x.npy"), x)
    expect(["compare", SAMPLE, "--input", f"input={TMP}/x.npy", "--seed", "4"], 0, "PASS", "sample with --input")


def test_rounding_tolerance():
    """Folding BatchNorm into the convolutions changes rounding: exact comparison fails downstream."""
    r = expect(["compare", SAMPLE, "--atol", "0", "--rtol", "0", "--per-layer", "--layout", "nchw"], 1,
               "kiln compare: FAIL", "sample with zero tolerance")
    check(first_divergence(r.stdout) == ("/Conv_1", "FusedConv", "relu_1"),
          f"zero tolerance: first divergent layer: {first_divergence(r.stdout)}")
    expect(["compare", SAMPLE, "--atol", "0", "--rtol", "1e-3"], 0, "PASS", "sample with rtol only")


def test_generated_models():
    a, b, big = (os.path.join(TMP, n) for n in ("a.onnx", "b.onnx", "big.onnx"))
    mlp(a)
    mlp(b, w2_delta=1e-3)
    mlp(big, w2_delta=0.5)
    r = expect(["compare", a, "--per-layer"], 0, "kiln compare: PASS", "mlp passes")
    check(re.search(r"cls +int64 +4 +max abs 0 .*PASS", r.stdout), f"int64 output compared exactly: {r.stdout}")
    for name in ["/fc2", "/scale", "/fc3", "/argmax"]:
        check(name in r.stdout, f"mlp --per-layer lists {name}")
    # a small weight change: caught by the default tolerances, accepted by a loose one
    r = expect(["compare", a, "--reference", b], 1, "FAIL", "changed weight fails the default tolerances")
    check("elements over the tolerance" in r.stdout, "mismatch counts elements")
    expect(["compare", a, "--reference", b, "--atol", "0.1"], 0, "PASS", "loose --atol accepts the small change")
    expect(["compare", a, "--reference", b, "--atol", "0", "--rtol", "0.5"], 0, "PASS", "loose --rtol accepts it")
    sq = os.path.join(TMP, "sqrt.onnx")
    sqrt_model(sq)
    expect(["compare", sq], 0, "PASS", "NaN matches NaN")
    sq_abs = os.path.join(TMP, "sqrt_abs.onnx")
    sqrt_model(sq_abs, abs_first=True)
    r = expect(["compare", sq, "--reference", sq_abs, "--atol", "1"], 1, "FAIL", "NaN against a number fails")
    check(re.search(r"max abs nan .* \(\d+ of 64 elements over the tolerance, \d+ NaN on one side only\)", r.stdout),
          f"NaN mismatch report: {r.stdout}")


def test_engine_divergence():
    a, big = os.path.join(TMP, "a.onnx"), os.path.join(TMP, "big.onnx")
    engine = os.path.join(TMP, "a.engine")
    r = kiln("build", a, "-o", engine)
    check(r.returncode == 0, f"build engine: {r.stderr}")
    r = expect(["compare", engine, "--reference", a, "--per-layer"], 0, "kiln compare: PASS",
               "engine file against its own model")
    check("(engine file," in r.stdout and "/fc3" in r.stdout, f"engine --per-layer: {r.stdout}")
    r = expect(["compare", engine, "--reference", big, "--per-layer"], 1, "kiln compare: FAIL",
               "engine against a model with one changed weight in /fc2")
    check(first_divergence(r.stdout) == ("/fc2", "MatMul", "h2"),
          f"first divergent layer is /fc2: {first_divergence(r.stdout)}\n{r.stdout}")
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^ +\d+ +(\S+) +\S+ +\S+ +\S+ +\S+ +(ok|FAIL)", r.stdout,
                                                          re.M)}
    check(rows.get("/fc2") == "FAIL" and rows.get("/fc3") == "FAIL", f"table marks /fc2 and /fc3: {rows}")


def test_errors():
    engine = os.path.join(TMP, "a.engine")
    expect(["compare", engine], 2, "--reference MODEL.onnx", "engine file without --reference", "stderr")
    expect(["compare", SAMPLE, "--reference", engine], 2, "--reference takes an ONNX model", "engine as reference",
           "stderr")
    expect(["compare"], 2, "no MODEL", "no model", "stderr")
    expect(["compare", SAMPLE, "--atol", "tight"], 2, "--atol takes", "bad --atol", "stderr")
    expect(["compare", SAMPLE, "--rtol", "-1"], 2, "--rtol takes", "negative --rtol", "stderr")
    expect(["compare", SAMPLE, "--bogus"], 2, "unexpected argument", "unknown flag", "stderr")
    expect(["compare", SAMPLE, "--atol"], 2, "missing its value", "flag without value", "stderr")
    expect(["compare", SAMPLE, "--shape", "input=axb"], 2, "--shape takes", "malformed --shape", "stderr")
    expect(["compare", SAMPLE, "--input", "nosuch=x.npy"], 1, "no input of that name", "unknown input", "stderr")
    expect(["compare", os.path.join(TMP, "missing.onnx")], 1, "missing.onnx", "missing model", "stderr")
    expect(["compare", SAMPLE, "--reference", os.path.join(TMP, "a.onnx")], 1, "kiln: reference:", "unrelated reference",
           "stderr")


def main():
    global SAMPLE, TMP
    SAMPLE = sys.argv[2]
    cli_harness.setup(sys.argv[1])
    with tempfile.TemporaryDirectory() as TMP:
        test_help()
        test_sample()
        test_rounding_tolerance()
        test_generated_models()
        test_engine_divergence()
        test_errors()
    return cli_harness.finish()


if __name__ == "__main__":
    sys.exit(main())
