// The CUDA kernel library that generated CUDA modules call (namespace kiln_cuda), header-only so
// that each generated kernel file instantiates exactly what it uses.
//
// Conventions: every function takes the caller's stream (void* = cudaStream_t) and only enqueues
// work; device pointers; sizes are int64_t; tensors dense row-major. Scalar helpers with the
// reference ops' semantics come from kiln_scalar.h (host and device).
//
// This file holds the elementwise launcher, copies, the float-dtype traits (F32, F16, BF16) and
// the group reductions the op-family kernels share; the families live in kiln_cuda_<family>.cuh
// (layout, norm, pool, reduce, resize), included at the end.
#ifndef KILN_CUDA_CUH_
#define KILN_CUDA_CUH_

#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "kiln_scalar.h"

namespace kiln_rt {
/// Records a failure inside a generated kernel (e.g. a CUTLASS status); kiln_instance_run returns
/// it as KILN_ERR_CUDA with "what: detail" after the run (device_cuda.cu).
void DeviceReportError(const char* what, const char* detail);
}  // namespace kiln_rt

namespace kiln_cuda {

/// A fixed-size array usable in device lambdas (captured by value): constants of fusion bodies.
template <typename T, int N>
struct Array {
  T data[N];
  __host__ __device__ const T& operator[](int64_t i) const { return data[i]; }
};

// ----------------------------------------------------------------------------- kernel launch
// Programmatic dependent launch (Hopper; `kiln compile --pdl` defines KILN_PDL=1): Launch marks
// each kernel as allowed to start while the previous kernel on the stream still runs, so its
// launch latency and CTA set-up overlap the predecessor's tail instead of following it. For that
// to be safe every kernel kiln launches calls GridDependencyWait() before it touches global
// memory (reads, and writes that could alias a predecessor's operands): it returns once the
// previous grid has completed and its writes are visible, then lets the next grid launch.
// Without KILN_PDL both are no-ops and Launch is a plain <<<>>> launch.
#ifndef KILN_PDL
#define KILN_PDL 0
#endif

__device__ __forceinline__ void GridDependencyWait() {
#if KILN_PDL && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

/// kernel<<<grid, block, smem, stream>>>(args...), as a programmatic dependent launch under
/// KILN_PDL (the kernel must start with GridDependencyWait()).
template <typename... Params, typename... Args>
void Launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
            Args&&... args) {
#if KILN_PDL
  cudaLaunchAttribute attr;
  attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  config.attrs = &attr;
  config.numAttrs = 1;
  cudaLaunchKernelEx(&config, kernel, static_cast<Params>(args)...);
#else
  // clang-format off
  kernel<<<grid, block, smem, stream>>>(static_cast<Params>(args)...);
  // clang-format on
#endif
}

template <typename F>
__global__ void ElementwiseKernel(int64_t n, F f) {
  GridDependencyWait();
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) f(i);
}

inline cudaStream_t AsStream(void* stream) { return static_cast<cudaStream_t>(stream); }

/// The current device's SM count (queried once per process).
inline int SmCount() {
  static const int sms = [] {
    int device = 0, count = 132;
    cudaGetDevice(&device);
    cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device);
    return count;
  }();
  return sms;
}

/// Blocks worth launching at once for grid-stride kernels: 16 per SM of the current device.
inline int64_t MaxBlocks() { return int64_t{SmCount()} * 16; }

/// ceil(n / per_block) blocks, at least 1, at most MaxBlocks() (kernels loop over the rest).
inline unsigned GridFor(int64_t n, int64_t per_block) {
  int64_t blocks = (n + per_block - 1) / per_block;
  if (blocks > MaxBlocks()) blocks = MaxBlocks();
  return static_cast<unsigned>(blocks < 1 ? 1 : blocks);
}

/// Blocks for a kernel that loops over n items, per_block at a time: ceil(n / per_block), at most
/// as many blocks of kThreads threads as fit on the current device at once (its occupancy), so
/// that each block takes several turns of the loop (for kernels that load per-block state once,
/// such as the norms' weight and bias).
template <auto kKernel, int kThreads>
inline unsigned ResidentGrid(int64_t n, int64_t per_block) {
  static const int64_t resident = [] {
    int per_sm = 0;
    if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kKernel, kThreads, 0) != cudaSuccess ||
        per_sm < 1) {
      per_sm = 1;
    }
    return int64_t{SmCount()} * per_sm;
  }();
  int64_t blocks = (n + per_block - 1) / per_block;
  if (blocks > resident) blocks = resident;
  return static_cast<unsigned>(blocks < 1 ? 1 : blocks);
}

