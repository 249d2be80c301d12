"""The models the benchmark harness runs: built-in ones and user factories.

A model spec is "resnet50", "vit", "bert" (torchvision / transformers with seeded random weights:
no downloads) or "package.module:function". A factory is called as factory(batch) when it takes
an argument, else factory(); it returns (model, example_inputs): a torch.nn.Module and a tuple of
tensors whose dim 0 is the batch, or (model, example_inputs, forms) with forms a dict name ->
torch.nn.Module of other PyTorch forms of the same model (same weights, same outputs, e.g. BERT
with eager instead of SDPA attention): the harness times PyTorch in each form too and takes the
best over all of them. The harness builds a model once, at the largest batch, and derives the
inputs of the other batches with resize_batch (rows repeated or dropped).
"""
from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple

BUILTIN_MODELS = ("resnet50", "vit", "bert")


@dataclass
class BenchModel:
    """A model ready to benchmark: fp32 eval-mode module, inputs at the build batch."""

    name: str
    module: Any  # torch.nn.Module, fp32, eval mode, on the CPU
    inputs: Tuple[Any, ...]  # torch tensors, dim 0 = batch
    classifier: bool  # one [batch, classes] output: top-1 agreement is checked
    convolutional: bool  # has Conv2d layers: the channels_last mode applies
    # Other PyTorch forms of the model (fp32, eval, CPU), timed as "<mode> [<form>]"
    torch_forms: Dict[str, Any] = field(default_factory=dict)


def _randomize_constant_params(model: Any) -> None:
    """Re-randomises parameters that PyTorch initialises to constants (norm affine, biases,
    BatchNorm statistics, ViT's zero head), so that no layer is an identity."""
    import torch

    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in list(model.named_parameters()) + list(model.named_buffers()):
            if not p.is_floating_point() or p.numel() == 0:
                continue
            if name.endswith("running_var"):
                p.copy_(torch.rand(p.shape, generator=gen) + 0.5)
            elif name.endswith("running_mean"):
                p.copy_((torch.rand(p.shape, generator=gen) - 0.5) * 0.2)
            elif bool((p == p.flatten()[0]).all()):
                if p.dim() >= 2:
                    bound = 1.0 / (p[0].numel() ** 0.5)
                    p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * bound)
                elif float(p.flatten()[0]) == 1.0:
                    p.copy_(torch.rand(p.shape, generator=gen) * 0.4 + 0.8)
                else:
                    p.copy_((torch.rand(p.shape, generator=gen) - 0.5) * 0.2)


def _torchvision(name: str, batch: int) -> Tuple[Any, Tuple[Any, ...]]:
    import torch
    import torchvision

    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    _randomize_constant_params(model)
    return model, (torch.randn(batch, 3, 224, 224),)


def _bert(batch: int, seq: int = 128) -> Tuple[Any, Tuple[Any, ...]]:
    import torch
    from transformers import BertConfig, BertModel

    class Bert(torch.nn.Module):
        """BertModel with positional inputs and a tuple of outputs."""

        def __init__(self, attention: Optional[str] = None) -> None:
            super().__init__()
            self.bert = (BertModel(BertConfig()) if attention is None else
                         BertModel._from_config(BertConfig(), attn_implementation=attention))

        def forward(self, input_ids: Any, attention_mask: Any) -> Tuple[Any, Any]:
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask)
            return out.last_hidden_state, out.pooler_output

    torch.manual_seed(0)
    # transformers' default attention (SDPA), what kiln compiles; eager (matmul + softmax)
    # attention is PyTorch's other form: 1.5x slower at s384 batch 64, faster at batch 1 with
    # CUDA graphs (bert_s384_h200.md), so both are timed.
    model = Bert().eval()
    _randomize_constant_params(model)
    eager_attention = Bert("eager").eval()
    eager_attention.load_state_dict(model.state_dict())
    ids = torch.randint(0, model.bert.config.vocab_size, (batch, seq), dtype=torch.int64)
    mask = torch.ones(batch, seq, dtype=torch.int64)
    mask[0, (3 * seq) // 4:] = 0  # the first row is padded (the row every batch keeps)
    return model, (ids, mask), {"eager attention": eager_attention}


def resolve_factory(spec: str) -> Tuple[str, Callable[..., Any]]:
    """Returns (name, factory) for a built-in name or "module:function"."""
    if spec == "resnet50":
        return spec, lambda batch: _torchvision("resnet50", batch)
    if spec == "vit":
        return spec, lambda batch: _torchvision("vit_b_16", batch)
    if spec == "bert":
        return spec, _bert
    if ":" not in spec:
        raise ValueError(f"--model {spec!r}: expected one of {', '.join(BUILTIN_MODELS)} or "
                         "'module:function' (a function returning (model, example_inputs))")
    module_name, func_name = spec.split(":", 1)
    try:
        func = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"--model {spec!r}: cannot import {func_name} from {module_name}: {e}")
    return func_name, func


