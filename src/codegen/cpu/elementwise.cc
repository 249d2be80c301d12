// CPU kernel emitter for elementwise and broadcasting ops and `fusion` nodes: each iteration
// space of the plan (codegen/elementwise_plan.h) becomes a loop nest whose innermost loop has a
// literal stride of 1 or 0 per operand, so the compiler vectorises it; a fusion's intermediate
// values live in locals and never touch memory.
#include "codegen/cpu/families.h"
#include "codegen/elementwise_plan.h"
#include "codegen/emit_lists.h"

namespace kiln::codegen::cpu {
namespace {

Status EmitElementwise(const KernelContext& ctx, CodeWriter& w) {
  KILN_ASSIGN_OR_RETURN(EwKernel kernel, PlanElementwise(ctx));
  for (const EwConstant& c : kernel.constants) {
    w.Line("static const " + CpuStorageType(c.dtype) + " " + c.name + "[" +
           std::to_string(std::max<size_t>(c.literals.size(), 1)) + "] = " + BraceList(c.literals) +
           ";  // " + c.comment);
  }
  for (const EwNest& nest : kernel.nests) {
    const size_t g = nest.sizes.size();
    w.Open("{");
    for (size_t k = 0; k < g; ++k)
      w.Line("const int64_t n" + std::to_string(k) + " = " + nest.sizes[k] + ";");
    std::vector<std::string> index;
    std::string flat = "i0";
    for (size_t k = 0; k < g; ++k) {
      std::string i = "i" + std::to_string(k);
      w.Open("for (int64_t " + i + " = 0; " + i + " < n" + std::to_string(k) + "; ++" + i + ") {");
      if (k > 0) flat = "(" + flat + ") * n" + std::to_string(k) + " + " + i;
      index.push_back(i);
    }
    w.Line("const int64_t o = " + flat + ";");
    KILN_RETURN_IF_ERROR(EmitElement(nest, index, "o", w));
    for (size_t k = 0; k < g; ++k) w.Close();
    w.Close();
  }
  return Status::Ok();
}

}  // namespace

void RegisterElementwiseEmitters() {
  for (OpKind op : ElementwiseOps()) RegisterEmitter(op, EmitElementwise);
}

}  // namespace kiln::codegen::cpu
