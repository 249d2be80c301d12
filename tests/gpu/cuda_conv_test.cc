// conv2d on the GPU (ctest label gpu; skipped without a GPU) against the reference interpreter:
// every kernel path of src/codegen/cuda/conv.cc (implicit GEMM with each epilogue, 1x1 convs as
// gemm, the channel-padded stem, the direct fallback for depthwise / grouped / odd channel
// counts / f32 / nchw), symbolic batches, and small conv nets end to end.
// Tolerances: |got - want| <= atol + rtol * |want|, f16/bf16 2e-2 / 2e-2 (f32 accumulation on
// both sides; one f16 rounding of the output, two on the direct path), f32 1e-4 / 1e-4.
#include "models/zoo.h"
#include "passes/pipeline.h"
#include "tests/gpu/cuda_test_util.h"

namespace kiln {
namespace {

// The Hopper paths in one graph (one compile: its kernels build in parallel). Each conv reads a
// graph input or one conv output, so f16 rounding differences do not compound through a chain.
TEST(CudaConvTest, ImplicitGemmPointwiseAndStemF16) {
  ExpectCudaMatchesInterpreter(ParseVerified(R"(graph @convs(%x: f16[N,14,14,16], %r: f16[N,7,7,64], %s: f16[N,16,16,3]) -> (%a, %b, %c, %d, %e, %f) where N in [1, 8] {
  %w1 = weight "w1" : f16[32,3,3,16]
  %b1 = weight "b1" : f16[32]
  %a = conv2d(%x, %w1) {pad=[1,1,1,1], layout=nhwc, epilogue=[bias(%b1), relu]} : f16[N,14,14,32]
  %w2 = weight "w2" : f16[64,3,3,32]
  %b2 = weight "b2" : f16[64]
  %b = conv2d(%a, %w2) {stride=[2,2], pad=[1,1,1,1], layout=nhwc, epilogue=[bias(%b2), add(%r), relu]} : f16[N,7,7,64]
  %w3 = weight "w3" : f16[128,1,1,64]
  %b3 = weight "b3" : f16[128]
  %c = conv2d(%r, %w3) {layout=nhwc, epilogue=[bias(%b3)]} : f16[N,7,7,128]
  %w4 = weight "w4" : f16[64,1,1,32]
  %d = conv2d(%a, %w4) {stride=[2,2], layout=nhwc} : f16[N,7,7,64]
  %w5 = weight "w5" : f16[64,7,7,3]
  %b5 = weight "b5" : f16[64]
  %e = conv2d(%s, %w5) {stride=[2,2], pad=[3,3,3,3], layout=nhwc, epilogue=[bias(%b5), relu]} : f16[N,8,8,64]
  %w6 = weight "w6" : f16[16,3,3,32]
  %f = conv2d(%a, %w6) {pad=[1,2,0,1], dilation=[2,2], layout=nhwc, epilogue=[silu, cast(f32)]} : f32[N,11,13,16]
})"),
                               {.bindings = {{{"N", 1}}, {{"N", 3}}, {{"N", 8}}}});
}

// The implicit GEMM with two or three CTAs per SM (conv_config.h: fewer pipeline stages): each
// tile shape that takes them, with K tiles of 64 and 16, a residual source C, a batch that leaves
// a partial last tile.
TEST(CudaConvTest, ImplicitGemmSeveralCtasPerSm) {
  ExpectCudaMatchesInterpreter(ParseVerified(R"(graph @ctas(%x: f16[N,15,15,64], %r: f16[N,15,15,64], %s: f16[N,12,12,16]) -> (%a, %b, %c, %d, %e) where N in [1, 8] {
  %w1 = weight "w1" : f16[64,3,3,64]
  %b1 = weight "b1" : f16[64]
  %a = conv2d(%x, %w1) {pad=[1,1,1,1], layout=nhwc, epilogue=[bias(%b1), add(%r), relu]} : f16[N,15,15,64]
  %w2 = weight "w2" : f16[128,3,3,64]
  %b = conv2d(%x, %w2) {stride=[2,2], pad=[1,1,1,1], layout=nhwc, epilogue=[relu]} : f16[N,8,8,128]
  %w3 = weight "w3" : f16[64,3,3,64]
  %c = conv2d(%x, %w3) {pad=[0,0,0,0], layout=nhwc} : f16[N,13,13,64]
  %w4 = weight "w4" : f16[32,3,3,16]
  %b4 = weight "b4" : f16[32]
  %d = conv2d(%s, %w4) {pad=[1,1,1,1], layout=nhwc, epilogue=[bias(%b4)]} : f16[N,12,12,32]
  %w5 = weight "w5" : f16[64,5,5,16]
  %e = conv2d(%s, %w5) {pad=[2,2,2,2], layout=nhwc, epilogue=[relu]} : f16[N,12,12,64]
})"),
                               {.bindings = {{{"N", 1}}, {{"N", 5}}},
                                .forced_configs = {{"a", "conv_128x64x64_2cta"},
                                                   {"b", "conv_64x128x64_2cta"},
                                                   {"c", "conv_64x64x64_3cta"},
                                                   {"d", "conv_64x64x16_2cta"},
                                                   {"e", "conv_128x64x16_2cta"}}});
}

