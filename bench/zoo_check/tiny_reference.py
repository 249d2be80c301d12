#!/usr/bin/env python3
"""NumPy float64 reference for the tiny zoo configurations in tests/e2e/zoo_test.cc.

It re-implements kiln's deterministic weight generator (models/weights.cc: FNV-1a name hash xor
seed, splitmix64, PyTorch-like scales) and the forward pass of each model independently of kiln,
and prints the literal values the C++ test asserts. Needs only numpy:

    .venv/bin/python bench/zoo_check/tiny_reference.py

The full-size models are checked against PyTorch itself by export_and_compare.py.
"""
import math

import numpy as np

MASK64 = (1 << 64) - 1


# ---- models/weights.cc, ported ------------------------------------------------------------------
def weight_seed(name, seed):
    h = 0xCBF29CE484222325
    for c in name.encode():
        h ^= c
        h = (h * 0x100000001B3) & MASK64
    return h ^ seed


class Rng:
    def __init__(self, seed):
        self.state = seed

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def uniform(self, lo=0.0, hi=1.0):
        u = (self.next() >> 11) * 2.0**-53
        return lo + (hi - lo) * u

    def normal(self, std):
        u1 = 1.0 - self.uniform()
        u2 = self.uniform()
        return std * math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def generate(name, shape, init, fan_in=1, seed=0):
    rng = Rng(weight_seed(name, seed))
    n = int(np.prod(shape)) if shape else 1
    if init == "fan_in":
        b = 1.0 / math.sqrt(max(fan_in, 1))
        v = [rng.uniform(-b, b) for _ in range(n)]
    elif init == "norm_weight":
        v = [rng.uniform(0.9, 1.1) for _ in range(n)]
    elif init in ("norm_bias", "running_mean"):
        v = [rng.uniform(-0.1, 0.1) for _ in range(n)]
    elif init == "running_var":
        v = [rng.uniform(0.5, 1.5) for _ in range(n)]
    elif init == "embedding":
        v = [rng.normal(0.02) for _ in range(n)]
    else:
        raise ValueError(init)
    # Generated in double, stored as f32, computed here in float64 from the f32 values.
    return np.array(v, dtype=np.float64).astype(np.float32).astype(np.float64).reshape(shape)


class Weights:
    def __init__(self, seed=0):
        self.seed = seed

    def linear(self, prefix, i, o):
        return (generate(prefix + ".weight", [o, i], "fan_in", i, self.seed),
                generate(prefix + ".bias", [o], "fan_in", i, self.seed))

    def conv(self, prefix, i, o, k, bias):
        w = generate(prefix + ".weight", [o, i, k, k], "fan_in", i * k * k, self.seed)
        b = generate(prefix + ".bias", [o], "fan_in", i * k * k, self.seed) if bias else None
        return w, b

    def norm(self, prefix, c):
        return (generate(prefix + ".weight", [c], "norm_weight", seed=self.seed),
                generate(prefix + ".bias", [c], "norm_bias", seed=self.seed))

    def bn(self, prefix, c):
        w, b = self.norm(prefix, c)
        return (w, b, generate(prefix + ".running_mean", [c], "running_mean", seed=self.seed),
                generate(prefix + ".running_var", [c], "running_var", seed=self.seed))

    def emb(self, name, shape):
        return generate(name, shape, "embedding", seed=self.seed)


# ---- ops ----------------------------------------------------------------------------------------
def conv2d(x, w, b, stride, pad):
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho = (h + 2 * pad - k) // stride + 1
    wo = (wd + 2 * pad - k) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for ky in range(k):
        for kx in range(k):
            patch = xp[:, :, ky:ky + stride * (ho - 1) + 1:stride,
                       kx:kx + stride * (wo - 1) + 1:stride]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, ky, kx])
    if b is not None:
        out += b[None, :, None, None]
    return out


def batch_norm(x, p, eps=1e-5):
    w, b, mean, var = p
    s = (None, slice(None), None, None)
    return (x - mean[s]) / np.sqrt(var[s] + eps) * w[s] + b[s]


