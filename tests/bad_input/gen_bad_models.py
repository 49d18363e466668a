#!/usr/bin/env python3
"""Writes one ONNX file per class of bad input (plus a few valid models) into
a folder, for tests/bad_input/test_bad_models.c, the CLI tests and the fuzz
seed corpus. Deterministic: the folder is recreated and nothing is random
except through a fixed seed.

usage: gen_bad_models.py OUTDIR

Layout: OUTDIR/<name>.onnx for self-contained files, OUTDIR/<name>/model.onnx
for files with external data (each in a folder of its own, so the model's
folder is the base the data must stay in), OUTDIR/secret.bin is the file
outside those folders that the escaping paths point at."""
import os
import shutil
import sys

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:  # the test is skipped (exit 77) without onnx/numpy
    print("skipping: %s" % e)
    sys.exit(77)

OPSET = 17


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def model_bytes(nodes, inputs, outputs, inits=(), opset=OPSET, domain_opsets=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    imports = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in domain_opsets]
    model = helper.make_model(graph, opset_imports=imports, producer_name="kiln-bad-input")
    model.ir_version = 8
    return model.SerializeToString()


def fvi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def add_model(inits=()):
    """y = x + w, the shape of most files below."""
    node = helper.make_node("Add", ["x", "w"], ["y"], name="add")
    return model_bytes([node], [fvi("x", [2, 3])], [fvi("y", [2, 3])], inits)


def raw_tensor(name, dims, raw, dtype=TensorProto.FLOAT):
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    t.raw_data = raw
    return t


def external_tensor(name, dims, location, offset=None, length=None):
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", offset), ("length", length)):
        if value is not None:
            entry = t.external_data.add()
            entry.key = key
            entry.value = str(value)
    return t


def valid_models(out):
    w = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "w")
    write(os.path.join(out, "valid_add.onnx"), add_model([w]))

    # If with two subgraphs that read x from the outer scope, symbolic dims
    then_g = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [], [fvi("t", None)])
    else_g = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [], [fvi("e", None)])
    node = helper.make_node("If", ["c"], ["y"], name="if", then_branch=then_g, else_branch=else_g)
    inputs = [fvi("x", ["batch", 4]), helper.make_tensor_value_info("c", TensorProto.BOOL, [])]
    write(os.path.join(out, "valid_if.onnx"), model_bytes([node], inputs, [fvi("y", ["batch", 4])]))

    # typed-field initializers of several dtypes and a Constant node with attributes
    k = helper.make_node("Constant", [], ["k"], value=helper.make_tensor("kv", TensorProto.FLOAT16, [2], [1.0, 2.0]))
    cast = helper.make_node("Cast", ["k"], ["kf"], to=TensorProto.FLOAT)
    shp = helper.make_tensor("shp", TensorProto.INT64, [2], [1, 2])
    i4 = helper.make_tensor("i4", TensorProto.INT4, [3], [1, -2, 7])
    r = helper.make_node("Reshape", ["kf", "shp"], ["y"])
    write(os.path.join(out, "valid_typed.onnx"),
          model_bytes([k, cast, r], [], [fvi("y", [1, 2])], [shp, i4], opset=21))

    # external data inside the model's own folder
    d = os.path.join(out, "valid_external")
    os.makedirs(d)
    write(os.path.join(d, "weights.bin"), np.arange(8, dtype=np.float32).tobytes())
    write(os.path.join(d, "model.onnx"), add_model([external_tensor("w", [2, 3], "weights.bin", 8, 24)]))


def varint(n):
    b = bytearray()
    while True:
        b.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(b)


