// lower-patch-conv: a conv2d whose kernel tiles its input exactly (stride == kernel size, no
// padding, dilation 1, one group: ViT's patch embedding) becomes one copy and a gemm. Each
// output pixel reads its own kh x kw patch and nothing else, so gathering the patches into rows
// (space-to-depth) turns the conv into a plain matrix product with the flattened filter:
//
//   nchw: x [N, C, H, W] -> reshape [N, C, P, kh, Q, kw] -> transpose [0, 2, 4, 1, 3, 5]
//         -> reshape [N, P*Q, C*kh*kw];  w [O, C, kh, kw] -> reshape [O, C*kh*kw]
//   nhwc: x [N, H, W, C] -> reshape [N, P, kh, Q, kw, C] -> transpose [0, 1, 3, 2, 4, 5]
//         -> reshape [N, P*Q, kh*kw*C];  w [O, kh, kw, C] -> reshape [O, kh*kw*C]
//   y = gemm(rows, w') {trans_b=true, epilogue=<the conv's>} : [N, P*Q, O]
//   -> reshape [N, P, Q, O] (nhwc: the result), nchw: -> transpose [0, 3, 1, 2]
//
// (P = H / kh, Q = W / kw.) The filter reshapes are views of the weight; the nchw result's
// transpose usually folds into what follows (fold-views: ViT flattens it to tokens, so no copy
// remains). On the GPU this replaces a conv whose 3 input channels starve the implicit GEMM (the
// few-channel kernel ran ViT-B/16's patch embedding at 81 TFLOP/s) with a copy and a gemm.
//
// Preconditions (otherwise the conv is left alone): static H, W, C and filter; H % kh == 0 and
// W % kw == 0; the epilogue has no residual add (its operand would need the gemm's layout); no
// `max_pool` (the gemm would not pool).
// Postconditions: a verified graph computing the same values (the same products and sums, in
// another order); the conv's result name moves to the new final node. Returns false when nothing
// was rewritten.
#ifndef KILN_PASSES_LOWER_PATCH_CONV_H_
#define KILN_PASSES_LOWER_PATCH_CONV_H_

#include "passes/pass.h"

namespace kiln {

/// See the file comment.
class LowerPatchConvPass : public Pass {
 public:
  std::string_view name() const override { return "lower-patch-conv"; }
  StatusOr<bool> Run(Graph& graph) override;
};

}  // namespace kiln

#endif  // KILN_PASSES_LOWER_PATCH_CONV_H_
