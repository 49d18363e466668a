#!/usr/bin/env python3
"""Dynamic shapes on the CPU: one BERT-base engine, many sequence lengths.

The script

  1. writes BERT-base with tests/models/make_models.py (inputs input_ids and
     attention_mask, [batch, sequence] int64) unless --models-dir has it;
  2. builds ONE engine with an optimization profile over the sequence:
     `kiln build --profile input_ids=1x1:1x128:1x512,attention_mask=1x1:1x128:1x512`;
  3. for comparison, builds an engine fixed at each benchmarked length
     (`kiln build --shape ...`), which is what that length should cost;
  4. loads each engine through the C API (ctypes on libkiln.so), binds seeded
     token ids in [0, 1000) and an all-ones mask, checks that the dynamic
     engine's outputs equal the fixed engine's, runs --warmup untimed runs and
     then --repeats timed runs of kiln_context_run (the two engines' runs
     alternating), and reports the median.

The point: the dynamic engine runs 5 tokens at about the cost of 5 tokens, not
at the profile's MAX of 512 (its activation arena is laid out for 512 once;
smaller runs use the start of each slot). Results are printed and written as
markdown with date, machine, kiln commit and the command line.

usage: bert_dynamic.py [--build DIR] [--models-dir DIR] [--lengths 5,8,64,128,512] [--repeats N] [--threads N]
"""
import argparse
import ctypes
import datetime
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
PROFILE = "input_ids=1x1:1x128:1x512,attention_mask=1x1:1x128:1x512"
KILN_INT64 = 7


class TensorView(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int), ("rank", ctypes.c_int),
                ("dims", ctypes.c_int64 * 8), ("data", ctypes.c_void_p), ("nbytes", ctypes.c_size_t)]


class Kiln:
    """The few C API calls the benchmark needs."""

    def __init__(self, lib_path):
        self.lib = ctypes.CDLL(str(lib_path))
        self.lib.kiln_last_error.restype = ctypes.c_char_p
        self.lib.kiln_context_set_input.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
                                                    ctypes.POINTER(ctypes.c_int64), ctypes.c_void_p, ctypes.c_size_t]
        for fn in ("kiln_engine_free", "kiln_context_free"):
            getattr(self.lib, fn).argtypes = [ctypes.c_void_p]
        self.lib.kiln_context_create.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
        self.lib.kiln_context_run.argtypes = [ctypes.c_void_p]
        self.lib.kiln_context_output.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                                 ctypes.POINTER(TensorView)]
        self.lib.kiln_engine_memory.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t),
                                                ctypes.POINTER(ctypes.c_size_t)]

    def check(self, status, what):
        if status != 0:
            raise RuntimeError(f"{what}: {self.lib.kiln_last_error().decode()}")

    def load(self, path):
        engine = ctypes.c_void_p()
        self.check(self.lib.kiln_engine_load(str(path).encode(), ctypes.byref(engine)), f"load {path}")
        return engine

    def arena_mib(self, engine):
        naive, planned = ctypes.c_size_t(), ctypes.c_size_t()
        self.check(self.lib.kiln_engine_memory(engine, ctypes.byref(naive), ctypes.byref(planned)), "memory")
        return planned.value / 2**20


class Session:
    """A context on an engine with BERT's two inputs bound at one length."""

    def __init__(self, kiln, engine, seq):
        self.kiln = kiln
        self.ctx = ctypes.c_void_p()
        kiln.check(kiln.lib.kiln_context_create(engine, ctypes.byref(self.ctx)), "context")
        rng = np.random.default_rng(seq)
        self.inputs = {"input_ids": rng.integers(0, 1000, (1, seq), dtype=np.int64),
                       "attention_mask": np.ones((1, seq), dtype=np.int64)}
        dims = (ctypes.c_int64 * 2)(1, seq)
        for name, a in self.inputs.items():
            kiln.check(kiln.lib.kiln_context_set_input(self.ctx, name.encode(), KILN_INT64, 2, dims,
                                                       a.ctypes.data, a.nbytes), f"bind {name} at 1x{seq}")

    def run(self):
        t0 = time.perf_counter()
        self.kiln.check(self.kiln.lib.kiln_context_run(self.ctx), "run")
        return (time.perf_counter() - t0) * 1e3

    def output(self, name):
        v = TensorView()
        self.kiln.check(self.kiln.lib.kiln_context_output(self.ctx, name.encode(), 0, ctypes.byref(v)), name)
        shape = tuple(v.dims[:v.rank])
        return np.ctypeslib.as_array(ctypes.cast(v.data, ctypes.POINTER(ctypes.c_float)), shape=shape).copy()

    def close(self):
        self.kiln.lib.kiln_context_free(self.ctx)


def kiln_build(kiln_cli, model, engine, flags):
    cmd = [str(kiln_cli), "build", str(model), "-o", str(engine), *flags]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"{shlex.join(cmd)} failed:\n{r.stderr}")
    return shlex.join(cmd)


def timed(sessions, warmup, repeats):
    """(median, min, max) ms per session; the sessions' runs alternate so both see the same background load."""
    for _ in range(warmup):
        for s in sessions:
            s.run()
    times = [[] for _ in sessions]
    for _ in range(repeats):
        for s, t in zip(sessions, times):
            t.append(s.run())
    return [(statistics.median(t), min(t), max(t)) for t in times]


