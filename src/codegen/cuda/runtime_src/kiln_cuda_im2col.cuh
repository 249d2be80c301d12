// kiln_cuda: im2col of an NHWC activation, for a conv run as a plain gemm (src/codegen/cuda/conv.cc:
// a conv with few output tiles and a long reduction, such as ResNet's 3x3 convs at batch 1, whose
// implicit GEMM would occupy a handful of SMs, gathers its patches with this kernel and runs a
// stream-K gemm, whose CTAs split the reduction).
//
//   cols[m, (r * S + s) * C + c] = x[b, ih, iw, c],   m = (b * P + p) * Q + q,
//   ih = p * stride_h - pad_h + r * dilation_h,  iw = q * stride_w - pad_w + s * dilation_w,
//
// and 0 where (ih, iw) lies outside the image. cols is [N*P*Q, R*S*C] row-major: a row is one
// output pixel's receptive field in the KRSC filter's order, so the conv is cols @ w^T with w
// viewed as [K, R*S*C]. One 16-byte vector (8 channels of a 16-bit dtype) per thread, grid-stride;
// the consecutive threads of a pixel's taps read and write contiguous vectors.
#ifndef KILN_CUDA_IM2COL_CUH_
#define KILN_CUDA_IM2COL_CUH_

#include <cstdint>

#include "kiln_cuda.cuh"

namespace kiln_cuda {

__global__ void Im2colVecKernel(const uint4* x, uint4* cols, const ConvGeometry g) {
  GridDependencyWait();
  const int64_t cv = g.c / 8;  // vectors per pixel
  const int64_t total = g.n * g.p * g.q * g.r * g.s * cv;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t t = i / cv;
    const int64_t v = i - t * cv;
    const int64_t s = t % g.s;
    t /= g.s;
    const int64_t r = t % g.r;
    t /= g.r;
    const int64_t q = t % g.q;
    t /= g.q;
    const int64_t p = t % g.p;
    const int64_t b = t / g.p;
    const int64_t ih = p * g.stride_h - g.pad_h + r * g.dilation_h;
    const int64_t iw = q * g.stride_w - g.pad_w + s * g.dilation_w;
    uint4 value = make_uint4(0, 0, 0, 0);
    if (ih >= 0 && ih < g.h && iw >= 0 && iw < g.w) value = x[((b * g.h + ih) * g.w + iw) * cv + v];
    cols[i] = value;
  }
}

/// Writes the im2col matrix of the 16-bit NHWC activation x (see the file comment) to cols
/// ([N*P*Q, R*S*C], 16-byte aligned) on `stream`. Pre: g.c % 8 == 0, x 16-byte aligned.
inline void Im2col(const void* x, void* cols, const ConvGeometry& g, void* stream) {
  const int64_t vectors = g.n * g.p * g.q * g.r * g.s * (g.c / 8);
  if (vectors <= 0) return;
  Launch(Im2colVecKernel, GridFor(vectors, 256), 256, 0, AsStream(stream),
         static_cast<const uint4*>(x), static_cast<uint4*>(cols), g);
}

}  // namespace kiln_cuda

#endif  // KILN_CUDA_IM2COL_CUH_
