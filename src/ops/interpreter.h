// The reference interpreter: runs any verified graph on the CPU with the ops' reference
// implementations. It is the ground truth every backend is tested against.
#ifndef KILN_OPS_INTERPRETER_H_
#define KILN_OPS_INTERPRETER_H_

#include <vector>

#include "ir/graph.h"
#include "support/tensor.h"

namespace kiln {

/// Binds the symbolic dims of the graph inputs from the concrete input shapes (checking dtypes,
/// static dims, consistency and declared ranges; errors name the input, expected vs actual).
StatusOr<SymbolBindings> BindInputs(const Graph& graph, const std::vector<Tensor>& inputs);

/// Runs `graph` on `inputs` (one per graph input, in order) and returns one tensor per graph
/// output. Weights come from graph.weights() by name (NotFound if missing; InvalidArgument if
/// dtype/shape differ from the declaration).
StatusOr<std::vector<Tensor>> Interpret(const Graph& graph, const std::vector<Tensor>& inputs);

}  // namespace kiln

#endif  // KILN_OPS_INTERPRETER_H_
