#include "passes/constants_to_weights.h"

#include <gtest/gtest.h>

#include "ir/printer.h"
#include "passes/pass_test_util.h"

namespace kiln {
namespace {

TEST(ConstantsToWeightsTest, MovesTopLevelConstantsIntoTheWeights) {
  Graph g = ParseVerified(R"(graph @g(%x: f32[2,3], %i: i64[3]) -> (%y, %z, %k) {
  %half = constant [0.5] : f32[]
  %y = add(%x, %half) : f32[2,3]
  %z = mul(%x, %half) : f32[2,3]
  %k = constant [1, 2, 3] : i64[3]
})");
  std::unique_ptr<Graph> before = g.Clone();
  ConstantsToWeightsPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  const std::string text = PrintGraph(g);
  EXPECT_EQ(CountOps(g, OpKind::kConstant), 0) << text;
  EXPECT_NE(text.find("weight \"kiln.constant.half\" : f32[]"), std::string::npos) << text;
  EXPECT_NE(text.find("%k = weight \"kiln.constant.k\" : i64[3]"), std::string::npos)
      << "a constant graph output keeps its name:\n" << text;
  ASSERT_NE(g.weights(), nullptr);
  EXPECT_EQ(g.weights()->at("kiln.constant.half").ToF64(), std::vector<double>{0.5});
  EXPECT_EQ(g.weights()->at("kiln.constant.k").ToF64(), (std::vector<double>{1, 2, 3}));
  ExpectNumericallyEquivalent(*before, g, 0, 0);
}

TEST(ConstantsToWeightsTest, LeavesGraphsWithoutConstantsAlone) {
  Graph g = ParseVerified(R"(graph @g(%x: f32[2]) -> (%y) {
  %y = relu(%x) : f32[2]
})");
  ConstantsToWeightsPass pass;
  EXPECT_FALSE(RunPassChecked(pass, g));
}

}  // namespace
}  // namespace kiln
