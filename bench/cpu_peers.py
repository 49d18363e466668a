#!/usr/bin/env python3
"""Benchmarks kiln against ONNX Runtime on the CPU.

For ResNet-50, MobileNetV2 and BERT-base (sequence 128), each at batch 1 and 8,
the script

  1. writes seeded inputs as .npy files (the inputs of tests/models/compare_ort.py:
     normal floats, token ids in [0, 1000), attention masks with the last quarter
     of each row padded);
  2. builds a kiln engine for exactly that shape (`kiln build --shape ... --threads T`,
     the thread count of the runs, so that its autotuner times the tactics as they
     will run) and lists the tactics it chose;
  3. creates an ONNX Runtime session (CPU provider, ORT_ENABLE_ALL, intra-op threads
     equal to kiln's thread count, inter-op 1);
  4. warms both up and checks that kiln's outputs match ONNX Runtime's (relative L2
     error ||kiln - ort|| / ||ort|| <= --tol for every output); a configuration whose
     outputs do not match gets no speed, only the error;
  5. times both in short interleaved rounds until the configuration's time budget is
     spent. A kiln round is one `kiln run ENGINE --input ... --warmup 1 --iterations N
     --output-dir DIR` process and its value is the mean that the CLI prints (engine
     load and the process's first, untimed run are not included: the session on the
     other side is warm too). An ONNX Runtime round is N timed
     `session.run` calls on the warm session and its value is their mean. N is chosen
     so that one side of a round takes about --round-seconds; the outputs of every
     kiln round are checked again. Rounds alternate which side goes first, so the two
     sides of a round see nearly the same background load.

The reported latency is the median over rounds of the per-round means, with the
interquartile range over rounds as the spread. The kiln/ORT throughput ratio is
given twice: the median (and interquartile range) of the per-round ratios, and ORT's
fastest round over kiln's, which background load disturbs least. FLOPs are counted
by this script from the model (2 per multiply-add of every Conv, MatMul and Gemm,
shapes from ONNX Runtime's symbolic shape inference at the benchmarked shape);
`kiln inspect`'s figure is listed next to it for comparison. The results are
printed as a table and written as markdown with the machine, versions, command
line and per-round data.
"""
import argparse
import datetime
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "models"))
from compare_ort import make_inputs  # noqa: E402  (the model tests' seeded inputs)

# (label, file written by tests/models/make_models.py, symbolic dims besides batch)
MODELS = [
    ("ResNet-50", "resnet50.onnx", {}),
    ("MobileNetV2", "mobilenetv2.onnx", {}),
    ("BERT-base seq 128", "bert_base.onnx", {"sequence": 128}),
]
MODEL_NAMES = [f.removesuffix(".onnx") for _, f, _ in MODELS]
BATCHES = (1, 8)
KILN_RUN_LINE = re.compile(r"run ([\d.]+) ms mean / ([\d.]+) ms best over (\d+) iteration")
# Pause between the two sides of a round so that ONNX Runtime's spinning pool
# threads have gone to sleep before kiln starts (and the kiln process is gone
# before ONNX Runtime starts).
SWITCH_PAUSE_S = 0.1


class WrongResult(Exception):
    """kiln's outputs differ from ONNX Runtime's by more than the tolerance."""


