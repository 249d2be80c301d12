#include "codegen/cuda/emit_util.h"

#include "codegen/cuda/gemm_config.h"
#include "support/check.h"
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

CodeWriter SharedBodyWriter(const Node& node) {
  CodeWriter w;
  w.Lines(OperandLocals(node));
  return w;
}

std::string UnderOneWave(const std::string& rows, const std::string& cols, int tile_m,
                         int tile_n) {
  return "(" + rows + " + " + std::to_string(tile_m - 1) + ") / " + std::to_string(tile_m) +
         " * ((" + cols + " + " + std::to_string(tile_n - 1) + ") / " + std::to_string(tile_n) +
         ") < " + std::to_string(kSm90Sms);
}

void CallSharedFunctions(const KernelContext& ctx, const std::string& stem,
                         const std::string& what, const std::vector<std::string>& sizes,
                         const std::vector<SharedVariant>& variants, CodeWriter& w) {
  // The last variant is the default: a condition on it would leave some sizes without a kernel
  // (or, alone, run it for every size).
  KILN_CHECK(!variants.empty() && variants.back().when.empty()) << ctx.node().Describe();
  std::string list;
  for (const std::string& s : sizes) list += (list.empty() ? "" : ", ") + s;
  w.Line("const int64_t size[] = {" + (list.empty() ? std::string("0") : list) + "};");
  for (size_t i = 0; i < variants.size(); ++i) {
    const SharedVariant& v = variants[i];
    const std::string name = ctx.ShareFunction(
        stem,
        "const char* what, const void* const* in, void* const* out, const int64_t* size, "
        "void* stream",
        v.code.str());
    const std::string call = name + "(" + what + ", in, out, size, stream);";
    const std::string note = v.label.empty() ? "" : "  // " + v.label;
    if (variants.size() == 1) {
      w.Line(call + note);
    } else if (i == 0) {
      w.Line("if (" + v.when + ") {" + note);
      w.Line("  " + call);
    } else if (i + 1 < variants.size()) {
      w.Line("} else if (" + v.when + ") {" + note);
      w.Line("  " + call);
    } else {
      w.Line("} else {" + note);
      w.Line("  " + call);
      w.Line("}");
    }
  }
}

void CallSharedFunction(const KernelContext& ctx, const std::string& stem,
                        const std::string& what, const std::vector<std::string>& sizes,
                        const CodeWriter& shared, CodeWriter& w) {
  CallSharedFunctions(ctx, stem, what, sizes, {{"", shared, ""}}, w);
}

}  // namespace kiln::codegen::cuda
