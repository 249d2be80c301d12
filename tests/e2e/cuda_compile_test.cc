// The CUDA targets on a machine without a GPU (CI): the generated CUDA of small models compiles
// with nvcc for sm_90a and sm_80 and links into a module library whose interface loads; creating
// an instance there fails with a CUDA error instead of crashing. Running on a GPU is tested in
// tests/gpu (label gpu).
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>

#include "build/toolchain.h"
#include "codegen/cuda/cuda_target.h"
#include "codegen/cuda/gemm_config.h"
#include "models/zoo.h"
#include "tests/e2e/cpu_e2e_util.h"

namespace kiln {
namespace {

using codegen::cuda::GemmConfig;
using codegen::cuda::GemmProblem;
using codegen::cuda::HeuristicGemmConfig;
using codegen::cuda::ParseGemmConfig;
using codegen::cuda::Sm90GemmCandidates;
using codegen::cuda::Sm90Unsupported;
using codegen::cuda::ValidSm90Config;

// Skips when there is no nvcc, except in CI (CI=true), which must compile the CUDA.
#define KILN_REQUIRE_NVCC()                                                              \
  do {                                                                                   \
    if (!FindNvcc().ok()) {                                                              \
      const char* ci = std::getenv("CI");                                                \
      if (ci != nullptr && std::string(ci) == "true") {                                  \
        FAIL() << "CI must compile the generated CUDA: " << FindNvcc().status().ToString(); \
      }                                                                                  \
      GTEST_SKIP() << FindNvcc().status().ToString();                                    \
    }                                                                                    \
  } while (0)

// Compiles `graph` for `target` and checks the library's interface.
void ExpectCompilesFor(const Graph& graph, const std::string& target) {
  KILN_REQUIRE_NVCC();
  std::unique_ptr<Graph> copy = graph.Clone();
  CompileOptions options;
  options.target = target;
  options.output_dir = FreshCompileDir(graph.name() + "_" + target);
  options.verify_each_pass = true;
  options.cache_dir = std::string(KILN_BINARY_DIR) + "/test-object-cache";
  StatusOr<CompileResult> r = Compile(*copy, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  StatusOr<std::shared_ptr<Module>> module = Module::Load(r->library_path);
  ASSERT_TRUE(module.ok()) << module.status().ToString();
  EXPECT_EQ((*module)->target(), target);
  ASSERT_EQ((*module)->inputs().size(), graph.inputs().size());
  EXPECT_EQ((*module)->inputs()[0].name, graph.inputs()[0]->name());
  EXPECT_EQ((*module)->outputs().size(), graph.outputs().size());
  std::filesystem::remove_all(options.output_dir);
}

Graph Mlp() {
  ZooOptions o;
  o.dtype = DType::kF16;
  o.max_batch = 8;
  StatusOr<Graph> g = BuildZooModel("mlp", o);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? std::move(*g) : Graph();
}

TEST(CudaCompileTest, MlpForSm90a) { ExpectCompilesFor(Mlp(), "cuda-sm90"); }

TEST(CudaCompileTest, MlpForSm80) { ExpectCompilesFor(Mlp(), "cuda-sm80"); }

TEST(CudaCompileTest, ElementwiseFusionWithConstantsForSm90a) {
  ExpectCompilesFor(ParseVerified(R"(graph @ew(%x: f16[N,4,5], %y: f16[4,1]) -> (%z) where N in [1, 8] {
  %c = constant [0.5] : f16[]
  %a = add(%x, %y) : f16[N,4,5]
  %b = mul(%a, %c) : f16[N,4,5]
  %z = gelu(%b) : f16[N,4,5]
})"),
                    "cuda-sm90");
}

TEST(CudaCompileTest, GemmOddShapesForSm90a) {
  // K=7, N=10: contiguous extents without a 2-element vector width, and bf16 with N=6.
  ExpectCompilesFor(ParseVerified(R"(graph @odd(%a: f16[3,7], %b: f16[10,7], %c: bf16[5,8], %d: bf16[8,6]) -> (%y, %z) {
  %y = gemm(%a, %b) {trans_b=true} : f16[3,10]
  %z = gemm(%c, %d) : bf16[5,6]
})"),
                    "cuda-sm90");
}

// One graph per op family (each nvcc run costs tens of seconds), over the three float dtypes.
TEST(CudaCompileTest, ReduceAndNormFamiliesForSm90a) {
  ExpectCompilesFor(ParseVerified(R"(graph @norms(%x: f16[N,17], %w: f16[17], %b: f16[17], %y: bf16[N,4,6], %z: f32[N,8,3,3], %gw: f32[8], %gb: f32[8]) -> (%s, %ls, %ln, %rn, %rs, %rm, %mx, %gn) where N in [1, 8] {
  %s = softmax(%x) {axis=-1} : f16[N,17]
  %ls = log_softmax(%y) {axis=1} : bf16[N,4,6]
  %ln = layer_norm(%x, %w, %b) {eps=1e-05} : f16[N,17]
  %rn = rms_norm(%y) {axis=-2, eps=1e-05} : bf16[N,4,6]
  %rs = reduce_sum(%z) {axes=[1,3]} : f32[N,3]
  %rm = reduce_mean(%y) {axes=[-1], keepdims=true} : bf16[N,4,1]
  %mx = reduce_max(%z) {axes=[0,2]} : f32[8,3]
  %gn = group_norm(%z, %gw, %gb) {groups=4} : f32[N,8,3,3]
})"),
                    "cuda-sm90");
}

