"""Translation of a torch.export ExportedProgram (ATen ops after run_decompositions({})) into kiln
text IR plus the weights (the module's parameters, buffers and constants, borrowed, not copied).

Each supported ATen op has a handler in _aten_ops.py; any other op is rejected with
NotImplementedError naming it (and the model code line torch recorded for it).
"""
from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch.export import ExportedProgram
from torch.export.graph_signature import InputKind

from ._kir import KirWriter, kir_dtype


@dataclass
class Translation:
    """KIR text of the graph, its weights (name -> tensor on the host) and its name."""

    name: str
    text: str
    weights: Dict[str, torch.Tensor]
    input_names: List[str]
    output_names: List[str]


class SymDim:
    """A Python-level int of the graph (aten.sym_size and arithmetic on it)."""

    def __init__(self, value: Any) -> None:
        self.value = value


class Unsupported(NotImplementedError):
    pass


# Filled by _aten_ops: str(op overload) -> handler(ctx, node) -> value name(s).
HANDLERS: Dict[str, Callable[["Context", torch.fx.Node], Any]] = {}


def handles(*names: str):
    def register(fn):
        for name in names:
            HANDLERS[name] = fn
        return fn
    return register


class Context:
    """State of one translation: the writer, FX node -> kiln value, lazily emitted weights."""

    def __init__(self, writer: KirWriter, weight_sources: Dict[str, Tuple[str, torch.Tensor]]):
        self.w = writer
        self.env: Dict[torch.fx.Node, Any] = {}
        # placeholder name -> (kiln weight name, tensor); emitted on first use.
        self.weight_sources = weight_sources
        self.weights: Dict[str, torch.Tensor] = {}
        # value name -> ("arange", length dim, axis, rank): aranges as index.Tensor sees them.
        self.aranges: Dict[str, Tuple[Any, int, int]] = {}

    # ---- values ----
    def value(self, arg: Any) -> Any:
        if isinstance(arg, torch.fx.Node):
            if arg not in self.env:
                if arg.op == "placeholder" and arg.name in self.weight_sources:
                    self.env[arg] = self._emit_weight(arg)
                else:
                    raise Unsupported(f"value {arg.name} used before it is defined")
            return self.env[arg]
        if isinstance(arg, (list, tuple)):
            return type(arg)(self.value(a) for a in arg)
        return arg

    def tensor(self, arg: Any, like: Optional[torch.fx.Node] = None,
               dtype: Optional[torch.dtype] = None) -> str:
        """A kiln value for a tensor argument; Python numbers become scalar constants of `dtype`
        (default: the dtype of `like`'s result)."""
        v = self.value(arg)
        if isinstance(v, str):
            return v
        if isinstance(v, SymDim):
            raise Unsupported("a dynamic dim used as a tensor value")
        if isinstance(v, (bool, int, float)):
            if dtype is None:
                dtype = self.dtype(like) if like is not None else torch.float32
            return self.w.constant("c", [v], dtype, [])
        raise Unsupported(f"argument {arg!r} is not a tensor")

    def _emit_weight(self, node: torch.fx.Node) -> str:
        name, tensor = self.weight_sources[node.name]
        t = tensor.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        t = t.contiguous()
        self.weights[name] = t
        return self.w.weight(node.name, name, self.w.type(t.dtype, t.shape))

    # ---- meta ----
    @staticmethod
    def meta(node: torch.fx.Node) -> Any:
        val = node.meta.get("val")
        if val is None:
            raise Unsupported(f"node {node.name} has no shape information")
        return val

    def dtype(self, node: torch.fx.Node) -> torch.dtype:
        return self.meta(node).dtype

    def shape(self, node: Any) -> List[Any]:
        return list(self.meta(node).shape)

    def out_type(self, node: torch.fx.Node, index: Optional[int] = None) -> str:
        val = self.meta(node)
        if index is not None:
            val = val[index]
        return self.w.type(val.dtype, val.shape)

    def emit(self, node: torch.fx.Node, op: str, operands: Sequence[str],
             attrs: Optional[str] = None, type_text: Optional[str] = None) -> str:
        return self.w.node1(node.name, op, operands,
                            attrs, type_text if type_text is not None else self.out_type(node))

    def cast(self, value: str, from_type: Tuple[torch.dtype, Sequence[Any]],
             to: torch.dtype) -> str:
        dtype, shape = from_type
        if dtype == to:
            return value
        return self.w.node1(value + "_cast", "cast", [value], f"to={kir_dtype(to)}",
                            self.w.type(to, shape))

    def arg_type(self, arg: Any) -> Optional[Tuple[torch.dtype, List[Any]]]:
        if isinstance(arg, torch.fx.Node):
            val = self.meta(arg)
            return val.dtype, list(val.shape)
        return None


