// kiln_scalar: scalar helpers for generated elementwise code on every target (host and, under
// nvcc, device: KILN_HD). Inline so the compiler vectorises the generated loops around them. Semantics follow the
// reference ops (src/ops/elementwise.cc): integers compute in int64 with two's-complement
// wrap-around; float ops compute in f32; f16/bf16 load and store through f32 (in device code
// through the conversion instructions, which round alike; the bit-level versions are for the
// host, where they are vectorised).
#ifndef KILN_SCALAR_H_
#define KILN_SCALAR_H_

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#if defined(__CUDACC__)
#define KILN_HD __host__ __device__
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#else
#define KILN_HD
#endif

namespace kiln_scalar {

KILN_HD inline int64_t WrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
KILN_HD inline int64_t WrapSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
KILN_HD inline int64_t WrapMul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
/// Truncating division; INT64_MIN / -1 wraps. Division by zero gives 0 (the reference reports
/// an error; a kernel cannot, so the cpu target documents 0).
KILN_HD inline int64_t IntDiv(int64_t a, int64_t b) {
  if (b == 0) return 0;
  return b == -1 ? WrapSub(0, a) : a / b;
}
/// Power by squaring with wrap-around; a negative exponent gives 0 (no integer result).
KILN_HD inline int64_t IntPow(int64_t base, int64_t exp) {
  if (exp < 0) return 0;
  int64_t r = 1;
  while (exp > 0) {
    if (exp & 1) r = WrapMul(r, base);
    base = WrapMul(base, base);
    exp >>= 1;
  }
  return r;
}
KILN_HD inline int64_t IntAbs(int64_t x) { return x < 0 ? WrapSub(0, x) : x; }

/// numpy.maximum / minimum: NaN in, NaN out.
KILN_HD inline float FMax(float a, float b) { return (a != a || b != b) ? NAN : (a > b ? a : b); }
KILN_HD inline float FMin(float a, float b) { return (a != a || b != b) ? NAN : (a < b ? a : b); }

KILN_HD inline float Sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }
/// x * Phi(x) (the erf form). Device code takes Phi's tail P(X > |x|) from Abramowitz & Stegun
/// 7.1.26 (|erfc error| <= 1.5e-7; GELU's absolute error <= 4.3e-7, measured over [-10, 10] in
/// f32): 12 FP instructions and two MUFU ops against erff's ~22 plus selects, which is what a gemm
/// epilogue pays per output element while the tensor cores wait.
KILN_HD inline float Gelu(float x) {
#if defined(__CUDA_ARCH__)
  // t = 1 / (1 + p |x| / sqrt(2)); tail = 0.5 * poly(t) * exp(-x^2 / 2), 0.5 folded into poly.
  const float t = __fdividef(1.f, fmaf(0.23164189f, fabsf(x), 1.f));
  const float poly =
      t *
      fmaf(t,
           fmaf(t, fmaf(t, fmaf(t, 0.5307027145f, -0.7265760135f), 0.7107068705f), -0.142248368f),
           0.127414796f);
  const float tail = poly * exp2f(x * x * -0.72134752044448170368f);
  return x * (x >= 0.f ? 1.f - tail : tail);
#else
  return 0.5f * x * (1.f + std::erf(x * 0.70710678118654752440f));
#endif
}
KILN_HD inline float GeluTanh(float x) {
  return 0.5f * x * (1.f + std::tanh(0.79788456080286535588f * (x + 0.044715f * x * x * x)));
}
/// `x < 0 ? 0 : x` keeps NaN, as torch.relu.
KILN_HD inline float Relu(float x) { return x < 0.f ? 0.f : x; }

/// float -> int64 truncating toward zero, saturating, NaN -> 0 (the reference's cast).
KILN_HD inline int64_t SaturateToI64(float v) {
  if (v != v) return 0;
  if (v >= 9.2233720368547758e18f) return INT64_MAX;
  if (v <= -9.2233720368547758e18f) return INT64_MIN;
  return static_cast<int64_t>(v);
}

KILN_HD inline float BitsToFloat(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}
KILN_HD inline uint32_t FloatToBits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}
KILN_HD inline float HalfToFloat(uint16_t h) {
#if defined(__CUDA_ARCH__)
  return __half2float(__ushort_as_half(h));  // one conversion instruction, same result
#else
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 0) {
    // zero or subnormal: mant * 2^-24
    float v = static_cast<float>(mant) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  if (exp == 31) return BitsToFloat(sign | 0x7f800000u | (mant << 13));
  return BitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
#endif
}
/// Round to nearest even, overflow to inf, NaN kept (as 0x7e00 with the sign).
KILN_HD inline uint16_t FloatToHalf(float f) {
  uint32_t u = FloatToBits(f);
  uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000);
  uint32_t abs = u & 0x7fffffff;
  if (abs >= 0x7f800000u) return sign | (abs > 0x7f800000u ? 0x7e00 : 0x7c00);
#if defined(__CUDA_ARCH__)
  return __half_as_ushort(__float2half_rn(f));  // the hardware rounds alike
#else
  if (abs >= 0x477ff000u) return sign | 0x7c00;  // rounds to >= 65520: inf
  if (abs < 0x38800000u) {  // below the smallest normal half: subnormal or zero
    float v = BitsToFloat(abs) * 16777216.f;  // in units of 2^-24
    return sign | static_cast<uint16_t>(std::nearbyint(v));
  }
  uint32_t rounded = abs + 0xfff + ((abs >> 13) & 1);
  return sign | static_cast<uint16_t>((rounded - 0x38000000u) >> 13);
#endif
}
KILN_HD inline float BF16ToFloat(uint16_t b) { return BitsToFloat(static_cast<uint32_t>(b) << 16); }
KILN_HD inline uint16_t FloatToBF16(float f) {
  uint32_t u = FloatToBits(f);
  if ((u & 0x7fffffff) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
#if defined(__CUDA_ARCH__)
  return __bfloat16_as_ushort(__float2bfloat16_rn(f));
#else
  return static_cast<uint16_t>((u + 0x7fff + ((u >> 16) & 1)) >> 16);
#endif
}

}  // namespace kiln_scalar

#endif  // KILN_SCALAR_H_
