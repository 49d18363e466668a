#!/usr/bin/env python3
"""Tests of the channels-last layout (--layout nhwc|nchw|auto) on small
targeted graphs: convolution chains with pools, residuals, depthwise and
grouped convolutions, channel Concats, scalar elementwise ops, a global pool
before the classifier, outputs taken from the middle of a chain, and a
symbolic batch. Each case checks what the layout pass reports (layers made
channels-last, entering transposes), which ops the engine runs (from
`kiln inspect ENGINE`), and that `kiln run` gives the unoptimized graph's
outputs (relative L2 error <= 1e-5) on fresh random inputs, built in NHWC,
in NCHW and chosen by measurement (auto).

usage: test_layout.py KILN"""
import os
import re
import sys
import tempfile

import numpy as np
from onnx import TensorProto, helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # tests/: cli_harness
import cli_harness  # noqa: E402
from cli_harness import (check, compare_outputs, const, expect_error, kiln, model, run_to_dir,  # noqa: E402
                         save_case, save_feeds, vi)

RNG = np.random.default_rng()


def random(shape, scale=1.0):
    return (scale * RNG.standard_normal(shape)).astype(np.float32)


def conv(x, out, cin, cout, k=3, name=None, group=1, stride=1, pad=None, bias=True):
    """A Conv node and its initializers (random weights, scaled to keep activations near 1)."""
    pad = k // 2 if pad is None else pad
    w = random((cout, cin // group, k, k), scale=1.0 / np.sqrt(cin // group * k * k))
    inits = [const(out + "_w", w)]
    inputs = [x, out + "_w"]
    if bias:
        inits.append(const(out + "_b", random((cout,), 0.1)))
        inputs.append(out + "_b")
    node = helper.make_node("Conv", inputs, [out], name=name or out, kernel_shape=[k, k], pads=[pad] * 4,
                            strides=[stride, stride], group=group)
    return [node], inits


def layer_ops(engine_path):
    """The op of every layer `kiln inspect ENGINE` lists, in execution order."""
    r = kiln("inspect", engine_path)
    check(r.returncode == 0, f"inspect {engine_path} failed: {r.stderr}")
    return re.findall(r"^\s+\d+ (\S+)\s", r.stdout.partition("\nlayers:")[2], re.M)


def run_case(name, m, feeds, converted, entries, ops=(), shape=()):
    """converted / entries: what the NHWC build's layout pass must report; ops: op types its engine must run
    (each at least once); shape: --shape arguments for a symbolic model."""
    failed = cli_harness.FAILED
    with tempfile.TemporaryDirectory() as tmp:
        path = save_case(tmp, name, m)
        args = save_feeds(tmp, feeds) + [a for s in shape for a in ("--shape", s)]
        r, ref = run_to_dir(path, args, os.path.join(tmp, "ref"), "--optimization-level", "0")
        check(r.returncode == 0, f"{name}: reference run failed: {r.stderr}")
        r = kiln("inspect", path, "--optimized", "--layout", "nhwc", *args[len(feeds) * 2:])
        check(r.returncode == 0, f"{name}: inspect failed: {r.stderr}")
        want = f"layout_nhwc: {converted} layers channels-last, {entries} entering transposes"
        check(want in r.stdout, f"{name}: no '{want}' in:\n{r.stdout}")
        eng = os.path.join(tmp, name + ".kiln")
        build_shape = [a for s in shape for a in ("--shape", s)]
        r = kiln("build", path, "-o", eng, "--layout", "nhwc", *build_shape)
        check(r.returncode == 0, f"{name}: build --layout nhwc failed: {r.stderr}")
        got = layer_ops(eng)
        for op in ops:
            check(op in got, f"{name}: the NHWC engine runs no {op}: {got}")
        check(not {"Conv", "FusedConv"} & set(got), f"{name}: NCHW convolutions left in the NHWC engine: {got}")
        r, outs = run_to_dir(eng, args, os.path.join(tmp, "engine"))
        check(r.returncode == 0, f"{name}: run of the NHWC engine failed: {r.stderr}")
        compare_outputs(name, "NHWC engine", ref, outs, 1e-5, same_dtype=True)
        for layout in ("nchw", "nhwc", "auto"):
            r, outs = run_to_dir(path, args, os.path.join(tmp, layout), "--layout", layout)
            check(r.returncode == 0, f"{name}: run --layout {layout} failed: {r.stderr}")
            compare_outputs(name, f"--layout {layout}", ref, outs, 1e-5, same_dtype=True)
    print(f"{name}: {'ok' if cli_harness.FAILED == failed else 'FAILED'}")


def test_resnet_block():
    """Stem conv + max pool, a bottleneck with a projection shortcut, global pool, Flatten, Gemm: one entering
    transpose (the image) and none leaving (Flatten reads the pooled [N, 1, 1, C] as it is)."""
    nodes, inits = conv("x", "stem", 3, 16, k=7, stride=2, pad=3)
    nodes.append(helper.make_node("Relu", ["stem"], ["stem_r"]))
    nodes.append(helper.make_node("MaxPool", ["stem_r"], ["pool"], kernel_shape=[3, 3], strides=[2, 2],
                                  pads=[1, 1, 1, 1]))
    for x, out, cin, cout, k in (("pool", "a", 16, 8, 1), ("a_r", "b", 8, 8, 3), ("b_r", "c", 8, 32, 1),
                                 ("pool", "proj", 16, 32, 1)):
        n, i = conv(x, out, cin, cout, k=k)
        nodes += n
        inits += i
        if out in ("a", "b"):
            nodes.append(helper.make_node("Relu", [out], [out + "_r"]))
    nodes.append(helper.make_node("Add", ["c", "proj"], ["sum"]))
    nodes.append(helper.make_node("Relu", ["sum"], ["sum_r"]))
    nodes.append(helper.make_node("GlobalAveragePool", ["sum_r"], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], axis=1))
    nodes.append(helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], transB=1))
    inits += [const("fc_w", random((10, 32), 0.2)), const("fc_b", random((10,), 0.1))]
    m = model(nodes, [vi("x", [2, 3, 32, 32])], [vi("logits", [2, 10])], inits)
    # stem, pool, a, b, c (with the shortcut fused in), proj, gap
    run_case("resnet_block", m, {"x": random((2, 3, 32, 32))}, 7, 1,
             ops=("NhwcConv", "NhwcMaxPool", "NhwcGlobalAveragePool", "Transpose", "Gemm"))