@dataclass
class Result:
    model: str
    batch: int
    flops: float  # per run, at this batch
    max_err: float = float("nan")
    error: str = ""  # set when no speed is reported
    iterations: int = 0
    kiln_ms: list = field(default_factory=list)  # per-round means
    ort_ms: list = field(default_factory=list)
    loadavg: str = ""
    tactics: str = ""  # the engine's layers per tactic, from `kiln inspect ENGINE`
    inspect_gflop: float = float("nan")  # `kiln inspect MODEL --shape ...`'s FLOP count

    @property
    def ratios(self):
        """kiln/ORT throughput ratio of each round (ORT latency / kiln latency)."""
        return [o / k for k, o in zip(self.kiln_ms, self.ort_ms)]

    @property
    def fastest_ratio(self):
        """ORT's fastest round over kiln's: the ratio least disturbed by background load."""
        return min(self.ort_ms) / min(self.kiln_ms)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kiln", default=str(REPO / "build" / "kiln"),
                    help="the kiln executable, a Release or RelWithDebInfo build (default: %(default)s)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="threads for both: kiln's --threads (and OMP_NUM_THREADS of its process), "
                         "intra_op_num_threads of ONNX Runtime (default: all logical CPUs, %(default)s)")
    ap.add_argument("--layout", default="auto", choices=("auto", "nchw", "nhwc"),
                    help="kiln build --layout: where convolutions keep channels; auto times both at build "
                         "(default: %(default)s)")
    ap.add_argument("--models-dir",
                    help="folder with resnet50.onnx, mobilenetv2.onnx and bert_base.onnx; missing ones are "
                         "written there by tests/models/make_models.py (default: a temporary folder)")
    ap.add_argument("--seconds-per-config", type=float, default=80.0,
                    help="timing budget of one model/batch: rounds go on until it is spent (default: %(default)s)")
    ap.add_argument("--min-rounds", type=int, default=5,
                    help="fewest interleaved kiln/ORT rounds per configuration, even past the budget "
                         "(default: %(default)s)")
    ap.add_argument("--round-seconds", type=float, default=1.0,
                    help="target time of one side of a round; the iterations per round follow from it and "
                         "the slower side's warm-up latency (default: %(default)s)")
    ap.add_argument("--min-iterations", type=int, default=3, help="fewest iterations per round (default: %(default)s)")
    ap.add_argument("--warmup", type=int, default=2,
                    help="warm-up iterations: ORT runs them on its session after the reference run, kiln in one "
                         "untimed process (default: %(default)s)")
    ap.add_argument("--models", default=",".join(MODEL_NAMES),
                    help="comma-separated models to run, of " + ", ".join(MODEL_NAMES) + " (default: all)")
    ap.add_argument("--batches", default=",".join(map(str, BATCHES)),
                    help="comma-separated batch sizes (default: %(default)s)")
    ap.add_argument("--tol", type=float, default=1e-4, help="largest relative L2 error accepted (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the inputs (default: %(default)s)")
    ap.add_argument("--out", help="markdown file to write (default: bench/results/DATE-cpu-peers-HOSTKIND.md, "
                                  "HOSTKIND from the CPU model and core count)")
    ap.add_argument("--commit", default="",
                    help="the kiln commit to report, for a copy of the tree without its git history")
    ap.add_argument("--note", default="", help="text added to the markdown file under 'Notes'")
    args = ap.parse_args()
    args.models = [m for m in args.models.split(",") if m]
    bad = [m for m in args.models if m not in MODEL_NAMES]
    if bad or not args.models:
        ap.error(f"--models: unknown {', '.join(bad) or '(none given)'}; choose from {', '.join(MODEL_NAMES)}")
    try:
        args.batches = [int(b) for b in args.batches.split(",")]
    except ValueError:
        ap.error(f"--batches: '{args.batches}' is not a comma-separated list of integers")
    if not args.batches or min(args.batches) < 1:
        ap.error("--batches: batch sizes are 1 or more")
    return args


def sh(cmd, **kw):
    """Runs cmd and returns its stdout; raises with its stderr on failure."""
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{shlex.join(map(str, cmd))} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def ensure_models(models_dir, names):
    missing = [f for _, f, _ in MODELS if f.removesuffix(".onnx") in names and not (models_dir / f).exists()]
    if missing:
        print(f"writing {', '.join(missing)} to {models_dir}", flush=True)
        sh([sys.executable, str(REPO / "tests" / "models" / "make_models.py"), str(models_dir),
            *[f.removesuffix(".onnx") for f in missing]])