/// Runs f(i) for i in [0, n) on `stream`: a grid-stride loop, 256 threads per block, at most
/// 16 blocks per SM worth of blocks (enough to fill the GPU; the loop covers the rest).
template <typename F>
void LaunchElementwise(int64_t n, void* stream, F f) {
  if (n <= 0) return;
  constexpr int kThreads = 256;
  Launch(ElementwiseKernel<F>, GridFor(n, kThreads), kThreads, 0, AsStream(stream), n, f);
}

/// The unsigned word of `kBytes` (1, 2, 4, 8 or 16) bytes that vector loads and stores move.
template <int kBytes>
struct VectorWord;
template <>
struct VectorWord<1> { using Type = unsigned char; };
template <>
struct VectorWord<2> { using Type = unsigned short; };
template <>
struct VectorWord<4> { using Type = unsigned int; };
template <>
struct VectorWord<8> { using Type = uint2; };
template <>
struct VectorWord<16> { using Type = uint4; };

/// dst[0..N) = src[0..N) as one access of N * sizeof(T) bytes. Pre: src aligned to that size, dst
/// declared alignas(16).
template <typename T, int N>
__device__ __forceinline__ void LoadVector(T (&dst)[N], const T* src) {
  using W = typename VectorWord<N * sizeof(T)>::Type;
  *reinterpret_cast<W*>(dst) = *reinterpret_cast<const W*>(src);
}

/// dst = src (16 bytes) through opaque register moves, which the compiler cannot hoist out of a
/// loop: values held across a loop in their packed storage type (norm weights) are then widened
/// inside it, not once before it into twice the registers.
template <typename T, int N>
__device__ __forceinline__ void OpaqueCopy(T (&dst)[N], const T (&src)[N]) {
  static_assert(N * sizeof(T) == 16, "a 16-byte vector");
  const auto* from = reinterpret_cast<const unsigned*>(src);
  auto* to = reinterpret_cast<unsigned*>(dst);
#pragma unroll
  for (int i = 0; i < 4; ++i) asm volatile("mov.b32 %0, %1;" : "=r"(to[i]) : "r"(from[i]));
}

/// dst[0..N) = src[0..N) as one access (the StoreVector of LoadVector).
template <typename T, int N>
__device__ __forceinline__ void StoreVector(T* dst, const T (&src)[N]) {
  using W = typename VectorWord<N * sizeof(T)>::Type;
  *reinterpret_cast<W*>(dst) = *reinterpret_cast<const W*>(src);
}

/// Whether device pointer p is 16-byte aligned (vector accesses need it).
inline bool Aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

/// The geometry of one implicit-GEMM convolution (kiln_cuda_conv_sm90.cuh,
/// kiln_cuda_conv_fixed_channels.cuh): the batch may be a run-time value, everything else is
/// fixed by the model. Pads: leading (top, left) and trailing (bottom, right) as the IR has them.
struct ConvGeometry {
  int64_t n, h, w, c;   // activation NHWC
  int64_t k, r, s;      // filter KRSC (output channels, kernel height, width)
  int64_t p, q;         // output height, width
  int pad_h, pad_w, pad_h_end, pad_w_end;
  int stride_h, stride_w, dilation_h, dilation_w;
};

/// Device-to-device copy on `stream` (view ops whose result cannot share its operand's buffer).
inline void Copy(void* dst, const void* src, int64_t bytes, void* stream) {
  if (bytes > 0) cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), cudaMemcpyDeviceToDevice, static_cast<cudaStream_t>(stream));
}

// ------------------------------------------------------------------------------ float storage
// The float dtypes of the family kernels (kiln_cuda_<family>.cuh), which are templated on one of
// these: Storage is the element type in memory (f16 and bf16 are their bits, as in generated CPU
// code), Load/Store convert to and from the f32 the kernels compute and accumulate in.

struct F32 {
  using Storage = float;
  static __device__ __forceinline__ float Load(float v) { return v; }
  static __device__ __forceinline__ float Store(float v) { return v; }
};
struct F16 {
  using Storage = uint16_t;
  static __device__ __forceinline__ float Load(uint16_t v) { return kiln_scalar::HalfToFloat(v); }
  static __device__ __forceinline__ uint16_t Store(float v) { return kiln_scalar::FloatToHalf(v); }
};
struct BF16 {
  using Storage = uint16_t;
  static __device__ __forceinline__ float Load(uint16_t v) { return kiln_scalar::BF16ToFloat(v); }
  static __device__ __forceinline__ uint16_t Store(float v) { return kiln_scalar::FloatToBF16(v); }
};

/// dst[0..N) = the N elements of dtype D at src as f32, read in one access (src aligned to it).
template <class D, int N>
__device__ __forceinline__ void LoadFloats(float (&dst)[N], const typename D::Storage* src) {
  alignas(16) typename D::Storage raw[N];
  LoadVector(raw, src);
#pragma unroll
  for (int e = 0; e < N; ++e) dst[e] = D::Load(raw[e]);
}

