#!/usr/bin/env python3
"""Writes kiln's test models with random (seeded, deterministic) weights, in
the op patterns that PyTorch's ONNX exporter writes:

  resnet50.onnx       ResNet-50 v1.5 (stride in the 3x3 conv), BatchNormalization
                      kept unfolded, dynamic batch
  mobilenetv2.onnx    MobileNetV2: depthwise convs, ReLU6 as Clip, flatten through a
                      Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain
  bert_base.onnx      12-layer BERT-base encoder (hidden 768, 12 heads, seq 128) with
                      attention mask; GELU as Erf, LayerNorm as ReduceMean chains,
                      Shape/Gather/Reshape head splitting; weights as external data
  sample_cnn.onnx     a small CNN (under 1 MB) for the README's first command

usage: make_models.py OUTDIR [NAME ...]   (default: all but sample_cnn)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


class Builder:
    """Collects nodes and initializers with unique names."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.count = [], [], {}

    def name(self, base):
        self.count[base] = self.count.get(base, 0) + 1
        return f"{base}_{self.count[base]}"

    def const(self, base, array):
        n = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(array), n))
        return n

    def op(self, op_type, inputs, n_out=1, **attrs):
        outs = [self.name(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.name("/" + op_type), **attrs))
        return outs[0] if n_out == 1 else outs

    def model(self, name, inputs, outputs):
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="kiln-tests")
        m.ir_version = 8
        onnx.checker.check_model(m)
        return m

    # -- layers -------------------------------------------------------------
    def conv_bn(self, x, cin, cout, k, stride=1, group=1, act="relu"):
        fan_in = cin // group * k * k
        w = self.rng.normal(0, np.sqrt(2.0 / fan_in), (cout, cin // group, k, k)).astype(np.float32)
        y = self.op("Conv", [x, self.const("conv.weight", w)], kernel_shape=[k, k], strides=[stride, stride],
                    pads=[k // 2] * 4, group=group)
        scale = self.rng.uniform(0.2, 0.5, cout).astype(np.float32)
        bias = self.rng.normal(0, 0.1, cout).astype(np.float32)
        mean = self.rng.normal(0, 0.1, cout).astype(np.float32)
        var = self.rng.uniform(0.5, 1.5, cout).astype(np.float32)
        y = self.op("BatchNormalization", [y, self.const("bn.weight", scale), self.const("bn.bias", bias),
                                           self.const("bn.running_mean", mean), self.const("bn.running_var", var)],
                    epsilon=1e-5, momentum=0.9)
        if act == "relu":
            y = self.op("Relu", [y])
        elif act == "relu6":
            y = self.op("Clip", [y, self.const("min", np.float32(0)), self.const("max", np.float32(6))])
        return y

    def linear(self, x, fin, fout, std=0.02):
        w = self.rng.normal(0, std, (fin, fout)).astype(np.float32)
        b = self.rng.normal(0, std, fout).astype(np.float32)
        return self.op("Add", [self.op("MatMul", [x, self.const("linear.weight", w)]), self.const("linear.bias", b)])

    def classifier(self, x, fin, classes=1000):
        w = self.rng.normal(0, 1.0 / np.sqrt(fin), (classes, fin)).astype(np.float32)
        b = self.rng.normal(0, 0.01, classes).astype(np.float32)
        return self.op("Gemm", [x, self.const("fc.weight", w), self.const("fc.bias", b)], alpha=1.0, beta=1.0,
                       transB=1)

    def flatten_by_shape(self, x):
        """x.view(x.size(0), -1) as the exporter writes it."""
        shape = self.op("Shape", [x])
        batch = self.op("Gather", [shape, self.const("index", np.int64(0))], axis=0)
        batch = self.op("Unsqueeze", [batch, self.const("axes", np.array([0], np.int64))])
        target = self.op("Concat", [batch, self.const("minus_one", np.array([-1], np.int64))], axis=0)
        return self.op("Reshape", [x, target])

    def layer_norm(self, x, width):
        """LayerNorm as ReduceMean - Sub - Pow - ReduceMean - Add - Sqrt - Div - Mul - Add."""
        mean = self.op("ReduceMean", [x], axes=[-1], keepdims=1)
        d = self.op("Sub", [x, mean])
        var = self.op("ReduceMean", [self.op("Pow", [d, self.const("two", np.float32(2))])], axes=[-1], keepdims=1)
        std = self.op("Sqrt", [self.op("Add", [var, self.const("eps", np.float32(1e-12))])])
        y = self.op("Div", [d, std])
        gamma = self.rng.uniform(0.8, 1.2, width).astype(np.float32)
        beta = self.rng.normal(0, 0.02, width).astype(np.float32)
        return self.op("Add", [self.op("Mul", [y, self.const("ln.weight", gamma)]), self.const("ln.bias", beta)])

    def gelu_erf(self, x):
        """x * 0.5 * (1 + erf(x / sqrt(2)))"""
        e = self.op("Erf", [self.op("Div", [x, self.const("sqrt2", np.float32(np.sqrt(2.0)))])])
        h = self.op("Mul", [x, self.op("Add", [e, self.const("one", np.float32(1))])])
        return self.op("Mul", [h, self.const("half", np.float32(0.5))])


def tensor_input(name, dtype, dims):
    return helper.make_tensor_value_info(name, dtype, dims)


def resnet50():
    b = Builder(50)
    x = b.conv_bn("input", 3, 64, 7, stride=2)
    x = b.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for width, blocks, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
        for i in range(blocks):
            s = stride if i == 0 else 1
            y = b.conv_bn(x, cin, width, 1)
            y = b.conv_bn(y, width, width, 3, stride=s)
            y = b.conv_bn(y, width, width * 4, 1, act=None)
            short = b.conv_bn(x, cin, width * 4, 1, stride=s, act=None) if i == 0 else x
            x = b.op("Relu", [b.op("Add", [y, short])])
            cin = width * 4
    x = b.op("Flatten", [b.op("GlobalAveragePool", [x])], axis=1)
    out = b.classifier(x, 2048)
    b.nodes[-1].output[0] = "output"
    return b.model("resnet50", [tensor_input("input", TensorProto.FLOAT, ["batch", 3, 224, 224])],
                   [tensor_input("output", TensorProto.FLOAT, ["batch", 1000])])


def mobilenetv2():
    b = Builder(2)
    x = b.conv_bn("input", 3, 32, 3, stride=2, act="relu6")
    cin = 32
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                       (6, 320, 1, 1)]:
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = cin * t
            y = b.conv_bn(x, cin, hidden, 1, act="relu6") if t != 1 else x
            y = b.conv_bn(y, hidden, hidden, 3, stride=stride, group=hidden, act="relu6")
            y = b.conv_bn(y, hidden, c, 1, act=None)
            x = b.op("Add", [x, y]) if stride == 1 and cin == c else y
            cin = c
    x = b.conv_bn(x, cin, 1280, 1, act="relu6")
    x = b.flatten_by_shape(b.op("GlobalAveragePool", [x]))
    b.classifier(x, 1280)
    b.nodes[-1].output[0] = "output"
    return b.model("mobilenetv2", [tensor_input("input", TensorProto.FLOAT, ["batch", 3, 224, 224])],
                   [tensor_input("output", TensorProto.FLOAT, ["batch", 1000])])


def split_heads(b, x, heads, head_dim, perm):
    shape = b.op("Shape", [x])
    dims = [b.op("Unsqueeze", [b.op("Gather", [shape, b.const("index", np.int64(i))], axis=0),
                               b.const("axes", np.array([0], np.int64))]) for i in range(2)]
    target = b.op("Concat", dims + [b.const("heads", np.array([heads, head_dim], np.int64))], axis=0)
    return b.op("Transpose", [b.op("Reshape", [x, target])], perm=perm)


def bert_base(layers=12, hidden=768, heads=12, vocab=30522, max_pos=512):
    b = Builder(12)
    head_dim = hidden // heads
    word = b.rng.normal(0, 0.02, (vocab, hidden)).astype(np.float32)
    pos = b.rng.normal(0, 0.02, (max_pos, hidden)).astype(np.float32)
    typ = b.rng.normal(0, 0.02, (2, hidden)).astype(np.float32)
    # position ids: a buffer sliced to the sequence length read from the input's shape
    seq = b.op("Gather", [b.op("Shape", ["input_ids"]), b.const("index", np.int64(1))], axis=0)
    seq = b.op("Unsqueeze", [seq, b.const("axes", np.array([0], np.int64))])
    pos_ids = b.op("Slice", [b.const("position_ids", np.arange(max_pos, dtype=np.int64)[None, :]),
                             b.const("start", np.array([0], np.int64)), seq, b.const("axes", np.array([1], np.int64))])
    types = b.op("ConstantOfShape", [b.op("Shape", ["input_ids"])],
                 value=numpy_helper.from_array(np.array([0], np.int64)))
    x = b.op("Add", [b.op("Gather", [b.const("word_embeddings", word), "input_ids"]),
                     b.op("Gather", [b.const("token_type_embeddings", typ), types])])
    x = b.op("Add", [x, b.op("Gather", [b.const("position_embeddings", pos), pos_ids])])
    x = b.layer_norm(x, hidden)
    # extended mask: (1 - mask[:, None, None, :]) * -10000
    m = b.op("Unsqueeze", ["attention_mask", b.const("axes", np.array([1, 2], np.int64))])
    m = b.op("Cast", [m], to=TensorProto.FLOAT)
    m = b.op("Mul", [b.op("Sub", [b.const("one", np.float32(1)), m]), b.const("neg", np.float32(-10000.0))])
    for _ in range(layers):
        q = split_heads(b, b.linear(x, hidden, hidden), heads, head_dim, [0, 2, 1, 3])
        k = split_heads(b, b.linear(x, hidden, hidden), heads, head_dim, [0, 2, 3, 1])
        v = split_heads(b, b.linear(x, hidden, hidden), heads, head_dim, [0, 2, 1, 3])
        s = b.op("Div", [b.op("MatMul", [q, k]), b.const("scale", np.float32(np.sqrt(head_dim)))])
        p = b.op("Softmax", [b.op("Add", [s, m])], axis=-1)
        ctx = b.op("Transpose", [b.op("MatMul", [p, v])], perm=[0, 2, 1, 3])
        shape = b.op("Shape", [ctx])
        dims = [b.op("Unsqueeze", [b.op("Gather", [shape, b.const("index", np.int64(i))], axis=0),
                                   b.const("axes", np.array([0], np.int64))]) for i in range(2)]
        target = b.op("Concat", dims + [b.const("hidden", np.array([hidden], np.int64))], axis=0)
        ctx = b.op("Reshape", [ctx, target])
        x = b.layer_norm(b.op("Add", [b.linear(ctx, hidden, hidden), x]), hidden)
        h = b.gelu_erf(b.linear(x, hidden, 4 * hidden))
        x = b.layer_norm(b.op("Add", [b.linear(h, 4 * hidden, hidden), x]), hidden)
    b.nodes[-1].output[0] = "last_hidden_state"
    first = b.op("Gather", ["last_hidden_state", b.const("index", np.int64(0))], axis=1)
    b.op("Tanh", [b.linear(first, hidden, hidden)])
    b.nodes[-1].output[0] = "pooler_output"
    ids = [tensor_input("input_ids", TensorProto.INT64, ["batch", "sequence"]),
           tensor_input("attention_mask", TensorProto.INT64, ["batch", "sequence"])]
    return b.model("bert_base", ids, [tensor_input("last_hidden_state", TensorProto.FLOAT,
                                                    ["batch", "sequence", hidden]),
                                      tensor_input("pooler_output", TensorProto.FLOAT, ["batch", hidden])])


def sample_cnn():
    b = Builder(7)
    x = b.conv_bn("input", 3, 16, 3, stride=2)
    x = b.conv_bn(x, 16, 32, 3, stride=2)
    y = b.conv_bn(x, 32, 32, 3, act=None)
    x = b.op("Relu", [b.op("Add", [x, y])])
    x = b.flatten_by_shape(b.op("GlobalAveragePool", [x]))
    b.classifier(x, 32, classes=10)
    b.nodes[-1].output[0] = "logits"
    return b.model("sample_cnn", [tensor_input("input", TensorProto.FLOAT, ["batch", 3, 64, 64])],
                   [tensor_input("logits", TensorProto.FLOAT, ["batch", 10])])


MODELS = {"resnet50": resnet50, "mobilenetv2": mobilenetv2, "bert_base": bert_base, "sample_cnn": sample_cnn}
EXTERNAL = {"bert_base"}


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    names = sys.argv[2:] or ["resnet50", "mobilenetv2", "bert_base"]
    os.makedirs(out, exist_ok=True)
    for name in names:
        model = MODELS[name]()
        path = os.path.join(out, name + ".onnx")
        if name in EXTERNAL:
            onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                            location=name + ".onnx.data", size_threshold=1024)
        else:
            onnx.save_model(model, path)
        print(f"wrote {path} ({len(model.graph.node)} nodes)")


if __name__ == "__main__":
    main()
