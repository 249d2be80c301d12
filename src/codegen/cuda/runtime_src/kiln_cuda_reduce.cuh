// kiln_cuda: softmax / log_softmax and the reductions (reduce_sum/mean/max/min/prod), included by
// kiln_cuda.cuh. Templated on the float dtype D (kiln_cuda::F32, F16, BF16); every kernel loads
// D::Storage, computes and accumulates in f32 and stores D::Storage.
//
// Row kernels give each row a group of kThreads threads: a warp slice (kThreads <= 32, several
// rows per 256-thread block) for rows that fit its registers, the whole block for long ones.
// Softmax keeps kCache values (or 16-byte vectors, where rows and pointers allow) per thread in
// registers, so a row of up to kThreads * kCache of them is read from memory once; longer rows
// re-read the uncached tail in each pass. exp(x - max) is one FFMA and ex2.approx (Exp2), not
// expf: softmax of long rows is otherwise bound by instruction issue rather than memory.
// arg_max / arg_min: one thread per [outer, inner] column walking its axis (any float or integer
// dtype).
// Reductions coalesce the operand's dims at run time into alternating kept / reduced groups:
// trailing reduced axes with one reduced group become rows (contiguous, row kernel), anything
// else ([outer, reduced, inner] included) is one thread per output walking the reduced elements,
// adjacent threads reading adjacent inner elements.
#ifndef KILN_CUDA_REDUCE_CUH_
#define KILN_CUDA_REDUCE_CUH_

#include <cstdint>

namespace kiln_cuda {

// ------------------------------------------------------------------------------------ softmax

/// softmax (kLog false) or log_softmax (kLog true) of each contiguous row of `len` values; rows
/// are distributed over the grid, kThreads threads per row (see the file comment).
template <class D, bool kLog, int kThreads, int kCache>
__global__ void __launch_bounds__(kThreads > 256 ? kThreads : 256)
    SoftmaxRowsKernel(const typename D::Storage* x, typename D::Storage* y, int64_t rows,
                      int64_t len) {
  GridDependencyWait();
  __shared__ float smem[32];
  constexpr int kRowsPerBlock = kThreads >= 256 ? 1 : 256 / kThreads;
  const int t = threadIdx.x % kThreads;
  const int group = threadIdx.x / kThreads;
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock; base < rows;
       base += static_cast<int64_t>(gridDim.x) * kRowsPerBlock) {
    // Inactive groups (past the last row) still take part in the reductions.
    const int64_t row = base + group;
    const bool active = row < rows;
    const int64_t n = active ? len : 0;
    const typename D::Storage* xr = x + row * len;
    typename D::Storage* yr = y + row * len;
    // 1. Load the cached part of the row; row maximum.
    float v[kCache];
    float mx = -__int_as_float(0x7f800000);
#pragma unroll
    for (int k = 0; k < kCache; ++k) {
      const int64_t j = t + static_cast<int64_t>(k) * kThreads;
      v[k] = j < n ? D::Load(xr[j]) : 0.f;
      if (j < n) mx = fmaxf(mx, v[k]);
    }
    for (int64_t j = t + static_cast<int64_t>(kCache) * kThreads; j < n; j += kThreads)
      mx = fmaxf(mx, D::Load(xr[j]));
    mx = GroupReduce<kThreads>(mx, MaxOp{}, smem);
    const float mx_log2 = mx * kLog2e;
    auto exp_shifted = [&](float xv) { return Exp2(fmaf(xv, kLog2e, -mx_log2)); };  // exp(x - mx)
    // 2. Sum of exp(x - max).
    float sum = 0.f;
#pragma unroll
    for (int k = 0; k < kCache; ++k) {
      const int64_t j = t + static_cast<int64_t>(k) * kThreads;
      if (j < n) sum += exp_shifted(v[k]);
    }
    for (int64_t j = t + static_cast<int64_t>(kCache) * kThreads; j < n; j += kThreads)
      sum += exp_shifted(D::Load(xr[j]));
    sum = GroupReduce<kThreads>(sum, SumOp{}, smem);
    // 3. Normalise and store.
    const float scale = kLog ? mx + logf(sum) : 1.f / sum;
#pragma unroll
    for (int k = 0; k < kCache; ++k) {
      const int64_t j = t + static_cast<int64_t>(k) * kThreads;
      if (j < n) yr[j] = D::Store(kLog ? v[k] - scale : exp_shifted(v[k]) * scale);
    }
    for (int64_t j = t + static_cast<int64_t>(kCache) * kThreads; j < n; j += kThreads) {
      const float xv = D::Load(xr[j]);
      yr[j] = D::Store(kLog ? xv - scale : exp_shifted(xv) * scale);
    }
  }
}

