// kiln_cuda: resize (nearest / bilinear) over the spatial axes of a 4-D nchw or nhwc tensor,
// included by kiln_cuda.cuh. One thread per output element in the output's memory order. Source
// coordinates and nearest indices are computed in double with the reference's formulas
// (src/ops/resize.cc; IEEE double on the GPU gives the same indices); nearest moves elements as
// words of their size (any dtype, exact); bilinear is templated on the float dtype D
// (kiln_cuda::F32, F16, BF16) and interpolates in f32.
#ifndef KILN_CUDA_RESIZE_CUH_
#define KILN_CUDA_RESIZE_CUH_

#include <cstdint>

namespace kiln_cuda {

/// How an output coordinate maps to a source coordinate (ONNX coordinate_transformation_mode).
enum class ResizeCoordMode : int {
  kHalfPixel = 0,
  kAlignCorners = 1,
  kAsymmetric = 2,
  kPytorchHalfPixel = 3
};
/// How nearest mode rounds a source coordinate.
enum class ResizeNearestMode : int {
  kRoundPreferFloor = 0,
  kRoundPreferCeil = 1,
  kFloor = 2,
  kCeil = 3
};

/// x is [n, c, h, w] (nchw) or [n, h, w, c] (nhwc), y likewise with [oh, ow]; scale_h / scale_w
/// are the op's scales (or oh / h, ow / w when it gives a size).
struct ResizeShape {
  int64_t n, c, h, w, oh, ow;
  double scale_h, scale_w;
  bool nhwc;
  ResizeCoordMode coord;
  ResizeNearestMode nearest;
};

__device__ __forceinline__ double ResizeSourceCoord(ResizeCoordMode mode, int64_t x, int64_t in_len,
                                                    int64_t out_len, double scale) {
  switch (mode) {
    case ResizeCoordMode::kAlignCorners:
      return out_len == 1 ? 0.0
                          : static_cast<double>(x) * static_cast<double>(in_len - 1) /
                                static_cast<double>(out_len - 1);
    case ResizeCoordMode::kAsymmetric:
      return static_cast<double>(x) / scale;
    case ResizeCoordMode::kPytorchHalfPixel:
      if (out_len == 1) return 0.0;
      return (static_cast<double>(x) + 0.5) / scale - 0.5;
    default:
      return (static_cast<double>(x) + 0.5) / scale - 0.5;  // half_pixel
  }
}

__device__ __forceinline__ int64_t ResizeClamp(int64_t i, int64_t len) {
  return i < 0 ? 0 : (i >= len ? len - 1 : i);
}

__device__ __forceinline__ int64_t ResizeNearestIndex(ResizeNearestMode mode, double c,
                                                      int64_t in_len) {
  double r;
  if (mode == ResizeNearestMode::kFloor) {
    r = floor(c);
  } else if (mode == ResizeNearestMode::kCeil) {
    r = ceil(c);
  } else if (c - floor(c) == 0.5) {  // a tie: the mode picks the side
    r = mode == ResizeNearestMode::kRoundPreferCeil ? ceil(c) : floor(c);
  } else {
    r = round(c);
  }
  return ResizeClamp(static_cast<int64_t>(r), in_len);
}

/// Output element k -> (batch, channel, row, column) in the layout's order.
__device__ __forceinline__ void ResizeOutputCoords(const ResizeShape& s, int64_t k, int64_t* b,
                                                   int64_t* ch, int64_t* i, int64_t* j) {
  if (s.nhwc) {
    *ch = k % s.c;
    *j = (k / s.c) % s.ow;
    *i = (k / (s.c * s.ow)) % s.oh;
    *b = k / (s.c * s.ow * s.oh);
  } else {
    *j = k % s.ow;
    *i = (k / s.ow) % s.oh;
    *ch = (k / (s.ow * s.oh)) % s.c;
    *b = k / (s.ow * s.oh * s.c);
  }
}

/// Offset of x[b, ch, r, q] (r, q: source row and column).
__device__ __forceinline__ int64_t ResizeSourceOffset(const ResizeShape& s, int64_t b, int64_t ch,
                                                      int64_t r, int64_t q) {
  return s.nhwc ? ((b * s.h + r) * s.w + q) * s.c + ch : ((b * s.c + ch) * s.h + r) * s.w + q;
}

template <typename T>
__global__ void ResizeNearestKernel(const T* x, T* y, ResizeShape s) {
  GridDependencyWait();
  const int64_t total = s.n * s.c * s.oh * s.ow;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < total;
       k += stride) {
    int64_t b, ch, i, j;
    ResizeOutputCoords(s, k, &b, &ch, &i, &j);
    const int64_t r =
        ResizeNearestIndex(s.nearest, ResizeSourceCoord(s.coord, i, s.h, s.oh, s.scale_h), s.h);
    const int64_t q =
        ResizeNearestIndex(s.nearest, ResizeSourceCoord(s.coord, j, s.w, s.ow, s.scale_w), s.w);
    y[k] = x[ResizeSourceOffset(s, b, ch, r, q)];
  }
}

template <class D>
__global__ void ResizeBilinearKernel(const typename D::Storage* x, typename D::Storage* y,
                                     ResizeShape s) {
  GridDependencyWait();
  const int64_t total = s.n * s.c * s.oh * s.ow;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < total;
       k += stride) {
    int64_t b, ch, i, j;
    ResizeOutputCoords(s, k, &b, &ch, &i, &j);
    // The two source rows / columns around the coordinate and the weight of the second.
    const double cy = ResizeSourceCoord(s.coord, i, s.h, s.oh, s.scale_h);
    const double cx = ResizeSourceCoord(s.coord, j, s.w, s.ow, s.scale_w);
    const double fy = floor(cy), fx = floor(cx);
    const int64_t r0 = ResizeClamp(static_cast<int64_t>(fy), s.h),
                  r1 = ResizeClamp(static_cast<int64_t>(fy) + 1, s.h);
    const int64_t q0 = ResizeClamp(static_cast<int64_t>(fx), s.w),
                  q1 = ResizeClamp(static_cast<int64_t>(fx) + 1, s.w);
    const float wy = static_cast<float>(cy - fy), wx = static_cast<float>(cx - fx);
    auto at = [&](int64_t r, int64_t q) { return D::Load(x[ResizeSourceOffset(s, b, ch, r, q)]); };
    const float top = (1.f - wx) * at(r0, q0) + wx * at(r0, q1);
    const float bot = (1.f - wx) * at(r1, q0) + wx * at(r1, q1);
    y[k] = D::Store((1.f - wy) * top + wy * bot);
  }
}

/// Nearest resize of x into y, elements of kBytes bytes.
template <int kBytes>
void ResizeNearest(const ResizeShape& s, const void* x, void* y, void* stream) {
  using T = typename Word<kBytes>::Type;
  const int64_t total = s.n * s.c * s.oh * s.ow;
  if (total <= 0) return;
  Launch(ResizeNearestKernel<T>, GridFor(total, 256), 256, 0, AsStream(stream),
         static_cast<const T*>(x), static_cast<T*>(y), s);
}

/// Bilinear resize of x into y (float dtype D).
template <class D>
void ResizeBilinear(const ResizeShape& s, const typename D::Storage* x, typename D::Storage* y,
                    void* stream) {
  const int64_t total = s.n * s.c * s.oh * s.ow;
  if (total <= 0) return;
  Launch(ResizeBilinearKernel<D>, GridFor(total, 256), 256, 0, AsStream(stream), x, y, s);
}

}  // namespace kiln_cuda

#endif  // KILN_CUDA_RESIZE_CUH_
