"""The ATen tensor ops kiln translates, one handler each (registered in _translate.HANDLERS);
the layer ops (convolution, matmul, pooling, norms, attention) are in _aten_nn_ops.py.

Covered: the ops torch.export produces (after run_decompositions({})) for torchvision ResNet /
ViT and Hugging Face BERT / GPT-2-style models: convolution, batch and layer norm, linear /
addmm / matmul, pooling, elementwise math and comparisons, softmax, scaled dot-product
attention, embedding, reshapes, transposes, slicing, concatenation and the few index ops of
attention-mask construction (with cumsum and diff for packed-sequence masks). The rest is rejected by name (see _translate.translate).
"""
from __future__ import annotations

from typing import Any, List, Sequence

import torch

from ._kir import kir_dtype, number
from ._translate import Context, SymDim, Unsupported, handles

INT64_MAX = 2**63 - 1


def arg(node: torch.fx.Node, index: int, name: str, default: Any = None) -> Any:
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(name, default)


def norm_axis(axis: int, rank: int) -> int:
    return axis + rank if axis < 0 else axis


def ints(values: Sequence[int]) -> str:
    return "[" + ",".join(str(int(v)) for v in values) + "]"


def pair(v: Any) -> List[int]:
    if isinstance(v, int):
        return [v, v]
    v = list(v)
    return v * 2 if len(v) == 1 else v


def dim_arg(ctx: Context, a: Any) -> Any:
    """An int argument that may be a dynamic dim (a SymInt of the graph)."""
    v = ctx.value(a) if isinstance(a, torch.fx.Node) else a
    if isinstance(v, SymDim):
        v = v.value
    if isinstance(v, torch.SymInt) and v.node.expr.is_Integer:
        v = int(v.node.expr)
    return v


def pads4(v: Any) -> List[int]:
    """kiln's pad attribute [top, left, bottom, right] from torch's padding (int or [ph, pw])."""
    v = list(v) if not isinstance(v, int) else [v]
    if len(v) == 4:
        return v
    ph, pw = pair(v)
    return [ph, pw, ph, pw]


def identity(ctx: Context, node: torch.fx.Node) -> Any:
    return ctx.value(node.args[0])


handles("aten.clone.default", "aten.contiguous.default", "aten.alias.default",
        "aten.detach.default", "aten.lift_fresh_copy.default", "aten.dropout.default",
        "aten.feature_dropout.default", "aten.alpha_dropout.default")(identity)


@handles("aten._assert_tensor_metadata.default", "aten._assert_scalar.default",
         "aten.sym_constrain_range_for_size.default", "aten.sym_constrain_range.default")
def skip(ctx: Context, node: torch.fx.Node) -> Any:
    return None


@handles("getitem")
def getitem(ctx: Context, node: torch.fx.Node) -> Any:
    source, index = node.args
    value = ctx.value(source)
    if isinstance(value, (list, tuple)):
        if value[index] is None:
            raise Unsupported(f"result {index} of {source.target} (e.g. pooling indices, "
                              "batch statistics) is not computed by kiln")
        return value[index]
    raise Unsupported(f"getitem on {source.name}")


@handles("aten.sym_size.int", "sym_add", "sym_sub", "sym_mul", "sym_floordiv", "sym_neg")
def sym_size(ctx: Context, node: torch.fx.Node) -> Any:
    return SymDim(ctx.meta(node))


# ---- elementwise ----
_UNARY = {
    "aten.relu.default": "relu", "aten.relu_.default": "relu", "aten.tanh.default": "tanh",
    "aten.sigmoid.default": "sigmoid", "aten.silu.default": "silu", "aten.exp.default": "exp",
    "aten.log.default": "log", "aten.sqrt.default": "sqrt", "aten.rsqrt.default": "rsqrt",
    "aten.neg.default": "neg", "aten.abs.default": "abs", "aten.erf.default": "erf",
}


