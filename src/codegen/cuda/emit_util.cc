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

void IntArray(CodeWriter& body, const std::string& name, const std::vector<std::string>& values) {
  std::string list;
  for (size_t i = 0; i < values.size(); ++i) list += (i ? ", " : "") + values[i];
  body.Line("const int64_t " + name + "[] = {" + (values.empty() ? "0" : list) + "};");
}

std::vector<std::string> DimExprs(const KernelContext& ctx, const Shape& shape) {
  std::vector<std::string> out;
  for (const Dim& d : shape) out.push_back(ctx.Dim(d));
  return out;
}

std::vector<std::string> IntStrings(const std::vector<int64_t>& v) {
  std::vector<std::string> out;
  for (int64_t x : v) out.push_back(std::to_string(x));
  return out;
}

}  // namespace kiln::codegen::cuda
