// The CUDA gemm on a GPU (ctest label gpu; skipped without a GPU): on Hopper the CUTLASS 3.x
// kernels of gemm_sm90.cc with the epilogue fused into the visitor tree, elsewhere (and for odd
// extents) the CUTLASS 2.x path; every layout (trans_a x trans_b), every epilogue kind (bias,
// residual add, relu, gelu, gelu_tanh, silu, sigmoid, tanh, scale, cast), alpha/beta/c, f16 and
// bf16, batched and broadcast-batched operands, sizes that are not multiples of the tiles, K=1,
// N=1, N=7, and the forced configs of KILN_GEMM_CONFIG, against the reference interpreter.
//
// Tolerances: |got - want| <= atol + rtol * |want| per element with rtol = atol = 2e-2: the kernel
// accumulates in f32 like the reference and rounds once to f16/bf16 (bf16: 8 significant bits,
// relative error <= 4e-3); inputs are uniform in [-1, 1] and K <= 512, so outputs stay below ~25.
//
// On Hopper each test also checks, from the generated sources, how many gemm kernels took the
// sm90 path, so that a silent fallback to the 2.x kernel fails the test.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "tests/gpu/cuda_test_util.h"
#include "tests/scoped_env.h"

namespace kiln {
namespace {

bool IsHopper() { return HasGpu() && TargetOfThisGpu() == "cuda-sm90"; }

// Compiles `graph` for cuda-sm90 and expects `sm90` of its node kernels to call a CUTLASS 3.x
// gemm instantiation (the objects land in the test cache, so the harness's compile of the same sources is cheap).
void ExpectSm90Kernels(const Graph& graph, int sm90) {
  std::unique_ptr<Graph> g = graph.Clone();
  CompileOptions options;
  options.target = "cuda-sm90";
  options.tune = TuneMode::kOff;  // the heuristic's (or KILN_GEMM_CONFIG's) config, as Check runs
  options.output_dir = FreshCompileDir(graph.name() + "_sm90_sources");
  options.cache_dir = std::string(KILN_BINARY_DIR) + "/test-object-cache";
  StatusOr<CompileResult> r = Compile(*g, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  int found = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(r->source_dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // A node's kernel file calls its shared CUTLASS 3.x instantiations (one or two variants).
    const bool node_kernel = entry.path().filename().string().rfind("kernel_", 0) == 0;
    if (node_kernel && text.find("extern void gemm_sm90_") != std::string::npos) ++found;
  }
  EXPECT_EQ(found, sm90) << graph.name() << ": gemm kernels on the sm90 path";
  std::filesystem::remove_all(options.output_dir);
}

// Runs `text` on the GPU against the interpreter; on Hopper first checks the sm90 kernel count.
// Tuning is off: the tests cover the heuristic's configs and the forced ones, quickly.
void Check(const std::string& text, int sm90_kernels, GpuOptions options = {}) {
  if (!HasGpu()) GTEST_SKIP() << "no CUDA GPU";
  Graph g = ParseVerified(text);
  if (IsHopper()) ExpectSm90Kernels(g, sm90_kernels);
  options.tune = TuneMode::kOff;
  ExpectCudaMatchesInterpreter(g, options);
}

// Sets KILN_GEMM_CONFIG for the scope (the emitter reads it at compile time).
class ForcedConfig : public ScopedEnv {
 public:
  explicit ForcedConfig(const std::string& name) : ScopedEnv("KILN_GEMM_CONFIG", name.c_str()) {}
};

TEST(CudaGemmTest, EveryLayoutWithItsOwnEpilogueF16) {
  // M=200, N=136, K=72: multiples of 8 (TMA) but not of any tile.
  Check(R"(graph @layouts(%a: f16[200,72], %at: f16[72,200], %b: f16[72,136], %bt: f16[136,72], %bias: f16[136], %r: f16[200,136]) -> (%nn, %nt, %tn, %tt) {
  %nn = gemm(%a, %b) {epilogue=[bias(%bias), gelu]} : f16[200,136]
  %nt = gemm(%a, %bt) {trans_b=true, alpha=0.5, epilogue=[add(%r), silu]} : f16[200,136]
  %tn = gemm(%at, %b) {trans_a=true, epilogue=[relu, scale(0.25)]} : f16[200,136]
  %tt = gemm(%at, %bt) {trans_a=true, trans_b=true, epilogue=[gelu_tanh, cast(f32)]} : f32[200,136]
})",
        4);
}

TEST(CudaGemmTest, EpilogueKindsBf16) {
  Check(R"(graph @kinds(%a: bf16[96,256], %b: bf16[256,64], %bias: bf16[64], %r: bf16[96,64]) -> (%s, %t, %chain) {
  %s = gemm(%a, %b) {epilogue=[sigmoid]} : bf16[96,64]
  %t = gemm(%a, %b) {alpha=0.125, epilogue=[bias(%bias), tanh]} : bf16[96,64]
  %chain = gemm(%a, %b) {alpha=0.0625, epilogue=[scale(2.0), bias(%bias), add(%r), gelu, cast(f16)]} : f16[96,64]
})",
        3);
}

