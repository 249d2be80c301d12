#include "passes/constant_fold.h"

#include <cmath>
#include <optional>

#include "ops/interpreter.h"
#include "passes/rewrite_util.h"
#include "support/check.h"

namespace kiln {
namespace {

constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

bool IsConstant(const Value* v) {
  return v->producer() != nullptr && v->producer()->op() == OpKind::kConstant;
}

bool Foldable(const Node& node) {
  if (node.num_inputs() == 0) return false;  // constant/weight themselves
  for (const Value* in : node.inputs()) {
    if (!IsConstant(in)) return false;
  }
  for (const Value* out : node.outputs()) {
    for (const Dim& d : out->shape()) {
      if (!d.is_static()) return false;
    }
    std::optional<int64_t> n = NumElements(out->shape()).static_value();
    if (!n || *n > ConstantFoldPass::kMaxFoldedElements) return false;
  }
  return true;
}

// Runs `node` alone: a graph holding copies of its constant operands and the node itself.
StatusOr<std::vector<Tensor>> Evaluate(const Node& node) {
  Graph g("fold");
  std::vector<Value*> operands;
  for (const Value* in : node.inputs()) {
    const std::string name = "c" + std::to_string(operands.size());
    operands.push_back(
        g.AddNodeWithTypes(OpKind::kConstant, {}, in->producer()->attrs(), {{name, in->type()}})
            ->output());
  }
  std::vector<std::pair<std::string, TensorType>> results;
  for (int i = 0; i < node.num_outputs(); ++i) {
    results.emplace_back("r" + std::to_string(i), node.output(i)->type());
  }
  Node* copy = g.AddNodeWithTypes(node.op(), operands, node.attrs(), results);
  g.SetOutputs(copy->outputs());
  return Interpret(g, {});
}

// The constant's `value` list for `t`, or nullopt when a double list cannot hold it exactly.
std::optional<std::vector<double>> ConstantValues(const Tensor& t) {
  std::vector<double> values = t.ToF64();
  if (IsInteger(t.dtype())) {
    for (double v : values) {
      if (std::fabs(v) > kMaxExactInteger) return std::nullopt;
    }
  }
  // A uniform tensor is written as its single fill value: shorter IR, same meaning.
  bool uniform = !values.empty();
  for (double v : values) {
    uniform = uniform && v == values[0] && std::signbit(v) == std::signbit(values[0]);
  }
  if (uniform) values.resize(1);
  return values;
}

}  // namespace

StatusOr<bool> ConstantFoldPass::Run(Graph& graph) {
  std::vector<Node*> order;
  for (const auto& n : graph.nodes()) order.push_back(n.get());

  bool changed = false;
  for (Node* node : order) {
    if (!Foldable(*node)) continue;
    StatusOr<std::vector<Tensor>> results = Evaluate(*node);
    if (!results.ok()) continue;
    KILN_CHECK(static_cast<int>(results->size()) == node->num_outputs());
    std::vector<std::vector<double>> values;
    for (const Tensor& t : *results) {
      std::optional<std::vector<double>> v = ConstantValues(t);
      if (!v) break;
      values.push_back(std::move(*v));
    }
    if (static_cast<int>(values.size()) != node->num_outputs()) continue;

    std::vector<Value*> constants;
    for (int i = 0; i < node->num_outputs(); ++i) {
      const Tensor& t = (*results)[i];
      Attrs attrs{{"value", values[i]}, {"dtype", t.dtype()}, {"shape", t.shape()}};
      // Fails only for dtypes `constant` rejects (fp8); the node then stays as it is.
      StatusOr<Node*> c = graph.AddNode(OpKind::kConstant, {}, std::move(attrs),
                                        {node->output(i)->name() + "_folded"});
      if (!c.ok()) break;
      graph.MoveBefore(*c, node);
      constants.push_back((*c)->output());
    }
    // CanReplaceNode fails e.g. for a result listed twice among the graph outputs.
    if (static_cast<int>(constants.size()) != node->num_outputs() ||
        !CanReplaceNode(graph, *node, constants)) {
      for (Value* c : constants) graph.RemoveNode(c->producer());
      continue;
    }
    std::vector<std::string> names;
    for (const Value* out : node->outputs()) names.push_back(out->name());
    ReplaceNode(graph, node, constants);
    // The constants take over the folded results' names (now free), so the IR reads the same.
    for (size_t i = 0; i < constants.size(); ++i) {
      if (constants[i]->name() != names[i]) {
        KILN_RETURN_IF_ERROR(graph.RenameValue(constants[i], names[i]));
      }
    }
    changed = true;
  }
  return changed;
}

}  // namespace kiln
