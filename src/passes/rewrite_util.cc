#include "passes/rewrite_util.h"

#include <algorithm>
#include <string>

#include "support/check.h"
#include "support/dtype.h"
#include "support/tensor.h"

namespace kiln {

bool IsGraphOutput(const Graph& graph, const Value* v) {
  return std::find(graph.outputs().begin(), graph.outputs().end(), v) != graph.outputs().end();
}

Node* SoleUser(const Graph& graph, const Value* v) {
  if (IsGraphOutput(graph, v)) return nullptr;
  std::vector<Node*> users = graph.Users(v);
  if (users.size() != 1) return nullptr;
  const std::vector<Value*>& in = users[0]->inputs();
  return std::count(in.begin(), in.end(), v) == 1 ? users[0] : nullptr;
}

StatusOr<Node*> AddNodeBefore(Graph& graph, Node* before, OpKind op, std::vector<Value*> inputs,
                              Attrs attrs, const std::string& hint) {
  KILN_ASSIGN_OR_RETURN(
      Node * n, graph.AddNode(op, std::move(inputs), std::move(attrs), {graph.FreshName(hint)}));
  graph.MoveBefore(n, before);
  return n;
}

Status ReplaceChain(Graph& graph, std::string_view pass, Node* last, OpKind op,
                    std::vector<Value*> operands, Attrs attrs, const std::vector<Node*>& chain) {
  Value* replaced = last->output();
  const std::string what =
      std::string(pass) + ": " + std::string(OpName(op)) + " for " + last->Describe();
  StatusOr<Node*> made =
      graph.AddNode(op, std::move(operands), std::move(attrs),
                    {graph.FreshName(replaced->name() + "." + std::string(OpName(op)))});
  if (!made.ok()) return InternalError(what + ": building it failed: " + made.status().ToString());
  Node* node = *made;
  graph.MoveBefore(node, last);
  if (node->output()->type() != replaced->type()) {
    return InternalError(what + ": " + replaced->type().ToString() +
                         " expected, the new node has " + node->output()->type().ToString());
  }
  const std::string name = replaced->name();
  graph.ReplaceAllUsesWith(replaced, node->output());
  RemoveDeadChainNodes(graph, chain);
  return graph.RenameValue(node->output(), name);
}

static bool IsGraphInput(const Graph& graph, const Value* v) {
  return std::find(graph.inputs().begin(), graph.inputs().end(), v) != graph.inputs().end();
}

bool CanReplaceNode(const Graph& graph, const Node& node, const std::vector<Value*>& replacements) {
  if (static_cast<int>(replacements.size()) != node.num_outputs()) return false;
  std::vector<const Value*> renamed;
  for (int i = 0; i < node.num_outputs(); ++i) {
    const Value* from = node.output(i);
    const Value* to = replacements[i];
    if (to == nullptr || to == from || to->type() != from->type()) return false;
    if (to->producer() == &node) return false;
    if (!IsGraphOutput(graph, from)) continue;
    if (IsGraphInput(graph, to) || IsGraphOutput(graph, to)) return false;
    // Two graph outputs cannot both give their name to one value.
    if (std::find(renamed.begin(), renamed.end(), to) != renamed.end()) return false;
    renamed.push_back(to);
  }
  return true;
}

void ReplaceNode(Graph& graph, Node* node, const std::vector<Value*>& replacements) {
  KILN_CHECK(CanReplaceNode(graph, *node, replacements))
      << "invalid replacement of " << node->Describe();
  std::vector<std::pair<Value*, std::string>> renames;
  for (int i = 0; i < node->num_outputs(); ++i) {
    Value* from = node->output(i);
    if (IsGraphOutput(graph, from)) renames.emplace_back(replacements[i], from->name());
    graph.ReplaceAllUsesWith(from, replacements[i]);
  }
  graph.RemoveNode(node);
  // The removed node's names are free now.
  for (auto& [value, name] : renames) {
    Status status = graph.RenameValue(value, name);
    KILN_CHECK(status.ok()) << status.ToString();
  }
}

bool InferenceMatches(const Node& node) {
  StatusOr<std::vector<TensorType>> types = node.def().infer(node);
  if (!types.ok() || static_cast<int>(types->size()) != node.num_outputs()) return false;
  for (int i = 0; i < node.num_outputs(); ++i) {
    if ((*types)[i] != node.output(i)->type()) return false;
  }
  return true;
}

void RemoveDeadChainNodes(Graph& graph, std::vector<Node*> nodes) {
  bool removed = true;
  while (removed) {
    removed = false;
    for (auto it = nodes.begin(); it != nodes.end();) {
      Node* n = *it;
      const bool dead = std::all_of(n->outputs().begin(), n->outputs().end(), [&](Value* v) {
        return graph.Users(v).empty() && !IsGraphOutput(graph, v);
      });
      if (dead) {
        graph.RemoveNode(n);
        it = nodes.erase(it);
        removed = true;
      } else {
        ++it;
      }
    }
  }
}

std::optional<FloatScalar> FloatScalarConstant(const Value* v) {
  const Node* c = v->producer();
  if (c == nullptr || c->op() != OpKind::kConstant || !IsFloat(v->dtype())) return std::nullopt;
  for (const Dim& d : v->shape()) {
    if (!d.is_static() || d.value() != 1) return std::nullopt;
  }
  const std::vector<double>& values = c->GetFloats("value");
  if (values.empty()) return std::nullopt;
  Tensor rounded = Tensor::FromF64(v->dtype(), {}, std::vector<double>{values[0]});
  return FloatScalar{values[0], rounded.GetF64(0)};
}

bool IsSource(const Value* v) {
  const Node* p = v->producer();
  return p != nullptr && (p->op() == OpKind::kWeight || p->op() == OpKind::kConstant);
}

StatusOr<std::optional<std::vector<double>>> SourceValues(const Graph& graph, const Value* v) {
  const Node* p = v->producer();
  if (p == nullptr) return std::optional<std::vector<double>>();
  if (p->op() == OpKind::kConstant) {
    const std::vector<double>& values = p->GetFloats("value");
    const int64_t n = NumElements(v->shape()).value();
    if (values.size() == 1) return std::optional(std::vector<double>(n, values[0]));
    return std::optional(values);
  }
  if (p->op() != OpKind::kWeight || graph.weights() == nullptr) {
    return std::optional<std::vector<double>>();
  }
  const std::string& name = p->GetString("name");
  auto it = graph.weights()->find(name);
  if (it == graph.weights()->end()) return std::optional<std::vector<double>>();
  const Tensor& t = it->second;
  if (t.dtype() != v->dtype() || StaticShape(t.shape()) != v->shape()) {
    return InvalidArgument("weight \"" + name + "\" of " + p->Describe() + " is declared " +
                           v->type().ToString() + " but its data is " + t.TypeString());
  }
  return std::optional(t.ToF64());
}

std::string FreshWeightName(const TensorMap& weights, const std::string& hint) {
  if (!weights.count(hint)) return hint;
  for (int i = 1;; ++i) {
    std::string name = hint + "." + std::to_string(i);
    if (!weights.count(name)) return name;
  }
}

StatusOr<Value*> AddSource(Graph& graph, const Value* like, const std::string& suffix, DType dtype,
                           const std::vector<int64_t>& shape, const std::vector<double>& values,
                           Node* before) {
  const Node* like_node = like->producer();
  Attrs attrs;
  OpKind op = OpKind::kConstant;
  if (like_node->op() == OpKind::kWeight) {
    op = OpKind::kWeight;
    TensorMap& weights = *graph.weights();
    const std::string name = FreshWeightName(weights, like_node->GetString("name") + suffix);
    weights.emplace(name, Tensor::FromF64(dtype, shape, values));
    attrs.Set("name", name);
  } else {
    attrs.Set("value", values);
  }
  attrs.Set("dtype", dtype);
  attrs.Set("shape", shape);
  KILN_ASSIGN_OR_RETURN(Node * node, graph.AddNode(op, {}, std::move(attrs),
                                                   {graph.FreshName(like->name() + suffix)}));
  graph.MoveBefore(node, before);
  return node->output();
}

}  // namespace kiln
