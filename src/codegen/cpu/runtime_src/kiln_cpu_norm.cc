// kiln_cpu: normalisation, reduction and softmax kernels (kiln_cpu_norm.h).
//
// Row statistics use kLanes independent partial accumulators: without -ffast-math a compiler may
// not reorder a single running sum, but it vectorises kLanes independent ones.
#include "kiln_cpu_norm.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

namespace kiln_cpu {
namespace {

constexpr int kLanes = 8;

// Sum of x[0..n) in double.
double SumD(const float* x, int64_t n) {
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) acc[j] += x[i + j];
  }
  double s = 0.0;
  for (; i < n; ++i) s += x[i];
  for (int j = 0; j < kLanes; ++j) s += acc[j];
  return s;
}

// Sum of (x[i] - mean)^2 in double.
double SumSqDevD(const float* x, int64_t n, double mean) {
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      const double d = x[i + j] - mean;
      acc[j] += d * d;
    }
  }
  double s = 0.0;
  for (; i < n; ++i) s += (x[i] - mean) * (x[i] - mean);
  for (int j = 0; j < kLanes; ++j) s += acc[j];
  return s;
}

// Maximum of x[0..n) (n >= 1) in float; a NaN may or may not win (softmax then gives NaN anyway).
float MaxF(const float* x, int64_t n) {
  float acc[kLanes];
  for (int j = 0; j < kLanes; ++j) acc[j] = -std::numeric_limits<float>::infinity();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
  }
  float m = -std::numeric_limits<float>::infinity();
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  for (int j = 0; j < kLanes; ++j) m = acc[j] > m ? acc[j] : m;
  return m;
}

// y[i] = FastExp(x[i] - shift); returns the sum of the y[i] (float lanes: values are in [0, 1]).
float ExpShiftSum(const float* x, float* y, int64_t n, float shift) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      const float e = FastExp(x[i + j] - shift);
      y[i + j] = e;
      acc[j] += e;
    }
  }
  float s = 0.0f;
  for (; i < n; ++i) {
    y[i] = FastExp(x[i] - shift);
    s += y[i];
  }
  for (int j = 0; j < kLanes; ++j) s += acc[j];
  return s;
}

// Softmax statistics of the columns of the [len, inner] block xo (a softmax along len):
// mx[i] = max over l of xo[l][i] and sum[i] = sum over l of FastExp(xo[l][i] - mx[i]); with
// kStoreExp the exponentials are also written to yo (same layout), else yo is unused. mx and sum
// are scratch of `inner` floats that alias nothing else (hence __restrict__: the loops vectorise
// at -O2 without alias checks).
template <bool kStoreExp>
void ColumnExpSums(const float* xo, float* yo, int64_t len, int64_t inner, float* __restrict__ mx,
                   float* __restrict__ sum) {
  std::fill(mx, mx + inner, -std::numeric_limits<float>::infinity());
  std::fill(sum, sum + inner, 0.0f);
  for (int64_t l = 0; l < len; ++l) {
    const float* xr = xo + l * inner;
    for (int64_t i = 0; i < inner; ++i) mx[i] = xr[i] > mx[i] ? xr[i] : mx[i];
  }
  for (int64_t l = 0; l < len; ++l) {
    const float* xr = xo + l * inner;
    if (kStoreExp) {
      float* yr = yo + l * inner;
      for (int64_t i = 0; i < inner; ++i) {
        yr[i] = FastExp(xr[i] - mx[i]);
        sum[i] += yr[i];
      }
    } else {
      for (int64_t i = 0; i < inner; ++i) sum[i] += FastExp(xr[i] - mx[i]);
    }
  }
}

}  // namespace

// ------------------------------------------------------------------------- layer_norm, rms_norm

