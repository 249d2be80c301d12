// The CUDA targets on a machine without a GPU (CI): the generated CUDA of small models compiles
// with nvcc for sm_90a and sm_80 and links into a module library whose interface loads; creating
// an instance there fails with a CUDA error instead of crashing. Running on a GPU is tested in
// tests/gpu (label gpu).
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "build/subprocess.h"
#include "build/toolchain.h"
#include "codegen/cuda/conv_tuning.h"
#include "codegen/cuda/cuda_target.h"
#include "codegen/cuda/gemm_config.h"
#include "codegen/cuda/gemm_tuning.h"
#include "codegen/module_emitter.h"
#include "models/zoo.h"
#include "tests/e2e/cpu_e2e_util.h"
#include "tests/scoped_env.h"

namespace kiln {
namespace {

using codegen::cuda::GemmConfig;

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

// Compiles `graph` for `target` (with programmatic dependent launch: `pdl`; kernel configs
// `forced` per output name) and checks the library's interface.
void ExpectCompilesFor(const Graph& graph, const std::string& target, bool pdl = false,
                       std::map<std::string, std::string> forced = {}) {
  KILN_REQUIRE_NVCC();
  std::unique_ptr<Graph> copy = graph.Clone();
  CompileOptions options;
  options.target = target;
  options.pdl = pdl;
  options.forced_configs = std::move(forced);
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

Graph TinyCnn() {
  ZooOptions o;
  o.dtype = DType::kF16;
  o.max_batch = 8;
  StatusOr<Graph> g = BuildZooModel("tiny_cnn", o);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? std::move(*g) : Graph();
}

// A small conv net: the padded 3-channel stem and a 3x3 conv take the Hopper implicit GEMM on
// sm_90a (a CUTLASS 3.x conv kernel each), the direct kernel on sm_80.
TEST(CudaCompileTest, TinyCnnForSm90a) { ExpectCompilesFor(TinyCnn(), "cuda-sm90"); }

TEST(CudaCompileTest, TinyCnnForSm80) { ExpectCompilesFor(TinyCnn(), "cuda-sm80"); }

// --pdl: kiln's kernels through cudaLaunchKernelEx with griddepcontrol waits, CUTLASS's sm90
// gemms with CUTLASS_ENABLE_GDC_FOR_SM90, its sm90 conv launched without (the GPU test's graph);
// a stream-K gemm (forced: a tuner candidate), whose file is built without griddepcontrol
// (CUTLASS 4.2's stream-K scheduler does not compile with it).
TEST(CudaCompileTest, ProgrammaticDependentLaunchForSm90a) {
  ExpectCompilesFor(
      ParseVerified(
          R"(graph @pdl(%x: f16[N,64,256], %w1: f16[256,256], %b1: f16[256], %g: f16[256], %be: f16[256], %im: f16[N,16,16,16], %wc: f16[32,3,3,16], %bc: f16[32], %l: f16[64,1024], %wl: f16[1024,128]) -> (%s, %r, %c, %k) where N in [1, 8] {
  %h = gemm(%x, %w1) {alpha=0.0625, epilogue=[bias(%b1), gelu]} : f16[N,64,256]
  %n = layer_norm(%h, %g, %be) {axis=-1, eps=1e-5} : f16[N,64,256]
  %t = transpose(%n) {perm=[0,2,1]} : f16[N,256,64]
  %a = add(%t, %t) : f16[N,256,64]
  %s = softmax(%a) {axis=-1} : f16[N,256,64]
  %r = reduce_sum(%a) {axes=[1]} : f16[N,64]
  %c1 = conv2d(%im, %wc) {pad=[1,1,1,1], layout=nhwc, epilogue=[bias(%bc), relu]} : f16[N,16,16,32]
  %c = max_pool2d(%c1) {kernel=[2,2], stride=[2,2], layout=nhwc} : f16[N,8,8,32]
  %k = gemm(%l, %wl) : f16[64,128]
})"),
      "cuda-sm90", /*pdl=*/true, {{"k", "128x128x64_1x1_coop_streamk"}});
}

// The warp-group-MMA attention kernel (forced: the tiling "wgmma..."), f16 head dim 64 with a
// padding mask and causal in 128-row CTAs, bf16 head dim 128 with grouped-query heads in 64-row
// CTAs.
TEST(CudaCompileTest, AttentionWgmmaForSm90a) {
  ExpectCompilesFor(
      ParseVerified(
          R"(graph @wgmma(%q: f16[N,17,4,64], %m: f32[N,1,1,17], %bq: bf16[N,9,4,128], %bk: bf16[N,9,2,128]) -> (%a, %b) where N in [1, 8] {
  %a = attention(%q, %q, %q, %m) {causal=true} : f16[N,17,4,64]
  %b = attention(%bq, %bk, %bk) : bf16[N,9,4,128]
})"),
      "cuda-sm90", /*pdl=*/false, {{"a", "wgmma"}, {"b", "wgmma64x128"}});
}

// The warp-specialized attention kernel (the tiling "wgmma-ws..."): TMA descriptors built on the
// host, the producer / consumer pipeline, register reallocation; the same graph as above.
TEST(CudaCompileTest, AttentionWarpSpecializedForSm90a) {
  ExpectCompilesFor(
      ParseVerified(
          R"(graph @ws(%q: f16[N,17,4,64], %m: f32[N,1,1,17], %bq: bf16[N,9,4,128], %bk: bf16[N,9,2,128]) -> (%a, %b) where N in [1, 8] {
  %a = attention(%q, %q, %q, %m) {causal=true} : f16[N,17,4,64]
  %b = attention(%bq, %bk, %bk) : bf16[N,9,4,128]
})"),
      "cuda-sm90", /*pdl=*/false, {{"a", "wgmma-ws64x3"}, {"b", "wgmma-wspp"}});
}

// The wgmma attention kernel's tile loads advance each thread's swizzled shared-memory address by a
// constant per pass (LoadTile); attention_sm90_layout_check.cu compares that with CuTe's address of
// every element of every tile the kernel instantiates, in host code (no GPU needed).
TEST(CudaCompileTest, AttentionSm90TileAddressing) {
  KILN_REQUIRE_NVCC();
  std::string cutlass;
  if (const char* env = std::getenv("KILN_CUTLASS_DIR"); env != nullptr && *env != '\0') cutlass = env;
#ifdef KILN_CUTLASS_DIR
  if (cutlass.empty()) cutlass = KILN_CUTLASS_DIR;
#endif
  ASSERT_FALSE(cutlass.empty()) << "CUTLASS headers: set KILN_CUTLASS_DIR";
  const std::string src = KILN_SOURCE_DIR;
  const std::string dir = FreshCompileDir("attention_sm90_layout_check");
  std::filesystem::create_directories(dir);
  const std::string exe = dir + "/check";
  StatusOr<SubprocessResult> built = RunSubprocess(
      {FindNvcc()->compiler, "-std=c++17", "-arch=sm_90a", "-O1", "--expt-relaxed-constexpr",
       "--extended-lambda", "-I" + src + "/src/codegen/cuda/runtime_src",
       "-I" + src + "/src/codegen/runtime_src", "-I" + cutlass,
       src + "/tests/e2e/attention_sm90_layout_check.cu", "-o", exe});
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  ASSERT_EQ(built->exit_code, 0) << built->output;
  StatusOr<SubprocessResult> ran = RunSubprocess({exe});
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  EXPECT_EQ(ran->exit_code, 0) << ran->output;
  EXPECT_NE(ran->output.find("every tile address matches"), std::string::npos) << ran->output;
}

