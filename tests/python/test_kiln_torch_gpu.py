"""Whole PyTorch models through `kiln.compile` on the GPU (marker `gpu`): torchvision ResNet-50
and ViT-B/16, Hugging Face BertModel, random init (kiln.bench's model builders, no downloads).

Each model is converted to fp16 on the GPU, exported with a dynamic batch 1..64 (the library
kiln.bench builds, so a run after the benchmark finds its kernels in the object cache) and
compared with PyTorch fp32 on the same inputs at batch 2 and 5: max |err| / max |ref| <= 2e-2 per
output (fp16 storage and products over 12-50 layers), top-1 agreement >= 98% for the
classifiers. Also checked on each model:
- zero copy: the library reads the caller's input tensors and writes the `out=` tensors in place
  (the data pointers it was given are those tensors' own);
- CUDA-graph safety: a call captured into a torch.cuda.CUDAGraph and replayed on new input data
  gives the same result as a direct call.
Skipped without PyTorch or a GPU (the CI venv has neither).
"""
import pytest

torch = pytest.importorskip("torch")

import kiln  # noqa: E402
from kiln.bench._models import build_model, flatten_outputs  # noqa: E402

pytestmark = pytest.mark.gpu
REL = 2e-2


def cuda_target():
    major, _ = torch.cuda.get_device_capability()
    return "cuda-sm90" if major >= 9 else "cuda-sm80"


def rel_error(got, want):
    got, want = got.detach().float().cpu(), want.detach().float().cpu()
    assert got.shape == want.shape, (got.shape, want.shape)
    assert torch.isfinite(got).all()
    return float((got - want).abs().max()) / max(float(want.abs().max()), 1e-6)


def to_device_inputs(inputs, batch):
    out = []
    for x in inputs:
        x = x[:batch].contiguous() if x.shape[0] >= batch else torch.cat([x] * batch)[:batch]
        out.append(x.cuda().half() if x.is_floating_point() else x.cuda())
    return out


@pytest.fixture(scope="module", params=["resnet50", "vit", "bert"])
def compiled(request):
    bm = build_model(request.param, 8)
    half = bm.module.cuda().half().eval()
    example = to_device_inputs(bm.inputs, 8)
    batch = torch.export.Dim("batch", min=1, max=64)
    module = kiln.compile(half, tuple(example), dynamic_shapes=tuple({0: batch} for _ in example),
                          target=cuda_target(), progress=False)
    ref_model = build_model(request.param, 8).module.cuda().eval()  # fp32, same seed
    return bm, module, ref_model


@pytest.mark.parametrize("batch", [2, 5])
def test_matches_pytorch_fp32(compiled, batch):
    bm, module, ref_model = compiled
    inputs = to_device_inputs(bm.inputs, batch)
    with torch.no_grad():
        got = flatten_outputs(module(*inputs))
        want = flatten_outputs(ref_model(*[x.float() if x.is_floating_point() else x
                                           for x in inputs]))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.is_cuda and g.dtype == torch.float16
        err = rel_error(g, w)
        assert err <= REL, f"{bm.name} batch {batch}: max |err| / max |ref| = {err:.3g} > {REL}"
    if bm.classifier:
        agree = float((got[0].float().argmax(1) == want[0].argmax(1)).float().mean())
        assert agree >= 0.98, f"{bm.name}: top-1 agreement {agree:.2%}"


def test_zero_copy_and_cuda_graph_capture(compiled):
    bm, module, _ = compiled
    inputs = to_device_inputs(bm.inputs, 4)
    with torch.no_grad():
        direct = [t.clone() for t in flatten_outputs(module(*inputs))]
    outs = [torch.empty_like(t) for t in direct]
    module(*inputs, out=outs if len(outs) > 1 else outs[0])
    torch.cuda.synchronize()
    in_ptrs, out_ptrs = module._impl.last_pointers()
    assert in_ptrs == [x.data_ptr() for x in inputs]
    assert out_ptrs == [o.data_ptr() for o in outs]
    for o, d in zip(outs, direct):
        assert torch.equal(o, d)

    # Capture one call (after the warm-up above) into a PyTorch CUDA graph, then replay it on
    # new data copied into the captured input tensors.
    static_in = [x.clone() for x in inputs]
    graph = torch.cuda.CUDAGraph()
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        module(*static_in, out=outs if len(outs) > 1 else outs[0])  # warm-up on the side stream
        stream.synchronize()
        with torch.cuda.graph(graph, stream=stream):
            module(*static_in, out=outs if len(outs) > 1 else outs[0])
    fresh = to_device_inputs(build_model(bm.name, 4).inputs, 4)
    if fresh[0].is_floating_point():
        fresh[0] = fresh[0] * 0.5 + 0.1  # different data than the capture saw
    else:
        fresh[0] = (fresh[0] * 7 + 3) % 30000
    for s, f in zip(static_in, fresh):
        s.copy_(f)
    graph.replay()
    torch.cuda.synchronize()
    with torch.no_grad():
        want = flatten_outputs(module(*fresh))
    for o, w in zip(outs, want):
        assert torch.equal(o, w), f"{bm.name}: graph replay differs from a direct call"
