// kiln_cpu: pooling and resize kernels (see kiln_cpu.h for the conventions).
//
// Semantics are kiln's max_pool2d / avg_pool2d / global_*_pool2d / resize ops (PyTorch / ONNX):
// padded positions never win a max and count in an average only with count_include_pad (and then
// only up to the trailing padding: a ceil_mode window overhanging it counts less); NaN propagates
// through max. In nhwc the loops run over the contiguous channels (vectorised); nchw is handled as
// n*c single-channel nhwc images.
#ifndef KILN_CPU_POOL_H_
#define KILN_CPU_POOL_H_

#include <cstdint>

namespace kiln_cpu {

/// The geometry of one windowed pool, all concrete: input [n, c, h, w] in the given layout,
/// output spatial size oh x ow, window kh x kw with stride, pads (top, left, bottom, right) and
/// dilation.
struct PoolShape {
  int64_t n = 1, c = 1, h = 1, w = 1;
  int64_t oh = 1, ow = 1;
  int64_t kh = 1, kw = 1;
  int64_t sh = 1, sw = 1;
  int64_t pt = 0, pl = 0, pb = 0, pr = 0;
  int64_t dh = 1, dw = 1;
  bool nhwc = true;
};

/// y = max over each window (-inf where a window sees no input element). y is only written.
void MaxPool2d(const PoolShape& s, const float* x, float* y);

/// y = mean over each window; the divisor counts the window's elements inside the input, or with
/// `count_include_pad` those inside input + padding (0 when the count is 0). y is only written.
void AvgPool2d(const PoolShape& s, bool count_include_pad, const float* x, float* y);

/// y[n, c] = mean (or max) of x[n, c, :, :] over its `hw` = H*W pixels; y has n*c elements in
/// either layout ([N, 1, 1, C] and [N, C, 1, 1] have the same order). hw == 0 gives 0 / -inf.
void GlobalAvgPool2d(int64_t n, int64_t c, int64_t hw, bool nhwc, const float* x, float* y);
void GlobalMaxPool2d(int64_t n, int64_t c, int64_t hw, bool nhwc, const float* x, float* y);

/// ONNX Resize coordinate_transformation_mode.
enum class ResizeCoord { kHalfPixel, kAlignCorners, kAsymmetric, kPytorchHalfPixel };
/// ONNX Resize nearest_mode.
enum class ResizeNearest { kFloor, kCeil, kRoundPreferFloor, kRoundPreferCeil };

/// The geometry and modes of one resize: x [n, c, h, w] (layout per `nhwc`) to [n, c, oh, ow].
/// scale_h / scale_w are the op's scales, or oh/h and ow/w when it was given a size.
struct ResizeShape {
  int64_t n = 1, c = 1, h = 1, w = 1;
  int64_t oh = 1, ow = 1;
  double scale_h = 1.0, scale_w = 1.0;
  bool bilinear = false;
  ResizeCoord coord = ResizeCoord::kHalfPixel;
  ResizeNearest nearest = ResizeNearest::kRoundPreferFloor;
  bool nhwc = true;
};

/// y = resize(x): nearest picks one source pixel per output pixel; bilinear blends the 2x2
/// neighbours of the source coordinate (clamped into the input). Pre: h, w >= 1. y is only
/// written.
void Resize(const ResizeShape& s, const float* x, float* y);

}  // namespace kiln_cpu

#endif  // KILN_CPU_POOL_H_
