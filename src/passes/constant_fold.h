// constant-folding: evaluates nodes whose operands are all `constant` nodes at compile time.
//
// What: such a node is run on its own through the reference interpreter and replaced by one
// `constant` node per result (placed where the node was, so SSA order holds). Walking forward
// folds whole chains of constant arithmetic in one pass.
// Not folded, on purpose:
//   - operands that are `weight` nodes: weights stay by reference, so the compiled library binds
//     them from the weights file and the IR never copies parameter data;
//   - results with more than kMaxFoldedElements elements, or with a symbolic shape: constants
//     are stored inline in the IR as text, which must stay small and readable;
//   - integer results beyond 2^53 in magnitude (a constant's values are doubles, and must hold
//     the result exactly), and nodes whose evaluation fails (the error then shows at run time
//     exactly as without the pass).
// Preconditions: a verified graph.
// Postconditions: the graph verifies; folded operands may be left dead (DCE removes them); a
// folded graph output keeps its name.
#ifndef KILN_PASSES_CONSTANT_FOLD_H_
#define KILN_PASSES_CONSTANT_FOLD_H_

#include <cstdint>

#include "passes/pass.h"

namespace kiln {

class ConstantFoldPass : public Pass {
 public:
  /// Largest result (in elements) that is folded into an inline constant.
  static constexpr int64_t kMaxFoldedElements = 4096;

  std::string_view name() const override { return "constant-folding"; }
  StatusOr<bool> Run(Graph& graph) override;
};

}  // namespace kiln

#endif  // KILN_PASSES_CONSTANT_FOLD_H_
