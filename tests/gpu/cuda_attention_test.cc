// The CUDA attention kernels (src/codegen/cuda/attention.cc, runtime_src/kiln_cuda_attention.cuh)
// on a GPU (ctest label gpu; skipped without a GPU) against the reference interpreter: the flash
// kernel for f16 and bf16 with head dims 64, 80, 128 and 40 (padded to 48), sequence lengths 1,
// 17, 128, 383 and 385 (Sq == Sk through a symbolic S, and Sq != Sk), causal on and off,
// grouped-query heads (H=8, Hk=2), a padding (key) mask with a different valid length per batch
// entry (one entry with none: its rows are all hidden and must be zeros), a per-head additive mask
// with causal, and an explicit scale; more work tiles than SMs (the persistent sm90 kernel); q, k
// and v packed in one projection (pack-qkv); the fallback kernel for head dims 20 and 160 and for
// f32.
//
// Inputs are uniform in [-1, 1]. Tolerances |got - want| <= atol + rtol * |want|:
//   f16:  rtol 5e-3, atol 2e-3. The kernel rounds the probabilities P to f16 before P V (unit
//         roundoff 2^-11 = 4.9e-4, so at most 4.9e-4 * max|v| = 4.9e-4 absolute) and the output
//         once (4.9e-4 relative); S and the sums are f32, the reference double.
//   bf16: rtol 1e-2, atol 1e-2 (unit roundoff 2^-8 = 3.9e-3 for both roundings).
//   f32 (fallback): rtol 1e-4, atol 1e-5.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ir/builder.h"
#include "tests/gpu/cuda_test_util.h"

