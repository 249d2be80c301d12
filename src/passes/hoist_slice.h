// hoist-slice: a slice that keeps few rows moves above the row-wise ops that produce its operand,
// so those ops compute only the rows it keeps. ViT's classifier reads token 0 of the last layer
// norm's output; the slice climbs through that layer_norm, the last encoder block's residual adds,
// FFN gemms, GELU, second layer_norm and out-projection gemm up to the attention, so the last
// block's tail runs on 1 row per image instead of 197:
//
//   %y = layer_norm(%h, %g, %b) : [N,197,768]           %s = slice(%h) {axes=[1], ...} : [N,1,768]
//   %c = slice(%y) {starts=[0], ends=[1], axes=[1]}  ->  %c = layer_norm(%s, %g, %b) : [N,1,768]
//
// A slice moves above its operand's producer P when
// - every user of P's result is a slice with the same attributes (they all become P's sliced
//   copy; a result that is also read whole, or a graph output, keeps P as it is);
// - each sliced axis is independent in P: P is elementwise/broadcast, a layer_norm / rms_norm
//   normalising after the axis, a softmax / log_softmax over another axis, a gemm whose output
//   row or batch axis it is (not the N axis), or a reshape that keeps every dim up to the axis;
// - it keeps at most half of the elements on its axes (static extents), so moving it pays even
//   when it ends up as a copy in front of P.
// P's operands are sliced on the axes they have (numpy broadcasting: an operand of extent 1 or
// without the axis is read as it is, as are a gemm's b for a row axis and the norms' weights).
// Those slices then climb on in turn; where one stops it is a copy of the kept rows. A select
// (gather of one constant index, ONNX's `x[:, 0]`) that such a slice could leave becomes that
// slice and a squeeze first.
//
// Postconditions: a verified graph computing the same values; the slices' result names move to
// the sliced producers (graph outputs keep their names). Returns false when nothing moved.
#ifndef KILN_PASSES_HOIST_SLICE_H_
#define KILN_PASSES_HOIST_SLICE_H_

#include "passes/pass.h"

namespace kiln {

/// See the file comment.
class HoistSlicePass : public Pass {
 public:
  std::string_view name() const override { return "hoist-slice"; }
  StatusOr<bool> Run(Graph& graph) override;
};

}  // namespace kiln

#endif  // KILN_PASSES_HOIST_SLICE_H_
