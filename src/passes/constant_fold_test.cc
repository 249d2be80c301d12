#include "passes/constant_fold.h"

#include <gtest/gtest.h>

#include "ir/builder.h"
#include "passes/pass_test_util.h"

namespace kiln {
namespace {

TEST(ConstantFoldPassTest, FoldsChainsAndKeepsNames) {
  Graph g = ParseVerified(R"(
graph @g(%x: f32[N,3]) -> (%y) where N in [1, 8] {
  %a = constant [1.0, 2.0, 3.0] : f32[3]
  %b = constant [0.5] : f32[3]
  %s = add(%a, %b) : f32[3]
  %t = mul(%s, %s) : f32[3]
  %u = reshape(%t) {shape=[1,3]} : f32[1,3]
  %y = mul(%x, %u) : f32[N,3]
}
)");
  std::unique_ptr<Graph> before = g.Clone();
  ConstantFoldPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  // s = [1.5, 2.5, 3.5]; t = s*s = [2.25, 6.25, 12.25]; u is t reshaped. The operands are left
  // for DCE.
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[N,3]) -> (%y) where N in [1, 8] {\n"
            "  %a = constant [1.0, 2.0, 3.0] : f32[3]\n"
            "  %b = constant [0.5] : f32[3]\n"
            "  %s = constant [1.5, 2.5, 3.5] : f32[3]\n"
            "  %t = constant [2.25, 6.25, 12.25] : f32[3]\n"
            "  %u = constant [2.25, 6.25, 12.25] : f32[1,3]\n"
            "  %y = mul(%x, %u) : f32[N,3]\n"
            "}\n");
  ExpectNumericallyEquivalent(*before, g, 0.0, 0.0);
}

TEST(ConstantFoldPassTest, FoldsIntegersMultiResultsAndGraphOutputs) {
  Graph g = ParseVerified(R"(
graph @g() -> (%p0, %q) {
  %a = constant [7, -3, 4, 10] : i64[4]
  %p0, %p1 = split(%a) {axis=0, sizes=[1,3]} : i64[1], i64[3]
  %q = reduce_sum(%p1) : i64[]
}
)");
  ConstantFoldPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  EXPECT_EQ(PrintGraph(g),
            "graph @g() -> (%p0, %q) {\n"
            "  %a = constant [7, -3, 4, 10] : i64[4]\n"
            "  %p0 = constant [7] : i64[1]\n"
            "  %p1 = constant [-3, 4, 10] : i64[3]\n"
            "  %q = constant [11] : i64[]\n"
            "}\n");
}

TEST(ConstantFoldPassTest, WeightsLargeResultsAndSymbolicShapesStay) {
  Builder b("g");
  Value* x = b.Input("x", DType::kF32, {b.Sym("N", 1, 4), 2});
  Value* w = b.Weight("w", DType::kF32, {2});
  Value* one = b.Constant(DType::kF32, {2}, {1.0});
  Value* big = b.Constant(DType::kF32, {64, 65}, {0.25});  // 4160 > 4096 elements
  b.Output(b.Add(w, one), "from_weight");
  b.Output(b.Exp(big), "too_big");
  b.Output(b.Add(x, one), "from_input");
  StatusOr<Graph> g = b.Finish();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ConstantFoldPass pass;
  EXPECT_FALSE(RunPassChecked(pass, *g));
}

TEST(ConstantFoldPassTest, LimitIsInclusive) {
  Builder b("g");
  Value* c = b.Constant(DType::kF32, {64, 64}, {0.0});  // exactly 4096 elements
  b.Output(b.Exp(c), "y");
  StatusOr<Graph> g = b.Finish();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ConstantFoldPass pass;
  EXPECT_TRUE(RunPassChecked(pass, *g));
  const Node& y = *g->nodes().back();
  EXPECT_EQ(y.op(), OpKind::kConstant);
  // exp(0) = 1 everywhere: written as a single fill value.
  EXPECT_EQ(y.GetFloats("value"), std::vector<double>{1.0});
  EXPECT_EQ(y.output()->name(), "y");
}

}  // namespace
}  // namespace kiln
