"""The PyTorch frontend (kiln.compile of a torch.nn.Module through torch.export, the
torch.compile backend) and PyTorch tensors in and out of kiln modules.

Each model is compared against PyTorch eager and against kiln's reference interpreter on the
translated graph. Tolerances (f32, CPU): max abs error <= 1e-4 relative to the output's largest
magnitude (deep models sum in another order than PyTorch). Skipped without PyTorch (the CI venv
has none; run with a venv that has torch, e.g. .venv-bench). GPU tests are marked `gpu`.
"""
import logging

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import kiln  # noqa: E402
from kiln.torch_frontend import export_to_kir, supported_ops  # noqa: E402

Dim = torch.export.Dim
REL = 1e-4


def check_close(got, want):
    got = got.detach().cpu().float()
    want = want.detach().cpu().float()
    assert got.shape == want.shape
    scale = max(1.0, float(want.abs().max()))
    err = float((got - want).abs().max())
    assert err <= REL * scale, f"max abs error {err} > {REL} * {scale}"


def check_against_interpreter(model, args, dynamic_shapes, outputs):
    """The translated graph run by kiln's reference interpreter agrees with the library."""
    tr = export_to_kir(model, args, dynamic_shapes=dynamic_shapes)
    refs = kiln.reference_eval(tr.text, *[a.numpy() for a in args],
                               weights={k: v.numpy() for k, v in tr.weights.items()})
    for got, ref in zip(outputs, refs):
        check_close(got, torch.from_numpy(ref))


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(16)
        self.pool = torch.nn.MaxPool2d(2)
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.pool(torch.relu(self.bn2(self.conv2(x))))
        x = torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return torch.softmax(self.fc(x), dim=-1)


def randomize_bn(model):
    torch.manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    return model


def test_mlp_dynamic_batch_returns_torch_tensors(tmp_path):
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.GELU(), torch.nn.Linear(32, 4))
    x = torch.randn(3, 16)
    module = kiln.compile(mlp, (x,), dynamic_shapes=({0: Dim("batch", min=1, max=8)},),
                          output_dir=tmp_path, progress=False)
    assert module.symbols == {"batch": (1, 8)}
    for n in (1, 3, 8):
        xn = torch.randn(n, 16)
        y = module(xn)
        assert isinstance(y, torch.Tensor) and y.dtype == torch.float32 and y.shape == (n, 4)
        check_close(y, mlp(xn))
    # numpy in, numpy out
    assert isinstance(module(x.numpy()), np.ndarray)
    check_against_interpreter(mlp, (x,), ({0: Dim("batch", min=1, max=8)},), [module(x)])


def test_torch_zero_copy_and_out(tmp_path):
    mlp = torch.nn.Sequential(torch.nn.Linear(16, 4), torch.nn.ReLU())
    x = torch.randn(2, 16)
    module = kiln.compile(mlp, (x,), output_dir=tmp_path, progress=False)
    out = torch.empty(2, 4)
    y = module(x, out=out)
    assert y is out
    inputs, outputs = module._impl.last_pointers()
    assert inputs == [x.data_ptr()] and outputs == [out.data_ptr()]
    check_close(out, mlp(x))
    with pytest.raises(ValueError, match=r"input input: expected dtype f32, got float64"):
        module(x.double())
    with pytest.raises(ValueError, match=r"input input: dim 0 must be 2, got 3"):
        module(torch.randn(3, 16))


def test_small_cnn(tmp_path):
    torch.manual_seed(0)
    model = randomize_bn(SmallCNN()).train()
    x = torch.randn(2, 3, 16, 16)
    dyn = ({0: Dim("batch", min=1, max=4)},)
    module = kiln.compile(model, (x,), dynamic_shapes=dyn, output_dir=tmp_path, progress=False)
    assert model.training  # compiled with inference semantics, the mode is left as it was
    model.eval()
    with torch.no_grad():
        check_close(module(x), model(x))
        check_close(module(x[:1]), model(x[:1]))
    check_against_interpreter(model, (x,), dyn, [module(x)])


