// Tests of the attention op (src/ops/attention.cc): default and explicit scale, additive masks
// broadcast to [B, H, Sq, Sk], causal masking (top-left aligned, as torch SDPA is_causal) with
// Sq == Sk, Sq < Sk and Sq > Sk, grouped-query heads, Dv != D, fully masked rows, f16 inputs,
// symbolic inference and the errors. Expected values come from numpy (softmax in float64 on
// float32 inputs x[i] = sin(a*i + phase), see ref_test_util.h).
#include <gtest/gtest.h>

#include <limits>

#include "tests/ops/ref_test_util.h"

namespace kiln::testutil {
namespace {

constexpr double kTol = 2e-6;
const float kInf = std::numeric_limits<float>::infinity();

// A graph under construction with f32 inputs q, k, v of the given shapes, and their values
// q = S(.,.37,q_phase), k = S(.,.23,.5), v = S(.,.41,1.0) reshaped to those shapes.
struct Qkv {
  Qkv(const std::vector<int64_t>& qs, const std::vector<int64_t>& ks,
      const std::vector<int64_t>& vs, double q_phase = 0.0)
      : q(b.Input("q", DType::kF32, StaticShape(qs))),
        k(b.Input("k", DType::kF32, StaticShape(ks))),
        v(b.Input("v", DType::kF32, StaticShape(vs))),
        inputs{SinTensor(DType::kF32, qs, 0.37, q_phase), SinTensor(DType::kF32, ks, 0.23, 0.5),
               SinTensor(DType::kF32, vs, 0.41, 1.0)} {}
  Builder b{"g"};
  Value* q;
  Value* k;
  Value* v;
  std::vector<Tensor> inputs;
};

// q = S(16,.37,0).reshape(1,2,2,4); k = S(24,.23,.5).reshape(1,3,2,4);
// v = S(18,.41,1.0).reshape(1,3,2,3): B=1, Sq=2, Sk=3, H=Hk=2, D=4, Dv=3.
Qkv Small() { return Qkv({1, 2, 2, 4}, {1, 3, 2, 4}, {1, 3, 2, 3}); }

TEST(AttentionTest, DefaultScaleIsInverseSqrtD) {
  Qkv s = Small();
  Value* out = s.b.Attention(s.q, s.k, s.v);
  ASSERT_NE(out, nullptr) << s.b.status().ToString();
  EXPECT_EQ(out->type().ToString(), "f32[1,2,2,3]");  // [B, Sq, H, Dv]
  s.b.Output(out);
  auto res = RunGraph(s.b, s.inputs);
  ASSERT_EQ(res.size(), 1u);
  ExpectClose(res[0],
              {0.3435684, 0.350141, 0.2986746, 0.6204772, 0.3727377, 0.06321377, -0.1519045,
               0.01125311, 0.1725454, 0.155471, 0.292777, 0.3815528},
              kTol);
}

TEST(AttentionTest, ExplicitScale) {
  Qkv s = Small();
  s.b.Output(s.b.Attention(s.q, s.k, s.v, {.scale = 0.7}));
  auto res = RunGraph(s.b, s.inputs);
  ASSERT_EQ(res.size(), 1u);
  ExpectClose(res[0],
              {0.4312081, 0.4420903, 0.3796923, 0.7133344, 0.4292856, 0.07407907, -0.2126016,
               -0.005788254, 0.2019845, 0.232986, 0.386191, 0.4753817},
              kTol);
}

TEST(AttentionTest, AdditiveMaskBroadcastFromSqSk) {
  // mask [[0, -inf, 0.5], [-1, 0.25, -inf]] of shape [Sq, Sk], shared by batch and heads.
  Qkv s = Small();
  Value* m = s.b.Input("m", DType::kF32, {2, 3});
  s.b.Output(s.b.Attention(s.q, s.k, s.v, {.mask = m}));
  s.inputs.push_back(F32({2, 3}, {0.0f, -kInf, 0.5f, -1.0f, 0.25f, -kInf}));
  auto res = RunGraph(s.b, s.inputs);
  ASSERT_EQ(res.size(), 1u);
  ExpectClose(res[0],
              {0.5777862, 0.779915, 0.8527664, 0.7879471, 0.5235901, 0.1724435, -0.1404817,
               -0.4186323, -0.6273912, -0.9542755, -0.8900845, -0.6783546},
              kTol);
}

TEST(AttentionTest, FullyMaskedRowGivesZeros) {
  // Query 0 sees no key; query 1 sees all (mask row of zeros) and so matches the unmasked result.
  Qkv s = Small();
  Value* m = s.b.Input("m", DType::kF32, {1, 1, 2, 3});
  s.b.Output(s.b.Attention(s.q, s.k, s.v, {.mask = m}));
  s.inputs.push_back(F32({1, 1, 2, 3}, {-kInf, -kInf, -kInf, 0, 0, 0}));
  auto res = RunGraph(s.b, s.inputs);
  ASSERT_EQ(res.size(), 1u);
  ExpectClose(res[0],
              {0, 0, 0, 0, 0, 0, -0.1519045, 0.01125311, 0.1725454, 0.155471, 0.292777, 0.3815528},
              kTol);
}

// Causal attention with q = S(Sq*6,.37,.2).reshape(1,Sq,2,3), k = S(Sk*6,.23,.5).reshape(1,Sk,2,3),
// v = S(Sk*4,.41,1.0).reshape(1,Sk,2,2).
std::vector<Tensor> RunCausal(int64_t sq, int64_t sk) {
  Qkv a({1, sq, 2, 3}, {1, sk, 2, 3}, {1, sk, 2, 2}, 0.2);
  a.b.Output(a.b.Attention(a.q, a.k, a.v, {.causal = true}));
  return RunGraph(a.b, a.inputs);
}

TEST(AttentionTest, CausalIsTopLeftAligned) {
  {  // Sq == Sk == 3.
    auto res = RunCausal(3, 3);
    ASSERT_EQ(res.size(), 1u);
    ExpectClose(res[0],
                {0.841471, 0.9871001, 0.9691091, 0.7904802, 0.6414308, 0.4903195, 0.08272548,
                 -0.216192, -0.4714122, -0.5593814, -0.2178632, -0.2756629},
                kTol);
  }
  {  // Sq = 2 < Sk = 4: query i still sees keys 0..i (top-left), not the last keys.
    auto res = RunCausal(2, 4);
    ASSERT_EQ(res.size(), 1u);
    ExpectClose(
        res[0],
        {0.841471, 0.9871001, 0.9691091, 0.7904802, 0.6414308, 0.4903195, 0.08272548, -0.216192},
        kTol);
  }
  {  // Sq = 4 > Sk = 2: queries 2 and 3 see both keys.
    auto res = RunCausal(4, 2);
    ASSERT_EQ(res.size(), 1u);
    ExpectClose(
        res[0],
        {0.841471, 0.9871001, 0.9691091, 0.7904802, 0.6414308, 0.4903195, 0.08272548, -0.216192,
         0.6908396, 0.6130215, 0.305594, 0.0369214, 0.6447558, 0.4985769, 0.5961092, 0.3668615},
        kTol);
  }
}

// Grouped-query attention: B=2, Sq=2, Sk=3, H=4, Hk=2, D=3, Dv=2 (query heads 0,1 read kv head
// 0; heads 2,3 read kv head 1). q = S(48,.37,0), k = S(36,.23,.5), v = S(24,.41,1.0).
Qkv Gqa() { return Qkv({2, 2, 4, 3}, {2, 3, 2, 3}, {2, 3, 2, 2}); }

TEST(AttentionTest, GroupedQueryHeadsWithBatchMask) {
  Qkv g = Gqa();
  Value* m = g.b.Input("m", DType::kF32, {2, 1, 2, 3});  // per batch, shared by heads
  Value* out = g.b.Attention(g.q, g.k, g.v, {.mask = m});
  ASSERT_NE(out, nullptr) << g.b.status().ToString();
  EXPECT_EQ(out->type().ToString(), "f32[2,2,4,2]");
  g.b.Output(out);
  g.inputs.push_back(SinTensor(DType::kF32, {2, 1, 2, 3}, 0.9, 0.3));
  auto res = RunGraph(g.b, g.inputs);
  ASSERT_EQ(res.size(), 1u);
  ExpectClose(
      res[0],
      {0.2648794,  0.08588996, 0.4521689, 0.2264348, 0.09442215, -0.1035451, -0.6271361, -0.5817618,
       -0.1607897, -0.2037025, 0.3042191, 0.2848044, 0.7044337,  0.5111845,  0.7636805,  0.567411,
       0.3551945,  0.1283981,  0.1713511, 0.316104,  0.2845815,  0.3355832,  0.0347698,  -0.1647673,
       0.3563954,  0.2006891,  0.332529,  0.2160742, 0.4354349,  0.5688557,  0.4491103,  0.7240983},
      kTol);
}

TEST(AttentionTest, GroupedQueryHeadsCausal) {
  Qkv g = Gqa();
  g.b.Output(g.b.Attention(g.q, g.k, g.v, {.causal = true}));
  auto res = RunGraph(g.b, g.inputs);
  ASSERT_EQ(res.size(), 1u);
  ExpectClose(
      res[0],
      {0.841471,   0.9871001, 0.841471,   0.9871001, 0.9691091, 0.7904802, 0.9691091, 0.7904802,
       0.68985,    0.6105641, 0.6811203,  0.5888846, 0.5710913, 0.3384485, 0.6217712, 0.396006,
       -0.3552535, 0.0467976, -0.3552535, 0.0467976, 0.4410917, 0.7622711, 0.4410917, 0.7622711,
       0.7044213,  0.8110449, 0.6471147,  0.7697148, 0.6092079, 0.6951104, 0.4915787, 0.742102},
      kTol);
}

TEST(AttentionTest, HalfPrecisionInputs) {
  // f16 q/k/v with an f32 mask: the f32 result of the rounded inputs, rounded once to f16.
  Qkv s32 = Small();  // only its inputs
  Builder b("g");
  Value* q = b.Input("q", DType::kF16, {1, 2, 2, 4});
  Value* k = b.Input("k", DType::kF16, {1, 3, 2, 4});
  Value* v = b.Input("v", DType::kF16, {1, 3, 2, 3});
  Value* m = b.Input("m", DType::kF32, {3});
  Value* out = b.Attention(q, k, v, {.mask = m});
  ASSERT_NE(out, nullptr) << b.status().ToString();
  EXPECT_EQ(out->dtype(), DType::kF16);
  b.Output(out);
  std::vector<Tensor> ins16;
  for (const Tensor& t : s32.inputs) {
    ins16.push_back(Tensor::FromF32(DType::kF16, t.shape(), t.ToF32()));
  }
  ins16.push_back(F32({3}, {0, 0, 0}));
  auto res = RunGraph(b, ins16);
  ASSERT_EQ(res.size(), 1u);
  // Against the f32 result: input rounding (2^-11 relative) moves it by well under 2e-3.
  ExpectClose(res[0],
              {0.3435684, 0.350141, 0.2986746, 0.6204772, 0.3727377, 0.06321377, -0.1519045,
               0.01125311, 0.1725454, 0.155471, 0.292777, 0.3815528},
              2e-3);
}

TEST(AttentionTest, SymbolicInference) {
  Builder b("g");
  Dim batch = b.Sym("B", 1, 16);
  Dim seq = b.Sym("S", 1, 512);
  Value* q = b.Input("q", DType::kBF16, {batch, seq, 32, 128});
  Value* k = b.Input("k", DType::kBF16, {batch, seq + 1, 8, 128});
  Value* v = b.Input("v", DType::kBF16, {batch, seq + 1, 8, 64});
  Value* m = b.Input("m", DType::kF32, {batch, 1, 1, seq + 1});
  Value* out = b.Attention(q, k, v, {.mask = m, .causal = true});
  ASSERT_NE(out, nullptr) << b.status().ToString();
  EXPECT_EQ(out->type().ToString(), "bf16[B,S,32,64]");
  // Symbolic head counts: H = 4*G is a multiple of Hk = G.
  Dim gr = b.Sym("G", 1, 8);
  Value* q2 = b.Input("q2", DType::kF32, {1, 5, gr * 4, 16});
  Value* k2 = b.Input("k2", DType::kF32, {1, 7, gr, 16});
  Value* v2 = b.Input("v2", DType::kF32, {1, 7, gr, 16});
  Value* out2 = b.Attention(q2, k2, v2);
  ASSERT_NE(out2, nullptr) << b.status().ToString();
  EXPECT_EQ(out2->type().ToString(), "f32[1,5,G*4,16]");
}

TEST(AttentionTest, Errors) {
  auto attn_error = [](Shape qs, Shape ks, Shape vs, std::optional<Shape> ms = std::nullopt,
                       DType mask_dtype = DType::kF32) {
    Builder b("g");
    Value* q = b.Input("q", DType::kF32, qs);
    Value* k = b.Input("k", DType::kF32, ks);
    Value* v = b.Input("v", DType::kF32, vs);
    AttentionOptions opt;
    if (ms) opt.mask = b.Input("m", mask_dtype, *ms);
    b.Attention(q, k, v, opt);
    return BuildError(b);
  };
  ExpectError(attn_error({1, 4, 6, 8}, {1, 4, 4, 8}, {1, 4, 4, 8}),
              {"attention", "query heads H=6 must be a multiple of key/value heads Hk=4"});
  ExpectError(attn_error({1, 4, 2, 8}, {1, 4, 2, 8}, {1, 4, 2, 8}, Shape{1, 3, 4, 4}),
              {"mask (%m: f32[1,3,4,4]) does not broadcast to the scores [B, H, Sq, Sk] = "
               "[1,2,4,4]"});
  ExpectError(attn_error({1, 4, 2, 8}, {1, 4, 2, 8}, {1, 4, 2, 8}, Shape{1, 1, 1, 4, 4}),
              {"does not broadcast to the scores"});
  ExpectError(attn_error({1, 4, 2, 8}, {1, 4, 2, 8}, {1, 4, 2, 8}, Shape{4, 4}, DType::kBool),
              {"must be an additive float mask"});
  ExpectError(attn_error({1, 4, 2, 8}, {1, 4, 2, 16}, {1, 4, 2, 8}),
              {"head dim D of q (8) differs from k (16)"});
  ExpectError(attn_error({1, 4, 2, 8}, {1, 4, 2, 8}, {1, 5, 2, 8}),
              {"k and v must agree on the key length and head count"});
  ExpectError(attn_error({2, 4, 2, 8}, {1, 4, 2, 8}, {1, 4, 2, 8}), {"batch dims differ"});
  ExpectError(attn_error({4, 2, 8}, {1, 4, 2, 8}, {1, 4, 2, 8}), {"expected rank 4"});
  {  // dtype mismatch.
    Builder b("g");
    b.Attention(b.Input("q", DType::kF32, {1, 4, 2, 8}), b.Input("k", DType::kF16, {1, 4, 2, 8}),
                b.Input("v", DType::kF32, {1, 4, 2, 8}));
    ExpectError(BuildError(b), {"dtype f16, expected f32"});
  }
}

}  // namespace
}  // namespace kiln::testutil