def test_mobilenet_block():
    """Expansion 1x1 + ReLU6, depthwise 3x3 stride 1 + ReLU6, projection 1x1, residual Add; a second block with
    a stride-2 depthwise; average pool at the end, output kept NCHW (one leaving transpose)."""
    nodes, inits = [], []
    x = "x"
    for blk, (cin, stride, residual) in enumerate(((8, 1, True), (8, 2, False))):
        p = f"b{blk}_"
        for step, (k, cout, group, s) in enumerate(((1, 24, 1, 1), (3, 24, 24, stride), (1, 8, 1, 1))):
            n, i = conv(x if step == 0 else f"{p}{step - 1}_a", f"{p}{step}", cin if step == 0 else 24, cout, k=k,
                        group=group, stride=s)
            nodes += n
            inits += i
            if step < 2:
                nodes.append(helper.make_node("Clip", [f"{p}{step}", "zero", "six"], [f"{p}{step}_a"]))
        out = f"{p}out"
        if residual:
            nodes.append(helper.make_node("Add", [f"{p}2", x], [out]))
        else:
            nodes.append(helper.make_node("Identity", [f"{p}2"], [out]))
        x = out
    nodes.append(helper.make_node("AveragePool", [x], ["y"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1],
                                  count_include_pad=0))
    inits += [const("zero", np.array(0, np.float32)), const("six", np.array(6, np.float32))]
    m = model(nodes, [vi("x", [1, 8, 20, 20])], [vi("y", [1, 8, 10, 10])], inits)
    run_case("mobilenet_block", m, {"x": random((1, 8, 20, 20))}, 7, 1,
             ops=("NhwcConv", "NhwcAveragePool", "Transpose"))


