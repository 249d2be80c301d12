// C++ list text shared by the kernel emitters of every target (see emit_lists.h).
#include "codegen/emit_lists.h"

namespace kiln::codegen {

std::string BraceList(const std::vector<std::string>& items) {
  std::string s = "{";
  for (size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + items[i];
  return s + "}";
}

void IntArray(CodeWriter& body, const std::string& name, const std::vector<std::string>& values) {
  body.Line("const int64_t " + name + "[] = " + (values.empty() ? "{0}" : BraceList(values)) + ";");
}

std::vector<std::string> DimExprs(const KernelContext& ctx, const Shape& shape) {
  std::vector<std::string> out;
  out.reserve(shape.size());
  for (const Dim& d : shape) out.push_back(ctx.Dim(d));
  return out;
}

std::vector<std::string> IntStrings(const std::vector<int64_t>& v) {
  std::vector<std::string> out;
  out.reserve(v.size());
  for (int64_t x : v) out.push_back(std::to_string(x));
  return out;
}

}  // namespace kiln::codegen