def max_pool(x, k, stride, pad):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=-np.inf)
    ho = (h + 2 * pad - k) // stride + 1
    wo = (w + 2 * pad - k) // stride + 1
    out = np.full((n, c, ho, wo), -np.inf)
    for ky in range(k):
        for kx in range(k):
            out = np.maximum(out, xp[:, :, ky:ky + stride * (ho - 1) + 1:stride,
                                     kx:kx + stride * (wo - 1) + 1:stride])
    return out


def relu(x):
    return np.maximum(x, 0)


def linear(x, p):
    return x @ p[0].T + p[1]


def layer_norm(x, p, eps):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * p[0] + p[1]


_erf = np.vectorize(math.erf)


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def attention(q, k, v, mask=None):  # BSHD
    d = q.shape[-1]
    s = np.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(d)
    if mask is not None:
        s = s + mask
    s = s - s.max(-1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(-1, keepdims=True)
    return np.einsum("bhqk,bkhd->bqhd", p, v)


# ---- the inputs the C++ test builds --------------------------------------------------------------
def image_input(shape):
    # x[i] = sin(0.37 * i) rounded to f32 (tests/e2e/zoo_test.cc: SinInput).
    n = int(np.prod(shape))
    v = np.array([math.sin(0.37 * i) for i in range(n)], dtype=np.float64)
    return v.astype(np.float32).astype(np.float64).reshape(shape)


# ---- models -------------------------------------------------------------------------------------
def tiny_cnn(x, w, c1=16, classes=10):
    c2 = 2 * c1
    h = conv2d(x, w.conv("conv1", 3, c1, 3, False)[0], None, 1, 1)
    h = relu(batch_norm(h, w.bn("bn1", c1)))
    h = conv2d(h, w.conv("conv2", c1, c2, 3, False)[0], None, 1, 1)
    h = relu(batch_norm(h, w.bn("bn2", c2)))
    h = max_pool(h, 2, 2, 0).mean(axis=(2, 3))
    return linear(h, w.linear("fc", c2, classes))


def resnet(x, w, width, blocks, classes):
    h = conv2d(x, w.conv("conv1", 3, width, 7, False)[0], None, 2, 3)
    h = relu(batch_norm(h, w.bn("bn1", width)))
    h = max_pool(h, 3, 2, 1)
    inp = width
    for stage in range(4):
        planes = width << stage
        for j in range(blocks[stage]):
            p = f"layer{stage + 1}.{j}"
            stride = 2 if (j == 0 and stage > 0) else 1
            out = planes * 4
            y = conv2d(h, w.conv(p + ".conv1", inp, planes, 1, False)[0], None, 1, 0)
            y = relu(batch_norm(y, w.bn(p + ".bn1", planes)))
            y = relu(batch_norm(conv2d(y, w.conv(p + ".conv2", planes, planes, 3, False)[0], None,
                                       stride, 1), w.bn(p + ".bn2", planes)))
            y = batch_norm(conv2d(y, w.conv(p + ".conv3", planes, out, 1, False)[0], None, 1, 0),
                           w.bn(p + ".bn3", out))
            sc = h
            if stride != 1 or inp != out:
                sc = batch_norm(conv2d(h, w.conv(p + ".downsample.0", inp, out, 1, False)[0], None,
                                       stride, 0), w.bn(p + ".downsample.1", out))
            h = relu(y + sc)
            inp = out
    return linear(h.mean(axis=(2, 3)), w.linear("fc", inp, classes))


def bert(ids, mask, w, hidden, heads, inter, layers, vocab):
    n, s = ids.shape
    d = hidden // heads
    h = w.emb("embeddings.word_embeddings.weight", [vocab, hidden])[ids]
    h = h + w.emb("embeddings.token_type_embeddings.weight", [2, hidden])[0]
    h = h + w.emb("embeddings.position_embeddings.weight", [512, hidden])[:s]
    h = layer_norm(h, w.norm("embeddings.LayerNorm", hidden), 1e-12)
    ext = (1.0 - mask.astype(np.float64))[:, None, None, :] * float(np.finfo(np.float32).min)
    for i in range(layers):
        p = f"encoder.layer.{i}"
        q, k, v = (linear(h, w.linear(f"{p}.attention.self.{t}", hidden, hidden))
                   .reshape(n, s, heads, d) for t in ("query", "key", "value"))
        ctx = attention(q, k, v, ext).reshape(n, s, hidden)
        a = linear(ctx, w.linear(p + ".attention.output.dense", hidden, hidden))
        a = layer_norm(a + h, w.norm(p + ".attention.output.LayerNorm", hidden), 1e-12)
        f = gelu(linear(a, w.linear(p + ".intermediate.dense", hidden, inter)))
        f = linear(f, w.linear(p + ".output.dense", inter, hidden))
        h = layer_norm(f + a, w.norm(p + ".output.LayerNorm", hidden), 1e-12)
    pooled = np.tanh(linear(h[:, 0], w.linear("pooler.dense", hidden, hidden)))
    return h, pooled


def vit(x, w, hidden, heads, mlp, layers, classes):
    n = x.shape[0]
    d = hidden // heads
    wc, bc = w.conv("conv_proj", 3, hidden, 16, True)
    h = conv2d(x, wc, bc, 16, 0)
    g = h.shape[2]
    h = h.reshape(n, hidden, g * g).transpose(0, 2, 1)
    cls = np.broadcast_to(w.emb("class_token", [1, 1, hidden]), (n, 1, hidden))
    h = np.concatenate([cls, h], axis=1)
    t = h.shape[1]
    h = h + w.emb("encoder.pos_embedding", [1, t, hidden])
    for i in range(layers):
        p = f"encoder.layers.encoder_layer_{i}"
        y = layer_norm(h, w.norm(p + ".ln_1", hidden), 1e-6)
        w_in = generate(p + ".self_attention.in_proj_weight", [3 * hidden, hidden], "fan_in",
                        hidden, w.seed)
        b_in = generate(p + ".self_attention.in_proj_bias", [3 * hidden], "fan_in", hidden, w.seed)
        qkv = y @ w_in.T + b_in
        q, k, v = (qkv[..., j * hidden:(j + 1) * hidden].reshape(n, t, heads, d) for j in range(3))
        ctx = attention(q, k, v).reshape(n, t, hidden)
        h = h + linear(ctx, w.linear(p + ".self_attention.out_proj", hidden, hidden))
        y = layer_norm(h, w.norm(p + ".ln_2", hidden), 1e-6)
        y = gelu(linear(y, w.linear(p + ".mlp.0", hidden, mlp)))
        y = linear(y, w.linear(p + ".mlp.3", mlp, hidden))
        h = h + y
    h = layer_norm(h, w.norm("encoder.ln", hidden), 1e-6)
    return linear(h[:, 0], w.linear("heads.head", hidden, classes))


def fmt(a):
    return "{" + ", ".join(f"{v:.9g}" for v in np.asarray(a).ravel()) + "}"


def main():
    w = Weights(seed=0)
    print("tiny_cnn logits (batch 2):", fmt(tiny_cnn(image_input([2, 3, 32, 32]), w)))
    print("resnet50 width 8, 1 block/stage, 32x32, 10 classes, logits:",
          fmt(resnet(image_input([2, 3, 32, 32]), w, 8, [1, 1, 1, 1], 10)))
    ids = np.array([[(7 * i + 3 * b) % 100 for i in range(8)] for b in range(2)])
    mask = np.array([[1, 1, 1, 1, 1, 1, 0, 0], [1] * 8])
    h, pooled = bert(ids, mask, w, hidden=32, heads=4, inter=64, layers=2, vocab=100)
    print("bert last_hidden_state[0,0,:4]:", fmt(h[0, 0, :4]))
    print("bert last_hidden_state[1,7,:4]:", fmt(h[1, 7, :4]))
    print("bert pooler_output[:, :4]:", fmt(pooled[:, :4]))
    print("vit logits:", fmt(vit(image_input([2, 3, 32, 32]), w, hidden=32, heads=4, mlp=64,
                                layers=2, classes=10)))


if __name__ == "__main__":
    main()