TEST(CudaCompileTest, ElementwiseFusionWithConstantsForSm90a) {
  ExpectCompilesFor(ParseVerified(R"(graph @ew(%x: f16[N,4,5], %y: f16[4,1]) -> (%z) where N in [1, 8] {
  %c = constant [0.5] : f16[]
  %a = add(%x, %y) : f16[N,4,5]
  %b = mul(%a, %c) : f16[N,4,5]
  %z = gelu(%b) : f16[N,4,5]
})"),
                    "cuda-sm90");
}

TEST(CudaCompileTest, ElementwiseBroadcastVectorsForSm90a) {
  // A table added to every image and a per-row scale: vectors along the innermost dim.
  ExpectCompilesFor(ParseVerified(R"(graph @ew(%x: f16[N,3,40], %pos: f16[1,3,40], %r: f32[N,16,24], %s: f32[N,16,1]) -> (%y, %z) where N in [1, 8] {
  %y = add(%x, %pos) : f16[N,3,40]
  %z = mul(%r, %s) : f32[N,16,24]
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

// One graph per op family (each nvcc run costs tens of seconds), over the three float dtypes
// (attention rides along: its flash kernel for f16 D=64 with a padding mask and causal, and
// with q, k, v packed in one input).
TEST(CudaCompileTest, ReduceAndNormFamiliesForSm90a) {
  ExpectCompilesFor(ParseVerified(R"(graph @norms(%x: f16[N,17], %w: f16[17], %b: f16[17], %y: bf16[N,4,6], %z: f32[N,8,3,3], %gw: f32[8], %gb: f32[8], %aq: f16[N,17,4,64], %ak: f16[N,9,2,64], %am: f32[N,1,1,9], %pk: f16[N,9,3,2,64], %iz: i32[N,6]) -> (%s, %ls, %ln, %rn, %rs, %rm, %mx, %gn, %at, %pa, %ax, %an) where N in [1, 8] {
  %s = softmax(%x) {axis=-1} : f16[N,17]
  %ls = log_softmax(%y) {axis=1} : bf16[N,4,6]
  %ln = layer_norm(%x, %w, %b) {eps=1e-05} : f16[N,17]
  %rn = rms_norm(%y) {axis=-2, eps=1e-05} : bf16[N,4,6]
  %rs = reduce_sum(%z) {axes=[1,3]} : f32[N,3]
  %rm = reduce_mean(%y) {axes=[-1], keepdims=true} : bf16[N,4,1]
  %mx = reduce_max(%z) {axes=[0,2]} : f32[8,3]
  %gn = group_norm(%z, %gw, %gb) {groups=4} : f32[N,8,3,3]
  %at = attention(%aq, %ak, %ak, %am) {causal=true} : f16[N,17,4,64]
  %pa = attention(%pk) {packed=true} : f16[N,9,2,64]
  %ax = arg_max(%z) {axis=1, keepdims=false} : i64[N,3,3]
  %an = arg_min(%iz) {axis=-1, select_last_index=true} : i64[N,1]
})"),
                    "cuda-sm90");
}

TEST(CudaCompileTest, LayoutFamilyForSm90a) {
  ExpectCompilesFor(ParseVerified(R"(graph @layout(%x: f16[N,5,33], %i: i64[7], %e: f32[10,16], %ids: i32[N,3], %v: bf16[5,1], %gi: i64[N,3,33]) -> (%t, %t2, %c, %s1, %s2, %sl, %p, %g, %em, %ex, %ge) where N in [1, 8] {
  %t = transpose(%x) {perm=[0,2,1]} : f16[N,33,5]
  %t2 = transpose(%x) {perm=[1,0,2]} : f16[5,N,33]
  %c = concat(%x, %x) {axis=1} : f16[N,10,33]
  %s1, %s2 = split(%x) {axis=2, sizes=[10,23]} : f16[N,5,10], f16[N,5,23]
  %sl = slice(%x) {starts=[1,32], ends=[4,0], axes=[1,2], steps=[2,-3]} : f16[N,2,11]
  %p = pad(%e) {pads=[1,2,3,4], mode=reflect} : f32[14,22]
  %g = gather(%x, %i) {axis=1} : f16[N,7,33]
  %em = embedding(%e, %ids) : f32[N,3,16]
  %ex = expand(%v) {shape=[2,5,4]} : bf16[2,5,4]
  %ge = gather_elements(%x, %gi) {axis=1} : f16[N,3,33]
})"),
                    "cuda-sm90");
}

// (with attention: the flash kernel for bf16 D=80, Dv=40, grouped-query heads)
TEST(CudaCompileTest, PoolsResizeAndVectorisedElementwiseForSm80) {
  ExpectCompilesFor(ParseVerified(R"(graph @pools(%x: f16[N,9,9,8], %y: bf16[N,4,7,7], %a: f32[N,64], %c: f32[], %aq: bf16[N,5,4,80], %ak: bf16[N,7,2,80], %av: bf16[N,7,2,40], %ctw: bf16[4,2,3,3]) -> (%mp, %ap, %gp, %gm, %rb, %rn, %z, %at, %ct) where N in [1, 8] {
  %mp = max_pool2d(%x) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f16[N,5,5,8]
  %ap = avg_pool2d(%y) {kernel=[2,2], stride=[2,2], ceil_mode=true} : bf16[N,4,4,4]
  %gp = global_avg_pool2d(%x) {layout=nhwc} : f16[N,1,1,8]
  %gm = global_max_pool2d(%y) : bf16[N,4,1,1]
  %rb = resize(%y) {mode=bilinear, size=[5,9]} : bf16[N,4,5,9]
  %rn = resize(%x) {scales=[2.0,0.5], coordinate_mode=asymmetric, nearest_mode=floor, layout=nhwc} : f16[N,18,4,8]
  %m = mul(%a, %c) : f32[N,64]
  %z = cast(%m) {to=f16} : f16[N,64]
  %at = attention(%aq, %ak, %av) : bf16[N,5,4,40]
  %ct = conv_transpose2d(%y, %ctw) {stride=[2,2], pad=[1,1,1,1], output_padding=[1,1], groups=2, epilogue=[relu]} : bf16[N,4,14,14]
})"),
                    "cuda-sm80");
}

