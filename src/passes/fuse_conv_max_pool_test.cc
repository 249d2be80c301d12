#include "passes/fuse_conv_max_pool.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "ir/printer.h"
#include "passes/pass_test_util.h"

namespace kiln {
namespace {

// ResNet-50's stem after canonicalize-layout, pad-conv-channels and fuse-epilogue: the NHWC
// 4-channel 7x7 stride-2 conv with its folded batch norm as bias and relu, then the 3x3 stride-2
// max pool.
constexpr const char* kStem = R"(graph @stem(%x: f16[N,224,224,4]) -> (%y) where N in [1, 8] {
  %w = weight "stem.weight" : f16[64,7,7,4]
  %b = weight "stem.bias" : f16[64]
  %c = conv2d(%x, %w) {stride=[2,2], pad=[3,3,3,3], layout=nhwc, epilogue=[bias(%b), relu]} : f16[N,112,112,64]
  %y = max_pool2d(%c) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f16[N,56,56,64]
})";

TEST(FuseConvMaxPoolTest, FusesTheResNetStem) {
  Graph g = ParseVerified(kStem);
  FuseConvMaxPoolPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  EXPECT_EQ(PrintGraph(g),
            "graph @stem(%x: f16[N,224,224,4]) -> (%y) where N in [1, 8] {\n"
            "  %w = weight \"stem.weight\" : f16[64,7,7,4]\n"
            "  %b = weight \"stem.bias\" : f16[64]\n"
            "  %y = conv2d(%x, %w) {stride=[2,2], pad=[3,3,3,3], layout=nhwc, epilogue=[bias(%b), "
            "relu], max_pool=[3,3,2,2,1,1,1,1]} : f16[N,56,56,64]\n"
            "}\n");
  // The fused conv keeps the conv's source line (errors name it).
  const Node* conv = g.FindValue("y")->producer();
  EXPECT_EQ(conv->line(), 4);
  // Nothing left to fuse.
  EXPECT_FALSE(RunPassChecked(pass, g));
}

// The stem's pattern at odd sizes small enough for the interpreter: the conv gives 19x23, the
// pool's windows hang over the padding on every side; N is bound to 2 by the test inputs.
TEST(FuseConvMaxPoolTest, FusedStemComputesTheSameValues) {
  Graph g = ParseVerified(R"(graph @stem(%x: f16[N,37,45,4]) -> (%y) where N in [1, 2] {
  %w = weight "stem.weight" : f16[16,7,7,4]
  %b = weight "stem.bias" : f16[16]
  %c = conv2d(%x, %w) {stride=[2,2], pad=[3,3,3,3], layout=nhwc, epilogue=[bias(%b), relu]} : f16[N,19,23,16]
  %y = max_pool2d(%c) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f16[N,10,12,16]
})");
  std::unique_ptr<Graph> before = g.Clone();
  FuseConvMaxPoolPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  EXPECT_EQ(CountOps(g, OpKind::kMaxPool2d), 0) << PrintGraph(g);
  // Exact: max commutes with the rounding of the conv's f32 result to f16.
  ExpectNumericallyEquivalent(*before, g, 0.0, 0.0);
}

// bf16, 8 channels, relu only, a non-square kernel and pool with asymmetric pads; the pool's
// result is a graph output, and a second stem in the same graph fuses too.
TEST(FuseConvMaxPoolTest, AsymmetricPoolBf16AndTwoStems) {
  Graph g = ParseVerified(R"(graph @g(%x: bf16[2,17,20,8], %x2: f16[1,11,13,4]) -> (%y, %z) {
  %w = weight "w" : bf16[8,3,5,8]
  %c = conv2d(%x, %w) {stride=[1,2], pad=[1,2,0,1], layout=nhwc, epilogue=[relu]} : bf16[2,16,10,8]
  %y = max_pool2d(%c) {kernel=[2,3], stride=[1,2], pad=[0,1,1,2], layout=nhwc} : bf16[2,16,6,8]
  %w2 = weight "w2" : f16[24,3,3,4]
  %c2 = conv2d(%x2, %w2) {stride=[4,4], layout=nhwc} : f16[1,3,3,24]
  %z = max_pool2d(%c2) {kernel=[5,5], stride=[5,5], pad=[2,2,2,2], layout=nhwc} : f16[1,1,1,24]
})");
  std::unique_ptr<Graph> before = g.Clone();
  FuseConvMaxPoolPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  const std::string text = PrintGraph(g);
  EXPECT_NE(text.find("%y = conv2d(%x, %w) {stride=[1,2], pad=[1,2,0,1], layout=nhwc, "
                      "epilogue=[relu], max_pool=[2,3,1,2,0,1,1,2]} : bf16[2,16,6,8]"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("%z = conv2d(%x2, %w2) {stride=[4,4], layout=nhwc, "
                      "max_pool=[5,5,5,5,2,2,2,2]} : f16[1,1,1,24]"),
            std::string::npos)
      << text;
  EXPECT_EQ(CountOps(g, OpKind::kMaxPool2d), 0) << text;
  ExpectNumericallyEquivalent(*before, g, 0.0, 0.0);
}

