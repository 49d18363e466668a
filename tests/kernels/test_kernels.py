#!/usr/bin/env python3
"""Numerics test of kiln's CPU kernels against a float64 reference, in the
manner of ggml's test-backend-ops.

For every case of the table in cases.py it builds a one-node ONNX model,
draws fresh random inputs (seeded from the clock unless --seed is given; the
seed is printed), runs the model through `kiln run`, and computes the
reference with onnx.reference.ReferenceEvaluator on a float64 copy of the
model fed the same values in float64 (or with the case's numpy reference, see
references.py). It prints one line per case (op, input shapes, dtype,
relative L2 error ||out - ref|| / ||ref||, tolerance, attributes), then
"N passed, M failed, K skipped", and exits 1 on any failure.

Integer and bool outputs and data-movement ops must match bitwise. A case
marked as a known kiln bug prints "known" while it fails and counts as a
failure once it passes (so that the mark is removed). Cases marked
may_be_unsupported are skipped while kiln reports "unsupported op".

usage: test_kernels.py [--kiln PATH] [--seed N] [--small] [--only REGEX]
                       [--case I]... [--save DIR] [--jobs N]"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cases import EXACT, FLOAT, all_cases  # noqa: E402
from references import OVERRIDES  # noqa: E402

KILN_MAX_OPSET = 28
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def default_opset(op):
    """21, or the op's newest version for ops added after opset 21."""
    try:
        onnx.defs.get_schema(op, 21)
        return 21
    except onnx.defs.SchemaError:
        return onnx.defs.get_schema(op, KILN_MAX_OPSET).since_version


