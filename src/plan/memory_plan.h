// Memory planning: assigns every intermediate tensor of a graph an offset in one workspace.
//
// Which values get workspace: every node result except weights and constants (bound separately),
// graph inputs and graph outputs (the caller's buffers), and views (reshape, squeeze, unsqueeze,
// flatten, prefix slices: IsViewNode) of those. Planning runs on the graph after the passes, over its node order (the
// schedule):
//
//   1. Liveness: a value lives from its producer's step to its last user's step, inclusive (a
//      value nobody uses lives only at its producer's step).
//   2. Sharing: a view shares its operand's storage (same offset, the storage's lifetime grows
//      to cover the view's; a prefix slice covers the storage's first bytes). An elementwise/broadcast node may write its result over an operand
//      whose storage dies at this node when both have the same element count and element size
//      (each output element reads only the same element of that operand, so an elementwise
//      kernel can run in place).
//   3. Placement: storages sorted by size, largest first, each put where it overlaps no placed
//      storage whose lifetime intersects its own (greedy by size; the better of best-fit and
//      lowest-offset gap choice is kept).
//
// Dynamic shapes: a graph with symbolic dims is planned once, with every symbol at its range
// maximum unless PlanOptions::bindings says otherwise, so one workspace of the upper-bound size
// serves every shape in range and offsets stay static (smaller shapes use a prefix of each slot).
// Except where the workspace can scale with one symbol s (a dynamic batch, usually): when every
// storage's size is either c * s bytes or independent of s (the other symbols at their
// bindings), the proportional storages are placed for s = 1 and the others apart after them, and
// a run with s = v puts a proportional buffer at v times its offset and the rest after v units.
// Scaling keeps buffers that are apart at s = 1 apart at every v (and offsets aligned), so a run
// needs v units of workspace instead of the range maximum's: batch 1 of a library built for
// 1..256 takes about 1/256 of the memory (MemoryPlan::scale_symbol).
#ifndef KILN_PLAN_MEMORY_PLAN_H_
#define KILN_PLAN_MEMORY_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "ir/dim.h"
#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln {

struct PlanOptions {
  /// Symbol values to plan for; a symbol not named here takes its range maximum. Each value must
  /// lie in the symbol's range.
  SymbolBindings bindings;
  /// Alignment of every offset in bytes (a power of two): 256 B suits coalesced GPU access and
  /// every vector width a CPU kernel uses.
  int64_t alignment = 256;
  /// Let the workspace scale with a symbol where every storage allows it (see the file comment);
  /// false: static offsets.
  bool scale = true;
};

/// Where one value lives in the workspace.
struct BufferAssignment {
  const Value* value = nullptr;
  /// Byte offset in the workspace (a multiple of MemoryPlan::alignment), plus offset_per_unit
  /// times the scale symbol's value when the workspace scales (MemoryPlan::scale_symbol).
  int64_t offset = 0;
  int64_t offset_per_unit = 0;
  /// Bytes of the value at the planned bindings (not rounded up).
  int64_t size = 0;
  /// Node steps (indices in graph.nodes()) of the producer and the last user, inclusive.
  int first_use = 0;
  int last_use = 0;
  /// The producer writes this value over `shares_with`, an operand that dies at this node.
  bool in_place_of_input = false;
  /// The value is a view (IsViewNode: reshape, squeeze, unsqueeze, flatten, prefix slice) of
  /// `shares_with`.
  bool is_view = false;
  /// The value whose memory this one reuses (in place or as a view); nullptr otherwise.
  const Value* shares_with = nullptr;
};

struct MemoryPlan {
  /// One entry per value that needs workspace, in node order.
  std::vector<BufferAssignment> buffers;
  /// Size of the workspace at the bindings: the end of the highest buffer, rounded up to the
  /// alignment (after code generation: plus scratch_bytes).
  int64_t workspace_bytes = 0;
  /// Kernel scratch at the end of the workspace (codegen's KernelContext::Scratch: a split-K
  /// gemm's partial sums), set by the compiler after code generation; 0 when planned.
  int64_t scratch_bytes = 0;
  /// The symbol the workspace scales with, or "" for static offsets (see the file comment). When
  /// set, a run with it at v has unit_bytes * v bytes of proportional buffers, then fixed_bytes
  /// of the others, then the scratch.
  std::string scale_symbol;
  int64_t unit_bytes = 0;
  int64_t fixed_bytes = 0;
  /// Without any reuse: the sum of the buffers' sizes, each rounded up to the alignment (views
  /// excluded, as they never need memory of their own).
  int64_t naive_bytes = 0;
  /// Max over node steps of the sum of the (aligned) sizes of the storages live at that step:
  /// no placement of these storages can use less.
  int64_t lower_bound_bytes = 0;
  /// The symbol values the sizes were computed with (every symbol of the graph).
  SymbolBindings bindings;
  int64_t alignment = 256;

  /// Bytes a run with the scale symbol at `value` needs, scratch included (workspace_bytes when
  /// the plan does not scale).
  int64_t WorkspaceBytesAt(int64_t value) const;
  /// The plan of a run with the scale symbol at `value` as a static plan: offsets resolved, sizes
  /// and bindings at `value`, no scale symbol. A static plan returns itself.
  StatusOr<MemoryPlan> At(int64_t value) const;
};

/// True for ops whose result is a view of operand 0 (the same bytes read with another shape):
/// reshape, flatten, squeeze, unsqueeze.
bool IsViewOp(OpKind op);

/// True for nodes whose result is a view of operand 0's first bytes: those ops, and a slice that
/// keeps a prefix of its operand (every start 0 and step 1, at most one axis shortened, every axis
/// before it of extent 1: BERT's position-embedding rows [0, S) of a [512, 768] table).
bool IsViewNode(const Node& node);

/// Plans the workspace of `graph` (a verified graph, in its final node order). InvalidArgument
/// for a binding of an unknown symbol, a binding outside its range, or a bad alignment.
StatusOr<MemoryPlan> PlanMemory(const Graph& graph, const PlanOptions& options = {});

/// Checks that `plan` is a valid plan of `graph`: exactly the values that need workspace have a
/// buffer; each buffer's lifetime covers its producer and users; offsets are aligned and every
/// buffer lies inside workspace_bytes; two buffers whose lifetimes intersect do not overlap in
/// memory unless they share storage legally (a view, or an in-place result whose earlier
/// storage-mates all die at its producer). A scaling plan is checked At() its symbol's minimum,
/// middle and maximum. InternalError naming both buffers otherwise.
Status CheckPlan(const Graph& graph, const MemoryPlan& plan);

/// "workspace 12.3 MiB (naive 45.6 MiB, peak-live lower bound 11.9 MiB, 1.03x of the bound),
/// 152 buffers"; a scaling plan adds "; a run takes 48.0 KiB per unit of N + 1.5 KiB".
std::string FormatPlanSummary(const MemoryPlan& plan);

}  // namespace kiln

#endif  // KILN_PLAN_MEMORY_PLAN_H_
