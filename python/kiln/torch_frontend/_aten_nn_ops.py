"""The ATen ops of neural-network layers kiln translates, one handler each (registered in
_translate.HANDLERS): convolutions and matrix products (linear / addmm / matmul), pooling, batch /
layer / group norm, softmax and reductions, and scaled dot-product attention. Tensor ops
(elementwise, shapes, indexing, scans) are in _aten_ops.py, whose argument helpers these use.
"""
from __future__ import annotations

from typing import Any, List

import torch

from ._aten_ops import arg, ints, norm_axis, pads4, pair
from ._kir import number
from ._translate import Context, Unsupported, handles


# ---- contractions ----
def _epilogue_bias(ctx: Context, bias: Any) -> str:
    return f"epilogue=[bias(%{ctx.tensor(bias)})]" if bias is not None else ""


@handles("aten.linear.default")
def linear(ctx: Context, node: torch.fx.Node) -> str:
    x, w = ctx.tensor(node.args[0]), ctx.tensor(node.args[1])
    bias = arg(node, 2, "bias")
    attrs = "trans_b=true"
    if bias is not None:
        attrs += ", " + _epilogue_bias(ctx, bias)
    return ctx.emit(node, "gemm", [x, w], attrs)


@handles("aten.addmm.default")
def addmm(ctx: Context, node: torch.fx.Node) -> str:
    bias, a, b = node.args[:3]
    beta = node.kwargs.get("beta", 1)
    alpha = node.kwargs.get("alpha", 1)
    x, w = ctx.tensor(a), ctx.tensor(b)
    if len(ctx.shape(bias)) == 1 and beta == 1 and alpha == 1:
        return ctx.emit(node, "gemm", [x, w], _epilogue_bias(ctx, bias))
    return ctx.emit(node, "gemm", [x, w, ctx.tensor(bias)],
                    f"alpha={number(float(alpha))}, beta={number(float(beta))}")


@handles("aten.mm.default", "aten.bmm.default", "aten.matmul.default")
def matmul(ctx: Context, node: torch.fx.Node) -> str:
    a, b = node.args[:2]
    if len(ctx.shape(a)) < 2 or len(ctx.shape(b)) < 2:
        raise Unsupported("matmul with a 1-D operand")
    return ctx.emit(node, "gemm", [ctx.tensor(a), ctx.tensor(b)])


