// C++ list text shared by the kernel emitters of every target (src/codegen/{cpu,cuda}/*.cc):
// braced initializer lists, `const int64_t` arrays and the dim / integer expressions that fill
// them.
#ifndef KILN_CODEGEN_EMIT_LISTS_H_
#define KILN_CODEGEN_EMIT_LISTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/code_writer.h"
#include "codegen/kernel_context.h"
#include "ir/graph.h"

namespace kiln::codegen {

/// "{a, b, c}": `items` (C++ expressions) as a braced initializer list; "{}" when empty.
std::string BraceList(const std::vector<std::string>& items);

/// Appends `const int64_t name[] = {v0, v1, ...};` to `body`. An empty `values` gives a single
/// unused 0 (C++ has no empty arrays), so rank-0 shapes need no special case.
void IntArray(CodeWriter& body, const std::string& name, const std::vector<std::string>& values);

/// ctx.Dim of every dim of `shape`, in order (literals or sym_ expressions).
std::vector<std::string> DimExprs(const KernelContext& ctx, const Shape& shape);

/// Decimal strings of `v`.
std::vector<std::string> IntStrings(const std::vector<int64_t>& v);

}  // namespace kiln::codegen

#endif  // KILN_CODEGEN_EMIT_LISTS_H_