void LayerNorm(const float* x, const float* weight, const float* bias, float* y, int64_t rows,
               int64_t cols, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const double mean = SumD(xr, cols) / static_cast<double>(cols);
    const double var = SumSqDevD(xr, cols, mean) / static_cast<double>(cols);
    const float m = static_cast<float>(mean);
    const float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
    if (weight && bias) {
      for (int64_t i = 0; i < cols; ++i) yr[i] = (xr[i] - m) * inv * weight[i] + bias[i];
    } else if (weight) {
      for (int64_t i = 0; i < cols; ++i) yr[i] = (xr[i] - m) * inv * weight[i];
    } else if (bias) {
      for (int64_t i = 0; i < cols; ++i) yr[i] = (xr[i] - m) * inv + bias[i];
    } else {
      for (int64_t i = 0; i < cols; ++i) yr[i] = (xr[i] - m) * inv;
    }
  }
}

void RmsNorm(const float* x, const float* weight, float* y, int64_t rows, int64_t cols, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const double ms = SumSqDevD(xr, cols, 0.0) / static_cast<double>(cols);
    const float inv = static_cast<float>(1.0 / std::sqrt(ms + eps));
    if (weight) {
      for (int64_t i = 0; i < cols; ++i) yr[i] = xr[i] * inv * weight[i];
    } else {
      for (int64_t i = 0; i < cols; ++i) yr[i] = xr[i] * inv;
    }
  }
}

// -------------------------------------------------------------------------------- group_norm

void GroupNorm(const float* x, const float* weight, const float* bias, float* y, int64_t batch,
               int64_t channels, int64_t spatial, int64_t groups, bool channels_last, float eps) {
  const int64_t per_group = channels / groups;
  const double count = static_cast<double>(per_group * spatial);
  // Per channel: the mean of its group and inv_std(group) * weight[c].
  std::vector<float> mean_c(channels), scale_c(channels);
  std::vector<double> sum_c(channels);
  for (int64_t n = 0; n < batch; ++n) {
    const float* xn = x + n * channels * spatial;
    float* yn = y + n * channels * spatial;
    if (!channels_last) {
      // Each group is one contiguous block of per_group * spatial values.
      for (int64_t g = 0; g < groups; ++g) {
        const float* block = xn + g * per_group * spatial;
        const double mean = SumD(block, per_group * spatial) / count;
        const double var = SumSqDevD(block, per_group * spatial, mean) / count;
        const double inv = 1.0 / std::sqrt(var + eps);
        for (int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
          const float m = static_cast<float>(mean);
          const float a = static_cast<float>(inv * weight[c]);
          const float b = bias[c];
          const float* xc = xn + c * spatial;
          float* yc = yn + c * spatial;
          for (int64_t s = 0; s < spatial; ++s) yc[s] = (xc[s] - m) * a + b;
        }
      }
      continue;
    }
    // nhwc: accumulate per channel along the rows of [spatial, channels], then per group.
    std::fill(sum_c.begin(), sum_c.end(), 0.0);
    for (int64_t s = 0; s < spatial; ++s) {
      const float* row = xn + s * channels;
      for (int64_t c = 0; c < channels; ++c) sum_c[c] += row[c];
    }
    std::vector<double> mean_g(groups);
    for (int64_t g = 0; g < groups; ++g) {
      double t = 0.0;
      for (int64_t c = g * per_group; c < (g + 1) * per_group; ++c) t += sum_c[c];
      mean_g[g] = t / count;
      for (int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
        mean_c[c] = static_cast<float>(mean_g[g]);
      }
    }
    std::fill(sum_c.begin(), sum_c.end(), 0.0);
    for (int64_t s = 0; s < spatial; ++s) {
      const float* row = xn + s * channels;
      for (int64_t c = 0; c < channels; ++c) {
        const double d = static_cast<double>(row[c]) - mean_g[c / per_group];
        sum_c[c] += d * d;
      }
    }
    for (int64_t g = 0; g < groups; ++g) {
      double t = 0.0;
      for (int64_t c = g * per_group; c < (g + 1) * per_group; ++c) t += sum_c[c];
      const double inv = 1.0 / std::sqrt(t / count + eps);
      for (int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
        scale_c[c] = static_cast<float>(inv * weight[c]);
      }
    }
    for (int64_t s = 0; s < spatial; ++s) {
      const float* row = xn + s * channels;
      float* out = yn + s * channels;
      for (int64_t c = 0; c < channels; ++c) {
        out[c] = (row[c] - mean_c[c]) * scale_c[c] + bias[c];
      }
    }
  }
}

