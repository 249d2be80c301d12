"""Type stubs of the kiln package's public API (python/kiln/__init__.py)."""
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ._module import Module as Module, TensorSpec as TensorSpec

__version__: str
ABI_VERSION: int

def load(path: Union[str, os.PathLike[str]], weights: Optional[str] = ...) -> Module: ...
def compile(
    model: Any,
    example_inputs: Optional[Sequence[Any]] = ...,
    *,
    target: str = ...,
    output_dir: Optional[Union[str, os.PathLike[str]]] = ...,
    dynamic_shapes: Any = ...,
    dynamic: Optional[Mapping[str, Tuple[int, int]]] = ...,
    weights: Any = ...,
    seed: int = ...,
    batch: Optional[int] = ...,
    seq: Optional[int] = ...,
    dtype: str = ...,
    embed_weights: bool = ...,
    cuda_graphs: bool = ...,
    pdl: bool = ...,
    tune: str = ...,
    tuning_cache: Optional[str] = ...,
    jobs: int = ...,
    cache_dir: Optional[str] = ...,
    use_cache: bool = ...,
    progress: Optional[bool] = ...,
    bind: Optional[Mapping[str, Any]] = ...,
) -> Module: ...
def reference_eval(
    model: Any,
    *inputs: Any,
    weights: Any = ...,
    seed: int = ...,
    batch: Optional[int] = ...,
    seq: Optional[int] = ...,
    dtype: str = ...,
    dynamic: Optional[Mapping[str, Tuple[int, int]]] = ...,
    bind: Optional[Mapping[str, Any]] = ...,
) -> List[Any]: ...
