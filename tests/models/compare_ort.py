#!/usr/bin/env python3
"""Runs a model through `kiln run` and through ONNX Runtime (CPU) on the same
seeded inputs and compares every output by relative L2 error
||kiln - ort|| / ||ort||. Exits 1 when any output is above --tol.

usage: compare_ort.py --kiln PATH MODEL [--dim NAME=N ...] [--tol 1e-4] [--seed 0] [--fixed]
Symbolic dims are set with --dim (for example --dim batch=8 --dim sequence=128).
Integer inputs get ids in [0, 1000); inputs named *mask* get ones with the last
quarter of each row zero (padding), so attention masks are exercised."""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort

NP_TYPES = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.DOUBLE: np.float64,
            onnx.TensorProto.INT64: np.int64, onnx.TensorProto.INT32: np.int32,
            onnx.TensorProto.BOOL: np.bool_, onnx.TensorProto.FLOAT16: np.float16}


def make_inputs(model, dims, seed):
    rng = np.random.default_rng(seed)
    feeds = {}
    inits = {i.name for i in model.graph.initializer}
    for inp in model.graph.input:
        if inp.name in inits:
            continue
        t = inp.type.tensor_type
        shape = []
        for d in t.shape.dim:
            if d.HasField("dim_value"):
                shape.append(d.dim_value)
            elif d.dim_param in dims:
                shape.append(dims[d.dim_param])
            else:
                sys.exit(f"input {inp.name}: give --dim {d.dim_param or '?'}=N")
        dtype = NP_TYPES[t.elem_type]
        if np.issubdtype(dtype, np.floating):
            feeds[inp.name] = rng.standard_normal(shape).astype(dtype)
        elif "mask" in inp.name:
            m = np.ones(shape, dtype)
            if shape and shape[-1] >= 4:
                m[..., -(shape[-1] // 4):] = 0
            feeds[inp.name] = m
        elif dtype == np.bool_:
            feeds[inp.name] = rng.integers(0, 2, shape).astype(np.bool_)
        else:
            feeds[inp.name] = rng.integers(0, 1000, shape).astype(dtype)
    return feeds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--dim", action="append", default=[])
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fixed", action="store_true",
                    help="build the engine for the inputs' exact shapes (--shape): shape subgraphs fold, the "
                         "activation arena is planned and the autotuner picks tactics")
    a = ap.parse_args()
    dims = {k: int(v) for k, v in (d.split("=") for d in a.dim)}
    model = onnx.load(a.model, load_external_data=False)
    feeds = make_inputs(model, dims, a.seed)
    name = os.path.basename(a.model)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [a.kiln, "run", a.model, "--output-dir", os.path.join(tmp, "out")]
        for k, v in feeds.items():
            p = os.path.join(tmp, f"in{len(cmd)}.npy")
            np.save(p, v)
            cmd += ["--input", f"{k}={p}"]
            if a.fixed:
                cmd += ["--shape", f"{k}={'x'.join(str(d) for d in v.shape)}"]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        t_kiln = time.perf_counter() - t0
        if r.returncode != 0:
            print(f"{name}: kiln run failed ({r.returncode}): {r.stderr.strip()}")
            return 1
        print(r.stdout.strip())
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = os.cpu_count() or 1
        sess = ort.InferenceSession(a.model, opts, providers=["CPUExecutionProvider"])
        t0 = time.perf_counter()
        want = sess.run(None, feeds)
        t_ort = time.perf_counter() - t0
        failed = 0
        for out, ref in zip(sess.get_outputs(), want):
            fname = out.name.replace("/", "_").replace("\\", "_")
            got = np.load(os.path.join(tmp, "out", fname + ".npy"))
            if got.shape != ref.shape or got.dtype != ref.dtype:
                print(f"{name} {out.name}: kiln gives {got.dtype}{got.shape}, ONNX Runtime {ref.dtype}{ref.shape}")
                failed += 1
                continue
            g64, r64 = got.astype(np.float64), ref.astype(np.float64)
            rel = np.linalg.norm(g64 - r64) / max(np.linalg.norm(r64), 1e-30)
            ok = rel <= a.tol and np.isfinite(g64).all()
            failed += not ok
            print(f"{name} {out.name} {list(ref.shape)}: relative L2 error vs ONNX Runtime {rel:.3e} "
                  f"(max abs {np.abs(g64 - r64).max():.3e}) {'ok' if ok else 'FAIL'} (tolerance {a.tol:g})")
        print(f"{name}: kiln process {t_kiln:.2f} s (load + build + run), ONNX Runtime run {t_ort:.2f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
