// The CUDA targets on a machine without a GPU (CI): the generated CUDA of small models compiles
// with nvcc for sm_90a and sm_80 and links into a module library whose interface loads; creating
// an instance there fails with a CUDA error instead of crashing. Running on a GPU is tested in
// tests/gpu (label gpu).
#include <cstdlib>
#include <string>

#include "build/toolchain.h"
#include "models/zoo.h"
#include "tests/e2e/cpu_e2e_util.h"

namespace kiln {
namespace {

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

TEST(CudaCompileTest, UnsupportedOpIsAClearError) {
  KILN_REQUIRE_NVCC();
  Graph g = ParseVerified(R"(graph @sm(%x: f16[2,8]) -> (%y) {
  %y = softmax(%x) {axis=-1} : f16[2,8]
})");
  CompileOptions options;
  options.target = "cuda-sm90";
  options.output_dir = FreshCompileDir("softmax_cuda");
  options.cache_dir = std::string(KILN_BINARY_DIR) + "/test-object-cache";
  StatusOr<CompileResult> r = Compile(g, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().ToString(),
            "unimplemented: %y = softmax (line 2): op softmax is not supported on the cuda-sm90 target yet");
  std::filesystem::remove_all(options.output_dir);
}

}  // namespace
}  // namespace kiln
