// Small rewrite helpers shared by the passes: replacing a node's results while keeping the
// graph's interface (its output names) stable, and re-checking a node after rewiring it.
#ifndef KILN_PASSES_REWRITE_UTIL_H_
#define KILN_PASSES_REWRITE_UTIL_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln {

/// Whether ReplaceNode(graph, node, replacements) is allowed: one replacement per result, each
/// of the same type, and graph-output names can be kept. A graph output keeps its name by
/// renaming its replacement, so a result that is a graph output can only be replaced by a node
/// result that is not itself a graph input or graph output (the compiled library's output names
/// are part of its interface and must not change).
bool CanReplaceNode(const Graph& graph, const Node& node, const std::vector<Value*>& replacements);

/// Redirects every use of node's results (node inputs and graph outputs) to `replacements`,
/// removes `node`, and renames a replacement to the name of the graph output it now stands for.
/// Precondition: CanReplaceNode(...) (checked; a violation is a pass bug).
void ReplaceNode(Graph& graph, Node* node, const std::vector<Value*>& replacements);

/// True when `v` is one of the graph's outputs.
bool IsGraphOutput(const Graph& graph, const Value* v);

/// The one node reading `v`, when exactly one node reads it, once, and `v` is no graph output
/// (a chain link nothing else reads); nullptr otherwise.
Node* SoleUser(const Graph& graph, const Value* v);

/// Removes the nodes of `nodes` (a matched chain) whose results nothing uses any more and that
/// are not graph outputs, repeatedly, since a producer only becomes dead once its consumers are
/// gone. Nodes still in use stay.
void RemoveDeadChainNodes(Graph& graph, std::vector<Node*> nodes);

/// Adds op(inputs) {attrs} just before `before` in graph order, its one result named after `hint`
/// (Graph::FreshName); an error when the node does not verify.
StatusOr<Node*> AddNodeBefore(Graph& graph, Node* before, OpKind op, std::vector<Value*> inputs,
                              Attrs attrs, const std::string& hint);

/// Replaces a matched chain by one new node: builds `op(operands)` with `attrs` just before
/// `last` (the chain's final node; every operand is read inside the chain, so defined before it),
/// redirects the uses of last's result to the new node's result, which takes its name, and
/// removes the nodes of `chain` that are dead then. An error (a bug of `pass`, named in it) when
/// the node cannot be built or its type differs from last's result.
Status ReplaceChain(Graph& graph, std::string_view pass, Node* last, OpKind op,
                    std::vector<Value*> operands, Attrs attrs, const std::vector<Node*>& chain);

/// Rewrites matches one at a time until `find(graph)` (a std::optional of a match) finds none,
/// searching again after each `rewrite(graph, match)` (a Status): a rewrite removes nodes, so
/// matches found before it could hold dangling pointers. Each rewrite must remove its match's
/// root, so the loop ends. Returns whether anything was rewritten.
template <class Find, class Rewrite>
StatusOr<bool> RewriteEachMatch(Graph& graph, Find find, Rewrite rewrite) {
  bool changed = false;
  while (auto m = find(graph)) {
    KILN_RETURN_IF_ERROR(rewrite(graph, *m));
    changed = true;
  }
  return changed;
}

/// RewriteEachMatch over single nodes: rewrites the first node (in graph order) that
/// `matches(graph, node)` accepts, then searches again, until none does.
template <class Matches, class Rewrite>
StatusOr<bool> RewriteEachNode(Graph& graph, Matches matches, Rewrite rewrite) {
  return RewriteEachMatch(
      graph,
      [&](Graph& g) -> std::optional<Node*> {
        for (const auto& node : g.nodes()) {
          if (matches(g, *node)) return node.get();
        }
        return std::nullopt;
      },
      rewrite);
}

/// A one-element float constant (any rank of static 1s): its literal value as written and the
/// value it rounds to in its dtype (what arithmetic with it uses; may be infinite).
struct FloatScalar {
  double literal = 0.0;
  double rounded = 0.0;
};
/// `v`'s value when it is such a constant, else nullopt.
std::optional<FloatScalar> FloatScalarConstant(const Value* v);

/// Re-runs `node`'s shape inference and returns whether it reproduces the declared result types
/// (used after changing a node's operands or attributes in place).
bool InferenceMatches(const Node& node);

/// Whether `v` is the result of a `weight` or `constant` node.
bool IsSource(const Value* v);

/// The values of a constant, or of a weight whose data is attached to the graph; nullopt for
/// anything else (a rewrite that needs them then does not apply). A weight whose data
/// contradicts its declared type is an InvalidArgument.
StatusOr<std::optional<std::vector<double>>> SourceValues(const Graph& graph, const Value* v);

/// A weight name not yet in `weights`: `hint`, else `hint.1`, `hint.2`, ...
std::string FreshWeightName(const TensorMap& weights, const std::string& hint);

/// Adds a source node just before `before` holding `values` (dtype, shape): a weight inserted
/// into Graph::weights() under a fresh name derived from the weight `like` + `suffix` when `like`
/// is a weight, a constant otherwise (named after `like` + `suffix` either way).
StatusOr<Value*> AddSource(Graph& graph, const Value* like, const std::string& suffix, DType dtype,
                           const std::vector<int64_t>& shape, const std::vector<double>& values,
                           Node* before);

}  // namespace kiln

#endif  // KILN_PASSES_REWRITE_UTIL_H_
