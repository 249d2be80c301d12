// ONNX elementwise ops and activations: imported models run by the interpreter against values
// computed here with plain loops (tolerance 1e-5 absolute + 1e-5 relative unless stated).
#include <cmath>

#include "tests/frontend/onnx/onnx_test_util.h"

namespace kiln::onnx_test {
namespace {

using TP = onnx::TensorProto;

const std::vector<float> kX = {-1.5f, -0.25f, 0.0f, 0.5f, 1.0f, 2.5f};

TEST(OnnxElementwise, AddBroadcastReluMulScalar) {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {2, 3});
  m.InitF32("b", {3}, {0.5f, -1.0f, 2.0f});
  m.InitF32("two", {}, {2.0f});
  m.Node("Add", {"x", "b"}, {"s"});
  m.Node("Relu", {"s"}, {"r"});
  m.Node("Mul", {"r", "two"}, {"y"});
  m.Output("y");
  std::vector<Tensor> out = ImportAndRun(m, {F32({2, 3}, kX)});
  ASSERT_EQ(out.size(), 1u);
  std::vector<double> want;
  const float b[3] = {0.5f, -1.0f, 2.0f};
  for (int i = 0; i < 6; ++i) want.push_back(2.0 * std::max(0.0, double(kX[i]) + b[i % 3]));
  ExpectValues(out[0], {2, 3}, want);
}

TEST(OnnxElementwise, GeluOpset20BothForms) {
  for (const char* approx : {"none", "tanh"}) {
    OnnxModelBuilder m(20, 10);
    m.Input("x", TP::FLOAT, {6});
    auto& n = m.Node("Gelu", {"x"}, {"y"});
    OnnxModelBuilder::AttrStr(n, "approximate", approx);
    m.Output("y");
    std::vector<Tensor> out = ImportAndRun(m, {F32({6}, kX)});
    ASSERT_EQ(out.size(), 1u);
    std::vector<double> want;
    for (float f : kX) {
      double x = f;
      if (std::string(approx) == "none") {
        want.push_back(0.5 * x * (1 + std::erf(x / std::sqrt(2.0))));
      } else {
        want.push_back(0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))));
      }
    }
    ExpectValues(out[0], {6}, want, 1e-5, 1e-4);
  }
}

TEST(OnnxElementwise, CompareWhereCastClip) {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {6});
  m.Input("y", TP::FLOAT, {6});
  m.InitF32("lo", {}, {-0.5f});
  m.InitF32("hi", {}, {1.0f});
  m.Node("Less", {"x", "y"}, {"c"});
  m.Node("Where", {"c", "x", "y"}, {"mn"});
  auto& cast = m.Node("Cast", {"c"}, {"cf"});
  OnnxModelBuilder::AttrInt(cast, "to", TP::FLOAT);
  m.Node("Clip", {"x", "lo", "hi"}, {"cl"});
  m.Output("mn");
  m.Output("cf");
  m.Output("cl");
  std::vector<float> y = {0.0f, -1.0f, 1.0f, 0.5f, -2.0f, 3.0f};
  std::vector<Tensor> out = ImportAndRun(m, {F32({6}, kX), F32({6}, y)});
  ASSERT_EQ(out.size(), 3u);
  std::vector<double> mn, cf, cl;
  for (int i = 0; i < 6; ++i) {
    mn.push_back(std::min(kX[i], y[i]));
    cf.push_back(kX[i] < y[i] ? 1.0 : 0.0);
    cl.push_back(std::clamp(double(kX[i]), -0.5, 1.0));
  }
  ExpectValues(out[0], {6}, mn);
  ExpectValues(out[1], {6}, cf);
  ExpectValues(out[2], {6}, cl);
}

