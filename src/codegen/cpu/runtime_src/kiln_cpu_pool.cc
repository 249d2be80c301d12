// kiln_cpu pooling and resize kernels: loops over output pixels, vectorised over nhwc channels.
#include "kiln_cpu_pool.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace kiln_cpu {
namespace {

// The nchw problem as an nhwc one: n*c images of one channel each (same memory order).
PoolShape AsNhwc(const PoolShape& s) {
  if (s.nhwc) return s;
  PoolShape t = s;
  t.n = s.n * s.c;
  t.c = 1;
  t.nhwc = true;
  return t;
}

// Per output position along one axis: how many window taps fall inside the input (`in`) and
// inside input + padding up to the trailing pad (`padded`, count_include_pad's divisor).
struct TapCounts {
  std::vector<int64_t> in, padded;
};
TapCounts CountTaps(int64_t out, int64_t k, int64_t s, int64_t pad_lo, int64_t pad_hi, int64_t d,
                    int64_t size) {
  TapCounts t{std::vector<int64_t>(out), std::vector<int64_t>(out)};
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t i = 0; i < k; ++i) {
      const int64_t pos = o * s - pad_lo + i * d;
      t.in[o] += pos >= 0 && pos < size ? 1 : 0;
      t.padded[o] += pos < size + pad_hi ? 1 : 0;
    }
  }
  return t;
}

// max(acc, v) that propagates NaN: a NaN v always wins, and nothing compares greater than a NaN
// acc, so once NaN it stays NaN.
inline float MaxKeepNaN(float acc, float v) { return (v > acc || v != v) ? v : acc; }

// Folds the `c` channels of one input pixel into an output pixel's accumulators: NaN-propagating
// max (kMax) or sum. acc and x never overlap (output vs input), which lets the loop vectorise.
template <bool kMax>
inline void AccumulateChannels(float* __restrict__ acc, const float* __restrict__ x, int64_t c) {
  if (kMax) {
    for (int64_t cc = 0; cc < c; ++cc) acc[cc] = MaxKeepNaN(acc[cc], x[cc]);
  } else {
    for (int64_t cc = 0; cc < c; ++cc) acc[cc] += x[cc];
  }
}

// Windowed max (kMax) or sum over an nhwc problem; the sum is then scaled by 1/count.
template <bool kMax>
void WindowPoolNhwc(const PoolShape& s, bool count_include_pad, const float* x, float* y) {
  const TapCounts rows = CountTaps(s.oh, s.kh, s.sh, s.pt, s.pb, s.dh, s.h);
  const TapCounts cols = CountTaps(s.ow, s.kw, s.sw, s.pl, s.pr, s.dw, s.w);
  const int64_t c = s.c;
  const int64_t pixels = s.n * s.oh * s.ow;
  for (int64_t p = 0; p < pixels; ++p) {
    const int64_t img = p / (s.oh * s.ow), r = (p / s.ow) % s.oh, t = p % s.ow;
    float* __restrict__ yp = y + p * c;
    std::fill(yp, yp + c, kMax ? -std::numeric_limits<float>::infinity() : 0.0f);
    for (int64_t i = 0; i < s.kh; ++i) {
      const int64_t ih = r * s.sh - s.pt + i * s.dh;
      if (ih < 0 || ih >= s.h) continue;
      for (int64_t j = 0; j < s.kw; ++j) {
        const int64_t iw = t * s.sw - s.pl + j * s.dw;
        if (iw < 0 || iw >= s.w) continue;
        const float* __restrict__ xp = x + ((img * s.h + ih) * s.w + iw) * c;
        AccumulateChannels<kMax>(yp, xp, c);
      }
    }
    if (!kMax) {
      const int64_t count =
          count_include_pad ? rows.padded[r] * cols.padded[t] : rows.in[r] * cols.in[t];
      const float inv = count > 0 ? 1.0f / static_cast<float>(count) : 0.0f;
      for (int64_t cc = 0; cc < c; ++cc) yp[cc] *= inv;
    }
  }
}

// Sum (or max) of `len` contiguous floats, with independent partial results so the loop
// pipelines.
template <bool kMax>
float ReducePlane(const float* x, int64_t len) {
  constexpr int kLanes = 8;
  const float init = kMax ? -std::numeric_limits<float>::infinity() : 0.0f;
  float part[kLanes];
  std::fill(part, part + kLanes, init);
  int64_t i = 0;
  for (; i + kLanes <= len; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      const float v = x[i + l];
      part[l] = kMax ? MaxKeepNaN(part[l], v) : part[l] + v;
    }
  }
  for (; i < len; ++i) {
    const float v = x[i];
    part[0] = kMax ? MaxKeepNaN(part[0], v) : part[0] + v;
  }
  float r = part[0];
  for (int l = 1; l < kLanes; ++l) {
    r = kMax ? MaxKeepNaN(r, part[l]) : r + part[l];
  }
  return r;
}

template <bool kMax>
void GlobalPool(int64_t n, int64_t c, int64_t hw, bool nhwc, const float* x, float* y) {
  const float inv = hw > 0 ? 1.0f / static_cast<float>(hw) : 0.0f;
  if (!nhwc) {
    for (int64_t plane = 0; plane < n * c; ++plane) {
      const float r = ReducePlane<kMax>(x + plane * hw, hw);
      y[plane] = kMax ? r : r * inv;
    }
    return;
  }
  for (int64_t img = 0; img < n; ++img) {
    float* __restrict__ yp = y + img * c;
    std::fill(yp, yp + c, kMax ? -std::numeric_limits<float>::infinity() : 0.0f);
    for (int64_t p = 0; p < hw; ++p) {
      const float* __restrict__ xp = x + (img * hw + p) * c;
      AccumulateChannels<kMax>(yp, xp, c);
    }
    if (!kMax) {
      for (int64_t cc = 0; cc < c; ++cc) yp[cc] *= inv;
    }
  }
}

