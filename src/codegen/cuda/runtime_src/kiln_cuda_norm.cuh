// kiln_cuda: layer_norm, rms_norm and group_norm, included by kiln_cuda.cuh. Templated on the
// float dtype D (kiln_cuda::F32, F16, BF16): loads D::Storage, computes and accumulates in f32.
//
// layer_norm / rms_norm normalise contiguous rows: with 16-byte accesses where rows and pointers
// allow, a warp per row up to 128 vectors and 128 to 1024 threads per row above (WithRowCache,
// as softmax), weight and bias staged once per block in shared memory for all the rows it
// normalises; each thread keeps its values of the first kThreads * kCache in registers, so the
// two statistics passes (mean, then the sum of squared deviations from it: no cancellation) and
// the output pass read the row from memory once when it fits.
// group_norm gives each (batch item, group) a 512-thread block and reads its elements three
// times (sum, squared deviations, output).
#ifndef KILN_CUDA_NORM_CUH_
#define KILN_CUDA_NORM_CUH_

#include <cstdint>

namespace kiln_cuda {

/// Each row of y = (x - mean) * rsqrt(var + eps) * weight + bias (kRms false: layer_norm, biased
/// variance) or x * rsqrt(mean(x^2) + eps) * weight (kRms true). weight and bias ([cols]) may be
/// null (1 and 0).
template <class D, bool kRms, int kThreads, int kCache>
__global__ void __launch_bounds__(kThreads > 256 ? kThreads : 256)
    TrailingNormKernel(const typename D::Storage* x, const typename D::Storage* weight,
                       const typename D::Storage* bias, typename D::Storage* y, int64_t rows,
                       int64_t cols, float eps) {
  GridDependencyWait();
  __shared__ float smem[32];
  constexpr int kRowsPerBlock = kThreads >= 256 ? 1 : 256 / kThreads;
  const int t = threadIdx.x % kThreads;
  const int group = threadIdx.x / kThreads;
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock; base < rows;
       base += static_cast<int64_t>(gridDim.x) * kRowsPerBlock) {
    // Inactive groups (past the last row) still take part in the reductions.
    const int64_t row = base + group;
    const int64_t n = row < rows ? cols : 0;
    const typename D::Storage* xr = x + row * cols;
    typename D::Storage* yr = y + row * cols;
    // 1. Load the cached part of the row; the mean (layer_norm only).
    float v[kCache];
    float sum = 0.f;
#pragma unroll
    for (int k = 0; k < kCache; ++k) {
      const int64_t j = t + static_cast<int64_t>(k) * kThreads;
      v[k] = j < n ? D::Load(xr[j]) : 0.f;
      sum += v[k];
    }
    float mean = 0.f;
    if (!kRms) {
      for (int64_t j = t + static_cast<int64_t>(kCache) * kThreads; j < n; j += kThreads)
        sum += D::Load(xr[j]);
      mean = GroupReduce<kThreads>(sum, SumOp{}, smem) / static_cast<float>(cols);
    }
    // 2. Sum of squared deviations from the mean (rms_norm: of squares).
    float sq = 0.f;
#pragma unroll
    for (int k = 0; k < kCache; ++k) {
      const int64_t j = t + static_cast<int64_t>(k) * kThreads;
      if (j < n) sq += (v[k] - mean) * (v[k] - mean);
    }
    for (int64_t j = t + static_cast<int64_t>(kCache) * kThreads; j < n; j += kThreads) {
      const float d = D::Load(xr[j]) - mean;
      sq += d * d;
    }
    sq = GroupReduce<kThreads>(sq, SumOp{}, smem);
    const float inv = 1.f / sqrtf(sq / static_cast<float>(cols) + eps);
    // 3. Normalise, scale, shift and store.
    auto out = [&](int64_t j, float xv) {
      float r = (xv - mean) * inv;
      if (weight != nullptr) r *= D::Load(weight[j]);
      if (bias != nullptr) r += D::Load(bias[j]);
      yr[j] = D::Store(r);
    };
#pragma unroll
    for (int k = 0; k < kCache; ++k) {
      const int64_t j = t + static_cast<int64_t>(k) * kThreads;
      if (j < n) out(j, v[k]);
    }
    for (int64_t j = t + static_cast<int64_t>(kCache) * kThreads; j < n; j += kThreads)
      out(j, D::Load(xr[j]));
  }
}