TEST(CudaCompileTest, LayoutFamilyForSm90a) {
  ExpectCompilesFor(ParseVerified(R"(graph @layout(%x: f16[N,5,33], %i: i64[7], %e: f32[10,16], %ids: i32[N,3], %v: bf16[5,1]) -> (%t, %t2, %c, %s1, %s2, %sl, %p, %g, %em, %ex) where N in [1, 8] {
  %t = transpose(%x) {perm=[0,2,1]} : f16[N,33,5]
  %t2 = transpose(%x) {perm=[1,0,2]} : f16[5,N,33]
  %c = concat(%x, %x) {axis=1} : f16[N,10,33]
  %s1, %s2 = split(%x) {axis=2, sizes=[10,23]} : f16[N,5,10], f16[N,5,23]
  %sl = slice(%x) {starts=[1,32], ends=[4,0], axes=[1,2], steps=[2,-3]} : f16[N,2,11]
  %p = pad(%e) {pads=[1,2,3,4], mode=reflect} : f32[14,22]
  %g = gather(%x, %i) {axis=1} : f16[N,7,33]
  %em = embedding(%e, %ids) : f32[N,3,16]
  %ex = expand(%v) {shape=[2,5,4]} : bf16[2,5,4]
})"),
                    "cuda-sm90");
}

TEST(CudaCompileTest, PoolsResizeAndVectorisedElementwiseForSm80) {
  ExpectCompilesFor(ParseVerified(R"(graph @pools(%x: f16[N,9,9,8], %y: bf16[N,4,7,7], %a: f32[N,64], %c: f32[]) -> (%mp, %ap, %gp, %gm, %rb, %rn, %z) where N in [1, 8] {
  %mp = max_pool2d(%x) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f16[N,5,5,8]
  %ap = avg_pool2d(%y) {kernel=[2,2], stride=[2,2], ceil_mode=true} : bf16[N,4,4,4]
  %gp = global_avg_pool2d(%x) {layout=nhwc} : f16[N,1,1,8]
  %gm = global_max_pool2d(%y) : bf16[N,4,1,1]
  %rb = resize(%y) {mode=bilinear, size=[5,9]} : bf16[N,4,5,9]
  %rn = resize(%x) {scales=[2.0,0.5], coordinate_mode=asymmetric, nearest_mode=floor, layout=nhwc} : f16[N,18,4,8]
  %m = mul(%a, %c) : f32[N,64]
  %z = cast(%m) {to=f16} : f16[N,64]
})"),
                    "cuda-sm80");
}