def _unary(ctx: Context, node: torch.fx.Node) -> str:
    return ctx.emit(node, _UNARY[str(node.target)], [ctx.tensor(node.args[0])])


for _name in _UNARY:
    handles(_name)(_unary)


@handles("aten.gelu.default")
def gelu(ctx: Context, node: torch.fx.Node) -> str:
    approximate = arg(node, 1, "approximate", "none")
    attrs = "approximate=tanh" if approximate == "tanh" else None
    return ctx.emit(node, "gelu", [ctx.tensor(node.args[0])], attrs)


@handles("aten.hardtanh.default", "aten.clamp.default", "aten.relu6.default")
def clip(ctx: Context, node: torch.fx.Node) -> str:
    op = str(node.target)
    if op == "aten.relu6.default":
        lo, hi = 0.0, 6.0
    elif op == "aten.hardtanh.default":
        lo, hi = arg(node, 1, "min_val", -1.0), arg(node, 2, "max_val", 1.0)
    else:
        lo, hi = arg(node, 1, "min"), arg(node, 2, "max")
    lo = float("-inf") if lo is None else lo
    hi = float("inf") if hi is None else hi
    return ctx.emit(node, "clip", [ctx.tensor(node.args[0])],
                    f"min={number(float(lo))}, max={number(float(hi))}")


def _operand(ctx: Context, node: torch.fx.Node, a: Any, dtype: torch.dtype) -> str:
    """An operand of a binary op in `dtype` (torch's promoted type)."""
    if isinstance(a, torch.fx.Node):
        value = ctx.tensor(a)
        return ctx.cast(value, ctx.arg_type(a), dtype)
    if isinstance(a, SymDim):
        raise Unsupported("arithmetic with a dynamic dim as a tensor")
    return ctx.w.constant("c", [a], dtype, [])


_BINARY = {
    "aten.add.Tensor": "add", "aten.add.Scalar": "add", "aten.add_.Tensor": "add",
    "aten.sub.Tensor": "sub", "aten.sub.Scalar": "sub", "aten.rsub.Scalar": "rsub",
    "aten.mul.Tensor": "mul", "aten.mul.Scalar": "mul",
    "aten.div.Tensor": "div", "aten.div.Scalar": "div",
    "aten.pow.Tensor_Scalar": "pow", "aten.pow.Tensor_Tensor": "pow",
    "aten.maximum.default": "max", "aten.minimum.default": "min",
}


def _binary(ctx: Context, node: torch.fx.Node) -> str:
    kind = _BINARY[str(node.target)]
    a, b = node.args[0], node.args[1]
    dtype = ctx.dtype(node)
    alpha = node.kwargs.get("alpha", 1)
    if kind == "rsub":
        a, b, kind = b, a, "sub"
    if kind in ("add", "sub") and not isinstance(b, torch.fx.Node) and b == 0 and \
            ctx.arg_type(a) == (dtype, ctx.shape(node)):
        return ctx.tensor(a)  # x + 0 (arange offsets)
    if kind == "pow" and not isinstance(b, torch.fx.Node):
        if b == 2:
            x = _operand(ctx, node, a, dtype)
            return ctx.emit(node, "mul", [x, x])
        if b == 0.5:
            return ctx.emit(node, "sqrt", [_operand(ctx, node, a, dtype)])
    if str(node.target) == "aten.div.Tensor" and node.kwargs.get("rounding_mode") is not None:
        raise Unsupported(f"div with rounding_mode={node.kwargs['rounding_mode']!r}")
    x = _operand(ctx, node, a, dtype)
    y = _operand(ctx, node, b, dtype)
    if alpha != 1:
        alpha_c = ctx.w.constant("alpha", [alpha], dtype, [])
        y = ctx.w.node1(node.name + "_alpha", "mul", [y, alpha_c],
                        None, ctx.w.type(dtype, _shape_of(ctx, b)))
    return ctx.emit(node, kind, [x, y])