TEST(CudaGemmTest, COperandFullRowAndBatchShared) {
  // The 2.x path has no c operand: Hopper only. c full (alpha/beta linear combination), a row
  // vector (broadcast like a bias, times beta), and one [M, N] matrix shared by every batch.
  if (HasGpu() && !IsHopper()) GTEST_SKIP() << "gemm with a c operand needs the sm90 kernel";
  Check(R"(graph @coperand(%a: bf16[96,256], %b: bf16[256,64], %c: bf16[96,64], %cr: bf16[64], %x: f16[N,40,64], %w: f16[64,24], %cs: f16[40,24]) -> (%lin, %row, %shared) where N in [1, 6] {
  %lin = gemm(%a, %b, %c) {alpha=0.25, beta=0.5} : bf16[96,64]
  %row = gemm(%a, %b, %cr) {beta=2.0, epilogue=[relu]} : bf16[96,64]
  %shared = gemm(%x, %w, %cs) {beta=-1.0} : f16[N,40,24]
})",
        3, {.bindings = {{{"N", 1}}, {{"N", 5}}}});
}

TEST(CudaGemmTest, BatchedAndBroadcastBatches) {
  // Full batches; b shared (folded into M); a shared (batch stride 0); transposed a with b
  // shared (L mode, stride 0).
  Check(R"(graph @batches(%a4: f16[2,3,40,64], %b4: f16[2,3,64,24], %a: f16[N,40,64], %w: f16[64,24], %a2: f16[40,64], %bn: f16[N,64,24], %at: f16[N,64,40], %bias: f16[24]) -> (%full, %fold, %ashared, %tshared) where N in [1, 6] {
  %full = gemm(%a4, %b4) {epilogue=[relu]} : f16[2,3,40,24]
  %fold = gemm(%a, %w) {epilogue=[bias(%bias), silu]} : f16[N,40,24]
  %ashared = gemm(%a2, %bn) : f16[N,40,24]
  %tshared = gemm(%at, %w) {trans_a=true, epilogue=[tanh]} : f16[N,40,24]
})",
        4, {.bindings = {{{"N", 1}}, {{"N", 5}}}});
}

// The GELU epilogues measured, not only within the 2e-2 of the other tests: x spans [-8, 8] (one
// value per row, K = 16 with a single nonzero column, so the gemm is exact) and every output is
// compared with GELU of the rounded input in double. 16-bit outputs take the one-tanh.approx
// forms (Gelu16 of kiln_cuda_epilogue_sm90.cuh): |error| <= 1e-3 plus the output's rounding
// (half an ulp: 2^-11 |y| for f16, 2^-8 |y| for bf16). An f32 output keeps the accurate erf form
// of kiln_scalar.h: 1e-6.
TEST(CudaGemmTest, GeluEpilogueAccuracy) {
  if (!HasGpu()) GTEST_SKIP() << "no CUDA GPU";
  const Graph g = ParseVerified(R"(graph @gelu_accuracy(%x: f16[4096,16], %w: f16[16,16], %xb: bf16[4096,16], %wb: bf16[16,16]) -> (%g, %t, %b, %g32) {
  %g = gemm(%x, %w) {epilogue=[gelu]} : f16[4096,16]
  %t = gemm(%x, %w) {epilogue=[gelu_tanh]} : f16[4096,16]
  %b = gemm(%xb, %wb) {epilogue=[gelu]} : bf16[4096,16]
  %g32 = gemm(%x, %w) {epilogue=[gelu, cast(f32)]} : f32[4096,16]
})");
  if (IsHopper()) ExpectSm90Kernels(g, 4);
  StatusOr<GpuModel> model = CompileForThisGpu(g, CompileOptions{}, "gelu");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<Tensor> inputs;
  for (DType dt : {DType::kF16, DType::kBF16}) {
    Tensor x(dt, {4096, 16}), w(dt, {16, 16});
    for (int64_t i = 0; i < x.numel(); ++i) x.SetF64(i, i % 16 == 0 ? -8.0 + 16.0 * (i / 16) / 4095.0 : 0.0);
    for (int64_t i = 0; i < w.numel(); ++i) w.SetF64(i, i < 16 ? 1.0 : 0.0);
    inputs.push_back(std::move(x));
    inputs.push_back(std::move(w));
  }
  std::vector<Tensor> got;
  Status run = model->instance->Run(inputs, &got);
  ASSERT_TRUE(run.ok()) << run.ToString();
  ASSERT_EQ(got.size(), 4u);
  const auto gelu = [](double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); };
  const auto gelu_tanh = [](double v) {
    return 0.5 * v * (1.0 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
  };
  struct Case {
    int output, input;
    bool tanh_form;
    double atol, rtol;
  };
  for (const Case& c : {Case{0, 0, false, 1e-3, 0x1p-11}, Case{1, 0, true, 1e-3, 0x1p-11},
                        Case{2, 2, false, 1e-3, 0x1p-8}, Case{3, 0, false, 1e-6, 1e-6}}) {
    double worst = 0, worst_x = 0;
    for (int64_t i = 0; i < got[c.output].numel(); ++i) {
      const double x = inputs[c.input].GetF64(i / 16 * 16);
      const double want = c.tanh_form ? gelu_tanh(x) : gelu(x);
      const double err = std::abs(got[c.output].GetF64(i) - want);
      if (err - c.rtol * std::abs(want) > worst) worst = err - c.rtol * std::abs(want), worst_x = x;
      ASSERT_LE(err, c.atol + c.rtol * std::abs(want)) << "output " << c.output << " at x = " << x;
    }
    std::printf("gelu epilogue output %d: max |error| - rounding %.3g (x = %g)\n", c.output, worst, worst_x);
  }
  model->instance.reset();
  std::filesystem::remove_all(model->output_dir);
}

