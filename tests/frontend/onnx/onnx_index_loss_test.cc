// ONNX index ops, losses, activations and input binding (onnx_index.cc, onnx_loss.cc,
// onnx_activation.cc, OnnxImportOptions::bound_inputs): imported models run by the interpreter
// against values computed here with plain loops or written out by hand.
#include <cmath>

#include "tests/frontend/onnx/onnx_test_util.h"

namespace kiln::onnx_test {
namespace {

using TP = onnx::TensorProto;

Tensor I64T(std::vector<int64_t> shape, const std::vector<int64_t>& v) {
  Tensor t(DType::kI64, std::move(shape));
  for (size_t i = 0; i < v.size(); ++i) t.mutable_data_as<int64_t>()[i] = v[i];
  return t;
}

TEST(OnnxIndex, ArgMaxKeepdimsAndHardmax) {
  OnnxModelBuilder m(13);
  m.Input("x", TP::FLOAT, {2, 3});
  auto& am = m.Node("ArgMax", {"x"}, {"i"});
  OnnxModelBuilder::AttrInt(am, "axis", 1);
  auto& hm = m.Node("Hardmax", {"x"}, {"h"});
  OnnxModelBuilder::AttrInt(hm, "axis", 1);
  m.Output("i");
  m.Output("h");
  std::vector<Tensor> out = ImportAndRun(m, {F32({2, 3}, {1, 5, 5, -2, -7, -3})});
  ASSERT_EQ(out.size(), 2u);
  ExpectValues(out[0], {2, 1}, {1, 0});  // first maximum of each row
  ExpectValues(out[1], {2, 3}, {0, 1, 0, 1, 0, 0});
}

TEST(OnnxIndex, GatherElementsOnGraphInputsAndOneHot) {
  OnnxModelBuilder m(13);
  m.Input("x", TP::FLOAT, {2, 2});
  m.Input("i", TP::INT64, {2, 2});
  auto& g = m.Node("GatherElements", {"x", "i"}, {"y"});
  OnnxModelBuilder::AttrInt(g, "axis", 1);
  m.InitI64("depth", {}, {3});
  m.InitF32("values", {2}, {-1.0f, 4.0f});
  m.Node("OneHot", {"i", "depth", "values"}, {"oh"});
  m.Output("y");
  m.Output("oh");
  std::vector<Tensor> out =
      ImportAndRun(m, {F32({2, 2}, {1, 2, 3, 4}), I64T({2, 2}, {0, 0, 1, -1})});
  ASSERT_EQ(out.size(), 2u);
  ExpectValues(out[0], {2, 2}, {1, 1, 4, 4});
  // indices [[0, 0], [1, -1 -> 2]] one-hot over 3 classes on the last axis.
  ExpectValues(out[1], {2, 2, 3}, {4, -1, -1, 4, -1, -1, -1, 4, -1, -1, -1, 4});
}

TEST(OnnxIndex, DepthToSpaceDcrAndSpaceToDepthRoundTrip) {
  OnnxModelBuilder m(13);
  m.Input("x", TP::FLOAT, {1, 4, 1, 2});
  auto& d2s = m.Node("DepthToSpace", {"x"}, {"y"});
  OnnxModelBuilder::AttrInt(d2s, "blocksize", 2);
  auto& s2d = m.Node("SpaceToDepth", {"y"}, {"z"});
  OnnxModelBuilder::AttrInt(s2d, "blocksize", 2);
  m.Output("y");
  m.Output("z");
  std::vector<float> x = {0, 1, 2, 3, 4, 5, 6, 7};  // channel c holds 2c, 2c+1
  std::vector<Tensor> out = ImportAndRun(m, {F32({1, 4, 1, 2}, x)});
  ASSERT_EQ(out.size(), 2u);
  // DCR: y[0, 0, h*2 + i, w*2 + j] = x[0, (i*2 + j), h, w]
  ExpectValues(out[0], {1, 1, 2, 4}, {0, 2, 1, 3, 4, 6, 5, 7});
  ExpectValues(out[1], {1, 4, 1, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
}

TEST(OnnxIndex, GatherNdScatterNdAndCompress) {
  OnnxModelBuilder m(16);
  m.Input("x", TP::FLOAT, {2, 2, 2});
  m.Input("i", TP::INT64, {2, 2});
  m.Input("u", TP::FLOAT, {2, 2});
  m.Node("GatherND", {"x", "i"}, {"g"});
  auto& sc = m.Node("ScatterND", {"x", "i", "u"}, {"s"});
  OnnxModelBuilder::AttrStr(sc, "reduction", "add");
  Tensor cond(DType::kBool, {2});
  cond.mutable_data_as<uint8_t>()[0] = 0;
  cond.mutable_data_as<uint8_t>()[1] = 1;
  m.Init("cond", cond);
  auto& cp = m.Node("Compress", {"x", "cond"}, {"c"});
  OnnxModelBuilder::AttrInt(cp, "axis", 2);
  m.Output("g");
  m.Output("s");
  m.Output("c");
  std::vector<float> x = {0, 1, 2, 3, 4, 5, 6, 7};  // x[a][b][c] = 4a + 2b + c
  std::vector<Tensor> out = ImportAndRun(
      m, {F32({2, 2, 2}, x), I64T({2, 2}, {1, 0, -1, 1}), F32({2, 2}, {10, 20, 30, 40})});
  ASSERT_EQ(out.size(), 3u);
  // Rows x[1][0] = [4, 5] and x[-1][1] = x[1][1] = [6, 7].
  ExpectValues(out[0], {2, 2}, {4, 5, 6, 7});
  ExpectValues(out[1], {2, 2, 2}, {0, 1, 2, 3, 14, 25, 36, 47});
  ExpectValues(out[2], {2, 2, 1}, {1, 3, 5, 7});  // the odd elements along the last axis
}

TEST(OnnxActivation, BitShiftU8) {
  OnnxModelBuilder m(13);
  m.Input("x", TP::UINT8, {4});
  m.Input("y", TP::UINT8, {4});
  OnnxModelBuilder::AttrStr(m.Node("BitShift", {"x", "y"}, {"l"}), "direction", "LEFT");
  OnnxModelBuilder::AttrStr(m.Node("BitShift", {"x", "y"}, {"r"}), "direction", "RIGHT");
  m.Output("l");
  m.Output("r");
  std::vector<double> x = {16, 255, 3, 200}, y = {1, 4, 8, 2};
  std::vector<Tensor> out =
      ImportAndRun(m, {Tensor::FromF64(DType::kU8, {4}, x), Tensor::FromF64(DType::kU8, {4}, y)});
  ASSERT_EQ(out.size(), 2u);
  ExpectValues(out[0], {4}, {32, 240, 0, 32});  // (x << y) & 0xff
  ExpectValues(out[1], {4}, {8, 15, 0, 50});
}

TEST(OnnxLoss, NllMeanWithWeightAndIgnoreIndex) {
  OnnxModelBuilder m(13);
  m.Input("x", TP::FLOAT, {3, 2});
  m.Input("t", TP::INT64, {3});
  m.InitF32("w", {2}, {0.5f, 2.0f});
  auto& n = m.Node("NegativeLogLikelihoodLoss", {"x", "t", "w"}, {"loss"});
  OnnxModelBuilder::AttrInt(n, "ignore_index", 1);
  m.Output("loss");
  std::vector<float> x = {-0.1f, -2.0f, -1.5f, -0.3f, -0.7f, -0.9f};
  std::vector<Tensor> out = ImportAndRun(m, {F32({3, 2}, x), I64T({3}, {0, 1, 0})});
  ASSERT_EQ(out.size(), 1u);
  // Row 1 is ignored; rows 0 and 2 pick class 0 with weight 0.5.
  double want = (0.5 * 0.1f + 0.5 * 0.7f) / (0.5 + 0.5);
  ExpectValues(out[0], {}, {want});
}

TEST(OnnxLoss, SoftmaxCrossEntropyNoneWithLogProb) {
  OnnxModelBuilder m(13);
  m.Input("s", TP::FLOAT, {2, 3});
  m.Input("l", TP::INT64, {2});
  auto& n = m.Node("SoftmaxCrossEntropyLoss", {"s", "l"}, {"loss", "logp"});
  OnnxModelBuilder::AttrStr(n, "reduction", "none");
  m.Output("loss");
  m.Output("logp");
  std::vector<float> s = {1, 2, 3, 0, 0, 0};
  std::vector<Tensor> out = ImportAndRun(m, {F32({2, 3}, s), I64T({2}, {2, 0})});
  ASSERT_EQ(out.size(), 2u);
  double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  double lse1 = std::log(3.0);
  ExpectValues(out[0], {2}, {lse0 - 3.0, lse1});
  ExpectValues(out[1], {2, 3}, {1 - lse0, 2 - lse0, 3 - lse0, -lse1, -lse1, -lse1});
}

TEST(OnnxActivation, EluSeluModTrilu) {
  OnnxModelBuilder m(14);
  m.Input("x", TP::FLOAT, {2, 2});
  m.Input("a", TP::INT64, {4});
  m.Input("b", TP::INT64, {4});
  m.Input("k", TP::INT64, {});
  m.Node("Elu", {"x"}, {"elu"});
  m.Node("Mod", {"a", "b"}, {"mod"});
  m.Node("Trilu", {"x", "k"}, {"triu"});
  m.Output("elu");
  m.Output("mod");
  m.Output("triu");
  std::vector<float> x = {-1.0f, 2.0f, 0.5f, -3.0f};
  std::vector<Tensor> out = ImportAndRun(
      m, {F32({2, 2}, x), I64T({4}, {7, -7, 7, -7}), I64T({4}, {3, 3, -3, -3}), I64T({}, {1})});
  ASSERT_EQ(out.size(), 3u);
  ExpectValues(out[0], {2, 2}, {std::exp(-1.0) - 1, 2, 0.5, std::exp(-3.0) - 1});
  ExpectValues(out[1], {4}, {1, 2, -2, -1});   // Python's %: the divisor's sign
  ExpectValues(out[2], {2, 2}, {0, 2, 0, 0});  // k = 1: strictly above the diagonal
}

TEST(OnnxBinding, ReshapeShapeFromBoundInput) {
  OnnxModelBuilder m = ReshapeByInputModel();
  StatusOr<Graph> plain = m.Import();
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.status().code(), StatusCode::kUnimplemented);

  OnnxImportOptions options;
  options.bound_inputs["shape"] = I64T({2}, {3, 2});
  StatusOr<Graph> g = m.Import(options);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->inputs().size(), 1u);  // only x remains an input
  StatusOr<std::vector<Tensor>> out = Interpret(*g, {F32({2, 3}, {0, 1, 2, 3, 4, 5})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ExpectValues((*out)[0], {3, 2}, {0, 1, 2, 3, 4, 5});

  options.bound_inputs["shape"] = I64T({3}, {1, 3, 2});  // declared [2]
  StatusOr<Graph> bad = m.Import(options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("graph input 'shape'"), std::string::npos);
  options.bound_inputs.clear();
  options.bound_inputs["nope"] = I64T({1}, {1});
  StatusOr<Graph> unknown = m.Import(options);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("'nope' is not a graph input"), std::string::npos);
}

// The value lists of `kiln compile --bind NAME=V1,V2,...`: the tensor takes the declared dtype
// and shape (1-D of that many values where the declared dim is symbolic).
TEST(OnnxBinding, ValueListsTakeTheDeclaredDtypeAndShape) {
  OnnxModelBuilder m = ReshapeByInputModel();
  OnnxImportOptions options;
  options.bound_values["shape"] = "3,-1";
  StatusOr<Graph> g = m.Import(options);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->inputs().size(), 1u);
  StatusOr<std::vector<Tensor>> out = Interpret(*g, {F32({2, 3}, {0, 1, 2, 3, 4, 5})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ExpectValues((*out)[0], {3, 2}, {0, 1, 2, 3, 4, 5});

  OnnxModelBuilder sym(13);  // shape: i32[n], n symbolic
  sym.Input("x", TP::FLOAT, {2, 3});
  sym.Input("shape", TP::INT32, {"n"});
  OnnxModelBuilder::AttrInt(sym.Node("Cast", {"shape"}, {"shape64"}), "to", TP::INT64);
  sym.Node("Reshape", {"x", "shape64"}, {"y"});
  sym.Output("y");
  options.bound_values["shape"] = "6";
  g = sym.Import(options);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  out = Interpret(*g, {F32({2, 3}, {0, 1, 2, 3, 4, 5})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ExpectValues((*out)[0], {6}, {0, 1, 2, 3, 4, 5});
}

}  // namespace
}  // namespace kiln::onnx_test
