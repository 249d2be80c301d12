#include "passes/hoist_slice.h"

#include <gtest/gtest.h>

#include "ir/printer.h"
#include "passes/pass_test_util.h"

namespace kiln {
namespace {

// The extent of axis 1 of the value named `value`, -1 when there is none.
int SliceRows(const Graph& g, const std::string& value) {
  const Value* v = g.FindValue(value);
  return v == nullptr ? -1 : static_cast<int>(v->shape()[1].value());
}

TEST(HoistSliceTest, ClassTokenOfATransformerBlockTail) {
  // ViT's last block after its attention, in miniature: out-projection + residual, layer_norm,
  // FFN with GELU, residual, final layer_norm, and the classifier reading token 0.
  Graph g = ParseVerified(R"(graph @g(%att: f32[N,6,2,4], %h: f32[N,6,8]) -> (%logits) where N in [1, 4] {
  %wo = weight "wo" : f32[8,8]
  %bo = weight "bo" : f32[8]
  %g1 = weight "g1" : f32[8]
  %b1 = weight "b1" : f32[8]
  %w1 = weight "w1" : f32[16,8]
  %c1 = weight "c1" : f32[16]
  %w2 = weight "w2" : f32[8,16]
  %c2 = weight "c2" : f32[8]
  %g2 = weight "g2" : f32[8]
  %b2 = weight "b2" : f32[8]
  %wh = weight "wh" : f32[3,8]
  %flat = reshape(%att) {shape=[N,6,8]} : f32[N,6,8]
  %o = gemm(%flat, %wo) {trans_b=true, epilogue=[bias(%bo)]} : f32[N,6,8]
  %r1 = add(%o, %h) : f32[N,6,8]
  %n1 = layer_norm(%r1, %g1, %b1) : f32[N,6,8]
  %f1 = gemm(%n1, %w1) {trans_b=true, epilogue=[bias(%c1)]} : f32[N,6,16]
  %a1 = gelu(%f1) : f32[N,6,16]
  %f2 = gemm(%a1, %w2) {trans_b=true, epilogue=[bias(%c2)]} : f32[N,6,8]
  %r2 = add(%r1, %f2) : f32[N,6,8]
  %n2 = layer_norm(%r2, %g2, %b2) : f32[N,6,8]
  %cls = slice(%n2) {starts=[0], ends=[1], axes=[1]} : f32[N,1,8]
  %sq = squeeze(%cls) {axes=[1]} : f32[N,8]
  %logits = gemm(%sq, %wh) {trans_b=true} : f32[N,3]
})");
  std::unique_ptr<Graph> before = g.Clone();
  HoistSlicePass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  const std::string text = PrintGraph(g);
  // Two slices remain, where the rows come from ops that need every row: the attention output
  // (through the reshape, a view) and the residual input %h, which other nodes read whole in a
  // real model. Everything after them runs on one row.
  EXPECT_EQ(CountOps(g, OpKind::kSlice), 2) << text;
  EXPECT_NE(text.find("slice(%att) {starts=[0], ends=[1], axes=[1]} : f32[N,1,2,4]"), std::string::npos)
      << text;
  EXPECT_NE(text.find("slice(%h) {starts=[0], ends=[1], axes=[1]} : f32[N,1,8]"), std::string::npos)
      << text;
  for (const auto& n : g.nodes()) {
    if (n->op() == OpKind::kWeight || n->op() == OpKind::kSlice) continue;
    if (n->output()->rank() == 3) {
      EXPECT_EQ(n->output()->shape()[1], Dim(1)) << n->Describe() << "\n" << text;
    }
  }
  ExpectNumericallyEquivalent(*before, g, 1e-5, 1e-5);
}

TEST(HoistSliceTest, SelectOfTheClassTokenAsExportedToOnnx) {
  // torchvision's `x[:, 0]` exports as a gather of the constant index 0: it becomes a slice and a
  // squeeze, and the slice climbs. A select of a graph input has nothing to climb over and stays.
  Graph g = ParseVerified(R"(graph @g(%h: f32[N,6,8], %z: f32[N,6,8]) -> (%cls, %other) where N in [1, 4] {
  %g1 = weight "g1" : f32[8]
  %r = relu(%h) : f32[N,6,8]
  %n = layer_norm(%r, %g1) : f32[N,6,8]
  %i = constant [-6] : i64[]
  %cls = gather(%n, %i) {axis=1} : f32[N,8]
  %other = gather(%z, %i) {axis=1} : f32[N,8]
})");
  std::unique_ptr<Graph> before = g.Clone();
  HoistSlicePass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  const std::string text = PrintGraph(g);
  EXPECT_EQ(CountOps(g, OpKind::kGather), 1) << text;
  EXPECT_NE(text.find("slice(%h) {starts=[0], ends=[1], axes=[1]} : f32[N,1,8]"), std::string::npos) << text;
  EXPECT_NE(text.find("layer_norm(%r.rows, %g1) : f32[N,1,8]"), std::string::npos) << text;
  EXPECT_EQ(g.outputs()[0]->name(), "cls");
  ExpectNumericallyEquivalent(*before, g, 1e-6, 1e-6);
}