def _where(node: torch.fx.Node) -> str:
    trace = node.meta.get("stack_trace") or ""
    lines = [ln.strip() for ln in trace.strip().splitlines() if ln.strip()]
    return f" (at {lines[-2]}: {lines[-1]})" if len(lines) >= 2 else ""


def _op_name(target: Any) -> str:
    if target is operator.getitem:
        return "getitem"
    if target in (operator.add, operator.sub, operator.mul, operator.floordiv, operator.neg):
        return "sym_" + target.__name__  # arithmetic on dynamic dims
    return str(target)


def translate(ep: ExportedProgram, name: str, symbol_names: Dict[str, str],
              ranges: Dict[str, Tuple[int, int]]) -> Translation:
    from . import _aten_nn_ops, _aten_ops  # noqa: F401  (fill HANDLERS)

    writer = KirWriter(name, symbol_names, ranges)
    sig = ep.graph_signature
    sources: Dict[str, Tuple[str, torch.Tensor]] = {}
    user_inputs: List[str] = []
    for spec in sig.input_specs:
        arg_name = spec.arg.name
        if spec.kind == InputKind.USER_INPUT:
            user_inputs.append(arg_name)
        elif spec.kind in (InputKind.PARAMETER, InputKind.BUFFER):
            tensor = ep.state_dict.get(spec.target)
            if tensor is None:
                tensor = ep.constants[spec.target]
            sources[arg_name] = (spec.target, tensor)
        elif spec.kind == InputKind.CONSTANT_TENSOR:
            sources[arg_name] = (spec.target, ep.constants[spec.target])
        else:
            raise Unsupported(f"export input {arg_name} of kind {spec.kind.name} is not supported")

    ctx = Context(writer, sources)
    graph = ep.graph_module.graph
    for node in graph.nodes:
        if node.op == "placeholder":
            if node.name in sources:
                continue  # emitted on first use
            val = node.meta.get("val")
            if not isinstance(val, torch.Tensor):
                raise Unsupported(f"input {node.name} is not a tensor ({type(val).__name__}); "
                                  "kiln modules take tensors only")
            ctx.env[node] = writer.add_input(node.name, writer.type(val.dtype, val.shape))
        elif node.op == "call_function":
            op = _op_name(node.target)
            handler = HANDLERS.get(op)
            if handler is None:
                raise NotImplementedError(
                    f"kiln cannot translate the ATen op {op}{_where(node)}; supported ops: "
                    "kiln.torch_frontend.supported_ops()")
            try:
                ctx.env[node] = handler(ctx, node)
            except Unsupported as e:
                raise NotImplementedError(f"{op} ({node.name}){_where(node)}: {e}") from None
        elif node.op == "output":
            outputs = node.args[0]
            for out in outputs:
                v = ctx.value(out)
                if not isinstance(v, str):
                    raise NotImplementedError(f"output {out} is not a tensor; kiln modules "
                                              "return tensors only")
                writer.outputs.append(v)
        else:
            raise NotImplementedError(f"FX node kind {node.op} ({node.name}) is not supported")
    return Translation(name=name, text=writer.text(), weights=ctx.weights,
                       input_names=user_inputs, output_names=list(writer.outputs))