def test_torchvision_resnet_and_vit(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    resnet = randomize_bn(torchvision.models.resnet18(num_classes=10)).eval()
    x = torch.randn(1, 3, 64, 64)
    module = kiln.compile(resnet, (x,), output_dir=tmp_path / "resnet", progress=False)
    with torch.no_grad():
        check_close(module(x), resnet(x))
    vit = torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2,
                                              num_heads=2, hidden_dim=32, mlp_dim=64,
                                              num_classes=10).eval()
    torch.nn.init.normal_(vit.heads.head.weight)  # torchvision starts the head at zero
    x = torch.randn(2, 3, 32, 32)
    module = kiln.compile(vit, (x,), dynamic_shapes=({0: Dim("batch", min=1, max=4)},),
                          output_dir=tmp_path / "vit", progress=False)
    with torch.no_grad():
        check_close(module(x), vit(x))


def test_tiny_bert_with_padding_mask(tmp_path):
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=64,
                                     max_position_embeddings=64)
    model = transformers.BertModel(config).eval()
    ids = torch.randint(0, 100, (2, 8))
    mask = torch.ones(2, 8, dtype=torch.long)
    mask[1, 5:] = 0
    batch, seq = Dim("batch", min=1, max=4), Dim("seq", min=2, max=32)
    dyn = ({0: batch, 1: seq}, {0: batch, 1: seq})
    module = kiln.compile(model, (ids, mask), dynamic_shapes=dyn, output_dir=tmp_path,
                          progress=False)
    assert module.symbols == {"batch": (1, 4), "seq": (2, 32)}
    # transformers' SDPA path broadcasts the padding mask to [batch, 1, seq, seq]; sink-broadcasts
    # hands the attention the [batch, 1, 1, seq] form instead.
    kir = (tmp_path / "model.kir").read_text()
    assert "f32[batch,1,1,seq]" in kir and "[batch,1,seq,seq]" not in kir, kir
    with torch.no_grad():
        want = model(ids, mask)
        hidden, pooled = module(ids, mask)
        check_close(hidden, want.last_hidden_state)
        check_close(pooled, want.pooler_output)
        ids5, mask5 = ids[:1, :5], mask[:1, :5]
        hidden5, _ = module(input_ids=ids5, attention_mask=mask5)
        check_close(hidden5, model(ids5, mask5).last_hidden_state)


