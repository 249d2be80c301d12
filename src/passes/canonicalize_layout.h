// canonicalize-layout: converts NCHW convolution networks to NHWC, the layout Tensor Core
// convolution kernels want, and pushes the layout changes to the graph boundary.
//
// What: when the graph has at least one nchw conv2d / conv_transpose2d, every nchw conv becomes
// its nhwc form (a conv2d's `max_pool` is kept: its kernel, stride and pads are spatial, the same
// in both layouts), and the following ops become their nhwc form when their activation operand is
// already available in NHWC (converting them otherwise would only move a transpose around):
// max_pool2d, avg_pool2d, global_avg_pool2d, global_max_pool2d, group_norm, resize (layout=nhwc)
// and rank-4 batch_norm with axis 1 (axis=3; its [C] parameters are unchanged). Elementwise and
// broadcast ops with a rank-4 result are rewritten on the NHWC values when one rank-4 operand is
// available in NHWC and every other operand can be brought to NHWC for free:
//   - rank-4 values already available in NHWC, weights and constants (permuted at compile time),
//     and rank-4 values with static H = W = 1 ([N,C,1,1] -> reshape to [N,1,1,C]: same memory
//     order);
//   - scalars and all-ones shapes (unchanged);
//   - [C,1,1] NCHW-broadcast operands (reshaped to [1,1,C], which broadcasts along NHWC's C).
// Anything else (e.g. a rank-1 [W] operand, which broadcasts along W in NCHW) leaves the op NCHW.
//
// Weights: conv weights are permuted at compile time into new weights in the shared
// Graph::weights() map: conv2d OIHW -> OHWI ("<name>.ohwi"), conv_transpose2d [C,O/g,kh,kw] ->
// [C,kh,kw,O/g] ("<name>.ihwo"), other rank-4 weights NCHW-style -> "<name>.nhwc". The original
// entries stay (clones of the graph share the map and still refer to them). When a weight has no
// data (a graph parsed from .kir without weights) the pass inserts `transpose(w) {perm=[0,2,3,1]}`
// instead, which stays correct whatever data is attached later. Constants are permuted in place
// into new constants. Epilogue bias operands stay [C] (they run along the channel axis in both
// layouts); epilogue `add` operands follow the elementwise operand rules above.
//
// Boundary: a graph input (or any NCHW value) needed in NHWC gets one `transpose {perm=[0,2,3,1]}`
// named "<x>_nhwc" (a graph input's at the start of the graph); an NHWC value whose NCHW form is
// still needed (graph outputs, gemm, pad, concat, any op not handled here) gets one
// `transpose {perm=[0,3,1,2]}` that takes the original value's name, so graph output names and
// the unconverted users stay as they were. Cancelling pairs are never created: a value produced
// by transpose(y) {perm=[0,3,1,2]} is available in NHWC as y, and an existing
// transpose(x) {perm=[0,2,3,1]} of a value available in NHWC is replaced by that value.
// Special case: reshape and flatten of a rank-4 value with static H = W = 1 (the classifier head
// global_avg_pool2d -> flatten) read the NHWC value directly, because [N,C,1,1] and [N,1,1,C]
// have the same memory order; so ResNet-50 ends up with exactly one transpose, at its input.
//
// Preconditions: a verified graph. Nothing is done (returns false, graph untouched) when it has no
// nchw conv2d / conv_transpose2d, e.g. an already NHWC network or a network without convs.
// Postconditions: a verified graph computing exactly the same values (only data movement
// changes); the converted nodes' NHWC results are named "<original>_nhwc"; the replaced nodes and
// the transposes and weight / constant nodes that lost their last user are removed. Errors:
// InvalidArgument when a weight's data does not match its declared dtype and shape.
#ifndef KILN_PASSES_CANONICALIZE_LAYOUT_H_
#define KILN_PASSES_CANONICALIZE_LAYOUT_H_

#include "passes/pass.h"

namespace kiln {

/// Converts NCHW conv networks to NHWC with transposes only at the boundary (see above).
class CanonicalizeLayoutPass : public Pass {
 public:
  std::string_view name() const override { return "canonicalize-layout"; }
  StatusOr<bool> Run(Graph& graph) override;
};

}  // namespace kiln

#endif  // KILN_PASSES_CANONICALIZE_LAYOUT_H_
