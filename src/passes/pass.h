// Pass: one graph rewrite. Passes are small classes in one .h/.cc/_test.cc triple each, composed
// by PassPipeline (pipeline.h) in a straight-line order with a why-comment per position.
//
// Contract: Run() returns true if it changed the graph and false only if the graph is exactly as
// before (tests check this by printing before and after). A pass keeps the graph verifiable; the
// pipeline runs the verifier after each pass when asked to (always in tests).
#ifndef KILN_PASSES_PASS_H_
#define KILN_PASSES_PASS_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"

namespace kiln {

class Pass {
 public:
  virtual ~Pass() = default;
  /// kebab-case name used by `kiln opt --pass=NAME`, IR dumps and errors ("dead-code-elimination").
  virtual std::string_view name() const = 0;
  /// Rewrites `graph` in place; returns whether anything changed.
  virtual StatusOr<bool> Run(Graph& graph) = 0;
};

/// A pass by name (see registry.cc), or nullptr if there is none.
std::unique_ptr<Pass> CreatePass(std::string_view name);
/// Names of every registered pass, in registry order.
std::vector<std::string> PassNames();

}  // namespace kiln

#endif  // KILN_PASSES_PASS_H_
