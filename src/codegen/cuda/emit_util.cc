#include "codegen/cuda/emit_util.h"

#include "support/dtype.h"

namespace kiln::codegen::cuda {

StatusOr<std::string> FloatTraits(const Node& node, const Value* v) {
  switch (v->dtype()) {
    case DType::kF32:
      return std::string("kiln_cuda::F32");
    case DType::kF16:
      return std::string("kiln_cuda::F16");
    case DType::kBF16:
      return std::string("kiln_cuda::BF16");
    default:
      return Unimplemented(node.Describe() + ": dtype " + std::string(DTypeName(v->dtype())) +
                           " of %" + v->name() + " (" + v->type().ToString() +
                           ") is not supported by " + std::string(node.op_name()) +
                           " on the cuda targets (f32, f16 and bf16 are)");
  }
}

std::string ElemBytes(const Value* v) { return std::to_string(DTypeSize(v->dtype())); }

Status CudaUnimplemented(const Node& node, const std::string& what) {
  return Unimplemented(node.Describe() + ": " + what + " is not supported on the cuda targets yet");
}

}  // namespace kiln::codegen::cuda
