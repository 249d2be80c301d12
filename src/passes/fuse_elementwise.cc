#include "passes/fuse_elementwise.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "passes/rewrite_util.h"
#include "support/check.h"

namespace kiln {
namespace {

using NodeSet = std::unordered_set<const Node*>;

bool IsFusible(const Node& node) {
  const FusionKind kind = node.def().fusion;
  return kind == FusionKind::kElementwise || kind == FusionKind::kBroadcast;
}

// A snapshot of the graph's order and use lists; rebuilt after every contraction, which moves
// and removes nodes.
struct GraphIndex {
  std::vector<Node*> order;
  std::unordered_map<const Node*, size_t> pos;
  std::unordered_map<const Value*, std::vector<Node*>> users;

  explicit GraphIndex(const Graph& graph) {
    for (const auto& n : graph.nodes()) {
      pos[n.get()] = order.size();
      order.push_back(n.get());
      for (const Value* in : n->inputs()) {
        std::vector<Node*>& u = users[in];
        if (u.empty() || u.back() != n.get()) u.push_back(n.get());
      }
    }
  }
  const std::vector<Node*>& UsersOf(const Value* v) const {
    static const std::vector<Node*> kNone;
    auto it = users.find(v);
    return it == users.end() ? kNone : it->second;
  }
};

// Nodes from which no graph output is reachable (DCE removes them later). They never join a
// group: a group made only of them would have no result.
NodeSet DeadNodes(const Graph& graph) {
  std::unordered_set<const Value*> live(graph.outputs().begin(), graph.outputs().end());
  NodeSet dead;
  for (auto it = graph.nodes().rbegin(); it != graph.nodes().rend(); ++it) {
    const Node* n = it->get();
    const bool is_live = std::any_of(n->outputs().begin(), n->outputs().end(),
                                     [&](const Value* v) { return live.count(v) > 0; });
    if (is_live) {
      live.insert(n->inputs().begin(), n->inputs().end());
    } else {
      dead.insert(n);
    }
  }
  return dead;
}

// True when no path leaves `members` and re-enters it, so contracting them into one node keeps
// the graph acyclic. Any such path runs between the first and the last member in topological
// order, so one sweep over that window finds it: a non-member is tainted when it reads a member
// or a tainted node, and a member that reads a tainted node closes a cycle.
bool IsConvex(const GraphIndex& index, const NodeSet& members) {
  size_t first = index.order.size(), last = 0;
  for (const Node* m : members) {
    first = std::min(first, index.pos.at(m));
    last = std::max(last, index.pos.at(m));
  }
  NodeSet tainted;
  auto from = [&](const Value* v, const NodeSet& set) {
    return v->producer() != nullptr && set.count(v->producer()) > 0;
  };
  for (size_t i = first + 1; i <= last && i < index.order.size(); ++i) {
    const Node* n = index.order[i];
    const bool is_member = members.count(n) > 0;
    for (const Value* in : n->inputs()) {
      if (is_member && from(in, tainted)) return false;
      if (!is_member && (from(in, tainted) || from(in, members))) {
        tainted.insert(n);
        break;
      }
    }
  }
  return true;
}

// Phase 1: maximal convex groups of live fusible nodes, grown in topological order on the
// unmodified graph. Returns every group (single nodes included), each in node order.
std::vector<std::vector<Node*>> FindGroups(const GraphIndex& index, const NodeSet& dead) {
  std::unordered_map<const Node*, int> group_of;
  std::vector<std::vector<Node*>> groups;
  for (Node* node : index.order) {
    if (!IsFusible(*node) || dead.count(node)) continue;
    std::vector<int> candidates;
    for (const Value* in : node->inputs()) {
      auto it = in->producer() ? group_of.find(in->producer()) : group_of.end();
      if (it != group_of.end() &&
          std::find(candidates.begin(), candidates.end(), it->second) == candidates.end()) {
        candidates.push_back(it->second);
      }
    }
    // Join each operand group that keeps the union convex (greedily, in operand order).
    NodeSet merged = {node};
    std::vector<int> taken;
    for (int g : candidates) {
      NodeSet trial = merged;
      trial.insert(groups[g].begin(), groups[g].end());
      if (IsConvex(index, trial)) {
        merged = std::move(trial);
        taken.push_back(g);
      }
    }
    int target = taken.empty() ? static_cast<int>(groups.size()) : taken.front();
    if (taken.empty()) groups.emplace_back();
    for (size_t t = 1; t < taken.size(); ++t) {
      for (Node* m : groups[taken[t]]) group_of[m] = target;
      groups[target].insert(groups[target].end(), groups[taken[t]].begin(), groups[taken[t]].end());
      groups[taken[t]].clear();
    }
    groups[target].push_back(node);
    group_of[node] = target;
  }
  std::vector<std::vector<Node*>> result;
  for (std::vector<Node*>& g : groups) {
    if (g.empty()) continue;
    std::sort(g.begin(), g.end(),
              [&](const Node* a, const Node* b) { return index.pos.at(a) < index.pos.at(b); });
    result.push_back(std::move(g));
  }
  return result;
}

// Whether the reference interpreter can bind every symbol of the body's types from the body's
// inputs (it binds a symbol only from an input dim that is exactly that symbol).
bool BodySymbolsBindable(const std::vector<Value*>& operands, const std::vector<Node*>& nodes) {
  std::set<std::string> bound;
  for (const Value* v : operands) {
    for (const Dim& d : v->shape()) {
      std::set<std::string> syms = d.Symbols();
      if (syms.size() == 1 && d == Dim::Symbol(*syms.begin())) bound.insert(*syms.begin());
    }
  }
  auto covered = [&](const Value* v) {
    for (const Dim& d : v->shape()) {
      for (const std::string& s : d.Symbols()) {
        if (!bound.count(s)) return false;
      }
    }
    return true;
  };
  for (const Node* n : nodes) {
    if (!std::all_of(n->outputs().begin(), n->outputs().end(), covered)) return false;
  }
  return true;
}

// The values `nodes` read from outside themselves, in first-use order.
std::vector<Value*> OutsideOperands(const std::vector<Node*>& nodes) {
  NodeSet set(nodes.begin(), nodes.end());
  std::vector<Value*> operands;
  for (const Node* n : nodes) {
    for (Value* in : n->inputs()) {
      const bool inside = in->producer() != nullptr && set.count(in->producer());
      if (!inside && std::find(operands.begin(), operands.end(), in) == operands.end()) {
        operands.push_back(in);
      }
    }
  }
  return operands;
}

// A fusion node to be: the merged nodes (in node order) and the phase-1 groups they came from.
struct Cluster {
  std::vector<Node*> nodes;
  std::vector<std::vector<Node*>> parts;
};

// The one shape of every value of `group` used outside it or returned, or nullopt when they
// differ (the group then has no single iteration shape and takes no siblings).
std::optional<Shape> IterationShape(const Graph& graph, const GraphIndex& index,
                                    const std::vector<Node*>& group) {
  NodeSet set(group.begin(), group.end());
  std::optional<Shape> shape;
  for (const Node* n : group) {
    for (const Value* out : n->outputs()) {
      const std::vector<Node*>& users = index.UsersOf(out);
      const bool escapes = IsGraphOutput(graph, out) ||
                           std::any_of(users.begin(), users.end(),
                                       [&](const Node* u) { return !set.count(u); });
      if (!escapes) continue;
      if (shape && *shape != out->shape()) return std::nullopt;
      shape = out->shape();
    }
  }
  return shape;
}

// Whether a node of `a` reads a value produced in `b`.
bool Reads(const std::vector<Node*>& a, const NodeSet& b) {
  for (const Node* n : a) {
    for (const Value* in : n->inputs()) {
      if (in->producer() != nullptr && b.count(in->producer())) return true;
    }
  }
  return false;
}

// Phase 2 (horizontal): merges sibling groups, i.e. groups (single ops included) that read one
// non-constant value of their common iteration shape and have no path between them, so one
// kernel reads that value once. Greedy per shared value, in node order; a merge must keep the
// union convex (no path from one sibling to the other through other nodes) and its body's
// symbols bindable. Returns the clusters of two or more nodes.
std::vector<Cluster> MergeSiblings(const Graph& graph, const GraphIndex& index,
                                   std::vector<std::vector<Node*>> groups) {
  const size_t n = groups.size();
  std::vector<std::optional<Shape>> shapes(n);
  std::vector<Cluster> clusters(n);
  std::vector<size_t> root(n);
  for (size_t g = 0; g < n; ++g) {
    shapes[g] = IterationShape(graph, index, groups[g]);
    clusters[g].nodes = groups[g];
    clusters[g].parts = {groups[g]};
    root[g] = g;
  }
  auto find = [&](size_t g) {
    while (root[g] != g) g = root[g] = root[root[g]];
    return g;
  };
  // Readers of each shareable value (non-constant, of the reader's iteration shape), in the
  // order of the values' first readers.
  std::vector<const Value*> values;
  std::unordered_map<const Value*, std::vector<size_t>> readers;
  for (size_t g = 0; g < n; ++g) {
    if (!shapes[g]) continue;
    for (const Value* v : OutsideOperands(groups[g])) {
      const Node* p = v->producer();
      if ((p != nullptr && p->op() == OpKind::kConstant) || v->shape() != *shapes[g]) continue;
      std::vector<size_t>& r = readers[v];
      if (r.empty()) values.push_back(v);
      r.push_back(g);
    }
  }
  for (const Value* v : values) {
    const std::vector<size_t>& r = readers[v];
    for (size_t i = 1; i < r.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        const size_t a = find(r[j]), b = find(r[i]);
        if (a == b || shapes[a] != shapes[b]) continue;
        Cluster& ca = clusters[a];
        Cluster& cb = clusters[b];
        const NodeSet sa(ca.nodes.begin(), ca.nodes.end());
        const NodeSet sb(cb.nodes.begin(), cb.nodes.end());
        if (Reads(ca.nodes, sb) || Reads(cb.nodes, sa)) continue;
        std::vector<Node*> merged = ca.nodes;
        merged.insert(merged.end(), cb.nodes.begin(), cb.nodes.end());
        std::sort(merged.begin(), merged.end(), [&](const Node* x, const Node* y) {
          return index.pos.at(x) < index.pos.at(y);
        });
        if (!IsConvex(index, NodeSet(merged.begin(), merged.end())) ||
            !BodySymbolsBindable(OutsideOperands(merged), merged)) {
          continue;
        }
        ca.nodes = std::move(merged);
        ca.parts.insert(ca.parts.end(), cb.parts.begin(), cb.parts.end());
        cb = Cluster{};
        root[b] = a;
        break;
      }
    }
  }
  std::vector<Cluster> result;
  for (size_t g = 0; g < n; ++g) {
    if (find(g) == g && clusters[g].nodes.size() >= 2) result.push_back(std::move(clusters[g]));
  }
  return result;
}

std::string NextBodyName(const Graph& graph, int* counter) {
  std::set<std::string> used;
  for (const auto& n : graph.nodes()) {
    if (n->op() == OpKind::kFusion) used.insert(n->GetGraph("body").name());
  }
  while (true) {
    std::string name = "fused_" + std::to_string((*counter)++);
    if (!used.count(name)) return name;
  }
}

// Phase 2: replaces `group` (fusible ops in node order) with one fusion node in the current
// graph. Returns false, leaving the graph untouched, when the group no longer qualifies.
StatusOr<bool> Contract(Graph& graph, std::vector<Node*> group, const NodeSet& dead,
                        int* body_counter) {
  const GraphIndex index(graph);
  // Earlier contractions may have moved nodes up, so order the group by the current positions.
  std::sort(group.begin(), group.end(),
            [&](const Node* a, const Node* b) { return index.pos.at(a) < index.pos.at(b); });
  NodeSet compute(group.begin(), group.end());
  // Earlier contractions can join two of this group's ops through a new fusion node.
  if (!IsConvex(index, compute)) return false;

  // Constants read only by the group (ignoring dead readers, which DCE removes) move inside.
  NodeSet members = compute;
  for (const Node* n : group) {
    for (const Value* in : n->inputs()) {
      Node* p = in->producer();
      if (p == nullptr || p->op() != OpKind::kConstant || members.count(p)) continue;
      if (IsGraphOutput(graph, in)) continue;
      const std::vector<Node*>& users = index.UsersOf(in);
      if (std::all_of(users.begin(), users.end(),
                      [&](const Node* u) { return members.count(u) || dead.count(u); })) {
        members.insert(p);
      }
    }
  }
  std::vector<Node*> body_nodes;
  for (Node* n : index.order) {
    if (members.count(n)) body_nodes.push_back(n);
  }

  std::vector<Value*> operands;
  std::vector<Value*> escaping;
  for (const Node* n : body_nodes) {
    for (Value* in : n->inputs()) {
      const bool inside = in->producer() != nullptr && members.count(in->producer());
      if (!inside && std::find(operands.begin(), operands.end(), in) == operands.end()) {
        operands.push_back(in);
      }
    }
  }
  for (const Node* n : body_nodes) {
    // A pulled-in constant's other readers are dead: it never escapes.
    if (!compute.count(n)) continue;
    for (Value* out : n->outputs()) {
      const std::vector<Node*>& users = index.UsersOf(out);
      const bool used_outside =
          std::any_of(users.begin(), users.end(), [&](const Node* u) { return !members.count(u); });
      if (used_outside || IsGraphOutput(graph, out)) escaping.push_back(out);
    }
  }
  KILN_CHECK(!escaping.empty()) << "fuse-elementwise: a live group has no result";
  if (!BodySymbolsBindable(operands, body_nodes)) return false;

  // The body: the parent's symbols, inputs %p0.., the members with their names and types.
  auto body = std::make_shared<Graph>(NextBodyName(graph, body_counter));
  for (const auto& [sym, range] : graph.symbols()) {
    KILN_RETURN_IF_ERROR(body->AddSymbol(sym, range.min, range.max));
  }
  std::unordered_map<const Value*, Value*> inner;
  for (size_t i = 0; i < operands.size(); ++i) {
    inner[operands[i]] = body->AddInput("p" + std::to_string(i), operands[i]->type());
  }
  for (const Node* n : body_nodes) {
    std::vector<Value*> ins;
    for (const Value* in : n->inputs()) ins.push_back(inner.at(in));
    std::vector<std::pair<std::string, TensorType>> outs;
    for (const Value* out : n->outputs()) {
      outs.emplace_back(body->FreshName(out->name()), out->type());
    }
    Node* copy = body->AddNodeWithTypes(n->op(), std::move(ins), n->attrs(), std::move(outs));
    copy->set_line(n->line());
    for (int k = 0; k < n->num_outputs(); ++k) inner[n->output(k)] = copy->output(k);
  }
  std::vector<Value*> body_outputs;
  for (const Value* v : escaping) body_outputs.push_back(inner.at(v));
  body->SetOutputs(std::move(body_outputs));

  std::vector<std::string> final_names;
  std::vector<std::string> names;
  for (const Value* v : escaping) {
    final_names.push_back(v->name());
    names.push_back(graph.FreshName(v->name() + ".fused"));
  }
  StatusOr<Node*> made = graph.AddNode(OpKind::kFusion, operands, Attrs{{"body", body}}, names);
  if (!made.ok()) {
    return InternalError("fuse-elementwise: building the fusion of " + group.front()->Describe() +
                         " failed: " + made.status().ToString());
  }
  Node* fusion = *made;
  fusion->set_line(group.front()->line());

  // Place it where the group's first op was; nodes between the group's ops that the group reads
  // (directly or through others) move up before it, keeping their order. Nothing that depends
  // on the group lies among them (the group is convex).
  const size_t first = index.pos.at(group.front());
  const size_t last = index.pos.at(group.back());
  NodeSet feeds;
  for (size_t i = last; i > first; --i) {
    const Node* n = index.order[i];
    if (members.count(n)) continue;
    for (const Value* out : n->outputs()) {
      for (const Node* u : index.UsersOf(out)) {
        if (compute.count(u) || feeds.count(u)) feeds.insert(n);
      }
    }
  }
  graph.MoveBefore(fusion, group.front());
  for (size_t i = first + 1; i < last; ++i) {
    if (feeds.count(index.order[i])) graph.MoveBefore(index.order[i], fusion);
  }

  // Redirect outside users and graph outputs, drop the members, restore the names.
  std::unordered_map<const Value*, Value*> result;
  for (size_t i = 0; i < escaping.size(); ++i) result[escaping[i]] = fusion->output(i);
  for (const auto& n : graph.nodes()) {
    if (members.count(n.get())) continue;
    for (int k = 0; k < n->num_inputs(); ++k) {
      auto it = result.find(n->input(k));
      if (it != result.end()) n->set_input(k, it->second);
    }
  }
  std::vector<Value*> outputs = graph.outputs();
  for (Value*& v : outputs) {
    auto it = result.find(v);
    if (it != result.end()) v = it->second;
  }
  graph.SetOutputs(std::move(outputs));
  for (auto it = body_nodes.rbegin(); it != body_nodes.rend(); ++it) {
    // A pulled-in constant may still feed dead nodes; DCE removes both later.
    if ((*it)->op() == OpKind::kConstant && !graph.Users((*it)->output()).empty()) continue;
    graph.RemoveNode(*it);
  }
  for (size_t i = 0; i < escaping.size(); ++i) {
    KILN_RETURN_IF_ERROR(graph.RenameValue(fusion->output(i), final_names[i]));
  }
  return true;
}

}  // namespace

StatusOr<bool> FuseElementwisePass::Run(Graph& graph) {
  const NodeSet dead = DeadNodes(graph);
  const GraphIndex index(graph);
  std::vector<Cluster> clusters = MergeSiblings(graph, index, FindGroups(index, dead));
  bool changed = false;
  int body_counter = 0;
  for (Cluster& cluster : clusters) {
    KILN_ASSIGN_OR_RETURN(bool contracted, Contract(graph, cluster.nodes, dead, &body_counter));
    changed = changed || contracted;
    if (contracted || cluster.parts.size() < 2) continue;
    // Earlier contractions joined two siblings through a new fusion node: fuse the parts alone.
    for (std::vector<Node*>& part : cluster.parts) {
      if (part.size() < 2) continue;
      KILN_ASSIGN_OR_RETURN(bool part_done, Contract(graph, std::move(part), dead, &body_counter));
      changed = changed || part_done;
    }
  }
  return changed;
}

}  // namespace kiln
