#!/usr/bin/env python3
"""Tests of the pattern passes (fuse_layernorm, fuse_gelu, fuse_attention) on
small targeted graphs written as exporters write them: each case builds a
model with onnx.helper, checks that `kiln inspect --optimized` reports the
fusion (or, for the negative cases, does not) and the expected layer count,
and that `kiln run` gives the same outputs with --optimization-level 0 and 1
(relative L2 error <= 1e-5 in float32) on fresh random inputs.

usage: test_patterns.py KILN"""
import os
import sys
import tempfile

import numpy as np
from onnx import helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # tests/: cli_harness
import cli_harness  # noqa: E402
from cli_harness import (check, check_layers, compare_outputs, const, inspect_optimized, model,  # noqa: E402
                         run_levels, save_case, save_feeds, vi)

RNG = np.random.default_rng()
SQRT2 = np.float32(np.sqrt(2.0))


def node(op, inputs, output, **attrs):
    return helper.make_node(op, inputs, [output], name=output, **attrs)


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def run_case(name, m, feeds, rewrite, layers, fused=True, tol=1e-5):
    """rewrite: the record's prefix; fused: whether it must appear (the
    negative cases check that it does not)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = save_case(tmp, name, m)
        r = inspect_optimized(name, path)
        check((rewrite in r.stdout) == fused, f"{name}: '{rewrite}' {'missing from' if fused else 'in'}:\n{r.stdout}")
        check_layers(name, r.stdout, layers)
        ref, outs = run_levels(name, path, save_feeds(tmp, feeds), tmp)
        worst = compare_outputs(name, "after optimization", ref, outs, tol)
        print(f"{name}: checked (relative L2 {worst:.1e})")


# -- LayerNormalization ------------------------------------------------------

def layer_norm_nodes(x, axes, opset, square="pow", divide="div", affine=("scale", "bias"), eps="eps"):
    """ReduceMean - Sub - Pow/Mul - ReduceMean - Add - Sqrt - Div/Reciprocal+Mul [- Mul - Add] -> 'y'."""
    def reduce(inp, out):
        if opset >= 18:
            return node("ReduceMean", [inp, "axes"], out, keepdims=1)
        return node("ReduceMean", [inp], out, axes=axes, keepdims=1)
    nodes = [reduce(x, "mean"), node("Sub", [x, "mean"], "d")]
    nodes.append(node("Pow", ["d", "two"], "sq") if square == "pow" else node("Mul", ["d", "d"], "sq"))
    nodes += [reduce("sq", "var"), node("Add", ["var", eps], "var_eps"), node("Sqrt", ["var_eps"], "std")]
    if divide == "div":
        nodes.append(node("Div", ["d", "std"], "normed"))
    else:
        nodes += [node("Reciprocal", ["std"], "inv"), node("Mul", ["inv", "d"], "normed")]
    last = "normed"
    if "scale" in affine:
        nodes.append(node("Mul", ["scale", last], "scaled"))
        last = "scaled"
    if "bias" in affine:
        nodes.append(node("Add", [last, "bias"], "shifted"))
        last = "shifted"
    nodes[-1].output[0] = "y"
    return nodes


def ln_model(shape, axes, opset=17, extra_nodes=(), extra_inputs=(), extra_outputs=(), **kw):
    norm = shape[len(shape) - len(axes):]
    inits = [const("two", np.float32(2)), const("eps", np.float32(1e-5)),
             const("scale", RNG.uniform(0.5, 1.5, norm).astype(np.float32)),
             const("bias", randn(*norm)), const("axes", np.array(axes, np.int64))]
    if opset < 18:
        inits.pop()
    nodes = layer_norm_nodes("x", axes, opset, **kw) + list(extra_nodes)
    return model(nodes, [vi("x", shape), *extra_inputs], [vi("y", shape), *extra_outputs], inits, opset)


def test_layernorm():
    x = {"x": randn(2, 5, 16)}
    run_case("ln_pow_div_affine", ln_model([2, 5, 16], [-1]), x, "fuse_layernorm: ", 1)
    run_case("ln_opset18_axes_input", ln_model([2, 5, 16], [-1], opset=18), x, "fuse_layernorm: ", 1)
    run_case("ln_mul_reciprocal_two_axes", ln_model([2, 4, 8], [1, 2], square="mul", divide="reciprocal"),
             {"x": randn(2, 4, 8)}, "fuse_layernorm: ", 1)
    run_case("ln_no_affine", ln_model([3, 7], [-1], affine=()), {"x": randn(3, 7)}, "fuse_layernorm: ", 1)
    run_case("ln_scale_only", ln_model([3, 7], [-1], affine=("scale",)), {"x": randn(3, 7)}, "fuse_layernorm: ", 1)


def test_layernorm_negative():
    x = {"x": randn(2, 5, 16)}
    # the deviation d is also a graph output
    m = ln_model([2, 5, 16], [-1], extra_outputs=[vi("d", [2, 5, 16])])
    run_case("ln_intermediate_output", m, x, "fuse_layernorm: ", 9, fused=False)
    # the variance is read by another node too
    m = ln_model([2, 5, 16], [-1], extra_nodes=[node("Neg", ["var"], "var2")], extra_outputs=[vi("var2", [2, 5, 1])])
    run_case("ln_intermediate_shared", m, x, "fuse_layernorm: ", 10, fused=False)
    # epsilon is a graph input, not a constant
    m = ln_model([2, 5, 16], [-1], eps="eps_in", extra_inputs=[vi("eps_in", [])])
    run_case("ln_eps_not_constant", m, {**x, "eps_in": np.float32(1e-5)}, "fuse_layernorm: ", 9, fused=False)
    # reducing a middle axis is not a layer norm over the last axes
    run_case("ln_wrong_axes", ln_model([2, 5, 16], [1], affine=()), x, "fuse_layernorm: ", 7, fused=False)
    # the two ReduceMeans disagree on the axes
    m = ln_model([2, 5, 16], [-1], affine=())
    m.graph.node[3].attribute[0].ints[:] = [1, 2]
    run_case("ln_axes_differ", m, x, "fuse_layernorm: ", 7, fused=False)
    # keepdims = 0: the mean broadcasts along the wrong axis
    m = ln_model([4, 4], [-1])
    for n in m.graph.node:
        if n.op_type == "ReduceMean":
            n.attribute[1].i = 0
    run_case("ln_keepdims_0", m, {"x": randn(4, 4)}, "fuse_layernorm: ", 9, fused=False)


# -- Gelu ---------------------------------------------------------------------

def erf_arg(x, div):
    if div:
        return [node("Div", [x, "sqrt2"], "scaled_x")]
    return [node("Mul", ["inv_sqrt2", x], "scaled_x")]


def gelu_erf_model(order, div=True, half=0.5, extra_outputs=()):
    """x * 0.5 * (1 + erf(x / sqrt 2)) with the product in one of three orders."""
    nodes = erf_arg("x", div) + [node("Erf", ["scaled_x"], "e"), node("Add", ["one", "e"], "a")]
    if order == "x_a_then_half":
        nodes += [node("Mul", ["x", "a"], "xa"), node("Mul", ["xa", "half"], "y")]
    elif order == "half_x_first":
        nodes += [node("Mul", ["half", "x"], "hx"), node("Mul", ["hx", "a"], "y")]
    else:
        nodes += [node("Mul", ["a", "half"], "ha"), node("Mul", ["x", "ha"], "y")]
    inits = [const("sqrt2", SQRT2), const("inv_sqrt2", np.float32(1 / SQRT2)), const("one", np.float32(1)),
             const("half", np.float32(half))]
    return model(nodes, [vi("x", [4, 33])], [vi("y", [4, 33]), *extra_outputs], inits)


def gelu_tanh_model(cube):
    """0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))"""
    if cube == "pow":
        nodes = [node("Pow", ["x", "three"], "x3")]
    else:
        nodes = [node("Mul", ["x", "x"], "x2"), node("Mul", ["x2", "x"], "x3")]
    nodes += [node("Mul", ["x3", "c"], "cx3"), node("Add", ["x", "cx3"], "inner"),
              node("Mul", ["k", "inner"], "arg"), node("Tanh", ["arg"], "t"), node("Add", ["t", "one"], "a")]
    if cube == "pow":
        nodes += [node("Mul", ["x", "half"], "hx"), node("Mul", ["hx", "a"], "y")]
    else:
        nodes += [node("Mul", ["a", "x"], "xa"), node("Mul", ["half", "xa"], "y")]
    inits = [const("three", np.float32(3)), const("c", np.float32(0.044715)),
             const("k", np.float32(np.sqrt(2 / np.pi))), const("one", np.float32(1)), const("half", np.float32(0.5))]
    return model(nodes, [vi("x", [4, 33])], [vi("y", [4, 33])], inits)


def test_gelu():
    x = {"x": 3 * randn(4, 33)}
    run_case("gelu_erf_div", gelu_erf_model("x_a_then_half"), x, "fuse_gelu: ", 1)
    run_case("gelu_erf_mul_half_first", gelu_erf_model("half_x_first", div=False), x, "fuse_gelu: ", 1)
    run_case("gelu_erf_half_on_a", gelu_erf_model("half_on_a"), x, "fuse_gelu: ", 1)
    run_case("gelu_tanh_pow", gelu_tanh_model("pow"), x, "fuse_gelu: ", 1)
    run_case("gelu_tanh_mul_cube", gelu_tanh_model("mul"), x, "fuse_gelu: ", 1)
    # a constant that is not 0.5
    run_case("gelu_wrong_constant", gelu_erf_model("x_a_then_half", half=0.6), x, "fuse_gelu: ", 5, fused=False)
    # the Erf output is also a graph output
    m = gelu_erf_model("x_a_then_half", extra_outputs=[vi("e", [4, 33])])
    run_case("gelu_intermediate_output", m, x, "fuse_gelu: ", 5, fused=False)


# -- Attention -----------------------------------------------------------------

B, S, H, D = 2, 10, 3, 8


def split(x, perm, out):
    return [node("Reshape", [x, "heads_shape"], out + "_4d"), node("Transpose", [out + "_4d"], out, perm=perm)]


def attention_model(mask="add", scale="div", k_layout="bshd", skv=S, mask_shape=(B, 1, 1, S), softmax_out=False,
                    batch=B, symbolic=False):
    """Q, K, V (b, s, h*d) split into heads, softmax(Q K^T / sqrt(d) + mask) V,
    merged back to (b, s, h*d). symbolic: the batch dim is 'batch'."""
    nodes = split("q", [0, 2, 1, 3], "qh")
    if k_layout == "bshd":
        nodes += split("k", [0, 2, 3, 1], "kt")
    else:
        nodes += split("k", [0, 2, 1, 3], "kh") + [node("Transpose", ["kh"], "kt", perm=[0, 1, 3, 2])]
    nodes += split("v", [0, 2, 1, 3], "vh") + [node("MatMul", ["qh", "kt"], "s")]
    last = "s"
    if scale == "div":
        nodes.append(node("Div", ["s", "sqrt_d"], "ss"))
        last = "ss"
    elif scale == "mul":
        nodes.append(node("Mul", ["inv_sqrt_d", "s"], "ss"))
        last = "ss"
    if mask:
        nodes.append(node("Add", ["mask", last], "sm"))
        last = "sm"
    nodes += [node("Softmax", [last], "p", axis=-1), node("MatMul", ["p", "vh"], "ctx"),
              node("Transpose", ["ctx"], "ctx_t", perm=[0, 2, 1, 3]), node("Reshape", ["ctx_t", "merge_shape"], "y")]
    inits = [const("heads_shape", np.array([0, 0, H, D], np.int64)),
             const("merge_shape", np.array([0, 0, H * D], np.int64)),
             const("sqrt_d", np.float32(np.sqrt(D))), const("inv_sqrt_d", np.float32(1 / np.sqrt(D)))]
    qb = "batch" if symbolic else B
    kb = qb if batch == B else batch
    inputs = [vi("q", [qb, S, H * D]), vi("k", [kb, skv, H * D]), vi("v", [kb, skv, H * D])]
    if mask:
        inputs.append(vi("mask", [qb if symbolic and d == B else d for d in mask_shape]))
    outputs = [vi("y", [qb, S, H * D])] + ([vi("p", [qb, H, S, skv])] if softmax_out else [])
    return model(nodes, inputs, outputs, inits)


def attention_feeds(skv=S, mask_shape=(B, 1, 1, S), batch=B):
    feeds = {"q": randn(B, S, H * D), "k": randn(batch, skv, H * D), "v": randn(batch, skv, H * D)}
    m = np.zeros(mask_shape, np.float32)
    m[..., -(mask_shape[-1] // 3):] = -10000.0  # padding at the end, as BERT's extended mask
    feeds["mask"] = m
    return feeds


def test_attention():
    # 13 nodes: 3 x (Reshape, Transpose), MatMul, Div, Add, Softmax, MatMul, Transpose, Reshape -> 9
    run_case("attn_bert", attention_model(symbolic=True), attention_feeds(), "fuse_attention: ", 9)
    m = attention_model(mask=None, scale="mul", k_layout="bhsd", skv=7)
    feeds = attention_feeds(skv=7)
    del feeds["mask"]
    # 13 nodes with the K^T Transpose (0, 1, 3, 2), which goes too
    run_case("attn_cross_no_mask", m, feeds, "fuse_attention: ", 9)
    run_case("attn_no_scale_full_mask", attention_model(scale=None, mask_shape=(S, S)),
             attention_feeds(mask_shape=(S, S)), "fuse_attention: ", 9)


def test_attention_negative():
    m = attention_model(softmax_out=True)
    run_case("attn_probs_output", m, attention_feeds(), "fuse_attention: ", 13, fused=False)
    # a mask broadcast over the keys (last dim 1) is not an attn_mask
    run_case("attn_mask_over_keys", attention_model(mask_shape=(B, 1, S, 1)),
             attention_feeds(mask_shape=(B, 1, S, 1)), "fuse_attention: ", 13, fused=False)
    # K and V shared over the batch: MatMul broadcasts, Attention does not
    run_case("attn_batch_broadcast", attention_model(batch=1), attention_feeds(batch=1), "fuse_attention: ", 13,
             fused=False)
    m = attention_model()
    next(n for n in m.graph.node if n.op_type == "Softmax").attribute[0].i = 2
    run_case("attn_softmax_axis", m, attention_feeds(), "fuse_attention: ", 13, fused=False)


def main():
    cli_harness.setup(sys.argv[1], timeout=None)
    return cli_harness.run_tests(test_layernorm, test_layernorm_negative, test_gelu, test_attention,
                                 test_attention_negative)


if __name__ == "__main__":
    sys.exit(main())