def test_gpt2_style_block(tmp_path):
    """A GPT-2-style block: Conv1D-like addmm, split into q/k/v, causal SDPA, tanh GELU."""

    class Block(torch.nn.Module):
        def __init__(self, d=32, heads=2):
            super().__init__()
            self.heads = heads
            self.ln = torch.nn.LayerNorm(d)
            self.c_attn_w = torch.nn.Parameter(torch.randn(d, 3 * d) * 0.1)
            self.c_attn_b = torch.nn.Parameter(torch.randn(3 * d) * 0.1)
            self.proj = torch.nn.Linear(d, d)
            self.fc = torch.nn.Linear(d, 4 * d)

        def forward(self, x):
            b, s, d = x.shape
            h = torch.addmm(self.c_attn_b, self.ln(x).view(-1, d), self.c_attn_w).view(b, s, 3 * d)
            q, k, v = h.split(d, dim=2)
            q, k, v = (t.view(b, s, self.heads, d // self.heads).transpose(1, 2) for t in (q, k, v))
            a = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(a.transpose(1, 2).reshape(b, s, d))
            return x + torch.nn.functional.gelu(self.fc(x), approximate="tanh")[..., :d]

    torch.manual_seed(0)
    model = Block().eval()
    x = torch.randn(2, 8, 32)
    dyn = ({1: Dim("seq", min=1, max=16)},)
    module = kiln.compile(model, (x,), dynamic_shapes=dyn, output_dir=tmp_path, progress=False)
    with torch.no_grad():
        check_close(module(x), model(x))
        check_close(module(x[:, :3]), model(x[:, :3]))


def test_cumsum_and_diff(tmp_path):
    class Scan(torch.nn.Module):
        def forward(self, x, ids):
            first = ids[:, :1] - 1
            return torch.cumsum(x, dim=-1), torch.diff(ids, dim=1, prepend=first).ne(1).cumsum(-1)

    x = torch.randn(2, 6)
    ids = torch.tensor([[0, 1, 2, 0, 1, 2], [5, 6, 7, 8, 9, 10]])
    dyn = ({1: Dim("seq", min=2, max=16)}, {1: Dim("seq", min=2, max=16)})
    module = kiln.compile(Scan(), (x, ids), dynamic_shapes=dyn, output_dir=tmp_path,
                          progress=False)
    for n in (6, 3):
        got_sum, got_segments = module(x[:, :n], ids[:, :n])
        want_sum, want_segments = Scan()(x[:, :n], ids[:, :n])
        check_close(got_sum, want_sum)
        assert got_segments.dtype == torch.int64
        assert torch.equal(got_segments, want_segments)


def test_hf_gpt2_model(tmp_path):
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=100, n_embd=32, n_layer=2, n_head=2,
                                     n_positions=64, use_cache=False)
    model = transformers.GPT2Model(config).eval()
    ids = torch.randint(0, 100, (2, 8))
    dyn = ({0: Dim("batch", min=1, max=4), 1: Dim("seq", min=2, max=32)},)
    module = kiln.compile(model, (ids,), dynamic_shapes=dyn, output_dir=tmp_path, progress=False)
    with torch.no_grad():
        check_close(module(ids), model(ids).last_hidden_state)
        check_close(module(ids[:1, :3]), model(ids[:1, :3]).last_hidden_state)


def test_unsupported_aten_op_is_named():
    class CumProd(torch.nn.Module):
        def forward(self, x):
            return torch.cumprod(x, dim=1)

    with pytest.raises(NotImplementedError, match=r"kiln cannot translate the ATen op "
                                                  r"aten\.cumprod\.default \(at .*test_kiln_torch"):
        kiln.compile(CumProd(), (torch.randn(2, 3),), progress=False)
    assert "aten.linear.default" in supported_ops()


def test_dynamic_dim_without_max_is_rejected():
    mlp = torch.nn.Linear(4, 2)
    with pytest.raises(ValueError, match=r"dynamic dim batch has no upper bound"):
        kiln.compile(mlp, (torch.randn(3, 4),), dynamic_shapes=({0: Dim("batch")},),
                     progress=False)


def test_torch_compile_backend():
    torch._dynamo.reset()
    mlp = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    compiled = torch.compile(mlp, backend="kiln")
    x = torch.randn(4, 8)
    with torch.no_grad():
        check_close(compiled(x), mlp(x))


def test_torch_compile_falls_back_on_unsupported_graphs(caplog):
    torch._dynamo.reset()

    class Mixed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(8, 8)

        def forward(self, x):
            y = torch.relu(self.fc(x))
            if y.sum() > 0:  # data-dependent branch: a graph break
                y = y * 2
            return torch.cumprod(y, dim=1)  # no kiln translation: runs in PyTorch

    model = Mixed().eval()
    compiled = torch.compile(model, backend="kiln")
    x = torch.randn(4, 8)
    with caplog.at_level(logging.WARNING, logger="kiln"), torch.no_grad():
        check_close(compiled(x), model(x))
    assert any("running this graph in PyTorch instead" in r.getMessage() and "cumprod" in
               r.getMessage() for r in caplog.records)


# ---- GPU ----
def cuda_target():
    major, _ = torch.cuda.get_device_capability()
    return "cuda-sm90" if major >= 9 else "cuda-sm80"


@pytest.mark.gpu
def test_cuda_mlp_on_the_current_stream(tmp_path):
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(),
                              torch.nn.Linear(128, 32)).cuda().eval()
    x = torch.randn(8, 64, device="cuda")
    module = kiln.compile(mlp, (x,), dynamic_shapes=({0: Dim("batch", min=1, max=64)},),
                          target=cuda_target(), output_dir=tmp_path, progress=False)
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream), torch.no_grad():
        y = module(x)
        want = mlp(x)
    stream.synchronize()
    assert y.is_cuda and y.dtype == torch.float32 and y.shape == (8, 32)
    check_close(y, want)
    out = torch.empty(3, 32, device="cuda")
    with torch.no_grad():
        assert module(x[:3], out=out) is out
        torch.cuda.synchronize()
        check_close(out, mlp(x[:3]))
    assert module._impl.last_pointers()[1] == [out.data_ptr()]
    with pytest.raises(ValueError, match=r"targets cuda-sm[0-9]+, but the tensor is on cpu"):
        module(x.cpu())


@pytest.mark.gpu
def test_cpu_module_rejects_cuda_tensors(tmp_path):
    mlp = torch.nn.Linear(4, 2)
    module = kiln.compile(mlp, (torch.randn(2, 4),), output_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"the module targets cpu, but the tensor is on cuda:0"):
        module(torch.randn(2, 4, device="cuda"))
