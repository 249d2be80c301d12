// ONNX shape and data-movement ops, and the folding of shape computations at import time:
// imported models run by the interpreter against values computed here (exact moves).
#include <limits>

#include "ir/printer.h"
#include "tests/frontend/onnx/onnx_test_util.h"

namespace kiln::onnx_test {
namespace {

using TP = onnx::TensorProto;

std::vector<float> Seq(int n) {
  std::vector<float> v;
  for (int i = 0; i < n; ++i) v.push_back(static_cast<float>(i));
  return v;
}
std::vector<double> SeqD(int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(i);
  return v;
}

const Node* FindOp(const Graph& g, OpKind op) {
  for (const auto& n : g.nodes()) {
    if (n->op() == op) return n.get();
  }
  return nullptr;
}

// PyTorch's x.view(x.size(0), 3, -1 // ...) chain: Shape -> Gather -> Unsqueeze -> Concat ->
// Reshape, plus Div on a shape element; folds to a reshape with a symbolic dim.
TEST(OnnxShape, ShapeChainFoldsToSymbolicReshape) {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {"batch", 6});
  m.InitI64("i0", {}, {0});
  m.InitI64("i1", {}, {1});
  m.InitI64("two", {}, {2});
  m.InitI64("ax0", {1}, {0});
  m.Node("Shape", {"x"}, {"s"});
  m.Node("Gather", {"s", "i0"}, {"n"});
  m.Node("Gather", {"s", "i1"}, {"c"});
  m.Node("Div", {"c", "two"}, {"half"});
  m.Node("Unsqueeze", {"n", "ax0"}, {"n1"});
  m.Node("Unsqueeze", {"half", "ax0"}, {"h1"});
  m.InitI64("two1", {1}, {2});
  m.Node("Concat", {"n1", "two1", "h1"}, {"shape"}).add_attribute()->CopyFrom([] {
    onnx::AttributeProto a;
    a.set_name("axis");
    a.set_type(onnx::AttributeProto::INT);
    a.set_i(0);
    return a;
  }());
  m.Node("Reshape", {"x", "shape"}, {"r"});
  auto& t = m.Node("Transpose", {"r"}, {"y"});
  OnnxModelBuilder::AttrInts(t, "perm", {0, 2, 1});
  m.Output("y");
  StatusOr<Graph> g = m.Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  // Only the reshape and transpose remain; the shape arithmetic folded into the attribute.
  EXPECT_EQ(g->nodes().size(), 2u) << PrintGraph(*g);
  const Node* reshape = FindOp(*g, OpKind::kReshape);
  ASSERT_NE(reshape, nullptr);
  EXPECT_EQ(ShapeToString(reshape->GetDims("shape")), "[batch,2,3]");
  EXPECT_EQ(g->symbols().at("batch"), (SymbolRange{1, 64}));
  StatusOr<std::vector<Tensor>> out = Interpret(*g, {F32({2, 6}, Seq(12))});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // r[b][i][j] = b*6 + i*3 + j; y[b][j][i] = r[b][i][j].
  std::vector<double> want;
  for (int b = 0; b < 2; ++b) {
    for (int j = 0; j < 3; ++j) {
      for (int i = 0; i < 2; ++i) want.push_back(b * 6 + i * 3 + j);
    }
  }
  ExpectValues((*out)[0], {2, 3, 2}, want);
}

TEST(OnnxShape, ConstantOfShapeSymbolicAndRange) {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {"N", 4});
  m.Node("Shape", {"x"}, {"s"});
  auto& cs = m.Node("ConstantOfShape", {"s"}, {"ones"});
  OnnxModelBuilder::AttrTensor(cs, "value", F32({1}, {1.5f}));
  m.Node("Add", {"x", "ones"}, {"a"});
  m.InitI64("start", {}, {0});
  m.InitI64("limit", {}, {4});
  m.InitI64("delta", {}, {1});
  m.Node("Range", {"start", "limit", "delta"}, {"r"});
  auto& cast = m.Node("Cast", {"r"}, {"rf"});
  OnnxModelBuilder::AttrInt(cast, "to", TP::FLOAT);
  m.Node("Add", {"a", "rf"}, {"y"});
  m.Output("y");
  std::vector<Tensor> out = ImportAndRun(m, {F32({3, 4}, Seq(12))});
  ASSERT_EQ(out.size(), 1u);
  std::vector<double> want;
  for (int i = 0; i < 12; ++i) want.push_back(i + 1.5 + i % 4);
  ExpectValues(out[0], {3, 4}, want);
}

