// Shared pieces of the CPU emitters of the ops that own an epilogue (gemm, conv2d,
// conv_transpose2d): broadcast strides as C++ expressions and the emission of the epilogue itself
// (src/ops/epilogue.h defines its semantics). Generic helpers are in emit_util.h.
#ifndef KILN_CODEGEN_CPU_EPILOGUE_EMIT_H_
#define KILN_CODEGEN_CPU_EPILOGUE_EMIT_H_

#include <string>
#include <vector>

#include "codegen/kernel_context.h"

namespace kiln::codegen::cpu {

/// Element strides (C++ expressions) with which `operand` (dense row-major, right-aligned against
/// `out` by numpy broadcasting) is read for each of the first `num_axes` axes of `out`: "0" where
/// the operand lacks the axis or broadcasts it (a static 1 against a dim that is not), else the
/// product of the operand's later dims.
std::vector<std::string> BroadcastStrides(const KernelContext& ctx, const Shape& out,
                                          const Shape& operand, size_t num_axes);

/// Appends code applying ctx.node()'s epilogue in place to out0, an f32 tensor of the node's
/// output shape whose channel axis (bias's axis) is `channel_axis`: the last axis for gemm and
/// nhwc convs, 1 for nchw. Operands are the node's trailing inputs in<num_explicit_inputs()>...
/// Consecutive steps are fused into one pass over out0; a residual add whose operand is smaller
/// than the output calls kiln_cpu::BroadcastAdd between passes. Nothing is written for an empty
/// epilogue. Unimplemented for a cast to anything but f32.
/// Pre: out0 has been fully written by the code before.
Status EmitEpilogue(const KernelContext& ctx, CodeWriter& w, int64_t channel_axis);

}  // namespace kiln::codegen::cpu

#endif  // KILN_CODEGEN_CPU_EPILOGUE_EMIT_H_