TEST(CudaCompileTest, UnsupportedOpIsAClearError) {
  KILN_REQUIRE_NVCC();
  Graph g = ParseVerified(R"(graph @bn(%x: f16[2,8], %s: f16[8], %b: f16[8], %m: f16[8], %v: f16[8]) -> (%y) {
  %y = batch_norm(%x, %s, %b, %m, %v) : f16[2,8]
})");
  CompileOptions options;
  options.target = "cuda-sm90";
  options.output_dir = FreshCompileDir("batch_norm_cuda");
  options.cache_dir = std::string(KILN_BINARY_DIR) + "/test-object-cache";
  StatusOr<CompileResult> r = Compile(g, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().ToString(),
            "unimplemented: %y = batch_norm (line 2): op batch_norm is not supported on the cuda-sm90 target yet");
  std::filesystem::remove_all(options.output_dir);
}

TEST(CudaCompileTest, UnsupportedDTypeIsAClearError) {
  KILN_REQUIRE_NVCC();
  Graph g = ParseVerified(R"(graph @rs(%x: i32[2,8]) -> (%y) {
  %y = reduce_sum(%x) {axes=[1]} : i32[2]
})");
  CompileOptions options;
  options.target = "cuda-sm90";
  options.output_dir = FreshCompileDir("reduce_i32_cuda");
  options.cache_dir = std::string(KILN_BINARY_DIR) + "/test-object-cache";
  StatusOr<CompileResult> r = Compile(g, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().ToString(),
            "unimplemented: %y = reduce_sum (line 2): dtype i32 of %x (i32[2,8]) is not supported by reduce_sum on "
            "the cuda targets (f32, f16 and bf16 are)");
  std::filesystem::remove_all(options.output_dir);
}


// ------------------------------------------------------------------------------------------------
// Hopper gemm (CUTLASS 3.x, src/codegen/cuda/gemm_sm90.cc and gemm_config.cc). The config and
// emitter checks need no nvcc; the compile test builds two sm90 kernels (about a minute each).

GemmProblem F16Problem(int64_t m, int64_t n, int64_t k, int64_t batch = 1) {
  GemmProblem p;
  p.m = m;
  p.n = n;
  p.k = k;
  p.batch = batch;
  p.align_a = k % 8 == 0 ? 8 : 1;
  p.align_b = p.align_d = n % 8 == 0 ? 8 : 1;
  return p;
}

TEST(CudaGemmSm90Config, CandidatesAreValidAndHeuristicPicksOne) {
  for (const GemmProblem& p : {F16Problem(8192, 8192, 8192), F16Problem(384, 768, 768), F16Problem(100352, 64, 576),
                               F16Problem(16, 24, 32, 4)}) {
    std::vector<GemmConfig> candidates = Sm90GemmCandidates(p);
    ASSERT_FALSE(candidates.empty()) << p.m << "x" << p.n << "x" << p.k;
    EXPECT_LE(candidates.size(), 12u);
    for (const GemmConfig& c : candidates) EXPECT_TRUE(ValidSm90Config(c)) << c.Name();
    const std::string pick = HeuristicGemmConfig(p).Name();
    EXPECT_TRUE(std::any_of(candidates.begin(), candidates.end(), [&](const GemmConfig& c) { return c.Name() == pick; }))
        << pick;
  }
  EXPECT_EQ(HeuristicGemmConfig(F16Problem(8192, 8192, 8192)).Name(), "128x256x64_2x1_coop");
  EXPECT_EQ(HeuristicGemmConfig(F16Problem(100352, 64, 576)).Name(), "128x64x64_1x1_pingpong");
  EXPECT_EQ(HeuristicGemmConfig(F16Problem(384, 768, 768)).Name(), "64x128x64_1x1_pingpong");
  // A 24-column problem keeps no 128-wide-or-more N tile.
  for (const GemmConfig& c : Sm90GemmCandidates(F16Problem(16, 24, 32, 4))) EXPECT_EQ(c.tile_n, 64) << c.Name();
}

