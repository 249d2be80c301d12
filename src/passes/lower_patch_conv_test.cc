#include "passes/lower_patch_conv.h"

#include <gtest/gtest.h>

#include "ir/printer.h"
#include "passes/pass_test_util.h"

namespace kiln {
namespace {

TEST(LowerPatchConvTest, NchwPatchEmbeddingBecomesACopyAndAGemm) {
  // ViT's patch embedding in miniature: 3 channels, 4x4 patches of an 8x12 image, bias; the
  // model then flattens the patches to tokens.
  Graph g = ParseVerified(R"(graph @vit(%x: f32[N,3,8,12]) -> (%t) where N in [1, 3] {
  %w = weight "proj.weight" : f32[16,3,4,4]
  %b = weight "proj.bias" : f32[16]
  %y = conv2d(%x, %w) {stride=[4,4], epilogue=[bias(%b)]} : f32[N,16,2,3]
  %f = reshape(%y) {shape=[N,16,6]} : f32[N,16,6]
  %t = transpose(%f) {perm=[0,2,1]} : f32[N,6,16]
})");
  std::unique_ptr<Graph> before = g.Clone();
  LowerPatchConvPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  const std::string text = PrintGraph(g);
  EXPECT_EQ(CountOps(g, OpKind::kConv2d), 0) << text;
  EXPECT_NE(text.find("transpose(%y.patches) {perm=[0,2,4,1,3,5]} : f32[N,2,3,3,4,4]"),
            std::string::npos) << text;
  EXPECT_NE(text.find("reshape(%w) {shape=[16,48]} : f32[16,48]"), std::string::npos) << text;
  EXPECT_NE(text.find("gemm(%y.patch_rows, %w.rows) {trans_b=true, epilogue=[bias(%b)]} : f32[N,6,16]"),
            std::string::npos) << text;
  EXPECT_NE(text.find("= transpose(%y.nhwc) {perm=[0,3,1,2]} : f32[N,16,2,3]"),
            std::string::npos) << text;
  ExpectNumericallyEquivalent(*before, g, 1e-5, 1e-5);
}

TEST(LowerPatchConvTest, NhwcAndActivationEpilogue) {
  Graph g = ParseVerified(R"(graph @g(%x: f16[2,6,4,8]) -> (%y) {
  %w = weight "w" : f16[8,2,2,8]
  %y = conv2d(%x, %w) {stride=[2,2], layout=nhwc, epilogue=[relu]} : f16[2,3,2,8]
})");
  std::unique_ptr<Graph> before = g.Clone();
  LowerPatchConvPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  const std::string text = PrintGraph(g);
  EXPECT_NE(text.find("{perm=[0,1,3,2,4,5]} : f16[2,3,2,2,2,8]"), std::string::npos) << text;
  EXPECT_NE(text.find("{trans_b=true, epilogue=[relu]} : f16[2,6,8]"), std::string::npos) << text;
  EXPECT_EQ(CountOps(g, OpKind::kTranspose), 1) << "nhwc: no transpose of the result\n" << text;
  ExpectNumericallyEquivalent(*before, g, 1e-2, 1e-2);
}

TEST(LowerPatchConvTest, LeavesOtherConvsAlone) {
  // Overlapping windows, padding, dilation, groups, a 1x1 conv, a residual epilogue, a size the
  // kernel does not divide.
  Graph g = ParseVerified(R"(graph @g(%x: f32[1,4,8,8], %r: f32[1,4,4,4], %z: f32[1,4,9,9]) -> (%a, %b, %c, %d, %e, %f, %h) {
  %w = weight "w" : f32[4,4,2,2]
  %w1 = weight "w1" : f32[4,4,1,1]
  %wg = weight "wg" : f32[4,2,2,2]
  %a = conv2d(%x, %w) {stride=[1,1]} : f32[1,4,7,7]
  %b = conv2d(%x, %w) {stride=[2,2], pad=[1,1,1,1]} : f32[1,4,5,5]
  %c = conv2d(%x, %w) {stride=[2,2], dilation=[2,2]} : f32[1,4,3,3]
  %d = conv2d(%x, %wg) {stride=[2,2], groups=2} : f32[1,4,4,4]
  %e = conv2d(%x, %w1) : f32[1,4,8,8]
  %f = conv2d(%x, %w) {stride=[2,2], epilogue=[add(%r)]} : f32[1,4,4,4]
  %h = conv2d(%z, %w) {stride=[2,2]} : f32[1,4,4,4]
})");
  LowerPatchConvPass pass;
  EXPECT_FALSE(RunPassChecked(pass, g));
}

// A patch conv with a max pool after it: the gemm would not pool.
TEST(LowerPatchConvTest, LeavesConvsWithMaxPoolAlone) {
  Graph g = ParseVerified(R"(graph @g(%x: f16[1,16,16,4]) -> (%y) {
  %w = weight "w" : f16[8,4,4,4]
  %y = conv2d(%x, %w) {stride=[4,4], layout=nhwc, max_pool=[2,2,2,2,0,0,0,0]} : f16[1,2,2,8]
})");
  ExpectNoChange<LowerPatchConvPass>(g);
}

}  // namespace
}  // namespace kiln
