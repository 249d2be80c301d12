"""A ctypes loader for compiled kiln model libraries (the C ABI of include/kiln/module_abi.h).

Mirrors the C++ runtime (include/kiln/module.h) for Python scripts that must not depend on a
built kiln: only numpy and the library itself are needed.

    module = Module.load("out/model.so")            # checks kiln_module_abi_version()
    with module.create_instance("out/model.safetensors") as inst:
        (y,) = inst.run([x])                         # cpu target: binds dims, allocates outputs

Every failure reported by the library is raised as KilnError carrying the ABI code and the
kiln_last_error() text; mistakes caught on the Python side (wrong dtype, shape, count) raise
ValueError naming the input, expected vs actual.
"""
import ctypes
import os
import re

import numpy as np

# The ABI version this loader speaks (KILN_MODULE_ABI_VERSION).
ABI_VERSION = 1

# KILN_ERR_* codes and their names, for messages.
OK = 0
ERROR_NAMES = {
    1: "INVALID_ARGUMENT",
    2: "NOT_FOUND",
    3: "UNIMPLEMENTED",
    4: "OUT_OF_RANGE",
    5: "INTERNAL",
    6: "PARSE",
    7: "OUT_OF_MEMORY",
    8: "CUDA",
}

# KILN_DTYPE_* -> (kiln's short name, numpy dtype or None where numpy has none).
DTYPES = {
    0: ("f32", np.dtype(np.float32)),
    1: ("f16", np.dtype(np.float16)),
    2: ("bf16", None),
    3: ("i64", np.dtype(np.int64)),
    4: ("i32", np.dtype(np.int32)),
    5: ("i8", np.dtype(np.int8)),
    6: ("u8", np.dtype(np.uint8)),
    7: ("bool", np.dtype(np.bool_)),
    8: ("f8e4m3", None),
    9: ("f8e5m2", None),
}


class KilnError(RuntimeError):
    """A failed ABI call: `code` is the KILN_ERR_* number, `message` the kiln_last_error() text."""

    def __init__(self, code, message, what=""):
        self.code = code
        self.message = message
        name = ERROR_NAMES.get(code, f"code {code}")
        prefix = f"{what}: " if what else ""
        super().__init__(f"{prefix}{message} [KILN_ERR_{name}]")


class _IoInfo(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("dtype", ctypes.c_int),
        ("rank", ctypes.c_int),
        ("dims", ctypes.POINTER(ctypes.c_int64)),
        ("dim_exprs", ctypes.POINTER(ctypes.c_char_p)),
    ]


_FACTOR = r"(?:\d+|[A-Za-z_][A-Za-z0-9_]*)"
_TERM = rf"{_FACTOR}(?:\*{_FACTOR})*"
_EXPR_RE = re.compile(rf"^[+-]?{_TERM}(?:[+-]{_TERM})*$")


def parse_dim_expr(text):
    """Parses kiln's canonical dim text ("N", "S*12", "N*S*12+3", "seq-1") into a list of
    (coefficient, tuple of symbol names) terms. ValueError on anything else."""
    if not _EXPR_RE.match(text):
        raise ValueError(f"malformed dim expression {text!r}")
    terms = []
    for sign, body in re.findall(r"([+-]?)([^+-]+)", text):
        coef, syms = 1, []
        for factor in body.split("*"):
            if factor.isdigit():
                coef *= int(factor)
            else:
                syms.append(factor)
        terms.append((-coef if sign == "-" else coef, tuple(sorted(syms))))
    return terms


def eval_dim_expr(terms, values):
    """Evaluates parsed terms with `values` (symbol name -> int); KeyError for an unbound one."""
    total = 0
    for coef, syms in terms:
        prod = coef
        for s in syms:
            prod *= values[s]
        total += prod
    return total


