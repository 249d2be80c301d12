// CUDA kernel emitters: views (reshape, flatten, squeeze, unsqueeze). A view normally shares its
// operand's buffer and runs nothing; it gets a kernel only when its result must live elsewhere
// (a graph output), and that kernel is a device-to-device copy.
#include "codegen/cuda/families.h"
#include "support/dtype.h"

namespace kiln::codegen::cuda {
namespace {

Status EmitViewCopy(const KernelContext& ctx, CodeWriter& w) {
  const Value* out = ctx.node().output();
  w.Line("kiln_cuda::Copy(out0, in0, " + ctx.Numel(out->shape()) + " * " + std::to_string(DTypeSize(out->dtype())) +
         ", stream);");
  return Status::Ok();
}

}  // namespace

void RegisterLayoutEmitters() {
  for (OpKind op : {OpKind::kReshape, OpKind::kFlatten, OpKind::kSqueeze, OpKind::kUnsqueeze}) {
    RegisterEmitter(op, EmitViewCopy);
  }
}

}  // namespace kiln::codegen::cuda