// ONNX coordinate_transformation_mode: the input coordinate of output index `o`.
double SourceCoord(ResizeCoord mode, int64_t o, int64_t in_len, int64_t out_len, double scale) {
  switch (mode) {
    case ResizeCoord::kAlignCorners:
      return out_len == 1 ? 0.0
                          : static_cast<double>(o) * static_cast<double>(in_len - 1) /
                                static_cast<double>(out_len - 1);
    case ResizeCoord::kAsymmetric:
      return static_cast<double>(o) / scale;
    case ResizeCoord::kPytorchHalfPixel:
      if (out_len == 1) return 0.0;
      break;
    case ResizeCoord::kHalfPixel:
      break;
  }
  return (static_cast<double>(o) + 0.5) / scale - 0.5;
}

// ONNX nearest_mode rounding of coordinate `v`, clamped into [0, in_len).
int64_t NearestIndex(ResizeNearest mode, double v, int64_t in_len) {
  double r;
  if (mode == ResizeNearest::kFloor) {
    r = std::floor(v);
  } else if (mode == ResizeNearest::kCeil) {
    r = std::ceil(v);
  } else if (v - std::floor(v) == 0.5) {  // a tie: the mode picks the side
    r = mode == ResizeNearest::kRoundPreferCeil ? std::ceil(v) : std::floor(v);
  } else {
    r = std::round(v);
  }
  return std::clamp<int64_t>(static_cast<int64_t>(r), 0, in_len - 1);
}

// Per output index along one axis: the source indices it blends and the weight of the second.
struct AxisTaps {
  std::vector<int64_t> i0, i1;
  std::vector<float> w1;
};
AxisTaps ComputeTaps(const ResizeShape& s, int64_t in_len, int64_t out_len, double scale) {
  AxisTaps t;
  for (int64_t o = 0; o < out_len; ++o) {
    const double v = SourceCoord(s.coord, o, in_len, out_len, scale);
    if (!s.bilinear) {
      t.i0.push_back(NearestIndex(s.nearest, v, in_len));
      t.i1.push_back(t.i0.back());
      t.w1.push_back(0.0f);
      continue;
    }
    const double f = std::floor(v);
    t.i0.push_back(std::clamp<int64_t>(static_cast<int64_t>(f), 0, in_len - 1));
    t.i1.push_back(std::clamp<int64_t>(static_cast<int64_t>(f) + 1, 0, in_len - 1));
    t.w1.push_back(static_cast<float>(v - f));
  }
  return t;
}

}  // namespace

void MaxPool2d(const PoolShape& s, const float* x, float* y) {
  WindowPoolNhwc<true>(AsNhwc(s), false, x, y);
}

void AvgPool2d(const PoolShape& s, bool count_include_pad, const float* x, float* y) {
  WindowPoolNhwc<false>(AsNhwc(s), count_include_pad, x, y);
}

void GlobalAvgPool2d(int64_t n, int64_t c, int64_t hw, bool nhwc, const float* x, float* y) {
  GlobalPool<false>(n, c, hw, nhwc, x, y);
}

void GlobalMaxPool2d(int64_t n, int64_t c, int64_t hw, bool nhwc, const float* x, float* y) {
  GlobalPool<true>(n, c, hw, nhwc, x, y);
}

void Resize(const ResizeShape& s, const float* x, float* y) {
  const AxisTaps th = ComputeTaps(s, s.h, s.oh, s.scale_h);
  const AxisTaps tw = ComputeTaps(s, s.w, s.ow, s.scale_w);
  // nchw is n*c single-channel nhwc images.
  const int64_t images = s.nhwc ? s.n : s.n * s.c;
  const int64_t c = s.nhwc ? s.c : 1;
  for (int64_t img = 0; img < images; ++img) {
    const float* xn = x + img * s.h * s.w * c;
    float* yn = y + img * s.oh * s.ow * c;
    for (int64_t r = 0; r < s.oh; ++r) {
      const float* row0 = xn + th.i0[r] * s.w * c;
      const float* row1 = xn + th.i1[r] * s.w * c;
      const float wy = th.w1[r];
      for (int64_t t = 0; t < s.ow; ++t) {
        float* __restrict__ dst = yn + (r * s.ow + t) * c;
        if (!s.bilinear) {
          std::memcpy(dst, row0 + tw.i0[t] * c, c * sizeof(float));
          continue;
        }
        const float wx = tw.w1[t];
        const float* __restrict__ a = row0 + tw.i0[t] * c;
        const float* __restrict__ b = row0 + tw.i1[t] * c;
        const float* __restrict__ d = row1 + tw.i0[t] * c;
        const float* __restrict__ e = row1 + tw.i1[t] * c;
        for (int64_t cc = 0; cc < c; ++cc) {
          const float top = (1.0f - wx) * a[cc] + wx * b[cc];
          const float bot = (1.0f - wx) * d[cc] + wx * e[cc];
          dst[cc] = (1.0f - wy) * top + wy * bot;
        }
      }
    }
  }
}

}  // namespace kiln_cpu
