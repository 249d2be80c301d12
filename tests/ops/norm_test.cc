// Tests of the normalisation op family (src/ops/norm.cc): batch_norm, layer_norm, group_norm
// (nchw and nhwc), rms_norm against numpy (float64, biased variance), f16/bf16 inputs, symbolic
// shapes, inference through Graph::AddNode, and the error messages.
//
// Tolerances: f32 within 1e-5 relative (to max(1, |expected|); eps and the rsqrt amplify input
// rounding slightly more than in plain elementwise ops); f16 within 1e-3 and bf16 within 8e-3
// relative (the whole row's statistics round with the output).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/ops/ref_test_util.h"

namespace kiln::testutil {
namespace {

constexpr double kF32Tol = 1e-5;
constexpr double kF16Tol = 1e-3;
constexpr double kBF16Tol = 8e-3;

const std::vector<double> kX = {0.5, -1.0, 2.0, 3.0, -0.25, 1.5, 4.0, 0.0, -2.0, 1.0, 0.75, -3.0};

// ---------------------------------------------------------------------------------- batch_norm

TEST(NormTest, BatchNormChannelAxis) {
  const std::vector<double> scale = {1.5, -0.5, 2.0}, bias = {0.1, 0.2, -0.3},
                            mean = {0.5, 1.0, -0.5}, var = {0.25, 4.0, 1.5};
  // axis=1 on [2,3,2] (nchw-like) and axis=-1 on [4,3] (channels last), same parameters.
  for (bool last : {false, true}) {
    SCOPED_TRACE(last ? "axis -1" : "axis 1");
    std::vector<int64_t> shape = last ? std::vector<int64_t>{4, 3} : std::vector<int64_t>{2, 3, 2};
    Builder b("bn");
    Value* x = b.Input("x", DType::kF32, StaticShape(shape));
    Value* s = b.Input("scale", DType::kF32, {3});
    Value* bi = b.Input("bias", DType::kF32, {3});
    Value* m = b.Input("mean", DType::kF32, {3});
    Value* v = b.Input("var", DType::kF32, {3});
    b.Output(b.BatchNorm(x, s, bi, m, v, 1e-5, last ? -1 : 1));
    std::vector<Tensor> out = RunGraph(
        b, {F32(shape, kX), F32({3}, scale), F32({3}, bias), F32({3}, mean), F32({3}, var)});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].shape(), shape);
    if (last) {
      ExpectClose(out[0],
                  {0.100000001, 0.699999378, 3.78246928, 7.59985001, 0.512499612, 2.96597543,
                   10.59979, 0.44999969, -2.74948159, 1.59997, 0.262499925, -4.38246931},
                  kF32Tol);
    } else {
      ExpectClose(out[0],
                  {0.100000001, -4.39991, -0.0499996845, -0.299999372, 0.108246918, 2.96597543,
                   10.59979, -1.39997, 0.949999065, 0.200000003, 1.74123464, -4.38246931},
                  kF32Tol);
    }
  }
}

// ---------------------------------------------------------------------------------- layer_norm

TEST(NormTest, LayerNormLastAxisWithAndWithoutAffine) {
  const std::vector<double> x = {1.0, 2.0, 4.0, -1.0, 0.5, 3.5};
  Builder b("ln");
  Value* in = b.Input("x", DType::kF32, {2, 3});
  Value* w = b.Input("w", DType::kF32, {3});
  Value* bias = b.Input("b", DType::kF32, {3});
  b.Output(b.LayerNorm(in, w, bias));
  b.Output(b.LayerNorm(in, nullptr, nullptr, 0.1));  // a large eps shows that eps is applied
  std::vector<Tensor> out =
      RunGraph(b, {F32({2, 3}, x), F32({3}, {0.5, 1.0, -2.0}), F32({3}, {0.1, 0.0, 0.3})});
  ASSERT_EQ(out.size(), 2u);
  ExpectClose(out[0],
              {-0.434520764, -0.267260383, -2.37260382, -0.434521719, -0.26726086, -2.37260859},
              kF32Tol);
  ExpectClose(out[1], {-1.03625552, -0.25906388, 1.2953194, -1.05409255, -0.263523138, 1.31761569},
              kF32Tol);
}