def build_model(case, values):
    """The one-node model for inputs `values` (None where omitted), typed as
    they are; constants become initializers."""
    names, graph_inputs, initializers = [], [], []
    for i, (spec, value) in enumerate(zip(case.inputs, values)):
        if spec is None:
            names.append("")
            continue
        name = f"in{i}"
        names.append(name)
        if spec.value is not None:
            initializers.append(numpy_helper.from_array(value, name))
        else:
            graph_inputs.append(helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(value.dtype),
                                                              value.shape))
    attrs = {k: numpy_helper.from_array(v) if isinstance(v, np.ndarray) else v for k, v in case.attrs.items()}
    slots = case.output_slots()
    outputs = [f"out{i}" if i in slots else "" for i in range(slots[-1] + 1)]
    node = helper.make_node(case.op, names, outputs, **attrs)
    graph = helper.make_graph([node], case.op, graph_inputs,
                              [helper.make_tensor_value_info(f"out{i}", TensorProto.UNDEFINED, None) for i in slots],
                              initializer=initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", case.opset or default_opset(case.op))])


def draw_inputs(case, rng):
    """kiln's inputs (FLOAT ones in the case's dtype) and the reference's
    (the same values, FLOAT ones in float64)."""
    ours, ref = [], []
    for spec in case.inputs:
        if spec is None:
            ours.append(None)
            ref.append(None)
            continue
        dtype = case.dtype if spec.dtype is FLOAT else spec.dtype
        ref_dtype = case.ref_dtype if spec.dtype is FLOAT else spec.ref_dtype or spec.dtype
        raw = spec.value if spec.value is not None else spec.gen(rng, spec.shape)
        value = np.asarray(raw).astype(dtype)
        ours.append(value)
        ref.append(value.astype(ref_dtype))
    return ours, ref


def reference(case, ref_inputs):
    if case.ref:
        outputs = case.ref(*ref_inputs, **case.attrs)
        return [outputs[i] for i in case.output_slots()]
    model = build_model(case, ref_inputs)
    feeds = {f"in{i}": v for i, (s, v) in enumerate(zip(case.inputs, ref_inputs)) if s is not None and s.value is None}
    return ReferenceEvaluator(model, new_ops=OVERRIDES).run(None, feeds)


def output_types(model, case, want):
    """The outputs' element types; where ONNX shape inference gives none
    (function ops such as GroupNormalization), the reference's, float64
    standing for the case's dtype. Sets them in the model."""
    types = []
    for vi, w in zip(model.graph.output, want):
        if not vi.type.tensor_type.elem_type:
            dtype = np.asarray(w).dtype
            vi.type.tensor_type.elem_type = helper.np_dtype_to_tensor_dtype(
                np.dtype(case.dtype) if dtype == np.float64 else dtype)
        types.append(vi.type.tensor_type.elem_type)
    return types


def run_kiln(kiln, case, model, inputs, workdir, layout):
    onnx.save(model, os.path.join(workdir, "model.onnx"))
    args = [kiln, "run", os.path.join(workdir, "model.onnx"), "--output-dir", os.path.join(workdir, "out"),
            "--layout", layout]
    for i, (spec, value) in enumerate(zip(case.inputs, inputs)):
        if spec is not None and spec.value is None:
            path = os.path.join(workdir, f"in{i}.npy")
            np.save(path, value)
            args += ["--input", f"in{i}={path}"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        lines = r.stderr.strip().splitlines() or [f"exit code {r.returncode}"]
        sanitizer = [line for line in lines if "ERROR: " in line or "runtime error" in line]
        return None, (sanitizer or lines)[-1 if not sanitizer else 0]
    return [np.load(os.path.join(workdir, "out", f"out{i}.npy")) for i in case.output_slots()], None


def compare(got, want, expected_dtype, tol):
    """(error, detail): the relative L2 error for float outputs compared with
    a tolerance, else the fraction of elements that differ bitwise."""
    want = np.asarray(want)
    if got.dtype != expected_dtype:
        return np.inf, f"dtype {got.dtype}, expected {expected_dtype}"
    if got.shape != want.shape:
        return np.inf, f"shape {got.shape}, expected {want.shape}"
    if tol == EXACT:
        want = want.astype(got.dtype)
        if got.dtype.kind == "f":
            differ = got.view(f"u{got.itemsize}") != want.view(f"u{want.itemsize}")
        else:
            differ = got != want
        if not differ.any():
            return 0.0, ""
        first = np.unravel_index(np.argmax(differ), differ.shape)
        return differ.mean(), (f"{differ.sum()}/{differ.size} differ, first at {tuple(int(i) for i in first)}: "
                               f"{got[first]!r}, expected {want[first]!r}")
    g, w = got.astype(np.float64), want.astype(np.float64)
    norm = np.linalg.norm(w)
    err = np.linalg.norm(g - w) / (norm if norm > 0 else 1.0)
    if not np.isfinite(err):
        return np.inf, f"non-finite output or reference (nan in output: {np.isnan(g).sum()})"
    worst = np.unravel_index(np.argmax(np.abs(g - w)), g.shape) if g.size else ()
    return err, f"largest difference at {tuple(int(i) for i in worst)}: {g[worst]!r}, expected {w[worst]!r}"


def run_case(kiln, index, case, seed, save_dir, layout):
    """(status, error, tolerance, detail): status is ok, FAIL, skip, known or
    FIXED; error and tolerance are text."""
    try:  # errors here are mistakes in the case, not in kiln
        ours, ref_inputs = draw_inputs(case, np.random.default_rng([seed, index]))
        model = onnx.shape_inference.infer_shapes(build_model(case, ours))
        with np.errstate(over="ignore"):  # Cast to float16 overflows to inf on purpose
            want = reference(case, ref_inputs)
        out_types = output_types(model, case, want)
    except Exception as e:
        return "FAIL", "-", "-", f"case error: {type(e).__name__}: {e}"
    if save_dir:
        workdir = os.path.join(save_dir, f"case{index}_{case.op}")
        os.makedirs(workdir, exist_ok=True)
        for i, w in enumerate(want):
            np.save(os.path.join(workdir, f"ref{i}.npy"), w)
        got, error = run_kiln(kiln, case, model, ours, workdir, layout)
    else:
        with tempfile.TemporaryDirectory() as workdir:
            got, error = run_kiln(kiln, case, model, ours, workdir, layout)
    if error:
        if case.may_be_unsupported and "unsupported op" in error:
            return "skip", "-", "-", error
        return known("FAIL", case), "-", "-", f"kiln failed: {error}"
    worst, details, failed, tols = 0.0, [], False, set()
    for i, (g, w, elem_type) in enumerate(zip(got, want, out_types)):
        expected_dtype = np.dtype(helper.tensor_dtype_to_np_dtype(elem_type))
        tol = case.tolerance() if expected_dtype.kind == "f" else EXACT
        tols.add("exact" if tol == EXACT else f"{tol:.0e}")
        err, detail = compare(g, w, expected_dtype, tol)
        worst = max(worst, err)
        if err > tol:
            failed = True
            details.append(f"output {i}: {detail}")
    status = known("FAIL" if failed else "ok", case)
    return status, f"{worst:.1e}", "/".join(sorted(tols)), "; ".join(details)


def known(status, case):
    """A known failure's status: known while it fails, FIXED once it passes."""
    if not case.known_failure:
        return status
    return "known" if status == "FAIL" else "FIXED"


def describe(case):
    """Text for a case's inputs, dtype and attributes."""
    def one(spec):
        if spec is None:
            return "-"
        if spec.value is not None and spec.value.size > 4:
            return "<" + "x".join(map(str, spec.value.shape)) + ">"
        if spec.value is not None:
            return "=" + re.sub(r"\s+", "", np.array2string(spec.value, separator=","))
        return "x".join(map(str, spec.shape)) or "()"

    shapes = " ".join(one(s) for s in case.inputs)
    floats = any(s is not None and s.dtype is FLOAT for s in case.inputs)
    first = next((s for s in case.inputs if s is not None), None)
    dtype = np.dtype(case.dtype if floats or first is None else first.dtype).name

    def value(key, v):
        if key in ("to", "dtype"):
            return TensorProto.DataType.Name(v)
        return ",".join(map(str, v)) if isinstance(v, list) else str(v)

    attrs = " ".join(f"{k}={value(k, v)}" for k, v in case.attrs.items() if not isinstance(v, np.ndarray))
    return shapes, dtype, attrs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kiln", default=os.path.join(REPO, "build", "kiln"), help="the kiln binary")
    ap.add_argument("--seed", type=int, help="seed of the random inputs (default: from the clock)")
    ap.add_argument("--small", action="store_true", help="small shapes (for sanitizer builds)")
    ap.add_argument("--only", help="run the cases whose op matches this regex")
    ap.add_argument("--layout", default="auto", choices=("auto", "nchw", "nhwc"),
                    help="kiln run --layout: nhwc runs every convolution and pool channels-last (default: %(default)s)")
    ap.add_argument("--case", type=int, action="append", help="run case I (repeatable)")
    ap.add_argument("--save", help="keep each case's model, inputs and kiln outputs under this folder")
    ap.add_argument("--jobs", type=int, default=os.cpu_count(), help="cases run at once")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else time.time_ns() % 2**32
    print(f"seed {seed}: rerun with --seed {seed}{' --small' if args.small else ''}; kiln: {args.kiln}")

    table = [(i, family, case) for i, (family, case) in enumerate(all_cases(args.small))
             if (not args.only or re.search(args.only, case.op)) and (not args.case or i in args.case)]
    start = time.time()
    counts = {"ok": 0, "FAIL": 0, "skip": 0, "known": 0, "FIXED": 0}
    per_family, failing = {}, []
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = [pool.submit(run_case, args.kiln, i, case, seed, args.save, args.layout) for i, _, case in table]
        for (i, family, case), future in zip(table, futures):
            status, err, tol, detail = future.result()
            counts[status] += 1
            per_family.setdefault(family, []).append(status)
            if status in ("FAIL", "FIXED"):
                failing.append(i)
            shapes, dtype, attrs = describe(case)
            print(f"{status:>5} #{i:<3} {case.op:<25} {shapes:<38} {dtype:<8} err {err:<8} tol {tol:<6} {attrs}")
            if status != "ok" and detail:
                print(f"{'':11}{detail}")
            if status != "ok" and case.why:
                print(f"{'':11}tolerance {tol}: {case.why}")
            if status in ("known", "FIXED"):
                print(f"{'':11}known failure: {case.known_failure}"
                      + (" -- it passes now: remove the mark" if status == "FIXED" else ""))
    print("per family: " + ", ".join(f"{f} {len(s)}" for f, s in per_family.items()))
    print(f"time {time.time() - start:.1f} s")
    failed = counts["FAIL"] + counts["FIXED"]
    if failed:
        cases = " ".join(f"--case {i}" for i in failing)
        print(f"reproduce: {sys.argv[0]} --kiln {args.kiln} --seed {seed}{' --small' if args.small else ''} {cases}"
              " --save DIR  (DIR/caseI_OP/ then holds model.onnx, the inputs, the reference and kiln's outputs)")
    if counts["known"]:
        print(f"{counts['known']} known failures (see above; not counted below)")
    print(f"{counts['ok']} passed, {failed} failed, {counts['skip']} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
