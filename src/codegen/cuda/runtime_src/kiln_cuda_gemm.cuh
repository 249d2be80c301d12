// CUTLASS 2.x device GEMM for generated gemm kernels on the Ampere path (cuda-sm80, and the
// cuda-sm90 fallback for extents TMA cannot move): included only by the kernels that use it.
#ifndef KILN_CUDA_GEMM_CUH_
#define KILN_CUDA_GEMM_CUH_

#include "cutlass/cutlass.h"
#include "cutlass/gemm/device/gemm.h"
#include "kiln_cuda.cuh"

#endif  // KILN_CUDA_GEMM_CUH_
