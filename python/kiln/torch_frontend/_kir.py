"""A writer of kiln text IR (docs/ir_text_format.md) for the PyTorch frontend.

It turns torch dtypes, shapes (ints and SymInts) and Python numbers into KIR spellings, keeps value
names unique, and collects nodes, inputs, outputs and symbol ranges into one `graph` text. Types
of translated nodes come from torch's own shape propagation (each FX node's meta["val"]); kiln's
verifier re-infers them when the text is parsed, so a translation mistake fails loudly.
"""
from __future__ import annotations

import math
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import torch

DTYPES = {
    torch.float32: "f32",
    torch.float16: "f16",
    torch.bfloat16: "bf16",
    torch.int64: "i64",
    torch.int32: "i32",
    torch.int8: "i8",
    torch.uint8: "u8",
    torch.bool: "bool",
}

_NAME_OK = re.compile(r"^[A-Za-z0-9_.]+$")
_DIM_OK = re.compile(r"^[A-Za-z0-9_*+\-() ]+$")


def kir_dtype(dtype: torch.dtype, what: str = "") -> str:
    if dtype not in DTYPES:
        raise NotImplementedError(f"{what}dtype {dtype} has no kiln counterpart "
                                  f"(kiln has {', '.join(DTYPES.values())})")
    return DTYPES[dtype]


def number(value: Any) -> str:
    """A KIR number: ints as ints, floats with a '.' or exponent, inf / -inf / nan."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = repr(value)
    return text if any(c in text for c in ".e") else text + ".0"


def quote(name: str) -> str:
    return name if _NAME_OK.match(name) else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class KirWriter:
    """Collects one graph. Symbols are torch's shape symbols renamed to `symbol_names`."""

    def __init__(self, name: str, symbol_names: Dict[str, str],
                 ranges: Dict[str, Tuple[int, int]]) -> None:
        self.name = name
        self.symbol_names = symbol_names  # torch symbol ("s43") -> kiln name ("batch")
        self.ranges = ranges              # kiln name -> (min, max)
        self.used_symbols: set = set()
        self.inputs: List[str] = []
        self.outputs: List[str] = []
        self.lines: List[str] = []
        self._names: set = set()

    # ---- names, dims, types ----
    def fresh(self, base: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_.]", "_", base) or "v"
        name, i = base, 1
        while name in self._names:
            name, i = f"{base}_{i}", i + 1
        self._names.add(name)
        return name

    def dim(self, d: Any) -> str:
        if isinstance(d, int):
            return str(d)
        expr = d.node.expr if isinstance(d, torch.SymInt) else d
        if hasattr(expr, "is_Integer") and expr.is_Integer:
            return str(int(expr))
        text = str(expr)
        for sym in sorted((str(s) for s in getattr(expr, "free_symbols", ())), key=len,
                          reverse=True):
            if sym not in self.symbol_names:
                raise NotImplementedError(f"dynamic dim {text}: symbol {sym} is not a dynamic "
                                          "dim of an input")
            self.used_symbols.add(self.symbol_names[sym])
            text = re.sub(rf"\b{sym}\b", self.symbol_names[sym], text)
        if not _DIM_OK.match(text) or "**" in text:
            raise NotImplementedError(f"dynamic dim {expr} is not a polynomial kiln can express "
                                      "(only +, - and * of symbols and integers)")
        return text.replace(" ", "")

    def dims(self, shape: Iterable[Any]) -> str:
        return "[" + ",".join(self.dim(d) for d in shape) + "]"

    def type(self, dtype: torch.dtype, shape: Sequence[Any]) -> str:
        return kir_dtype(dtype) + self.dims(shape)

    def symbol_max(self, d: Any) -> int:
        """The largest value a dim can take (its range's max for a lone symbol)."""
        if isinstance(d, int):
            return d
        text = self.dim(d)
        if text in self.ranges:
            return self.ranges[text][1]
        raise NotImplementedError(f"no bound for the dynamic dim {text}")

    # ---- graph parts ----
    def add_input(self, name: str, type_text: str) -> str:
        name = self.fresh(name)
        self.inputs.append(f"%{quote(name)}: {type_text}")
        return name

    def node(self, base: str, op: str, operands: Sequence[str], attrs: Optional[str],
             types: Sequence[str]) -> List[str]:
        names = [self.fresh(base if i == 0 else f"{base}_{i}") for i in range(len(types))]
        lhs = ", ".join(f"%{quote(n)}" for n in names)
        args = ", ".join(f"%{quote(o)}" for o in operands)
        attr_text = f" {{{attrs}}}" if attrs else ""
        self.lines.append(f"  {lhs} = {op}({args}){attr_text} : {', '.join(types)}")
        return names

    def node1(self, base: str, op: str, operands: Sequence[str], attrs: Optional[str],
              type_text: str) -> str:
        return self.node(base, op, operands, attrs, [type_text])[0]

    def weight(self, base: str, weight_name: str, type_text: str) -> str:
        name = self.fresh(base)
        escaped = weight_name.replace("\\", "\\\\").replace('"', '\\"')
        self.lines.append(f'  %{quote(name)} = weight "{escaped}" : {type_text}')
        return name

    def constant(self, base: str, values: Sequence[Any], dtype: torch.dtype,
                 shape: Sequence[int]) -> str:
        name = self.fresh(base)
        body = ", ".join(number(v) for v in values)
        self.lines.append(f"  %{quote(name)} = constant [{body}] : {self.type(dtype, shape)}")
        return name

    def text(self) -> str:
        header = f"graph @{quote(self.name)}({', '.join(self.inputs)}) -> "
        header += "(" + ", ".join(f"%{quote(o)}" for o in self.outputs) + ")"
        used = [s for s in self.ranges if s in self.used_symbols]
        for s in used:
            if self.ranges[s][1] < 0:
                raise ValueError(f"dynamic dim {s} has no upper bound: give it one, e.g. "
                                 f"torch.export.Dim({s!r}, max=64)")
        if used:
            header += " where " + ", ".join(
                f"{s} in [{self.ranges[s][0]}, {self.ranges[s][1]}]" for s in used)
        return header + " {\n" + "\n".join(self.lines) + "\n}\n"
