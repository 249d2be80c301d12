// pad-conv-channels: pads the input channels of f16/bf16 NHWC convolutions to a multiple of 8, so
// that the Hopper implicit-GEMM kernel can take them (TMA moves 16-byte boxes: the channel
// extent of the activation and the filter must be a multiple of 16 bytes). The 3-channel stem of
// an image net is the case that matters: without it, that conv runs on the direct kernel.
// cuda-sm90 only (the CPU's oneDNN convolution takes any channel count; cuda-sm80 runs convs on
// a direct kernel).
//
// What: conv2d(x [N, H, W, C], w [O, kh, kw, C]) {layout=nhwc, groups=1} with C % 8 != 0 and
// O % 8 == 0 becomes
//   conv2d(pad(x) [N, H, W, C8], w8 [O, kh, kw, C8])       C8 = C rounded up to a multiple of 8
// where pad(x) appends C8 - C zero channels and w8 is w with zero filter taps for them: the extra
// channels contribute 0 to every output, so the result is exactly the same. When w is a weight
// with its data attached (or a constant), w8 is computed at compile time as a new weight
// "<w>.padded_channels" (a constant for a constant); otherwise a pad node pads it at run time.
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
