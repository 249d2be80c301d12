"""Builds the benchmark models in PyTorch and exports them for kiln and ONNX Runtime.

Shared by the CPU benchmark (bench/cpu_vs_onnxruntime.py) and any later GPU one. For a zoo
model (resnet50, bert, vit) export_model():
  1. builds the torchvision / transformers model with torch.manual_seed(0) random init in fp32
     eval mode (no downloads), re-randomising the parameters PyTorch initialises to constants
     exactly as bench/zoo_check does, so that no weight is an identity;
  2. saves its state_dict (parameters + BatchNorm running stats: the names kiln's zoo graphs
     declare, models/testdata/torch_state_dict_keys.txt) to <workdir>/<name>.weights.safetensors;
  3. makes random inputs keyed by the kiln graph input names (BERT: the last quarter of the last
     row padded in attention_mask) and PyTorch's fp32 outputs on them, keyed by the kiln graph
     output names;
  4. exports ONNX with static shapes and the same input/output names to <workdir>/<name>.onnx.

Inputs/outputs (models/resnet50.cc, models/bert.cc):
  resnet50, vit: x f32[N,3,224,224] -> logits f32[N,1000]
  bert: input_ids i64[N,S], attention_mask i64[N,S] -> last_hidden_state f32[N,S,768],
        pooler_output f32[N,768]
"""
import dataclasses
import os
import sys
import time

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# One definition of the models, their inputs and the weight randomisation for every bench script.
from zoo_check.export_and_compare import (  # noqa: E402
    MODELS, kiln_state_dict, randomize_constant_params)

OUTPUT_NAMES = {
    "resnet50": ["logits"],
    "vit": ["logits"],
    "bert": ["last_hidden_state", "pooler_output"],
}


@dataclasses.dataclass
class ExportedModel:
    """A model exported for the benchmarks (paths under the work dir, numpy arrays)."""
    name: str
    batch: int
    seq: int  # BERT's sequence length (unused by the image models)
    weights_path: str  # safetensors, PyTorch state_dict names: `kiln compile --weights`
    onnx_path: str
    input_names: list
    output_names: list
    inputs: dict  # input name -> numpy array (C-contiguous)
    torch_outputs: dict  # output name -> numpy f32 array, PyTorch fp32 eager on the CPU
    torch_module: torch.nn.Module  # the eval-mode model, for timing PyTorch itself
    torch_run: object  # torch_run(torch_module, dict of torch inputs) -> dict of outputs
    onnx_exporter: str  # "torchscript" or "dynamo" (None: ONNX not exported)
    export_s: float  # seconds spent building, saving and exporting


class _Positional(torch.nn.Module):
    """Adapts a zoo model to positional inputs and a tuple of outputs, in kiln's name order."""

    def __init__(self, model, run, input_names, output_names):
        super().__init__()
        self.model = model
        self.run = run
        self.input_names = input_names
        self.output_names = output_names

    def forward(self, *inputs):
        out = self.run(self.model, dict(zip(self.input_names, inputs)))
        return tuple(out[k] for k in self.output_names)


def export_onnx(wrapper, inputs, input_names, output_names, path, opset=18):
    """Exports `wrapper` with static shapes to `path` (one file, weights inside when < 2 GB):
    the TorchScript exporter where this torch still has it, else the dynamo exporter. Returns
    the exporter used: "torchscript" or "dynamo"."""
    args = tuple(inputs[k] for k in input_names)
    kwargs = dict(input_names=input_names, output_names=output_names, opset_version=opset)
    try:
        torch.onnx.export(wrapper, args, path, dynamo=False, do_constant_folding=True, **kwargs)
        return "torchscript"
    except (TypeError, RuntimeError, NotImplementedError) as e:
        print(f"  TorchScript ONNX export unavailable ({type(e).__name__}: {e}); using dynamo",
              flush=True)
        torch.onnx.export(wrapper, args, path, dynamo=True, external_data=False, **kwargs)
        return "dynamo"


def export_model(name, workdir, batch=1, seq=128, onnx=True):
    """Builds, saves and exports zoo model `name` (see the module doc); returns ExportedModel."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r} (choose from {sorted(MODELS)})")
    os.makedirs(workdir, exist_ok=True)
    t0 = time.perf_counter()
    torch.manual_seed(0)
    model, inputs, run = MODELS[name](_Args(batch, seq))
    randomize_constant_params(model)
    model.eval()
    input_names = list(inputs)
    output_names = OUTPUT_NAMES[name]
    weights_path = os.path.join(workdir, f"{name}.weights.safetensors")
    save_file(kiln_state_dict(model), weights_path)
    with torch.no_grad():
        ref = run(model, inputs)
    torch_outputs = {k: ref[k].float().contiguous().numpy().copy() for k in output_names}
    onnx_path = os.path.join(workdir, f"{name}.onnx")
    exporter = None
    if onnx:
        wrapper = _Positional(model, run, input_names, output_names).eval()
        with torch.no_grad():
            exporter = export_onnx(wrapper, inputs, input_names, output_names, onnx_path)
    return ExportedModel(
        name=name, batch=batch, seq=seq, weights_path=weights_path, onnx_path=onnx_path,
        input_names=input_names, output_names=output_names,
        inputs={k: np.ascontiguousarray(v.numpy()) for k, v in inputs.items()},
        torch_outputs=torch_outputs, torch_module=model, torch_run=run, onnx_exporter=exporter,
        export_s=time.perf_counter() - t0)


@dataclasses.dataclass
class _Args:
    """The options the zoo_check model factories read."""
    batch: int
    seq: int