def count_flops(model_path, dims):
    """FLOPs of one run at the given symbolic dims: 2 per multiply-add of Conv, MatMul and Gemm."""
    model = onnx.load(model_path)  # with its weights: shape inference reads small constants
    for inp in model.graph.input:
        for d in inp.type.tensor_type.shape.dim:
            if d.dim_param in dims:
                d.dim_value = dims[d.dim_param]
    model = SymbolicShapeInference.infer_shapes(model)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in [*model.graph.value_info, *model.graph.input, *model.graph.output]}
    shapes.update({i.name: list(i.dims) for i in model.graph.initializer})
    flops = 0
    for node in model.graph.node:
        if node.op_type not in ("Conv", "MatMul", "Gemm"):
            continue
        a, b, y = (shapes[n] for n in (node.input[0], node.input[1], node.output[0]))
        if node.op_type == "Conv":
            macs_per_output = int(np.prod(b[1:]))  # input channels per group x kernel
        elif node.op_type == "Gemm" and any(at.name == "transA" and at.i for at in node.attribute):
            macs_per_output = a[0]
        else:
            macs_per_output = a[-1]
        flops += 2 * int(np.prod(y)) * macs_per_output
    return flops


def kiln_inspect_flops(kiln, model_path, shapes):
    """The 'flops:' line of `kiln inspect MODEL --shape ...` (at the benchmarked shapes), in GFLOP."""
    m = re.search(r"^flops: ([\d.]+) GFLOP", sh([kiln, "inspect", str(model_path), *shapes]), re.M)
    return float(m.group(1))


def run_kiln(kiln, engine, input_args, iterations, out_dir, env):
    """One `kiln run` process; returns the (mean, best) milliseconds the CLI prints."""
    out = sh([kiln, "run", str(engine), *input_args, "--warmup", "1", "--iterations", str(iterations), "--threads",
              env["KILN_BENCH_THREADS"], "--output-dir", str(out_dir)], env=env)
    m = KILN_RUN_LINE.search(out)
    if not m or int(m.group(3)) != iterations:
        raise RuntimeError(f"unexpected kiln run output: {out.strip()}")
    return float(m.group(1)), float(m.group(2))


def rel_l2(got, ref):
    g, r = got.astype(np.float64), ref.astype(np.float64)
    return float(np.linalg.norm(g - r) / max(np.linalg.norm(r), 1e-30))


def check_outputs(out_dir, names, refs, tol):
    """Largest relative L2 error of kiln's outputs in out_dir; raises WrongResult above tol."""
    worst = 0.0
    for name, ref in zip(names, refs):
        got = np.load(out_dir / (name.replace("/", "_").replace("\\", "_") + ".npy"))
        if got.shape != ref.shape or got.dtype != ref.dtype:
            raise WrongResult(f"{name}: kiln gives {got.dtype}{list(got.shape)}, ORT {ref.dtype}{list(ref.shape)}")
        err = rel_l2(got, ref)
        if not (err <= tol and np.isfinite(got).all()):
            raise WrongResult(f"{name}: relative L2 error {err:.3e} > {tol:g}")
        worst = max(worst, err)
    return worst


