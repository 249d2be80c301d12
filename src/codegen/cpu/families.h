// Registration of the CPU target's kernel emitters, one function per op family (one file each).
// cpu_target.cc calls them all from RegisterCpuEmitters().
#ifndef KILN_CODEGEN_CPU_FAMILIES_H_
#define KILN_CODEGEN_CPU_FAMILIES_H_

#include "codegen/kernel_context.h"

namespace kiln::codegen::cpu {

/// Makes `fn` the CPU emitter of `op` (aborts if one is registered already: a bug).
void RegisterEmitter(OpKind op, KernelEmitFn fn);

void RegisterElementwiseEmitters();  // elementwise.cc: unary/binary/compare/where/cast/clip, fusion
void RegisterLayoutEmitters();       // layout.cc: views, transpose, concat/split/slice/pad, gather
void RegisterGemmEmitters();         // gemm.cc: gemm (+ epilogue)
void RegisterConvEmitters();         // conv.cc: conv2d, conv_transpose2d (+ epilogue)
void RegisterPoolEmitters();         // pool.cc: max/avg/global pools, resize
void RegisterNormEmitters();         // norm.cc: layer/rms/group/batch norm
void RegisterReduceEmitters();       // reduce.cc: reduce_*, softmax, log_softmax
void RegisterAttentionEmitters();    // attention.cc: attention
void RegisterElementIndexEmitters();  // element_index.cc: arg_max/min, gather/scatter_elements

}  // namespace kiln::codegen::cpu

#endif  // KILN_CODEGEN_CPU_FAMILIES_H_
