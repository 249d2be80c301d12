"""kiln.Module: a compiled model library loaded for calls on tensors of any framework.

    module = kiln.load("out/mlp")                 # a compile output directory or its model.so
    y = module(x)                                 # numpy in -> numpy out, torch in -> torch out
    y = module(x=x)                               # inputs by name
    module(x, out=y)                              # into preallocated outputs

Inputs are any DLPack tensors (numpy arrays, PyTorch CPU/CUDA tensors), passed to the library
without copies when they are contiguous. Dynamic dims are inferred from the input shapes. Outputs
are allocated in the caller's framework (numpy.empty / torch.empty on the inputs' device) unless
given with out=. On a CUDA target the library runs on PyTorch's current CUDA stream. Errors:
ValueError for wrong shapes and dtypes (naming the input, expected and actual), TypeError for
wrong arguments, NotImplementedError for what kiln cannot do, RuntimeError for CUDA failures.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from ._ext import _kiln

# kiln dtype name -> numpy dtype (bf16 and the float8 types have none).
_NUMPY_DTYPES = {
    "f32": np.float32,
    "f16": np.float16,
    "i64": np.int64,
    "i32": np.int32,
    "i8": np.int8,
    "u8": np.uint8,
    "bool": np.bool_,
}
_TORCH_DTYPE_NAMES = {
    "f32": "float32",
    "f16": "float16",
    "bf16": "bfloat16",
    "i64": "int64",
    "i32": "int32",
    "i8": "int8",
    "u8": "uint8",
    "bool": "bool",
    "f8e4m3": "float8_e4m3fn",
    "f8e5m2": "float8_e5m2",
}


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of a module: name, kiln dtype name ("f32", ...) and shape, whose
    dims are ints or symbolic expressions ("N", "S*12")."""

    name: str
    dtype: str
    shape: Tuple[Union[int, str], ...]

    def __str__(self) -> str:
        return f"{self.name}: {self.dtype}[{','.join(str(d) for d in self.shape)}]"


def _is_torch_tensor(x: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _numpy_dtype(dtype: str) -> Any:
    if dtype not in _NUMPY_DTYPES:
        raise NotImplementedError(
            f"numpy has no {dtype} dtype; pass torch tensors to get {dtype} outputs"
        )
    return _NUMPY_DTYPES[dtype]


class Module:
    """A compiled kiln model with its weights. Call it on tensors; see the module docstring."""

    def __init__(self, path: str, weights: Optional[str] = None) -> None:
        path = os.fspath(path)
        if os.path.isdir(path):
            path = os.path.join(path, "model.so")
        if not os.path.exists(path):
            raise FileNotFoundError(f"no such kiln model library: {path}")
        if weights is None:
            beside = os.path.join(os.path.dirname(os.path.abspath(path)), "model.safetensors")
            weights = beside if os.path.exists(beside) else ""
        self._impl = _kiln.Module(path, os.fspath(weights))
        self.path: str = self._impl.path
        self.target: str = self._impl.target
        self.inputs: Tuple[TensorSpec, ...] = tuple(TensorSpec(**d) for d in self._impl.inputs)
        self.outputs: Tuple[TensorSpec, ...] = tuple(TensorSpec(**d) for d in self._impl.outputs)
        # Dynamic dims: name -> (min, max).
        self.symbols: Dict[str, Tuple[int, int]] = dict(self._impl.symbols)
        # What kiln.compile reported (None for kiln.load).
        self.compile_info: Optional[Dict[str, Any]] = None

    def __repr__(self) -> str:
        ins = ", ".join(str(s) for s in self.inputs)
        outs = ", ".join(str(s) for s in self.outputs)
        return f"kiln.Module({self.path!r}, target={self.target!r}, ({ins}) -> ({outs}))"

    def _ordered_inputs(self, tensors: Sequence[Any], named: Dict[str, Any]) -> list:
        names = [spec.name for spec in self.inputs]
        if len(tensors) > len(names):
            raise TypeError(
                f"module takes {len(names)} inputs ({', '.join(names)}), got {len(tensors)} "
                "positional tensors"
            )
        values: list = list(tensors) + [None] * (len(names) - len(tensors))
        for key, value in named.items():
            if key not in names:
                raise TypeError(f"module has no input named {key!r} (inputs: {', '.join(names)})")
            index = names.index(key)
            if index < len(tensors):
                raise TypeError(f"input {key!r} given both by position and by name")
            values[index] = value
        missing = [n for n, v in zip(names, values) if v is None]
        if missing:
            raise TypeError(f"missing input(s): {', '.join(missing)}")
        return values

    def __call__(self, *tensors: Any, out: Any = None, **named: Any) -> Any:
        """Runs the model. Returns one tensor for a one-output model, else a tuple; with out=
        (a tensor, or a sequence with a tensor or None per output) returns those tensors."""
        values = self._ordered_inputs(tensors, named)
        torch_mode = any(_is_torch_tensor(v) for v in values)
        if out is not None:
            outs = list(out) if isinstance(out, (list, tuple)) else [out]
            if len(outs) != len(self.outputs):
                raise ValueError(
                    f"out= gives {len(outs)} tensors, the module has {len(self.outputs)} outputs "
                    f"({', '.join(s.name for s in self.outputs)})"
                )
            torch_mode = torch_mode or any(_is_torch_tensor(o) for o in outs)
        else:
            outs = [None] * len(self.outputs)
        stream = 0
        if torch_mode:
            import torch

            prepared = []
            device = None
            for spec, v in zip(self.inputs, values):
                if not isinstance(v, torch.Tensor):
                    v = torch.as_tensor(np.asarray(v) if not hasattr(v, "__dlpack__") else v)
                prepared.append(v.detach().contiguous())  # detach: a view, for DLPack
                if device is None or v.device.type == "cuda":
                    device = v.device
            if device is None:
                device = torch.device("cpu")
            if device.type == "cuda":
                stream = torch.cuda.current_stream(device).cuda_stream

            def alloc(shape: Tuple[int, ...], dtype: str) -> Any:
                return torch.empty(shape, dtype=getattr(torch, _TORCH_DTYPE_NAMES[dtype]),
                                   device=device)
        else:
            prepared = []
            for v in values:
                if isinstance(v, np.ndarray):
                    v = np.ascontiguousarray(v)
                elif not hasattr(v, "__dlpack__"):
                    v = np.asarray(v)
                prepared.append(v)

            def alloc(shape: Tuple[int, ...], dtype: str) -> Any:
                return np.empty(shape, dtype=_numpy_dtype(dtype))

        results = self._impl.run(prepared, outs, stream, alloc)
        if out is not None and not isinstance(out, (list, tuple)):
            return results[0]
        return results[0] if len(results) == 1 else tuple(results)


def load(path: Union[str, "os.PathLike[str]"], weights: Optional[str] = None) -> Module:
    """Loads a compiled model: a `kiln compile` / `kiln.compile` output directory or its
    model.so. `weights` is its safetensors file (default: model.safetensors beside the library
    if present, else the library's embedded weights)."""
    return Module(os.fspath(path), weights)