def _shape_of(ctx: Context, a: Any) -> List[Any]:
    return ctx.shape(a) if isinstance(a, torch.fx.Node) else []


for _name in _BINARY:
    handles(_name)(_binary)


_COMPARE = {"eq": "equal", "ne": "not_equal", "lt": "less", "le": "less_equal",
            "gt": "greater", "ge": "greater_equal"}


def _compare(ctx: Context, node: torch.fx.Node) -> str:
    kind = _COMPARE[str(node.target).split(".")[1]]
    a, b = node.args[0], node.args[1]
    types = [ctx.arg_type(x) for x in (a, b) if isinstance(x, torch.fx.Node)]
    dtype = torch.promote_types(*[t[0] for t in types]) if len(types) == 2 else types[0][0]
    return ctx.emit(node, kind, [_operand(ctx, node, a, dtype), _operand(ctx, node, b, dtype)])


for _short in _COMPARE:
    handles(f"aten.{_short}.Tensor", f"aten.{_short}.Scalar")(_compare)


@handles("aten.where.self", "aten.where.ScalarSelf", "aten.where.ScalarOther",
         "aten.where.Scalar")
def where(ctx: Context, node: torch.fx.Node) -> str:
    cond, a, b = node.args
    dtype = ctx.dtype(node)
    c = ctx.cast(ctx.tensor(cond), ctx.arg_type(cond), torch.bool)
    return ctx.emit(node, "where", [c, _operand(ctx, node, a, dtype), _operand(ctx, node, b, dtype)])


@handles("aten.masked_fill.Scalar", "aten.masked_fill.Tensor")
def masked_fill(ctx: Context, node: torch.fx.Node) -> str:
    x, mask, value = node.args
    dtype = ctx.dtype(node)
    return ctx.emit(node, "where", [ctx.cast(ctx.tensor(mask), ctx.arg_type(mask), torch.bool),
                                    _operand(ctx, node, value, dtype), ctx.tensor(x)])


@handles("aten.logical_not.default", "aten.bitwise_not.default")
def logical_not(ctx: Context, node: torch.fx.Node) -> str:
    if ctx.dtype(node) != torch.bool:
        raise Unsupported("bitwise_not of integers")
    x = ctx.cast(ctx.tensor(node.args[0]), ctx.arg_type(node.args[0]), torch.bool)
    t = ctx.w.constant("true", [1], torch.bool, [])
    f = ctx.w.constant("false", [0], torch.bool, [])
    return ctx.emit(node, "where", [x, f, t])


@handles("aten.logical_and.default", "aten.bitwise_and.Tensor", "aten.__and__.Tensor",
         "aten.logical_or.default", "aten.bitwise_or.Tensor", "aten.__or__.Tensor")
def logical_and_or(ctx: Context, node: torch.fx.Node) -> str:
    if ctx.dtype(node) != torch.bool:
        raise Unsupported("bitwise and/or of integers")
    a, b = (ctx.cast(ctx.tensor(x), ctx.arg_type(x), torch.bool) for x in node.args[:2])
    if "and" in str(node.target):
        return ctx.emit(node, "where", [a, b, ctx.w.constant("false", [0], torch.bool, [])])
    return ctx.emit(node, "where", [a, ctx.w.constant("true", [1], torch.bool, []), b])


@handles("aten._to_copy.default", "aten.to.dtype", "aten.to.dtype_layout", "aten.to.device",
         "aten.type_as.default")
def to_copy(ctx: Context, node: torch.fx.Node) -> str:
    x = node.args[0]
    return ctx.cast(ctx.tensor(x), ctx.arg_type(x), ctx.dtype(node))


# ---- constants ----
def _fill(ctx: Context, node: torch.fx.Node, value: Any) -> str:
    dtype = ctx.dtype(node)
    scalar = ctx.w.constant(node.name + "_value", [value], dtype, [])
    shape = ctx.shape(node)
    if not shape:
        return scalar
    return ctx.emit(node, "expand", [scalar], f"shape={ctx.w.dims(shape)}")