namespace kiln {
namespace {

DType DTypeOf(const std::string& name) {
  if (name == "f16") return DType::kF16;
  if (name == "bf16") return DType::kBF16;
  return DType::kF32;
}

GpuOptions TolerancesFor(DType dtype) {
  GpuOptions o;
  if (dtype == DType::kF16) {
    o.rtol = 5e-3;
    o.atol = 2e-3;
  } else if (dtype == DType::kBF16) {
    o.rtol = 1e-2;
    o.atol = 1e-2;
  } else {
    o.rtol = 1e-4;
    o.atol = 1e-5;
  }
  return o;
}

// One attention node with its own inputs q [B,Sq,H,D], k [B,Sk,Hk,D], v [B,Sk,Hk,Dv].
struct Case {
  std::string name;
  Dim batch, sq, sk;
  int64_t heads, kv_heads, d, dv;
  bool causal = false;
  double scale = 0.0;
  std::vector<int64_t> key_lengths = {};  // a padding mask [B,1,1,Sk] (f32 constant), if given
  bool head_mask = false;                 // a random additive mask input [1,H,Sq,Sk] of q's dtype
};

Case Attn(const std::string& name, Dim batch, Dim sq, Dim sk, int64_t heads, int64_t kv_heads,
          int64_t d, int64_t dv) {
  return Case{name, batch, sq, sk, heads, kv_heads, d, dv};
}
Case Causal(Case c) {
  c.causal = true;
  return c;
}
Case Scaled(Case c, double scale) {
  c.scale = scale;
  return c;
}
// Batch entry i sees keys [0, lengths[i]) (0: none, its output rows are zeros).
Case Padded(Case c, std::vector<int64_t> lengths) {
  c.key_lengths = std::move(lengths);
  return c;
}
Case HeadMasked(Case c) {
  c.head_mask = true;
  return c;
}

void AddCase(Builder& b, DType dtype, const Case& c) {
  Value* q = b.Input(c.name + "_q", dtype, {c.batch, c.sq, Dim(c.heads), Dim(c.d)});
  Value* k = b.Input(c.name + "_k", dtype, {c.batch, c.sk, Dim(c.kv_heads), Dim(c.d)});
  Value* v = b.Input(c.name + "_v", dtype, {c.batch, c.sk, Dim(c.kv_heads), Dim(c.dv)});
  AttentionOptions options{.causal = c.causal, .scale = c.scale};
  if (!c.key_lengths.empty()) {
    // Batch entry i sees keys [0, key_lengths[i]); the others get -inf.
    const int64_t batch = c.batch.value(), sk = c.sk.value();
    std::vector<double> mask(batch * sk, 0.0);
    for (int64_t i = 0; i < batch; ++i) {
      for (int64_t j = c.key_lengths[i]; j < sk; ++j) {
        mask[i * sk + j] = -std::numeric_limits<double>::infinity();
      }
    }
    options.mask = b.Constant(DType::kF32, {batch, 1, 1, sk}, mask);
  } else if (c.head_mask) {
    options.mask = b.Input(c.name + "_mask", dtype, {Dim(1), Dim(c.heads), c.sq, c.sk});
  }
  b.Output(b.Attention(q, k, v, options), c.name + "_out");
}

Graph BuildGraph(const std::string& name, DType dtype, const std::vector<Case>& cases,
                 bool symbolic_s) {
  Builder b(name);
  if (symbolic_s) b.Sym("S", 1, 512);
  for (const Case& c : cases) AddCase(b, dtype, c);
  StatusOr<Graph> g = b.Finish();
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? std::move(*g) : Graph();
}

class CudaAttentionTest : public testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaAttentionTest, testing::Values("f16", "bf16"),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// Sq == Sk == S for S in {1, 17, 128, 383, 385}: one compile, five runs.
TEST_P(CudaAttentionTest, HeadDimsCausalAndGqaOverLengths) {
  const DType dtype = DTypeOf(GetParam());
  const Dim s = Dim::Symbol("S");
  const std::vector<Case> cases = {
      Attn("d64", 2, s, s, 4, 4, 64, 64),
      Causal(Attn("d80_causal", 2, s, s, 3, 3, 80, 80)),
      Scaled(Attn("d128_gqa", 1, s, s, 8, 2, 128, 128), 0.25),
      Causal(Attn("d40_gqa_causal", 2, s, s, 8, 2, 40, 40)),
  };
  GpuOptions options = TolerancesFor(dtype);
  options.bindings = {{{"S", 1}}, {{"S", 17}}, {{"S", 128}}, {{"S", 383}}, {{"S", 385}}};
  ExpectCudaMatchesInterpreter(BuildGraph("attn_lengths", dtype, cases, true), options);
}

// Sq != Sk, padding masks with a valid length per batch entry (0: a fully hidden batch entry),
// a per-head mask with causal, Dv != D, a peaked softmax (scale 0.5).
TEST_P(CudaAttentionTest, CrossLengthsPaddingMaskAndHeadMask) {
  const DType dtype = DTypeOf(GetParam());
  const std::vector<Case> cases = {
      Padded(Attn("pad64", 3, 17, 385, 4, 4, 64, 64), {385, 130, 0}),
      Padded(Causal(Attn("pad128_gqa_causal", 3, 385, 383, 8, 2, 128, 128)), {1, 383, 200}),
      Padded(Scaled(Attn("pad80_sq1", 2, 1, 383, 2, 1, 80, 80), 0.5), {17, 383}),
      HeadMasked(Causal(Attn("head_mask_causal", 2, 383, 128, 2, 2, 64, 64))),
      Attn("dv_differs", 1, 128, 17, 8, 2, 40, 128),
  };
  ExpectCudaMatchesInterpreter(BuildGraph("attn_masks", dtype, cases, false), TolerancesFor(dtype));
}

// More work tiles (128 query rows of one head and batch entry) than an H100 has SMs (132), so
// that each CTA of the persistent sm90 kernel runs two or three of them: the K / V rings, Q's
// reload and the consumers' turns carry over from one tile to the next. 288 tiles causal with
// grouped-query heads and padding (the longest rows first), 240 tiles of head dim 128.
TEST_P(CudaAttentionTest, SeveralWorkTilesPerPersistentCta) {
  const DType dtype = DTypeOf(GetParam());
  const std::vector<Case> cases = {
      Padded(Causal(Attn("causal_gqa_288_tiles", 3, 700, 700, 16, 4, 64, 64)), {700, 333, 1}),
      Attn("d128_240_tiles", 4, 520, 520, 12, 12, 128, 128),
  };
  ExpectCudaMatchesInterpreter(BuildGraph("attn_persistent", dtype, cases, false),
                               TolerancesFor(dtype));
}

// The sm90 ws kernel's one-consumer form (64-row work tiles, for grids whose 128-row tiles leave
// SMs idle and whose 64-row ones fit in one wave; the small cases of the tests above take it too):
// BERT-base at batch 1 with a padding mask (72 tiles of 64 rows), and a full wave of them on an
// H100 (11 x 12 = 132 tiles of 64 rows at S 704). The two-consumer form: the test above.
TEST_P(CudaAttentionTest, OneConsumerSmallGrids) {
  const DType dtype = DTypeOf(GetParam());
  const std::vector<Case> cases = {
      Padded(Attn("bert_b1", 1, 384, 384, 12, 12, 64, 64), {300}),
      Causal(Attn("full_wave_of_64_rows", 1, 704, 704, 12, 12, 64, 64)),
      Attn("d128_small", 1, 257, 257, 4, 4, 128, 128),
  };
  ExpectCudaMatchesInterpreter(BuildGraph("attn_one_consumer", dtype, cases, false),
                               TolerancesFor(dtype));
}

// Head dims the flash kernel does not take (20: not a multiple of 8; 160: > 128) run the
// fallback kernel.
TEST_P(CudaAttentionTest, FallbackHeadDims) {
  const DType dtype = DTypeOf(GetParam());
  const std::vector<Case> cases = {
      Causal(Attn("d20", 2, 17, 129, 4, 2, 20, 20)),
      Padded(Attn("d160", 1, 33, 65, 2, 2, 160, 160), {40}),
  };
  ExpectCudaMatchesInterpreter(BuildGraph("attn_fallback", dtype, cases, false),
                               TolerancesFor(dtype));
}

// The pack-qkv pass's two forms, read in place by the kernel (rows of 3 * H * D): one
// in-projection split into q, k, v (ViT's) with a padding mask, and three projections with
// biases merged into one gemm (BERT's), causal. alpha 1/8 keeps the scores moderate, so that the
// projections' f16 rounding (the gemm sums in another order than the reference) moves them little.
TEST_P(CudaAttentionTest, PackedProjections) {
  std::string text = R"(graph @packed(%x: $T[N,S,96], %m: f32[N,1,1,S]) -> (%vit, %bert) where N in [1, 3], S in [1, 200] {
  %w = weight "in_proj.weight" : $T[288,96]
  %b = weight "in_proj.bias" : $T[288]
  %p = gemm(%x, %w) {trans_b=true, alpha=0.125, epilogue=[bias(%b)]} : $T[N,S,288]
  %q, %k, %v = split(%p) {axis=-1, sizes=[96,96,96]} : $T[N,S,96], $T[N,S,96], $T[N,S,96]
  %q4 = reshape(%q) {shape=[N,S,3,32]} : $T[N,S,3,32]
  %k4 = reshape(%k) {shape=[N,S,3,32]} : $T[N,S,3,32]
  %v4 = reshape(%v) {shape=[N,S,3,32]} : $T[N,S,3,32]
  %vit = attention(%q4, %k4, %v4, %m) : $T[N,S,3,32]
  %wq = weight "q.weight" : $T[128,96]
  %bq = weight "q.bias" : $T[128]
  %pq = gemm(%x, %wq) {trans_b=true, alpha=0.125, epilogue=[bias(%bq)]} : $T[N,S,128]
  %wk = weight "k.weight" : $T[128,96]
  %bk = weight "k.bias" : $T[128]
  %pk = gemm(%x, %wk) {trans_b=true, alpha=0.125, epilogue=[bias(%bk)]} : $T[N,S,128]
  %wv = weight "v.weight" : $T[128,96]
  %bv = weight "v.bias" : $T[128]
  %pv = gemm(%x, %wv) {trans_b=true, alpha=0.125, epilogue=[bias(%bv)]} : $T[N,S,128]
  %bq4 = reshape(%pq) {shape=[N,S,2,64]} : $T[N,S,2,64]
  %bk4 = reshape(%pk) {shape=[N,S,2,64]} : $T[N,S,2,64]
  %bv4 = reshape(%pv) {shape=[N,S,2,64]} : $T[N,S,2,64]
  %bert = attention(%bq4, %bk4, %bv4) {causal=true} : $T[N,S,2,64]
})";
  for (size_t at = text.find("$T"); at != std::string::npos; at = text.find("$T")) {
    text.replace(at, 2, GetParam());
  }
  GpuOptions options;  // 2e-2: f16 / bf16 projections feed the attention
  options.bindings = {{{"N", 1}, {"S", 1}}, {{"N", 3}, {"S", 17}}, {{"N", 2}, {"S", 200}}};
  ExpectCudaMatchesInterpreter(ParseVerified(text), options);
}

TEST(CudaAttentionF32Test, FallbackKernel) {
  const std::vector<Case> cases = {
      Padded(Causal(Attn("f32", 2, 17, 300, 4, 2, 64, 32)), {300, 0}),
      HeadMasked(Attn("f32_mask", 1, 5, 9, 2, 2, 8, 8)),
  };
  ExpectCudaMatchesInterpreter(BuildGraph("attn_f32", DType::kF32, cases, false),
                               TolerancesFor(DType::kF32));
}

}  // namespace
}  // namespace kiln
