#include "passes/sink_broadcasts.h"

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ir/op_registry.h"
#include "passes/rewrite_util.h"

namespace kiln {
namespace {

// A constant's distinct values are looked at up to this many stored elements.
constexpr size_t kMaxConstantValues = size_t{1} << 16;

// Ops whose result elements are all elements of operand 0 (rearranged, repeated or a subset):
// the values a constant can take survive them. Wider than plan/memory_plan.h's IsViewOp (which
// asks whether the bytes are shared, not the values).
bool KeepsValues(OpKind op) {
  switch (op) {
    case OpKind::kReshape:
    case OpKind::kSqueeze:
    case OpKind::kUnsqueeze:
    case OpKind::kSlice:
    case OpKind::kExpand:
    case OpKind::kTranspose:
    case OpKind::kFlatten:
      return true;
    default:
      return false;
  }
}

// The values the elements of `v` can take (a superset), when `v` is a view of a constant.
std::optional<std::set<double>> PossibleValues(const Value* v) {
  const Node* p = v->producer();
  while (p != nullptr && KeepsValues(p->op())) p = p->input(0)->producer();
  if (p == nullptr || p->op() != OpKind::kConstant) return std::nullopt;
  const std::vector<double>& values = p->GetFloats("value");
  if (values.empty() || values.size() > kMaxConstantValues) return std::nullopt;
  return std::set<double>(values.begin(), values.end());
}

// The one value every element of `v` has, when it is a view of a constant holding one value.
std::optional<double> OneValue(const Value* v) {
  std::optional<std::set<double>> s = PossibleValues(v);
  if (!s || s->size() != 1) return std::nullopt;
  return *s->begin();
}

bool AllOnes(const Shape& shape) {
  for (const Dim& d : shape) {
    if (!d.is_static() || d.value() != 1) return false;
  }
  return true;
}

bool IsElementwise(const Node& node) {
  const FusionKind f = GetOpDef(node.op()).fusion;
  return (f == FusionKind::kElementwise || f == FusionKind::kBroadcast) && node.num_outputs() == 1;
}

bool IsComparison(OpKind op) {
  switch (op) {
    case OpKind::kEqual:
    case OpKind::kNotEqual:
    case OpKind::kGreater:
    case OpKind::kGreaterEqual:
    case OpKind::kLess:
    case OpKind::kLessEqual:
      return true;
    default:
      return false;
  }
}

// a <op> b for the comparison ops; nullopt for any other op.
std::optional<bool> Compare(OpKind op, double a, double b) {
  switch (op) {
    case OpKind::kEqual: return a == b;
    case OpKind::kNotEqual: return a != b;
    case OpKind::kGreater: return a > b;
    case OpKind::kGreaterEqual: return a >= b;
    case OpKind::kLess: return a < b;
    case OpKind::kLessEqual: return a <= b;
    default: return std::nullopt;
  }
}

// Adds op(inputs) {attrs} just before `before`; its result is named after `hint`.
StatusOr<Value*> AddBefore(Graph& graph, OpKind op, std::vector<Value*> inputs, Attrs attrs,
                           const std::string& hint, Node* before) {
  KILN_ASSIGN_OR_RETURN(
      Node * n, AddNodeBefore(graph, before, op, std::move(inputs), std::move(attrs), hint));
  return n->output();
}

// Replaces `node` by `small` expanded to node's result shape (by `small` itself when it has that
// type already). False when the graph interface forbids it (nothing changed then).
StatusOr<bool> ReplaceByExpand(Graph& graph, Node* node, Value* small) {
  Value* out = node->output();
  Value* replacement = small;
  if (small->type() != out->type()) {
    if (small->dtype() != out->dtype()) return false;
    KILN_ASSIGN_OR_RETURN(replacement, AddBefore(graph, OpKind::kExpand, {small},
                                                 Attrs{{"shape", out->shape()}},
                                                 out->name() + "_expand", node));
  }
  if (!CanReplaceNode(graph, *node, {replacement})) {
    if (replacement != small) graph.RemoveNode(replacement->producer());
    return false;
  }
  ReplaceNode(graph, node, {replacement});
  return true;
}

// Rule 1: a comparison with a constant whose result does not depend on the element.
StatusOr<bool> FoldUniformComparison(Graph& graph, Node* node) {
  if (node->num_inputs() != 2) return false;
  const Value* a = node->input(0);
  const Value* b = node->input(1);
  if (!IsInteger(a->dtype()) || !IsInteger(b->dtype())) return false;
  std::optional<std::set<double>> as = PossibleValues(a), bs = PossibleValues(b);
  if (!as || !bs || (as->size() != 1 && bs->size() != 1)) return false;
  std::optional<bool> result;
  for (double x : *as) {
    for (double y : *bs) {
      std::optional<bool> r = Compare(node->op(), x, y);
      if (!r || (result && *result != *r)) return false;
      result = r;
    }
  }
  if (!result) return false;
  KILN_ASSIGN_OR_RETURN(
      Value * c, AddBefore(graph, OpKind::kConstant, {},
                           Attrs{{"value", std::vector<double>{*result ? 1.0 : 0.0}},
                                 {"dtype", DType::kBool}, {"shape", std::vector<int64_t>{}}},
                           node->output()->name() + "_uniform", node));
  KILN_ASSIGN_OR_RETURN(bool done, ReplaceByExpand(graph, node, c));
  if (!done) graph.RemoveNode(c->producer());
  return done;
}

// Rule 2: where(c, x, y) with a condition that has one value.
StatusOr<bool> FoldUniformWhere(Graph& graph, Node* node) {
  std::optional<double> c = OneValue(node->input(0));
  if (!c) return false;
  return ReplaceByExpand(graph, node, node->input(*c != 0.0 ? 1 : 2));
}

// Whether `small` has an axis of extent 1 where `full` (right-aligned) has another extent.
bool Smaller(const Shape& small, const Shape& full) {
  if (small.size() > full.size()) return false;
  const size_t offset = full.size() - small.size();
  for (size_t i = 0; i < full.size(); ++i) {
    const bool one = i < offset || (small[i - offset].is_static() && small[i - offset].value() == 1);
    if (one && !(full[i].is_static() && full[i].value() == 1)) return true;
  }
  return false;
}

// Rule 3: an elementwise op of expands (and one-element operands) runs before the expand.
StatusOr<bool> SinkBelowElementwise(Graph& graph, Node* node) {
  std::vector<Value*> inputs;
  bool any_expand = false;
  for (Value* in : node->inputs()) {
    const Node* p = in->producer();
    if (p != nullptr && p->op() == OpKind::kExpand) {
      inputs.push_back(p->input(0));
      any_expand = true;
    } else if (AllOnes(in->shape())) {
      inputs.push_back(in);
    } else {
      return false;
    }
  }
  if (!any_expand) return false;
  KILN_ASSIGN_OR_RETURN(Value * small, AddBefore(graph, node->op(), inputs, node->attrs(),
                                                 node->output()->name() + "_small", node));
  if (!Smaller(small->shape(), node->output()->shape())) {
    graph.RemoveNode(small->producer());
    return false;
  }
  KILN_ASSIGN_OR_RETURN(bool done, ReplaceByExpand(graph, node, small));
  if (!done) graph.RemoveNode(small->producer());
  return done;
}

// Rule 4: operands that `node` broadcasts itself read the expand's operand.
bool BypassExpands(Node* node) {
  std::vector<int> operands;
  if (node->op() == OpKind::kAttention) {
    const int mask = node->GetBool("packed") ? 1 : 3;
    if (node->num_inputs() == mask + 1) operands.push_back(mask);
  } else if (GetOpDef(node->op()).fusion == FusionKind::kBroadcast) {
    for (int i = 0; i < node->num_inputs(); ++i) operands.push_back(i);
  }
  bool changed = false;
  for (int i : operands) {
    Value* in = node->input(i);
    const Node* p = in->producer();
    if (p == nullptr || p->op() != OpKind::kExpand) continue;
    node->set_input(i, p->input(0));
    if (InferenceMatches(*node)) {
      changed = true;
    } else {
      node->set_input(i, in);
    }
  }
  return changed;
}

// Rules 1-3 before 4: an op of two expands runs small as a whole (rule 3) rather than reading
// one of them unexpanded (rule 4 alone would keep the other expand).
StatusOr<bool> RewriteNode(Graph& graph, Node* node) {
  if (IsElementwise(*node)) {
    bool done = false;
    if (IsComparison(node->op())) {
      KILN_ASSIGN_OR_RETURN(done, FoldUniformComparison(graph, node));
    }
    if (!done && node->op() == OpKind::kWhere) {
      KILN_ASSIGN_OR_RETURN(done, FoldUniformWhere(graph, node));
    }
    if (!done) {
      KILN_ASSIGN_OR_RETURN(done, SinkBelowElementwise(graph, node));
    }
    if (done) return true;
  }
  return BypassExpands(node);
}

}  // namespace

StatusOr<bool> SinkBroadcastsPass::Run(Graph& graph) {
  bool changed = false;
  // A rewrite adds and removes nodes: start over after each (a model has a handful).
  for (bool again = true; again;) {
    again = false;
    for (size_t i = 0; i < graph.nodes().size() && !again; ++i) {
      KILN_ASSIGN_OR_RETURN(again, RewriteNode(graph, graph.nodes()[i].get()));
    }
    changed = changed || again;
  }
  return changed;
}

}  // namespace kiln