/// TrailingNormKernel with 16-byte accesses: kThreads threads per row (a slice of a warp, a warp
/// or the block; see WithRowCache), each moving vectors of kVec elements (cols a multiple of kVec,
/// every pointer 16-byte aligned) and keeping up to kCache of them in registers as loaded (f16 /
/// bf16 in half the registers of f32 values); rows longer than kThreads * kCache * kVec re-read
/// the rest from memory. The weight and bias of the cached columns are the same for every row:
/// each block stages them once in shared memory before its loop over rows (the grid is sized to
/// the blocks that fit on the GPU at once, so each block normalises many rows) instead of reading
/// them per row (a 4096-wide f16 row otherwise reads 16 KiB of weight and bias through L1/L2
/// besides its own 8 KiB: 80% of copy bandwidth that way, 87% this way, H100). Held in registers
/// instead they take 99 registers a thread (25% occupancy; not measured). The row's cached vectors
/// are widened to f32 anew in each pass (OpaqueCopy), not kept widened (registers).
template <class D, bool kRms, int kThreads, int kCache>
__global__ void __launch_bounds__(RowBlockThreads(kThreads))
    TrailingNormVecKernel(const typename D::Storage* x, const typename D::Storage* weight,
                          const typename D::Storage* bias, typename D::Storage* y, int64_t rows,
                          int64_t cols, float eps) {
  GridDependencyWait();
  using S = typename D::Storage;
  constexpr int kVec = 16 / sizeof(S);
  // Weight and bias of the cached columns, staged once per block in shared memory (up to 32 KiB;
  // 1024-thread rows read them from memory).
  constexpr bool kHoldAffine = kThreads < 1024;
  constexpr int kStaged = kHoldAffine ? kThreads * kCache : 1;  // vectors
  __shared__ float smem[32];
  __shared__ alignas(16) S sw[kStaged][kVec], sb[kStaged][kVec];
  constexpr int kRowsPerBlock = RowsPerBlock(kThreads);
  const int t = threadIdx.x % kThreads;
  const int group = threadIdx.x / kThreads;
  const int64_t vecs = cols / kVec;
  auto cached = [&](int k) { return t + static_cast<int64_t>(k) * kThreads; };
  if constexpr (kHoldAffine) {
    for (int i = threadIdx.x; i < kStaged && i < vecs; i += blockDim.x) {
      if (weight != nullptr) LoadVector(sw[i], weight + static_cast<int64_t>(i) * kVec);
      if (bias != nullptr) LoadVector(sb[i], bias + static_cast<int64_t>(i) * kVec);
    }
    __syncthreads();
  }
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock; base < rows;
       base += static_cast<int64_t>(gridDim.x) * kRowsPerBlock) {
    const int64_t row = base + group;
    const int64_t n = row < rows ? vecs : 0;  // inactive groups still join the reductions
    const S* xr = x + row * cols;
    S* yr = y + row * cols;
    alignas(16) S v[kCache][kVec];
#pragma unroll
    for (int k = 0; k < kCache; ++k) {
      if (cached(k) < n) LoadVector(v[k], xr + cached(k) * kVec);
    }
    float mean = 0.f;
    if (!kRms) {
      float sum = 0.f;
#pragma unroll
      for (int k = 0; k < kCache; ++k) {
        if (cached(k) < n) {
#pragma unroll
          for (int e = 0; e < kVec; ++e) sum += D::Load(v[k][e]);
        }
      }
      for (int64_t j = cached(kCache); j < n; j += kThreads) {
        alignas(16) S u[kVec];
        LoadVector(u, xr + j * kVec);
#pragma unroll
        for (int e = 0; e < kVec; ++e) sum += D::Load(u[e]);
      }
      mean = GroupReduce<kThreads>(sum, SumOp{}, smem) / static_cast<float>(cols);
    }
    auto squares = [&](const S(&u)[kVec]) {
      float q = 0.f;
#pragma unroll
      for (int e = 0; e < kVec; ++e) q += (D::Load(u[e]) - mean) * (D::Load(u[e]) - mean);
      return q;
    };
    float sq = 0.f;
#pragma unroll
    for (int k = 0; k < kCache; ++k) {
      if (cached(k) < n) {
        alignas(16) S u[kVec];  // widened again from the packed row (registers)
        OpaqueCopy(u, v[k]);
        sq += squares(u);
      }
    }
    for (int64_t j = cached(kCache); j < n; j += kThreads) {
      alignas(16) S u[kVec];
      LoadVector(u, xr + j * kVec);
      sq += squares(u);
    }
    sq = GroupReduce<kThreads>(sq, SumOp{}, smem);
    const float inv = 1.f / sqrtf(sq / static_cast<float>(cols) + eps);
    // (x - mean) * inv * weight + bias of one vector, weight and bias as loaded (wv, bv).
    auto out = [&](int64_t j, const S(&xv)[kVec], const S(&wv)[kVec], const S(&bv)[kVec]) {
      float r[kVec];
#pragma unroll
      for (int e = 0; e < kVec; ++e) {
        r[e] = (D::Load(xv[e]) - mean) * inv;
        if (weight != nullptr) r[e] *= D::Load(wv[e]);
        if (bias != nullptr) r[e] += D::Load(bv[e]);
      }
      StoreFloats<D>(yr + j * kVec, r);
    };
    // The same with weight and bias read from memory (columns whose affine is not held).
    auto out_reading = [&](int64_t j, const S(&xv)[kVec]) {
      alignas(16) S wv[kVec], bv[kVec];
      if (weight != nullptr) LoadVector(wv, weight + j * kVec);
      if (bias != nullptr) LoadVector(bv, bias + j * kVec);
      out(j, xv, wv, bv);
    };
#pragma unroll
    for (int k = 0; k < kCache; ++k) {
      if (cached(k) < n) {
        if constexpr (kHoldAffine) {
          alignas(16) S wv[kVec], bv[kVec];
          if (weight != nullptr) LoadVector(wv, &sw[cached(k)][0]);
          if (bias != nullptr) LoadVector(bv, &sb[cached(k)][0]);
          alignas(16) S xv[kVec];
          OpaqueCopy(xv, v[k]);
          out(cached(k), xv, wv, bv);
        } else {
          out_reading(cached(k), v[k]);
        }
      }
    }
    for (int64_t j = cached(kCache); j < n; j += kThreads) {
      alignas(16) S u[kVec];
      LoadVector(u, xr + j * kVec);
      out_reading(j, u);
    }
  }
}