TEST(CudaConvTest, FixedChannelsKernelAndItsEpilogues) {
  // Few input channels take kiln's few-channel kernel (3 and 2 padded to 4, 8 as is): fused
  // bias+relu, a residual add and gelu+cast (f32 out) as the pass after it, 128 output channels
  // (two CTA columns), 16 and 24 (part of one), asymmetric pads with dilation, outputs smaller
  // than a tile, bf16. These have few CTAs: 8x16-pixel tiles.
  ExpectCudaMatchesInterpreter(ParseVerified(R"(graph @few(%x: f16[N,96,96,3], %y: f16[N,9,9,8], %r: f16[N,9,9,16], %z: bf16[N,11,11,2]) -> (%a, %b, %c, %d) where N in [1, 8] {
  %w1 = weight "w1" : f16[64,7,7,3]
  %b1 = weight "b1" : f16[64]
  %a = conv2d(%x, %w1) {stride=[2,2], pad=[3,3,3,3], layout=nhwc, epilogue=[bias(%b1), relu]} : f16[N,48,48,64]
  %w2 = weight "w2" : f16[16,3,3,8]
  %b2 = weight "b2" : f16[16]
  %b = conv2d(%y, %w2) {pad=[1,1,1,1], layout=nhwc, epilogue=[bias(%b2), add(%r), relu]} : f16[N,9,9,16]
  %w3 = weight "w3" : f16[128,5,5,3]
  %c = conv2d(%x, %w3) {stride=[3,3], pad=[0,1,2,0], dilation=[2,2], layout=nhwc} : f16[N,30,30,128]
  %w4 = weight "w4" : bf16[24,3,3,2]
  %b4 = weight "b4" : bf16[24]
  %d = conv2d(%z, %w4) {stride=[2,2], pad=[1,1,1,1], layout=nhwc, epilogue=[bias(%b4), gelu, cast(f32)]} : f32[N,6,6,24]
})"),
                               {.bindings = {{{"N", 1}}, {{"N", 3}}, {{"N", 8}}}});
  // 16x16-pixel tiles (at least two CTAs per SM: 3 x 8 x 16 here, 6 x 7 x 7 with N = 6 in the
  // symbolic one); stride 1, 4 channels as given, bias without relu; the stem shape at N = 1 and 16.
  ExpectCudaMatchesInterpreter(ParseVerified(R"(graph @big(%x: f16[3,128,256,4]) -> (%y) {
  %w = weight "w" : f16[64,3,3,4]
  %b = weight "b" : f16[64]
  %y = conv2d(%x, %w) {pad=[1,1,1,1], layout=nhwc, epilogue=[bias(%b)]} : f16[3,128,256,64]
})"));
  ExpectCudaMatchesInterpreter(ParseVerified(R"(graph @stem(%x: f16[N,224,224,3]) -> (%y) where N in [1, 16] {
  %w = weight "w" : f16[64,7,7,3]
  %b = weight "b" : f16[64]
  %y = conv2d(%x, %w) {stride=[2,2], pad=[3,3,3,3], layout=nhwc, epilogue=[bias(%b), relu]} : f16[N,112,112,64]
})"),
                               {.bindings = {{{"N", 1}}, {{"N", 6}}}});
  // A patch embedding (16x16, stride 16) does not fit kiln's kernel: CUTLASS's fixed-channels conv.
  ExpectCudaMatchesInterpreter(ParseVerified(R"(graph @patch(%x: f16[N,64,64,3]) -> (%y) where N in [1, 4] {
  %w = weight "w" : f16[96,16,16,3]
  %b = weight "b" : f16[96]
  %y = conv2d(%x, %w) {stride=[16,16], layout=nhwc, epilogue=[bias(%b)]} : f16[N,4,4,96]
})"),
                               {.bindings = {{{"N", 1}}, {{"N", 4}}}});
}