// conv_transpose2d's direct kernel (nhwc, f16 with bias and a cast epilogue; nchw bf16 grouped is
// in the sm80 test above).
TEST(CudaCompileTest, ConvTransposeForSm90a) {
  ExpectCompilesFor(ParseVerified(R"(graph @up(%x: f16[N,5,5,8], %w: f16[8,4,4,6], %b: f16[6]) -> (%y) where N in [1, 8] {
  %y = conv_transpose2d(%x, %w) {stride=[2,2], pad=[1,1,1,1], layout=nhwc, epilogue=[bias(%b), cast(f32)]} : f32[N,10,10,6]
})"),
                    "cuda-sm90");
}

TEST(CudaCompileTest, UnsupportedOpIsAClearError) {
  KILN_REQUIRE_NVCC();
  Graph g = ParseVerified(R"(graph @se(%x: f16[2,8], %i: i64[2,8]) -> (%y) {
  %y = scatter_elements(%x, %i, %x) : f16[2,8]
})");
  CompileOptions options;
  options.target = "cuda-sm90";
  options.output_dir = FreshCompileDir("scatter_elements_cuda");
  options.cache_dir = std::string(KILN_BINARY_DIR) + "/test-object-cache";
  StatusOr<CompileResult> r = Compile(g, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().ToString(),
            "unimplemented: %y = scatter_elements (line 2): op scatter_elements is not supported on the "
            "cuda-sm90 target yet");
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
// Hopper gemm emitter (CUTLASS 3.x, src/codegen/cuda/gemm_sm90.cc): the emitter checks need no
// nvcc; the compile test builds two sm90 kernels (about a minute each). The configs and the
// heuristic are tested in cuda_gemm_config_test.cc.

// The body the `target` emitter writes for the graph's node `name`, followed by the code of the
// shared functions it calls.
std::string KernelBody(const Graph& g, const std::string& name, const std::string& target) {
  for (const auto& node : g.nodes()) {
    if (node->output()->name() != name) continue;
    codegen::KernelContext ctx(*node, {});
    codegen::CodeWriter w;
    Status s = codegen::cuda::CudaTarget(target).find(node->op())(ctx, w);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::string text = w.str();  // the body, then the shared functions it calls
    for (const codegen::SharedFunction& f : ctx.shared()) text += "// " + f.name + ":\n" + f.code;
    return text;
  }
  ADD_FAILURE() << "no node %" << name;
  return "";
}

// Elementwise spaces of several dims take 16-byte vectors along the innermost dim when its
// extent and every outer stride of the contiguous operands are multiples of a vector; operands
// constant along that dim are read per element; anything else stays on the scalar path.
TEST(CudaElementwiseEmitter, VectorsAlongTheInnermostDimOfABroadcast) {
  const Graph g = ParseVerified(R"(graph @ew(%x: f16[N,3,40], %pos: f16[1,3,40], %r: f32[N,16,24], %s: f32[N,16,1], %o: f16[N,3,5], %op: f16[1,3,5]) -> (%y, %z, %w) where N in [1, 8] {
  %y = add(%x, %pos) : f16[N,3,40]
  %z = mul(%r, %s) : f32[N,16,24]
  %w = add(%o, %op) : f16[N,3,5]
})");
  const std::string y = KernelBody(g, "y", "cuda-sm90");
  EXPECT_NE(y.find("8-element (16-byte) vectors along the innermost dim"), std::string::npos) << y;
  EXPECT_NE(y.find("kiln_cuda::LoadVector(vec_in0, in0 + (i0 * 120 + i1));"), std::string::npos) << y;
  EXPECT_NE(y.find("kiln_cuda::LoadVector(vec_in1, in1 + i1);"), std::string::npos) << y;
  const std::string z = KernelBody(g, "z", "cuda-sm90");
  EXPECT_NE(z.find("4-element (16-byte) vectors along the innermost dim"), std::string::npos) << z;
  EXPECT_NE(z.find("in1[i0]"), std::string::npos) << "the per-row scale, read per element:\n" << z;
  // 5 elements per row: a vector would cross rows.
  EXPECT_EQ(KernelBody(g, "w", "cuda-sm90").find("kVec"), std::string::npos);
}

// The FFN's first gemm (K = 768, N = 3072): with GELU (a transcendental activation, which a
// cooperative kernel cannot overlap with a mainloop) 128x128 pingpong, with ReLU the 128x256 tile.
TEST(CudaGemmSm90Emitter, TranscendentalEpilogueWithShortKTakesPingpong) {
  Graph g = ParseVerified(R"(graph @ffn(%x: f16[49152,768], %w: f16[768,3072], %b: f16[3072]) -> (%g, %r) {
  %g = gemm(%x, %w) {trans_b=false, epilogue=[bias(%b), gelu]} : f16[49152,3072]
  %r = gemm(%x, %w) {trans_b=false, epilogue=[bias(%b), relu]} : f16[49152,3072]
})");
  const std::string gelu = KernelBody(g, "g", "cuda-sm90"), relu = KernelBody(g, "r", "cuda-sm90");
  EXPECT_NE(gelu.find("config 128x128x64_1x1_pingpong"), std::string::npos) << gelu;
  EXPECT_NE(gelu.find("a transcendental activation"), std::string::npos) << gelu;
  EXPECT_NE(relu.find("config 128x256x64_2x1_coop"), std::string::npos) << relu;
}

