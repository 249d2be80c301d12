// kiln_cpu: normalisation, reduction and softmax kernels (see kiln_cpu.h for the conventions).
//
// f32 in and out. Statistics (means, variances, sums, products) accumulate in double, so results
// match the double-precision reference ops (src/ops/norm.cc, reduce.cc) to f32 rounding. Loops
// are written so that GCC/Clang vectorise them at -O3 without -ffast-math (explicit partial
// accumulators instead of reassociated reductions, FastExp instead of std::exp).
#ifndef KILN_CPU_NORM_H_
#define KILN_CPU_NORM_H_

#include <cstdint>
#include <cstring>

namespace kiln_cpu {

/// exp(x) for x <= 88 within about 2 ulp (Cephes expf), branch-free so loops over it vectorise.
/// Returns 0 for x < -87.33 (including -inf) and NaN for NaN. Softmax-style callers subtract the
/// row maximum first, so their arguments are <= 0. Shared by softmax and attention.
inline float FastExp(float x) {
  constexpr float kHi = 88.0f;
  constexpr float kLo = -87.3365447f;    // below this exp(x) underflows the normal range
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  float xc = x > kHi ? kHi : x;          // comparisons keep NaN (both are false for it)
  xc = xc < kLo ? kLo : xc;
  // n = round(x / ln2), r = x - n*ln2 (ln2 split in two for exactness), |r| <= ln2/2.
  const float t = xc * 1.44269504088896341f + kRound;
  const float n = t - kRound;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n through the exponent bits; n is in [-126, 127] after the clamp.
  int32_t ti;
  std::memcpy(&ti, &t, 4);
  int32_t kr;
  std::memcpy(&kr, &kRound, 4);
  const int32_t bits = (ti - kr + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  const float y = p * scale;
  return x < kLo ? 0.0f : y;
}

/// layer_norm over rows: y[r, :] = (x[r, :] - mean) / sqrt(var + eps) * weight + bias, with the
/// biased variance of each row of `cols` values. `weight` and `bias` ([cols]) may be null
/// (1 and 0). x and y are [rows, cols] and do not overlap.
void LayerNorm(const float* x, const float* weight, const float* bias, float* y, int64_t rows,
               int64_t cols, float eps);

/// rms_norm over rows: y[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * weight; `weight`
/// ([cols]) may be null.
void RmsNorm(const float* x, const float* weight, float* y, int64_t rows, int64_t cols, float eps);

/// group_norm: x is [batch, channels, spatial] (channels_last false: nchw) or
/// [batch, spatial, channels] (channels_last true: nhwc). Statistics over (channels of one group)
/// x spatial per batch item, then y = normalised * weight[c] + bias[c]. Pre: channels % groups ==
/// 0. Allocates O(channels) scratch.
void GroupNorm(const float* x, const float* weight, const float* bias, float* y, int64_t batch,
               int64_t channels, int64_t spatial, int64_t groups, bool channels_last, float eps);

/// batch_norm (inference): x is [outer, channels, inner]; y = (x - mean[c]) / sqrt(var[c] + eps)
/// * scale[c] + bias[c]. Allocates O(channels) scratch.
void BatchNorm(const float* x, const float* scale, const float* bias, const float* mean,
               const float* var, float* y, int64_t outer, int64_t channels, int64_t inner,
               float eps);

/// The reduction of Reduce. Max/min propagate NaN (as numpy.max).
enum class Reduction : int { kSum = 0, kMean = 1, kMax = 2, kMin = 3, kProd = 4 };

/// y = reduction of x (row-major, shape dims[0..rank)) over the axes a with reduced[a] != 0; y
/// holds the kept dims in order (keepdims only changes y's declared shape, not its bytes).
/// Zero reduced elements give the identity (sum 0, prod 1, max -inf, min +inf; float mean NaN,
/// integer mean 0). Integer overloads accumulate in int64 (sum and prod wrap like the output
/// dtype), and their mean truncates toward zero, as the reference. Allocates scratch when more
/// than one group of adjacent axes is reduced.
void Reduce(const float* x, float* y, const int64_t* dims, const uint8_t* reduced, int64_t rank,
            Reduction op);
void Reduce(const int64_t* x, int64_t* y, const int64_t* dims, const uint8_t* reduced, int64_t rank,
            Reduction op);
void Reduce(const int32_t* x, int32_t* y, const int64_t* dims, const uint8_t* reduced, int64_t rank,
            Reduction op);

/// softmax along the middle axis of x viewed as [outer, len, inner]:
/// y = exp(x - max) / sum(exp(x - max)). Allocates O(inner) scratch when inner > 1.
void Softmax(const float* x, float* y, int64_t outer, int64_t len, int64_t inner);

/// log_softmax along the middle axis of [outer, len, inner]: y = x - max - log(sum(exp(x - max))).
void LogSoftmax(const float* x, float* y, int64_t outer, int64_t len, int64_t inner);

/// In-place softmax of `rows` rows of `cols` contiguous values each, with row stride `ld`. A row
/// whose values are all -inf (fully masked) becomes all zeros, as torch's safe softmax in
/// scaled_dot_product_attention. Used by attention.
void SafeSoftmaxRows(float* x, int64_t rows, int64_t cols, int64_t ld);

}  // namespace kiln_cpu

#endif  // KILN_CPU_NORM_H_
