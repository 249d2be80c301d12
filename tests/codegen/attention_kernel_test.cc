// The CPU attention kernel (kiln_cpu_attention.h) against the reference attention op run by the
// interpreter: odd sizes, Sq != Sk, Dv != D, grouped-query heads (Hk = H, H/2, 1), causal,
// additive masks of every broadcast shape, explicit and default scale, fully masked rows, and a
// long key sequence that splits the query rows into several score blocks.
//
// Tolerance: 2e-5 relative to max(1, |expected|): sgemm and the reference sum the dot products
// in different orders (f32), and the reference softmax runs in double.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kiln_cpu_attention.h"
#include "ops/op_util.h"
#include "tests/ops/ref_test_util.h"

namespace kiln::testutil {
namespace {

constexpr double kTol = 2e-5;

struct AttnCase {
  int64_t batch, sq, sk, heads, kv_heads, d, dv;
  bool causal = false;
  double scale = 0.0;
  std::vector<int64_t> mask_shape = {};  // empty: no mask
  bool mask_rows_fully_hidden = false;   // set -inf on every key of query row 0
};

// Strides of the mask right-aligned against [B, H, Sq, Sk] (0 on broadcast axes).
std::vector<int64_t> MaskStrides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> out(4, 0);
  const int64_t rank = static_cast<int64_t>(shape.size());
  int64_t stride = 1;
  for (int64_t i = rank - 1; i >= 0; --i) {
    if (shape[i] != 1) out[4 - rank + i] = stride;
    stride *= shape[i];
  }
  return out;
}

void CheckCase(const AttnCase& c) {
  SCOPED_TRACE(::testing::Message()
               << "B " << c.batch << " Sq " << c.sq << " Sk " << c.sk << " H " << c.heads << " Hk "
               << c.kv_heads << " D " << c.d << " Dv " << c.dv << " causal " << c.causal
               << " scale " << c.scale << " mask " << IntsToString(c.mask_shape));
  const std::vector<int64_t> qs = {c.batch, c.sq, c.heads, c.d};
  const std::vector<int64_t> ks = {c.batch, c.sk, c.kv_heads, c.d};
  const std::vector<int64_t> vs = {c.batch, c.sk, c.kv_heads, c.dv};
  Tensor q = SinTensor(DType::kF32, qs, 0.37, 0.1);
  Tensor k = SinTensor(DType::kF32, ks, 0.23, 0.5);
  Tensor v = SinTensor(DType::kF32, vs, 0.41, 1.0);
  Builder b("attn");
  AttentionOptions options{.causal = c.causal, .scale = c.scale};
  std::vector<Tensor> inputs = {q, k, v};
  Value* qv = b.Input("q", DType::kF32, StaticShape(qs));
  Value* kv = b.Input("k", DType::kF32, StaticShape(ks));
  Value* vv = b.Input("v", DType::kF32, StaticShape(vs));
  Tensor mask;
  if (!c.mask_shape.empty()) {
    std::vector<float> m = SinValues(NumElements(c.mask_shape), 0.83, 0.7);
    for (float& e : m) e *= 3.0f;
    if (c.mask_rows_fully_hidden) {
      // The mask is [.., Sq, Sk] in its last two dims: hide every key of query row 0.
      const int64_t sk = c.mask_shape.back();
      const int64_t rows = NumElements(c.mask_shape) / sk;
      const int64_t sq_in_mask = c.mask_shape[c.mask_shape.size() - 2];
      for (int64_t r = 0; r < rows; r += sq_in_mask) {
        for (int64_t j = 0; j < sk; ++j) m[r * sk + j] = -std::numeric_limits<float>::infinity();
      }
    }
    mask = Tensor::FromF32(DType::kF32, c.mask_shape, m);
    options.mask = b.Input("mask", DType::kF32, StaticShape(c.mask_shape));
    inputs.push_back(mask);
  }
  std::vector<Tensor> ref = RunOutput(b, b.Attention(qv, kv, vv, options), inputs);
  ASSERT_EQ(ref.size(), 1u);
  const float scale = c.scale != 0.0 ? static_cast<float>(c.scale)
                                     : static_cast<float>(1.0 / std::sqrt(double(c.d)));
  const std::vector<int64_t> strides = MaskStrides(c.mask_shape);
  Tensor out(DType::kF32, {c.batch, c.sq, c.heads, c.dv});
  kiln_cpu::Attention(q.data_as<float>(), k.data_as<float>(), v.data_as<float>(),
                      c.mask_shape.empty() ? nullptr : mask.data_as<float>(), strides.data(),
                      out.mutable_data_as<float>(), c.batch, c.sq, c.sk, c.heads, c.kv_heads, c.d,
                      c.dv, c.causal, scale);
  ExpectTensorsClose(out, ref[0], kTol);
}

TEST(AttentionKernelTest, PlainAndGroupedQueryHeads) {
  CheckCase({1, 1, 1, 1, 1, 1, 1});
  CheckCase({2, 17, 17, 4, 4, 8, 8});
  CheckCase({2, 17, 23, 4, 2, 8, 5});        // GQA, Sq < Sk, Dv != D
  CheckCase({3, 23, 17, 6, 1, 16, 3});       // multi-query, Sq > Sk
  CheckCase({1, 128, 128, 12, 12, 64, 64});  // BERT-base layer shape
}

TEST(AttentionKernelTest, ExplicitScale) {
  CheckCase({2, 5, 7, 2, 2, 4, 4, false, 0.3});
  CheckCase({1, 3, 3, 2, 1, 5, 2, true, -1.5});
}

TEST(AttentionKernelTest, CausalTopLeftAligned) {
  for (int64_t sk : {1, 9, 17, 30}) {
    CheckCase({2, 17, sk, 4, 2, 8, 8, true});
  }
}

TEST(AttentionKernelTest, MasksOfEveryBroadcastShape) {
  const std::vector<std::vector<int64_t>> shapes = {
      {2, 1, 1, 19}, {19}, {13, 19}, {2, 4, 13, 19}, {1, 4, 1, 1}, {4, 13, 1}, {2, 1, 13, 19},
  };
  for (const std::vector<int64_t>& m : shapes) {
    CheckCase({2, 13, 19, 4, 2, 8, 6, false, 0.0, m});
    CheckCase({2, 13, 19, 4, 2, 8, 6, true, 0.0, m});
  }
}

TEST(AttentionKernelTest, FullyMaskedRowsGiveZeros) {
  CheckCase({2, 5, 7, 2, 2, 4, 3, false, 0.0, {2, 2, 5, 7}, true});
  CheckCase({1, 5, 7, 3, 1, 4, 3, false, 0.0, {5, 7}, true});
  // Causal with a mask hiding key 0 of row 0: row 0 sees no key.
  CheckCase({1, 5, 7, 2, 2, 4, 3, true, 0.0, {5, 7}, true});
}

TEST(AttentionKernelTest, LongKeysSplitQueryRowsIntoBlocks) {
  // 2^18 / 1000 = 262 query rows per score block: 300 rows take two blocks.
  CheckCase({1, 300, 1000, 2, 1, 16, 8, true, 0.0, {300, 1000}});
  CheckCase({1, 383, 1000, 1, 1, 8, 8});
}

}  // namespace
}  // namespace kiln::testutil