def time_ort(sess, feeds, iterations):
    """Milliseconds of each of `iterations` session.run calls."""
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        sess.run(None, feeds)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def bench_config(args, label, model_path, dims, batch, work):
    """Builds, checks and times one model at one batch size."""
    dims = {"batch": batch, **dims}
    res = Result(label, batch, count_flops(model_path, dims))
    feeds = make_inputs(onnx.load(model_path, load_external_data=False), dims, args.seed)
    input_args, shapes = [], []
    for name, value in feeds.items():
        path = work / f"{name}.npy"
        np.save(path, value)
        input_args += ["--input", f"{name}={path}"]
        shapes += ["--shape", f"{name}={'x'.join(map(str, value.shape))}"]
    # kiln's build and runs get the same --threads, so that the autotuner times its tactics as
    # `kiln run` will run them (OMP_NUM_THREADS for libraries that use OpenMP)
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "KILN_BENCH_THREADS": str(args.threads)}
    engine = work / "model.engine"
    print(f"{label} batch {batch}: " + sh([args.kiln, "build", str(model_path), "-o", str(engine), *shapes,
                                          "--threads", str(args.threads), "--layout", args.layout],
                                         env=env).strip(), flush=True)
    res.inspect_gflop = kiln_inspect_flops(args.kiln, model_path, shapes)
    tactics = re.findall(r" tactic (\S+)", sh([args.kiln, "inspect", str(engine)]))
    res.tactics = ", ".join(f"{t} {tactics.count(t)}" for t in sorted(set(tactics), key=tactics.count, reverse=True))

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    refs = sess.run(None, feeds)
    ort_est = time_ort(sess, feeds, args.warmup)[-1]

    out_dir = work / "out"
    _, kiln_est = run_kiln(args.kiln, engine, input_args, args.warmup, out_dir, env)
    try:
        res.max_err = check_outputs(out_dir, names, refs, args.tol)
    except WrongResult as e:
        res.error = str(e)
        return res

    res.iterations = max(args.min_iterations, round(args.round_seconds * 1e3 / max(kiln_est, ort_est)))
    res.loadavg = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"  warm-up: kiln {kiln_est:.1f} ms, ORT {ort_est:.1f} ms, max rel L2 error {res.max_err:.2e}; "
          f"rounds of {res.iterations} iterations (load average {res.loadavg})", flush=True)
    deadline = time.perf_counter() + args.seconds_per_config
    r = 0
    while r < args.min_rounds or time.perf_counter() < deadline:
        for side in (("kiln", "ort") if r % 2 == 0 else ("ort", "kiln")):
            if side == "kiln":
                mean, _ = run_kiln(args.kiln, engine, input_args, res.iterations, out_dir, env)
                res.kiln_ms.append(mean)
                try:
                    res.max_err = max(res.max_err, check_outputs(out_dir, names, refs, args.tol))
                except WrongResult as e:
                    res.error = f"round {r + 1}: {e}"
                    return res
            else:
                res.ort_ms.append(statistics.fmean(time_ort(sess, feeds, res.iterations)))
            time.sleep(SWITCH_PAUSE_S)
        r += 1
    print(f"  {r} rounds: kiln {spread(res.kiln_ms, '{:.1f}')} ms, ORT {spread(res.ort_ms, '{:.1f}')} ms", flush=True)
    return res


def binary_age(kiln):
    """How the kiln binary's modification time compares with the newest tracked source file."""
    built = os.path.getmtime(kiln)
    try:
        sources = sh(["git", "-C", str(REPO), "ls-files", "src", "include", "tools", "cmake", "CMakeLists.txt"]).split()
    except (RuntimeError, OSError):  # a copy of the tree without its git history
        sources = [str(f.relative_to(REPO)) for d in ("src", "include", "tools", "cmake")
                   for f in (REPO / d).rglob("*") if f.is_file()] + ["CMakeLists.txt"]
    newest = max((REPO / f for f in sources if (REPO / f).exists()), key=lambda f: f.stat().st_mtime)
    stamp = datetime.datetime.fromtimestamp(built).astimezone().isoformat(timespec="seconds")
    if newest.stat().st_mtime <= built:
        return f"built {stamp}, after the last change to its sources"
    changed = datetime.datetime.fromtimestamp(newest.stat().st_mtime).astimezone().isoformat(timespec="seconds")
    return (f"built {stamp}, STALE: {newest.relative_to(REPO)} changed at {changed}, so the binary may not match "
            "the commit above")


