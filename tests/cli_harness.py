"""The harness the command-line tests (tests/cli/) and the optimizer tests
(tests/passes/) share: counted checks and the final "N passed, M failed"
line, the kiln subprocess wrapper and its expectations on exit code and
message, small ONNX model builders, and the run-and-compare steps of the
optimizer cases.

The scripts run as plain scripts (see tests/CMakeLists.txt); each puts this
folder on sys.path in its first lines, then imports this module."""
import os
import re
import subprocess
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

PASSED = FAILED = 0
KILN = None
TIMEOUT = 300


def setup(kiln_path, timeout=300):
    """The kiln executable every kiln() call runs, and its time limit in seconds (None: no limit)."""
    global KILN, TIMEOUT
    KILN, TIMEOUT = kiln_path, timeout


# -- counted checks -------------------------------------------------------------

def tally(ok, fail_line, ok_line=None):
    """Counts one result; prints fail_line when it failed (ok_line, when given, when it passed)."""
    global PASSED, FAILED
    if ok:
        PASSED += 1
        if ok_line is not None:
            print(ok_line)
    else:
        FAILED += 1
        print(fail_line)


def check(cond, what):
    tally(cond, f"FAIL: {what}")


def finish():
    """Prints the summary line; the exit code: 1 when a check failed, else 0."""
    print(f"{PASSED} passed, {FAILED} failed")
    return 1 if FAILED else 0


def run_tests(*tests, tmp=False):
    """Runs the tests in order (each given one shared temporary folder when tmp), then finish()."""
    if tmp:
        with tempfile.TemporaryDirectory() as folder:
            for test in tests:
                test(folder)
    else:
        for test in tests:
            test()
    return finish()


# -- the kiln command line ------------------------------------------------------

def kiln(*args):
    return subprocess.run([KILN, *args], capture_output=True, text=True, timeout=TIMEOUT)


def expect_error(args, code, needle, what):
    r = kiln(*args)
    check(r.returncode == code, f"{what}: exit {r.returncode}, expected {code} (stderr: {r.stderr.strip()})")
    check(needle in r.stderr, f"{what}: stderr lacks {needle!r}: {r.stderr.strip()}")


def expect(args, code, needle, what, stream="stdout"):
    r = kiln(*args)
    text = r.stdout if stream == "stdout" else r.stderr
    check(r.returncode == code, f"{what}: exit {r.returncode}, expected {code}\n{r.stdout}\n{r.stderr}")
    check(needle in text, f"{what}: {stream} lacks {needle!r}:\n{text}")
    return r


def rel_l2(got, ref):
    """||got - ref|| / ||ref|| in float64."""
    got, ref = got.astype(np.float64), ref.astype(np.float64)
    return np.linalg.norm(got - ref) / max(np.linalg.norm(ref), 1e-30)


# -- model builders ---------------------------------------------------------------

def model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(m)
    return m


def vi(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


# -- optimizer cases: inspect, run optimized and unoptimized, compare ----------------

def save_case(tmp, name, m):
    """Writes m to tmp/name.onnx; its path."""
    path = os.path.join(tmp, name + ".onnx")
    onnx.save(m, path)
    return path


def inspect_optimized(name, path, *extra):
    """kiln inspect PATH --optimized EXTRA, checked to succeed; in the model's own layout (NCHW) unless EXTRA
    names one, so that layer counts do not depend on which layout a measurement picks."""
    layout = () if "--layout" in extra else ("--layout", "nchw")
    r = kiln("inspect", path, "--optimized", *layout, *extra)
    check(r.returncode == 0, f"{name}: inspect failed: {r.stderr}")
    return r


def check_layers(name, out, layers, show_report=True):
    """The 'layers: N' line of an inspect report is `layers`; the failure shows the report when show_report."""
    found = re.search(r"^layers: (\d+)", out, re.M)
    check(found and int(found.group(1)) == layers,
          f"{name}: expected {layers} layers, got {found.group(1) if found else '?'}" + (f":\n{out}" if show_report
                                                                                        else ""))


def save_feeds(tmp, feeds):
    """Saves each feed as tmp/NAME.npy; the --input arguments that bind them."""
    args = []
    for k, v in feeds.items():
        np.save(os.path.join(tmp, k + ".npy"), v)
        args += ["--input", f"{k}={tmp}/{k}.npy"]
    return args


def run_to_dir(path, args, out_dir, *extra):
    """kiln run PATH ARGS --output-dir OUT_DIR EXTRA: the process and its outputs {file: array} (empty when it
    failed)."""
    r = kiln("run", path, *args, "--output-dir", out_dir, *extra)
    return r, {f: np.load(os.path.join(out_dir, f)) for f in sorted(os.listdir(out_dir))} if r.returncode == 0 else {}


def run_levels(name, path, args, tmp):
    """The outputs of kiln run at --optimization-level 0 and at 1, each run checked to succeed."""
    outs = {}
    for level in ("0", "1"):
        r, outs[level] = run_to_dir(path, args, os.path.join(tmp, "out" + level), "--optimization-level", level)
        check(r.returncode == 0, f"{name}: run at level {level} failed: {r.stderr}")
    return outs["0"], outs["1"]


def compare_outputs(name, what, ref, outs, tol, same_dtype=False):
    """Checks every reference output against outs (shape, and dtype when same_dtype, and relative L2 error <= tol);
    the worst error."""
    worst = 0.0
    for f, r in ref.items():
        got = outs.get(f)
        ok = got is not None and got.shape == r.shape and (not same_dtype or got.dtype == r.dtype)
        err = rel_l2(got, r) if ok else float("inf")
        worst = max(worst, err)
        check(ok and err <= tol, f"{name}: output {f} differs {what} (relative L2 {err:.2e})")
    return worst