TEST(OnnxShape, SliceSplitConcat) {
  for (int opset : {13, 18}) {
    OnnxModelBuilder m(opset);
    m.Input("x", TP::FLOAT, {3, 4});
    m.InitI64("st", {1}, {1});
    m.InitI64("en", {1}, {std::numeric_limits<int64_t>::max()});
    m.InitI64("ax", {1}, {1});
    m.Node("Slice", {"x", "st", "en", "ax"}, {"sl"});  // x[:, 1:]
    m.InitI64("st2", {1}, {-1});
    m.InitI64("en2", {1}, {std::numeric_limits<int64_t>::min()});
    m.InitI64("ax2", {1}, {0});
    m.InitI64("stp2", {1}, {-2});
    m.Node("Slice", {"x", "st2", "en2", "ax2", "stp2"}, {"rev"});  // x[::-2]
    std::vector<std::string> split_in = {"x"};
    if (opset < 18) {
      m.InitI64("split", {2}, {1, 3});
      split_in.push_back("split");
    }
    auto& sp = m.Node("Split", split_in, {"p0", "p1"});
    OnnxModelBuilder::AttrInt(sp, "axis", 1);
    if (opset >= 18) OnnxModelBuilder::AttrInt(sp, "num_outputs", 2);
    auto& cat = m.Node("Concat", {"p1", "p0"}, {"cc"});
    OnnxModelBuilder::AttrInt(cat, "axis", 1);
    m.Output("sl");
    m.Output("rev");
    m.Output("cc");
    std::vector<Tensor> out = ImportAndRun(m, {F32({3, 4}, Seq(12))});
    ASSERT_EQ(out.size(), 3u);
    std::vector<double> sl, rev, cc;
    for (int i = 0; i < 3; ++i) {
      for (int j = 1; j < 4; ++j) sl.push_back(i * 4 + j);
    }
    for (int i : {2, 0}) {
      for (int j = 0; j < 4; ++j) rev.push_back(i * 4 + j);
    }
    // opset 13 splits [1, 3]; opset 18 num_outputs=2 gives [2, 2].
    int first = opset < 18 ? 1 : 2;
    for (int i = 0; i < 3; ++i) {
      for (int j = first; j < 4; ++j) cc.push_back(i * 4 + j);
      for (int j = 0; j < first; ++j) cc.push_back(i * 4 + j);
    }
    ExpectValues(out[0], {3, 3}, sl);
    ExpectValues(out[1], {2, 4}, rev);
    ExpectValues(out[2], {3, 4}, cc);
  }
}

TEST(OnnxShape, GatherExpandPadFlattenSqueeze) {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {2, 3});
  m.InitI64("idx", {2}, {2, -3});
  auto& g = m.Node("Gather", {"x", "idx"}, {"g"});
  OnnxModelBuilder::AttrInt(g, "axis", 1);  // columns 2 and 0
  m.InitI64("eshape", {3}, {2, 1, 3});
  m.InitI64("ax1", {1}, {1});
  m.Node("Unsqueeze", {"x", "ax1"}, {"u"});  // [2,1,3]
  m.InitI64("eshape2", {3}, {1, 2, 1});
  m.Node("Expand", {"u", "eshape2"}, {"e"});  // bidirectional: [2,2,3]
  m.InitI64("pads", {4}, {0, 1, 0, 1});
  m.InitF32("pv", {}, {9.0f});
  m.Node("Pad", {"x", "pads", "pv"}, {"p"});
  m.Node("Flatten", {"e"}, {"f"});  // [2, 6]
  m.Node("Squeeze", {"u", "ax1"}, {"sq"});
  m.Output("g");
  m.Output("e");
  m.Output("p");
  m.Output("f");
  m.Output("sq");
  std::vector<Tensor> out = ImportAndRun(m, {F32({2, 3}, Seq(6))});
  ASSERT_EQ(out.size(), 5u);
  ExpectValues(out[0], {2, 2}, {2, 0, 5, 3});
  ExpectValues(out[1], {2, 2, 3}, {0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5});
  ExpectValues(out[2], {2, 5}, {9, 0, 1, 2, 9, 9, 3, 4, 5, 9});
  ExpectValues(out[3], {2, 6}, {0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5});
  ExpectValues(out[4], {2, 3}, SeqD(6));
}

