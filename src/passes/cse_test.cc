#include "passes/cse.h"

#include <gtest/gtest.h>

#include "passes/pass_test_util.h"

namespace kiln {
namespace {

TEST(CsePassTest, MergesDuplicatesIncludingWeightsAndConstants) {
  Graph g = ParseVerified(R"(
graph @g(%x: f32[N,4]) -> (%y) where N in [1, 8] {
  %w1 = weight "fc.weight" : f32[4]
  %w2 = weight "fc.weight" : f32[4]
  %c1 = constant [0.5, 1.0, 2.0, 3.0] : f32[4]
  %c2 = constant [0.5, 1.0, 2.0, 3.0] : f32[4]
  %a1 = mul(%x, %w1) : f32[N,4]
  %a2 = mul(%x, %w2) : f32[N,4]
  %b1 = add(%a1, %c1) : f32[N,4]
  %b2 = add(%a2, %c2) : f32[N,4]
  %y = sub(%b1, %b2) : f32[N,4]
}
)");
  std::unique_ptr<Graph> before = g.Clone();
  CsePass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  // One forward walk: merging %w2 makes %a2 a duplicate, which makes %b2 one.
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[N,4]) -> (%y) where N in [1, 8] {\n"
            "  %w1 = weight \"fc.weight\" : f32[4]\n"
            "  %c1 = constant [0.5, 1.0, 2.0, 3.0] : f32[4]\n"
            "  %a1 = mul(%x, %w1) : f32[N,4]\n"
            "  %b1 = add(%a1, %c1) : f32[N,4]\n"
            "  %y = sub(%b1, %b1) : f32[N,4]\n"
            "}\n");
  ExpectNumericallyEquivalent(*before, g, 0.0, 0.0);
}

TEST(CsePassTest, DifferentAttrsOperandOrderOrValuesAreKept) {
  Graph g = ParseVerified(R"(
graph @g(%x: f32[2,3], %z: f32[2,3]) -> (%s1, %s2, %t1, %t2, %c1, %c2, %d1, %d2) {
  %s1 = softmax(%x) {axis=0} : f32[2,3]
  %s2 = softmax(%x) : f32[2,3]
  %t1 = sub(%x, %z) : f32[2,3]
  %t2 = sub(%z, %x) : f32[2,3]
  %c1 = constant [1.0] : f32[3]
  %c2 = constant [2.0] : f32[3]
  %d1 = weight "a" : f32[3]
  %d2 = weight "b" : f32[3]
}
)");
  CsePass pass;
  EXPECT_FALSE(RunPassChecked(pass, g));
  EXPECT_EQ(g.nodes().size(), 8u);
}

TEST(CsePassTest, GraphOutputKeepsItsName) {
  Graph g = ParseVerified(R"(
graph @g(%x: f32[3]) -> (%out) {
  %e = exp(%x) : f32[3]
  %out = exp(%x) : f32[3]
  %n = neg(%e) : f32[3]
}
)");
  CsePass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  // %out merged into %e, which takes over the output's name.
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[3]) -> (%out) {\n"
            "  %out = exp(%x) : f32[3]\n"
            "  %n = neg(%out) : f32[3]\n"
            "}\n");
}

TEST(CsePassTest, TwoGraphOutputsAreNotMerged) {
  Graph g = ParseVerified(R"(
graph @g(%x: f32[3]) -> (%a, %b) {
  %a = exp(%x) : f32[3]
  %b = exp(%x) : f32[3]
}
)");
  CsePass pass;
  EXPECT_FALSE(RunPassChecked(pass, g));
}

TEST(CsePassTest, FusionNodesMergeOnlyWithEqualBodies) {
  Graph g = ParseVerified(R"(
graph @g(%x: f32[4]) -> (%y) {
  %f1 = fusion(%x) {body=graph @f(%p: f32[4]) -> (%q) { %q = relu(%p) : f32[4] }} : f32[4]
  %f2 = fusion(%x) {body=graph @f(%p: f32[4]) -> (%q) { %q = relu(%p) : f32[4] }} : f32[4]
  %f3 = fusion(%x) {body=graph @f(%p: f32[4]) -> (%q) { %q = tanh(%p) : f32[4] }} : f32[4]
  %s = add(%f1, %f2) : f32[4]
  %y = add(%s, %f3) : f32[4]
}
)");
  std::unique_ptr<Graph> before = g.Clone();
  CsePass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  ASSERT_EQ(g.nodes().size(), 4u);
  EXPECT_EQ(PrintNode(*g.nodes()[2]), "%s = add(%f1, %f1) : f32[4]");
  EXPECT_EQ(g.nodes()[1]->output()->name(), "f3");
  ExpectNumericallyEquivalent(*before, g, 0.0, 0.0);
}

}  // namespace
}  // namespace kiln
