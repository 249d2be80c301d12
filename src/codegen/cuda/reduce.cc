// CUDA kernel emitters: the reduce family. softmax / log_softmax view the operand as
// [outer, len, inner] around their axis; reduce_sum/mean/max/min/prod pass the operand's dims and
// a 0/1 mask of reduced axes, which kiln_cuda::Reduce coalesces at run time (so symbolic dims
// work) into contiguous rows or an [outer, reduced, inner]-style strided walk
// (runtime_src/kiln_cuda_reduce.cuh). f32, f16 and bf16, accumulating in f32.
#include <string>
#include <vector>

#include "codegen/cuda/emit_util.h"
#include "codegen/cuda/families.h"
#include "ops/op_util.h"

namespace kiln::codegen::cuda {
namespace {

const char* ReductionName(OpKind op) {
  switch (op) {
    case OpKind::kReduceSum:
      return "kiln_cuda::Reduction::kSum";
    case OpKind::kReduceMean:
      return "kiln_cuda::Reduction::kMean";
    case OpKind::kReduceMax:
      return "kiln_cuda::Reduction::kMax";
    case OpKind::kReduceMin:
      return "kiln_cuda::Reduction::kMin";
    default:
      return "kiln_cuda::Reduction::kProd";
  }
}

Status EmitReduce(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  KILN_ASSIGN_OR_RETURN(std::string traits, FloatTraits(node, x));
  const int64_t rank = x->rank();
  if (rank > 16)
    return CudaUnimplemented(node, "an operand of rank " + std::to_string(rank) + " (at most 16)");
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
  w.Line("// " + std::string(node.op_name()) + " of " + x->type().ToString() +
         " (dims coalesced at run time)");
  IntArray(w, "dims", dims);
  std::string list;
  for (size_t i = 0; i < reduced.size(); ++i) list += (i ? ", " : "") + reduced[i];
  w.Line("const uint8_t reduced[] = {" + list + "};  // 1: the axis is reduced");
  w.Line("kiln_cuda::Reduce<" + traits + ", " + ReductionName(node.op()) +
         ">(in0, out0, dims, reduced, " + std::to_string(dims.size()) + ", stream);");
  return Status::Ok();
}

Status EmitSoftmax(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  KILN_ASSIGN_OR_RETURN(std::string traits, FloatTraits(node, x));
  const int64_t rank = x->rank();
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), rank));
  const Shape& s = x->shape();
  const bool log = node.op() == OpKind::kLogSoftmax;
  w.Line("// " + std::string(node.op_name()) + " along axis " + std::to_string(axis) + " of " +
         x->type().ToString() + ": x viewed as [outer, len, inner]");
  w.Line("const int64_t outer = " + ctx.Product(s, 0, axis) + ", len = " + ctx.Dim(s[axis]) +
         ", inner = " + ctx.Product(s, axis + 1, rank) + ";");
  w.Line(std::string("kiln_cuda::Softmax<") + traits + ", " + (log ? "true" : "false") +
         ">(in0, out0, outer, len, inner, stream);");
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

}  // namespace kiln::codegen::cuda
