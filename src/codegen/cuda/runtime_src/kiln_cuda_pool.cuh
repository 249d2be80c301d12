// kiln_cuda: max_pool2d and avg_pool2d over windows (PyTorch / ONNX semantics: padding, dilation,
// ceil_mode overhang, count_include_pad), included by kiln_cuda.cuh. Templated on the float dtype
// D (kiln_cuda::F32, F16, BF16), computing in f32. One thread per output element in the output's
// memory order, so in nhwc adjacent threads read adjacent channels (coalesced); in nhwc with a
// channel count that 16-byte vectors divide, one thread per vector of channels. Global pools are
// reductions (kiln_cuda::Reduce over the spatial axes).
#ifndef KILN_CUDA_POOL_CUH_
#define KILN_CUDA_POOL_CUH_

#include <cstdint>

namespace kiln_cuda {

/// Shapes and window of a 2-D pool: x is [n, c, h, w] (nchw) or [n, h, w, c] (nhwc), y likewise
/// with [oh, ow]; kernel, stride, pads (top, left, bottom, right) and dilation.
struct PoolShape {
  int64_t n, c, h, w, oh, ow;
  int64_t kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
  bool nhwc;
};

/// One thread per output element (kVec 1), or per kVec adjacent channels of an nhwc output pixel
/// (kVec > 1: c % kVec == 0 and x, y 16-byte aligned; one 16-byte load per window tap). Index:
/// int when every element offset of x and y fits one (Pool2d checks), so that the coordinates
/// come from 32-bit divisions (a 64-bit one by a runtime divisor is a long software routine, and
/// four of them per output made ResNet-50's stem max pool issue-bound at ~45% of DRAM bandwidth),
/// else int64_t.
template <class D, bool kMax, bool kCountIncludePad, int kVec, class Index>
__global__ void Pool2dKernel(const typename D::Storage* x, typename D::Storage* y, PoolShape shape) {
  GridDependencyWait();
  using S = typename D::Storage;
  struct {
    Index n, c, h, w, oh, ow, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
    bool nhwc;
  } const s = {static_cast<Index>(shape.n),  static_cast<Index>(shape.c),  static_cast<Index>(shape.h),
               static_cast<Index>(shape.w),  static_cast<Index>(shape.oh), static_cast<Index>(shape.ow),
               static_cast<Index>(shape.kh), static_cast<Index>(shape.kw), static_cast<Index>(shape.sh),
               static_cast<Index>(shape.sw), static_cast<Index>(shape.pt), static_cast<Index>(shape.pl),
               static_cast<Index>(shape.pb), static_cast<Index>(shape.pr), static_cast<Index>(shape.dh),
               static_cast<Index>(shape.dw), shape.nhwc};
  const Index cv = s.c / kVec;  // channel groups
  const Index total = s.n * cv * s.oh * s.ow;
  const Index stride = static_cast<Index>(gridDim.x) * blockDim.x;
  for (Index k = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; k < total; k += stride) {
    // Output coordinates from the flat index, in the layout's order.
    Index b, ch, oy, ox;
    if (s.nhwc) {
      const Index pixel = k / cv;
      ch = (k - pixel * cv) * kVec;
      const Index row = pixel / s.ow;
      ox = pixel - row * s.ow;
      b = row / s.oh;
      oy = row - b * s.oh;
    } else {
      const Index plane = k / s.ow;
      ox = k - plane * s.ow;
      const Index image = plane / s.oh;
      oy = plane - image * s.oh;
      b = image / s.c;
      ch = image - b * s.c;
    }
    const Index sy = s.nhwc ? s.w * s.c : s.w, sx = s.nhwc ? s.c : 1;  // element strides of h, w
    const S* xc = x + (s.nhwc ? b * s.h * s.w * s.c + ch : (b * s.c + ch) * s.h * s.w);
    const Index y0 = oy * s.sh - s.pt, x0 = ox * s.sw - s.pl;
    float best[kVec], sum[kVec];
#pragma unroll
    for (int e = 0; e < kVec; ++e) {
      best[e] = -__int_as_float(0x7f800000);
      sum[e] = 0.f;
    }
    Index rows_in = 0, rows_padded = 0, cols_in = 0, cols_padded = 0;
    for (Index i = 0; i < s.kh; ++i) {
      const Index iy = y0 + i * s.dh;
      rows_padded += iy < s.h + s.pb ? 1 : 0;  // never beyond the trailing pad (ceil_mode overhang)
      if (iy < 0 || iy >= s.h) continue;
      ++rows_in;
      for (Index j = 0; j < s.kw; ++j) {
        const Index ix = x0 + j * s.dw;
        if (ix < 0 || ix >= s.w) continue;
        alignas(16) S raw[kVec];
        if constexpr (kVec == 1) {
          raw[0] = xc[iy * sy + ix * sx];
        } else {
          LoadVector(raw, xc + iy * sy + ix * sx);
        }
#pragma unroll
        for (int e = 0; e < kVec; ++e) {
          const float v = D::Load(raw[e]);
          best[e] = kiln_scalar::FMax(best[e], v);  // NaN propagates, as in PyTorch
          sum[e] += v;
        }
      }
    }
    for (Index j = 0; j < s.kw; ++j) {
      const Index ix = x0 + j * s.dw;
      cols_padded += ix < s.w + s.pr ? 1 : 0;
      cols_in += ix >= 0 && ix < s.w ? 1 : 0;
    }
    const Index count = kCountIncludePad ? rows_padded * cols_padded : rows_in * cols_in;
    alignas(16) S r[kVec];
#pragma unroll
    for (int e = 0; e < kVec; ++e) {
      const float v = kMax ? best[e] : (count > 0 ? sum[e] / static_cast<float>(count) : 0.f);
      r[e] = D::Store(v);
    }
    if constexpr (kVec == 1) {
      y[k] = r[0];
    } else {
      StoreVector(y + k * kVec, r);  // nhwc: output element k * kVec is (b, oy, ox, ch)
    }
  }
}

/// max_pool2d (kMax) or avg_pool2d of x into y (shapes and window in s): 16-byte channel vectors
/// for nhwc tensors whose channel count and pointers allow, one element per thread otherwise.
template <class D, bool kMax, bool kCountIncludePad>
void Pool2d(const PoolShape& s, const typename D::Storage* x, typename D::Storage* y,
            void* stream) {
  const int64_t total = s.n * s.c * s.oh * s.ow;
  if (total <= 0) return;
  constexpr int kVec = 16 / sizeof(typename D::Storage);
  // int offsets when x, y and the grid-stride index (up to total + the grid's threads) fit.
  const int64_t x_size = s.n * s.c * s.h * s.w;
  const bool narrow = (x_size > total ? x_size : total) + int64_t{MaxBlocks()} * 256 <= INT32_MAX;
  auto launch = [&](auto kernel, int64_t threads) {
    Launch(kernel, GridFor(threads, 256), 256, 0, AsStream(stream), x, y, s);
  };
  const bool vectors = s.nhwc && s.c % kVec == 0 && Aligned16(x) && Aligned16(y);
  if (vectors && narrow) {
    launch(Pool2dKernel<D, kMax, kCountIncludePad, kVec, int>, total / kVec);
  } else if (vectors) {
    launch(Pool2dKernel<D, kMax, kCountIncludePad, kVec, int64_t>, total / kVec);
  } else if (narrow) {
    launch(Pool2dKernel<D, kMax, kCountIncludePad, 1, int>, total);
  } else {
    launch(Pool2dKernel<D, kMax, kCountIncludePad, 1, int64_t>, total);
  }
}

}  // namespace kiln_cuda

#endif  // KILN_CUDA_POOL_CUH_
