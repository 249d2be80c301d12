#include "passes/cse.h"

#include <map>
#include <utility>

#include "passes/rewrite_util.h"

namespace kiln {
namespace {

// Op and operands are the cheap part of the key; attributes and types are compared within a
// bucket (AttrValue has no hash, and buckets are tiny).
using CseKey = std::pair<OpKind, std::vector<const Value*>>;

bool SameResultTypes(const Node& a, const Node& b) {
  if (a.num_outputs() != b.num_outputs()) return false;
  for (int i = 0; i < a.num_outputs(); ++i) {
    if (a.output(i)->type() != b.output(i)->type()) return false;
  }
  return true;
}

}  // namespace

StatusOr<bool> CsePass::Run(Graph& graph) {
  std::vector<Node*> order;
  for (const auto& n : graph.nodes()) order.push_back(n.get());

  std::map<CseKey, std::vector<Node*>> seen;
  bool changed = false;
  for (Node* node : order) {
    CseKey key{node->op(), {node->inputs().begin(), node->inputs().end()}};
    std::vector<Node*>& bucket = seen[key];
    Node* match = nullptr;
    for (Node* candidate : bucket) {
      if (candidate->attrs() == node->attrs() && SameResultTypes(*candidate, *node)) {
        match = candidate;
        break;
      }
    }
    if (match != nullptr && CanReplaceNode(graph, *node, match->outputs())) {
      ReplaceNode(graph, node, match->outputs());
      changed = true;
      continue;
    }
    // Also the case of a match that cannot replace this node (both are graph outputs): later
    // duplicates may still merge into this one.
    bucket.push_back(node);
  }
  return changed;
}

}  // namespace kiln
