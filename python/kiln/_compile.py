"""kiln.compile and kiln.reference_eval.

kiln.compile(model, ...) accepts
  - a path to a .kir file or an .onnx file, or "zoo:NAME" (as `kiln compile` does),
  - KIR text (a str starting with "graph"; docs/ir_text_format.md),
  - a torch.nn.Module with example inputs (through torch.export; kiln/torch_frontend),
compiles it for `target` into `output_dir` (default: a new temporary directory) and returns the
loaded kiln.Module; Module.compile_info holds the compiler's report.
"""
from __future__ import annotations

import os
import tempfile
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ._ext import _kiln
from ._module import Module
from ._progress import CompileProgress

Dynamic = Mapping[str, Tuple[int, int]]


def _is_kir_text(model: str) -> bool:
    return model.lstrip().startswith(("graph", "//"))


def _bound_values(bind: Optional[Mapping[str, Any]]) -> Dict[str, str]:
    """{input name: values} (a number, a sequence of numbers or an array) as the comma-separated
    text that the importer reads (`kiln compile --bind NAME=V1,V2,...`)."""
    out: Dict[str, str] = {}
    for name, values in (bind or {}).items():
        flat = values.tolist() if hasattr(values, "tolist") else values
        if not isinstance(flat, (list, tuple)):
            flat = [flat]
        items = []
        for v in flat:
            if isinstance(v, (list, tuple)):
                raise TypeError(f"bind['{name}']: expected a number or a flat sequence of numbers")
            if isinstance(v, bool):
                items.append("true" if v else "false")
            elif isinstance(v, (int, float)):
                items.append(repr(v))
            else:
                raise TypeError(f"bind['{name}']: expected numbers, got {type(v).__name__}")
        out[str(name)] = ",".join(items)
    return out


def _source_kwargs(model: Any, weights: Any, seed: int, batch: Optional[int], seq: Optional[int],
                   dtype: str, dynamic: Optional[Dynamic],
                   bind: Optional[Mapping[str, Any]] = None) -> Tuple[str, Dict[str, Any]]:
    if isinstance(model, os.PathLike):
        model = os.fspath(model)
    if not isinstance(model, str):
        raise TypeError(f"model: expected a path, 'zoo:NAME', KIR text or a torch.nn.Module, "
                        f"got {type(model).__name__}")
    kwargs: Dict[str, Any] = {"seed": seed, "batch": batch, "seq": seq, "dtype": dtype,
                              "dynamic": dict(dynamic or {}), "bind": _bound_values(bind)}
    if _is_kir_text(model):
        kwargs["text"] = True
    if weights is None:
        pass
    elif isinstance(weights, (str, os.PathLike)):
        kwargs["weights_path"] = os.fspath(weights)
    elif isinstance(weights, Mapping):
        kwargs["weights"] = dict(weights)
    else:
        raise TypeError("weights: expected a safetensors path or a dict of tensors")
    return model, kwargs