/// layer_norm (kRms false) or rms_norm (kRms true) of x viewed as [rows, cols]; weight and bias
/// ([cols]) may be null. x and y do not overlap. 16-byte accesses when cols is a multiple of a
/// vector and the pointers are aligned; element accesses otherwise.
template <class D, bool kRms>
void TrailingNorm(const typename D::Storage* x, const typename D::Storage* weight,
                  const typename D::Storage* bias, typename D::Storage* y, int64_t rows,
                  int64_t cols, float eps, void* stream) {
  if (rows <= 0 || cols <= 0) return;
  constexpr int kVec = 16 / sizeof(typename D::Storage);
  const bool vec = cols % kVec == 0 && Aligned16(x) && Aligned16(y) &&
                   (weight == nullptr || Aligned16(weight)) && (bias == nullptr || Aligned16(bias));
  // The row in registers (see WithRowCache), weight and bias held across rows.
  if (vec && WithRowCache(cols / kVec, [&](auto threads, auto cache) {
        constexpr int kT = decltype(threads)::value, kC = decltype(cache)::value;
        Launch(TrailingNormVecKernel<D, kRms, kT, kC>,
               ResidentGrid<TrailingNormVecKernel<D, kRms, kT, kC>, RowBlockThreads(kT)>(rows, RowsPerBlock(kT)),
               RowBlockThreads(kT), 0, AsStream(stream), x, weight, bias, y, rows, cols, eps);
      })) {
    return;
  }
  if (vec) {  // a 1024-thread block per row, 4 vectors per thread cached, the rest re-read
    Launch(TrailingNormVecKernel<D, kRms, 1024, 4>, GridFor(rows, 1), 1024, 0, AsStream(stream), x,
           weight, bias, y, rows, cols, eps);
    return;
  }
  if (cols <= 1024) {  // a warp per row, the row in registers (32 x 32 values)
    Launch(TrailingNormKernel<D, kRms, 32, 32>, GridFor(rows, 8), 256, 0, AsStream(stream), x,
           weight, bias, y, rows, cols, eps);
  } else {  // a 1024-thread block per row, 8192 values in registers
    Launch(TrailingNormKernel<D, kRms, 1024, 8>, GridFor(rows, 1), 1024, 0, AsStream(stream), x,
           weight, bias, y, rows, cols, eps);
  }
}