@handles("aten.full.default", "aten.new_full.default", "aten.full_like.default")
def full(ctx: Context, node: torch.fx.Node) -> str:
    return _fill(ctx, node, node.args[1])


@handles("aten.ones.default", "aten.new_ones.default", "aten.ones_like.default")
def ones(ctx: Context, node: torch.fx.Node) -> str:
    return _fill(ctx, node, 1)


@handles("aten.zeros.default", "aten.new_zeros.default", "aten.zeros_like.default")
def zeros(ctx: Context, node: torch.fx.Node) -> str:
    return _fill(ctx, node, 0)


@handles("aten.scalar_tensor.default")
def scalar_tensor(ctx: Context, node: torch.fx.Node) -> str:
    return ctx.w.constant(node.name, [node.args[0]], ctx.dtype(node), [])


@handles("aten.arange.default", "aten.arange.start", "aten.arange.start_step")
def arange(ctx: Context, node: torch.fx.Node) -> str:
    args = [dim_arg(ctx, a) for a in node.args]
    start, step = 0, 1
    if len(args) == 1:
        end = args[0]
    else:
        start, end = args[0], args[1]
        step = args[2] if len(args) > 2 else 1
    dtype = ctx.dtype(node)
    length = ctx.shape(node)[0]
    if not isinstance(start, int) or not isinstance(step, int):
        raise Unsupported("arange with a dynamic start or step")
    if isinstance(length, int):
        value = ctx.w.constant(node.name, [start + i * step for i in range(length)], dtype, [length])
    else:
        # A dynamic length: a slice of the arange for the length's largest value.
        top = ctx.w.symbol_max(length)
        full_range = ctx.w.constant(node.name + "_max", [start + i * step for i in range(top)],
                                    dtype, [top])
        value = ctx.emit(node, "slice", [full_range],
                         f"starts=[0], ends=[{ctx.w.dim(length)}], axes=[0]")
    if start == 0 and step == 1:
        ctx.aranges[value] = (length, 0, 1)
    return value


# ---- shapes ----
@handles("aten.view.default", "aten._unsafe_view.default", "aten.reshape.default",
         "aten.flatten.using_ints", "aten.unflatten.int", "aten.view_copy.default")
def reshape(ctx: Context, node: torch.fx.Node) -> str:
    x = ctx.tensor(node.args[0])
    if ctx.shape(node) == ctx.shape(node.args[0]):
        return x
    return ctx.emit(node, "reshape", [x], f"shape={ctx.w.dims(ctx.shape(node))}")


@handles("aten.permute.default", "aten.transpose.int", "aten.t.default", "aten.numpy_T.default")
def permute(ctx: Context, node: torch.fx.Node) -> str:
    rank = len(ctx.shape(node.args[0]))
    op = str(node.target)
    if op == "aten.permute.default":
        perm = [norm_axis(a, rank) for a in node.args[1]]
    elif op == "aten.transpose.int":
        a, b = norm_axis(node.args[1], rank), norm_axis(node.args[2], rank)
        perm = list(range(rank))
        perm[a], perm[b] = perm[b], perm[a]
    else:
        perm = list(reversed(range(rank)))
    x = ctx.tensor(node.args[0])
    if perm == list(range(rank)):
        return x
    return ctx.emit(node, "transpose", [x], f"perm={ints(perm)}")


@handles("aten.unsqueeze.default")
def unsqueeze(ctx: Context, node: torch.fx.Node) -> str:
    rank = len(ctx.shape(node))
    axis = norm_axis(node.args[1], rank)
    x = ctx.tensor(node.args[0])
    out = ctx.emit(node, "unsqueeze", [x], f"axes=[{axis}]")
    if x in ctx.aranges:
        length, a, r = ctx.aranges[x]
        ctx.aranges[out] = (length, a + 1 if axis <= a else a, r + 1)
    return out


