// The CUDA targets on a GPU (ctest label gpu; skipped where no GPU is present): models compiled
// for the GPU this runs on, run on device buffers, compared with the reference interpreter.
// Tolerances: |got - want| <= atol + rtol * |want| per element, f16/bf16 2e-2 / 2e-2 (the gemm
// stores its f16 result before the epilogue pass: one extra rounding), f32 1e-4 / 1e-5.
#include <cuda_runtime.h>

#include "models/zoo.h"
#include "tests/e2e/cpu_e2e_util.h"

namespace kiln {
namespace {

bool HasGpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

// "cuda-sm90" on Hopper, "cuda-sm80" on Ampere and Ada.
std::string TargetOfThisGpu() {
  cudaDeviceProp p{};
  cudaGetDeviceProperties(&p, 0);
  return p.major >= 9 ? "cuda-sm90" : "cuda-sm80";
}

struct GpuOptions {
  double rtol = 2e-2;
  double atol = 2e-2;
  std::vector<SymbolBindings> bindings = {{}};
};

void ExpectCudaMatchesInterpreter(const Graph& graph, const GpuOptions& options = {}) {
  if (!HasGpu()) GTEST_SKIP() << "no CUDA GPU";
  std::unique_ptr<Graph> g = graph.Clone();
  auto weights = std::make_shared<TensorMap>(graph.weights() ? *graph.weights() : TensorMap{});
  std::mt19937 rng(99);
  pass_test_internal::AddMissingWeights(*g, *weights, rng);
  g->set_weights(weights);

  std::unique_ptr<Graph> copy = g->Clone();
  CompileOptions copts;
  copts.target = TargetOfThisGpu();
  copts.output_dir = FreshCompileDir(g->name() + "_gpu");
  copts.verify_each_pass = true;
  copts.cache_dir = std::string(KILN_BINARY_DIR) + "/test-object-cache";
  StatusOr<CompileResult> compiled = Compile(*copy, copts);
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  StatusOr<std::shared_ptr<Module>> module = Module::Load(compiled->library_path);
  ASSERT_TRUE(module.ok()) << module.status().ToString();
  StatusOr<std::unique_ptr<Instance>> instance = (*module)->CreateInstance(compiled->weights_path);
  ASSERT_TRUE(instance.ok()) << instance.status().ToString();

  for (const SymbolBindings& given : options.bindings) {
    SymbolBindings bindings = given.empty() ? TestBindings(*g) : given;
    std::vector<Tensor> inputs = RandomInputsFor(*g, bindings);
    StatusOr<std::vector<Tensor>> want = Interpret(*g, inputs);
    ASSERT_TRUE(want.ok()) << want.status().ToString();

    StatusOr<std::vector<int64_t>> dims = (*instance)->BindDims(inputs);
    ASSERT_TRUE(dims.ok()) << dims.status().ToString();
    ASSERT_TRUE((*instance)->SetDims(*dims).ok());
    std::vector<void*> device_in, device_out;
    std::vector<Tensor> got;
    for (const Tensor& t : inputs) {
      void* p = nullptr;
      ASSERT_EQ(cudaMalloc(&p, std::max<int64_t>(t.nbytes(), 1)), cudaSuccess);
      ASSERT_EQ(cudaMemcpy(p, t.data(), t.nbytes(), cudaMemcpyHostToDevice), cudaSuccess);
      device_in.push_back(p);
    }
    for (size_t o = 0; o < want->size(); ++o) {
      StatusOr<std::vector<int64_t>> shape = (*instance)->OutputShape(static_cast<int>(o));
      ASSERT_TRUE(shape.ok());
      got.emplace_back((*want)[o].dtype(), *shape);
      void* p = nullptr;
      ASSERT_EQ(cudaMalloc(&p, std::max<int64_t>(got.back().nbytes(), 1)), cudaSuccess);
      device_out.push_back(p);
    }
    std::vector<const void*> in_ptrs(device_in.begin(), device_in.end());
    Status run = (*instance)->RunRaw(in_ptrs, device_out, nullptr);
    ASSERT_TRUE(run.ok()) << run.ToString();
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    for (size_t o = 0; o < got.size(); ++o) {
      ASSERT_EQ(cudaMemcpy(got[o].mutable_data(), device_out[o], got[o].nbytes(), cudaMemcpyDeviceToHost), cudaSuccess);
      bool exact = !IsFloat(got[o].dtype());
      ExpectTensorsClose((*want)[o], got[o], exact ? 0 : options.rtol, exact ? 0 : options.atol,
                         g->name() + " output " + std::to_string(o) + " at " + inputs[0].TypeString());
    }
    for (void* p : device_in) cudaFree(p);
    for (void* p : device_out) cudaFree(p);
  }
  std::filesystem::remove_all(copts.output_dir);
}

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

}  // namespace
}  // namespace kiln