TEST(OnnxElementwise, PowSqrtReciprocalLeakyRelu) {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {6});
  m.InitF32("two", {}, {2.0f});
  m.InitF32("one", {}, {1.0f});
  m.Node("Pow", {"x", "two"}, {"sq"});
  m.Node("Add", {"sq", "one"}, {"s1"});
  m.Node("Sqrt", {"s1"}, {"rt"});
  m.Node("Reciprocal", {"rt"}, {"inv"});
  auto& lr = m.Node("LeakyRelu", {"x"}, {"lr"});
  OnnxModelBuilder::AttrFloat(lr, "alpha", 0.1f);
  m.Node("Sub", {"inv", "lr"}, {"y"});
  m.Output("y");
  std::vector<Tensor> out = ImportAndRun(m, {F32({6}, kX)});
  ASSERT_EQ(out.size(), 1u);
  std::vector<double> want;
  for (float f : kX) {
    double x = f;
    want.push_back(1.0 / std::sqrt(x * x + 1) - (x >= 0 ? x : 0.1 * x));
  }
  ExpectValues(out[0], {6}, want);
}

TEST(OnnxElementwise, UnaryMathAndVariadic) {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {6});
  m.Node("Abs", {"x"}, {"a"});
  m.Node("Exp", {"x"}, {"e"});
  m.Node("Tanh", {"x"}, {"t"});
  m.Node("Sigmoid", {"x"}, {"s"});
  m.Node("Neg", {"x"}, {"n"});
  m.Node("Max", {"a", "t", "n"}, {"mx"});
  m.Node("Sum", {"e", "s", "mx"}, {"y"});
  m.Output("y");
  std::vector<Tensor> out = ImportAndRun(m, {F32({6}, kX)});
  ASSERT_EQ(out.size(), 1u);
  std::vector<double> want;
  for (float f : kX) {
    double x = f;
    want.push_back(std::exp(x) + 1 / (1 + std::exp(-x)) +
                   std::max({std::abs(x), std::tanh(x), -x}));
  }
  ExpectValues(out[0], {6}, want, 1e-5, 1e-5);
}

TEST(OnnxElementwise, MeanPReluCastLikeClipRuntimeBoundsDropoutMask) {
  OnnxModelBuilder m(15);
  m.Input("x", TP::FLOAT, {6});
  m.Input("lo", TP::FLOAT, {});
  m.InitF32("slope", {1}, {0.25f});
  m.InitF32("c", {6}, {1, 1, 1, 1, 1, 1});
  m.InitI64("like", {1}, {0});
  m.Node("Mean", {"x", "c"}, {"mean"});
  m.Node("PRelu", {"x", "slope"}, {"pr"});
  m.Node("CastLike", {"x", "like"}, {"xi"});  // float -> int64 truncates toward zero
  m.Node("Clip", {"x", "lo"}, {"cl"});        // min given at run time
  m.Node("Dropout", {"x"}, {"dr", "mask"});
  m.Output("mean");
  m.Output("pr");
  m.Output("xi");
  m.Output("cl");
  m.Output("dr");
  m.Output("mask");
  Tensor lo = F32({}, {0.25f});
  std::vector<Tensor> out = ImportAndRun(m, {F32({6}, kX), lo});
  ASSERT_EQ(out.size(), 6u);
  std::vector<double> mean, pr, xi, cl, dr, mask;
  for (float f : kX) {
    double x = f;
    mean.push_back((x + 1) / 2);
    pr.push_back(x < 0 ? 0.25 * x : x);
    xi.push_back(std::trunc(x));
    cl.push_back(std::max(x, 0.25));
    dr.push_back(x);
    mask.push_back(1);
  }
  ExpectValues(out[0], {6}, mean);
  ExpectValues(out[1], {6}, pr);
  EXPECT_EQ(out[2].dtype(), DType::kI64);
  ExpectValues(out[2], {6}, xi);
  ExpectValues(out[3], {6}, cl);
  ExpectValues(out[4], {6}, dr);
  EXPECT_EQ(out[5].dtype(), DType::kBool);
  ExpectValues(out[5], {6}, mask);
}

}  // namespace
}  // namespace kiln::onnx_test