/// SoftmaxRowsKernel with 16-byte accesses: vectors of kVec elements (len a multiple of kVec,
/// x and y 16-byte aligned), up to kCache vectors per thread kept in registers as f32 (softmax:
/// their exponentials once computed, so each is taken once).
template <class D, bool kLog, int kThreads, int kCache>
__global__ void __launch_bounds__(RowBlockThreads(kThreads))
    SoftmaxRowsVecKernel(const typename D::Storage* x, typename D::Storage* y, int64_t rows,
                         int64_t len) {
  GridDependencyWait();
  using S = typename D::Storage;
  constexpr int kVec = 16 / sizeof(S);
  __shared__ float smem[32];
  constexpr int kRowsPerBlock = RowsPerBlock(kThreads);
  const int t = threadIdx.x % kThreads;
  const int group = threadIdx.x / kThreads;
  const int64_t vecs = len / kVec;
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock; base < rows;
       base += static_cast<int64_t>(gridDim.x) * kRowsPerBlock) {
    const int64_t row = base + group;
    const int64_t n = row < rows ? vecs : 0;  // inactive groups still join the reductions
    const S* xr = x + row * len;
    S* yr = y + row * len;
    auto cached = [&](int k) { return t + static_cast<int64_t>(k) * kThreads; };
    float v[kCache][kVec];
    float mx = -__int_as_float(0x7f800000);
#pragma unroll
    for (int k = 0; k < kCache; ++k) {
      if (cached(k) < n) {
        LoadFloats<D>(v[k], xr + cached(k) * kVec);
#pragma unroll
        for (int e = 0; e < kVec; ++e) mx = fmaxf(mx, v[k][e]);
      }
    }
    for (int64_t j = cached(kCache); j < n; j += kThreads) {
      float u[kVec];
      LoadFloats<D>(u, xr + j * kVec);
#pragma unroll
      for (int e = 0; e < kVec; ++e) mx = fmaxf(mx, u[e]);
    }
    mx = GroupReduce<kThreads>(mx, MaxOp{}, smem);
    const float mx_log2 = mx * kLog2e;
    auto exp_shifted = [&](float xv) { return Exp2(fmaf(xv, kLog2e, -mx_log2)); };  // exp(x - mx)
    float sum = 0.f;
#pragma unroll
    for (int k = 0; k < kCache; ++k) {
      if (cached(k) < n) {
#pragma unroll
        for (int e = 0; e < kVec; ++e) {
          const float ex = exp_shifted(v[k][e]);
          sum += ex;
          if (!kLog) v[k][e] = ex;
        }
      }
    }
    for (int64_t j = cached(kCache); j < n; j += kThreads) {
      float u[kVec];
      LoadFloats<D>(u, xr + j * kVec);
#pragma unroll
      for (int e = 0; e < kVec; ++e) sum += exp_shifted(u[e]);
    }
    sum = GroupReduce<kThreads>(sum, SumOp{}, smem);
    const float scale = kLog ? mx + logf(sum) : 1.f / sum;
#pragma unroll
    for (int k = 0; k < kCache; ++k) {
      if (cached(k) < n) {
        float r[kVec];
#pragma unroll
        for (int e = 0; e < kVec; ++e) r[e] = kLog ? v[k][e] - scale : v[k][e] * scale;
        StoreFloats<D>(yr + cached(k) * kVec, r);
      }
    }
    for (int64_t j = cached(kCache); j < n; j += kThreads) {
      float u[kVec];
      LoadFloats<D>(u, xr + j * kVec);
#pragma unroll
      for (int e = 0; e < kVec; ++e) u[e] = kLog ? u[e] - scale : exp_shifted(u[e]) * scale;
      StoreFloats<D>(yr + j * kVec, u);
    }
  }
}

