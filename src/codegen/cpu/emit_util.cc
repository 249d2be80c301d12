#include "codegen/cpu/emit_util.h"

namespace kiln::codegen::cpu {

Status RequireF32(const Node& node) {
  auto check = [&](const Value* v, const std::string& what) -> Status {
    if (v->dtype() == DType::kF32) return Status::Ok();
    return Unimplemented(node.Describe() + ": " + what + " (%" + v->name() + ": " +
                         v->type().ToString() + ") has dtype " +
                         std::string(DTypeName(v->dtype())) +
                         ", which is not supported on the cpu target (" +
                         std::string(node.op_name()) + " computes in f32 only)");
  };
  for (int i = 0; i < node.num_inputs(); ++i) {
    KILN_RETURN_IF_ERROR(check(node.input(i), "operand " + std::to_string(i)));
  }
  for (int i = 0; i < node.num_outputs(); ++i) {
    KILN_RETURN_IF_ERROR(check(node.output(i), "result " + std::to_string(i)));
  }
  return Status::Ok();
}

}  // namespace kiln::codegen::cpu