TEST(CudaGemmSm90Emitter, FusesTheEpilogueAndFallsBackForOddExtents) {
  Graph g = ParseVerified(R"(graph @g(%a: f16[64,256], %w: f16[256,128], %bias: f16[128], %x: bf16[4,64,32], %v: bf16[48,64], %r: bf16[4,32,48], %o: f16[3,7], %ow: f16[7,10]) -> (%y, %z, %u, %t) {
  %y = gemm(%a, %w) {alpha=0.5, epilogue=[bias(%bias), gelu]} : f16[64,128]
  %z = gemm(%x, %v) {trans_a=true, trans_b=true, epilogue=[add(%r), silu, scale(2.0), cast(f32)]} : f32[4,32,48]
  %u = gemm(%o, %ow) : f16[3,10]
  %t = gemm(%a, %w) {epilogue=[gelu_tanh, cast(f32)]} : f32[64,128]
})");
  const std::string y = KernelBody(g, "y", "cuda-sm90");
  EXPECT_NE(y.find("Hopper CUTLASS 3.x GEMM, config 64x128x64_1x1_pingpong"), std::string::npos) << y;
  EXPECT_NE(y.find("kiln_cuda::sm90::Node<kiln_cuda::sm90::Mul, float, E0>;  // alpha"), std::string::npos) << y;
  EXPECT_NE(y.find("kiln_cuda::sm90::Bias<cutlass::half_t, Tile>>;  // bias(in2)"), std::string::npos) << y;
  // A 16-bit output: GELU through one tanh.approx; an f32 output keeps the accurate form.
  EXPECT_NE(y.find("kiln_cuda::sm90::Node<kiln_cuda::sm90::GeluFor16BitOutput, cutlass::half_t, E2>;  // gelu -> D"), std::string::npos) << y;
  const std::string t = KernelBody(g, "t", "cuda-sm90");
  EXPECT_NE(t.find("kiln_cuda::sm90::Node<kiln_cuda::sm90::GeluTanh, float, E0>;  // gelu_tanh -> D"), std::string::npos) << t;
  EXPECT_EQ(y.find("LaunchElementwise"), std::string::npos) << "no separate epilogue pass:\n" << y;

  // Transposed a, shared (broadcast) b, residual as the source operand C, f32 output.
  const std::string z = KernelBody(g, "z", "cuda-sm90");
  EXPECT_NE(z.find("kiln_cuda::sm90::Source<cutlass::bfloat16_t>>;  // add(in2), the source operand C"), std::string::npos) << z;
  EXPECT_NE(z.find("cutlass::bfloat16_t, cutlass::layout::ColumnMajor, cutlass::bfloat16_t, cutlass::layout::ColumnMajor, "
                   "cutlass::bfloat16_t, float,"),
            std::string::npos) << z;
  EXPECT_NE(z.find("m, n, k, batch, in0, m, m * k, in1, k, 0, in2, n, m * n,"), std::string::npos) << z;

  // K = 7: not a multiple of 8 halves, the 2.x kernel; cuda-sm80 always takes it.
  const std::string u = KernelBody(g, "u", "cuda-sm90");
  EXPECT_NE(u.find("sm90 TMA kernel not used (a's contiguous extent (K) is not a multiple of 16 bytes)"),
            std::string::npos) << u;
  EXPECT_NE(u.find("cutlass::gemm::device::Gemm<"), std::string::npos) << u;
  const std::string y80 = KernelBody(g, "y", "cuda-sm80");
  EXPECT_EQ(y80.find("kiln_cuda::sm90"), std::string::npos) << y80;
  EXPECT_NE(y80.find("cutlass::arch::Sm80"), std::string::npos) << y80;
}

TEST(CudaGemmSm90Emitter, FoldsABatchedRowMajorAIntoM) {
  Graph g = ParseVerified(R"(graph @g(%a: f16[N,16,64], %w: f16[64,32]) -> (%y) where N in [1, 8] {
  %y = gemm(%a, %w) : f16[N,16,32]
})");
  const std::string y = KernelBody(g, "y", "cuda-sm90");
  EXPECT_NE(y.find("batch folded into M"), std::string::npos) << y;
  EXPECT_NE(y.find("const int64_t size[] = {16, 32, 64, sym_N};"), std::string::npos) << y;
  EXPECT_NE(y.find("(\"%y = gemm (line 2): CUTLASS sm90 gemm\", in, out, size, stream);"), std::string::npos) << y;
  EXPECT_NE(y.find("Run<Gemm>(what, batch * m, n, k, 1, in0, k, 0, in1, n, 0,"), std::string::npos) << y;
}

// A stream-K config (a tuner candidate for less than a wave of output tiles and a long K; forced
// here) splits K: its kernel asks for scratch, which the module places after the planned buffers
// and passes after the outputs; a symbolic-M gemm's scratch is bounded by two waves of tiles.
TEST(CudaModuleEmitter, StreamKGemmsGetKernelScratch) {
  ScopedEnv forced("KILN_GEMM_CONFIG", "128x128x64_1x1_coop_streamk");
  Graph g = ParseVerified(R"(graph @s(%x: f16[384,3072], %t: f16[N,197,3072]) -> (%y, %z) where N in [1, 64] {
  %w = weight "w" : f16[3072,768]
  %b = weight "b" : f16[768]
  %y = gemm(%x, %w) {epilogue=[bias(%b)]} : f16[384,768]
  %z = gemm(%t, %w) : f16[N,197,768]
})");
  const std::string y = KernelBody(g, "y", "cuda-sm90");
  EXPECT_NE(y.find("config 128x128x64_1x1_coop_streamk (forced"), std::string::npos) << y;
  EXPECT_NE(y.find("cutlass::gemm::KernelTmaWarpSpecializedCooperative, "
                   "cutlass::epilogue::TmaWarpSpecializedCooperative, E1, cutlass::gemm::StreamKScheduler>;"),
            std::string::npos) << y;
  // A forced (or tuned) config is bounded like a tuned row bucket: two waves of 128x128 f32 tiles
  // and barrier flags (the heuristic's static problem would need one wave for its 3 x 6 tiles).
  const int64_t bytes = (264 * 128 * 128 * 4) + (264 + 132) * 64 + 4096;
  EXPECT_NE(y.find("const int64_t size[] = {384, 768, 3072, 1, " + std::to_string(bytes) + "};"),
            std::string::npos) << y;
  EXPECT_NE(y.find("out0, n, m * n, ep1, stream, out[1], size[4]);"), std::string::npos) << y;
  const std::string z = KernelBody(g, "z", "cuda-sm90");
  EXPECT_EQ(z.find("small-size config"), std::string::npos) << "forced: one config\n" << z;
  EXPECT_NE(z.find("out0, n, 0, ep1, stream, out[1], size[4]);"), std::string::npos) << z;
  EXPECT_NE(z.find(", " + std::to_string(bytes) + "};"), std::string::npos) << z;
  // Split-K: the same kernel type, the split count passed to Run.
  ScopedEnv split("KILN_GEMM_CONFIG", "128x128x64_1x1_coop_splitk4");
  const std::string ys = KernelBody(g, "y", "cuda-sm90");
  EXPECT_NE(ys.find("config 128x128x64_1x1_coop_splitk4 (forced"), std::string::npos) << ys;
  EXPECT_NE(ys.find("out0, n, m * n, ep1, stream, out[1], size[4], 4);"), std::string::npos) << ys;

  StatusOr<MemoryPlan> plan = PlanMemory(g);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  StatusOr<codegen::GeneratedModule> m =
      codegen::EmitModule(g, *plan, codegen::cuda::CudaTarget("cuda-sm90"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_GE(m->scratch_bytes, bytes);
  const std::string& model = m->model.text;
  const std::string ws = "ws + " + std::to_string(plan->workspace_bytes);
  EXPECT_NE(model.find("void* o[] = {a.outputs[0], " + ws + "};"), std::string::npos) << model;
  EXPECT_NE(model.find("void* o[] = {a.outputs[1], " + ws + "};"), std::string::npos) << model;
  EXPECT_NE(model.find(std::to_string(plan->workspace_bytes + m->scratch_bytes) +
                       ",  // workspace bytes (the last " + std::to_string(m->scratch_bytes) +
                       ": kernel scratch)"),
            std::string::npos) << model;
}

// A dynamic batch scales the workspace (MemoryPlan::scale_symbol): buffers at multiples of the
// batch, the kernel scratch after the batch's units, ModelDesc's per-unit bytes for the runtime.
TEST(CudaModuleEmitter, SwizzledConfigNamesItsSwizzle) {
  // The swizzle is a run-time argument of the same kernel: the Gemm type carries it after the
  // (default) tile scheduler, and Run passes it to CUTLASS's scheduler.
  ScopedEnv forced("KILN_GEMM_CONFIG", "128x128x64_1x1_pingpong_sw8");
  Graph g = ParseVerified(R"(graph @s(%x: f16[4096,768]) -> (%y) {
  %w = weight "w" : f16[768,768]
  %y = gemm(%x, %w) : f16[4096,768]
})");
  const std::string y = KernelBody(g, "y", "cuda-sm90");
  EXPECT_NE(y.find("config 128x128x64_1x1_pingpong_sw8 (forced"), std::string::npos) << y;
  EXPECT_NE(y.find("cutlass::gemm::KernelTmaWarpSpecializedPingpong, cutlass::epilogue::TmaWarpSpecialized, E1, void, 8>;"),
            std::string::npos) << y;
}