/// softmax along the middle axis of [outer, len, inner] with inner > 1: one thread per (outer,
/// inner) column, adjacent threads on adjacent columns (coalesced), three passes over the column.
template <class D, bool kLog>
__global__ void SoftmaxColumnsKernel(const typename D::Storage* x, typename D::Storage* y,
                                     int64_t outer, int64_t len, int64_t inner) {
  GridDependencyWait();
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < outer * inner;
       c += stride) {
    const int64_t base = (c / inner) * len * inner + c % inner;
    float mx = -__int_as_float(0x7f800000);
    for (int64_t l = 0; l < len; ++l) mx = fmaxf(mx, D::Load(x[base + l * inner]));
    const float mx_log2 = mx * kLog2e;
    auto exp_shifted = [&](float xv) { return Exp2(fmaf(xv, kLog2e, -mx_log2)); };  // exp(x - mx)
    float sum = 0.f;
    for (int64_t l = 0; l < len; ++l) sum += exp_shifted(D::Load(x[base + l * inner]));
    const float scale = kLog ? mx + logf(sum) : 1.f / sum;
    for (int64_t l = 0; l < len; ++l) {
      const float xv = D::Load(x[base + l * inner]);
      y[base + l * inner] = D::Store(kLog ? xv - scale : exp_shifted(xv) * scale);
    }
  }
}

/// y = softmax (or log_softmax when kLog) of x along the middle axis of [outer, len, inner].
template <class D, bool kLog>
void Softmax(const typename D::Storage* x, typename D::Storage* y, int64_t outer, int64_t len,
             int64_t inner, void* stream) {
  if (outer * len * inner <= 0) return;
  constexpr int kVec = 16 / sizeof(typename D::Storage);
  const bool vec = inner == 1 && len % kVec == 0 && Aligned16(x) && Aligned16(y);
  if (inner > 1) {
    Launch(SoftmaxColumnsKernel<D, kLog>, GridFor(outer * inner, 256), 256, 0, AsStream(stream), x,
           y, outer, len, inner);
    return;
  }
  // The row in registers: a warp per row for short rows (no block barriers), see WithRowCache.
  if (vec && WithRowCache(len / kVec, [&](auto threads, auto cache) {
        constexpr int kT = decltype(threads)::value;
        Launch(SoftmaxRowsVecKernel<D, kLog, kT, decltype(cache)::value>, GridFor(outer, RowsPerBlock(kT)),
               RowBlockThreads(kT), 0, AsStream(stream), x, y, outer, len);
      })) {
    return;
  }
  if (vec) {  // a 1024-thread block per row, 4 vectors per thread cached, the rest re-read
    Launch(SoftmaxRowsVecKernel<D, kLog, 1024, 4>, GridFor(outer, 1), 1024, 0, AsStream(stream), x,
           y, outer, len);
  } else if (len <= 1024) {  // a warp per row, the row in registers (32 x 32 values)
    Launch(SoftmaxRowsKernel<D, kLog, 32, 32>, GridFor(outer, 8), 256, 0, AsStream(stream), x, y,
           outer, len);
  } else {  // a 1024-thread block per row, 8192 values in registers
    Launch(SoftmaxRowsKernel<D, kLog, 1024, 8>, GridFor(outer, 1), 1024, 0, AsStream(stream), x, y,
           outer, len);
  }
}

// ---------------------------------------------------------------------------------- reductions

/// The reductions of Reduce (same order as kiln_cpu::Reduction).
enum class Reduction : int { kSum = 0, kMean = 1, kMax = 2, kMin = 3, kProd = 4 };

template <Reduction R>
struct ReductionTraits {  // kSum, kMean
  using Op = SumOp;
  static __device__ __forceinline__ float Identity() { return 0.f; }
};
template <>
struct ReductionTraits<Reduction::kMax> {
  using Op = MaxOp;
  static __device__ __forceinline__ float Identity() { return -__int_as_float(0x7f800000); }
};
template <>
struct ReductionTraits<Reduction::kMin> {
  using Op = MinOp;
  static __device__ __forceinline__ float Identity() { return __int_as_float(0x7f800000); }
};
template <>
struct ReductionTraits<Reduction::kProd> {
  using Op = ProdOp;
  static __device__ __forceinline__ float Identity() { return 1.f; }
};

/// The most dims a reduction keeps or reduces after coalescing (alternating groups of a rank-16
/// operand at most: 8 of each).
constexpr int kMaxReduceDims = 8;

/// Kept dims (outer first) and reduced dims of a coalesced reduction with their element strides
/// in x; passed to the kernel by value.
struct ReduceGeometry {
  int kept_rank = 0, reduced_rank = 0;
  int64_t kept_dims[kMaxReduceDims], kept_strides[kMaxReduceDims];
  int64_t reduced_dims[kMaxReduceDims], reduced_strides[kMaxReduceDims];
  int64_t count = 1;  // reduced elements per output
};

