#include "passes/pad_conv_channels.h"

#include <gtest/gtest.h>

#include <random>

#include "ir/printer.h"
#include "passes/pass_test_util.h"

namespace kiln {
namespace {

// A ResNet-style stem: 3 input channels, 7x7 stride 2, a bias epilogue; plus a 3x3 conv with 16
// input channels, which needs no padding.
constexpr const char* kStem = R"(graph @stem(%x: f16[N,12,12,3]) -> (%y, %z) where N in [1, 4] {
  %w = weight "stem.weight" : f16[8,7,7,3]
  %b = weight "stem.bias" : f16[8]
  %y = conv2d(%x, %w) {stride=[2,2], pad=[3,3,3,3], layout=nhwc, epilogue=[bias(%b), relu]} : f16[N,6,6,8]
  %w2 = weight "c2.weight" : f16[16,3,3,8]
  %z = conv2d(%y, %w2) {pad=[1,1,1,1], layout=nhwc} : f16[N,6,6,16]
})";

TEST(PadConvChannelsTest, PadsWeightsWithDataAtCompileTime) {
  Graph g = ParseVerified(kStem);
  std::mt19937 rng(3);
  auto weights = std::make_shared<TensorMap>();
  for (const auto& [name, shape] : std::vector<std::pair<std::string, std::vector<int64_t>>>{
           {"stem.weight", {8, 7, 7, 3}}, {"stem.bias", {8}}, {"c2.weight", {16, 3, 3, 8}}}) {
    Tensor t(DType::kF16, shape);
    FillRandom(t, rng);
    weights->emplace(name, t);
  }
  g.set_weights(weights);
  std::unique_ptr<Graph> before = g.Clone();
  PadConvChannelsPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  const std::string text = PrintGraph(g);
  // x gets 1 zero channel (4: the fixed-channels kernel's access); the weight is a new, padded
  // weight; the second conv is untouched.
  EXPECT_NE(text.find("pad(%x) {pads=[0,0,0,0,0,0,0,1]} : f16[N,12,12,4]"), std::string::npos)
      << text;
  EXPECT_NE(text.find("weight \"stem.weight.padded_channels\" : f16[8,7,7,4]"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("\"stem.weight\""), std::string::npos) << "the unpadded weight is dead:\n"
                                                             << text;
  EXPECT_EQ(CountOps(g, OpKind::kPad), 1) << text;
  const Tensor& padded = g.weights()->at("stem.weight.padded_channels");
  const Tensor& original = g.weights()->at("stem.weight");
  EXPECT_EQ(padded.ToF64()[4 * 10 + 2], original.ToF64()[3 * 10 + 2]);  // tap 10, channel 2
  EXPECT_EQ(padded.ToF64()[4 * 10 + 3], 0.0);                           // tap 10, channel 3: new
  // The extra channels add exact zeros: the same values (up to f16 rounding of the sums).
  ExpectNumericallyEquivalent(*before, g, 1e-3, 1e-3);
}

TEST(PadConvChannelsTest, PadsWeightsWithoutDataAtRunTime) {
  Graph g = ParseVerified(kStem);
  std::unique_ptr<Graph> before = g.Clone();
  PadConvChannelsPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  EXPECT_EQ(CountOps(g, OpKind::kPad), 2) << PrintGraph(g);  // x and the weight
  ExpectNumericallyEquivalent(*before, g, 1e-3, 1e-3);
}

TEST(PadConvChannelsTest, PadsTo8WhereNotFewChannelsOr1x1) {
  // 5 channels (more than 4) and a 1x1 conv of 3 channels (a gemm, whose rows move 16 bytes) get 8.
  Graph g = ParseVerified(
      R"(graph @g(%a: f16[N,6,6,5], %b: f16[N,6,6,3]) -> (%ya, %yb) where N in [1, 2] {
  %wa = weight "wa" : f16[8,3,3,5]
  %ya = conv2d(%a, %wa) {pad=[1,1,1,1], layout=nhwc} : f16[N,6,6,8]
  %wb = weight "wb" : f16[16,1,1,3]
  %yb = conv2d(%b, %wb) {layout=nhwc} : f16[N,6,6,16]
})");
  std::unique_ptr<Graph> before = g.Clone();
  PadConvChannelsPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  const std::string text = PrintGraph(g);
  EXPECT_NE(text.find("pad(%a) {pads=[0,0,0,0,0,0,0,3]} : f16[N,6,6,8]"), std::string::npos)
      << text;
  EXPECT_NE(text.find("pad(%b) {pads=[0,0,0,0,0,0,0,5]} : f16[N,6,6,8]"), std::string::npos)
      << text;
  ExpectNumericallyEquivalent(*before, g, 1e-3, 1e-3);
}

