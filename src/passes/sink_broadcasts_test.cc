#include "passes/sink_broadcasts.h"

#include <gtest/gtest.h>

#include "ir/printer.h"
#include "passes/pass_test_util.h"

namespace kiln {
namespace {

const Node* Producer(const Graph& g, const std::string& value) {
  const Value* v = g.FindValue(value);
  return v == nullptr ? nullptr : v->producer();
}

TEST(SinkBroadcastsTest, SdpaPaddingMaskReachesTheAttentionAsKeyMask) {
  // transformers' SDPA mask for BERT, as the PyTorch frontend imports it: arange(S) >= 0 (always
  // true) and the key mask, broadcast to [N,1,S,S], then the additive float mask.
  Graph g = ParseVerified(R"(graph @g(%q: f32[N,S,2,4], %k: f32[N,S,2,4], %v: f32[N,S,2,4], %keys: bool[N,S]) -> (%o) where N in [1, 4], S in [1, 8] {
  %ar = constant [0, 1, 2, 3, 4, 5, 6, 7] : i64[8]
  %rows = slice(%ar) {starts=[0], ends=[S], axes=[0]} : i64[S]
  %r4 = reshape(%rows) {shape=[1,1,S,1]} : i64[1,1,S,1]
  %zero = constant [0] : i64[]
  %ge = greater_equal(%r4, %zero) : bool[1,1,S,1]
  %true = constant [1] : bool[]
  %false = constant [0] : bool[]
  %and1 = where(%true, %ge, %false) : bool[1,1,S,1]
  %k4 = reshape(%keys) {shape=[N,1,1,S]} : bool[N,1,1,S]
  %and2 = where(%and1, %k4, %false) : bool[N,1,S,S]
  %zf = constant [0.0] : f32[]
  %minf = constant [-3.4028234663852886e+38] : f32[]
  %mask = where(%and2, %zf, %minf) : f32[N,1,S,S]
  %o = attention(%q, %k, %v, %mask) {scale=0.5} : f32[N,S,2,4]
})");
  std::unique_ptr<Graph> before = g.Clone();
  SinkBroadcastsPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  const std::string text = PrintGraph(g);
  const Node* att = Producer(g, "o");
  ASSERT_NE(att, nullptr) << text;
  const Value* mask = att->input(3);
  EXPECT_EQ(mask->shape(), (Shape{Dim::Symbol("N"), Dim(1), Dim(1), Dim::Symbol("S")})) << text;
  ASSERT_NE(mask->producer(), nullptr) << text;
  EXPECT_EQ(mask->producer()->op(), OpKind::kWhere) << text;
  EXPECT_EQ(mask->producer()->input(0)->name(), "k4") << text;
  ExpectNumericallyEquivalent(*before, g, 1e-6, 1e-6);
}

TEST(SinkBroadcastsTest, ComparisonThatDependsOnTheElementStays) {
  // arange(S) >= 2 differs between rows: the mask stays [N,1,S,S].
  Graph g = ParseVerified(R"(graph @g(%q: f32[N,S,2,4], %keys: bool[N,S]) -> (%o) where N in [1, 4], S in [1, 8] {
  %ar = constant [0, 1, 2, 3, 4, 5, 6, 7] : i64[8]
  %rows = slice(%ar) {starts=[0], ends=[S], axes=[0]} : i64[S]
  %r4 = reshape(%rows) {shape=[1,1,S,1]} : i64[1,1,S,1]
  %two = constant [2] : i64[]
  %ge = greater_equal(%r4, %two) : bool[1,1,S,1]
  %k4 = reshape(%keys) {shape=[N,1,1,S]} : bool[N,1,1,S]
  %false = constant [0] : bool[]
  %and2 = where(%ge, %k4, %false) : bool[N,1,S,S]
  %zf = constant [0.0] : f32[]
  %minf = constant [-3.4028234663852886e+38] : f32[]
  %mask = where(%and2, %zf, %minf) : f32[N,1,S,S]
  %o = attention(%q, %q, %q, %mask) {scale=0.5} : f32[N,S,2,4]
})");
  SinkBroadcastsPass pass;
  EXPECT_FALSE(RunPassChecked(pass, g));
}

TEST(SinkBroadcastsTest, ElementwiseOfExpandsRunsSmallAndBinaryOpsReadTheSmallOperand) {
  // relu(expand(b)) runs on b's 4 elements; the add broadcasts by itself, so it reads the small
  // relu directly. The expand a graph output reads stays, under its name.
  Graph g = ParseVerified(R"(graph @g(%x: f32[N,3,4], %b: f32[1,4]) -> (%y, %e) where N in [1, 4] {
  %e = expand(%b) {shape=[N,3,4]} : f32[N,3,4]
  %r = relu(%e) : f32[N,3,4]
  %y = add(%x, %r) : f32[N,3,4]
})");
  std::unique_ptr<Graph> before = g.Clone();
  SinkBroadcastsPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  const std::string text = PrintGraph(g);
  const Node* add = Producer(g, "y");
  ASSERT_NE(add, nullptr) << text;
  EXPECT_EQ(add->input(1)->shape(), (Shape{Dim(1), Dim(4)})) << text;
  EXPECT_EQ(add->input(1)->producer()->op(), OpKind::kRelu) << text;
  ASSERT_NE(Producer(g, "e"), nullptr) << text;
  EXPECT_EQ(Producer(g, "e")->op(), OpKind::kExpand) << text;
  ExpectNumericallyEquivalent(*before, g, 0, 0);
}

TEST(SinkBroadcastsTest, BinaryOpOfTwoExpandsRunsOnTheirOperands) {
  // Both sides broadcast along axis 1 of [N,3,4]:
  // the add runs at [N,1,4] and is expanded after, rather than reading one side unexpanded.
  Graph g = ParseVerified(R"(graph @g(%a: f32[N,1,4], %b: f32[4]) -> (%y) where N in [1, 4] {
  %ea = expand(%a) {shape=[N,3,4]} : f32[N,3,4]
  %eb = expand(%b) {shape=[N,3,4]} : f32[N,3,4]
  %s = add(%ea, %eb) : f32[N,3,4]
  %y = neg(%s) : f32[N,3,4]
})");
  std::unique_ptr<Graph> before = g.Clone();
  SinkBroadcastsPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  const std::string text = PrintGraph(g);
  const Node* y = Producer(g, "y");
  ASSERT_NE(y, nullptr) << text;
  EXPECT_EQ(y->op(), OpKind::kExpand) << text;  // neg ran small too
  EXPECT_EQ(y->input(0)->shape(), (Shape{Dim::Symbol("N"), Dim(1), Dim(4)})) << text;
  ExpectNumericallyEquivalent(*before, g, 0, 0);
}

TEST(SinkBroadcastsTest, WhereWithAConstantConditionPicksAnOperand) {
  // where(false, x, y) is y, expanded to the result's shape; a graph output keeps its name.
  Graph g = ParseVerified(R"(graph @g(%x: f32[N,4], %y: f32[4]) -> (%w) where N in [1, 4] {
  %false = constant [0] : bool[]
  %w = where(%false, %x, %y) : f32[N,4]
})");
  std::unique_ptr<Graph> before = g.Clone();
  SinkBroadcastsPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  const std::string text = PrintGraph(g);
  ASSERT_NE(Producer(g, "w"), nullptr) << text;
  EXPECT_EQ(Producer(g, "w")->op(), OpKind::kExpand) << text;
  EXPECT_EQ(Producer(g, "w")->input(0)->name(), "y") << text;
  ExpectNumericallyEquivalent(*before, g, 0, 0);
}

}  // namespace
}  // namespace kiln
