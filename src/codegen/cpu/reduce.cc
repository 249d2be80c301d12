// CPU kernel emitters: the reduce family (reduce_sum/mean/max/min/prod, softmax, log_softmax).
// Reductions take the operand's dims and a 0/1 mask of reduced axes (kiln_cpu::Reduce coalesces
// them at run time); softmax views the operand as [outer, len, inner] around its axis.
// Reductions support f32, i64 and i32; softmax f32 only.
#include <string>
#include <vector>

#include "codegen/cpu/emit_util.h"
#include "codegen/cpu/families.h"
#include "ops/op_util.h"

namespace kiln::codegen::cpu {
namespace {

const char* ReductionName(OpKind op) {
  switch (op) {
    case OpKind::kReduceSum:
      return "kiln_cpu::Reduction::kSum";
    case OpKind::kReduceMean:
      return "kiln_cpu::Reduction::kMean";
    case OpKind::kReduceMax:
      return "kiln_cpu::Reduction::kMax";
    case OpKind::kReduceMin:
      return "kiln_cpu::Reduction::kMin";
    default:
      return "kiln_cpu::Reduction::kProd";
  }
}

Status EmitReduce(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  const DType dtype = x->dtype();
  if (dtype != DType::kF32 && dtype != DType::kI64 && dtype != DType::kI32) {
    return Unimplemented(node.Describe() + ": dtype " + std::string(DTypeName(dtype)) +
                         " is not supported on the cpu target (" + std::string(node.op_name()) +
                         " supports f32, i64 and i32)");
  }
  const int64_t rank = x->rank();
  std::vector<bool> mask(rank, node.GetInts("axes").empty());
  for (int64_t axis : node.GetInts("axes")) {
    KILN_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(node, axis, rank));
    mask[a] = true;
  }
  std::vector<std::string> dims = DimExprs(ctx, x->shape()), reduced;
  for (int64_t a = 0; a < rank; ++a) reduced.push_back(mask[a] ? "1" : "0");
  if (rank == 0) {  // a scalar reduces to itself: one kept axis of size 1
    dims.push_back("1");
    reduced.push_back("0");
  }
  IntArray(body, "dims", dims);
  body.Line("const uint8_t reduced[] = " + BraceList(reduced) + ";  // 1: axis is reduced");
  body.Line("kiln_cpu::Reduce(in0, out0, dims, reduced, " + std::to_string(dims.size()) + ", " +
            ReductionName(node.op()) + ");");
  return Status::Ok();
}

Status EmitSoftmax(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  KILN_RETURN_IF_ERROR(RequireF32(node));
  const int64_t rank = x->rank();
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), rank));
  const Shape& s = x->shape();
  const char* fn = node.op() == OpKind::kSoftmax ? "Softmax" : "LogSoftmax";
  body.Line("// along axis " + std::to_string(axis) + ": outer, len, inner");
  body.Line(std::string("kiln_cpu::") + fn + "(in0, out0, " + ctx.Product(s, 0, axis) + ", " +
            ctx.Dim(s[axis]) + ", " + ctx.Product(s, axis + 1, rank) + ");");
  return Status::Ok();
}

}  // namespace

void RegisterReduceEmitters() {
  for (OpKind op : {OpKind::kReduceSum, OpKind::kReduceMean, OpKind::kReduceMax, OpKind::kReduceMin,
                    OpKind::kReduceProd}) {
    RegisterEmitter(op, EmitReduce);
  }
  RegisterEmitter(OpKind::kSoftmax, EmitSoftmax);
  RegisterEmitter(OpKind::kLogSoftmax, EmitSoftmax);
}

}  // namespace kiln::codegen::cpu
