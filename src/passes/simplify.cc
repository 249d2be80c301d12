#include "passes/simplify.h"

#include <numeric>

#include "passes/rewrite_util.h"

namespace kiln {
namespace {

// True when `v` comes from a constant node whose every element is exactly `target`.
bool IsConstantEqualTo(const Value* v, double target) {
  const Node* p = v->producer();
  if (p == nullptr || p->op() != OpKind::kConstant) return false;
  const std::vector<double>& values = p->GetFloats("value");
  if (values.empty()) return false;
  for (double x : values) {
    if (x != target) return false;
  }
  return true;
}

// The operand that `node` passes through unchanged, or nullptr if it is not an identity.
Value* IdentityOperand(const Node& node) {
  switch (node.op()) {
    case OpKind::kReshape:
    case OpKind::kCast:
      return node.input(0);
    case OpKind::kAdd:
      if (IsConstantEqualTo(node.input(1), 0.0)) return node.input(0);
      if (IsConstantEqualTo(node.input(0), 0.0)) return node.input(1);
      return nullptr;
    case OpKind::kMul:
      if (IsConstantEqualTo(node.input(1), 1.0)) return node.input(0);
      if (IsConstantEqualTo(node.input(0), 1.0)) return node.input(1);
      return nullptr;
    case OpKind::kSub:
      return IsConstantEqualTo(node.input(1), 0.0) ? node.input(0) : nullptr;
    case OpKind::kDiv:
      return IsConstantEqualTo(node.input(1), 1.0) ? node.input(0) : nullptr;
    default:
      return nullptr;
  }
}

// reshape(reshape(x)) -> reshape(x): the outer node's target shape already says everything.
bool MergeReshapes(Node& node) {
  const Node* inner = node.input(0)->producer();
  if (inner == nullptr || inner->op() != OpKind::kReshape) return false;
  node.set_input(0, inner->input(0));
  return true;
}

// transpose(transpose(x, p), q): out dim j = inner dim q[j] = x dim p[q[j]].
// Returns the composed perm, or an empty vector when the inner node is not a transpose.
std::vector<int64_t> ComposedPerm(const Node& node) {
  const Node* inner = node.input(0)->producer();
  if (inner == nullptr || inner->op() != OpKind::kTranspose) return {};
  const std::vector<int64_t>& p = inner->GetInts("perm");
  const std::vector<int64_t>& q = node.GetInts("perm");
  std::vector<int64_t> composed(q.size());
  for (size_t j = 0; j < q.size(); ++j) composed[j] = p[q[j]];
  return composed;
}

bool IsIdentityPerm(const std::vector<int64_t>& perm) {
  for (size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] != static_cast<int64_t>(i)) return false;
  }
  return true;
}

// Applies the first matching rule to `node`; returns whether the graph changed. `node` may be
// removed.
bool SimplifyNode(Graph& graph, Node* node) {
  if (Value* x = IdentityOperand(*node);
      x != nullptr && x->type() == node->output()->type() && CanReplaceNode(graph, *node, {x})) {
    ReplaceNode(graph, node, {x});
    return true;
  }
  if (node->op() == OpKind::kReshape) {
    Value* old = node->input(0);
    if (!MergeReshapes(*node)) return false;
    if (!InferenceMatches(*node)) {
      node->set_input(0, old);  // cannot happen for a verified graph; stay safe
      return false;
    }
    // The merged reshape may now map x to its own shape.
    SimplifyNode(graph, node);
    return true;
  }
  if (node->op() == OpKind::kTranspose) {
    std::vector<int64_t> perm = ComposedPerm(*node);
    if (perm.empty()) return false;
    Value* x = node->input(0)->producer()->input(0);
    if (IsIdentityPerm(perm)) {
      if (!CanReplaceNode(graph, *node, {x})) return false;
      ReplaceNode(graph, node, {x});
      return true;
    }
    Value* old_input = node->input(0);
    Attrs old_attrs = node->attrs();
    Attrs attrs = old_attrs;
    attrs.Set("perm", perm);
    node->set_input(0, x);
    node->set_attrs(std::move(attrs));
    if (InferenceMatches(*node)) return true;
    node->set_input(0, old_input);
    node->set_attrs(std::move(old_attrs));
    return false;
  }
  return false;
}

}  // namespace

StatusOr<bool> SimplifyPass::Run(Graph& graph) {
  std::vector<Node*> order;
  for (const auto& n : graph.nodes()) order.push_back(n.get());
  bool changed = false;
  // Forward order: a chain reshape(reshape(reshape(x))) collapses step by step, each outer node
  // seeing its already-simplified operand.
  for (Node* node : order) changed = SimplifyNode(graph, node) || changed;
  return changed;
}

}  // namespace kiln
