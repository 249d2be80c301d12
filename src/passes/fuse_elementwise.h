// fuse-elementwise: groups connected chains of elementwise and broadcasting ops into `fusion`
// nodes that own the chain as a sub-graph, so a backend emits one kernel per group and the
// intermediate values never travel through memory.
//
// What (vertical fusion): nodes whose FusionKind is kElementwise or kBroadcast (unary math,
// binary arithmetic and comparisons, where, cast) that are live (reach a graph output) are
// grown into maximal connected groups in topological order: a node joins the groups of its
// operands' producers when the union stays convex, i.e. no path leaves the group and re-enters
// it (contracting it would create a cycle). A diamond whose one side runs through a non-fusible
// op therefore stays split. Each group of two or more ops becomes one node
//   %a, %b = fusion(%x, %w, ...) {body=graph @fused_<k>(%p0: ..., %p1: ...) -> (%a, %b) {...}}
// where
//   - operands are the values the group reads from outside, in first-use order; they bind to
//     the body's inputs %p0, %p1, ... (same types, symbolic dims included);
//   - results are the group's escaping values (used outside the group, or graph outputs), in
//     node order; several are allowed. They keep the original value names, so users and graph
//     outputs are unchanged;
//   - `constant` nodes whose (live) users all lie in the group are pulled into the body; weights
//     stay outside as operands (a pass must not inline parameters);
//   - body nodes keep their names (a name that clashes with a %p<i> gets a fresh one);
//   - `fused_<k>` is the smallest k not yet used by a fusion body of the graph.
// What (horizontal fusion, after the vertical grouping): groups, single fusible ops included,
// that are siblings merge into one fusion node with the results of both, so one kernel reads
// their shared input once. Siblings read a common value that is not a constant and has their
// common iteration shape (every result of each of them has that one shape, and so has the shared
// value: a broadcast operand such as a bias is no reason to merge), neither reads the other's
// results, and the union stays convex (no path from one to the other through other nodes, so
// the contraction creates no cycle) with bindable symbols. Merging is greedy per shared value
// in node order: a sibling joins the first earlier reader's fusion that it may join. A merged
// fusion whose contraction no longer qualifies (an earlier contraction connected its siblings)
// falls back to its vertical groups.
// The fusion node takes the place of the group's first op; nodes between the group's ops that
// the group depends on move up before it, so the node order stays topological.
// A group is also left alone when its body could not bind its symbols from its inputs (every
// symbol in the body must appear as a plain dim, such as `N`, of some body input): the
// reference interpreter runs a body on its own and binds symbols only from such dims.
//
// Not done here: injective ops (reshape, transpose, ...) and reductions do not join groups;
// horizontal fusion of siblings of different iteration shapes or that share only a broadcast
// operand, and of non-elementwise siblings (two gemms reading one activation); softmax /
// layer-norm pattern recognition (recognize-norms does it before this pass).
//
// Preconditions: a verified graph (run after fuse-epilogue, so activations that can ride on a
// gemm/conv epilogue are already there).
// Postconditions: a verified graph computing exactly the same values (bodies run the same ops
// in the same order); graph inputs and output names unchanged; dead nodes are left for DCE.
// Returns false, leaving the graph untouched, when no group of two or more ops exists.
#ifndef KILN_PASSES_FUSE_ELEMENTWISE_H_
#define KILN_PASSES_FUSE_ELEMENTWISE_H_

#include "passes/pass.h"

namespace kiln {

/// See the file comment.
class FuseElementwisePass : public Pass {
 public:
  std::string_view name() const override { return "fuse-elementwise"; }
  StatusOr<bool> Run(Graph& graph) override;
};

}  // namespace kiln

#endif  // KILN_PASSES_FUSE_ELEMENTWISE_H_