TEST(CudaModuleEmitter, KernelScratchFollowsAScalingWorkspace) {
  ScopedEnv forced("KILN_GEMM_CONFIG", "128x128x64_1x1_coop_streamk");
  Graph g = ParseVerified(R"(graph @s(%x: f16[N,64,1024], %w: f16[1024,256]) -> (%y) where N in [1, 8] {
  %h = relu(%x) : f16[N,64,1024]
  %y = gemm(%h, %w) : f16[N,64,256]
})");
  StatusOr<MemoryPlan> plan = PlanMemory(g);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->scale_symbol, "N");
  EXPECT_EQ(plan->unit_bytes, 64 * 1024 * 2);  // %h per batch item
  StatusOr<codegen::GeneratedModule> m =
      codegen::EmitModule(g, *plan, codegen::cuda::CudaTarget("cuda-sm90"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_GT(m->scratch_bytes, 0);
  const std::string& model = m->model.text;
  EXPECT_NE(model.find("void* o[] = {a.outputs[0], ws + 131072 * sym_N};"), std::string::npos)
      << model;
  EXPECT_NE(model.find(std::to_string(8 * 131072 + m->scratch_bytes) + ",  // workspace bytes"),
            std::string::npos) << model;
  EXPECT_NE(model.find("0, 131072,  // the workspace scales with N: bytes per unit"),
            std::string::npos) << model;
}

// Convs of different shapes with one tile, dtype and epilogue share one CUTLASS instantiation:
// one shared function file (the heavy compile) called from each node's light kernel file.
TEST(CudaModuleEmitter, ConvsOfDifferentShapesShareOneInstantiation) {
  Graph g = ParseVerified(R"(graph @s(%x: f16[N,28,28,64]) -> (%c) where N in [1, 8] {
  %w1 = weight "w1" : f16[64,3,3,64]
  %b1 = weight "b1" : f16[64]
  %a = conv2d(%x, %w1) {pad=[1,1,1,1], layout=nhwc, epilogue=[bias(%b1), relu]} : f16[N,28,28,64]
  %w2 = weight "w2" : f16[64,3,3,64]
  %b2 = weight "b2" : f16[64]
  %c = conv2d(%a, %w2) {pad=[1,1,1,1], stride=[2,2], layout=nhwc, epilogue=[bias(%b2), relu]} : f16[N,14,14,64]
})");
  StatusOr<MemoryPlan> plan = PlanMemory(g);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  StatusOr<codegen::GeneratedModule> m =
      codegen::EmitModule(g, *plan, codegen::cuda::CudaTarget("cuda-sm90"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::vector<std::string> shared, light;
  for (const codegen::GeneratedFile& f : m->kernels) {
    (f.path.rfind("kernels/conv_sm90_", 0) == 0 ? shared : light).push_back(f.text);
  }
  ASSERT_EQ(shared.size(), 2u) << "a 128-row and a small-batch 64-row instantiation";
  ASSERT_EQ(light.size(), 2u) << "the two nodes differ in their sizes";
  EXPECT_NE(shared[0].find("shared by 2 nodes"), std::string::npos) << shared[0];
  EXPECT_NE(shared[1].find("shared by 2 nodes"), std::string::npos) << shared[1];
  EXPECT_NE(light[0].find("if ((size[0] * size[7] * size[8] + 127) / 128 * ((size[4] + 63) / 64) < 132) {"),
            std::string::npos) << light[0];
  EXPECT_NE(shared[0].find("#include \"kiln_cuda_conv_sm90.cuh\""), std::string::npos) << shared[0];
  for (const std::string& k : light) {
    EXPECT_EQ(k.find("kiln_cuda_conv_sm90.cuh"), std::string::npos) << "a light file:\n" << k;
    EXPECT_NE(k.find("extern void conv_sm90_"), std::string::npos) << k;
  }
  EXPECT_NE(light[1].find("size[] = {sym_N, 28, 28, 64, 64, 3, 3, 14, 14, 1, 1, 1, 1, 2, 2, 1, 1};"),
            std::string::npos) << light[1];
}

// Compiles for sm_90a: a fused bias+gelu gemm with a symbolic M (two instantiations: many rows and
// small batches), a transposed, batched gemm with a broadcast b and a residual epilogue, and a
// split-K gemm (a few tiles, K 1024 in 4 slices; forced) with kernel scratch; all must take the
// sm90 kernel.
TEST(CudaCompileTest, GemmSm90FusedEpilogueAndBatchedTransposedForSm90a) {
  KILN_REQUIRE_NVCC();
  Graph g = ParseVerified(R"(graph @gemm90(%a: f16[N,64], %w: f16[64,128], %bias: f16[128], %x: bf16[4,64,32], %v: bf16[48,64], %r: bf16[4,32,48], %s: f16[64,1024], %t: f16[1024,256]) -> (%y, %z, %k) where N in [1, 256] {
  %y = gemm(%a, %w) {epilogue=[bias(%bias), gelu]} : f16[N,128]
  %z = gemm(%x, %v) {trans_a=true, trans_b=true, epilogue=[add(%r), silu]} : bf16[4,32,48]
  %k = gemm(%s, %t) {epilogue=[relu]} : f16[64,256]
})");
  CompileOptions options;
  options.target = "cuda-sm90";
  options.output_dir = FreshCompileDir("gemm90");
  options.tune = TuneMode::kOff;  // the heuristic's configs, also where a GPU is present
  options.forced_configs = {{"k", "128x128x64_1x1_coop_splitk4"}, {"z", "128x128x64_1x1_coop_sw4"}};
  options.cache_dir = std::string(KILN_BINARY_DIR) + "/test-object-cache";
  StatusOr<CompileResult> r = Compile(g, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  int sm90_kernels = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(r->source_dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // kiln_cuda_gemm_sm90.cuh, or kiln_cuda_gemm_sm90_streamk.cuh for a stream-K kernel
    if (text.find("#include \"kiln_cuda_gemm_sm90") != std::string::npos) ++sm90_kernels;
  }
  EXPECT_EQ(sm90_kernels, 4) << "y (symbolic N): the large and the small-batch config; z, k: one";
  EXPECT_GT(r->plan.scratch_bytes, 0) << "k: split-K";
  StatusOr<std::shared_ptr<Module>> module = Module::Load(r->library_path);
  ASSERT_TRUE(module.ok()) << module.status().ToString();
  std::filesystem::remove_all(options.output_dir);
}


// ------------------------------------------------------------------------------------------------
// conv2d emitters (src/codegen/cuda/conv.cc): which kernel each conv takes, and why.

TEST(CudaConvEmitter, ChoosesImplicitGemmPointwiseGemmOrDirect) {
  Graph g = ParseVerified(R"(graph @c(%x: f16[N,14,14,16], %r: f16[N,14,14,32], %d: f16[2,9,9,32], %f: f32[1,5,5,8]) -> (%a, %p, %dw, %k10, %f32) where N in [1, 8] {
  %w1 = weight "w1" : f16[32,3,3,16]
  %b1 = weight "b1" : f16[32]
  %a = conv2d(%x, %w1) {pad=[1,1,1,1], layout=nhwc, epilogue=[bias(%b1), add(%r), relu]} : f16[N,14,14,32]
  %w2 = weight "w2" : f16[64,1,1,32]
  %p = conv2d(%a, %w2) {layout=nhwc} : f16[N,14,14,64]
  %w3 = weight "w3" : f16[32,3,3,1]
  %dw = conv2d(%d, %w3) {pad=[1,1,1,1], groups=32, layout=nhwc} : f16[2,9,9,32]
  %w4 = weight "w4" : f16[10,1,1,32]
  %k10 = conv2d(%d, %w4) {layout=nhwc} : f16[2,9,9,10]
  %w5 = weight "w5" : f32[8,3,3,8]
  %f32 = conv2d(%f, %w5) {layout=nhwc} : f32[1,3,3,8]
})");
  const std::string a = KernelBody(g, "a", "cuda-sm90");
  EXPECT_NE(a.find("Hopper CUTLASS 3.x implicit-GEMM conv2d (TMA im2col), symbolic batch: 128-row tiles; <= 64 output "
                   "channels: 64-wide tiles, two CTAs per SM; 16 input channels: K tile 16"), std::string::npos) << a;
  EXPECT_NE(a.find("kiln_cuda::sm90::Source<cutlass::half_t>>;  // add(in3), the source operand C"), std::string::npos) << a;
  EXPECT_NE(a.find("using Conv = kiln_cuda::sm90::Conv<cutlass::half_t, cutlass::half_t, cutlass::half_t, Tile, Cluster, E3, 2>;"),
            std::string::npos) << a;
  EXPECT_NE(a.find("size[] = {sym_N, 14, 14, 16, 32, 3, 3, 14, 14, 1, 1, 1, 1, 1, 1, 1, 1};"), std::string::npos) << a;
  EXPECT_NE(a.find("(\"%a = conv2d (line 4): CUTLASS sm90 conv\", in, out, size, stream);"), std::string::npos) << a;
  EXPECT_NE(a.find("RunConv<Conv>(what, g, in0, in1, in3, out0, ep3, stream);"), std::string::npos) << a;
  const std::string p = KernelBody(g, "p", "cuda-sm90");
  EXPECT_NE(p.find("1x1 conv, stride 1: one Hopper CUTLASS 3.x GEMM [N*H*W, C] x [O, C]^T"), std::string::npos) << p;
  EXPECT_NE(p.find("const int64_t size[] = {sym_N * 196, 64, 32};"), std::string::npos) << p;
  EXPECT_NE(p.find("cutlass::half_t, cutlass::layout::RowMajor, cutlass::half_t, cutlass::layout::ColumnMajor, void,"),
            std::string::npos) << p;
  const std::string dw = KernelBody(g, "dw", "cuda-sm90");
  EXPECT_NE(dw.find("direct convolution: the Hopper implicit GEMM cannot take groups 32"), std::string::npos) << dw;
  EXPECT_NE(dw.find("kiln_cuda::Conv2dDirect<kiln_cuda::F16, kiln_cuda::F16>(s, in0, in1, out0, stream);"),
            std::string::npos) << dw;
  const std::string k10 = KernelBody(g, "k10", "cuda-sm90");
  EXPECT_NE(k10.find("cannot take output channels 10 not a multiple of 8"), std::string::npos) << k10;
  const std::string f32 = KernelBody(g, "f32", "cuda-sm90");
  EXPECT_NE(f32.find("cannot take f32 operands"), std::string::npos) << f32;
  const std::string a80 = KernelBody(g, "a", "cuda-sm80");
  EXPECT_NE(a80.find("direct convolution (cuda-sm80 has no implicit-GEMM kernel yet)"), std::string::npos) << a80;
  EXPECT_NE(a80.find("// epilogue, one pass over the output"), std::string::npos) << a80;
}

// Convs of 4 input channels: the stem takes kiln's few-channel kernel (filters and input patch in
// shared memory); a ViT patch embedding (16x16, stride 16: a 524 KB patch) CUTLASS's.
TEST(CudaConvEmitter, FewChannelsStemInSharedMemoryPatchEmbeddingOnCutlass) {
  Graph g = ParseVerified(R"(graph @few(%x: f16[N,224,224,4]) -> (%stem, %patch) where N in [1, 64] {
  %w1 = weight "w1" : f16[64,7,7,4]
  %b1 = weight "b1" : f16[64]
  %stem = conv2d(%x, %w1) {stride=[2,2], pad=[3,3,3,3], layout=nhwc, epilogue=[bias(%b1), relu]} : f16[N,112,112,64]
  %w2 = weight "w2" : f16[768,16,16,4]
  %b2 = weight "b2" : f16[768]
  %patch = conv2d(%x, %w2) {stride=[16,16], layout=nhwc, epilogue=[bias(%b2)]} : f16[N,14,14,768]
})");
  const std::string stem = KernelBody(g, "stem", "cuda-sm90");
  EXPECT_NE(stem.find("4 input channels: kiln's few-channel implicit-GEMM conv"), std::string::npos) << stem;
  EXPECT_NE(stem.find("epilogue fused"), std::string::npos) << stem;
  const std::string patch = KernelBody(g, "patch", "cuda-sm90");
  EXPECT_NE(patch.find("4 input channels: CUTLASS 2.x implicit-GEMM conv2d with the fixed-channels iterator"),
            std::string::npos) << patch;
}

