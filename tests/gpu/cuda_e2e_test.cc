// The CUDA targets on a GPU (ctest label gpu; skipped where no GPU is present): models compiled
// for the GPU this runs on, run on device buffers, compared with the reference interpreter.
// Tolerances: |got - want| <= atol + rtol * |want| per element, f16/bf16 2e-2 / 2e-2 (the gemm
// stores its f16 result before the epilogue pass: one extra rounding), f32 1e-4 / 1e-5.
#include "models/zoo.h"
#include "tests/gpu/cuda_test_util.h"

namespace kiln {
namespace {

TEST(CudaE2eTest, MlpF16DynamicBatch) {
  ZooOptions o;
  o.dtype = DType::kF16;
  o.max_batch = 64;
  StatusOr<Graph> g = BuildZooModel("mlp", o);
  ASSERT_TRUE(g.ok());
  ExpectCudaMatchesInterpreter(*g, {.bindings = {{{"N", 1}}, {{"N", 5}}, {{"N", 64}}}});
}

TEST(CudaE2eTest, GemmOddShapesEveryLayoutAndEpilogue) {
  // M=3, N=10, K=7: no vector width but 1 divides the contiguous extents.
  ExpectCudaMatchesInterpreter(ParseVerified(R"(graph @g(%a: f16[3,7], %b: f16[10,7], %bt: f16[7,10], %at: f16[7,3], %bias: f16[10], %r: f16[3,10]) -> (%y1, %y2, %y3, %y4) {
  %y1 = gemm(%a, %b) {trans_b=true, epilogue=[bias(%bias), gelu]} : f16[3,10]
  %y2 = gemm(%a, %bt) {alpha=0.5, epilogue=[add(%r), silu]} : f16[3,10]
  %y3 = gemm(%at, %bt) {trans_a=true, epilogue=[sigmoid]} : f16[3,10]
  %y4 = gemm(%at, %b) {trans_a=true, trans_b=true, epilogue=[tanh, scale(2.0)]} : f16[3,10]
})"));
}

TEST(CudaE2eTest, GemmBf16F32AndBatched) {
  ExpectCudaMatchesInterpreter(ParseVerified(R"(graph @g(%a: bf16[64,32], %b: bf16[32,48]) -> (%y) {
  %y = gemm(%a, %b) {epilogue=[relu]} : bf16[64,48]
})"));
  ExpectCudaMatchesInterpreter(ParseVerified(R"(graph @g(%a: f32[5,33], %b: f32[17,33]) -> (%y) {
  %y = gemm(%a, %b) {trans_b=true} : f32[5,17]
})"),
                               {.rtol = 1e-4, .atol = 1e-5});
  ExpectCudaMatchesInterpreter(ParseVerified(R"(graph @g(%a: f16[N,4,16,32], %b: f16[N,4,32,24], %w: f16[24,32]) -> (%y, %z) where N in [1, 4] {
  %y = gemm(%a, %b) : f16[N,4,16,24]
  %z = gemm(%a, %w) {trans_b=true} : f16[N,4,16,24]
})"));
}

TEST(CudaE2eTest, ElementwiseFusionsOverDtypes) {
  ExpectCudaMatchesInterpreter(ParseVerified(R"(graph @ew(%x: f16[N,4,5], %y: f16[4,1]) -> (%z, %w) where N in [1, 8] {
  %c = constant [0.5] : f16[]
  %a = add(%x, %y) : f16[N,4,5]
  %b = mul(%a, %c) : f16[N,4,5]
  %z = gelu(%b) : f16[N,4,5]
  %w = reshape(%z) {shape=[N,20]} : f16[N,20]
})"));
  ExpectCudaMatchesInterpreter(ParseVerified(R"(graph @ew(%x: f32[3,7], %i: i64[3,7], %m: bool[7]) -> (%z, %j) {
  %e = exp(%x) : f32[3,7]
  %s = sigmoid(%x) : f32[3,7]
  %z = where(%m, %e, %s) : f32[3,7]
  %k = mul(%i, %i) : i64[3,7]
  %j = cast(%k) {to=i32} : i32[3,7]
})"),
                               {.rtol = 1e-5, .atol = 1e-6});
}

// Programmatic dependent launch (--pdl): every kernel of a chain reads its predecessor's output
// (a kernel that started before its predecessor finished would read stale data, and the planner
// reuses freed buffers, so one writing early would clobber a predecessor's operand): sm90 gemms
// (CUTLASS, griddepcontrol), layer_norm, two 16-byte-vector transposes, fused elementwise, softmax,
// a reduction, and an sm90 conv (launched without PDL) followed by pooling and a second conv.
// With and without CUDA graphs; each run after its outputs are set to NaN bits.
TEST(CudaE2eTest, ProgrammaticDependentLaunchChain) {
  if (!HasGpu() || TargetOfThisGpu() != "cuda-sm90") GTEST_SKIP() << "needs a Hopper GPU";
  const Graph g = ParseVerified(
      R"(graph @pdl(%x: f16[N,64,256], %im: f16[N,16,16,16]) -> (%s, %r, %c) where N in [1, 8] {
  %w1 = weight "w1" : f16[256,256]
  %b1 = weight "b1" : f16[256]
  %h = gemm(%x, %w1) {alpha=0.0625, epilogue=[bias(%b1), gelu]} : f16[N,64,256]
  %g = weight "g" : f16[256]
  %be = weight "be" : f16[256]
  %n = layer_norm(%h, %g, %be) {axis=-1, eps=1e-5} : f16[N,64,256]
  %t = transpose(%n) {perm=[0,2,1]} : f16[N,256,64]
  %u = transpose(%t) {perm=[0,2,1]} : f16[N,64,256]
  %a = add(%u, %x) : f16[N,64,256]
  %w2 = weight "w2" : f16[256,256]
  %h2 = gemm(%a, %w2) {alpha=0.0625, epilogue=[add(%a)]} : f16[N,64,256]
  %s = softmax(%h2) {axis=-1} : f16[N,64,256]
  %r = reduce_sum(%h2) {axes=[1]} : f16[N,256]
  %wc = weight "wc" : f16[32,3,3,16]
  %bc = weight "bc" : f16[32]
  %c1 = conv2d(%im, %wc) {pad=[1,1,1,1], layout=nhwc, epilogue=[bias(%bc), relu]} : f16[N,16,16,32]
  %p = max_pool2d(%c1) {kernel=[2,2], stride=[2,2], layout=nhwc} : f16[N,8,8,32]
  %wd = weight "wd" : f16[32,3,3,32]
  %c = conv2d(%p, %wd) {pad=[1,1,1,1], layout=nhwc} : f16[N,8,8,32]
})");
  for (bool graphs : {false, true}) {
    SCOPED_TRACE(graphs ? "with CUDA graphs" : "without CUDA graphs");
    ExpectCudaMatchesInterpreter(
        g, {.bindings = {{{"N", 1}}, {{"N", 5}}, {{"N", 8}}}, .pdl = true, .cuda_graphs = graphs});
  }
}

}  // namespace
}  // namespace kiln