// The cuda-sm90 pipeline folds every max_pool2d of `graph` into the conv before it (the
// fuse-conv-max-pool pass), so that the GPU run below exercises the fused kernel.
void ExpectPoolsFused(const Graph& graph) {
  std::unique_ptr<Graph> g = graph.Clone();
  ASSERT_TRUE(DefaultPipeline("cuda-sm90").Run(*g).ok());
  for (const auto& node : g->nodes()) EXPECT_NE(node->op(), OpKind::kMaxPool2d) << node->Describe();
}

TEST(CudaConvTest, FixedChannelsConvWithFusedMaxPool) {
  // The ResNet stem: 7x7 / 2 conv, bias, relu, 3x3 / 2 max pool with pad 1, pooled tiles of
  // 128 conv pixels at N = 1 (56 CTAs) and of 256 at N = 6.
  Graph stem = ParseVerified(R"(graph @stem_pool(%x: f16[N,224,224,3]) -> (%y) where N in [1, 6] {
  %w = weight "w" : f16[64,7,7,3]
  %b = weight "b" : f16[64]
  %c = conv2d(%x, %w) {stride=[2,2], pad=[3,3,3,3], layout=nhwc, epilogue=[bias(%b), relu]} : f16[N,112,112,64]
  %y = max_pool2d(%c) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f16[N,56,56,64]
})");
  ExpectPoolsFused(stem);
  ExpectCudaMatchesInterpreter(stem, {.bindings = {{{"N", 1}}, {{"N", 6}}}});
  // Odd sizes whose tiles overhang the image; no relu (negative maxima, the pool's -inf padding);
  // 128 output channels (two CTA columns); bf16 with 8 channels and two pools of one input: 2x2 / 2
  // without padding and an overlapping 3x3 / 1 window with pad 1 on a 24-channel conv.
  Graph odd = ParseVerified(R"(graph @odd_pool(%x: f16[2,37,45,4], %z: bf16[3,20,21,8]) -> (%a, %d, %e) {
  %w1 = weight "w1" : f16[128,5,5,4]
  %b1 = weight "b1" : f16[128]
  %c1 = conv2d(%x, %w1) {stride=[2,2], pad=[2,2,2,2], layout=nhwc, epilogue=[bias(%b1)]} : f16[2,19,23,128]
  %a = max_pool2d(%c1) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f16[2,10,12,128]
  %w2 = weight "w2" : bf16[24,3,3,8]
  %b2 = weight "b2" : bf16[24]
  %c2 = conv2d(%z, %w2) {pad=[1,1,1,1], layout=nhwc, epilogue=[bias(%b2), relu]} : bf16[3,20,21,24]
  %d = max_pool2d(%c2) {kernel=[2,2], stride=[2,2], layout=nhwc} : bf16[3,10,10,24]
  %w3 = weight "w3" : bf16[24,3,3,8]
  %c3 = conv2d(%z, %w3) {stride=[1,1], pad=[1,1,1,1], layout=nhwc} : bf16[3,20,21,24]
  %e = max_pool2d(%c3) {kernel=[3,3], stride=[1,1], pad=[1,1,1,1], layout=nhwc} : bf16[3,20,21,24]
})");
  ExpectPoolsFused(odd);
  ExpectCudaMatchesInterpreter(odd);
}