TEST(CudaGemmSm90Config, TmaNeedsSixteenByteExtents) {
  EXPECT_EQ(Sm90Unsupported(F16Problem(64, 64, 64)), "");
  EXPECT_NE(Sm90Unsupported(F16Problem(64, 7, 64)), "");  // N = 7
  EXPECT_NE(Sm90Unsupported(F16Problem(64, 64, 1)), "");  // K = 1
  EXPECT_TRUE(Sm90GemmCandidates(F16Problem(64, 1, 64)).empty());
  GemmProblem f32 = F16Problem(64, 64, 64);
  f32.a = DType::kF32;
  EXPECT_NE(Sm90Unsupported(f32), "");
}

TEST(CudaGemmSm90Config, ParsesItsNames) {
  const GemmProblem p = F16Problem(512, 512, 512);
  for (const GemmConfig& c : Sm90GemmCandidates(p)) {
    StatusOr<GemmConfig> back = ParseGemmConfig(c.Name(), p);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->Name(), c.Name());
  }
  StatusOr<GemmConfig> staged = ParseGemmConfig("128x128x64_1x1_coop_s5", p);
  ASSERT_TRUE(staged.ok());
  EXPECT_EQ(staged->stages, 5);
  EXPECT_EQ(ParseGemmConfig("128x128", p).status().ToString(),
            "invalid argument: gemm config \"128x128\" does not parse: expected "
            "<tileM>x<tileN>x<tileK>_<clusterM>x<clusterN>_<coop|pingpong>[_s<stages>], e.g. 128x256x64_2x1_coop, or sm80");
  EXPECT_FALSE(ParseGemmConfig("64x128x64_1x1_coop", p).ok());       // cooperative needs tile M >= 128
  EXPECT_FALSE(ParseGemmConfig("128x256x64_1x1_pingpong", p).ok());  // 256 accumulator registers
}

// The body the `target` emitter writes for the graph's gemm node `name`.
std::string GemmKernelBody(const Graph& g, const std::string& name, const std::string& target) {
  for (const auto& node : g.nodes()) {
    if (node->output()->name() != name) continue;
    codegen::KernelContext ctx(*node, {});
    codegen::CodeWriter w;
    Status s = codegen::cuda::CudaTarget(target).find(OpKind::kGemm)(ctx, w);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return w.str();
  }
  ADD_FAILURE() << "no node %" << name;
  return "";
}

TEST(CudaGemmSm90Emitter, FusesTheEpilogueAndFallsBackForOddExtents) {
  Graph g = ParseVerified(R"(graph @g(%a: f16[64,256], %w: f16[256,128], %bias: f16[128], %x: bf16[4,64,32], %v: bf16[48,64], %r: bf16[4,32,48], %o: f16[3,7], %ow: f16[7,10]) -> (%y, %z, %u) {
  %y = gemm(%a, %w) {alpha=0.5, epilogue=[bias(%bias), gelu]} : f16[64,128]
  %z = gemm(%x, %v) {trans_a=true, trans_b=true, epilogue=[add(%r), silu, scale(2.0), cast(f32)]} : f32[4,32,48]
  %u = gemm(%o, %ow) : f16[3,10]
})");
  const std::string y = GemmKernelBody(g, "y", "cuda-sm90");
  EXPECT_NE(y.find("Hopper CUTLASS 3.x GEMM, config 64x128x64_1x1_pingpong"), std::string::npos) << y;
  EXPECT_NE(y.find("kiln_cuda::sm90::Node<kiln_cuda::sm90::Mul, float, E0>;  // alpha"), std::string::npos) << y;
  EXPECT_NE(y.find("kiln_cuda::sm90::Bias<cutlass::half_t, Tile>>;  // bias(%bias)"), std::string::npos) << y;
  EXPECT_NE(y.find("kiln_cuda::sm90::Node<kiln_cuda::sm90::Gelu, cutlass::half_t, E2>;  // gelu -> D"), std::string::npos) << y;
  EXPECT_EQ(y.find("LaunchElementwise"), std::string::npos) << "no separate epilogue pass:\n" << y;

  // Transposed a, shared (broadcast) b, residual as the source operand C, f32 output.
  const std::string z = GemmKernelBody(g, "z", "cuda-sm90");
  EXPECT_NE(z.find("kiln_cuda::sm90::Source<cutlass::bfloat16_t>>;  // add(%r), the source operand C"), std::string::npos) << z;
  EXPECT_NE(z.find("cutlass::bfloat16_t, cutlass::layout::ColumnMajor, cutlass::bfloat16_t, cutlass::layout::ColumnMajor, "
                   "cutlass::bfloat16_t, float,"),
            std::string::npos) << z;
  EXPECT_NE(z.find("m, n, k, batch, in0, m, m * k, in1, k, 0, in2, n, m * n,"), std::string::npos) << z;

  // K = 7: not a multiple of 8 halves, the 2.x kernel; cuda-sm80 always takes it.
  const std::string u = GemmKernelBody(g, "u", "cuda-sm90");
  EXPECT_NE(u.find("sm90 TMA kernel not used (a's contiguous extent (K) is not a multiple of 16 bytes)"),
            std::string::npos) << u;
  EXPECT_NE(u.find("cutlass::gemm::device::Gemm<"), std::string::npos) << u;
  const std::string y80 = GemmKernelBody(g, "y", "cuda-sm80");
  EXPECT_EQ(y80.find("kiln_cuda::sm90"), std::string::npos) << y80;
  EXPECT_NE(y80.find("cutlass::arch::Sm80"), std::string::npos) << y80;
}

