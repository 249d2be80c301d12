// Test helpers for passes (header-only; include from *_test.cc files only, it needs gtest).
//
//   ExpectNumericallyEquivalent(before, after, rtol, atol): both graphs compute the same thing on
//     the same deterministic random inputs and weights.
//   RunPassChecked(pass, graph): runs a pass and checks the Pass contract (the graph verifies;
//     `false` means the printed graph is unchanged).
#ifndef KILN_PASSES_PASS_TEST_UTIL_H_
#define KILN_PASSES_PASS_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "ir/builder.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "ops/interpreter.h"
#include "passes/pass.h"
#include "support/check.h"  // tests often KILN_CHECK their fixtures

namespace kiln {

/// Fills `t` with deterministic values: floats uniform in [-1, 1], integers in [0, 2] (small and
/// non-negative, so they are valid indices and exponents), bools 0/1.
inline void FillRandom(Tensor& t, std::mt19937& rng) {
  std::uniform_real_distribution<double> real(-1.0, 1.0);
  std::uniform_int_distribution<int> small(0, 2);
  std::uniform_int_distribution<int> bit(0, 1);
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (IsFloat(t.dtype())) {
      t.SetF64(i, real(rng));
    } else if (t.dtype() == DType::kBool) {
      t.SetF64(i, bit(rng));
    } else {
      t.SetF64(i, small(rng));
    }
  }
}

/// Each symbol bound to 3 clamped into its range: inside the range, and not 1, so a broadcast
/// that should not happen shows up as a shape mismatch.
inline SymbolBindings TestBindings(const Graph& graph) {
  SymbolBindings bindings;
  for (const auto& [name, range] : graph.symbols()) {
    bindings[name] = std::clamp<int64_t>(3, range.min, range.max);
  }
  return bindings;
}

/// Expects `got` to have `want`'s dtype and shape and |got - want| <= atol + rtol * |want|
/// elementwise (NaN only where `want` is NaN); reports up to 5 bad elements, naming `what`.
inline void ExpectTensorsClose(const Tensor& want, const Tensor& got, double rtol, double atol,
                               const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  std::vector<double> w = want.ToF64();
  std::vector<double> g = got.ToF64();
  int reported = 0;
  for (size_t i = 0; i < w.size() && reported < 5; ++i) {
    bool ok = (std::isnan(w[i]) && std::isnan(g[i])) ||
              std::fabs(g[i] - w[i]) <= atol + rtol * std::fabs(w[i]);
    if (!ok) {
      ADD_FAILURE() << what << " element " << i << ": expected " << w[i] << ", got " << g[i];
      ++reported;
    }
  }
}

namespace pass_test_internal {

// Adds random data for every weight node of `graph` that `weights` lacks.
inline void AddMissingWeights(const Graph& graph, TensorMap& weights, std::mt19937& rng) {
  for (const auto& n : graph.nodes()) {
    if (n->op() != OpKind::kWeight) continue;
    const std::string& name = n->GetString("name");
    if (weights.count(name)) continue;
    std::vector<int64_t> shape;
    for (const Dim& d : n->output()->shape()) shape.push_back(d.value());
    Tensor t(n->output()->dtype(), shape);
    FillRandom(t, rng);
    weights[name] = t;
  }
}

inline std::vector<Tensor> RunWithWeights(const Graph& graph, const TensorMap& weights,
                                          const std::vector<Tensor>& inputs, const char* which) {
  std::unique_ptr<Graph> copy = graph.Clone();
  copy->set_weights(std::make_shared<TensorMap>(weights));
  StatusOr<std::vector<Tensor>> out = Interpret(*copy, inputs);
  EXPECT_TRUE(out.ok()) << which << " graph failed to run: " << out.status().ToString();
  return out.ok() ? *out : std::vector<Tensor>{};
}

}  // namespace pass_test_internal