namespace kiln::onnx_test {
namespace {

// And / Or / Xor / Not on bool masks (from comparisons), with broadcasting; expected values from
// C++'s own logic operators.
TEST(OnnxElementwise, LogicalOpsOnMasks) {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {2, 3});
  m.Input("y", TP::FLOAT, {3});
  m.InitF32("zero", {}, {0.0f});
  m.Node("Greater", {"x", "zero"}, {"p"});  // [2,3]
  m.Node("Less", {"y", "zero"}, {"q"});     // [3], broadcast
  m.Node("And", {"p", "q"}, {"a"});
  m.Node("Or", {"p", "q"}, {"o"});
  m.Node("Xor", {"p", "q"}, {"e"});
  m.Node("Not", {"p"}, {"n"});
  for (const char* out : {"a", "o", "e", "n"}) m.Output(out);
  const std::vector<float> y = {-1.0f, 0.5f, -0.25f};
  std::vector<Tensor> out = ImportAndRun(m, {F32({2, 3}, kX), F32({3}, y)});
  ASSERT_EQ(out.size(), 4u);
  std::vector<double> wa, wo, we, wn;
  for (int i = 0; i < 6; ++i) {
    const bool p = kX[i] > 0, q = y[i % 3] < 0;
    wa.push_back(p && q);
    wo.push_back(p || q);
    we.push_back(p != q);
    wn.push_back(!p);
  }
  for (const Tensor& t : out) EXPECT_EQ(t.dtype(), DType::kBool);
  ExpectValues(out[0], {2, 3}, wa, 0, 0);
  ExpectValues(out[1], {2, 3}, wo, 0, 0);
  ExpectValues(out[2], {2, 3}, we, 0, 0);
  ExpectValues(out[3], {2, 3}, wn, 0, 0);
}

TEST(OnnxElementwise, LogicalOpsRejectNonBoolInputs) {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {3});
  m.Node("Not", {"x"}, {"n"});
  m.Output("n");
  StatusOr<Graph> g = m.Import();
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("input 0 is f32, expected bool"), std::string::npos)
      << g.status().ToString();
}

// GatherElements folds at import time when data and indices are constants (HF BERT gathers its
// token_type_ids buffer this way); with a run-time input it becomes kiln's gather_elements.
TEST(OnnxShapeOps, GatherElementsFoldsConstants) {
  OnnxModelBuilder m;
  m.Input("x", TP::INT64, {2, 3});
  m.InitI64("data", {2, 3}, {10, 11, 12, 20, 21, 22});
  m.InitI64("idx", {2, 3}, {2, 0, 1, 0, -1, 1});  // along axis 1; -1 wraps to 2
  auto& n = m.Node("GatherElements", {"data", "idx"}, {"g"});
  OnnxModelBuilder::AttrInt(n, "axis", 1);
  m.Node("Add", {"g", "x"}, {"y"});
  m.Output("y");
  Tensor x = Tensor::FromF64(DType::kI64, {2, 3}, std::vector<double>{0, 0, 0, 100, 100, 100});
  StatusOr<Graph> folded = m.Import();
  ASSERT_TRUE(folded.ok()) << folded.status().ToString();
  for (const auto& node : folded->nodes()) EXPECT_NE(node->op(), OpKind::kGatherElements);
  std::vector<Tensor> out = ImportAndRun(m, {x});
  ASSERT_EQ(out.size(), 1u);
  ExpectValues(out[0], {2, 3}, {12, 10, 11, 120, 122, 121}, 0, 0);

  OnnxModelBuilder r;
  r.Input("d", TP::INT64, {2, 3});
  r.InitI64("idx", {2, 3}, {2, 0, 1, 0, -1, 1});
  auto& rn = r.Node("GatherElements", {"d", "idx"}, {"g"});
  OnnxModelBuilder::AttrInt(rn, "axis", 1);
  r.Output("g");
  Tensor d = Tensor::FromF64(DType::kI64, {2, 3}, std::vector<double>{10, 11, 12, 20, 21, 22});
  std::vector<Tensor> run = ImportAndRun(r, {d});
  ASSERT_EQ(run.size(), 1u);
  ExpectValues(run[0], {2, 3}, {12, 10, 11, 20, 22, 21}, 0, 0);
}

}  // namespace
}  // namespace kiln::onnx_test