// -------------------------------------------------------------------------------- batch_norm

void BatchNorm(const float* x, const float* scale, const float* bias, const float* mean,
               const float* var, float* y, int64_t outer, int64_t channels, int64_t inner,
               float eps) {
  std::vector<float> a(channels);
  for (int64_t c = 0; c < channels; ++c) {
    a[c] = static_cast<float>(scale[c] / std::sqrt(static_cast<double>(var[c]) + eps));
  }
  for (int64_t o = 0; o < outer; ++o) {
    if (inner == 1) {  // channels last: vectorise across channels
      const float* xr = x + o * channels;
      float* yr = y + o * channels;
      for (int64_t c = 0; c < channels; ++c) yr[c] = (xr[c] - mean[c]) * a[c] + bias[c];
      continue;
    }
    for (int64_t c = 0; c < channels; ++c) {
      const float* xr = x + (o * channels + c) * inner;
      float* yr = y + (o * channels + c) * inner;
      const float m = mean[c], s = a[c], b = bias[c];
      for (int64_t i = 0; i < inner; ++i) yr[i] = (xr[i] - m) * s + b;
    }
  }
}

// ------------------------------------------------------------------------------------ softmax

void Softmax(const float* x, float* y, int64_t outer, int64_t len, int64_t inner) {
  if (len == 0) return;
  if (inner == 1) {
    for (int64_t o = 0; o < outer; ++o) {
      const float* xr = x + o * len;
      float* yr = y + o * len;
      const float m = MaxF(xr, len);
      const float inv = 1.0f / ExpShiftSum(xr, yr, len, m);
      for (int64_t l = 0; l < len; ++l) yr[l] *= inv;
    }
    return;
  }
  std::vector<float> mx(inner), sum(inner);
  for (int64_t o = 0; o < outer; ++o) {
    float* yo = y + o * len * inner;
    ColumnExpSums<true>(x + o * len * inner, yo, len, inner, mx.data(), sum.data());
    for (int64_t i = 0; i < inner; ++i) sum[i] = 1.0f / sum[i];
    for (int64_t l = 0; l < len; ++l) {
      float* yr = yo + l * inner;
      for (int64_t i = 0; i < inner; ++i) yr[i] *= sum[i];
    }
  }
}

void LogSoftmax(const float* x, float* y, int64_t outer, int64_t len, int64_t inner) {
  if (len == 0) return;
  if (inner == 1) {
    for (int64_t o = 0; o < outer; ++o) {
      const float* xr = x + o * len;
      float* yr = y + o * len;
      const float m = MaxF(xr, len);
      // y is the scratch for the exponentials, then overwritten. (x - m) first: it is exact
      // near the maximum, where m + log(sum) rounded to f32 would lose the small log term.
      const float log_sum = std::log(ExpShiftSum(xr, yr, len, m));
      for (int64_t l = 0; l < len; ++l) yr[l] = (xr[l] - m) - log_sum;
    }
    return;
  }
  std::vector<float> mx(inner), sum(inner);
  for (int64_t o = 0; o < outer; ++o) {
    const float* xo = x + o * len * inner;
    float* yo = y + o * len * inner;
    ColumnExpSums<false>(xo, nullptr, len, inner, mx.data(), sum.data());
    for (int64_t i = 0; i < inner; ++i) sum[i] = std::log(sum[i]);
    for (int64_t l = 0; l < len; ++l) {
      const float* xr = xo + l * inner;
      float* yr = yo + l * inner;
      for (int64_t i = 0; i < inner; ++i) yr[i] = (xr[i] - mx[i]) - sum[i];
    }
  }
}

