// pad-conv-channels: pads the input channels of f16/bf16 NHWC convolutions to what the Hopper
// CUTLASS kernels take: 4 when there are fewer (a conv other than 1x1: the fixed-channels kernel
// moves one pixel's 4 channels in one 8-byte access), else a multiple of 8 (the TMA implicit GEMM
// and the 1x1 gemm move 16-byte boxes). The 3-channel stem of an image net is the case that
// matters: without it, that conv runs on the direct kernel. cuda-sm90 only (the CPU's oneDNN
// convolution takes any channel count; cuda-sm80 runs convs on a direct kernel).
//
// What: conv2d(x [N, H, W, C], w [O, kh, kw, C]) {layout=nhwc, groups=1} with C not 4 or a
// multiple of 8 and O % 8 == 0 becomes
//   conv2d(pad(x) [N, H, W, C'], w' [O, kh, kw, C'])       C' = 4 or C rounded up to 8k
// where pad(x) appends C' - C zero channels and w' is w with zero filter taps for them: the extra
// channels contribute 0 to every output, so the result is exactly the same. When w is a weight
// with its data attached (or a constant), w' is computed at compile time as a new weight
// "<w>.padded_channels" (a constant for a constant); otherwise a pad node pads it at run time.
// When x is a transpose read only by the conv (an NCHW image made NHWC), the pad moves before it:
//   conv2d(transpose(pad(x0)), w')   pad on the axis of x0 that the transpose makes the last
// so the pad appends whole zero planes and the transpose writes 4-channel pixels as one word.
//
// Preconditions: a verified graph. Postconditions: a verified graph computing the same values;
// returns false, with the graph untouched, when no conv qualifies.
#ifndef KILN_PASSES_PAD_CONV_CHANNELS_H_
#define KILN_PASSES_PAD_CONV_CHANNELS_H_

#include "passes/pass.h"

namespace kiln {

/// See the file comment.
class PadConvChannelsPass : public Pass {
 public:
  std::string_view name() const override { return "pad-conv-channels"; }
  StatusOr<bool> Run(Graph& graph) override;
};

}  // namespace kiln

#endif  // KILN_PASSES_PAD_CONV_CHANNELS_H_
