// Small text helpers shared by the CPU kernel emitters (src/codegen/cpu/*.cc): the f32-only
// check and C++ initializer lists / int64_t arrays of dim expressions. Float literals come from
// FloatLiteralExpr (codegen/kernel_context.h).
#ifndef KILN_CODEGEN_CPU_EMIT_UTIL_H_
#define KILN_CODEGEN_CPU_EMIT_UTIL_H_

#include <string>
#include <vector>

#include "codegen/code_writer.h"
#include "codegen/kernel_context.h"
#include "ir/graph.h"
#include "kiln/status.h"

namespace kiln::codegen::cpu {

/// Ok when every operand and result of `node` is f32. Otherwise Unimplemented naming the node
/// ("%y = layer_norm"), the first offending value with its type and dtype, and "is not supported
/// on the cpu target": the CPU kernels of the ops that call it compute in f32 only.
Status RequireF32(const Node& node);

/// "{a, b, c}": `items` (C++ expressions) as a braced initializer list; "{}" when empty.
std::string BraceList(const std::vector<std::string>& items);

/// Appends `const int64_t name[] = {v0, v1, ...};` to `body`. An empty `values` gives a single
/// unused 0 (C++ has no empty arrays), so rank-0 shapes need no special case.
void IntArray(CodeWriter& body, const std::string& name, const std::vector<std::string>& values);

/// ctx.Dim of every dim of `shape`, in order (literals or sym_ expressions).
std::vector<std::string> DimExprs(const KernelContext& ctx, const Shape& shape);

}  // namespace kiln::codegen::cpu

#endif  // KILN_CODEGEN_CPU_EMIT_UTIL_H_