void SafeSoftmaxRows(float* x, int64_t rows, int64_t cols, int64_t ld) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * ld;
    const float m = MaxF(row, cols);
    if (m == -std::numeric_limits<float>::infinity()) {
      for (int64_t c = 0; c < cols; ++c) row[c] = 0.0f;
      continue;
    }
    const float inv = 1.0f / ExpShiftSum(row, row, cols, m);
    for (int64_t c = 0; c < cols; ++c) row[c] *= inv;
  }
}

// ---------------------------------------------------------------------------------- reductions

namespace {

// Accumulator behaviour per reduction and accumulator type A (double for f32, int64 for
// integers). Integer sum/prod use unsigned arithmetic: it wraps where int64 overflow would be UB.
template <Reduction R, typename A>
struct Combiner;

template <typename A>
struct Combiner<Reduction::kSum, A> {
  static A Init() { return A(0); }
  static A Apply(A a, A b) {
    if constexpr (std::is_integral_v<A>) {
      return static_cast<A>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
    } else {
      return a + b;
    }
  }
};
template <typename A>
struct Combiner<Reduction::kMean, A> : Combiner<Reduction::kSum, A> {};
template <typename A>
struct Combiner<Reduction::kProd, A> {
  static A Init() { return A(1); }
  static A Apply(A a, A b) {
    if constexpr (std::is_integral_v<A>) {
      return static_cast<A>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
    } else {
      return a * b;
    }
  }
};
// Max/min: a NaN operand wins and stays (b != b is true only for NaN).
template <typename A>
struct Combiner<Reduction::kMax, A> {
  static A Init() {
    return std::is_integral_v<A> ? std::numeric_limits<A>::lowest()
                                 : -std::numeric_limits<A>::infinity();
  }
  static A Apply(A a, A b) { return b > a || b != b ? b : a; }
};
template <typename A>
struct Combiner<Reduction::kMin, A> {
  static A Init() {
    return std::is_integral_v<A> ? std::numeric_limits<A>::max()
                                 : std::numeric_limits<A>::infinity();
  }
  static A Apply(A a, A b) { return b < a || b != b ? b : a; }
};

// y[o, i] = fold over l of x[o, l, i], for x viewed as [outer, len, inner] (len >= 1).
template <Reduction R, typename A, typename T>
void ReduceMiddle(const T* x, A* y, int64_t outer, int64_t len, int64_t inner) {
  using C = Combiner<R, A>;
  if (inner == 1) {
    for (int64_t o = 0; o < outer; ++o) {
      const T* row = x + o * len;
      A acc[kLanes];
      for (int j = 0; j < kLanes; ++j) acc[j] = C::Init();
      int64_t l = 0;
      for (; l + kLanes <= len; l += kLanes) {
        for (int j = 0; j < kLanes; ++j) acc[j] = C::Apply(acc[j], static_cast<A>(row[l + j]));
      }
      A r = C::Init();
      for (; l < len; ++l) r = C::Apply(r, static_cast<A>(row[l]));
      for (int j = 0; j < kLanes; ++j) r = C::Apply(r, acc[j]);
      y[o] = r;
    }
    return;
  }
  for (int64_t o = 0; o < outer; ++o) {
    A* acc = y + o * inner;
    for (int64_t i = 0; i < inner; ++i) acc[i] = C::Init();
    for (int64_t l = 0; l < len; ++l) {
      const T* row = x + (o * len + l) * inner;
      for (int64_t i = 0; i < inner; ++i) acc[i] = C::Apply(acc[i], static_cast<A>(row[i]));
    }
  }
}

// Folds the reduced groups of the coalesced shape (dims, mask) one at a time, innermost first,
// into accumulators; returns the kept-shape accumulators.
template <Reduction R, typename A, typename T>
std::vector<A> FoldGroups(const T* x, std::vector<int64_t> dims, std::vector<uint8_t> mask) {
  std::vector<A> cur;
  bool first = true;
  for (;;) {
    int64_t p = static_cast<int64_t>(dims.size()) - 1;
    while (p >= 0 && !mask[p]) --p;
    if (p < 0) break;
    int64_t outer = 1, inner = 1;
    for (int64_t a = 0; a < p; ++a) outer *= dims[a];
    for (size_t a = p + 1; a < dims.size(); ++a) inner *= dims[a];
    std::vector<A> next(outer * inner);
    if (first) {
      ReduceMiddle<R, A, T>(x, next.data(), outer, dims[p], inner);
    } else {
      ReduceMiddle<R, A, A>(cur.data(), next.data(), outer, dims[p], inner);
    }
    first = false;
    cur.swap(next);
    dims.erase(dims.begin() + p);
    mask.erase(mask.begin() + p);
  }
  if (first) {  // nothing to fold (only size-1 axes were reduced): a converting copy
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    cur.assign(x, x + n);
  }
  return cur;
}

template <Reduction R, typename A, typename T>
void ReduceAs(const T* x, T* y, const std::vector<int64_t>& dims, const std::vector<uint8_t>& mask,
              int64_t count, int64_t out_n) {
  std::vector<A> acc;
  if (count == 0) {
    acc.assign(out_n, Combiner<R, A>::Init());
  } else {
    acc = FoldGroups<R, A, T>(x, dims, mask);
  }
  for (int64_t j = 0; j < out_n; ++j) {
    A v = acc[j];
    if (R == Reduction::kMean) {
      if constexpr (std::is_integral_v<A>) {
        v = count == 0 ? A(0) : v / count;  // truncates toward zero
      } else {
        v = v / static_cast<A>(count);  // 0/0 = NaN for an empty float mean
      }
    }
    y[j] = static_cast<T>(v);  // integer narrowing wraps (C++20)
  }
}

template <typename A, typename T>
void ReduceImpl(const T* x, T* y, const int64_t* dims, const uint8_t* reduced, int64_t rank,
                Reduction op) {
  // Coalesce: drop size-1 axes (they change nothing) and merge neighbours of the same kind, so
  // e.g. [N, C, H, W] reducing {2, 3} becomes [N*C, H*W] reducing {1}.
  std::vector<int64_t> d;
  std::vector<uint8_t> m;
  int64_t count = 1, out_n = 1;
  for (int64_t a = 0; a < rank; ++a) {
    const uint8_t r = reduced[a] ? 1 : 0;
    (r ? count : out_n) *= dims[a];
    if (dims[a] == 1) continue;
    if (!d.empty() && m.back() == r) {
      d.back() *= dims[a];
    } else {
      d.push_back(dims[a]);
      m.push_back(r);
    }
  }
  if (out_n == 0) return;
  switch (op) {
    case Reduction::kSum:
      return ReduceAs<Reduction::kSum, A>(x, y, d, m, count, out_n);
    case Reduction::kMean:
      return ReduceAs<Reduction::kMean, A>(x, y, d, m, count, out_n);
    case Reduction::kMax:
      return ReduceAs<Reduction::kMax, A>(x, y, d, m, count, out_n);
    case Reduction::kMin:
      return ReduceAs<Reduction::kMin, A>(x, y, d, m, count, out_n);
    case Reduction::kProd:
      return ReduceAs<Reduction::kProd, A>(x, y, d, m, count, out_n);
  }
}

}  // namespace

void Reduce(const float* x, float* y, const int64_t* dims, const uint8_t* reduced, int64_t rank,
            Reduction op) {
  ReduceImpl<double>(x, y, dims, reduced, rank, op);
}

void Reduce(const int64_t* x, int64_t* y, const int64_t* dims, const uint8_t* reduced, int64_t rank,
            Reduction op) {
  ReduceImpl<int64_t>(x, y, dims, reduced, rank, op);
}

void Reduce(const int32_t* x, int32_t* y, const int64_t* dims, const uint8_t* reduced, int64_t rank,
            Reduction op) {
  ReduceImpl<int64_t>(x, y, dims, reduced, rank, op);
}

}  // namespace kiln_cpu
