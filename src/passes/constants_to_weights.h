// constants-to-weights: turns the graph's top-level `constant` nodes into `weight` nodes whose
// data is added to Graph::weights(), for targets whose kernels run where the library's static
// data is not: on a CUDA target a constant left in model.cc is a host array, and a kernel that
// reads it through its operand pointer faults. As weights, the device runtime uploads them with
// the other weights when an instance is created. Constants inside fusion bodies are not touched
// (the fused kernel has them as literals).
//
// What: `%c = constant [v...] : T[shape]` becomes `%c = weight "kiln.constant.c" : T[shape]`
// (a fresh name when taken) with the values in the weights map (a new map when the graph has
// none; shared maps, as clones hold them, gain the entry).
// Preconditions: a verified graph. Postconditions: a verified graph computing the same values,
// with no top-level constant; returns false, untouched, when there was none.
#ifndef KILN_PASSES_CONSTANTS_TO_WEIGHTS_H_
#define KILN_PASSES_CONSTANTS_TO_WEIGHTS_H_

#include "passes/pass.h"

namespace kiln {

/// See the file comment.
class ConstantsToWeightsPass : public Pass {
 public:
  std::string_view name() const override { return "constants-to-weights"; }
  StatusOr<bool> Run(Graph& graph) override;
};

}  // namespace kiln

#endif  // KILN_PASSES_CONSTANTS_TO_WEIGHTS_H_