/// group_norm: one block per (batch item n, group g) of x viewed as [batch, channels, spatial]
/// (kNhwc false) or [batch, spatial, channels] (kNhwc true).
template <class D, bool kNhwc>
__global__ void __launch_bounds__(512)
    GroupNormKernel(const typename D::Storage* x, const typename D::Storage* weight,
                    const typename D::Storage* bias, typename D::Storage* y, int64_t batch,
                    int64_t channels, int64_t spatial, int64_t groups, float eps) {
  GridDependencyWait();
  constexpr int kThreads = 512;
  __shared__ float smem[32];
  const int64_t per_group = channels / groups;
  const int64_t count = per_group * spatial;
  // Element j of the group (j in [0, count)) -> its flat offset and channel.
  auto locate = [&](int64_t n, int64_t g, int64_t j, int64_t* c) {
    if (kNhwc) {
      *c = g * per_group + j % per_group;
      return (n * spatial + j / per_group) * channels + *c;
    }
    *c = g * per_group + j / spatial;
    return n * channels * spatial + g * per_group * spatial + j;  // the group is contiguous
  };
  for (int64_t item = blockIdx.x; item < batch * groups; item += gridDim.x) {
    const int64_t n = item / groups, g = item % groups;
    int64_t c = 0;
    // 1. Mean of the group.
    float sum = 0.f;
    for (int64_t j = threadIdx.x; j < count; j += kThreads) sum += D::Load(x[locate(n, g, j, &c)]);
    const float mean = GroupReduce<kThreads>(sum, SumOp{}, smem) / static_cast<float>(count);
    // 2. Biased variance from the squared deviations.
    float sq = 0.f;
    for (int64_t j = threadIdx.x; j < count; j += kThreads) {
      const float d = D::Load(x[locate(n, g, j, &c)]) - mean;
      sq += d * d;
    }
    sq = GroupReduce<kThreads>(sq, SumOp{}, smem);
    const float inv = 1.f / sqrtf(sq / static_cast<float>(count) + eps);
    // 3. Normalise, per-channel affine, store.
    for (int64_t j = threadIdx.x; j < count; j += kThreads) {
      const int64_t k = locate(n, g, j, &c);
      y[k] = D::Store((D::Load(x[k]) - mean) * inv * D::Load(weight[c]) + D::Load(bias[c]));
    }
  }
}

/// group_norm of x ([batch, channels, spatial] or, kNhwc, [batch, spatial, channels]) with
/// per-channel weight and bias. Pre: channels % groups == 0.
template <class D, bool kNhwc>
void GroupNorm(const typename D::Storage* x, const typename D::Storage* weight,
               const typename D::Storage* bias, typename D::Storage* y, int64_t batch,
               int64_t channels, int64_t spatial, int64_t groups, float eps, void* stream) {
  if (batch * channels * spatial <= 0) return;
  Launch(GroupNormKernel<D, kNhwc>, GridFor(batch * groups, 1), 512, 0, AsStream(stream), x, weight,
         bias, y, batch, channels, spatial, groups, eps);
}

/// Inference batch_norm of x viewed as [outer, channels, inner] around the channel axis:
/// y = (x - mean[c]) * scale[c] / sqrt(var[c] + eps) + bias[c], computed in f32.
template <class D>
void BatchNorm(const typename D::Storage* x, const typename D::Storage* scale, const typename D::Storage* bias,
               const typename D::Storage* mean, const typename D::Storage* var, typename D::Storage* y,
               int64_t outer, int64_t channels, int64_t inner, float eps, void* stream) {
  LaunchElementwise(outer * channels * inner, stream, [=] __device__(int64_t i) {
    const int64_t c = i / inner % channels;
    const float s = D::Load(scale[c]) * rsqrtf(D::Load(var[c]) + eps);
    y[i] = D::Store((D::Load(x[i]) - D::Load(mean[c])) * s + D::Load(bias[c]));
  });
}

}  // namespace kiln_cuda

#endif  // KILN_CUDA_NORM_CUH_