/// y[r] = reduction of the `len` contiguous values of row r; kThreads threads per row.
template <class D, Reduction R, int kThreads>
__global__ void __launch_bounds__(kThreads > 256 ? kThreads : 256)
    ReduceRowsKernel(const typename D::Storage* x, typename D::Storage* y, int64_t rows,
                     int64_t len) {
  GridDependencyWait();
  using Traits = ReductionTraits<R>;
  __shared__ float smem[32];
  constexpr int kRowsPerBlock = kThreads >= 256 ? 1 : 256 / kThreads;
  const int t = threadIdx.x % kThreads;
  const int group = threadIdx.x / kThreads;
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock; base < rows;
       base += static_cast<int64_t>(gridDim.x) * kRowsPerBlock) {
    const int64_t row = base + group;
    const int64_t n = row < rows ? len : 0;
    // Each thread folds a strided slice of the row, then the group combines the partials.
    float acc = Traits::Identity();
    for (int64_t j = t; j < n; j += kThreads)
      acc = typename Traits::Op{}(acc, D::Load(x[row * len + j]));
    acc = GroupReduce<kThreads>(acc, typename Traits::Op{}, smem);
    if (row < rows && t == 0)
      y[row] = D::Store(R == Reduction::kMean ? acc / static_cast<float>(len) : acc);
  }
}

/// x viewed as [outer, count, inner], reduced over the middle: y[b * inner + i] = reduction of
/// x[b, :, i]. One thread per output; neighbouring threads read neighbouring elements of each
/// row (a global average pool of NHWC activations: count = H * W, inner = C).
template <class D, Reduction R>
__global__ void ReduceMiddleKernel(const typename D::Storage* x, typename D::Storage* y, int64_t outputs,
                                   int64_t count, int64_t inner) {
  GridDependencyWait();
  using Traits = ReductionTraits<R>;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < outputs;
       o += stride) {
    const typename D::Storage* p = x + (o / inner) * count * inner + o % inner;
    float acc = Traits::Identity();
    for (int64_t r = 0; r < count; ++r) acc = typename Traits::Op{}(acc, D::Load(p[r * inner]));
    y[o] = D::Store(R == Reduction::kMean ? acc / static_cast<float>(count) : acc);
  }
}

/// y[o] = reduction over the reduced dims at output o (kept dims decomposed from o): one thread
/// per output.
template <class D, Reduction R>
__global__ void ReduceStridedKernel(const typename D::Storage* x, typename D::Storage* y,
                                    int64_t outputs, ReduceGeometry g) {
  GridDependencyWait();
  using Traits = ReductionTraits<R>;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < outputs;
       o += stride) {
    // Offset of the output's first reduced element: its kept indices times their strides.
    int64_t base = 0, rest = o;
    for (int d = g.kept_rank - 1; d >= 0; --d) {
      base += (rest % g.kept_dims[d]) * g.kept_strides[d];
      rest /= g.kept_dims[d];
    }
    float acc = Traits::Identity();
    for (int64_t r = 0; r < g.count; ++r) {
      int64_t offset = base, rr = r;
      for (int d = g.reduced_rank - 1; d >= 0; --d) {
        offset += (rr % g.reduced_dims[d]) * g.reduced_strides[d];
        rr /= g.reduced_dims[d];
      }
      acc = typename Traits::Op{}(acc, D::Load(x[offset]));
    }
    y[o] = D::Store(R == Reduction::kMean ? acc / static_cast<float>(g.count) : acc);
  }
}

