#!/usr/bin/env python3
"""Tests of the autotuner through the command line: with --no-tune every
layer keeps the reference kernel (tuning is the default); a rebuild with the timing cache times
nothing (every tuned layer a cache hit, much faster); --tactic-sources
restricts the tactics chosen; an engine file keeps its tactics (kiln inspect
lists the build's choices) and gives the model's outputs within float32
rounding.

usage: test_tuning.py KILN SAMPLE_MODEL"""
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # tests/: cli_harness
import cli_harness  # noqa: E402
from cli_harness import check, kiln, rel_l2  # noqa: E402

OPENBLAS_TACTICS = {"conv_im2col_sgemm", "conv_pointwise_sgemm", "conv_winograd_f2x3"}
SHAPE = "input=4x3x64x64"


def summary(out):
    """(layers tuned, cache hits, ms) from the build's summary line."""
    m = re.search(r"tuned (\d+) layers \((\d+) from the timing cache\) in ([\d.]+) ms", out)
    return (int(m.group(1)), int(m.group(2)), float(m.group(3))) if m else None


def layer_tactics(engine):
    r = kiln("inspect", engine)
    return re.findall(r"^\s+\d+ (\S+)\s+(\S+)\s+tactic (\S+)$", r.stdout, re.M)


def build(tmp, name, *extra):
    engine = os.path.join(tmp, name)
    # the NCHW convolutions' tactics (test_layout.py covers the channels-last ones)
    r = kiln("build", MODEL, "-o", engine, "--shape", SHAPE, "--layout", "nchw", *extra)
    check(r.returncode == 0, f"build {name}: {r.stderr.strip()}")
    check(r.stderr == "", f"build {name} prints nothing on stderr when it is not a terminal: {r.stderr!r}")
    return engine, r.stdout


def run_outputs(tmp, model, name):
    out = os.path.join(tmp, name)
    r = kiln("run", model, "--shape", SHAPE, "--seed", "3", "--output-dir", out, "--layout", "nchw")
    check(r.returncode == 0, f"run {model}: {r.stderr.strip()}")
    return np.load(os.path.join(out, "logits.npy"))


def test_no_tune_is_reference(tmp):
    engine, out = build(tmp, "plain.kiln", "--no-tune")
    tactics = {t for _, _, t in layer_tactics(engine)}
    check(tactics == {"reference"} and "tuned" not in out, f"--no-tune keeps the reference kernels: {tactics} {out}")
    engine, out = build(tmp, "default.kiln")
    tactics = {t for op, _, t in layer_tactics(engine) if op in ("Conv", "FusedConv")}
    check("tuned" in out and tactics != {"reference"}, f"tuning is the default: {tactics} {out}")


def test_timing_cache(tmp):
    cache = os.path.join(tmp, "timing.cache")
    _, first = build(tmp, "a.kiln", "--timing-cache", cache)
    _, second = build(tmp, "b.kiln", "--timing-cache", cache)
    s1, s2 = summary(first), summary(second)
    check(s1 is not None and s2 is not None, f"summary lines: {first!r} {second!r}")
    if not s1 or not s2:
        return
    check(s1[0] > 0, f"the first build tunes some layers: {s1}")
    check(s2[0] == s1[0] and s2[1] == s2[0], f"the rebuild answers every tuned layer from the cache: {s2}")
    check(s2[2] < s1[2] / 5, f"the rebuild tunes much faster: {s1[2]} ms then {s2[2]} ms")
    check(os.path.getsize(cache) > 0 and open(cache).readline().startswith("kiln-timing-cache"), "cache file")
    check(layer_tactics(os.path.join(tmp, "a.kiln")) == layer_tactics(os.path.join(tmp, "b.kiln")),
          "the cached build chooses the tactics the timed one did")


def test_tactic_sources(tmp):
    engine, out = build(tmp, "kiln_only.kiln", "--tactic-sources", "kiln", "--verbose")
    tactics = layer_tactics(engine)
    convs = [t for op, _, t in tactics if op in ("Conv", "FusedConv")]
    check(convs, f"the engine has conv layers: {tactics}")
    check(not OPENBLAS_TACTICS & set(convs), f"--tactic-sources kiln chooses no OpenBLAS tactic: {convs}")
    check("conv_direct" in convs, f"a kiln tactic is chosen where one applies: {convs}")
    engine, _ = build(tmp, "blas_only.kiln", "--tactic-sources", "openblas")
    convs = [t for op, _, t in layer_tactics(engine) if op in ("Conv", "FusedConv")]
    check(set(convs) <= OPENBLAS_TACTICS, f"--tactic-sources openblas chooses OpenBLAS tactics: {convs}")


def test_engine_keeps_tactics(tmp):
    engine, out = build(tmp, "log.kiln", "--verbose")
    logged = dict(re.findall(r"^\s+layer (\S+)\s+\S+\s+(\S+)\s+[\d.]+ ms", out, re.M))
    inspected = {name: t for _, name, t in layer_tactics(engine)}
    check(logged and all(inspected.get(k) == v for k, v in logged.items()),
          f"inspect lists the tactics of the build log: {logged} vs {inspected}")
    ours = run_outputs(tmp, engine, "engine_out")
    again = run_outputs(tmp, engine, "engine_out2")
    onnx_out = run_outputs(tmp, MODEL, "model_out")
    check(np.array_equal(ours, again), "a loaded engine gives the same outputs every time")
    err = rel_l2(ours, onnx_out)
    check(err <= 1e-5, f"the engine's tactics agree with the model run: relative L2 {err:.3g}")


def main():
    return cli_harness.run_tests(test_no_tune_is_reference, test_timing_cache, test_tactic_sources,
                                 test_engine_keeps_tactics, tmp=True)


if __name__ == "__main__":
    MODEL = sys.argv[2]
    cli_harness.setup(sys.argv[1], timeout=600)
    sys.exit(main())