class IoInfo:
    """One input or output: name, dtype (KILN_DTYPE_*), per-dim static size or expression."""

    def __init__(self, raw):
        self.name = raw.name.decode()
        self.dtype = raw.dtype
        self.dtype_name, self.np_dtype = DTYPES.get(raw.dtype, (f"dtype{raw.dtype}", None))
        self.rank = raw.rank
        # static_dims: int, or -1 where symbolic; dims: per dim the int or its expression text.
        self.static_dims = tuple(int(raw.dims[i]) for i in range(raw.rank))
        self.dims = []
        self.exprs = []  # parsed terms, None for a static dim
        for i in range(raw.rank):
            expr = raw.dim_exprs[i] if raw.dim_exprs else None
            if expr is None:
                if self.static_dims[i] < 0:
                    raise KilnError(5, f"{self.name}: dim {i} is -1 but has no expression",
                                    "reading the module interface")
                self.dims.append(self.static_dims[i])
                self.exprs.append(None)
            else:
                text = expr.decode()
                self.dims.append(text)
                self.exprs.append(parse_dim_expr(text))

    def type_string(self):
        """E.g. "f32[N,4]"."""
        return f"{self.dtype_name}[{','.join(str(d) for d in self.dims)}]"

    def shape(self, values):
        """The concrete shape under symbol `values` (name -> int)."""
        return tuple(d if e is None else eval_dim_expr(e, values)
                     for d, e in zip(self.static_dims, self.exprs))

    def __repr__(self):
        return f"IoInfo({self.name}: {self.type_string()})"


class Module:
    """A loaded kiln module library. Keep it alive while its instances live (they reference it).

    Attributes: path, target ("cpu", "cuda-sm90", ...), inputs / outputs (lists of IoInfo),
    symbols (list of (name, min, max) in kiln_instance_set_dims order).
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise KilnError(2, f"kiln module library not found: {self.path}", "loading")
        # RTLD_LOCAL as the C++ runtime does: two modules' symbols must not interpose.
        try:
            lib = ctypes.CDLL(self.path, mode=os.RTLD_NOW | os.RTLD_LOCAL)
        except OSError as e:
            raise KilnError(1, f"{self.path} is not a loadable shared library: {e}",
                            "loading") from None
        try:
            version_fn = lib.kiln_module_abi_version
        except AttributeError:
            raise KilnError(1, f"{self.path} is not a kiln module (no kiln_module_abi_version)",
                            "loading") from None
        version_fn.restype = ctypes.c_uint32
        version_fn.argtypes = []
        version = version_fn()
        if version != ABI_VERSION:
            raise KilnError(1, f"{self.path} was built for kiln module ABI version {version}, "
                            f"this loader speaks version {ABI_VERSION}", "loading")
        self._lib = lib
        self._bind()
        self.target = lib.kiln_module_target().decode()
        self.inputs = [self._io_info(0, i) for i in range(lib.kiln_module_num_inputs())]
        self.outputs = [self._io_info(1, i) for i in range(lib.kiln_module_num_outputs())]
        self.symbols = []
        for i in range(lib.kiln_module_num_symbols()):
            name, lo, hi = ctypes.c_char_p(), ctypes.c_int64(), ctypes.c_int64()
            self._check(lib.kiln_module_symbol_info(i, ctypes.byref(name), ctypes.byref(lo),
                                                     ctypes.byref(hi)), f"symbol {i}")
            self.symbols.append((name.value.decode(), lo.value, hi.value))

    @classmethod
    def load(cls, path):
        """Loads the library at `path` and reads its interface (see the class doc)."""
        return cls(path)

    def _bind(self):
        lib, i32, i64p, p = self._lib, ctypes.c_int, ctypes.POINTER(ctypes.c_int64), ctypes.c_void_p
        sigs = {
            "kiln_module_target": (ctypes.c_char_p, []),
            "kiln_module_num_inputs": (i32, []),
            "kiln_module_num_outputs": (i32, []),
            "kiln_module_io_info": (i32, [i32, i32, ctypes.POINTER(_IoInfo)]),
            "kiln_module_num_symbols": (i32, []),
            "kiln_module_symbol_info": (i32, [i32, ctypes.POINTER(ctypes.c_char_p), i64p, i64p]),
            "kiln_instance_create": (i32, [ctypes.c_char_p, ctypes.POINTER(p)]),
            "kiln_instance_destroy": (None, [p]),
            "kiln_instance_set_dims": (i32, [p, i64p]),
            "kiln_instance_output_shape": (i32, [p, i32, i64p]),
            "kiln_instance_run": (i32, [p, ctypes.POINTER(p), ctypes.POINTER(p), p]),
            "kiln_last_error": (ctypes.c_char_p, []),
        }
        for name, (restype, argtypes) in sigs.items():
            try:
                fn = getattr(lib, name)
            except AttributeError:
                raise KilnError(1, f"{self.path} is not a kiln module: missing {name}",
                                "loading") from None
            fn.restype, fn.argtypes = restype, argtypes

    def _check(self, code, what):
        """Raises KilnError with the library's kiln_last_error() text when `code` != KILN_OK."""
        if code != OK:
            msg = self._lib.kiln_last_error()
            raise KilnError(code, msg.decode(errors="replace") if msg else "", what)

    def _io_info(self, is_output, index):
        raw = _IoInfo()
        self._check(self._lib.kiln_module_io_info(is_output, index, ctypes.byref(raw)),
                    f"{'output' if is_output else 'input'} {index} info")
        return IoInfo(raw)

    def create_instance(self, weights_path):
        """Creates an Instance with the weights from safetensors `weights_path` (None: embedded).
        Errors (missing file, wrong tensors) come from the library as KilnError."""
        handle = ctypes.c_void_p()
        path = None if weights_path is None else os.fspath(weights_path).encode()
        self._check(self._lib.kiln_instance_create(path, ctypes.byref(handle)),
                    "creating an instance")
        return Instance(self, handle)

    def __repr__(self):
        return (f"Module({self.path!r}, target={self.target}, inputs={self.inputs}, "
                f"outputs={self.outputs}, symbols={self.symbols})")


