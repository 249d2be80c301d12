// Direct convolution for generated CUDA kernels (namespace kiln_cuda): one thread per output
// element, f32 accumulation over the window and the group's channels; conv_transpose2d the same
// way, gathering the input pixels whose taps land on the output (its only CUDA kernel so far). The fallback for what the
// Hopper implicit-GEMM kernel (kiln_cuda_conv_sm90.cuh) cannot take: depthwise and grouped convs,
// f32, channel counts that are not multiples of 8, nchw, and every conv on cuda-sm80. Correct
// first; a depthwise conv reads its few taps per output straight from global memory (L1/L2 keep
// the neighbours' reuse), which is reasonable for it, while a dense conv here is far from the
// tensor cores' rate.
//
// Weights: nhwc [O, kh, kw, C/groups], nchw [O, C/groups, kh, kw] (the IR's layouts).
#ifndef KILN_CUDA_CONV_CUH_
#define KILN_CUDA_CONV_CUH_

#include <cstdint>

#include "kiln_cuda.cuh"

namespace kiln_cuda {

/// The geometry of one convolution (as kiln_cpu::ConvShape): c and o count all channels; pads
/// are the leading ones (the trailing ones follow from oh, ow).
struct ConvShape {
  int64_t n = 1, c = 1, h = 1, w = 1;  // input
  int64_t o = 1, oh = 1, ow = 1;       // output
  int64_t kh = 1, kw = 1;              // kernel
  int64_t sh = 1, sw = 1;              // stride
  int64_t pt = 0, pl = 0;              // leading padding
  int64_t dh = 1, dw = 1;              // dilation
  int64_t groups = 1;
  bool nhwc = true;
};

/// The (batch, channel, row, column) of flat output index i in s's layout.
__device__ __forceinline__ void OutputCoords(const ConvShape& s, int64_t i, int64_t* b,
                                             int64_t* oc, int64_t* oy, int64_t* ox) {
  if (s.nhwc) {
    *oc = i % s.o;
    *ox = i / s.o % s.ow;
    *oy = i / (s.o * s.ow) % s.oh;
    *b = i / (s.o * s.ow * s.oh);
  } else {
    *ox = i % s.ow;
    *oy = i / s.ow % s.oh;
    *oc = i / (s.ow * s.oh) % s.o;
    *b = i / (s.ow * s.oh * s.o);
  }
}

/// y = conv2d(x, w) without epilogue (PyTorch semantics). T (x and w) and TOut (y): F32, F16 or
/// BF16 (kiln_cuda.cuh); TOut differs from T when the node's epilogue ends in a cast.
template <class T, class TOut>
void Conv2dDirect(const ConvShape& s, const typename T::Storage* x, const typename T::Storage* w,
                  typename TOut::Storage* y, void* stream) {
  const int64_t cg = s.c / s.groups, og = s.o / s.groups;
  LaunchElementwise(s.n * s.o * s.oh * s.ow, stream, [=] __device__(int64_t i) {
    int64_t b, oc, oy, ox;
    OutputCoords(s, i, &b, &oc, &oy, &ox);
    const int64_t c0 = oc / og * cg;  // first input channel of the group
    float acc = 0.f;
    for (int64_t ky = 0; ky < s.kh; ++ky) {
      const int64_t iy = oy * s.sh - s.pt + ky * s.dh;
      if (iy < 0 || iy >= s.h) continue;
      for (int64_t kx = 0; kx < s.kw; ++kx) {
        const int64_t ix = ox * s.sw - s.pl + kx * s.dw;
        if (ix < 0 || ix >= s.w) continue;
        if (s.nhwc) {
          const typename T::Storage* xp = x + ((b * s.h + iy) * s.w + ix) * s.c + c0;
          const typename T::Storage* wp = w + ((oc * s.kh + ky) * s.kw + kx) * cg;
          for (int64_t c = 0; c < cg; ++c) acc += T::Load(xp[c]) * T::Load(wp[c]);
        } else {
          for (int64_t c = 0; c < cg; ++c) {
            acc += T::Load(x[((b * s.c + c0 + c) * s.h + iy) * s.w + ix]) *
                   T::Load(w[((oc * cg + c) * s.kh + ky) * s.kw + kx]);
          }
        }
      }
    }
    y[i] = TOut::Store(acc);
  });
}

/// y = conv_transpose2d(x, w) without epilogue (PyTorch / ONNX semantics), as a gather: output
/// pixel (oy, ox) sums the input pixels (iy, ix) and taps (ky, kx) with oy = iy * sh - pt + ky *
/// dh (and the same across), over the group's input channels. Weights: nchw [C, O/groups, kh,
/// kw], nhwc [C, kh, kw, O/groups] (the IR's layouts). Output padding needs nothing here: pixels
/// no tap reaches get 0.
template <class T, class TOut>
void ConvTranspose2dDirect(const ConvShape& s, const typename T::Storage* x,
                           const typename T::Storage* w, typename TOut::Storage* y, void* stream) {
  const int64_t cg = s.c / s.groups, og = s.o / s.groups;
  LaunchElementwise(s.n * s.o * s.oh * s.ow, stream, [=] __device__(int64_t i) {
    int64_t b, oc, oy, ox;
    OutputCoords(s, i, &b, &oc, &oy, &ox);
    const int64_t c0 = oc / og * cg;  // first input channel of the group
    const int64_t ocg = oc % og;      // the output channel within its group
    float acc = 0.f;
    for (int64_t ky = 0; ky < s.kh; ++ky) {
      const int64_t ty = oy + s.pt - ky * s.dh;  // = iy * sh
      if (ty < 0 || ty % s.sh != 0 || ty / s.sh >= s.h) continue;
      const int64_t iy = ty / s.sh;
      for (int64_t kx = 0; kx < s.kw; ++kx) {
        const int64_t tx = ox + s.pl - kx * s.dw;
        if (tx < 0 || tx % s.sw != 0 || tx / s.sw >= s.w) continue;
        const int64_t ix = tx / s.sw;
        for (int64_t c = 0; c < cg; ++c) {
          const int64_t ci = c0 + c;
          if (s.nhwc) {
            acc += T::Load(x[((b * s.h + iy) * s.w + ix) * s.c + ci]) *
                   T::Load(w[((ci * s.kh + ky) * s.kw + kx) * og + ocg]);
          } else {
            acc += T::Load(x[((b * s.c + ci) * s.h + iy) * s.w + ix]) *
                   T::Load(w[((ci * og + ocg) * s.kh + ky) * s.kw + kx]);
          }
        }
      }
    }
    y[i] = TOut::Store(acc);
  });
}

}  // namespace kiln_cuda

#endif  // KILN_CUDA_CONV_CUH_
