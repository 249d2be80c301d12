#include "passes/constants_to_weights.h"

#include <memory>
#include <string>
#include <vector>

#include "passes/rewrite_util.h"
#include "support/tensor.h"

namespace kiln {

StatusOr<bool> ConstantsToWeightsPass::Run(Graph& graph) {
  std::vector<Node*> constants;
  for (const auto& n : graph.nodes()) {
    if (n->op() == OpKind::kConstant) constants.push_back(n.get());
  }
  if (constants.empty()) return false;
  if (graph.weights() == nullptr) graph.set_weights(std::make_shared<TensorMap>());
  TensorMap& weights = *graph.weights();
  for (Node* c : constants) {
    Value* v = c->output();
    const std::vector<int64_t>& shape = c->GetInts("shape");
    int64_t numel = 1;
    for (int64_t d : shape) numel *= d;
    const std::vector<double>& values = c->GetFloats("value");
    std::vector<double> data(numel, values.size() == 1 ? values[0] : 0.0);
    if (values.size() != 1) data = values;
    const std::string name = FreshWeightName(weights, "kiln.constant." + v->name());
    weights.emplace(name, Tensor::FromF64(v->dtype(), shape, data));
    Attrs attrs;
    attrs.Set("name", name);
    attrs.Set("dtype", v->dtype());
    attrs.Set("shape", shape);
    KILN_ASSIGN_OR_RETURN(Node * w, graph.AddNode(OpKind::kWeight, {}, std::move(attrs),
                                                  {graph.FreshName(v->name() + ".weight")}));
    graph.MoveBefore(w, c);
    ReplaceNode(graph, c, {w->output()});
  }
  return true;
}

}  // namespace kiln
