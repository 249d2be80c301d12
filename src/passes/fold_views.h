// fold-views: a chain of layout ops (reshape, squeeze, unsqueeze, flatten, transpose, slice)
// becomes the fewest copies that produce the same tensor. Exported models are full of such
// chains: torchvision's MultiheadAttention is sequence-first, so every q, k and v of a ViT goes
// through reshape, unsqueeze, a 5-D transpose, squeeze, select, reshape, transpose, reshape and
// transpose (four copies) on the way from the in-projection to the attention; composed, it is a
// slice of the projection's last axis and a transpose. Reshapes are free (views); transposes and
// slices each copy the tensor (a slice keeping its operand's first bytes is a view too, see
// IsViewNode in plan/memory_plan.h; this pass still counts it as a copy).
//
// How: for each value made by a layout op and read by something else, the pass composes the
// chain back to its first non-layout producer (the root) into one strided view of the root:
// offset and per-axis strides, as a tensor library's view would hold them (reshape only where
// the merged or split axes are contiguous). A view whose axes, sorted by stride, tile the root
// densely is re-emitted as reshape -> transpose -> reshape (one copy, none when the order is
// kept); one that also skips part of the root's last axis (a q, k or v of a packed projection)
// as a slice of that axis first. The chain is replaced when that needs fewer copies (ties: fewer
// nodes); anything else (gaps elsewhere, symbolic offsets, steps) is left as it is.
//
// Also: gemm(a, w) whose a only rearranges whole rows of its root (a's last axis is the root's
// trailing axes) runs on the root's rows instead, the rearrangement moving to its result, where
// it can fold with what follows: the transposes around a sequence-first attention cancel so.
//
// Also through add/sub/mul/div by a value that varies along the last axis only (a bias), so that
// an exported projection's bias add meets its gemm again.
//
// Preconditions: a verified graph. Postconditions: a verified graph computing the same values;
// when it changed anything, nodes that nothing reads any more are removed; returns false, with
// the graph untouched, when no chain gets cheaper.
#ifndef KILN_PASSES_FOLD_VIEWS_H_
#define KILN_PASSES_FOLD_VIEWS_H_

#include "passes/pass.h"

namespace kiln {

/// See the file comment.
class FoldViewsPass : public Pass {
 public:
  std::string_view name() const override { return "fold-views"; }
  StatusOr<bool> Run(Graph& graph) override;
};

}  // namespace kiln

#endif  // KILN_PASSES_FOLD_VIEWS_H_
