#!/usr/bin/env python3
"""Tests of `kiln bench` (latency percentiles, throughput, the per-layer
profile) and of the CPU thread count on the command line (`--threads` of
run and bench): the report is complete and consistent with itself and with
`kiln inspect`, and the thread count changes speed, never results.

usage: test_bench.py KILN SAMPLE_MODEL"""
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # tests/: cli_harness
import cli_harness  # noqa: E402
from cli_harness import check, expect_error, kiln, rel_l2  # noqa: E402

LATENCY = re.compile(r"latency ms: mean ([\d.]+)  min ([\d.]+)  p50 ([\d.]+)  p90 ([\d.]+)  p95 ([\d.]+)  "
                     r"p99 ([\d.]+)  max ([\d.]+)")
ROW = re.compile(r"^\s*(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$")


def profile_rows(text):
    return [m.groups() for m in map(ROW.match, text.splitlines()) if m]


def test_bench_report(tmp):
    engine = os.path.join(tmp, "sample.engine")
    r = kiln("build", MODEL, "-o", engine, "--shape", "input=2x3x64x64")
    check(r.returncode == 0, f"build: {r.stderr}")
    r = kiln("bench", engine, "--iterations", "7", "--warmup", "2", "--threads", "2", "--profile")
    check(r.returncode == 0, f"bench: {r.stderr}")
    check("2 threads, 2 warm-up + 7 timed runs" in r.stdout, f"bench names threads and runs: {r.stdout}")
    m = LATENCY.search(r.stdout)
    check(m is not None, f"bench prints the latency line: {r.stdout}")
    if m:
        mean, lo, p50, p90, p95, p99, hi = map(float, m.groups())
        check(0 < lo <= p50 <= p90 <= p95 <= p99 <= hi and lo <= mean <= hi, f"percentiles in order: {m.groups()}")
        t = re.search(r"throughput: ([\d.]+) runs/s, ([\d.]+) samples/s \(batch 2\)", r.stdout)
        check(t is not None and abs(float(t.group(2)) - 2 * float(t.group(1))) <= 0.02 * float(t.group(2)) + 0.01,
              f"throughput in samples is batch x runs: {r.stdout}")
    rows = profile_rows(r.stdout)
    layers = re.search(r"layers: (\d+)", kiln("inspect", engine).stdout)
    check(layers is not None and len(rows) == int(layers.group(1)),
          f"the profile has one row per executed layer: {len(rows)} rows, inspect says {layers and layers.group(0)}")
    ms = [float(row[1]) for row in rows]
    check(ms == sorted(ms, reverse=True), "the profile lists the slowest layer first")
    check(rows and abs(float(rows[-1][3]) - 100.0) < 0.1, "the cumulative share ends at 100%")
    inside = re.search(r"; ([\d.]+) ms of ([\d.]+) ms per run inside layers", r.stdout)
    check(inside is not None and float(inside.group(1)) <= float(inside.group(2)) * 1.001 and
          abs(sum(ms) - float(inside.group(1))) <= 0.01 * float(inside.group(1)) + 0.005 * len(ms),
          f"the layer times add up to the time inside layers: {sum(ms)} vs {inside and inside.group(0)}")
    ops = re.findall(r"^(\S+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)$", r.stdout.split("per op type:")[-1], re.M)
    check(ops and sum(int(o[1]) for o in ops) == len(rows) and
          abs(sum(float(o[2]) for o in ops) - sum(ms)) <= 0.002 * len(ops) + 0.01 * sum(ms),
          f"the per-op totals cover every layer and add up: {ops}")
    check(len({o[0] for o in ops}) == len(ops) == len({row[4] for row in rows}), "one total per op type")
    top = profile_rows(kiln("bench", engine, "--iterations", "2", "--warmup", "0", "--profile", "--top", "3").stdout)
    check(len(top) == 3, f"--top 3 prints three layers, got {len(top)}")
    r = kiln("bench", MODEL, "--iterations", "2", "--warmup", "0")
    check(r.returncode == 0 and "note: input 'input' dim 0 (batch) set to 1" in r.stderr and
          "(batch 1)" in r.stdout, f"an ONNX model's symbolic batch becomes 1, with a note: {r.stderr}")


def test_threads_change_speed_not_results(tmp):
    outs = []
    for threads in ("1", "2", "3"):
        d = os.path.join(tmp, f"out{threads}")
        r = kiln("run", MODEL, "--shape", "input=3x3x64x64", "--threads", threads, "--output-dir", d)
        check(r.returncode == 0, f"run --threads {threads}: {r.stderr}")
        outs.append(np.load(os.path.join(d, "logits.npy")))
    # each run tunes its own engine: a different tactic may round differently
    check(all(rel_l2(o, outs[0]) <= 1e-5 for o in outs), "outputs agree across thread counts")
    expect_error(["run", MODEL, "--threads", "0"], 2, "--threads takes a number from 1 to 256", "run --threads 0")
    expect_error(["bench", MODEL, "--threads", "x"], 2, "--threads takes a number", "bench --threads x")
    expect_error(["bench", MODEL, "--iterations", "0"], 2, "--iterations takes a number", "bench --iterations 0")
    expect_error(["bench", MODEL, "--top"], 2, "", "bench --top without a value")
    r = kiln("bench", "--help")
    for flag in ["--iterations", "--warmup", "--threads", "--profile", "--top", "--input", "--shape"]:
        check(flag in r.stdout, f"bench --help describes {flag}")


def main():
    return cli_harness.run_tests(test_bench_report, test_threads_change_speed_not_results, tmp=True)


if __name__ == "__main__":
    MODEL = sys.argv[2]
    cli_harness.setup(sys.argv[1], timeout=600)
    sys.exit(main())
