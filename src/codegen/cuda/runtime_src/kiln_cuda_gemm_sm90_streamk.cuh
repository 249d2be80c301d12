// Stream-K gemms (GemmConfig::stream_k): a generated file whose kernel uses CUTLASS's stream-K tile
// scheduler includes this header instead of kiln_cuda_gemm_sm90.cuh, before any other CUTLASS
// header. CUTLASS 4.2's stream-K scheduler does not compile with CUTLASS_ENABLE_GDC_FOR_SM90
// (`kiln compile --pdl`): is_last_tile, a const member function, passes a member to a non-const
// reference (nvcc 13: "qualifiers dropped in binding reference"). Such a file is built without
// it, and kiln_cuda::sm90::Run launches its kernel without programmatic dependent launch: the
// kernel starts when its predecessor has finished, as every kernel does without --pdl (the
// kernels after it still overlap their launch with it).
#ifndef KILN_CUDA_GEMM_SM90_STREAMK_CUH_
#define KILN_CUDA_GEMM_SM90_STREAMK_CUH_

#ifdef KILN_CUDA_GEMM_SM90_CUH_
#error "kiln_cuda_gemm_sm90_streamk.cuh must come before kiln_cuda_gemm_sm90.cuh"
#endif
#undef CUTLASS_ENABLE_GDC_FOR_SM90
#include "kiln_cuda_gemm_sm90.cuh"

#endif  // KILN_CUDA_GEMM_SM90_STREAMK_CUH_
