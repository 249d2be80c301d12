// The target-independent half of the layout kernels' emitters (src/codegen/{cpu,cuda}/layout.cc):
// the per-axis starts and steps of a slice and the fill bytes, leading pads and mode of a pad, as
// generated C++ text, and the data axis of a gather. Each target wraps them in its own kernel call.
#ifndef KILN_CODEGEN_LAYOUT_PLAN_H_
#define KILN_CODEGEN_LAYOUT_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/kernel_context.h"
#include "kiln/status.h"

namespace kiln::codegen {

/// A slice of operand 0 as strided-copy arguments, one entry per operand axis.
struct SlicePlan {
  std::vector<std::string> starts;  ///< first element per axis ("0" on axes not sliced)
  std::vector<std::string> steps;   ///< step per axis ("1" on axes not sliced)
  /// Axes whose start is symbolic: the kernel must check `starts[a] + dst_dims[a] <= src_dims[a]`
  /// at run time (the reference reports an error there; a kernel writes zeros instead).
  std::vector<int64_t> checked;
};

/// Plans the `slice` node of `ctx` (attributes starts, ends, axes, steps; empty axes mean
/// 0..n-1, empty steps all 1). Static starts are clamped as ONNX Slice does (as the reference,
/// src/ops/indexing.cc); symbolic ones have step 1 and non-negative bounds (shape inference checked
/// them). Errors: an axis out of range for the operand's rank.
StatusOr<SlicePlan> PlanSlice(const KernelContext& ctx);

/// A `pad` node's parameters as kernel arguments.
struct PadPlan {
  std::vector<std::string> pads_begin;  ///< leading pad per operand axis
  /// The fill value converted to the dtype exactly as the reference does (Tensor::FromF64), as
  /// "0x.." byte literals so one array serves every dtype.
  std::vector<std::string> fill_bytes;
  std::string fill_comment;  ///< "<value> as <dtype>", for a comment next to the bytes
  std::string mode;          ///< the PadMode enumerator: "kConstant", "kReflect" or "kEdge"
};

/// Plans the `pad` node of `ctx` (attributes pads [begin..., end...], mode, value).
PadPlan PlanPad(const KernelContext& ctx);

/// The axis of operand 0 (data) that a `gather` (its `axis` attribute, normalised) or an
/// `embedding` (axis 0) node indexes. Errors: a gather axis out of range.
StatusOr<int64_t> GatherAxis(const Node& node);

}  // namespace kiln::codegen

#endif  // KILN_CODEGEN_LAYOUT_PLAN_H_