def resize_batch(x: Any, batch: int) -> Any:
    """x with dim 0 of size `batch`: its rows repeated cyclically, or the first `batch` rows."""
    import torch

    if x.shape[0] == batch:
        return x
    reps = -(-batch // x.shape[0])
    return torch.cat([x] * reps)[:batch].contiguous() if reps > 1 else x[:batch].contiguous()


def build_model(spec: Any, batch: int, seq: Optional[int] = None) -> BenchModel:
    """Builds the model of `spec` (a string, or a factory callable) with inputs at `batch`;
    `seq` goes to a factory that takes a `seq` argument (bert), else it is an error."""
    import torch

    if callable(spec):
        name, factory = getattr(spec, "__name__", "model"), spec
    else:
        name, factory = resolve_factory(spec)
    params = inspect.signature(factory).parameters
    kwargs = {}
    if seq is not None:
        if "seq" not in params:
            raise ValueError(f"model {name}: its factory takes no sequence length (seq={seq})")
        kwargs["seq"] = seq
    built = factory(batch, **kwargs) if params else factory()
    model, inputs = built[0], built[1]
    forms = built[2] if len(built) > 2 else {}
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model {name}: the factory returned a {type(model).__name__}, "
                        "expected (torch.nn.Module, example_inputs)")
    if isinstance(inputs, torch.Tensor):
        inputs = (inputs,)
    inputs = tuple(resize_batch(x, batch) for x in inputs)
    model = model.float().eval().cpu()
    inputs = tuple(x.cpu() for x in inputs)
    convolutional = any(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    two_rows = tuple(x[:2] for x in inputs)
    with torch.no_grad():  # the output structure, from two rows (cheap at any batch)
        outs = flatten_outputs(model(*two_rows))
    classifier = len(outs) == 1 and outs[0].dim() == 2 and outs[0].shape[1] > 1
    torch_forms = {}
    for form, module in forms.items():
        module = module.float().eval().cpu()
        with torch.no_grad():
            got = flatten_outputs(module(*two_rows))
        if len(got) != len(outs):
            raise ValueError(f"model {name}: its form {form!r} has {len(got)} outputs, the "
                             f"model {len(outs)}")
        for g, w in zip(got, outs):
            err = float((g - w).abs().max()) / max(float(w.abs().max()), 1e-6)
            if g.shape != w.shape or err > 1e-4:
                raise ValueError(f"model {name}: its form {form!r} computes something else "
                                 f"(max |err| / max |ref| {err:.3g}, shapes {tuple(g.shape)} "
                                 f"vs {tuple(w.shape)})")
        torch_forms[form] = module
    return BenchModel(name=name, module=model, inputs=inputs, classifier=classifier,
                      convolutional=convolutional, torch_forms=torch_forms)


def flatten_outputs(out: Any) -> list:
    """A model's outputs as a list of tensors: a tensor, a (nested) tuple / list, a dict or a
    transformers ModelOutput (its values, in order)."""
    import torch

    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict) or hasattr(out, "to_tuple"):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for item in out for t in flatten_outputs(item)]
    raise TypeError(f"model output of type {type(out).__name__}: expected tensors")
