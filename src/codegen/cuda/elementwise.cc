// CUDA kernel emitter for elementwise and broadcasting ops and `fusion` nodes: each iteration
// space of the plan (codegen/elementwise_plan.h) becomes one grid-stride launch of a device
// lambda that recovers the per-dim indices from the flat output index; a fusion's intermediate
// values stay in registers.
#include "codegen/cuda/families.h"
#include "codegen/elementwise_plan.h"

namespace kiln::codegen::cuda {
namespace {

Status EmitElementwise(const KernelContext& ctx, CodeWriter& w) {
  KILN_ASSIGN_OR_RETURN(EwKernel kernel, PlanElementwise(ctx));
  for (const EwConstant& c : kernel.constants) {
    std::string list;
    for (size_t i = 0; i < c.literals.size(); ++i) list += (i ? ", " : "") + c.literals[i];
    w.Line("const kiln_cuda::Array<" + CpuStorageType(c.dtype) + ", " +
           std::to_string(std::max<size_t>(c.literals.size(), 1)) + "> " + c.name + "{{" + list + "}};  // " + c.comment);
  }
  for (const EwNest& nest : kernel.nests) {
    const size_t g = nest.sizes.size();
    w.Open("{");
    std::string total;
    for (size_t k = 0; k < g; ++k) {
      w.Line("const int64_t n" + std::to_string(k) + " = " + nest.sizes[k] + ";");
      total += (k ? " * n" : "n") + std::to_string(k);
    }
    w.Open("kiln_cuda::LaunchElementwise(" + total + ", stream, [=] __device__(int64_t o) {");
    std::vector<std::string> index(g);
    std::string rest = "o";
    for (size_t k = g; k-- > 0;) {
      std::string i = "i" + std::to_string(k);
      index[k] = i;
      if (k == 0) {
        w.Line("const int64_t " + i + " = " + rest + ";");
      } else {
        w.Line("const int64_t " + i + " = " + rest + " % n" + std::to_string(k) + ";");
        std::string r = "r" + std::to_string(k);
        w.Line("const int64_t " + r + " = " + rest + " / n" + std::to_string(k) + ";");
        rest = r;
      }
    }
    KILN_RETURN_IF_ERROR(EmitElement(nest, index, "o", w));
    w.Close(");");
    w.Close();
  }
  return Status::Ok();
}

}  // namespace

void RegisterElementwiseEmitters() {
  for (OpKind op : ElementwiseOps()) RegisterEmitter(op, EmitElementwise);
  RegisterEmitter(OpKind::kFusion, EmitElementwise);
}

}  // namespace kiln::codegen::cuda
