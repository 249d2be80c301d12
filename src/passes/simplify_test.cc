#include "passes/simplify.h"

#include <gtest/gtest.h>

#include "passes/pass_test_util.h"

namespace kiln {
namespace {

TEST(SimplifyPassTest, RemovesNeutralArithmeticAndSameTypeCasts) {
  Graph g = ParseVerified(R"(
graph @g(%x: f32[N,3]) -> (%y) where N in [1, 8] {
  %one = constant [1.0] : f32[]
  %zero = constant [0.0, 0.0, 0.0] : f32[3]
  %a = mul(%x, %one) : f32[N,3]
  %b = mul(%one, %a) : f32[N,3]
  %c = add(%b, %zero) : f32[N,3]
  %d = add(%zero, %c) : f32[N,3]
  %e = sub(%d, %zero) : f32[N,3]
  %f = div(%e, %one) : f32[N,3]
  %g = cast(%f) {to=f32} : f32[N,3]
  %y = exp(%g) : f32[N,3]
}
)");
  std::unique_ptr<Graph> before = g.Clone();
  SimplifyPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[N,3]) -> (%y) where N in [1, 8] {\n"
            "  %one = constant [1.0] : f32[]\n"
            "  %zero = constant [0.0, 0.0, 0.0] : f32[3]\n"
            "  %y = exp(%x) : f32[N,3]\n"
            "}\n");
  ExpectNumericallyEquivalent(*before, g, 0.0, 0.0);
}

TEST(SimplifyPassTest, KeepsOpsThatAreNotIdentities) {
  // 0-x, 1/x, x*2, a broadcasting x+0 (changes the shape), a mixed constant, a real cast, and
  // x*1 where x is a graph input and the result a graph output (the output name must stay).
  Graph g = ParseVerified(R"(
graph @g(%x: f32[3], %h: f16[3]) -> (%a, %b, %c, %d, %e, %f, %i) {
  %zero = constant [0.0] : f32[]
  %one = constant [1.0] : f32[]
  %two = constant [2.0] : f32[]
  %zeros = constant [0.0] : f32[2,3]
  %mixed = constant [1.0, 1.0, 0.0] : f32[3]
  %a = sub(%zero, %x) : f32[3]
  %b = div(%one, %x) : f32[3]
  %c = mul(%x, %two) : f32[3]
  %d = add(%x, %zeros) : f32[2,3]
  %e = mul(%x, %mixed) : f32[3]
  %f = cast(%h) {to=f32} : f32[3]
  %i = mul(%x, %one) : f32[3]
}
)");
  SimplifyPass pass;
  EXPECT_FALSE(RunPassChecked(pass, g));
}

TEST(SimplifyPassTest, MergesReshapesAndDropsIdentityOnes) {
  Graph g = ParseVerified(R"(
graph @g(%x: f32[N,6]) -> (%y, %z) where N in [1, 8] {
  %r1 = reshape(%x) {shape=[N,2,3]} : f32[N,2,3]
  %r2 = reshape(%r1) {shape=[N*3,2]} : f32[N*3,2]
  %y = reshape(%r2) {shape=[N*6]} : f32[N*6]
  %same = reshape(%x) {shape=[N,6]} : f32[N,6]
  %back1 = reshape(%x) {shape=[N,3,2]} : f32[N,3,2]
  %back2 = reshape(%back1) {shape=[N,6]} : f32[N,6]
  %z = add(%same, %back2) : f32[N,6]
}
)");
  std::unique_ptr<Graph> before = g.Clone();
  SimplifyPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[N,6]) -> (%y, %z) where N in [1, 8] {\n"
            "  %r1 = reshape(%x) {shape=[N,2,3]} : f32[N,2,3]\n"
            "  %r2 = reshape(%x) {shape=[N*3,2]} : f32[N*3,2]\n"
            "  %y = reshape(%x) {shape=[N*6]} : f32[N*6]\n"
            "  %back1 = reshape(%x) {shape=[N,3,2]} : f32[N,3,2]\n"
            "  %z = add(%x, %x) : f32[N,6]\n"
            "}\n");
  ExpectNumericallyEquivalent(*before, g, 0.0, 0.0);
}

TEST(SimplifyPassTest, ComposesTransposes) {
  Graph g = ParseVerified(R"(
graph @g(%x: f32[2,3,4]) -> (%y, %z) {
  %t1 = transpose(%x) {perm=[1,2,0]} : f32[3,4,2]
  %y = transpose(%t1) {perm=[0,2,1]} : f32[3,2,4]
  %u = transpose(%x) {perm=[2,0,1]} : f32[4,2,3]
  %v = transpose(%u) {perm=[1,2,0]} : f32[2,3,4]
  %z = neg(%v) : f32[2,3,4]
}
)");
  std::unique_ptr<Graph> before = g.Clone();
  SimplifyPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  // [1,2,0] then [0,2,1]: out j reads x dim p[q[j]] = [1,0,2]. [2,0,1] then [1,2,0]: identity.
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[2,3,4]) -> (%y, %z) {\n"
            "  %t1 = transpose(%x) {perm=[1,2,0]} : f32[3,4,2]\n"
            "  %y = transpose(%x) {perm=[1,0,2]} : f32[3,2,4]\n"
            "  %u = transpose(%x) {perm=[2,0,1]} : f32[4,2,3]\n"
            "  %z = neg(%x) : f32[2,3,4]\n"
            "}\n");
  ExpectNumericallyEquivalent(*before, g, 0.0, 0.0);
}

TEST(SimplifyPassTest, IdentityFeedingGraphOutputRenamesOperand) {
  Graph g = ParseVerified(R"(
graph @g(%x: i32[4]) -> (%y) {
  %h = neg(%x) : i32[4]
  %one = constant [1] : i32[4]
  %y = mul(%h, %one) : i32[4]
}
)");
  std::unique_ptr<Graph> before = g.Clone();
  SimplifyPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: i32[4]) -> (%y) {\n"
            "  %y = neg(%x) : i32[4]\n"
            "  %one = constant [1] : i32[4]\n"
            "}\n");
  ExpectNumericallyEquivalent(*before, g, 0.0, 0.0);
}

}  // namespace
}  // namespace kiln
