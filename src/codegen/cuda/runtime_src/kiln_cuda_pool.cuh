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
/// (kVec > 1: c % kVec == 0 and x, y 16-byte aligned; one 16-byte load per window tap).
template <class D, bool kMax, bool kCountIncludePad, int kVec>
__global__ void Pool2dKernel(const typename D::Storage* x, typename D::Storage* y, PoolShape s) {
  GridDependencyWait();
  using S = typename D::Storage;
  const int64_t cv = s.c / kVec;  // channel groups
  const int64_t total = s.n * cv * s.oh * s.ow;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < total;
       k += stride) {
    // Output coordinates from the flat index, in the layout's order.
    int64_t b, ch, oy, ox;
    if (s.nhwc) {
      ch = k % cv * kVec;
      ox = (k / cv) % s.ow;
      oy = (k / (cv * s.ow)) % s.oh;
      b = k / (cv * s.ow * s.oh);
    } else {
      ox = k % s.ow;
      oy = (k / s.ow) % s.oh;
      ch = (k / (s.ow * s.oh)) % s.c;
      b = k / (s.ow * s.oh * s.c);
    }
    const int64_t sy = s.nhwc ? s.w * s.c : s.w, sx = s.nhwc ? s.c : 1;  // element strides of h, w
    const S* xc = x + (s.nhwc ? b * s.h * s.w * s.c + ch : (b * s.c + ch) * s.h * s.w);
    const int64_t y0 = oy * s.sh - s.pt, x0 = ox * s.sw - s.pl;
    float best[kVec], sum[kVec];
#pragma unroll
    for (int e = 0; e < kVec; ++e) {
      best[e] = -__int_as_float(0x7f800000);
      sum[e] = 0.f;
    }
    int64_t rows_in = 0, rows_padded = 0, cols_in = 0, cols_padded = 0;
    for (int64_t i = 0; i < s.kh; ++i) {
      const int64_t iy = y0 + i * s.dh;
      rows_padded += iy < s.h + s.pb ? 1 : 0;  // never beyond the trailing pad (ceil_mode overhang)
      if (iy < 0 || iy >= s.h) continue;
      ++rows_in;
      for (int64_t j = 0; j < s.kw; ++j) {
        const int64_t ix = x0 + j * s.dw;
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
    for (int64_t j = 0; j < s.kw; ++j) {
      const int64_t ix = x0 + j * s.dw;
      cols_padded += ix < s.w + s.pr ? 1 : 0;
      cols_in += ix >= 0 && ix < s.w ? 1 : 0;
    }
    const int64_t count = kCountIncludePad ? rows_padded * cols_padded : rows_in * cols_in;
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
  if (s.nhwc && s.c % kVec == 0 && Aligned16(x) && Aligned16(y)) {
    Launch(Pool2dKernel<D, kMax, kCountIncludePad, kVec>, GridFor(total / kVec, 256), 256, 0,
           AsStream(stream), x, y, s);
    return;
  }
  Launch(Pool2dKernel<D, kMax, kCountIncludePad, 1>, GridFor(total, 256), 256, 0, AsStream(stream),
         x, y, s);
}

}  // namespace kiln_cuda

#endif  // KILN_CUDA_POOL_CUH_
