#include "passes/dce.h"

#include <gtest/gtest.h>

#include "ir/builder.h"
#include "passes/pass_test_util.h"

namespace kiln {
namespace {

TEST(DcePassTest, RemovesDeadChainsAndKeepsLiveOnes) {
  Graph g = ParseVerified(R"(
graph @g(%x: f32[N,4], %unused: f32[2]) -> (%y) where N in [1, 8] {
  %w = weight "dead.weight" : f32[4]
  %dead1 = exp(%x) : f32[N,4]
  %dead2 = add(%dead1, %w) : f32[N,4]
  %h = neg(%x) : f32[N,4]
  %y = relu(%h) : f32[N,4]
  %dead3 = sigmoid(%y) : f32[N,4]
}
)");
  std::unique_ptr<Graph> before = g.Clone();
  DcePass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  // Unused graph inputs stay: they are the compiled library's interface.
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[N,4], %unused: f32[2]) -> (%y) where N in [1, 8] {\n"
            "  %h = neg(%x) : f32[N,4]\n"
            "  %y = relu(%h) : f32[N,4]\n"
            "}\n");
  ExpectNumericallyEquivalent(*before, g, 0.0, 0.0);
}

TEST(DcePassTest, KeepsMultiResultNodeWhenOneResultIsUsed) {
  Builder b("split");
  Value* x = b.Input("x", DType::kF32, {6});
  std::vector<Value*> parts = b.Split(x, {2, 4}, 0);
  Value* dead = b.Exp(parts[1]);
  (void)dead;
  b.Output(b.Neg(parts[0]), "y");
  StatusOr<Graph> g = b.Finish();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  std::unique_ptr<Graph> before = g->Clone();
  DcePass pass;
  EXPECT_TRUE(RunPassChecked(pass, *g));
  ASSERT_EQ(g->nodes().size(), 2u);
  EXPECT_EQ(g->nodes()[0]->op(), OpKind::kSplit);
  EXPECT_EQ(g->nodes()[1]->op(), OpKind::kNeg);
  ExpectNumericallyEquivalent(*before, *g, 0.0, 0.0);
}

TEST(DcePassTest, NoDeadCodeReturnsFalse) {
  Graph g = ParseVerified(R"(
graph @g(%x: f32[3]) -> (%y, %h) {
  %h = neg(%x) : f32[3]
  %y = relu(%h) : f32[3]
}
)");
  DcePass pass;
  EXPECT_FALSE(RunPassChecked(pass, g));
  EXPECT_EQ(g.nodes().size(), 2u);
}

}  // namespace
}  // namespace kiln