def compile(  # noqa: A001  (kiln.compile, like torch.compile)
    model: Any,
    example_inputs: Optional[Sequence[Any]] = None,
    *,
    target: str = "cpu",
    output_dir: Optional[Union[str, "os.PathLike[str]"]] = None,
    dynamic_shapes: Any = None,
    dynamic: Optional[Dynamic] = None,
    weights: Any = None,
    seed: int = 0,
    batch: Optional[int] = None,
    seq: Optional[int] = None,
    dtype: str = "f32",
    embed_weights: bool = False,
    cuda_graphs: bool = False,
    pdl: bool = False,
    tune: str = "auto",
    tuning_cache: Optional[str] = None,
    jobs: int = 0,
    cache_dir: Optional[str] = None,
    use_cache: bool = True,
    progress: Optional[bool] = None,
    bind: Optional[Mapping[str, Any]] = None,
) -> Module:
    """Compiles `model` for `target` ("cpu", "cuda-sm90", "cuda-sm80") and loads it.

    For a torch.nn.Module, `example_inputs` (a tuple of tensors) and `dynamic_shapes` go to
    torch.export.export; the parameters and buffers become the weights. For other models:
    `weights` is a safetensors path or a dict name -> tensor (default: generated from `seed`),
    `dynamic` maps a symbol (or "batch" / "seq") to its (min, max) range, and batch / seq / dtype
    apply to zoo models. `cache_dir` is the object cache (default ~/.cache/kiln/objects),
    `output_dir` receives model.so, model.safetensors, model.kir and the generated sources.
    `pdl` (cuda-sm90): programmatic dependent launch, each kernel starting while the one before
    it finishes (hides the launch gaps between the short kernels of small batches).
    `progress`: None shows a bar on a terminal and logs otherwise, False is silent. `bind`
    (.onnx models) maps a graph input that decides shapes (a Reshape's shape, Slice's starts) to
    its values, e.g. {"shape": [1, -1]}: it becomes a constant and leaves the library's inputs.
    """
    if not isinstance(model, (str, os.PathLike)):
        if not type(model).__module__.startswith("torch") and not any(
                c.__module__.startswith("torch.nn") for c in type(model).__mro__):
            raise TypeError(f"model: expected a path, 'zoo:NAME', KIR text or a "
                            f"torch.nn.Module, got {type(model).__name__}")
        from .torch_frontend import export_to_kir

        if example_inputs is None:
            raise TypeError("kiln.compile of a torch.nn.Module needs example_inputs")
        if bind:
            raise TypeError("bind applies to .onnx models only")
        exported = export_to_kir(model, tuple(example_inputs), dynamic_shapes=dynamic_shapes)
        text, weight_dict = exported.text, exported.weights
        model_arg, kwargs = text, {"text": True, "source_name": exported.name,
                                   "weights": weight_dict, "dynamic": dict(dynamic or {})}
    else:
        if example_inputs is not None or dynamic_shapes is not None:
            raise TypeError("example_inputs and dynamic_shapes apply to torch.nn.Module models "
                            "only (use dynamic= for the symbol ranges of a kiln model)")
        model_arg, kwargs = _source_kwargs(model, weights, seed, batch, seq, dtype, dynamic, bind)
    if output_dir is None:
        output_dir = tempfile.mkdtemp(prefix="kiln-")
    reporter = CompileProgress(progress)
    try:
        info = _kiln.compile(
            model_arg, os.fspath(output_dir), target=target, embed_weights=embed_weights,
            cuda_graphs=cuda_graphs, pdl=pdl, tune=tune, tuning_cache=tuning_cache or "", jobs=jobs,
            cache_dir=cache_dir or "", use_cache=use_cache, log=reporter.log,
            progress=reporter.progress, **kwargs)
    except BaseException:
        reporter.abort()
        raise
    reporter.finish(info["summary"])
    module = Module(info["library_path"], info["weights_path"] or "")
    module.compile_info = info
    return module


def reference_eval(
    model: Any,
    *inputs: Any,
    weights: Any = None,
    seed: int = 0,
    batch: Optional[int] = None,
    seq: Optional[int] = None,
    dtype: str = "f32",
    dynamic: Optional[Dynamic] = None,
    bind: Optional[Mapping[str, Any]] = None,
) -> List[Any]:
    """Runs `model` (as kiln.compile takes it, not a torch module) with kiln's reference
    interpreter on host tensors (numpy arrays); returns one numpy array per output. The weights
    are generated from the same `seed` as kiln.compile's, so both compute the same function."""
    import numpy as np

    model_arg, kwargs = _source_kwargs(model, weights, seed, batch, seq, dtype, dynamic, bind)
    arrays = [np.ascontiguousarray(x) if isinstance(x, np.ndarray) else x for x in inputs]
    return list(_kiln.reference_eval(model_arg, arrays, **kwargs))
