"""Type stubs of the C++ extension kiln._kiln (python/src)."""
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

ABI_VERSION: int

_Tensor = Any  # any DLPack tensor: numpy.ndarray, torch.Tensor, ...

class Module:
    def __init__(self, path: str, weights_path: str = "") -> None: ...
    @property
    def path(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def inputs(self) -> List[Dict[str, Any]]: ...
    @property
    def outputs(self) -> List[Dict[str, Any]]: ...
    @property
    def symbols(self) -> Dict[str, Tuple[int, int]]: ...
    def run(
        self,
        inputs: Sequence[_Tensor],
        outputs: Sequence[Optional[_Tensor]],
        stream: int,
        alloc: Callable[[Tuple[int, ...], str], _Tensor],
    ) -> List[_Tensor]: ...
    def last_pointers(self) -> Tuple[List[int], List[int]]: ...

def compile(
    model: str,
    output_dir: str,
    *,
    text: bool = False,
    source_name: str = "<text>",
    target: str = "cpu",
    dynamic: Mapping[str, Tuple[int, int]] = ...,
    weights_path: str = "",
    weights: Optional[Mapping[str, _Tensor]] = None,
    seed: int = 0,
    batch: Optional[int] = None,
    seq: Optional[int] = None,
    dtype: str = "f32",
    embed_weights: bool = False,
    cuda_graphs: bool = False,
    pdl: bool = False,
    tune: str = "auto",
    tuning_cache: str = "",
    jobs: int = 0,
    cache_dir: str = "",
    use_cache: bool = True,
    log: Optional[Callable[[str], None]] = None,
    progress: Optional[Callable[[int, int, str, str], None]] = None,
    bind: Mapping[str, str] = ...,
) -> Dict[str, Union[str, int, float]]: ...

def reference_eval(
    model: str,
    inputs: Sequence[_Tensor],
    *,
    text: bool = False,
    source_name: str = "<text>",
    weights_path: str = "",
    weights: Optional[Mapping[str, _Tensor]] = None,
    seed: int = 0,
    batch: Optional[int] = None,
    seq: Optional[int] = None,
    dtype: str = "f32",
    dynamic: Mapping[str, Tuple[int, int]] = ...,
    bind: Mapping[str, str] = ...,
) -> List[Any]: ...