TEST(PadConvChannelsTest, PadsAnNchwImageBeforeItsTransposeToNhwc) {
  // The image's transpose feeds only the stem: the zero channel is appended in NCHW (whole
  // planes) and the transpose moves 4 channels. The second transpose has another reader, so its
  // conv's pad stays after it.
  Graph g = ParseVerified(
      R"(graph @g(%x: f16[N,3,12,12], %u: f16[N,3,6,6]) -> (%y, %z, %ut) where N in [1, 2] {
  %xt = transpose(%x) {perm=[0,2,3,1]} : f16[N,12,12,3]
  %w = weight "w" : f16[8,7,7,3]
  %y = conv2d(%xt, %w) {stride=[2,2], pad=[3,3,3,3], layout=nhwc} : f16[N,6,6,8]
  %ut = transpose(%u) {perm=[0,2,3,1]} : f16[N,6,6,3]
  %w2 = weight "w2" : f16[8,3,3,3]
  %z = conv2d(%ut, %w2) {pad=[1,1,1,1], layout=nhwc} : f16[N,6,6,8]
})");
  std::unique_ptr<Graph> before = g.Clone();
  PadConvChannelsPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  const std::string text = PrintGraph(g);
  EXPECT_NE(text.find("pad(%x) {pads=[0,0,0,0,0,1,0,0]} : f16[N,4,12,12]"), std::string::npos)
      << text;
  EXPECT_NE(text.find("{perm=[0,2,3,1]} : f16[N,12,12,4]"), std::string::npos) << text;
  EXPECT_EQ(text.find("%xt ="), std::string::npos) << "the unpadded transpose is dead:\n" << text;
  EXPECT_NE(text.find("pad(%ut) {pads=[0,0,0,0,0,0,0,1]} : f16[N,6,6,4]"), std::string::npos)
      << text;
  EXPECT_EQ(CountOps(g, OpKind::kTranspose), 2) << text;
  ExpectNumericallyEquivalent(*before, g, 1e-3, 1e-3);
}

TEST(PadConvChannelsTest, LeavesOtherConvsAlone) {
  // f32, nchw, grouped, aligned channels, and output channels that are not a multiple of 8; a conv
  // of 4 channels is what the fixed-channels kernel takes.
  Graph g = ParseVerified(
      R"(graph @g(%a: f32[1,5,5,3], %b: f16[1,3,5,5], %c: f16[1,5,5,6], %d: f16[1,5,5,16], %e: f16[1,5,5,3], %f: f16[1,5,5,4]) -> (%ya, %yb, %yc, %yd, %ye, %yf) {
  %wa = weight "wa" : f32[8,1,1,3]
  %ya = conv2d(%a, %wa) {layout=nhwc} : f32[1,5,5,8]
  %wb = weight "wb" : f16[8,3,1,1]
  %yb = conv2d(%b, %wb) : f16[1,8,5,5]
  %wc = weight "wc" : f16[8,1,1,3]
  %yc = conv2d(%c, %wc) {groups=2, layout=nhwc} : f16[1,5,5,8]
  %wd = weight "wd" : f16[8,1,1,16]
  %yd = conv2d(%d, %wd) {layout=nhwc} : f16[1,5,5,8]
  %we = weight "we" : f16[6,1,1,3]
  %ye = conv2d(%e, %we) {layout=nhwc} : f16[1,5,5,6]
  %wf = weight "wf" : f16[8,3,3,4]
  %yf = conv2d(%f, %wf) {pad=[1,1,1,1], layout=nhwc} : f16[1,5,5,8]
})");
  PadConvChannelsPass pass;
  EXPECT_FALSE(RunPassChecked(pass, g));
}

}  // namespace
}  // namespace kiln