/// Runs `before` and `after` on the interpreter with the same deterministic random inputs and
/// weights (a graph's own weights where it has them, random data for the rest) and expects every
/// output to match: same dtype and shape, |a - b| <= atol + rtol * |b| elementwise (NaN only
/// where the other is NaN). The graphs must have the same inputs (names and types).
inline void ExpectNumericallyEquivalent(const Graph& before, const Graph& after, double rtol,
                                        double atol) {
  ASSERT_EQ(before.inputs().size(), after.inputs().size()) << "graph inputs differ";
  std::mt19937 rng(1234);
  SymbolBindings bindings = TestBindings(before);
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < before.inputs().size(); ++i) {
    const Value* in = before.inputs()[i];
    ASSERT_EQ(in->name(), after.inputs()[i]->name());
    ASSERT_EQ(in->type(), after.inputs()[i]->type()) << "input %" << in->name();
    StatusOr<std::vector<int64_t>> shape = EvaluateShape(in->shape(), bindings);
    ASSERT_TRUE(shape.ok()) << shape.status().ToString();
    Tensor t(in->dtype(), *shape);
    FillRandom(t, rng);
    inputs.push_back(t);
  }
  TensorMap weights = before.weights() ? *before.weights() : TensorMap{};
  pass_test_internal::AddMissingWeights(before, weights, rng);
  pass_test_internal::AddMissingWeights(after, weights, rng);

  std::vector<Tensor> want = pass_test_internal::RunWithWeights(before, weights, inputs, "before");
  std::vector<Tensor> got = pass_test_internal::RunWithWeights(after, weights, inputs, "after");
  ASSERT_EQ(want.size(), before.outputs().size());
  ASSERT_EQ(got.size(), want.size()) << "output counts differ";
  for (size_t o = 0; o < want.size(); ++o) {
    ExpectTensorsClose(want[o], got[o], rtol, atol, "output " + std::to_string(o));
  }
}

/// Parses and verifies `text`; a failure is a test failure and yields an empty graph.
inline Graph ParseVerified(std::string_view text) {
  StatusOr<Graph> g = ParseGraph(text, "<test>");
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  if (!g.ok()) return Graph("parse_failed");
  Status verified = Verify(*g);
  EXPECT_TRUE(verified.ok()) << verified.ToString();
  return std::move(g).value();
}

/// Runs `pass` on `graph` and checks the contract: no error, the result verifies, and a `false`
/// result leaves PrintGraph(graph) byte-identical. Returns the changed flag (false on failure).
inline bool RunPassChecked(Pass& pass, Graph& graph) {
  const std::string before = PrintGraph(graph);
  StatusOr<bool> changed = pass.Run(graph);
  EXPECT_TRUE(changed.ok()) << pass.name() << ": " << changed.status().ToString();
  if (!changed.ok()) return false;
  Status verified = Verify(graph);
  EXPECT_TRUE(verified.ok()) << pass.name() << " produced an invalid graph: " << verified.ToString()
                             << "\n"
                             << PrintGraph(graph);
  if (!*changed) {
    EXPECT_EQ(PrintGraph(graph), before) << pass.name() << " returned false but changed the graph";
  }
  return *changed;
}

/// The builder's finished graph; aborts the test binary on a builder error (a broken fixture).
inline Graph FinishGraph(Builder& b) {
  StatusOr<Graph> g = b.Finish();
  KILN_CHECK(g.ok()) << g.status().ToString();
  return std::move(*g);
}

/// Number of nodes of kind `op` in `g`.
inline int CountOps(const Graph& g, OpKind op) {
  int n = 0;
  for (const auto& node : g.nodes()) n += node->op() == op ? 1 : 0;
  return n;
}

/// Runs a fresh `P` on `graph` and expects it to report no change; RunPassChecked then also
/// checks that the printed graph is identical.
template <typename P>
void ExpectNoChange(Graph& graph) {
  P pass;
  EXPECT_FALSE(RunPassChecked(pass, graph)) << pass.name() << " changed:\n" << PrintGraph(graph);
}

}  // namespace kiln

#endif  // KILN_PASSES_PASS_TEST_UTIL_H_