def measure(kiln, dyn, fixed, seq, args):
    """Median ms of the dynamic and the fixed engine at seq, and their largest output difference."""
    a, b = Session(kiln, dyn, seq), Session(kiln, fixed, seq)
    a.run()
    b.run()
    diff = max(float(np.max(np.abs(a.output(n) - b.output(n)))) for n in ("last_hidden_state", "pooler_output"))
    dyn_t, fixed_t = timed((a, b), args.warmup, args.repeats)
    a.close()
    b.close()
    return dyn_t, fixed_t, diff


def machine():
    model, cores = "?", os.cpu_count()
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    return f"{model}, {cores} logical CPUs"


def commit(args):
    if args.commit:
        return args.commit
    def git(*a):
        return subprocess.run(["git", "-C", str(REPO), *a], capture_output=True, text=True).stdout.strip()
    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    return git("rev-parse", "--short", "HEAD") + dirty


def report(rows, args, dyn_cmd, arena, load):
    lines = [f"# BERT-base with a dynamic sequence profile, CPU ({datetime.date.today()})", "",
             f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
             f"- machine: {machine()}; load average (1 min) {load[0]:.1f} at the start, {load[1]:.1f} at the end "
             "(other processes share the machine: compare the columns of one row, which ran interleaved)",
             f"- kiln commit: {commit(args)}; threads: {args.threads or 'all CPUs'} (kiln_set_threads)",
             f"- command: `python3 {shlex.join(sys.argv)}`",
             f"- dynamic engine: `{dyn_cmd}` (activation arena {arena:.1f} MiB, laid out for 1x512)",
             f"- timing: {args.warmup} warm-up run(s), then the median of {args.repeats} timed "
             "`kiln_context_run` calls on one context per engine (inputs bound once; C API through ctypes); "
             "the two engines' runs alternate, so both see the same background load",
             "- fixed: an engine built for exactly that length (`kiln build --shape input_ids=1xN "
             "--shape attention_mask=1xN`), i.e. what N tokens should cost",
             "", "| tokens | dynamic engine, median ms (min..max) | fixed-shape engine, median ms (min..max) | "
             "dynamic / fixed | max abs output diff |", "|---:|---:|---:|---:|---:|"]
    for seq, (d, f, diff) in rows:
        lines.append(f"| {seq} | {d[0]:.1f} ({d[1]:.1f}..{d[2]:.1f}) | {f[0]:.1f} ({f[1]:.1f}..{f[2]:.1f}) | "
                     f"{d[0] / f[0]:.2f} | {diff:.2g} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=str(REPO / "build"), help="kiln build folder (kiln and libkiln.so)")
    ap.add_argument("--models-dir", help="folder with bert_base.onnx (written there when absent)")
    ap.add_argument("--lengths", default="5,8,64,128,512", help="sequence lengths, comma-separated")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", help="markdown file (default bench/results/DATE-bert-dynamic-cpu.md)")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (kiln_set_threads; default 0: all CPUs)")
    ap.add_argument("--commit", default="", help="the kiln commit to report, for a tree without its git history")
    args = ap.parse_args()
    build = Path(args.build)
    kiln = Kiln(build / "libkiln.so")
    if kiln.lib.kiln_set_threads(args.threads) != 0:
        sys.exit(f"kiln_set_threads({args.threads}): {kiln.lib.kiln_last_error().decode()}")
    lengths = [int(x) for x in args.lengths.split(",")]
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        models = Path(args.models_dir or tmp)
        model = models / "bert_base.onnx"
        if not model.exists():
            subprocess.run([sys.executable, str(REPO / "tests/models/make_models.py"), str(models), "bert_base"],
                           check=True, stdout=subprocess.DEVNULL)
        dyn_path = Path(tmp) / "bert_dynamic.engine"
        dyn_cmd = kiln_build(build / "kiln", model, dyn_path, ["--profile", PROFILE])
        dyn = kiln.load(dyn_path)
        rows = []
        for seq in lengths:
            fixed_path = Path(tmp) / f"bert_{seq}.engine"
            kiln_build(build / "kiln", model, fixed_path,
                       ["--shape", f"input_ids=1x{seq}", "--shape", f"attention_mask=1x{seq}"])
            fixed = kiln.load(fixed_path)
            rows.append((seq, measure(kiln, dyn, fixed, seq, args)))
            kiln.lib.kiln_engine_free(fixed)
            d, f, diff = rows[-1][1]
            print(f"seq {seq:4d}: dynamic {d[0]:9.1f} ms   fixed {f[0]:9.1f} ms   ratio {d[0] / f[0]:.2f}   "
                  f"max diff {diff:.2g}", flush=True)
        text = report(rows, args, dyn_cmd, kiln.arena_mib(dyn), (load_start, os.getloadavg()[0]))
        kiln.lib.kiln_engine_free(dyn)
    out = Path(args.out or REPO / "bench" / "results" / f"{datetime.date.today()}-bert-dynamic-cpu.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