TEST(CudaGemmSm90Emitter, FoldsABatchedRowMajorAIntoM) {
  Graph g = ParseVerified(R"(graph @g(%a: f16[N,16,64], %w: f16[64,32]) -> (%y) where N in [1, 8] {
  %y = gemm(%a, %w) : f16[N,16,32]
})");
  const std::string y = GemmKernelBody(g, "y", "cuda-sm90");
  EXPECT_NE(y.find("batch folded into M"), std::string::npos) << y;
  EXPECT_NE(y.find("Run<Gemm>(\"%y = gemm (line 2): CUTLASS sm90 gemm\", batch * m, n, k, 1, in0, k, 0, in1, n, 0,"),
            std::string::npos) << y;
}

// Compiles for sm_90a: a fused bias+gelu gemm, and a transposed, batched gemm with a broadcast b
// and a residual epilogue; both must take the sm90 kernel.
TEST(CudaCompileTest, GemmSm90FusedEpilogueAndBatchedTransposedForSm90a) {
  KILN_REQUIRE_NVCC();
  Graph g = ParseVerified(R"(graph @gemm90(%a: f16[N,64], %w: f16[64,128], %bias: f16[128], %x: bf16[4,64,32], %v: bf16[48,64], %r: bf16[4,32,48]) -> (%y, %z) where N in [1, 256] {
  %y = gemm(%a, %w) {epilogue=[bias(%bias), gelu]} : f16[N,128]
  %z = gemm(%x, %v) {trans_a=true, trans_b=true, epilogue=[add(%r), silu]} : bf16[4,32,48]
})");
  CompileOptions options;
  options.target = "cuda-sm90";
  options.output_dir = FreshCompileDir("gemm90");
  options.tune = TuneMode::kOff;  // the heuristic's configs, also where a GPU is present
  options.cache_dir = std::string(KILN_BINARY_DIR) + "/test-object-cache";
  StatusOr<CompileResult> r = Compile(g, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  int sm90_kernels = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(r->source_dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find("#include \"kiln_cuda_gemm_sm90.cuh\"") != std::string::npos) ++sm90_kernels;
  }
  EXPECT_EQ(sm90_kernels, 2);
  StatusOr<std::shared_ptr<Module>> module = Module::Load(r->library_path);
  ASSERT_TRUE(module.ok()) << module.status().ToString();
  std::filesystem::remove_all(options.output_dir);
}

}  // namespace
}  // namespace kiln