TEST(CudaConvTest, DirectFallbacks) {
  // Depthwise and grouped, an odd output channel count, nchw, dilation with bias.
  ExpectCudaMatchesInterpreter(ParseVerified(R"(graph @direct(%x: f16[2,9,9,32], %y: f16[2,8,9,9]) -> (%a, %b, %c, %d) {
  %w1 = weight "w1" : f16[32,3,3,1]
  %b1 = weight "b1" : f16[32]
  %a = conv2d(%x, %w1) {pad=[1,1,1,1], groups=32, layout=nhwc, epilogue=[bias(%b1), relu]} : f16[2,9,9,32]
  %w2 = weight "w2" : f16[16,3,3,8]
  %b = conv2d(%x, %w2) {stride=[2,2], groups=4, layout=nhwc} : f16[2,4,4,16]
  %w3 = weight "w3" : f16[10,1,1,32]
  %c = conv2d(%x, %w3) {layout=nhwc} : f16[2,9,9,10]
  %w4 = weight "w4" : f16[12,8,3,3]
  %b4 = weight "b4" : f16[12]
  %d = conv2d(%y, %w4) {pad=[2,2,2,2], dilation=[2,2], epilogue=[bias(%b4)]} : f16[2,12,9,9]
})"));
}

// conv_transpose2d's direct gather kernel: nhwc f16 with stride, pads, output padding and a fused
// bias + relu pass; nchw f32 grouped with dilation and asymmetric pads (tight f32 tolerances).
TEST(CudaConvTest, ConvTransposeDirect) {
  ExpectCudaMatchesInterpreter(ParseVerified(R"(graph @up(%x: f16[N,5,6,8]) -> (%y) where N in [1, 3] {
  %w = weight "w" : f16[8,3,3,6]
  %b = weight "b" : f16[6]
  %y = conv_transpose2d(%x, %w) {stride=[2,2], pad=[1,1,1,1], output_padding=[1,1], layout=nhwc, epilogue=[bias(%b), relu]} : f16[N,10,12,6]
})"),
                               {.bindings = {{{"N", 1}}, {{"N", 3}}}});
  ExpectCudaMatchesInterpreter(ParseVerified(R"(graph @upg(%x: f32[2,4,5,5]) -> (%y) {
  %w = weight "w" : f32[4,3,2,3]
  %y = conv_transpose2d(%x, %w) {stride=[2,1], pad=[0,1,2,0], dilation=[2,1], groups=2} : f32[2,6,9,6]
})"),
                               {.rtol = 1e-4, .atol = 1e-5});
}

TEST(CudaConvTest, Bf16AndF32) {
  ExpectCudaMatchesInterpreter(ParseVerified(R"(graph @bf(%x: bf16[N,10,10,24]) -> (%y) where N in [1, 4] {
  %w = weight "w" : bf16[40,3,3,24]
  %b = weight "b" : bf16[40]
  %y = conv2d(%x, %w) {pad=[1,1,1,1], layout=nhwc, epilogue=[bias(%b), gelu]} : bf16[N,10,10,40]
})"),
                               {.bindings = {{{"N", 1}}, {{"N", 4}}}});
  ExpectCudaMatchesInterpreter(ParseVerified(R"(graph @f32(%x: f32[2,7,7,5]) -> (%y) {
  %w = weight "w" : f32[6,3,3,5]
  %y = conv2d(%x, %w) {stride=[2,2], pad=[1,1,1,1], layout=nhwc, epilogue=[relu]} : f32[2,4,4,6]
})"),
                               {.rtol = 1e-4, .atol = 1e-4});
}

// A small NCHW conv net (batch-norm folding, NHWC conversion, stem channel padding, pools, fc).
TEST(CudaConvTest, TinyCnnF16DynamicBatch) {
  ZooOptions o;
  o.dtype = DType::kF16;
  o.max_batch = 16;
  StatusOr<Graph> g = BuildZooModel("tiny_cnn", o);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ExpectCudaMatchesInterpreter(*g, {.bindings = {{{"N", 1}}, {{"N", 3}}, {{"N", 16}}}});
}

// ResNet-50 in f16 (the zoo's seeded weights) against the f32-accumulating interpreter on the
// same f16 graph. 53 convs deep: the tolerance is wider than for single ops.
TEST(CudaConvTest, ResNet50F16) {
  ZooOptions o;
  o.dtype = DType::kF16;
  o.max_batch = 8;
  StatusOr<Graph> g = BuildZooModel("resnet50", o);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ExpectCudaMatchesInterpreter(*g, {.rtol = 5e-2, .atol = 5e-2, .bindings = {{{"N", 2}}}});
}

}  // namespace
}  // namespace kiln
