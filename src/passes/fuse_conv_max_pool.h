// fuse-conv-max-pool: folds the max pool that follows an image net's stem conv into the conv's
// `max_pool` attribute, so the cuda-sm90 few-channel kernel runs conv + bias + relu + max pool as
// one kernel and the stem's largest activation (ResNet-50: [N,112,112,64], 4x the pooled one)
// never goes to memory.
//
// What:
//   %c = conv2d(%x, %w) {<attrs>, epilogue=E} : [N, OH, OW, O]
//   %y = max_pool2d(%c) {kernel=[kh,kw], stride=[sh,sw], pad=[pt,pl,pb,pr], layout=nhwc}
// becomes
//   %y = conv2d(%x, %w) {<attrs>, epilogue=E, max_pool=[kh,kw,sh,sw,pt,pl,pb,pr]}
// when the conv is what the few-channel kernel takes (kiln_cuda_conv_fixed_channels.cuh, chosen
// by PlanConvSm90): layout nhwc, groups 1, x and w f16 or bf16 and %c of x's dtype, 4 or 8 input
// channels (x's last dim, static), a static output channel count that is a multiple of 8,
// dilation 1, a kernel other than 1x1 and at most 11x11, stride at most 4 in each direction, and
// an epilogue of exactly [], [bias], [relu] or [bias, relu] whose bias has the output's dtype
// (what PlanFixedChannelsEpilogue fuses), and no max_pool yet; when %c has no user but the pool
// and is no graph output; and when the pool has dilation 1, ceil_mode=false, layout nhwc, and
// kernel and stride in 1..5 in each direction (count_include_pad means nothing to a max pool).
// The result is exact: max commutes with the rounding of the conv's result to its dtype.
//
// Preconditions: a verified graph, after fuse-epilogue (the bias and relu must already be the
// conv's epilogue: nothing joins the epilogue of a conv with max_pool afterwards) and after
// canonicalize-layout / pad-conv-channels (the conv must already be the NHWC 4-channel one).
// cuda-sm90 only: the other kernels reject max_pool.
// Postconditions: a verified graph computing the same values; the fused conv takes the pool's
// result name and position (graph outputs keep their names) and the conv's source line; the
// original conv and pool are removed. Returns false, the graph untouched, when nothing matches.
#ifndef KILN_PASSES_FUSE_CONV_MAX_POOL_H_
#define KILN_PASSES_FUSE_CONV_MAX_POOL_H_

#include "passes/pass.h"

namespace kiln {

/// See the file comment.
class FuseConvMaxPoolPass : public Pass {
 public:
  std::string_view name() const override { return "fuse-conv-max-pool"; }
  StatusOr<bool> Run(Graph& graph) override;
};

}  // namespace kiln

#endif  // KILN_PASSES_FUSE_CONV_MAX_POOL_H_
