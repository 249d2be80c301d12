// algebraic-simplification: removes operations that do nothing and merges adjacent data
// movement.
//
// What (each rewrite is exact, so results are bit-identical):
//   reshape(x) to x's own shape                        -> x
//   reshape(reshape(x))                                -> reshape(x)
//   transpose(transpose(x, p), q)                      -> transpose(x, p∘q), or x if identity
//   x*1, 1*x, x+0, 0+x, x-0, x/1                       -> x
//   cast(x) {to = x's dtype}                           -> x
// For the arithmetic rules the 1 or 0 must be a `constant` node every element of which is
// exactly that value, and broadcasting it must not change x's shape or dtype (the result type
// equals x's type); `x+0` turning -0.0 into +0.0 is accepted (they compare equal).
// Preconditions: a verified graph.
// Postconditions: the graph verifies; rewritten nodes are removed or rewired in place; their
// former operands may be left dead (the inner reshape, the constant 1) for DCE to remove; graph
// outputs keep their names (a rewrite that would rename a graph input is skipped).
#ifndef KILN_PASSES_SIMPLIFY_H_
#define KILN_PASSES_SIMPLIFY_H_

#include "passes/pass.h"

namespace kiln {

class SimplifyPass : public Pass {
 public:
  std::string_view name() const override { return "algebraic-simplification"; }
  StatusOr<bool> Run(Graph& graph) override;
};

}  // namespace kiln

#endif  // KILN_PASSES_SIMPLIFY_H_