@handles("aten.squeeze.dim", "aten.squeeze.dims", "aten.squeeze.default")
def squeeze(ctx: Context, node: torch.fx.Node) -> str:
    in_shape = ctx.shape(node.args[0])
    rank = len(in_shape)
    if str(node.target) == "aten.squeeze.default":
        axes = [i for i, d in enumerate(in_shape) if isinstance(d, int) and d == 1]
    else:
        dims = node.args[1]
        dims = [dims] if isinstance(dims, int) else list(dims)
        axes = [norm_axis(a, rank) for a in dims]
        axes = [a for a in axes if isinstance(in_shape[a], int) and in_shape[a] == 1]
    x = ctx.tensor(node.args[0])
    if not axes:
        return x
    return ctx.emit(node, "squeeze", [x], f"axes={ints(sorted(axes))}")


@handles("aten.expand.default", "aten.expand_as.default", "aten.broadcast_to.default")
def expand(ctx: Context, node: torch.fx.Node) -> str:
    x = ctx.tensor(node.args[0])
    if ctx.shape(node) == ctx.shape(node.args[0]):
        return x
    return ctx.emit(node, "expand", [x], f"shape={ctx.w.dims(ctx.shape(node))}")


@handles("aten.cat.default", "aten.concat.default")
def cat(ctx: Context, node: torch.fx.Node) -> str:
    tensors = [t for t in node.args[0] if 0 not in ctx.shape(t)]
    axis = norm_axis(arg(node, 1, "dim", 0), len(ctx.shape(node)))
    dtype = ctx.dtype(node)
    values = [ctx.cast(ctx.tensor(t), ctx.arg_type(t), dtype) for t in tensors]
    if len(values) == 1:
        return values[0]
    return ctx.emit(node, "concat", values, f"axis={axis}")


@handles("aten.slice.Tensor")
def slice_(ctx: Context, node: torch.fx.Node) -> str:
    in_shape = ctx.shape(node.args[0])
    axis = norm_axis(arg(node, 1, "dim", 0), len(in_shape))
    start = arg(node, 2, "start", None)
    end = arg(node, 3, "end", None)
    step = arg(node, 4, "step", 1)
    start = 0 if start is None else dim_arg(ctx, start)
    end = dim_arg(ctx, end)
    x = ctx.tensor(node.args[0])
    if isinstance(end, int) and end >= INT64_MAX // 2 or end is None:
        end = in_shape[axis]
    if ctx.shape(node) == in_shape and start == 0 and step == 1:
        return x
    return ctx.emit(node, "slice", [x], f"starts=[{ctx.w.dim(start)}], ends=[{ctx.w.dim(end)}], "
                                        f"axes=[{axis}], steps=[{step}]")


@handles("aten.select.int")
def select(ctx: Context, node: torch.fx.Node) -> str:
    in_shape = ctx.shape(node.args[0])
    axis = norm_axis(node.args[1], len(in_shape))
    index = node.args[2]
    if not isinstance(index, int):
        raise Unsupported("select with a dynamic index")
    x = ctx.tensor(node.args[0])
    end = index + 1 if index != -1 else in_shape[axis]
    sliced_shape = list(in_shape)
    sliced_shape[axis] = 1
    sliced = ctx.w.node1(node.name + "_slice", "slice", [x],
                         f"starts=[{index}], ends=[{ctx.w.dim(end)}], axes=[{axis}]",
                         ctx.w.type(ctx.dtype(node), sliced_shape))
    return ctx.emit(node, "squeeze", [sliced], f"axes=[{axis}]")