TEST(NormTest, LayerNormOverSeveralTrailingAxes) {
  // axis=1 on [2,2,3] normalises over the last two axes; weight is [2,3].
  Builder b("ln");
  Value* x = b.Input("x", DType::kF32, {2, 2, 3});
  b.Output(b.LayerNorm(x, b.Input("w", DType::kF32, {2, 3}), nullptr, 1e-5, 1));
  std::vector<Tensor> out =
      RunGraph(b, {F32({2, 2, 3}, kX), F32({2, 3}, {1.0, 2.0, 0.5, -1.0, 1.5, 0.25})});
  ASSERT_EQ(out.size(), 1u);
  ExpectClose(out[0],
              {-0.337702141, -2.8858183, 0.383752433, -1.50430954, -1.33545847, 0.0997756326,
               1.71956892, -0.11093993, -0.471494703, -0.388289755, 0.416024738, -0.346687281},
              kF32Tol);
}

// ---------------------------------------------------------------------------------- group_norm

TEST(NormTest, GroupNormNchwAndNhwcAgree) {
  // [1,4,2,2] with 2 groups; the nhwc case is the same data transposed to [1,2,2,4].
  const std::vector<double> nchw = {0.5,  -1.0, 2.0,  3.0,  -0.25, 1.5, 4.0,  0.0,
                                    -2.0, 1.0,  0.75, -3.0, 1.25,  2.5, -0.5, 0.25};
  const std::vector<double> nhwc = {0.5, -0.25, -2,   1.25, -1, 1.5, 1,  2.5,
                                    2,   4,     0.75, -0.5, 3,  0,   -3, 0.25};
  const std::vector<double> w = {1.0, 0.5, -1.0, 2.0}, bias = {0.0, 0.1, 0.2, -0.3};
  Builder b("gn");
  Value* x1 = b.Input("x_nchw", DType::kF32, {1, 4, 2, 2});
  Value* x2 = b.Input("x_nhwc", DType::kF32, {1, 2, 2, 4});
  Value* wv = b.Input("w", DType::kF32, {4});
  Value* bv = b.Input("b", DType::kF32, {4});
  b.Output(b.GroupNorm(x1, wv, bv, 2));
  b.Output(b.GroupNorm(x2, wv, bv, 2, 1e-5, Layout::kNHWC));
  std::vector<Tensor> out =
      RunGraph(b, {F32({1, 4, 2, 2}, nchw), F32({1, 2, 2, 4}, nhwc), F32({4}, w), F32({4}, bias)});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].TypeString(), "f32[1,2,2,4]");
  ExpectClose(out[0],
              {-0.447043748, -1.38000461, 0.485917117, 1.10789103, -0.356762089, 0.187465083,
               0.96493247, -0.27901535, 1.40639374, -0.375357009, -0.22687778, 2.00031065,
               1.14767247, 2.63246476, -0.931036734, -0.0401613615},
              kF32Tol);
  ExpectClose(out[1],
              {-0.447043748, -0.356762089, 1.40639374, 1.14767247, -1.38000461, 0.187465083,
               -0.375357009, 2.63246476, 0.485917117, 0.96493247, -0.22687778, -0.931036734,
               1.10789103, -0.27901535, 2.00031065, -0.0401613615},
              kF32Tol);
}

// ---------------------------------------------------------------------------------- rms_norm

TEST(NormTest, RmsNorm) {
  const std::vector<double> x = {1.0, 2.0, 4.0, -1.0, 0.5, 3.5};
  Builder b("rms");
  Value* in = b.Input("x", DType::kF32, {2, 3});
  b.Output(b.RmsNorm(in, b.Input("w", DType::kF32, {3})));
  b.Output(b.RmsNorm(in, nullptr));
  Value* in3 = b.Input("x3", DType::kF32, {2, 2, 3});
  b.Output(b.RmsNorm(in3, nullptr, 1e-6, -2));  // over the last two axes
  std::vector<Tensor> out =
      RunGraph(b, {F32({2, 3}, x), F32({3}, {0.5, 1.0, -2.0}), F32({2, 2, 3}, kX)});
  ASSERT_EQ(out.size(), 3u);
  ExpectClose(out[0],
              {0.188982223, 0.755928892, -3.02371557, -0.235702234, 0.235702234, -3.29983128},
              kF32Tol);
  ExpectClose(out[1], {0.377964446, 0.755928892, 1.51185778, -0.471404468, 0.235702234, 1.64991564},
              kF32Tol);
  ExpectClose(out[2],
              {0.300941863, -0.601883726, 1.20376745, 1.80565118, -0.150470932, 0.902825589,
               1.77231591, 0, -0.886157954, 0.443078977, 0.332309233, -1.32923693},
              kF32Tol);
}

