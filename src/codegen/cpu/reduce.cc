// CPU kernel emitters: the reduce family (reduce_sum/mean/max/min/prod, softmax, log_softmax).
// Reductions take the operand's dims and a 0/1 mask of reduced axes (kiln_cpu::Reduce coalesces
// them at run time); softmax views the operand as [outer, len, inner] around its axis.
// Reductions support f32, i64 and i32; softmax f32 only.
#include <string>

#include "codegen/cpu/emit_util.h"
#include "codegen/cpu/families.h"
#include "codegen/reduce_plan.h"
#include "ops/op_util.h"

namespace kiln::codegen::cpu {
namespace {

Status EmitReduce(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  const DType dtype = node.input(0)->dtype();
  if (dtype != DType::kF32 && dtype != DType::kI64 && dtype != DType::kI32) {
    return Unimplemented(node.Describe() + ": dtype " + std::string(DTypeName(dtype)) +
                         " is not supported on the cpu target (" + std::string(node.op_name()) +
                         " supports f32, i64 and i32)");
  }
  KILN_ASSIGN_OR_RETURN(ReducePlan plan, PlanReduce(ctx));
  IntArray(body, "dims", plan.dims);
  body.Line("const uint8_t reduced[] = " + BraceList(plan.reduced) + ";  // 1: axis is reduced");
  body.Line("kiln_cpu::Reduce(in0, out0, dims, reduced, " + std::to_string(plan.dims.size()) +
            ", kiln_cpu::Reduction::" + ReductionEnumerator(node.op()) + ");");
  return Status::Ok();
}

Status EmitSoftmax(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  KILN_RETURN_IF_ERROR(RequireF32(node));
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), x->rank()));
  const AxisSplit split = SplitAroundAxis(ctx, x->shape(), axis);
  const char* fn = node.op() == OpKind::kSoftmax ? "Softmax" : "LogSoftmax";
  body.Line("// along axis " + std::to_string(axis) + ": outer, len, inner");
  body.Line(std::string("kiln_cpu::") + fn + "(in0, out0, " + split.outer + ", " + split.len +
            ", " + split.inner + ");");
  return Status::Ok();
}

}  // namespace

void RegisterReduceEmitters() {
  for (OpKind op : ReduceOps()) RegisterEmitter(op, EmitReduce);
  for (OpKind op : {OpKind::kSoftmax, OpKind::kLogSoftmax}) RegisterEmitter(op, EmitSoftmax);
}

}  // namespace kiln::codegen::cpu
