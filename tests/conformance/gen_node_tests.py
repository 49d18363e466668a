#!/usr/bin/env python3
"""Writes the ONNX backend node tests into a folder, in the layout of onnx's
test data: <out>/<test name>/model.onnx, test_data_set_<k>/input_<i>.pb and
output_<i>.pb, plus tolerance.txt ("rtol atol").

The tests come from onnx's own case generators
(onnx.backend.test.case.node.collect_testcases), so the data matches the
installed onnx version and nothing is committed."""
import os
import shutil
import sys
import warnings

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper
from onnx.backend.test.case import node


def write_value(path, value, name, vtype):
    if vtype.HasField("tensor_type"):
        proto = value if isinstance(value, TensorProto) else numpy_helper.from_array(np.asarray(value), name)
    elif vtype.HasField("sequence_type"):
        proto = numpy_helper.from_list(value, name)
    elif vtype.HasField("optional_type"):
        proto = numpy_helper.from_optional(value, name)
    elif vtype.HasField("map_type"):
        proto = numpy_helper.from_dict(value, name)
    else:
        raise ValueError("unknown value type")
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_node_tests.py OUTDIR")
    out = sys.argv[1]
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = node.collect_testcases(None)
    written = 0
    for case in cases:
        d = os.path.join(out, case.name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        with open(os.path.join(d, "tolerance.txt"), "w") as f:
            f.write(f"{case.rtol} {case.atol}\n")
        g = case.model.graph
        for k, (inputs, outputs) in enumerate(case.data_sets):
            ds = os.path.join(d, f"test_data_set_{k}")
            os.makedirs(ds, exist_ok=True)
            for i, v in enumerate(inputs):
                write_value(os.path.join(ds, f"input_{i}.pb"), v, g.input[i].name, g.input[i].type)
            for i, v in enumerate(outputs):
                write_value(os.path.join(ds, f"output_{i}.pb"), v, g.output[i].name, g.output[i].type)
        written += 1
    print(f"wrote {written} node tests to {out} (onnx {onnx.__version__})")


if __name__ == "__main__":
    main()