// conv2d's max_pool attribute (the fuse-conv-max-pool pass's output): the few-channel kernel
// pools its tile (RunConvMaxPool with the pool's window, strides, leading pads and pooled size as
// sizes 17..24); a conv the kernel cannot take is a clear error, not a silent unpooled output.
TEST(CudaConvEmitter, FewChannelsConvPoolsItsTile) {
  Graph g = ParseVerified(R"(graph @pool(%x: f16[N,224,224,4], %y: f16[2,9,9,16]) -> (%stem, %big) where N in [1, 64] {
  %w1 = weight "w1" : f16[64,7,7,4]
  %b1 = weight "b1" : f16[64]
  %stem = conv2d(%x, %w1) {stride=[2,2], pad=[3,3,3,3], layout=nhwc, epilogue=[bias(%b1), relu], max_pool=[3,3,2,2,1,1,1,1]} : f16[N,56,56,64]
  %w2 = weight "w2" : f16[16,3,3,16]
  %big = conv2d(%y, %w2) {pad=[1,1,1,1], layout=nhwc, max_pool=[2,2,2,2,0,0,0,0]} : f16[2,4,4,16]
})");
  const std::string stem = KernelBody(g, "stem", "cuda-sm90");
  EXPECT_NE(stem.find("epilogue fused, max pool fused"), std::string::npos) << stem;
  EXPECT_NE(stem.find("RunConvMaxPool<kiln_cuda::F16, kiln_cuda::F16, 4, 7, 7, 2, true>"), std::string::npos)
      << stem;
  EXPECT_NE(stem.find("3, 3, 2, 2, 1, 1, 56, 56"), std::string::npos) << stem;  // sizes 17..24
  for (const auto& node : g.nodes()) {
    if (node->output()->name() != "big") continue;
    codegen::KernelContext ctx(*node, {});
    codegen::CodeWriter w;
    Status s = codegen::cuda::CudaTarget("cuda-sm90").find(node->op())(ctx, w);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.ToString().find("runs only on the few-channel kernel"), std::string::npos) << s.ToString();
  }
}