// ---------------------------------------------------------------------------------- f16 / bf16

TEST(NormTest, HalfAndBFloat16KeepTheirDType) {
  const std::vector<double> x = {0.5, 1.25, -2.0, 3.5, 0.75, 1.0, -0.5, 2.0};
  const std::vector<double> w = {1.0, 0.5, 2.0, -1.0};
  for (DType dt : {DType::kF16, DType::kBF16}) {
    SCOPED_TRACE(DTypeName(dt));
    const double tol = dt == DType::kF16 ? kF16Tol : kBF16Tol;
    Builder b("half");
    Value* in = b.Input("x", dt, {2, 4});
    Value* wv = b.Input("w", dt, {4});
    b.Output(b.LayerNorm(in, wv, nullptr));
    b.Output(b.RmsNorm(in, wv));
    std::vector<Tensor> out =
        RunGraph(b, {Tensor::FromF64(dt, {2, 4}, x), Tensor::FromF64(dt, {4}, w)});
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].dtype(), dt);
    ExpectClose(out[0],
                {-0.159151547, 0.111406083, -2.86472785, -1.36870331, -0.0701857981, 0.105278697,
                 -2.94780352, -1.33353016},
                tol);
    ExpectClose(out[1],
                {0.235294092, 0.294117614, -1.88235273, -1.64705864, 0.622170803, 0.414780535,
                 -0.82956107, -1.65912214},
                tol);
  }
}

// ---------------------------------------------------------------------------------- symbolic

TEST(NormTest, SymbolicDimsPropagate) {
  Builder b("sym");
  Dim n = b.Sym("N", 1, 8);
  Dim s = b.Sym("S", 1, 512);
  Value* x = b.Input("x", DType::kF32, {n, s, 4});
  Value* c4 = b.Input("c4", DType::kF32, {4});
  Value* ln = b.LayerNorm(x, c4, c4);
  Value* rms = b.RmsNorm(x, c4);
  Value* gn = b.GroupNorm(x, c4, c4, 2, 1e-5, Layout::kNHWC);
  Value* bn = b.BatchNorm(x, c4, c4, c4, c4, 1e-5, -1);
  ASSERT_TRUE(b.status().ok()) << b.status().ToString();
  EXPECT_EQ(ln->type().ToString(), "f32[N,S,4]");
  EXPECT_EQ(rms->type().ToString(), "f32[N,S,4]");
  EXPECT_EQ(gn->type().ToString(), "f32[N,S,4]");
  EXPECT_EQ(bn->type().ToString(), "f32[N,S,4]");
  // A symbolic normalised axis needs a weight with that same symbol.
  Value* ws = b.Input("ws", DType::kF32, {s, 4});
  Value* ln2 = b.LayerNorm(x, ws, nullptr, 1e-5, 1);
  ASSERT_TRUE(b.status().ok()) << b.status().ToString();
  EXPECT_EQ(ln2->type().ToString(), "f32[N,S,4]");
  b.Output(rms);
  std::vector<Tensor> out =
      RunGraph(b, {F32({1, 2, 4}, {1, 2, 3, 4, -1, 0, 1, 2}), F32({4}, {1, 1, 1, 1}),
                   F32({2, 4}, std::vector<double>(8, 1.0))});
  ASSERT_EQ(out.size(), 1u);
  // numpy: x / sqrt(mean(x^2) + 1e-6) per row.
  ExpectClose(
      out[0],
      {0.365148351, 0.730296702, 1.09544505, 1.4605934, -0.816496374, 0, 0.816496374, 1.63299275},
      kF32Tol);
}

// ---------------------------------------------------------------------------------- errors

TEST(NormTest, GroupsMustDivideChannels) {
  Builder b("e");
  Value* x = b.Input("x", DType::kF32, {2, 6, 4, 4});
  Value* w = b.Input("w", DType::kF32, {6});
  b.GroupNorm(x, w, w, 4);
  ExpectMessage(b.status(), "group_norm: channels 6 of f32[2,6,4,4] are not divisible by groups 4");

  Builder z("e");
  Value* x2 = z.Input("x", DType::kF32, {2, 6, 4});
  Value* w2 = z.Input("w", DType::kF32, {6});
  z.GroupNorm(x2, w2, w2, 0);
  ExpectMessage(z.status(), "groups must be positive, got 0");

  Builder s("e");
  Value* xs = s.Input("x", DType::kF32, {2, s.Sym("C", 1, 64)});
  Value* ws = s.Input("w", DType::kF32, {6});
  s.GroupNorm(xs, ws, ws, 2, 1e-5, Layout::kNHWC);
  ExpectMessage(s.status(), "the channel dim of f32[2,C] must be static, got C");
}