def machine_info(args):
    lscpu = dict(line.split(":", 1) for line in sh(["lscpu"]).splitlines() if ":" in line)
    lscpu = {k.strip(): v.strip() for k, v in lscpu.items()}
    isa = [f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16") if f in lscpu.get("Flags", "").split()]
    blas = re.search(r"(\S*blas\S*) => (\S+)", sh(["ldd", args.kiln]))
    if args.commit:
        commit = args.commit
    else:
        try:
            dirty = sh(["git", "--no-optional-locks", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"])
            commit = (sh(["git", "-C", str(REPO), "rev-parse", "HEAD"]).strip()
                      + (" (with uncommitted changes to tracked files)" if dirty.strip() else ""))
        except (RuntimeError, OSError):
            commit = "unknown (a copy of the tree without git history; pass --commit)"
    return {
        "cpu": lscpu.get("Model name", "?"),
        "cores": f"{os.cpu_count()} logical CPUs ({lscpu.get('Core(s) per socket', '?')} cores per socket, "
                 f"{lscpu.get('Socket(s)', '?')} socket(s), {lscpu.get('Thread(s) per core', '?')} thread(s) per core)",
        "virtualization": lscpu.get("Hypervisor vendor", "none"),
        "isa": " ".join(isa),
        "caches": ", ".join(f"{k} {lscpu[k]}" for k in ("L1d cache", "L2 cache", "L3 cache") if k in lscpu),
        "commit": commit,
        "kiln": f"{sh([args.kiln, '--version']).splitlines()[0]} ({args.kiln}, {binary_age(args.kiln)})",
        "blas": os.path.basename(os.path.realpath(blas.group(2))) if blas else "not linked",
        "versions": f"onnxruntime {ort.__version__}, numpy {np.__version__}, onnx {onnx.__version__}, "
                    f"Python {sys.version.split()[0]}",
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": shlex.join([os.path.basename(sys.executable), *sys.argv]),
    }


def spread(values, fmt):
    """'median (first quartile–third quartile)' of values."""
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else values * 3
    return f"{fmt.format(q2)} ({fmt.format(q1)}–{fmt.format(q3)})"


def results_table(results, threads):
    rows = ["| model | batch | threads | kiln ms | ORT ms | kiln items/s | ORT items/s | kiln/ORT | "
            "kiln/ORT fastest rounds | kiln GFLOP/s | ORT GFLOP/s | max rel L2 err | rounds × iters |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        if r.error:
            rows.append(f"| {r.model} | {r.batch} | {threads} | WRONG RESULT: {r.error} |" + " |" * 9)
            continue
        k, o = statistics.median(r.kiln_ms), statistics.median(r.ort_ms)
        rows.append(
            f"| {r.model} | {r.batch} | {threads} | {spread(r.kiln_ms, '{:.1f}')} | {spread(r.ort_ms, '{:.1f}')} "
            f"| {r.batch / k * 1e3:.2f} | {r.batch / o * 1e3:.2f} | {spread(r.ratios, '{:.2f}')} "
            f"| {r.fastest_ratio:.2f} "
            f"| {r.flops / k / 1e6:.1f} | {r.flops / o / 1e6:.1f} | {r.max_err:.1e} "
            f"| {len(r.kiln_ms)} × {r.iterations} |")
    return "\n".join(rows)


def write_markdown(path, args, info, results):
    timed = [r for r in results if not r.error]
    worst = min(timed, key=lambda r: statistics.median(r.ratios)) if timed else None
    lines = [
        f"# kiln vs ONNX Runtime on the CPU — {info['date'][:10]}",
        "",
        f"Command: `{info['command']}` (run from `{REPO}`)",
        "",
        "## Machine and software",
        "",
        f"- CPU: {info['cpu']} (lscpu), {info['cores']}; hypervisor: {info['virtualization']}",
        f"- ISA flags (lscpu): {info['isa']}; {info['caches']}",
        f"- kiln commit {info['commit']}; {info['kiln']}; BLAS: {info['blas']}",
        f"- {info['versions']}",
        f"- started {info['date']}",
        f"- threads: {args.threads} for both (kiln: --threads {args.threads}, OMP_NUM_THREADS={args.threads}; "
        f"ONNX Runtime: CPUExecutionProvider, ORT_ENABLE_ALL, intra_op_num_threads={args.threads}, "
        "inter_op_num_threads=1)",
        "",
        "## Method",
        "",
        f"Each configuration: seeded inputs (seed {args.seed}); a kiln engine built for that shape with "
        "`kiln build --shape --threads` (the thread count of `kiln run`, so that its autotuner "
        "times the tactics at the benchmarked thread count; the tactics it chose are listed below); one "
        "ONNX Runtime session. Warm-up: the reference run and "
        f"{args.warmup} more ORT runs on the session, one untimed `kiln run --iterations {args.warmup}` "
        "process; "
        f"every output of kiln must match ONNX Runtime to relative L2 error <= {args.tol:g} (checked after "
        "the warm-up and after every timed kiln process), else no speed is reported. Then "
        f"interleaved rounds (alternating which side goes first) for {args.seconds_per_config:g} s, at least "
        f"{args.min_rounds}: a kiln round is one "
        "`kiln run ENGINE --input ... --warmup 1 --iterations N` process and its value is the mean the CLI "
        "prints (engine load and the process's first, untimed run excluded, as the ORT session is warm); an "
        "ONNX Runtime round is N timed `session.run` calls and its value is their mean. "
        f"N is chosen so that one side of a round takes about {args.round_seconds:g} s, so the two sides of "
        "a round see nearly the same background load. "
        "Latency below is the median of the round values with (first–third quartile) over rounds; items/s and "
        "GFLOP/s use the median; kiln/ORT is the throughput ratio (ORT latency / kiln latency), median "
        "(quartiles) of the per-round ratios, so above 1 means kiln is faster. On a loaded machine the "
        "medians of the two sides can disagree with the median ratio; the ratio is the paired figure. "
        "'kiln/ORT fastest rounds' divides ORT's fastest round by kiln's: the least-disturbed figure on a "
        "shared machine.",
        "",
        "## Results",
        "",
        results_table(results, args.threads),
        "",
    ]
    if worst:
        lines += [f"kiln is furthest behind on {worst.model} batch {worst.batch} (kiln/ORT "
                  f"{statistics.median(worst.ratios):.2f}, fastest rounds {worst.fastest_ratio:.2f}).",
                  ""]
    lines += ["## FLOPs per run", "",
              "Counted by the script (2 per multiply-add of Conv, MatMul and Gemm at the benchmarked shape); "
              "`kiln inspect MODEL --shape ...` counts every op (one FLOP per output element besides the "
              "products) at the same shapes.", "",
              "| model | batch | GFLOP (script) | `kiln inspect --shape` GFLOP |", "|---|---:|---:|---:|"]
    lines += [f"| {r.model} | {r.batch} | {r.flops / 1e9:.3f} | {r.inspect_gflop:.3f} |" for r in results]
    lines += ["", "## kiln engines: layers per tactic", "", "| model | batch | tactics |", "|---|---:|---|"]
    lines += [f"| {r.model} | {r.batch} | {r.tactics} |" for r in results]
    if timed:
        lines += ["", "## Per-round latencies (ms)", "",
                  "| model | batch | load average at start (1/5/15 min) | kiln | ORT |", "|---|---:|---|---|---|"]
    lines += [f"| {r.model} | {r.batch} | {r.loadavg} | {' '.join(f'{v:.1f}' for v in r.kiln_ms)} "
              f"| {' '.join(f'{v:.1f}' for v in r.ort_ms)} |" for r in timed]
    if args.note:
        lines += ["", "## Notes", "", args.note]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def main():
    args = parse_args()
    args.kiln = str(Path(args.kiln).resolve())
    info = machine_info(args)
    if "STALE" in info["kiln"]:
        print(f"warning: kiln binary {info['kiln']}", file=sys.stderr)
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kiln-bench-") as tmp:
        models_dir = Path(args.models_dir) if args.models_dir else Path(tmp) / "models"
        models_dir.mkdir(parents=True, exist_ok=True)
        ensure_models(models_dir, args.models)
        results = []
        for label, file, dims in MODELS:
            if file.removesuffix(".onnx") not in args.models:
                continue
            for batch in args.batches:
                work = Path(tmp) / f"{file}-b{batch}"
                work.mkdir()
                results.append(bench_config(args, label, models_dir / file, dims, batch, work))
    print()
    print(results_table(results, args.threads))
    cpu = re.sub(r"\((r|tm)\)|\b(processor|cpu)\b|@.*", "", info["cpu"].lower())
    slug = re.sub(r"[^a-z0-9]+", "-", cpu).strip("-") + f"-{os.cpu_count()}c"
    out = Path(args.out) if args.out else REPO / "bench" / "results" / f"{info['date'][:10]}-cpu-peers-{slug}.md"
    write_markdown(out, args, info, results)
    print(f"\nwrote {out} ({time.perf_counter() - t_start:.0f} s)")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
