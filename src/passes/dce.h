// dead-code-elimination: removes nodes whose results reach no graph output.
//
// What: walks the nodes backwards from the graph outputs; a node is live when one of its results
// is a graph output or an operand of a live node; every other node is removed.
// Preconditions: a verified graph. Fusion bodies are left alone (a body's nodes all feed its
// outputs by construction of the fusion passes).
// Postconditions: the graph verifies; every remaining node contributes to some graph output;
// graph inputs are kept even when unused (they are the compiled library's interface).
#ifndef KILN_PASSES_DCE_H_
#define KILN_PASSES_DCE_H_

#include "passes/pass.h"

namespace kiln {

class DcePass : public Pass {
 public:
  std::string_view name() const override { return "dead-code-elimination"; }
  StatusOr<bool> Run(Graph& graph) override;
};

}  // namespace kiln

#endif  // KILN_PASSES_DCE_H_