/// y = reduction R of x (row-major, dims[0..rank)) over the axes a with reduced[a] != 0, y holding
/// the kept dims in order. Zero reduced elements give the identity (sum 0, prod 1, mean NaN; max
/// and min are rejected by shape inference). Pre: rank <= 16.
template <class D, Reduction R>
void Reduce(const typename D::Storage* x, typename D::Storage* y, const int64_t* dims,
            const uint8_t* reduced, int rank, void* stream) {
  // Coalesce: drop size-1 dims, merge neighbours of the same kind (kept or reduced).
  int64_t cdims[16];
  bool cred[16];
  int crank = 0;
  int64_t outputs = 1, count = 1;
  for (int a = 0; a < rank; ++a) {
    if (reduced[a])
      count *= dims[a];
    else
      outputs *= dims[a];
    if (dims[a] == 1) continue;
    if (crank > 0 && cred[crank - 1] == (reduced[a] != 0)) {
      cdims[crank - 1] *= dims[a];
    } else {
      cdims[crank] = dims[a];
      cred[crank] = reduced[a] != 0;
      ++crank;
    }
  }
  if (outputs == 0) return;
  int groups_reduced = 0;
  for (int a = 0; a < crank; ++a) groups_reduced += cred[a];
  const cudaStream_t s = AsStream(stream);
  if (crank > 0 && cred[crank - 1] && groups_reduced == 1 && count > 0) {
    // [kept..., reduced]: contiguous rows.
    if (count <= 1024) {
      Launch(ReduceRowsKernel<D, R, 32>, GridFor(outputs, 8), 256, 0, s, x, y, outputs, count);
    } else {
      Launch(ReduceRowsKernel<D, R, 1024>, GridFor(outputs, 1), 1024, 0, s, x, y, outputs, count);
    }
    return;
  }
  if (crank > 1 && cred[crank - 2] && !cred[crank - 1] && groups_reduced == 1 && count > 0) {
    // [kept..., reduced, kept]: one reduced run with contiguous columns after it.
    Launch(ReduceMiddleKernel<D, R>, GridFor(outputs, 256), 256, 0, s, x, y, outputs, count,
           cdims[crank - 1]);
    return;
  }
  ReduceGeometry g;
  g.count = count;
  int64_t stride = 1;
  // Strides from the innermost coalesced dim out; the lists are filled back to front.
  int kept_total = 0, reduced_total = 0;
  for (int a = 0; a < crank; ++a) (cred[a] ? reduced_total : kept_total)++;
  g.kept_rank = kept_total;
  g.reduced_rank = reduced_total;
  int k = kept_total, r = reduced_total;
  for (int a = crank - 1; a >= 0; --a) {
    if (cred[a]) {
      --r;
      g.reduced_dims[r] = cdims[a];
      g.reduced_strides[r] = stride;
    } else {
      --k;
      g.kept_dims[k] = cdims[a];
      g.kept_strides[k] = stride;
    }
    stride *= cdims[a];
  }
  Launch(ReduceStridedKernel<D, R>, GridFor(outputs, 256), 256, 0, s, x, y, outputs, g);
}

// ------------------------------------------------------------------------- arg_max / arg_min

/// The comparison key of an integer element (ArgReduce on integer tensors; the float dtypes use
/// F32 / F16 / BF16, whose keys are their f32 values).
template <typename T>
struct IntKey {
  using Storage = T;
  static __device__ __forceinline__ int64_t Load(T v) { return static_cast<int64_t>(v); }
};

/// Whether `v` replaces the best so far `b`, as the reference op: arg_max larger, arg_min
/// smaller; a NaN beats every number and the first NaN stays; `last`: ties replace too.
template <typename K>
__device__ __forceinline__ bool ArgBetter(K v, K b, bool is_max, bool last) {
  if constexpr (std::is_floating_point_v<K>) {
    if (isnan(b)) return false;
    if (isnan(v)) return true;
  }
  if (last && v == b) return true;
  return is_max ? v > b : v < b;
}

/// One thread per (outer, inner) column of x viewed as [outer, len, inner], adjacent threads on
/// adjacent columns; each walks its `len` elements.
template <class D>
__global__ void ArgReduceKernel(const typename D::Storage* x, int64_t* y, int64_t outer,
                                int64_t len, int64_t inner, bool is_max, bool last) {
  GridDependencyWait();
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < outer * inner;
       c += stride) {
    const int64_t base = (c / inner) * len * inner + c % inner;
    auto best_value = D::Load(x[base]);
    int64_t best = 0;
    for (int64_t k = 1; k < len; ++k) {
      const auto v = D::Load(x[base + k * inner]);
      if (ArgBetter(v, best_value, is_max, last)) {
        best = k;
        best_value = v;
      }
    }
    y[c] = best;
  }
}

/// y[o, i] = the index along the middle axis of x ([outer, len, inner], len >= 1) of its largest
/// (is_max) or smallest element: arg_max / arg_min with the reference op's ties and NaNs.
template <class D>
void ArgReduce(const typename D::Storage* x, int64_t* y, int64_t outer, int64_t len,
               int64_t inner, bool is_max, bool last, void* stream) {
  if (outer * inner <= 0 || len <= 0) return;
  Launch(ArgReduceKernel<D>, GridFor(outer * inner, 256), 256, 0, AsStream(stream), x, y, outer,
         len, inner, is_max, last);
}

}  // namespace kiln_cuda

#endif  // KILN_CUDA_REDUCE_CUH_
