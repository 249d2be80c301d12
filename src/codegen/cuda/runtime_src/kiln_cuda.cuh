// The CUDA kernel library that generated CUDA modules call (namespace kiln_cuda), header-only so
// that each generated kernel file instantiates exactly what it uses.
//
// Conventions: every function takes the caller's stream (void* = cudaStream_t) and only enqueues
// work; device pointers; sizes are int64_t; tensors dense row-major. Scalar helpers with the
// reference ops' semantics come from kiln_scalar.h (host and device).
#ifndef KILN_CUDA_CUH_
#define KILN_CUDA_CUH_

#include <cuda_runtime.h>

#include <cstdint>

#include "kiln_scalar.h"

#include "cutlass/cutlass.h"
#include "cutlass/gemm/device/gemm.h"

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

template <typename F>
__global__ void ElementwiseKernel(int64_t n, F f) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) f(i);
}

/// Runs f(i) for i in [0, n) on `stream`: a grid-stride loop, 256 threads per block, at most
/// 16 blocks per SM worth of blocks (enough to fill the GPU; the loop covers the rest).
template <typename F>
void LaunchElementwise(int64_t n, void* stream, F f) {
  if (n <= 0) return;
  constexpr int kThreads = 256;
  static int max_blocks = [] {
    int device = 0, sms = 132;
    cudaGetDevice(&device);
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
    return sms * 16;
  }();
  int64_t blocks = (n + kThreads - 1) / kThreads;
  if (blocks > max_blocks) blocks = max_blocks;
  ElementwiseKernel<<<static_cast<unsigned>(blocks), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(n, f);
}

/// Device-to-device copy on `stream` (view ops whose result cannot share its operand's buffer).
inline void Copy(void* dst, const void* src, int64_t bytes, void* stream) {
  if (bytes > 0) cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), cudaMemcpyDeviceToDevice, static_cast<cudaStream_t>(stream));
}

}  // namespace kiln_cuda

#endif  // KILN_CUDA_CUH_