TEST(CudaGemmTest, OddShapesFallBackOrPadTiles) {
  // K=1, N=1, N=7 cannot be moved by TMA (2.x kernel); M=1 and M=13 with aligned N and K take
  // the sm90 kernel with a mostly empty tile.
  Check(R"(graph @odd(%a: f16[33,1], %b: f16[1,16], %c: f16[33,48], %d: f16[48,1], %e: f16[48,7], %m1: f16[1,48], %m13: bf16[13,48], %f: f16[48,16], %g: bf16[48,16]) -> (%k1, %n1, %n7, %y1, %y13) {
  %k1 = gemm(%a, %b) {epilogue=[gelu]} : f16[33,16]
  %n1 = gemm(%c, %d) {epilogue=[sigmoid]} : f16[33,1]
  %n7 = gemm(%c, %e) : f16[33,7]
  %y1 = gemm(%m1, %f) {epilogue=[relu]} : f16[1,16]
  %y13 = gemm(%m13, %g) {trans_b=false, epilogue=[silu]} : bf16[13,16]
})",
        2);
}

TEST(CudaGemmTest, BigClusteredTileWithGelu) {
  // 128x256x64_2x1_coop (18 x 8 tiles: more than one wave over 132 SMs) with bias+GELU. The
  // heuristic gives this tile to such problems only with K > 1024 (or K > 512 and no
  // transcendental activation), so the config is forced to keep the reference's work small.
  if (!IsHopper()) GTEST_SKIP() << "KILN_GEMM_CONFIG picks sm90 kernels: needs Hopper";
  ForcedConfig forced("128x256x64_2x1_coop");
  Check(R"(graph @big(%a: f16[2304,128], %b: f16[128,2048], %bias: f16[2048]) -> (%y) {
  %y = gemm(%a, %b) {epilogue=[bias(%bias), gelu]} : f16[2304,2048]
})",
        1);
}

// Few output tiles and a long K: the stream-K configs (tuner candidates there), whose CTAs split K
// and reduce partial sums in kernel scratch: static gemms, a batched one and a symbolic-M gemm at
// N 1, 8 and 3, with 128x128 and 128x64 stream-K and 128x128 split-K in 3 slices forced.
TEST(CudaGemmTest, StreamKSplitsK) {
  if (!IsHopper()) GTEST_SKIP() << "KILN_GEMM_CONFIG picks sm90 kernels: needs Hopper";
  const std::string text = R"(graph @streamk(%a: f16[200,2048], %b: f16[2048,256], %bias: f16[256], %x: bf16[3,40,1536], %y: bf16[3,1536,128], %t: f16[N,33,1024], %w: f16[1024,128]) -> (%p, %q, %s) where N in [1, 8] {
  %p = gemm(%a, %b) {epilogue=[bias(%bias), gelu]} : f16[200,256]
  %q = gemm(%x, %y) {epilogue=[relu]} : bf16[3,40,128]
  %s = gemm(%t, %w) : f16[N,33,128]
})";
  for (const char* config : {"128x128x64_1x1_coop_streamk", "128x64x64_1x1_coop_streamk",
                             "128x128x64_1x1_coop_splitk3"}) {
    SCOPED_TRACE(config);
    ForcedConfig forced(config);
    Check(text, 3, {.bindings = {{{"N", 1}}, {{"N", 8}}, {{"N", 3}}}});
  }
}

TEST(CudaGemmTest, ForcedConfigs) {
  if (!IsHopper()) GTEST_SKIP() << "KILN_GEMM_CONFIG picks sm90 kernels: needs Hopper";
  const std::string text = R"(graph @forced(%a: f16[320,192], %b: f16[264,192], %bias: f16[264]) -> (%y) {
  %y = gemm(%a, %b) {trans_b=true, epilogue=[bias(%bias), relu]} : f16[320,264]
})";
  for (const char* config : {"256x128x64_1x2_coop", "128x128x64_2x1_pingpong", "128x64x64_1x1_coop_s3",
                             "128x128x64_1x1_pingpong_sw8", "256x128x64_1x2_coop_sw4"}) {
    SCOPED_TRACE(config);
    ForcedConfig forced(config);
    Check(text, 1);
  }
  ForcedConfig sm80("sm80");
  Check(text, 0);
}

}  // namespace
}  // namespace kiln
