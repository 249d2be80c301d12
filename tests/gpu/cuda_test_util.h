// Shared harness of the GPU tests (tests/gpu, ctest label gpu): compile a graph for the CUDA
// target of the GPU this runs on, run it on device buffers and compare every output with the
// reference interpreter. Skips the calling test when no GPU is present.
//
//   ExpectCudaMatchesInterpreter(graph);                                  // f16/bf16 tolerances
//   ExpectCudaMatchesInterpreter(graph, {.rtol = 1e-4, .atol = 1e-5});    // f32
//   ExpectCudaMatchesInterpreter(graph, {.bindings = {{{"N", 1}}, {{"N", 5}}}});
//
// KILN_TEST_PDL=1 in the environment compiles every library of the harness with --pdl (Hopper).
#ifndef KILN_TESTS_GPU_CUDA_TEST_UTIL_H_
#define KILN_TESTS_GPU_CUDA_TEST_UTIL_H_

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/cpu_e2e_util.h"

namespace kiln {

inline bool HasGpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

// "cuda-sm90" on Hopper, "cuda-sm80" on Ampere and Ada.
inline std::string TargetOfThisGpu() {
  cudaDeviceProp p{};
  cudaGetDeviceProperties(&p, 0);
  return p.major >= 9 ? "cuda-sm90" : "cuda-sm80";
}

struct GpuOptions {
  double rtol = 2e-2;
  double atol = 2e-2;
  std::vector<SymbolBindings> bindings = {{}};
  /// cuda-sm90 kernel tuning of the compile (CompileOptions::tune and tuning_cache). Off by
  /// default: the tests check the heuristic configs, and cuda_tuning_test the tuner.
  TuneMode tune = TuneMode::kOff;
  std::string tuning_cache = "";
  /// CompileOptions::pdl and cuda_graphs; with either, runs go to a created stream (graphs are
  /// captured on non-null streams only), each binding twice (a capture, then a replay).
  bool pdl = false;
  bool cuda_graphs = false;
  /// CompileOptions::forced_configs: kernel configs by node output name (e.g. a conv tile).
  std::map<std::string, std::string> forced_configs = {};
};

/// `graph` with deterministic random data for the weights it lacks (its own weights kept).
inline std::unique_ptr<Graph> WithRandomWeights(const Graph& graph) {
  std::unique_ptr<Graph> g = graph.Clone();
  auto weights = std::make_shared<TensorMap>(graph.weights() ? *graph.weights() : TensorMap{});
  std::mt19937 rng(99);
  pass_test_internal::AddMissingWeights(*g, *weights, rng);
  g->set_weights(weights);
  return g;
}

/// A library compiled for the GPU this runs on, loaded, with one instance.
struct GpuModel {
  std::string output_dir;  // remove when done
  std::shared_ptr<Module> module;
  std::unique_ptr<Instance> instance;
};

/// Compiles a copy of `g` with `copts` (target: this GPU's; output in a fresh directory named
/// after the graph and `tag`; the tests' object cache), loads it and creates an instance.
inline StatusOr<GpuModel> CompileForThisGpu(const Graph& g, CompileOptions copts,
                                            const std::string& tag) {
  std::unique_ptr<Graph> copy = g.Clone();
  copts.target = TargetOfThisGpu();
  // KILN_TEST_PDL=1: every library of the harness with programmatic dependent launch (Hopper),
  // so that the whole suite can run under it: `KILN_TEST_PDL=1 kiln_gpu_tests`.
  const char* pdl = std::getenv("KILN_TEST_PDL");
  if (pdl != nullptr && std::string(pdl) == "1" && copts.target == "cuda-sm90") copts.pdl = true;
  // Shards run side by side (GTEST_TOTAL_SHARDS processes) split the cores between their nvcc
  // jobs: 16 shards of 16 jobs each on a 16-core machine finished 5 of 71 tests in 330 s.
  // KILN_TEST_JOBS overrides that split when only some of the shards run here.
  const char* shards = std::getenv("GTEST_TOTAL_SHARDS");
  const char* jobs = std::getenv("KILN_TEST_JOBS");
  if (copts.jobs == 0 && jobs != nullptr && std::atoi(jobs) > 0) {
    copts.jobs = std::atoi(jobs);
  } else if (copts.jobs == 0 && shards != nullptr && std::atoi(shards) > 1) {
    copts.jobs = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / std::atoi(shards));
  }
  copts.output_dir = FreshCompileDir(g.name() + "_" + tag);
  copts.cache_dir = std::string(KILN_BINARY_DIR) + "/test-object-cache";
  KILN_ASSIGN_OR_RETURN(CompileResult compiled, Compile(*copy, copts));
  GpuModel m;
  m.output_dir = copts.output_dir;
  KILN_ASSIGN_OR_RETURN(m.module, Module::Load(compiled.library_path));
  KILN_ASSIGN_OR_RETURN(m.instance, m.module->CreateInstance(compiled.weights_path));
  return m;
}

