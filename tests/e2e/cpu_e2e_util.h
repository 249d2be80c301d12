// End-to-end test harness for the CPU target: compile a graph with kiln::Compile into a fresh
// directory, load the library with the runtime (kiln::Module), run it, and compare every output
// with the reference interpreter on the graph as given (before the passes).
//
//   Builder b("relu");
//   ...
//   ExpectCpuMatchesInterpreter(FinishGraph(b));              // random inputs and weights
//   ExpectCpuMatchesInterpreter(graph, {.rtol = 1e-3});       // looser tolerance
//
// Objects go to a cache under the build tree, so the runtime sources compile once per build.
#ifndef KILN_TESTS_E2E_CPU_E2E_UTIL_H_
#define KILN_TESTS_E2E_CPU_E2E_UTIL_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "compiler/compile.h"
#include "kiln/module.h"
#include "ops/interpreter.h"
#include "passes/pass_test_util.h"

namespace kiln {

struct CpuE2eOptions {
  /// Per element: |got - want| <= atol + rtol * |want| (integers and bools must match exactly).
  double rtol = 1e-4;
  double atol = 1e-5;
  /// Symbol values for the inputs (default: TestBindings, 3 clamped into each range).
  SymbolBindings bindings = {};
  /// Explicit inputs (default: FillRandom with a fixed seed).
  std::vector<Tensor> inputs = {};
  bool embed_weights = false;
  /// Keep the output directory (printed) for a look at the generated code.
  bool keep = false;
};

/// A fresh directory under the build tree for one compile.
inline std::string FreshCompileDir(const std::string& hint) {
  static std::atomic<int> counter{0};
  std::string name = hint;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  std::filesystem::path dir = std::filesystem::path(KILN_BINARY_DIR) / "e2e-out" /
                              (name + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  return dir.string();
}

/// Compiles `graph` (a clone; weights shared) for the cpu target into a fresh directory.
inline StatusOr<CompileResult> CompileForTest(const Graph& graph, const std::string& dir,
                                              bool embed_weights = false) {
  std::unique_ptr<Graph> copy = graph.Clone();
  CompileOptions options;
  options.target = "cpu";
  options.output_dir = dir;
  options.embed_weights = embed_weights;
  options.verify_each_pass = true;
  options.cache_dir = std::string(KILN_BINARY_DIR) + "/test-object-cache";
  return Compile(*copy, options);
}

/// Random inputs for `graph` under `bindings` (FillRandom, fixed seed).
inline std::vector<Tensor> RandomInputsFor(const Graph& graph, const SymbolBindings& bindings,
                                           uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::vector<Tensor> inputs = {};
  for (const Value* in : graph.inputs()) {
    StatusOr<std::vector<int64_t>> shape = EvaluateShape(in->shape(), bindings);
    EXPECT_TRUE(shape.ok()) << shape.status().ToString();
    if (!shape.ok()) return {};
    Tensor t(in->dtype(), *shape);
    FillRandom(t, rng);
    inputs.push_back(t);
  }
  return inputs;
}

/// Compiles and runs `graph` on the cpu target and on the interpreter; expects equal outputs.
/// Weight nodes without data in graph.weights() get random data first.
inline void ExpectCpuMatchesInterpreter(const Graph& graph, const CpuE2eOptions& options = {}) {
  std::unique_ptr<Graph> g = graph.Clone();
  auto weights = std::make_shared<TensorMap>(graph.weights() ? *graph.weights() : TensorMap{});
  std::mt19937 rng(99);
  pass_test_internal::AddMissingWeights(*g, *weights, rng);
  g->set_weights(weights);

  SymbolBindings bindings = options.bindings.empty() ? TestBindings(*g) : options.bindings;
  std::vector<Tensor> inputs = options.inputs.empty() ? RandomInputsFor(*g, bindings) : options.inputs;
  StatusOr<std::vector<Tensor>> want = Interpret(*g, inputs);
  ASSERT_TRUE(want.ok()) << "interpreter: " << want.status().ToString();

  std::string dir = FreshCompileDir(g->name());
  StatusOr<CompileResult> compiled = CompileForTest(*g, dir, options.embed_weights);
  ASSERT_TRUE(compiled.ok()) << "compile: " << compiled.status().ToString();
  StatusOr<std::shared_ptr<Module>> module = Module::Load(compiled->library_path);
  ASSERT_TRUE(module.ok()) << module.status().ToString();
  StatusOr<std::unique_ptr<Instance>> instance = (*module)->CreateInstance(compiled->weights_path);
  ASSERT_TRUE(instance.ok()) << instance.status().ToString();
  std::vector<Tensor> got;
  Status run = (*instance)->Run(inputs, &got);
  ASSERT_TRUE(run.ok()) << run.ToString();
  ASSERT_EQ(got.size(), want->size());
  for (size_t o = 0; o < got.size(); ++o) {
    bool exact = !IsFloat((*want)[o].dtype());
    ExpectTensorsClose((*want)[o], got[o], exact ? 0 : options.rtol, exact ? 0 : options.atol,
                       "graph " + g->name() + " output " + std::to_string(o) + " (\"" +
                           g->outputs()[o]->name() + "\")");
  }
  if (options.keep || ::testing::Test::HasFailure()) {
    std::cerr << "generated code kept in " << dir << "\n";
  } else {
    std::filesystem::remove_all(dir);
  }
}

}  // namespace kiln

#endif  // KILN_TESTS_E2E_CPU_E2E_UTIL_H_
