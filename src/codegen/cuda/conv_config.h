// How a conv2d node runs on cuda-sm90 (conv.cc emits it, conv_tuning.cc tunes it): its static
// geometry, which epilogue operand the CUTLASS kernels read as the source operand C, whether the
// Hopper kernels can take it at all or it has few channels, and the implicit-GEMM tile configs (a 1x1 stride-1 conv is a
// gemm and takes the gemm configs of gemm_config.h instead).
#ifndef KILN_CODEGEN_CUDA_CONV_CONFIG_H_
#define KILN_CODEGEN_CUDA_CONV_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/cuda/gemm_config.h"
#include "codegen/cuda/runtime_src/kiln_cuda_conv_pool_tile.h"
#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln::codegen::cuda {

/// Attributes and extents of an nhwc or nchw conv2d node (spatial dims are static in kiln).
struct ConvAttrs {
  bool nhwc = true;
  int64_t groups = 1;
  std::vector<int64_t> stride, pad, dilation;  // [h, w], [top, left, bottom, right], [h, w]
  int64_t c = 0, o = 0, kh = 0, kw = 0, h = 0, w = 0, oh = 0, ow = 0;  // static extents
  Dim n;                                                               // batch (maybe symbolic)
  /// conv2d's max_pool attribute ([kh, kw, sh, sw, pt, pl, pb, pr], empty: none): the node's
  /// output is the pooled one, pool_oh x pool_ow; oh, ow stay the conv's own output size.
  std::vector<int64_t> max_pool;
  int64_t pool_oh = 0, pool_ow = 0;
  /// 1x1, stride 1, dilation 1, no padding: the conv is a gemm of N*H*W rows.
  bool Pointwise() const;
};
ConvAttrs ReadConvAttrs(const Node& node);
/// The few-channel kernel's description of a.max_pool (non-empty).
kiln_cuda::fixed_channels::MaxPool FixedChannelsPool(const ConvAttrs& a);

/// What the sm90 kernels do with a conv node, or why they cannot take it.
struct ConvSm90Plan {
  std::string unsupported;  // non-empty: the direct kernel takes the node, for this reason
  /// 4 or 8 input channels (the padded stem), not 1x1: a kernel that moves a pixel's channels in
  /// one access takes it: kiln's few-channel kernel (kiln_cuda_conv_fixed_channels.cuh, from
  /// shared memory) when `fixed_channels_smem` (O a multiple of 8, filters and input patch fit),
  /// else CUTLASS 2.x's fixed-channels conv (kiln_cuda_conv_fixed_channels_cutlass.cuh).
  bool fixed_channels = false;
  bool fixed_channels_smem = false;
  ConvAttrs attrs;
  int source = -1;          // the full-size residual read as source operand C (-1: none)
  GemmProblem gemm;         // Pointwise(): the gemm it is ([N*H*W, C] x [O, C]^T)
};
ConvSm90Plan PlanConvSm90(const Node& node);

/// An implicit-GEMM tile (one consumer warp group: at most 128x128; K 16, 32 or 64) and how many
/// CTAs share an SM. CUTLASS's sm90 conv kernel is not persistent: with one CTA per SM (its
/// default, every byte of shared memory a pipeline stage) a tile's prologue and epilogue run with
/// the tensor cores idle; with two or three the stages are sized so that the CTAs fit side by side
/// and one CTA's epilogue runs under another's mainloop (registers permitting: kiln_cuda_conv_sm90.cuh).
struct ConvTile {
  int m = 128, n = 128, k = 64;
  int ctas_per_sm = 1;  // 1, 2 or 3
  /// "conv_128x64x64" (+ "_2cta" when more than one CTA per SM): the KILN spelling
  /// (KernelContext::config, the tuning cache).
  std::string Name() const;
  /// "cute::Shape<cute::_128, cute::_64, cute::Shape<cute::_64>>".
  std::string ShapeType() const;
};
/// The tiles worth timing for `a`: M and N of 64 or 128, K by channel count (see HeuristicConvTile),
/// each with one CTA per SM and, for tiles of at most 128x64 (64 f32 accumulators per thread, so
/// that registers allow it), with two (and for 64x64, three).
std::vector<ConvTile> ConvTileCandidates(const ConvAttrs& a);
/// The tile chosen without a GPU, and why (a comment of the generated kernel).
ConvTile HeuristicConvTile(const ConvAttrs& a, std::string* why);
/// Parses ConvTile::Name(); InvalidArgument naming the text and the expected form otherwise.
StatusOr<ConvTile> ParseConvTile(const std::string& text);

}  // namespace kiln::codegen::cuda

#endif  // KILN_CODEGEN_CUDA_CONV_CONFIG_H_