/// Compiles `graph` once (missing weights random), then for each binding runs it on random
/// inputs and expects |got - want| <= atol + rtol * |want| per element (integers exact).
inline void ExpectCudaMatchesInterpreter(const Graph& graph, const GpuOptions& options = {}) {
  if (!HasGpu()) GTEST_SKIP() << "no CUDA GPU";
  std::unique_ptr<Graph> g = WithRandomWeights(graph);
  CompileOptions copts;
  copts.verify_each_pass = true;
  copts.tune = options.tune;
  copts.tuning_cache = options.tuning_cache;
  copts.pdl = options.pdl;
  copts.cuda_graphs = options.cuda_graphs;
  copts.forced_configs = options.forced_configs;
  StatusOr<GpuModel> model = CompileForThisGpu(*g, copts, "gpu");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::unique_ptr<Instance>& instance = model->instance;

  for (const SymbolBindings& given : options.bindings) {
    SymbolBindings bindings = given.empty() ? TestBindings(*g) : given;
    std::vector<Tensor> inputs = RandomInputsFor(*g, bindings);
    StatusOr<std::vector<Tensor>> want = Interpret(*g, inputs);
    ASSERT_TRUE(want.ok()) << want.status().ToString();

    StatusOr<std::vector<int64_t>> dims = instance->BindDims(inputs);
    ASSERT_TRUE(dims.ok()) << dims.status().ToString();
    ASSERT_TRUE(instance->SetDims(*dims).ok());
    std::vector<void*> device_in, device_out;
    std::vector<Tensor> got;
    for (const Tensor& t : inputs) {
      void* p = nullptr;
      ASSERT_EQ(cudaMalloc(&p, std::max<int64_t>(t.nbytes(), 1)), cudaSuccess);
      ASSERT_EQ(cudaMemcpy(p, t.data(), t.nbytes(), cudaMemcpyHostToDevice), cudaSuccess);
      device_in.push_back(p);
    }
    for (size_t o = 0; o < want->size(); ++o) {
      StatusOr<std::vector<int64_t>> shape = instance->OutputShape(static_cast<int>(o));
      ASSERT_TRUE(shape.ok());
      got.emplace_back((*want)[o].dtype(), *shape);
      void* p = nullptr;
      ASSERT_EQ(cudaMalloc(&p, std::max<int64_t>(got.back().nbytes(), 1)), cudaSuccess);
      device_out.push_back(p);
    }
    std::vector<const void*> in_ptrs(device_in.begin(), device_in.end());
    const bool on_stream = options.pdl || options.cuda_graphs;
    cudaStream_t stream = nullptr;
    if (on_stream) {
      ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
    }
    for (int rep = 0; rep < (on_stream ? 2 : 1); ++rep) {
      for (size_t o = 0; o < got.size(); ++o) {  // NaN bits: a run that writes nothing fails
        ASSERT_EQ(cudaMemset(device_out[o], 0xff, got[o].nbytes()), cudaSuccess);
      }
      Status run = instance->RunRaw(in_ptrs, device_out, stream);
      ASSERT_TRUE(run.ok()) << run.ToString();
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    }
    if (stream != nullptr) cudaStreamDestroy(stream);
    for (size_t o = 0; o < got.size(); ++o) {
      ASSERT_EQ(
          cudaMemcpy(got[o].mutable_data(), device_out[o], got[o].nbytes(), cudaMemcpyDeviceToHost),
          cudaSuccess);
      bool exact = !IsFloat(got[o].dtype());
      ExpectTensorsClose(
          (*want)[o], got[o], exact ? 0 : options.rtol, exact ? 0 : options.atol,
          g->name() + " output " + std::to_string(o) + " at " + inputs[0].TypeString());
    }
    for (void* p : device_in) cudaFree(p);
    for (void* p : device_out) cudaFree(p);
  }
  std::filesystem::remove_all(model->output_dir);
}

}  // namespace kiln

#endif  // KILN_TESTS_GPU_CUDA_TEST_UTIL_H_