// The fused stem + max pool through the whole cuda-sm90 pipeline (the pass folds the pool into
// the conv) and nvcc: f16 with 3 channels padded to 4, bf16 with 8 and an overlapping window.
TEST(CudaCompileTest, FewChannelsConvWithMaxPoolForSm90a) {
  Graph g = ParseVerified(R"(graph @stem_pool(%x: f16[N,64,64,3], %z: bf16[2,20,21,8], %w1: f16[64,7,7,3], %b1: f16[64], %w2: bf16[24,3,3,8]) -> (%a, %b) where N in [1, 8] {
  %c1 = conv2d(%x, %w1) {stride=[2,2], pad=[3,3,3,3], layout=nhwc, epilogue=[bias(%b1), relu]} : f16[N,32,32,64]
  %a = max_pool2d(%c1) {kernel=[3,3], stride=[2,2], pad=[1,1,1,1], layout=nhwc} : f16[N,16,16,64]
  %c2 = conv2d(%z, %w2) {pad=[1,1,1,1], layout=nhwc} : bf16[2,20,21,24]
  %b = max_pool2d(%c2) {kernel=[3,3], stride=[1,1], pad=[1,1,1,1], layout=nhwc} : bf16[2,20,21,24]
})");
  ExpectCompilesFor(g, "cuda-sm90");
}

// The node whose (first) output is %`name` in `g` (null when none).
const Node* NodeProducing(const Graph& g, const std::string& name) {
  for (const auto& n : g.nodes()) {
    if (n->output()->name() == name) return n.get();
  }
  return nullptr;
}

// Conv tuning (conv_tuning.cc): the task of a static-batch conv, its candidates and profiling
// graph, and the emitter taking a tuned config.
TEST(CudaConvTuning, TasksCandidatesAndTunedConfigs) {
  Graph g = ParseVerified(R"(graph @c(%x: f16[4,14,14,16], %r: f16[4,14,14,32], %s: f16[N,14,14,16]) -> (%a, %p, %d) where N in [1, 8] {
  %w1 = weight "w1" : f16[32,3,3,16]
  %b1 = weight "b1" : f16[32]
  %a = conv2d(%x, %w1) {pad=[1,1,1,1], layout=nhwc, epilogue=[bias(%b1), add(%r), relu]} : f16[4,14,14,32]
  %w2 = weight "w2" : f16[64,1,1,32]
  %p = conv2d(%a, %w2) {layout=nhwc} : f16[4,14,14,64]
  %w3 = weight "w3" : f16[32,3,3,16]
  %d = conv2d(%s, %w3) {pad=[1,1,1,1], layout=nhwc} : f16[N,14,14,32]
})");
  auto node_of = [&](const std::string& name) { return NodeProducing(g, name); };
  std::optional<codegen::TuneTask> a = codegen::cuda::ConvTuneTask(g, *node_of("a"));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->signature,
            "conv2d f16->f16 nhwc 14x14x16 -> 32 kernel 3x3 stride 1,1 pad 1,1,1,1 dilation 1,1 implicit gemm "
            "operands [bias,residual] epilogue [bias,add,relu]");
  ASSERT_EQ(a->points.size(), 1u);
  EXPECT_EQ(a->points[0].shape, "N=4");
  EXPECT_EQ(a->points[0].up_to, -1);
  EXPECT_EQ(a->candidates, (std::vector<std::string>{"conv_128x64x16", "conv_128x64x16_2cta", "conv_64x64x16",
                                                      "conv_64x64x16_2cta", "conv_64x64x16_3cta"}));
  StatusOr<Graph> profile = ParseGraph(a->profile_graph, "<profile>");
  ASSERT_TRUE(profile.ok()) << profile.status().ToString() << "\n" << a->profile_graph;
  EXPECT_TRUE(Verify(*profile).ok()) << a->profile_graph;
  EXPECT_NE(a->profile_graph.find("%e3: f16[N,14,14,32]"), std::string::npos) << a->profile_graph;

  std::optional<codegen::TuneTask> p = codegen::cuda::ConvTuneTask(g, *node_of("p"));
  ASSERT_TRUE(p.has_value());
  EXPECT_NE(p->signature.find(" as gemm "), std::string::npos) << p->signature;
  ASSERT_FALSE(p->candidates.empty());
  EXPECT_EQ(p->candidates[0].rfind("conv_", 0), std::string::npos) << "gemm configs for a 1x1 conv";
  // A symbolic batch (N in [1, 8]) is timed at bucket points N = 1, 2, 8; each winner serves the
  // implicit GEMM's rows N * 14 * 14 up to the geometric mean with the next point.
  std::optional<codegen::TuneTask> d = codegen::cuda::ConvTuneTask(g, *node_of("d"));
  ASSERT_TRUE(d.has_value());
  ASSERT_EQ(d->points.size(), 3u);
  EXPECT_EQ(d->points[0].shape, "N=1");
  EXPECT_EQ(d->points[0].profile_dims, "N=1");
  EXPECT_EQ(d->points[0].up_to, 1 * 196);
  EXPECT_EQ(d->points[1].shape, "N=2");
  EXPECT_EQ(d->points[1].up_to, 4 * 196);
  EXPECT_EQ(d->points[2].shape, "N=8");
  EXPECT_EQ(d->points[2].up_to, -1);
  // Its emitter takes a rows dispatch: one instantiation per tile, chosen by N * P * Q.
  codegen::KernelContext by_rows(*node_of("d"), {}, "rows<=784:conv_64x64x16;conv_128x64x16");
  codegen::CodeWriter wd;
  ASSERT_TRUE(codegen::cuda::CudaTarget("cuda-sm90").find(OpKind::kConv2d)(by_rows, wd).ok());
  ASSERT_EQ(by_rows.shared().size(), 2u) << wd.str();
  EXPECT_NE(wd.str().find("size[0] * size[7] * size[8] <= 784"), std::string::npos) << wd.str();

  // The emitter takes a tuned config, and rejects one that does not parse.
  codegen::KernelContext tuned(*node_of("a"), {}, "conv_64x64x16");
  codegen::CodeWriter w;
  ASSERT_TRUE(codegen::cuda::CudaTarget("cuda-sm90").find(OpKind::kConv2d)(tuned, w).ok());
  EXPECT_NE(w.str().find("tuned tile conv_64x64x16"), std::string::npos) << w.str();
  ASSERT_EQ(tuned.shared().size(), 1u);
  EXPECT_NE(tuned.shared()[0].code.find("using Tile = cute::Shape<cute::_64, cute::_64, cute::Shape<cute::_16>>;"),
            std::string::npos) << tuned.shared()[0].code;
  // Two CTAs per SM: the header sizes the stages for it.
  codegen::KernelContext two(*node_of("a"), {}, "conv_128x64x16_2cta");
  codegen::CodeWriter w3;
  ASSERT_TRUE(codegen::cuda::CudaTarget("cuda-sm90").find(OpKind::kConv2d)(two, w3).ok());
  ASSERT_EQ(two.shared().size(), 1u);
  EXPECT_NE(two.shared()[0].code.find(", Tile, Cluster, E"), std::string::npos) << two.shared()[0].code;
  EXPECT_NE(two.shared()[0].code.find(", 2>;  // 2 CTAs per SM"), std::string::npos) << two.shared()[0].code;
  for (const char* text : {"conv_96x64x16", "conv_128x64x16_4cta", "conv_128x64x16_2ct", "conv_128x64x16_2cta_"}) {
    codegen::KernelContext bad(*node_of("a"), {}, text);
    codegen::CodeWriter w2;
    EXPECT_EQ(codegen::cuda::CudaTarget("cuda-sm90").find(OpKind::kConv2d)(bad, w2).ToString(),
              "invalid argument: %a = conv2d (line 4): conv config \"" + std::string(text) +
                  "\" does not parse: expected conv_<tileM>x<tileN>x<tileK>[_<2|3>cta] with M, N in {64, 128} "
                  "and K in {16, 32, 64}, e.g. conv_128x64x64 or conv_128x64x64_2cta");
  }
}