TEST(HoistSliceTest, BroadcastOperandsBatchAxesAndSoftmax) {
  // A slice of batch rows 1..2 of 8 through a batched gemm (both operands batched), a
  // broadcast add (one operand has the axis, one has extent 1 there, one lacks it) and a
  // softmax over the last axis.
  Graph g = ParseVerified(R"(graph @g(%a: f32[8,3,4], %b: f32[8,4,5], %c: f32[1,3,5], %d: f32[5]) -> (%y) {
  %m = gemm(%a, %b) : f32[8,3,5]
  %s = add(%m, %c) : f32[8,3,5]
  %t = mul(%s, %d) : f32[8,3,5]
  %p = softmax(%t) {axis=-1} : f32[8,3,5]
  %y = slice(%p) {starts=[1], ends=[3], axes=[0]} : f32[2,3,5]
})");
  std::unique_ptr<Graph> before = g.Clone();
  HoistSlicePass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  const std::string text = PrintGraph(g);
  EXPECT_NE(text.find("slice(%a) {starts=[1], ends=[3], axes=[0]} : f32[2,3,4]"), std::string::npos) << text;
  EXPECT_NE(text.find("slice(%b) {starts=[1], ends=[3], axes=[0]} : f32[2,4,5]"), std::string::npos) << text;
  EXPECT_EQ(CountOps(g, OpKind::kSlice), 2) << "%c and %d broadcast along the axis\n" << text;
  EXPECT_NE(text.find("softmax"), std::string::npos);
  EXPECT_EQ(g.outputs()[0]->name(), "y") << "the graph output keeps its name";
  EXPECT_EQ(g.outputs()[0]->producer()->op(), OpKind::kSoftmax) << text;
  ExpectNumericallyEquivalent(*before, g, 1e-5, 1e-5);
}

TEST(HoistSliceTest, RowSliceOfATransposedAGemm) {
  // trans_a: the output's rows are a's columns.
  Graph g = ParseVerified(R"(graph @g(%a: f32[4,6], %b: f32[4,3]) -> (%y) {
  %m = gemm(%a, %b) {trans_a=true} : f32[6,3]
  %y = slice(%m) {starts=[-2], ends=[6], axes=[0]} : f32[2,3]
})");
  std::unique_ptr<Graph> before = g.Clone();
  HoistSlicePass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  EXPECT_NE(PrintGraph(g).find("slice(%a) {starts=[-2], ends=[6], axes=[1]} : f32[4,2]"), std::string::npos)
      << PrintGraph(g);
  ExpectNumericallyEquivalent(*before, g, 1e-5, 1e-5);
}

TEST(HoistSliceTest, StaysWhereMovingWouldNotPay) {
  // Left alone: a producer also read whole (%e), the normalised axis of a layer_norm, the N axis
  // of a gemm, the softmax axis, a slice keeping more than half the rows, a symbolic extent,
  // a reshape that regroups the sliced axis, and an opaque producer (attention).
  Graph g = ParseVerified(R"(graph @g(%x: f32[8,6], %q: f32[1,8,2,4], %z: f32[N,6]) -> (%s0, %e, %s1, %s2, %s3, %s4, %s5, %s6, %s7) where N in [2, 8] {
  %w = weight "w" : f32[6,6]
  %g1 = weight "g1" : f32[6]
  %e = exp(%x) : f32[8,6]
  %s0 = slice(%e) {starts=[0], ends=[1], axes=[0]} : f32[1,6]
  %n = layer_norm(%x, %g1) : f32[8,6]
  %s1 = slice(%n) {starts=[0], ends=[2], axes=[1]} : f32[8,2]
  %m = gemm(%x, %w) : f32[8,6]
  %s2 = slice(%m) {starts=[0], ends=[1], axes=[1]} : f32[8,1]
  %p = softmax(%x) {axis=0} : f32[8,6]
  %s3 = slice(%p) {starts=[0], ends=[1], axes=[0]} : f32[1,6]
  %t = tanh(%x) : f32[8,6]
  %s4 = slice(%t) {starts=[0], ends=[5], axes=[0]} : f32[5,6]
  %u = relu(%z) : f32[N,6]
  %s5 = slice(%u) {starts=[0], ends=[1], axes=[0]} : f32[1,6]
  %r = reshape(%x) {shape=[4,12]} : f32[4,12]
  %s6 = slice(%r) {starts=[0], ends=[1], axes=[0]} : f32[1,12]
  %a = attention(%q, %q, %q) : f32[1,8,2,4]
  %s7 = slice(%a) {starts=[0], ends=[1], axes=[1]} : f32[1,1,2,4]
})");
  HoistSlicePass pass;
  EXPECT_FALSE(RunPassChecked(pass, g)) << PrintGraph(g);
}

TEST(HoistSliceTest, IdenticalSlicesOfOneValueMoveTogether) {
  // %r is read by two equal slices (as after the last block's residual and layer_norm have
  // moved): both become the one sliced add. A different slice of it keeps it whole.
  Graph g = ParseVerified(R"(graph @g(%x: f32[2,6,4], %y: f32[2,6,4]) -> (%u, %v, %w) {
  %r = add(%x, %y) : f32[2,6,4]
  %s1 = slice(%r) {starts=[2], ends=[3], axes=[1]} : f32[2,1,4]
  %s2 = slice(%r) {starts=[2], ends=[3], axes=[1]} : f32[2,1,4]
  %u = relu(%s1) : f32[2,1,4]
  %v = neg(%s2) : f32[2,1,4]
  %k = sigmoid(%x) : f32[2,6,4]
  %w0 = slice(%k) {starts=[0], ends=[1], axes=[1]} : f32[2,1,4]
  %w1 = slice(%k) {starts=[1], ends=[2], axes=[1]} : f32[2,1,4]
  %w = add(%w0, %w1) : f32[2,1,4]
})");
  std::unique_ptr<Graph> before = g.Clone();
  HoistSlicePass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  const std::string text = PrintGraph(g);
  EXPECT_EQ(SliceRows(g, "r.rows"), 1) << text;
  EXPECT_EQ(g.FindValue("r"), nullptr) << text;
  EXPECT_NE(g.FindValue("k"), nullptr) << "two different slices of %k\n" << text;
  ExpectNumericallyEquivalent(*before, g, 1e-6, 1e-6);
}

}  // namespace
}  // namespace kiln