// Each graph is the fusable stem pattern with one thing changed.
struct NoFuseCase {
  const char* what;
  const char* graph;
};

void PrintTo(const NoFuseCase& c, std::ostream* os) { *os << c.what; }

class FuseConvMaxPoolNoMatchTest : public ::testing::TestWithParam<NoFuseCase> {};

TEST_P(FuseConvMaxPoolNoMatchTest, LeavesTheGraphUntouched) {
  Graph g = ParseVerified(GetParam().graph);
  ExpectNoChange<FuseConvMaxPoolPass>(g);
}

const NoFuseCase kNoFuseCases[] = {
    {"ConvResultHasASecondUser", R"(graph @g(%x: f16[1,9,9,4]) -> (%y, %r) {
  %w = weight "w" : f16[8,3,3,4]
  %c = conv2d(%x, %w) {pad=[1,1,1,1], layout=nhwc, epilogue=[relu]} : f16[1,9,9,8]
  %y = max_pool2d(%c) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f16[1,5,5,8]
  %r = neg(%c) : f16[1,9,9,8]
})"},
    {"ConvResultIsAGraphOutput", R"(graph @g(%x: f16[1,9,9,4]) -> (%y, %c) {
  %w = weight "w" : f16[8,3,3,4]
  %c = conv2d(%x, %w) {pad=[1,1,1,1], layout=nhwc, epilogue=[relu]} : f16[1,9,9,8]
  %y = max_pool2d(%c) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f16[1,5,5,8]
})"},
    {"SixteenInputChannels", R"(graph @g(%x: f16[1,9,9,16]) -> (%y) {
  %w = weight "w" : f16[8,3,3,16]
  %c = conv2d(%x, %w) {pad=[1,1,1,1], layout=nhwc, epilogue=[relu]} : f16[1,9,9,8]
  %y = max_pool2d(%c) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f16[1,5,5,8]
})"},
    {"ResidualAddInTheEpilogue", R"(graph @g(%x: f16[1,9,9,4], %r: f16[1,9,9,8]) -> (%y) {
  %w = weight "w" : f16[8,3,3,4]
  %b = weight "b" : f16[8]
  %c = conv2d(%x, %w) {pad=[1,1,1,1], layout=nhwc, epilogue=[bias(%b), add(%r), relu]} : f16[1,9,9,8]
  %y = max_pool2d(%c) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f16[1,5,5,8]
})"},
    {"CeilMode", R"(graph @g(%x: f16[1,10,10,4]) -> (%y) {
  %w = weight "w" : f16[8,3,3,4]
  %c = conv2d(%x, %w) {pad=[1,1,1,1], layout=nhwc, epilogue=[relu]} : f16[1,10,10,8]
  %y = max_pool2d(%c) {kernel=[3,3], stride=[2,2], ceil_mode=true, layout=nhwc} : f16[1,5,5,8]
})"},
    {"PoolDilation2", R"(graph @g(%x: f16[1,9,9,4]) -> (%y) {
  %w = weight "w" : f16[8,3,3,4]
  %c = conv2d(%x, %w) {pad=[1,1,1,1], layout=nhwc, epilogue=[relu]} : f16[1,9,9,8]
  %y = max_pool2d(%c) {kernel=[3,3], stride=[2,2], dilation=[2,2], layout=nhwc} : f16[1,3,3,8]
})"},
    {"Nchw", R"(graph @g(%x: f16[1,4,9,9]) -> (%y) {
  %w = weight "w" : f16[8,4,3,3]
  %c = conv2d(%x, %w) {pad=[1,1,1,1], epilogue=[relu]} : f16[1,8,9,9]
  %y = max_pool2d(%c) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1]} : f16[1,8,5,5]
})"},
    {"F32", R"(graph @g(%x: f32[1,9,9,4]) -> (%y) {
  %w = weight "w" : f32[8,3,3,4]
  %c = conv2d(%x, %w) {pad=[1,1,1,1], layout=nhwc, epilogue=[relu]} : f32[1,9,9,8]
  %y = max_pool2d(%c) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f32[1,5,5,8]
})"},
    {"CastInTheEpilogue", R"(graph @g(%x: f16[1,9,9,4]) -> (%y) {
  %w = weight "w" : f16[8,3,3,4]
  %c = conv2d(%x, %w) {pad=[1,1,1,1], layout=nhwc, epilogue=[relu, cast(f32)]} : f32[1,9,9,8]
  %y = max_pool2d(%c) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f32[1,5,5,8]
})"},
    {"ReluBeforeBias", R"(graph @g(%x: f16[1,9,9,4]) -> (%y) {
  %w = weight "w" : f16[8,3,3,4]
  %b = weight "b" : f16[8]
  %c = conv2d(%x, %w) {pad=[1,1,1,1], layout=nhwc, epilogue=[relu, bias(%b)]} : f16[1,9,9,8]
  %y = max_pool2d(%c) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f16[1,5,5,8]
})"},
    {"OneByOneKernel", R"(graph @g(%x: f16[1,9,9,4]) -> (%y) {
  %w = weight "w" : f16[8,1,1,4]
  %c = conv2d(%x, %w) {stride=[2,2], layout=nhwc} : f16[1,5,5,8]
  %y = max_pool2d(%c) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f16[1,3,3,8]
})"},
    {"OutputChannelsNotAMultipleOf8", R"(graph @g(%x: f16[1,9,9,4]) -> (%y) {
  %w = weight "w" : f16[12,3,3,4]
  %c = conv2d(%x, %w) {pad=[1,1,1,1], layout=nhwc} : f16[1,9,9,12]
  %y = max_pool2d(%c) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f16[1,5,5,12]
})"},
    {"ConvStride5", R"(graph @g(%x: f16[1,30,30,4]) -> (%y) {
  %w = weight "w" : f16[8,5,5,4]
  %c = conv2d(%x, %w) {stride=[5,5], layout=nhwc} : f16[1,6,6,8]
  %y = max_pool2d(%c) {kernel=[2,2], stride=[2,2], layout=nhwc} : f16[1,3,3,8]
})"},
    {"ConvKernel13", R"(graph @g(%x: f16[1,20,20,4]) -> (%y) {
  %w = weight "w" : f16[8,13,13,4]
  %c = conv2d(%x, %w) {layout=nhwc} : f16[1,8,8,8]
  %y = max_pool2d(%c) {kernel=[2,2], stride=[2,2], layout=nhwc} : f16[1,4,4,8]
})"},
    {"PoolKernel6", R"(graph @g(%x: f16[1,9,9,4]) -> (%y) {
  %w = weight "w" : f16[8,3,3,4]
  %c = conv2d(%x, %w) {pad=[1,1,1,1], layout=nhwc} : f16[1,9,9,8]
  %y = max_pool2d(%c) {kernel=[6,6], layout=nhwc} : f16[1,4,4,8]
})"},
    {"ConvDilation2", R"(graph @g(%x: f16[1,9,9,4]) -> (%y) {
  %w = weight "w" : f16[8,3,3,4]
  %c = conv2d(%x, %w) {pad=[2,2,2,2], dilation=[2,2], layout=nhwc} : f16[1,9,9,8]
  %y = max_pool2d(%c) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f16[1,5,5,8]
})"},
    {"AvgPool", R"(graph @g(%x: f16[1,9,9,4]) -> (%y) {
  %w = weight "w" : f16[8,3,3,4]
  %c = conv2d(%x, %w) {pad=[1,1,1,1], layout=nhwc} : f16[1,9,9,8]
  %y = avg_pool2d(%c) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f16[1,5,5,8]
})"},
    {"ConvAlreadyPools", R"(graph @g(%x: f16[1,9,9,4]) -> (%y) {
  %w = weight "w" : f16[8,3,3,4]
  %c = conv2d(%x, %w) {pad=[1,1,1,1], layout=nhwc, max_pool=[2,2,1,1,0,0,0,0]} : f16[1,8,8,8]
  %y = max_pool2d(%c) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f16[1,4,4,8]
})"},
};

INSTANTIATE_TEST_SUITE_P(Cases, FuseConvMaxPoolNoMatchTest, ::testing::ValuesIn(kNoFuseCases),
                         [](const ::testing::TestParamInfo<NoFuseCase>& info) {
                           return std::string(info.param.what);
                         });

}  // namespace
}  // namespace kiln
