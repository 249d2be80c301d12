// The CUDA targets (cuda-sm90, cuda-sm80): their kernel emitters (one file per op family, see
// families.h). Generated kernels are host functions that enqueue CUDA work on the caller's stream.
#ifndef KILN_CODEGEN_CUDA_CUDA_TARGET_H_
#define KILN_CODEGEN_CUDA_CUDA_TARGET_H_

#include <string>
#include <vector>

#include "codegen/module_emitter.h"

namespace kiln::codegen::cuda {

/// The emitters of target `name` ("cuda-sm90" or "cuda-sm80"); registers them on first use.
const TargetEmitters& CudaTarget(const std::string& name);

/// The ops the CUDA targets can emit.
std::vector<OpKind> SupportedOps();

}  // namespace kiln::codegen::cuda

#endif  // KILN_CODEGEN_CUDA_CUDA_TARGET_H_
