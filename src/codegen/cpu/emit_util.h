// Small helpers shared by the CPU kernel emitters (src/codegen/cpu/*.cc): the f32-only check.
// C++ initializer lists and int64_t arrays of dim expressions come from codegen/emit_lists.h, float
// literals from FloatLiteralExpr (codegen/kernel_context.h).
#ifndef KILN_CODEGEN_CPU_EMIT_UTIL_H_
#define KILN_CODEGEN_CPU_EMIT_UTIL_H_

#include <string>
#include <vector>

#include "codegen/code_writer.h"
#include "codegen/emit_lists.h"
#include "codegen/kernel_context.h"
#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln::codegen::cpu {

/// Ok when every operand and result of `node` is f32. Otherwise Unimplemented naming the node
/// ("%y = layer_norm"), the first offending value with its type and dtype, and "is not supported
/// on the cpu target": the CPU kernels of the ops that call it compute in f32 only.
Status RequireF32(const Node& node);

}  // namespace kiln::codegen::cpu

#endif  // KILN_CODEGEN_CPU_EMIT_UTIL_H_