@handles("aten.split.Tensor", "aten.split_with_sizes.default", "aten.chunk.default")
def split(ctx: Context, node: torch.fx.Node) -> List[str]:
    vals = ctx.meta(node)
    in_shape = ctx.shape(node.args[0])
    axis = norm_axis(arg(node, 2, "dim", 0), len(in_shape))
    sizes = [v.shape[axis] for v in vals]
    if not all(isinstance(s, int) for s in sizes):
        raise Unsupported("split into dynamic sizes")
    types = [ctx.w.type(v.dtype, v.shape) for v in vals]
    return ctx.w.node(node.name, "split", [ctx.tensor(node.args[0])],
                      f"axis={axis}, sizes={ints(sizes)}", types)


@handles("aten.constant_pad_nd.default", "aten.pad.default")
def pad(ctx: Context, node: torch.fx.Node) -> str:
    rank = len(ctx.shape(node.args[0]))
    torch_pads = list(node.args[1])
    mode = arg(node, 2, "mode", "constant") if str(node.target) == "aten.pad.default" else "constant"
    value = arg(node, 3 if str(node.target) == "aten.pad.default" else 2, "value", 0) or 0
    begins, ends = [0] * rank, [0] * rank
    for i in range(len(torch_pads) // 2):
        begins[rank - 1 - i] = torch_pads[2 * i]
        ends[rank - 1 - i] = torch_pads[2 * i + 1]
    modes = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}
    if mode not in modes:
        raise Unsupported(f"pad mode {mode!r}")
    return ctx.emit(node, "pad", [ctx.tensor(node.args[0])],
                    f"pads={ints(begins + ends)}, mode={modes[mode]}, value={number(float(value))}")


# ---- indexing ----
@handles("aten.embedding.default")
def embedding(ctx: Context, node: torch.fx.Node) -> str:
    return ctx.emit(node, "embedding", [ctx.tensor(node.args[0]), ctx.tensor(node.args[1])])


@handles("aten.index_select.default")
def index_select(ctx: Context, node: torch.fx.Node) -> str:
    axis = norm_axis(node.args[1], len(ctx.shape(node.args[0])))
    return ctx.emit(node, "gather", [ctx.tensor(node.args[0]), ctx.tensor(node.args[2])],
                    f"axis={axis}")


@handles("aten.gather.default")
def gather(ctx: Context, node: torch.fx.Node) -> str:
    """torch.gather where every dim of the source but `dim` has size 1: a 1-D lookup."""
    x, dim, index = node.args[0], node.args[1], node.args[2]
    in_shape = ctx.shape(x)
    axis = norm_axis(dim, len(in_shape))
    if any(not (isinstance(d, int) and d == 1) for i, d in enumerate(in_shape) if i != axis):
        raise Unsupported("torch.gather from a source with more than one non-unit dim")
    flat = ctx.w.node1(node.name + "_flat", "reshape", [ctx.tensor(x)],
                       f"shape=[{ctx.w.dim(in_shape[axis])}]",
                       ctx.w.type(ctx.dtype(x), [in_shape[axis]]))
    return ctx.emit(node, "gather", [flat, ctx.tensor(index)], "axis=0")


@handles("aten.index.Tensor")
def index(ctx: Context, node: torch.fx.Node) -> str:
    """x[i0, i1, ...] where each index is an arange over its whole dim placed (by unsqueeze) at
    increasing axes of the result: a reshape of x (what attention-mask builders produce); or one
    index tensor on the first axis: a gather."""
    x, indices = node.args[0], list(node.args[1])
    in_shape = ctx.shape(x)
    values = [ctx.value(i) if i is not None else None for i in indices]
    if len(values) == 1 and values[0] is not None and values[0] not in ctx.aranges:
        return ctx.emit(node, "gather", [ctx.tensor(x), values[0]], "axis=0")
    out_shape = ctx.shape(node)
    last_axis = -1
    for k, v in enumerate(values):
        info = ctx.aranges.get(v) if v is not None else None
        if info is None:
            raise Unsupported("advanced indexing other than aranges over whole dims")
        length, axis, rank = info
        if rank != len(out_shape) or axis <= last_axis or ctx.w.dim(length) != ctx.w.dim(in_shape[k]):
            raise Unsupported("advanced indexing other than aranges over whole dims")
        last_axis = axis
    if len(values) != len(in_shape):
        raise Unsupported("advanced indexing of some dims only")
    return ctx.emit(node, "reshape", [ctx.tensor(x)], f"shape={ctx.w.dims(out_shape)}")


