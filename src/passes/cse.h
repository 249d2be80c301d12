// common-subexpression-elimination: merges nodes that compute the same thing.
//
// What: two nodes are the same when they have the same op, the same operands (the same SSA
// values, in order), equal attributes (AttrValueEquals: so weights with the same name and
// constants with identical values match, and fusion nodes match only when their bodies are
// structurally equal) and the same result types. The later node's results are replaced by the
// earlier node's and the later node is removed. One forward walk suffices: merging a node makes
// its users' operands identical before the walk reaches them.
// Preconditions: a verified graph; every op is pure (true of the whole op set).
// Postconditions: the graph verifies; graph outputs keep their names (a merge that would need
// two outputs to share a value, or rename a graph input, is skipped).
#ifndef KILN_PASSES_CSE_H_
#define KILN_PASSES_CSE_H_

#include "passes/pass.h"

namespace kiln {

class CsePass : public Pass {
 public:
  std::string_view name() const override { return "common-subexpression-elimination"; }
  StatusOr<bool> Run(Graph& graph) override;
};

}  // namespace kiln

#endif  // KILN_PASSES_CSE_H_