TEST(NormTest, ParameterShapeAndAxisErrors) {
  Builder b("e");
  Value* x = b.Input("x", DType::kF32, {2, 3, 4});
  Value* p4 = b.Input("p4", DType::kF32, {4});
  b.BatchNorm(x, p4, p4, p4, p4);
  ExpectMessage(b.status(),
                "batch_norm: scale (operand 1) has shape [4], expected [3] (x.shape[1] of "
                "f32[2,3,4])");

  Builder l("e");
  Value* lx = l.Input("x", DType::kF32, {2, 3, 4});
  l.LayerNorm(lx, l.Input("w", DType::kF32, {4}), nullptr, 1e-5, 1);
  ExpectMessage(l.status(),
                "layer_norm: weight (operand 1) has shape [4], expected [3,4] (x.shape[1:] of "
                "f32[2,3,4])");

  Builder a("e");
  a.RmsNorm(a.Input("x", DType::kF32, {2, 3}), nullptr, 1e-6, 2);
  ExpectMessage(a.status(), "rms_norm: axis 2 is out of range for rank 2 (expected -2..1)");

  Builder g("e");
  Value* gx = g.Input("x", DType::kF32, {6});
  Value* gw = g.Input("w", DType::kF32, {6});
  g.GroupNorm(gx, gw, gw, 2);
  ExpectMessage(g.status(), "group_norm: x has type f32[6], expected rank >= 2");
}

TEST(NormTest, DTypeErrors) {
  Builder b("e");
  Value* x = b.Input("x", DType::kF16, {2, 3});
  b.LayerNorm(x, b.Input("w", DType::kF32, {3}), nullptr);
  ExpectMessage(b.status(), "layer_norm: operand 1 has dtype f32, expected f16");

  Builder i("e");
  i.RmsNorm(i.Input("x", DType::kI32, {2, 3}), nullptr);
  ExpectMessage(i.status(), "rms_norm: operand 0 (x) has dtype i32, expected f32, f16 or bf16");
}

// ---------------------------------------------------------------------------------- AddNode

TEST(NormTest, EveryOpInfersThroughAddNode) {
  Graph g;
  Dim n = g.Sym("N", 1, 8);
  Value* x = g.AddInput("x", {DType::kF16, {n, 8, 5, 5}});
  Value* c = g.AddInput("c", {DType::kF16, {8}});
  Value* last = g.AddInput("last", {DType::kF16, {5}});
  Value* trail = g.AddInput("trail", {DType::kF16, {8, 5, 5}});
  struct Case {
    OpKind op;
    std::vector<Value*> inputs;
    Attrs attrs;
  };
  const std::vector<Case> cases = {
      {OpKind::kBatchNorm, {x, c, c, c, c}, {}},
      {OpKind::kLayerNorm, {x, last, last}, {}},
      {OpKind::kLayerNorm, {x, trail}, {{"axis", int64_t{1}}}},
      {OpKind::kLayerNorm, {x}, {{"eps", 1e-3}}},
      {OpKind::kGroupNorm, {x, c, c}, {{"groups", int64_t{4}}}},
      {OpKind::kRmsNorm, {x, last}, {}},
      {OpKind::kRmsNorm, {x}, {{"axis", int64_t{-3}}}},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(std::string(OpName(k.op)));
    StatusOr<Node*> node = g.AddNode(k.op, k.inputs, k.attrs);
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    EXPECT_EQ((*node)->output()->type().ToString(), "f16[N,8,5,5]");
    EXPECT_EQ((*node)->def().fusion, FusionKind::kReduction);
  }
  ExpectMessage(g.AddNode(OpKind::kGroupNorm, {x, c, c}).status(),
                "op 'group_norm' requires attribute 'groups'");
  ExpectMessage(g.AddNode(OpKind::kRmsNorm, {x, last, last}).status(),
                "op 'rms_norm' takes 1 to 2 operands, got 3");
}

}  // namespace
}  // namespace kiln::testutil