# ---- scans ----
MAX_SCAN_LENGTH = 2048


@handles("aten.cumsum.default")
def cumsum(ctx: Context, node: torch.fx.Node) -> str:
    """cumsum over the last axis as a product with an upper-triangular ones matrix [L, L] (for a
    dynamic L, a slice of the matrix for L's largest value); exact for integer sums < 2^24."""
    x = node.args[0]
    shape = ctx.shape(x)
    axis = norm_axis(node.args[1], len(shape))
    if axis != len(shape) - 1:
        raise Unsupported("cumsum over an axis other than the last")
    length = shape[-1]
    top = ctx.w.symbol_max(length)
    if top > MAX_SCAN_LENGTH:
        raise Unsupported(f"cumsum over more than {MAX_SCAN_LENGTH} elements")
    ones = [1.0 if i <= j else 0.0 for i in range(top) for j in range(top)]
    tri = ctx.w.constant(node.name + "_tri", ones, torch.float32, [top, top])
    if not isinstance(length, int):
        tri = ctx.w.node1(node.name + "_tri_slice", "slice", [tri],
                          f"starts=[0,0], ends=[{ctx.w.dim(length)},{ctx.w.dim(length)}], "
                          "axes=[0,1]", ctx.w.type(torch.float32, [length, length]))
    xf = ctx.cast(ctx.tensor(x), ctx.arg_type(x), torch.float32)
    summed = ctx.w.node1(node.name + "_f32", "gemm", [xf, tri], None,
                         ctx.w.type(torch.float32, ctx.shape(node)))
    return ctx.cast(summed, (torch.float32, ctx.shape(node)), ctx.dtype(node))


@handles("aten.diff.default")
def diff(ctx: Context, node: torch.fx.Node) -> str:
    """x[1:] - x[:-1] along `dim` of cat(prepend, x, append); first differences only."""
    x = node.args[0]
    n = arg(node, 1, "n", 1)
    dim = arg(node, 2, "dim", -1)
    prepend, append = arg(node, 3, "prepend"), arg(node, 4, "append")
    if n != 1:
        raise Unsupported(f"diff with n={n}")
    dtype = ctx.dtype(node)
    if dtype == torch.bool:
        raise Unsupported("diff of booleans")
    shape = ctx.shape(x)
    axis = norm_axis(dim, len(shape))
    parts = [p for p in (prepend, x, append) if p is not None]
    values = [ctx.cast(ctx.tensor(p), ctx.arg_type(p), dtype) for p in parts]
    total = "+".join(f"({ctx.w.dim(ctx.shape(p)[axis])})" for p in parts)
    dims = [ctx.w.dim(d) for d in shape]
    dims[axis] = total
    joined = values[0]
    if len(values) > 1:
        joined = ctx.w.node1(node.name + "_joined", "concat", values, f"axis={axis}",
                             f"{kir_dtype(dtype)}[{','.join(dims)}]")
    out_type = ctx.out_type(node)
    upper = ctx.w.node1(node.name + "_hi", "slice", [joined],
                        f"starts=[1], ends=[{total}], axes=[{axis}]", out_type)
    lower = ctx.w.node1(node.name + "_lo", "slice", [joined],
                        f"starts=[0], ends=[{total}-1], axes=[{axis}]", out_type)
    return ctx.emit(node, "sub", [upper, lower])


def supported_ops() -> List[str]:
    """The ATen ops (overloads) the frontend translates."""
    from ._translate import HANDLERS

    return sorted(HANDLERS)

