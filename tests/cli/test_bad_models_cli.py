#!/usr/bin/env python3
"""Runs `kiln run` on every model written by tests/bad_input/gen_bad_models.py
and checks the command line's contract for bad input: exit code 1 with a
message on stderr naming the problem, never a signal, a hang or silence.
The valid_* models must run (exit 0).

usage: test_bad_models_cli.py KILN MODELS_DIR"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # tests/: cli_harness
import cli_harness  # noqa: E402

# messages for the classes the importer accepts and later stages refuse
LATER_STAGE = {
    "cycle.onnx": "cycle",
    "no_producer.onnx": "has no producer",
    "unknown_op.onnx": "unsupported op",
    # valid ONNX that uses control flow, which kiln does not run yet
    "valid_if.onnx": "unsupported op If",
}


def main():
    models = sys.argv[2]
    cli_harness.setup(sys.argv[1], timeout=120)
    paths = []
    for name in sorted(os.listdir(models)):
        p = os.path.join(models, name)
        if name.endswith(".onnx"):
            paths.append((name, p))
        elif os.path.isdir(p) and os.path.exists(os.path.join(p, "model.onnx")):
            paths.append((name, os.path.join(p, "model.onnx")))
    for name, path in paths:
        try:
            r = cli_harness.kiln("run", path)
        except subprocess.TimeoutExpired:
            cli_harness.tally(False, f"FAIL {name}: kiln run hung")
            continue
        want_ok = name.startswith("valid") and name not in LATER_STAGE
        problems = []
        if r.returncode < 0:
            problems.append(f"killed by signal {-r.returncode}")
        elif want_ok and r.returncode != 0:
            problems.append(f"exit {r.returncode}: {r.stderr.strip()}")
        elif not want_ok and r.returncode != 1:
            problems.append(f"exit {r.returncode}, expected 1")
        if not want_ok and not r.stderr.startswith("kiln: "):
            problems.append(f"no message on stderr ({r.stderr!r})")
        if name in LATER_STAGE and LATER_STAGE[name] not in r.stderr:
            problems.append(f"message lacks {LATER_STAGE[name]!r}: {r.stderr.strip()}")
        cli_harness.tally(not problems, f"FAIL {name}: {'; '.join(problems)}",
                          f"ok   {name}: {(r.stderr or r.stdout).strip().splitlines()[-1][:150]}" if not problems
                          else None)
    rc = cli_harness.finish()
    return rc if paths else 1


if __name__ == "__main__":
    sys.exit(main())