def _conv(ctx: Context, node: torch.fx.Node, x: Any, w: Any, bias: Any, stride: Any,
          padding: Any, dilation: Any, groups: int, transposed: bool = False,
          output_padding: Any = 0) -> str:
    if len(ctx.shape(x)) != 4:
        raise Unsupported(f"{len(ctx.shape(x)) - 2}-D convolution (kiln has 2-D)")
    if isinstance(padding, str):
        if padding == "valid":
            padding = [0, 0]
        else:
            k = ctx.shape(w)[2:]
            d = pair(dilation)
            total = [d[i] * (k[i] - 1) for i in range(2)]
            padding = [total[0] // 2, total[1] // 2, total[0] - total[0] // 2,
                       total[1] - total[1] // 2]
    attrs = [f"stride={ints(pair(stride))}", f"pad={ints(pads4(padding))}",
             f"dilation={ints(pair(dilation))}", f"groups={groups}"]
    if transposed:
        attrs.append(f"output_padding={ints(pair(output_padding))}")
    if bias is not None:
        attrs.append(_epilogue_bias(ctx, bias))
    op = "conv_transpose2d" if transposed else "conv2d"
    return ctx.emit(node, op, [ctx.tensor(x), ctx.tensor(w)], ", ".join(attrs))


@handles("aten.conv2d.default", "aten.conv2d.padding")
def conv2d(ctx: Context, node: torch.fx.Node) -> str:
    return _conv(ctx, node, node.args[0], node.args[1], arg(node, 2, "bias"),
                 arg(node, 3, "stride", 1), arg(node, 4, "padding", 0),
                 arg(node, 5, "dilation", 1), arg(node, 6, "groups", 1))


@handles("aten.convolution.default")
def convolution(ctx: Context, node: torch.fx.Node) -> str:
    x, w, bias, stride, padding, dilation, transposed, output_padding, groups = node.args[:9]
    return _conv(ctx, node, x, w, bias, stride, padding, dilation, groups, transposed,
                 output_padding)


@handles("aten.conv_transpose2d.input")
def conv_transpose2d(ctx: Context, node: torch.fx.Node) -> str:
    return _conv(ctx, node, node.args[0], node.args[1], arg(node, 2, "bias"),
                 arg(node, 3, "stride", 1), arg(node, 4, "padding", 0),
                 arg(node, 7, "dilation", 1), arg(node, 6, "groups", 1), True,
                 arg(node, 5, "output_padding", 0))


# ---- pooling ----
def _pool_attrs(kernel: Any, stride: Any, padding: Any, ceil_mode: bool) -> List[str]:
    kernel = pair(kernel)
    stride = pair(stride) if stride else kernel
    attrs = [f"kernel={ints(kernel)}", f"stride={ints(stride)}", f"pad={ints(pads4(padding))}"]
    if ceil_mode:
        attrs.append("ceil_mode=true")
    return attrs


@handles("aten.max_pool2d.default", "aten.max_pool2d_with_indices.default")
def max_pool2d(ctx: Context, node: torch.fx.Node) -> Any:
    attrs = _pool_attrs(node.args[1], arg(node, 2, "stride", None), arg(node, 3, "padding", 0),
                        arg(node, 5, "ceil_mode", False))
    attrs.append(f"dilation={ints(pair(arg(node, 4, 'dilation', 1)))}")
    with_indices = "indices" in str(node.target)
    out = ctx.emit(node, "max_pool2d", [ctx.tensor(node.args[0])], ", ".join(attrs),
                   ctx.out_type(node, 0 if with_indices else None))
    return (out, None) if with_indices else out


@handles("aten.avg_pool2d.default")
def avg_pool2d(ctx: Context, node: torch.fx.Node) -> str:
    if arg(node, 6, "divisor_override") is not None:
        raise Unsupported("avg_pool2d with divisor_override")
    attrs = _pool_attrs(node.args[1], arg(node, 2, "stride", None), arg(node, 3, "padding", 0),
                        arg(node, 4, "ceil_mode", False))
    if arg(node, 5, "count_include_pad", True):
        attrs.append("count_include_pad=true")
    return ctx.emit(node, "avg_pool2d", [ctx.tensor(node.args[0])], ", ".join(attrs))


@handles("aten.adaptive_avg_pool2d.default", "aten._adaptive_avg_pool2d.default")
def adaptive_avg_pool2d(ctx: Context, node: torch.fx.Node) -> str:
    out_hw = pair(node.args[1])
    in_shape = ctx.shape(node.args[0])
    x = ctx.tensor(node.args[0])
    if out_hw == [1, 1]:
        return ctx.emit(node, "global_avg_pool2d", [x])
    h, w = in_shape[-2], in_shape[-1]
    if isinstance(h, int) and isinstance(w, int) and h % out_hw[0] == 0 and w % out_hw[1] == 0:
        k = [h // out_hw[0], w // out_hw[1]]
        return ctx.emit(node, "avg_pool2d", [x], f"kernel={ints(k)}, stride={ints(k)}")
    raise Unsupported(f"adaptive_avg_pool2d from {in_shape[-2:]} to {out_hw} (not a whole "
                      "multiple)")


# ---- normalisation and reductions ----
def _param_or_const(ctx: Context, value: Any, fill: float, size: int, dtype: torch.dtype,
                    base: str) -> str:
    if value is not None:
        return ctx.tensor(value)
    return ctx.w.constant(base, [fill] * size, dtype, [size])


@handles("aten._native_batch_norm_legit_no_training.default", "aten.batch_norm.default",
         "aten._native_batch_norm_legit.default")
def batch_norm(ctx: Context, node: torch.fx.Node) -> Any:
    op = str(node.target)
    x, w, b, mean, var = node.args[:5]
    if op == "aten.batch_norm.default":
        training, eps = node.args[5], node.args[7]
    elif op == "aten._native_batch_norm_legit.default":
        training, eps = node.args[5], node.args[7]
    else:
        training, eps = False, node.args[6]
    if training:
        raise Unsupported("batch_norm in training mode (call model.eval() first)")
    c = ctx.shape(x)[1]
    dtype = ctx.dtype(x)
    operands = [ctx.tensor(x), _param_or_const(ctx, w, 1.0, c, dtype, node.name + "_scale"),
                _param_or_const(ctx, b, 0.0, c, dtype, node.name + "_shift"),
                ctx.tensor(mean), ctx.tensor(var)]
    out_type = ctx.w.type(dtype, ctx.shape(x))
    out = ctx.emit(node, "batch_norm", operands, f"eps={number(float(eps))}", out_type)
    return out if op == "aten.batch_norm.default" else (out, None, None)


@handles("aten.layer_norm.default", "aten.native_layer_norm.default")
def layer_norm(ctx: Context, node: torch.fx.Node) -> Any:
    x, normalized_shape = node.args[:2]
    native = "native" in str(node.target)
    w = arg(node, 2, "weight")
    b = arg(node, 3, "bias")
    eps = arg(node, 4, "eps", 1e-5)
    operands = [ctx.tensor(x)]
    if w is not None:
        operands.append(ctx.tensor(w))
    if b is not None:
        if w is None:
            operands.append(ctx.w.constant(node.name + "_scale", [1.0] * int(torch.tensor(
                normalized_shape).prod()), ctx.dtype(x), list(normalized_shape)))
        operands.append(ctx.tensor(b))
    out = ctx.emit(node, "layer_norm", operands,
                   f"axis={-len(normalized_shape)}, eps={number(float(eps))}",
                   ctx.w.type(ctx.dtype(x), ctx.shape(x)))
    return (out, None, None) if native else out


@handles("aten.group_norm.default")
def group_norm(ctx: Context, node: torch.fx.Node) -> str:
    x, groups = node.args[:2]
    c = ctx.shape(x)[1]
    dtype = ctx.dtype(x)
    w = _param_or_const(ctx, arg(node, 2, "weight"), 1.0, c, dtype, node.name + "_scale")
    b = _param_or_const(ctx, arg(node, 3, "bias"), 0.0, c, dtype, node.name + "_shift")
    eps = arg(node, 4, "eps", 1e-5)
    return ctx.emit(node, "group_norm", [ctx.tensor(x), w, b],
                    f"groups={groups}, eps={number(float(eps))}")


@handles("aten._softmax.default", "aten.softmax.int", "aten._log_softmax.default",
         "aten.log_softmax.int")
def softmax(ctx: Context, node: torch.fx.Node) -> str:
    rank = len(ctx.shape(node.args[0]))
    axis = norm_axis(node.args[1], rank)
    op = "log_softmax" if "log_softmax" in str(node.target) else "softmax"
    x = node.args[0]
    value = ctx.cast(ctx.tensor(x), ctx.arg_type(x), ctx.dtype(node))
    return ctx.emit(node, op, [value], f"axis={axis}")


_REDUCE = {"mean": "reduce_mean", "sum": "reduce_sum", "amax": "reduce_max",
           "amin": "reduce_min", "prod": "reduce_prod"}


@handles("aten.mean.dim", "aten.sum.dim_IntList", "aten.amax.default", "aten.amin.default",
         "aten.mean.default", "aten.sum.default")
def reduce(ctx: Context, node: torch.fx.Node) -> str:
    op = str(node.target)
    kind = _REDUCE[op.split(".")[1]]
    rank = len(ctx.shape(node.args[0]))
    if op in ("aten.mean.default", "aten.sum.default"):
        dims, keepdim = None, False  # over everything
    else:
        dims, keepdim = arg(node, 1, "dim", None), arg(node, 2, "keepdim", False)
    if isinstance(dims, int):
        dims = [dims]
    axes = [norm_axis(d, rank) for d in dims] if dims else list(range(rank))
    x = node.args[0]
    value = ctx.cast(ctx.tensor(x), ctx.arg_type(x), ctx.dtype(node))
    attrs = f"axes={ints(axes)}" + (", keepdims=true" if keepdim else "")
    return ctx.emit(node, kind, [value], attrs)


# ---- attention ----
@handles("aten.scaled_dot_product_attention.default")
def sdpa(ctx: Context, node: torch.fx.Node) -> str:
    q, k, v = node.args[:3]
    mask = arg(node, 3, "attn_mask")
    dropout_p = arg(node, 4, "dropout_p", 0.0)
    causal = arg(node, 5, "is_causal", False)
    scale = node.kwargs.get("scale")
    if dropout_p:
        raise Unsupported("attention dropout (call model.eval() first)")
    if len(ctx.shape(q)) != 4:
        raise Unsupported("scaled_dot_product_attention on rank-{} tensors (kiln takes "
                          "[B,H,S,D])".format(len(ctx.shape(q))))
    dtype = ctx.dtype(node)
    bshd = []
    for t, label in ((q, "q"), (k, "k"), (v, "v")):
        s = ctx.shape(t)
        bshd.append(ctx.w.node1(f"{node.name}_{label}", "transpose", [ctx.tensor(t)],
                                "perm=[0,2,1,3]",
                                ctx.w.type(ctx.dtype(t), [s[0], s[2], s[1], s[3]])))
    operands = list(bshd)
    if mask is not None:
        mask_value = ctx.tensor(mask)
        mask_dtype, mask_shape = ctx.arg_type(mask)
        if mask_dtype == torch.bool:
            zero = ctx.w.constant(node.name + "_zero", [0.0], dtype, [])
            low = ctx.w.constant(node.name + "_masked", [torch.finfo(dtype).min], dtype, [])
            mask_value = ctx.w.node1(node.name + "_mask", "where", [mask_value, zero, low], None,
                                     ctx.w.type(dtype, mask_shape))
        else:
            mask_value = ctx.cast(mask_value, (mask_dtype, mask_shape), dtype)
        operands.append(mask_value)
    attrs = []
    if causal:
        attrs.append("causal=true")
    if scale is not None:
        attrs.append(f"scale={number(float(scale))}")
    out = ctx.shape(node)
    result = ctx.w.node1(node.name + "_bshd", "attention", operands, ", ".join(attrs) or None,
                         ctx.w.type(dtype, [out[0], out[2], out[1], out[3]]))
    return ctx.emit(node, "transpose", [result], "perm=[0,2,1,3]")