class Instance:
    """A module's weights and workspace; one thread at a time. Use as a context manager or call
    close(); destroyed at garbage collection otherwise."""

    def __init__(self, module, handle):
        self.module = module  # keeps the library loaded
        self._handle = handle
        self._dims = None  # symbol name -> value once set_dims succeeded
        if not module.symbols:
            self._dims = {}

    def close(self):
        """Destroys the instance (kiln_instance_destroy); further calls raise ValueError."""
        if self._handle is not None and self._handle.value is not None:
            self.module._lib.kiln_instance_destroy(self._handle)
        self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing sensible left to do
            pass

    def _live(self):
        if self._handle is None:
            raise ValueError("kiln instance used after close()")
        return self._handle

    def set_dims(self, values):
        """Binds the dynamic dims: a sequence in symbol order or a dict name -> value.
        KilnError (OUT_OF_RANGE) from the library when a value is outside its range."""
        names = [s[0] for s in self.module.symbols]
        if isinstance(values, dict):
            unknown = set(values) - set(names)
            missing = [n for n in names if n not in values]
            if unknown or missing:
                raise ValueError(f"set_dims: symbols are {names}; unknown {sorted(unknown)}, "
                                 f"missing {missing}")
            values = [values[n] for n in names]
        values = [int(v) for v in values]
        if len(values) != len(names):
            raise ValueError(f"set_dims: {len(values)} values for symbols {names}")
        arr = (ctypes.c_int64 * len(values))(*values) if values else None
        self.module._check(self.module._lib.kiln_instance_set_dims(self._live(), arr),
                           "setting dims")
        self._dims = dict(zip(names, values))

    def output_shape(self, index):
        """The concrete shape of output `index` under the current dims, from the library."""
        if not 0 <= index < len(self.module.outputs):
            raise IndexError(f"output index {index} out of range")
        rank = self.module.outputs[index].rank
        dims = (ctypes.c_int64 * max(rank, 1))()
        self.module._check(
            self.module._lib.kiln_instance_output_shape(self._live(), index, dims),
            f"output {index} shape")
        return tuple(int(dims[i]) for i in range(rank))

    def bind_dims(self, inputs):
        """The symbol values (dict) implied by the shapes of `inputs` (arrays in input order),
        after checking dtype, rank, static dims and consistency. Ranges are left to set_dims."""
        mod = self.module
        if len(inputs) != len(mod.inputs):
            raise ValueError(f"expected {len(mod.inputs)} inputs "
                             f"({[i.name for i in mod.inputs]}), got {len(inputs)}")
        for info, a in zip(mod.inputs, inputs):
            if info.np_dtype is None:
                raise ValueError(f"input {info.name}: dtype {info.dtype_name} has no numpy type")
            if a.dtype != info.np_dtype or a.ndim != info.rank:
                raise ValueError(f"input {info.name}: expected {info.type_string()}, got "
                                 f"{a.dtype}{list(a.shape)}")
            for i, (d, e) in enumerate(zip(info.static_dims, info.exprs)):
                if e is None and a.shape[i] != d:
                    raise ValueError(f"input {info.name}: dim {i} is {a.shape[i]}, expected {d} "
                                     f"({info.type_string()})")
        # Solve expressions linear in one unknown symbol until nothing changes.
        values, progress = {}, True
        while progress:
            progress = False
            for info, a in zip(mod.inputs, inputs):
                for i, e in enumerate(info.exprs):
                    if e is None:
                        continue
                    unknown = {s for _, syms in e for s in syms if s not in values}
                    if len(unknown) != 1:
                        continue
                    (sym,) = unknown
                    known = [(c, syms) for c, syms in e if sym not in syms]
                    lin = [(c, syms) for c, syms in e if sym in syms]
                    if any(syms.count(sym) != 1 for _, syms in lin):
                        continue  # nonlinear in sym
                    coef = sum(c * eval_dim_expr([(1, tuple(x for x in syms if x != sym))],
                                                 values) for c, syms in lin)
                    rest = a.shape[i] - eval_dim_expr(known, values)
                    if coef == 0 or rest % coef:
                        raise ValueError(f"input {info.name}: dim {i} = {a.shape[i]} does not "
                                         f"fit {info.dims[i]}")
                    values[sym] = rest // coef
                    progress = True
        names = [s[0] for s in mod.symbols]
        if set(values) != set(names):
            raise ValueError(f"cannot determine symbols {sorted(set(names) - set(values))} "
                             "from the input shapes")
        for info, a in zip(mod.inputs, inputs):
            if info.shape(values) != tuple(a.shape):
                raise ValueError(f"input {info.name}: shape {list(a.shape)} is inconsistent "
                                 f"with {info.type_string()} at {values}")
        return values

    def run(self, inputs, outputs=None):
        """Runs on the cpu target. `inputs`: arrays in input order, or a dict name -> array.
        Checks dtypes and shapes, binds the dims from the input shapes (set_dims), allocates the
        outputs (or writes into `outputs`, C-contiguous arrays of the right dtype and shape) and
        returns the list of output arrays."""
        mod = self.module
        if mod.target != "cpu":
            raise ValueError(f"run() takes host arrays; this module targets {mod.target} "
                             "(use run_raw with device pointers)")
        if isinstance(inputs, dict):
            names = [i.name for i in mod.inputs]
            if set(inputs) != set(names):
                raise ValueError(f"inputs are {names}, got {sorted(inputs)}")
            inputs = [inputs[n] for n in names]
        inputs = [np.ascontiguousarray(a) for a in inputs]
        values = self.bind_dims(inputs)
        if values != self._dims:
            self.set_dims(values)
        if outputs is None:
            outputs = []
            for k, info in enumerate(mod.outputs):
                if info.np_dtype is None:
                    raise ValueError(f"output {info.name}: dtype {info.dtype_name} has no "
                                     "numpy type")
                outputs.append(np.empty(self.output_shape(k), dtype=info.np_dtype))
        else:
            outputs = list(outputs)
            if len(outputs) != len(mod.outputs):
                raise ValueError(f"expected {len(mod.outputs)} output buffers, "
                                 f"got {len(outputs)}")
            for k, (info, o) in enumerate(zip(mod.outputs, outputs)):
                shape = self.output_shape(k)
                if (o.dtype != info.np_dtype or tuple(o.shape) != shape
                        or not o.flags.c_contiguous or not o.flags.writeable):
                    raise ValueError(f"output {info.name}: need a writable C-contiguous "
                                     f"{info.np_dtype}{list(shape)}, got {o.dtype}{list(o.shape)}")
        self.run_raw([a.ctypes.data for a in inputs], [o.ctypes.data for o in outputs])
        return outputs

    def run_device(self, inputs, outputs, stream=None):
        """Runs a CUDA-target module on device tensors (e.g. torch CUDA tensors: anything with
        data_ptr(), shape and a dtype whose name ends in the kiln dtype's numpy name or is
        "bfloat16"), after checking count, dtype and shape of each against the interface; input
        dims that are a bare symbol ("N") bind it (set_dims), other symbolic dims are taken as
        given. `stream`: a cudaStream_t address (int) or None
        for the default stream (with PyTorch: torch.cuda.current_stream().cuda_stream).
        Returns `outputs`."""
        mod = self.module
        if len(inputs) != len(mod.inputs) or len(outputs) != len(mod.outputs):
            raise ValueError(f"run_device: need {len(mod.inputs)} inputs and {len(mod.outputs)} "
                             f"outputs, got {len(inputs)} and {len(outputs)}")

        def dtype_name(t):
            name = str(t.dtype).rsplit(".", 1)[-1]
            return {"float16": "f16", "bfloat16": "bf16", "float32": "f32", "int64": "i64",
                    "int32": "i32", "int8": "i8", "uint8": "u8", "bool": "bool"}.get(name, name)

        values = {}
        for info, t in zip(mod.inputs, inputs):
            if dtype_name(t) != info.dtype_name or len(t.shape) != info.rank:
                raise ValueError(f"input {info.name}: expected {info.type_string()}, got "
                                 f"{dtype_name(t)}{list(t.shape)}")
            for i, (d, e) in enumerate(zip(info.static_dims, info.exprs)):
                if e is None and t.shape[i] != d:
                    raise ValueError(f"input {info.name}: dim {i} is {t.shape[i]}, expected {d}")
                if e is not None and len(e) == 1 and e[0][0] == 1 and len(e[0][1]) == 1:
                    values[e[0][1][0]] = int(t.shape[i])  # a bare symbol
        if mod.symbols and values != self._dims:
            self.set_dims(values)
        for k, (info, t) in enumerate(zip(mod.outputs, outputs)):
            shape = self.output_shape(k)
            if dtype_name(t) != info.dtype_name or tuple(t.shape) != shape:
                raise ValueError(f"output {info.name}: expected {info.dtype_name}{list(shape)}, got "
                                 f"{dtype_name(t)}{list(t.shape)}")
        self.run_raw([t.data_ptr() for t in inputs], [t.data_ptr() for t in outputs], stream)
        return outputs

    def run_raw(self, input_ptrs, output_ptrs, stream=None):
        """kiln_instance_run on raw addresses (ints) under the current dims; the caller
        guarantees dtypes and shapes. `stream`: a cudaStream_t address on a CUDA target."""
        n_in, n_out = len(self.module.inputs), len(self.module.outputs)
        if len(input_ptrs) != n_in or len(output_ptrs) != n_out:
            raise ValueError(f"run_raw: need {n_in} input and {n_out} output pointers")
        ins = (ctypes.c_void_p * max(n_in, 1))(*input_ptrs)
        outs = (ctypes.c_void_p * max(n_out, 1))(*output_ptrs)
        self.module._check(self.module._lib.kiln_instance_run(self._live(), ins, outs, stream),
                           "running")