/// The N floats of src stored as dtype D at dst in one access (dst aligned to it).
template <class D, int N>
__device__ __forceinline__ void StoreFloats(typename D::Storage* dst, const float (&src)[N]) {
  alignas(16) typename D::Storage raw[N];
#pragma unroll
  for (int e = 0; e < N; ++e) raw[e] = D::Store(src[e]);
  StoreVector(dst, raw);
}

constexpr float kLog2e = 1.4426950408889634f;

/// 2^x (ex2.approx: 2 ulp; 2^-inf = 0; results below 2^-126 flush to 0). exp(x - m) is
/// Exp2(fmaf(x, kLog2e, -m * kLog2e)): one FFMA and one MUFU op instead of expf's ten.
__device__ __forceinline__ float Exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

/// Reduces `v` with `op` over a group of kThreads threads, returned to every thread of the group.
/// kThreads <= 32: an aligned slice of a warp (every lane of the warp must call it); kThreads > 32:
/// the whole block (kThreads == blockDim.x, a multiple of 32; every thread must call it), through
/// `smem`, 32 floats of shared memory that the call may reuse from a previous one.
template <int kThreads, typename Op>
__device__ __forceinline__ float GroupReduce(float v, Op op, float* smem) {
  constexpr int kWidth = kThreads < 32 ? kThreads : 32;
  for (int offset = kWidth / 2; offset > 0; offset /= 2) {
    v = op(v, __shfl_xor_sync(0xffffffffu, v, offset, kWidth));
  }
  if constexpr (kThreads > 32) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int first = static_cast<int>(threadIdx.x) / kThreads * (kThreads / 32);  // group's warp 0
    __syncthreads();  // an earlier call's readers are done with smem
    if (lane == 0) smem[warp] = v;
    __syncthreads();
    v = smem[first];
    for (int w = 1; w < kThreads / 32; ++w) v = op(v, smem[first + w]);
  }
  return v;
}

/// Calls f(threads, cache) (std::integral_constants) for a row of `vecs` 16-byte vectors that
/// `threads` threads hold in registers as f32, `cache` (2 or 4) vectors each, and returns true;
/// false (f not called) when the row is longer than 4096 vectors: a warp per row up to 128
/// vectors, 128 threads up to 512, 256 up to 1024, else 1024. The row policy of softmax and
/// layer_norm / rms_norm: with a warp per 4096-wide f16 row (16 vectors per lane, 120-128
/// registers, 16 warps per SM) softmax ran at 72-83% of copy bandwidth and layer_norm at 80%,
/// with 128 threads per row softmax at 93.2% (session 14) and layer_norm, its weight and bias
/// staged once per block, at 87.3% (session 15; H100). Launch with RowBlockThreads(threads)
/// threads per block and RowsPerBlock(threads) rows per block.
template <typename F>
inline bool WithRowCache(int64_t vecs, F f) {
  auto with = [&](auto threads) {
    constexpr int kT = decltype(threads)::value;
    if (vecs <= 2 * kT) {
      f(threads, std::integral_constant<int, 2>{});
    } else {
      f(threads, std::integral_constant<int, 4>{});
    }
  };
  if (vecs <= 32 * 4) {
    with(std::integral_constant<int, 32>{});
  } else if (vecs <= 128 * 4) {
    with(std::integral_constant<int, 128>{});
  } else if (vecs <= 256 * 4) {
    with(std::integral_constant<int, 256>{});
  } else if (vecs <= 1024 * 4) {
    with(std::integral_constant<int, 1024>{});
  } else {
    return false;
  }
  return true;
}
/// Threads per block and rows per block of a row-wise kernel with `threads` threads per row.
constexpr int RowBlockThreads(int threads) { return threads > 256 ? threads : 256; }
constexpr int RowsPerBlock(int threads) { return threads >= 256 ? 1 : 256 / threads; }

struct SumOp {
  __device__ __forceinline__ float operator()(float a, float b) const { return a + b; }
};
/// max / min that propagate NaN (numpy.max semantics, as the reference ops).
struct MaxOp {
  __device__ __forceinline__ float operator()(float a, float b) const { return kiln_scalar::FMax(a, b); }
};
struct MinOp {
  __device__ __forceinline__ float operator()(float a, float b) const { return kiln_scalar::FMin(a, b); }
};
struct ProdOp {
  __device__ __forceinline__ float operator()(float a, float b) const { return a * b; }
};

}  // namespace kiln_cuda

// The op-family kernels, built on the helpers above.
#include "kiln_cuda_layout.cuh"
#include "kiln_cuda_norm.cuh"
#include "kiln_cuda_pool.cuh"
#include "kiln_cuda_reduce.cuh"
#include "kiln_cuda_resize.cuh"

#endif  // KILN_CUDA_CUH_