def field(number, payload):
    """A length-delimited protobuf field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def wire_errors(out):
    good = add_model([numpy_helper.from_array(np.ones((2, 3), np.float32), "w")])
    write(os.path.join(out, "truncated.onnx"), good[: len(good) // 2])
    rng = np.random.RandomState(1234)
    garbled = bytearray(good)
    garbled[4:40] = rng.randint(0, 256, 36, dtype=np.uint8).tobytes()
    write(os.path.join(out, "garbled.onnx"), bytes(garbled))
    # ModelProto.graph (field 7) claims 65535 bytes and has 3
    write(os.path.join(out, "length_past_end.onnx"), b"\x08\x08" + b"\x3a\xff\xff\x03" + b"\x0a\x01\x00")
    # 5000 TypeProto levels (sequence of sequence of ...) on a graph input,
    # encoded by hand: the protobuf library refuses to build it
    t = helper.make_tensor_type_proto(TensorProto.FLOAT, [1]).SerializeToString()
    for _ in range(5000):
        t = field(4, field(1, t))  # TypeProto.sequence_type { elem_type: t }
    value_info = field(1, b"x") + field(2, t)
    graph = field(11, value_info) + field(2, b"g")
    opset = field(1, b"") + b"\x10" + varint(OPSET)
    write(os.path.join(out, "deep_nesting.onnx"), b"\x08\x08" + field(8, opset) + field(7, graph))
    write(os.path.join(out, "empty.onnx"), b"")


def tensor_errors(out):
    write(os.path.join(out, "negative_dim.onnx"), add_model([raw_tensor("neg_w", [-1, 3], b"\0" * 12)]))
    write(os.path.join(out, "enormous_dims.onnx"), add_model([raw_tensor("huge_w", [1 << 62], b"\0" * 4)]))
    write(os.path.join(out, "dim_overflow.onnx"),
          add_model([raw_tensor("overflow_w", [1 << 40, 1 << 40, 1 << 40], b"")]))
    write(os.path.join(out, "raw_size.onnx"), add_model([raw_tensor("short_w", [2, 3], b"\0" * 20)]))
    t = raw_tensor("count_w", [2, 3], b"")
    t.ClearField("raw_data")
    t.float_data.extend([1.0] * 5)
    write(os.path.join(out, "typed_count.onnx"), add_model([t]))
    write(os.path.join(out, "absurd_raw.onnx"), add_model([raw_tensor("absurd_w", [1 << 20, 1 << 20], b"\0" * 16)]))


def graph_errors(out):
    a = helper.make_node("Relu", ["z"], ["y"], name="a")
    b = helper.make_node("Relu", ["y"], ["z"], name="b")
    write(os.path.join(out, "cycle.onnx"), model_bytes([a, b], [fvi("x", [1])], [fvi("y", [1])]))
    n = helper.make_node("Add", ["x", "ghost"], ["y"], name="uses_ghost")
    write(os.path.join(out, "no_producer.onnx"), model_bytes([n], [fvi("x", [1])], [fvi("y", [1])]))
    n = helper.make_node("NoSuchOp", ["x"], ["y"], name="mystery")
    write(os.path.join(out, "unknown_op.onnx"), model_bytes([n], [fvi("x", [1])], [fvi("y", [1])]))
    n = helper.make_node("FusedGemm", ["x", "x"], ["y"], name="fused", domain="com.microsoft")
    write(os.path.join(out, "foreign_domain.onnx"),
          model_bytes([n], [fvi("x", [2, 2])], [fvi("y", [2, 2])], domain_opsets=[("com.microsoft", 1)]))
    n = helper.make_node("Relu", ["x"], ["y"], name="r")
    write(os.path.join(out, "opset_too_new.onnx"), model_bytes([n], [fvi("x", [1])], [fvi("y", [1])], opset=99))


def external_model(out, name, tensor):
    d = os.path.join(out, name)
    os.makedirs(d)
    write(os.path.join(d, "model.onnx"), add_model([tensor]))
    return d


def external_errors(out):
    secret = os.path.join(out, "secret.bin")
    write(secret, b"\x01" * 24)
    external_model(out, "ext_dotdot", external_tensor("w", [2, 3], "../secret.bin"))
    external_model(out, "ext_absolute", external_tensor("w", [2, 3], os.path.abspath(secret)))
    d = external_model(out, "ext_symlink", external_tensor("w", [2, 3], "link.bin"))
    os.symlink("../secret.bin", os.path.join(d, "link.bin"))
    d = external_model(out, "ext_symlink_dir", external_tensor("w", [2, 3], "up/secret.bin"))
    os.symlink("..", os.path.join(d, "up"))
    d = external_model(out, "ext_hardlink", external_tensor("w", [2, 3], "hard.bin"))
    os.link(secret, os.path.join(d, "hard.bin"))
    d = external_model(out, "ext_past_end", external_tensor("w", [2, 3], "data.bin", 8, 24))
    write(os.path.join(d, "data.bin"), b"\0" * 16)
    d = external_model(out, "ext_absurd", external_tensor("absurd_w", [1 << 40], "data.bin"))
    write(os.path.join(d, "data.bin"), b"\0" * 16)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_bad_models.py OUTDIR")
    out = sys.argv[1]
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    valid_models(out)
    wire_errors(out)
    tensor_errors(out)
    graph_errors(out)
    external_errors(out)
    print("wrote bad-input models to %s (onnx %s)" % (out, onnx.__version__))


if __name__ == "__main__":
    main()
