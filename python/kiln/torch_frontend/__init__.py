"""The PyTorch frontend: torch.nn.Module -> kiln, through torch.export.

    module = kiln.compile(model, (x,), dynamic_shapes=({0: torch.export.Dim("batch", max=64)},))

export_to_kir exports the model (eval mode, run_decompositions({}): functional ATen ops with
linear, layer_norm and scaled_dot_product_attention kept whole) and translates the graph into kiln
text IR; the parameters, buffers and constants become the graph's weights, passed to the compiler
as the module's own tensors (no copy for contiguous CPU tensors). Dynamic dims keep the names of
their torch.export.Dim and need a finite max.

torch.compile(model, backend="kiln") compiles each graph dynamo captures with kiln for the CPU
(the graph's example shapes, static); a graph kiln cannot translate runs in PyTorch instead, with
a warning naming the reason.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

from ._aten_ops import supported_ops
from ._translate import Translation, translate

__all__ = ["export_to_kir", "kiln_backend", "register_backend", "supported_ops", "Translation"]

logger = logging.getLogger("kiln")


def _symbol_names(ep: "torch.export.ExportedProgram", dynamic_shapes: Any) -> Dict[str, str]:
    """torch shape symbol ("s43") -> the name of the torch.export.Dim the user gave it."""
    names: Dict[str, str] = {}
    if dynamic_shapes is None:
        return names
    specs = list(dynamic_shapes.values()) if isinstance(dynamic_shapes, dict) else list(dynamic_shapes)
    placeholders = [n for n in ep.graph.nodes if n.op == "placeholder"
                    and n.name in {s.arg.name for s in ep.graph_signature.input_specs
                                   if s.kind.name == "USER_INPUT"}]
    for node, spec in zip(placeholders, specs):
        if not spec:
            continue
        items = spec.items() if isinstance(spec, dict) else enumerate(spec)
        shape = node.meta["val"].shape
        for axis, dim in items:
            if dim is None or not hasattr(dim, "__name__"):
                continue
            d = shape[axis]
            if isinstance(d, torch.SymInt) and d.node.expr.is_Symbol:
                names.setdefault(str(d.node.expr), dim.__name__)
    return names


def export_to_kir(model: torch.nn.Module, example_inputs: Tuple[Any, ...],
                  dynamic_shapes: Any = None, name: Optional[str] = None) -> Translation:
    """Exports `model` with torch.export and translates it to kiln text IR plus weights.
    NotImplementedError names the first ATen op (or dtype, or dynamic dim) kiln cannot take."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(model).__name__}")
    was_training = model.training
    model.eval()  # inference semantics (batch norm statistics, no dropout); restored below
    try:
        with torch.no_grad():
            ep = torch.export.export(model, tuple(example_inputs), dynamic_shapes=dynamic_shapes)
            ep = ep.run_decompositions({})
    finally:
        model.train(was_training)
    renamed = _symbol_names(ep, dynamic_shapes)
    symbol_names: Dict[str, str] = {}
    ranges: Dict[str, Tuple[int, int]] = {}
    for sym, vr in ep.range_constraints.items():
        kiln_name = renamed.get(str(sym), str(sym))
        symbol_names[str(sym)] = kiln_name
        try:
            hi = int(vr.upper)
        except (TypeError, ValueError, OverflowError, AttributeError):
            hi = -1  # unbounded: an error if a translated dim uses it (KirWriter.text)
        ranges[kiln_name] = (int(vr.lower), hi if hi < 2**62 else -1)
    return translate(ep, name or type(model).__name__, symbol_names, ranges)


# ---- torch.compile backend ----
class _KilnGraph:
    """A dynamo graph compiled by kiln (CPU, static shapes); the inputs dynamo passes (including
    lifted parameters) are the module's inputs."""

    def __init__(self, module: Any, n_outputs_is_tuple: bool) -> None:
        self.module = module
        self.tuple_out = n_outputs_is_tuple

    def __call__(self, *args: Any) -> Any:
        tensors = [a for a in args if isinstance(a, torch.Tensor)]
        out = self.module(*tensors)
        if not isinstance(out, tuple):
            out = (out,)
        return out if self.tuple_out else list(out)


def kiln_backend(gm: torch.fx.GraphModule, example_inputs: List[Any], **kwargs: Any) -> Any:
    """torch.compile backend "kiln": compiles the captured graph with kiln.compile for the CPU;
    falls back to running `gm` in PyTorch when kiln cannot take it."""
    import kiln

    try:
        if any(not isinstance(x, torch.Tensor) for x in example_inputs):
            raise NotImplementedError("graph inputs that are not tensors (dynamic shapes)")
        if any(x.device.type != "cpu" for x in example_inputs):
            raise NotImplementedError("the torch.compile backend compiles for the CPU only")
        inputs = tuple(example_inputs)
        module = kiln.compile(gm, inputs, progress=False)
        with torch.no_grad():
            expected = gm(*inputs)
        return _KilnGraph(module, isinstance(expected, tuple))
    except (NotImplementedError, ValueError, RuntimeError, TypeError) as e:
        logger.warning("kiln: running this graph in PyTorch instead: %s", str(e).splitlines()[0])
        return gm.forward


def register_backend() -> None:
    """Registers "kiln" with torch.compile (idempotent)."""
    try:
        from torch._dynamo.backends.registry import _BACKENDS, register_backend as reg
    except ImportError:  # pragma: no cover - very old or very new torch
        return
    if "kiln" not in _BACKENDS:
        reg(name="kiln")(kiln_backend)
