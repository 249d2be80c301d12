// Registration of the CUDA targets' kernel emitters, one function per op family (one file each).
#ifndef KILN_CODEGEN_CUDA_FAMILIES_H_
#define KILN_CODEGEN_CUDA_FAMILIES_H_

#include "codegen/kernel_context.h"

namespace kiln::codegen::cuda {

/// Makes `fn` the CUDA emitter of `op` (aborts if one is registered already: a bug).
void RegisterEmitter(OpKind op, KernelEmitFn fn);
/// Makes `fn` the emitter of `op` on cuda-sm90 only, in place of the shared one (kernels that use
/// Hopper-only features, e.g. the CUTLASS 3.x gemm); cuda-sm80 keeps the shared emitter.
void RegisterSm90Emitter(OpKind op, KernelEmitFn fn);

void RegisterElementwiseEmitters();  // elementwise.cc: elementwise/broadcast ops, fusion
void RegisterLayoutEmitters();       // layout.cc: views, transpose, expand, slice, concat, split, pad,
                                     // gather, embedding
void RegisterReduceEmitters();       // reduce.cc: softmax, log_softmax, reduce_*
void RegisterNormEmitters();         // norm.cc: layer_norm, rms_norm, group_norm
void RegisterPoolEmitters();         // pool.cc: max/avg_pool2d, global_avg/max_pool2d, resize
void RegisterGemmEmitters();         // gemm.cc: gemm through CUTLASS (+ epilogue)
void RegisterConvEmitters();         // conv.cc: conv2d (implicit GEMM on sm90, direct otherwise)
void RegisterAttentionEmitters();    // attention.cc: attention (flash kernel + fallback)

}  // namespace kiln::codegen::cuda

#endif  // KILN_CODEGEN_CUDA_FAMILIES_H_