def test_concat_grouped_scalar():
    """Two conv branches (one grouped) concatenated on channels, a Sigmoid, a Mul by a scalar constant and a
    Sub of the branches: all channels-last; a Conv output that is also a graph output leaves through a
    transpose; a ReduceMean (no channels-last form) reads the NCHW copy."""
    nodes, inits = conv("x", "p", 8, 8, k=3)
    n, i = conv("x", "q", 8, 8, k=3, group=2)
    nodes += n
    inits += i
    nodes += [helper.make_node("Concat", ["p", "q"], ["cat"], axis=1),
              helper.make_node("Sigmoid", ["cat"], ["sig"]),
              helper.make_node("Mul", ["sig", "half"], ["scaled"]),
              helper.make_node("Sub", ["p", "q"], ["diff"]),
              helper.make_node("ReduceMean", ["scaled"], ["mean"], axes=[2, 3], keepdims=0)]
    inits.append(const("half", np.array(0.5, np.float32)))
    m = model(nodes, [vi("x", [1, 8, 9, 11])], [vi("mean", [1, 16]), vi("diff", [1, 8, 9, 11]),
                                                 vi("p", [1, 8, 9, 11])], inits)
    run_case("concat_grouped_scalar", m, {"x": random((1, 8, 9, 11))}, 6, 1,
             ops=("NhwcConv", "Concat", "Sigmoid", "Mul", "Sub", "ReduceMean"))


def test_symbolic_batch():
    """A symbolic batch: the layout pass works on symbolic dims; run at batch 3."""
    nodes, inits = conv("x", "c1", 4, 8, k=3)
    nodes.append(helper.make_node("Relu", ["c1"], ["r1"]))
    n, i = conv("r1", "c2", 8, 8, k=3, stride=2)
    nodes += n
    inits += i
    nodes.append(helper.make_node("MaxPool", ["c2"], ["y"], kernel_shape=[2, 2], strides=[2, 2]))
    m = model(nodes, [vi("x", ["N", 4, 16, 16])], [vi("y", ["N", 8, 4, 4])], inits)
    run_case("symbolic_batch", m, {"x": random((3, 4, 16, 16))}, 3, 1, ops=("NhwcConv", "NhwcMaxPool"),
             shape=("x=3x4x16x16",))


def test_no_convolutions():
    """A model without convolutions: --layout nhwc changes nothing, auto builds only NCHW."""
    with tempfile.TemporaryDirectory() as tmp:
        m = model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [1, 4, 5, 5])], [vi("y", [1, 4, 5, 5])])
        path = save_case(tmp, "no_conv", m)
        for layout in ("nhwc", "auto"):
            r = kiln("inspect", path, "--optimized", "--layout", layout)
            check(r.returncode == 0 and "layout" not in r.stdout.partition("optimized:")[2],
                  f"no_conv: --layout {layout} reported a layout: {r.stdout}{r.stderr}")
    print("no_convolutions: ok")


def test_auto_reports_measurement():
    """--layout auto times both layouts and says which it kept and the two times."""
    with tempfile.TemporaryDirectory() as tmp:
        nodes, inits = conv("x", "c", 8, 16, k=3)
        m = model(nodes, [vi("x", [1, 8, 24, 24])], [vi("c", [1, 16, 24, 24])], inits)
        path = save_case(tmp, "auto", m)
        r = kiln("inspect", path, "--optimized", "--layout", "auto")
        found = re.search(r"layout: (NHWC|NCHW), measured at build: NHWC ([\d.]+) ms a run, NCHW ([\d.]+) ms",
                          r.stdout)
        check(r.returncode == 0 and found, f"auto: no measurement in: {r.stdout}{r.stderr}")
        if found:
            nhwc, nchw = float(found.group(2)), float(found.group(3))
            check(found.group(1) == ("NHWC" if nhwc < nchw else "NCHW"), f"auto: kept the slower layout: {found[0]}")
    print("auto_reports_measurement: ok")


def test_bad_layout_flag():
    with tempfile.TemporaryDirectory() as tmp:
        m = model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [1, 4])], [vi("y", [1, 4])])
        path = save_case(tmp, "bad_flag", m)
        for cmd in (["build", path, "-o", os.path.join(tmp, "e.kiln")], ["run", path], ["inspect", path]):
            expect_error(cmd + ["--layout", "nhcw"], 2, "--layout takes auto, nchw or nhwc, got 'nhcw'",
                         f"{cmd[0]} --layout nhcw")
    print("bad_layout_flag: ok")


if __name__ == "__main__":
    cli_harness.setup(sys.argv[1])
    test_resnet_block()
    test_mobilenet_block()
    test_concat_grouped_scalar()
    test_symbolic_batch()
    test_no_convolutions()
    test_auto_reports_measurement()
    test_bad_layout_flag()
    cli_harness.finish()
