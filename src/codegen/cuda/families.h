// Registration of the CUDA targets' kernel emitters, one function per op family (one file each).
#ifndef KILN_CODEGEN_CUDA_FAMILIES_H_
#define KILN_CODEGEN_CUDA_FAMILIES_H_

#include "codegen/kernel_context.h"

namespace kiln::codegen::cuda {

/// Makes `fn` the CUDA emitter of `op` (aborts if one is registered already: a bug).
void RegisterEmitter(OpKind op, KernelEmitFn fn);

void RegisterElementwiseEmitters();  // elementwise.cc: elementwise/broadcast ops, fusion
void RegisterLayoutEmitters();       // layout.cc: views (copies when a view cannot alias)
void RegisterGemmEmitters();         // gemm.cc: gemm through CUTLASS (+ epilogue)

}  // namespace kiln::codegen::cuda

#endif  // KILN_CODEGEN_CUDA_FAMILIES_H_
