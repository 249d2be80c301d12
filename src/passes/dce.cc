#include "passes/dce.h"

#include <unordered_set>

namespace kiln {

StatusOr<bool> DcePass::Run(Graph& graph) {
  std::unordered_set<const Value*> live(graph.outputs().begin(), graph.outputs().end());
  // Snapshot: RemoveNode edits graph.nodes() while we walk.
  std::vector<Node*> order;
  order.reserve(graph.nodes().size());
  for (const auto& n : graph.nodes()) order.push_back(n.get());

  bool changed = false;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* node = *it;
    bool is_live = false;
    for (const Value* out : node->outputs()) is_live = is_live || live.count(out) > 0;
    if (is_live) {
      live.insert(node->inputs().begin(), node->inputs().end());
      continue;
    }
    // Every user of a dead node comes later and is dead too, so it is already gone.
    graph.RemoveNode(node);
    changed = true;
  }
  return changed;
}

}  // namespace kiln