// Gemm tuning (gemm_tuning.cc): a static gemm has one point; a gemm whose rows come from a dynamic
// batch (N in [1, 64] sequences of 384) is timed at bucket points of its rows and the emitter
// carries one instantiation per tuned config, chosen by the rows at run time.
TEST(CudaGemmTuning, StaticShapeOnePointSymbolicRowsBucketPoints) {
  Graph g = ParseVerified(R"(graph @g(%x: f16[N,384,768], %y: f16[100,768]) -> (%a, %b) where N in [1, 64] {
  %w = weight "w" : f16[768,768]
  %bias = weight "bias" : f16[768]
  %a = gemm(%x, %w) {epilogue=[bias(%bias), gelu]} : f16[N,384,768]
  %b = gemm(%y, %w) : f16[100,768]
})");
  auto node_of = [&](const std::string& name) { return NodeProducing(g, name); };
  std::optional<codegen::TuneTask> b = codegen::cuda::GemmTuneTask(g, *node_of("b"));
  ASSERT_TRUE(b.has_value());
  ASSERT_EQ(b->points.size(), 1u);
  EXPECT_EQ(b->points[0].shape, "M=100,N=768,K=768,L=1");
  EXPECT_EQ(b->points[0].profile_dims, "N8=96,K8=96,M=100");
  EXPECT_EQ(b->points[0].up_to, -1);

  std::optional<codegen::TuneTask> a = codegen::cuda::GemmTuneTask(g, *node_of("a"));
  ASSERT_TRUE(a.has_value());
  ASSERT_EQ(a->points.size(), 4u);
  const std::vector<std::pair<int64_t, int64_t>> expected = {{384, 768}, {1536, 3072}, {6144, 12288}, {24576, -1}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(a->points[i].shape, "M=" + std::to_string(expected[i].first) + ",N=768,K=768,L=1");
    EXPECT_EQ(a->points[i].profile_dims, "N8=96,K8=96,M8=" + std::to_string(expected[i].first / 8));
    EXPECT_EQ(a->points[i].up_to, expected[i].second);
  }
  StatusOr<Graph> profile = ParseGraph(a->profile_graph, "<profile>");
  ASSERT_TRUE(profile.ok()) << profile.status().ToString() << "\n" << a->profile_graph;
  EXPECT_TRUE(Verify(*profile).ok()) << a->profile_graph;
  // Same signature as a static gemm of those rows would have: the cache is shared.
  EXPECT_NE(a->signature.find("epilogue [bias,gelu]"), std::string::npos) << a->signature;

  codegen::KernelContext tuned(*node_of("a"), {},
                               "rows<=768:64x128x64_1x1_pingpong;rows<=12288:128x128x64_1x1_coop;128x256x64_2x1_coop");
  codegen::CodeWriter w;
  ASSERT_TRUE(codegen::cuda::CudaTarget("cuda-sm90").find(OpKind::kGemm)(tuned, w).ok());
  ASSERT_EQ(tuned.shared().size(), 3u) << w.str();
  EXPECT_NE(w.str().find("size[3] * size[0] <= 768"), std::string::npos) << w.str();
  EXPECT_NE(w.str().find("size[3] * size[0] <= 12288"), std::string::npos) << w.str();
  codegen::KernelContext bad(*node_of("a"), {}, "rows<=768:64x128x64_1x1_pingpong;rows<=12288:128x96x64_1x1_coop;128x256x64_2x1_coop");
  codegen::CodeWriter w2;
  EXPECT_NE(codegen::cuda::CudaTarget("cuda-sm90").find(OpKind::kGemm)(bad, w2).ToString().find(
                "gemm config \"128x96x64_1x1_coop\" is not a valid sm90 kernel"),
            std::string::npos);
}

}  // namespace
}  // namespace kiln