TEST(OnnxShape, ResizeNearestAndLinear) {
  for (const char* mode : {"nearest", "linear"}) {
    OnnxModelBuilder m;
    m.Input("x", TP::FLOAT, {1, 1, 2, 2});
    m.InitF32("scales", {4}, {1, 1, 2, 2});
    auto& r = m.Node("Resize", {"x", "", "scales"}, {"y"});
    OnnxModelBuilder::AttrStr(r, "mode", mode);
    OnnxModelBuilder::AttrStr(r, "coordinate_transformation_mode", "asymmetric");
    OnnxModelBuilder::AttrStr(r, "nearest_mode", "floor");
    m.Output("y");
    std::vector<Tensor> out = ImportAndRun(m, {F32({1, 1, 2, 2}, {0, 1, 2, 3})});
    ASSERT_EQ(out.size(), 1u);
    std::vector<double> want;
    for (int i = 0; i < 4; ++i) {
      for (int j = 0; j < 4; ++j) {
        if (std::string(mode) == "nearest") {
          want.push_back((i / 2) * 2 + j / 2);
        } else {  // asymmetric: source = dst / 2, clamped at the last pixel
          double si = std::min(i / 2.0, 1.0), sj = std::min(j / 2.0, 1.0);
          want.push_back(si * 2 + sj);  // bilinear of v = 2*row + col is exact
        }
      }
    }
    ExpectValues(out[0], {1, 1, 4, 4}, want);
  }
}

TEST(OnnxShape, ConstantOpSmallInlinedLargeAsWeight) {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {20});
  auto& c1 = m.Node("Constant", {}, {"big"});
  OnnxModelBuilder::AttrTensor(c1, "value", F32({20}, Seq(20)));
  auto& c2 = m.Node("Constant", {}, {"small"});
  OnnxModelBuilder::AttrFloat(c2, "value_float", 0.5f);
  m.Node("Add", {"x", "big"}, {"a"});
  m.Node("Mul", {"a", "small"}, {"y"});
  m.Output("y");
  StatusOr<Graph> g = m.Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_NE(FindOp(*g, OpKind::kWeight), nullptr);
  EXPECT_NE(FindOp(*g, OpKind::kConstant), nullptr);
  ASSERT_EQ(g->weights()->count("big"), 1u);
  StatusOr<std::vector<Tensor>> out = Interpret(*g, {F32({20}, Seq(20))});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<double> want;
  for (int i = 0; i < 20; ++i) want.push_back(i);  // (i + i) * 0.5
  ExpectValues((*out)[0], {20}, want);
}

TEST(OnnxShape, TriluUpperAndLowerWithK) {
  for (int upper : {1, 0}) {
    OnnxModelBuilder m(14);
    m.Input("x", TP::FLOAT, {3, 4});
    m.InitI64("k", {}, {upper ? 1 : -1});
    auto& n = m.Node("Trilu", {"x", "k"}, {"y"});
    OnnxModelBuilder::AttrInt(n, "upper", upper);
    m.Output("y");
    std::vector<Tensor> out = ImportAndRun(m, {F32({3, 4}, Seq(12))});
    ASSERT_EQ(out.size(), 1u);
    std::vector<double> want;
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 4; ++j) {
        bool keep = upper ? (j - i >= 1) : (j - i <= -1);
        want.push_back(keep ? i * 4 + j : 0);
      }
    }
    ExpectValues(out[0], {3, 4}, want);
  }
}

// torch's x.expand(-1, 3, -1) export: ConstantOfShape -> Mul(-1) -> Equal -> Where -> Expand on a
// shape with a symbolic batch; Equal(batch, -1) is decided false from batch's range [1, 64].
TEST(OnnxShape, TorchExpandPatternWithSymbolicBatch) {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {"batch", 1, 2});
  m.InitI64("i0", {1}, {0});
  m.InitI64("three_two", {2}, {3, 2});
  m.InitI64("len3", {1}, {3});
  m.InitI64("minus1", {}, {-1});
  m.Node("Shape", {"x"}, {"s"});
  m.Node("Gather", {"s", "i0"}, {"b"});  // [batch]
  auto& cat = m.Node("Concat", {"b", "three_two"}, {"target"});
  OnnxModelBuilder::AttrInt(cat, "axis", 0);
  auto& ones = m.Node("ConstantOfShape", {"len3"}, {"ones"});
  Tensor one(DType::kI64, {1});
  one.mutable_data_as<int64_t>()[0] = 1;
  OnnxModelBuilder::AttrTensor(ones, "value", one);
  m.Node("Mul", {"ones", "minus1"}, {"neg"});
  m.Node("Equal", {"target", "neg"}, {"eq"});
  m.Node("Where", {"eq", "ones", "target"}, {"shape"});
  m.Node("Expand", {"x", "shape"}, {"y"});
  m.Output("y");
  StatusOr<Graph> g = m.Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->nodes().size(), 1u) << PrintGraph(*g);
  EXPECT_EQ(g->outputs()[0]->type().ToString(), "f32[batch,3,2]");
  StatusOr<std::vector<Tensor>> out = Interpret(*g, {F32({2, 1, 2}, {1, 2, 3, 4})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ExpectValues((*out)[0], {2, 3, 2}, {1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4});
}

}  // namespace
}  // namespace kiln::onnx_test
