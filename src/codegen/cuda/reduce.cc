// CUDA kernel emitters: the reduce family. softmax / log_softmax view the operand as
// [outer, len, inner] around their axis; reduce_sum/mean/max/min/prod pass the operand's dims and
// a 0/1 mask of reduced axes, which kiln_cuda::Reduce coalesces at run time (so symbolic dims
// work) into contiguous rows or an [outer, reduced, inner]-style strided walk
// (runtime_src/kiln_cuda_reduce.cuh). f32, f16 and bf16, accumulating in f32. arg_max / arg_min
// (any float or integer dtype) view the operand as [outer, len, inner] around their axis.
#include <string>

#include "codegen/cuda/emit_util.h"
#include "codegen/cuda/families.h"
#include "codegen/reduce_plan.h"
#include "ops/op_util.h"

namespace kiln::codegen::cuda {
namespace {

Status EmitReduce(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  KILN_ASSIGN_OR_RETURN(std::string traits, FloatTraits(node, x));
  if (x->rank() > 16) {
    return CudaUnimplemented(node,
                             "an operand of rank " + std::to_string(x->rank()) + " (at most 16)");
  }
  KILN_ASSIGN_OR_RETURN(ReducePlan plan, PlanReduce(ctx));
  w.Line("// " + std::string(node.op_name()) + " of " + x->type().ToString() +
         " (dims coalesced at run time)");
  IntArray(w, "dims", plan.dims);
  w.Line("const uint8_t reduced[] = " + BraceList(plan.reduced) + ";  // 1: the axis is reduced");
  w.Line("kiln_cuda::Reduce<" + traits +
         ", kiln_cuda::Reduction::" + ReductionEnumerator(node.op()) +
         ">(in0, out0, dims, reduced, " + std::to_string(plan.dims.size()) + ", stream);");
  return Status::Ok();
}

Status EmitSoftmax(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  KILN_ASSIGN_OR_RETURN(std::string traits, FloatTraits(node, x));
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), x->rank()));
  const AxisSplit split = SplitAroundAxis(ctx, x->shape(), axis);
  const bool log = node.op() == OpKind::kLogSoftmax;
  w.Line("// " + std::string(node.op_name()) + " along axis " + std::to_string(axis) + " of " +
         x->type().ToString() + ": x viewed as [outer, len, inner]");
  w.Line("const int64_t outer = " + split.outer + ", len = " + split.len +
         ", inner = " + split.inner + ";");
  w.Line(std::string("kiln_cuda::Softmax<") + traits + ", " + (log ? "true" : "false") +
         ">(in0, out0, outer, len, inner, stream);");
  return Status::Ok();
}

Status EmitArgReduce(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  std::string key;
  if (IsInteger(x->dtype())) {
    key = "kiln_cuda::IntKey<" + CpuStorageType(x->dtype()) + ">";
  } else {
    KILN_ASSIGN_OR_RETURN(key, FloatTraits(node, x));
  }
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), x->rank()));
  const AxisSplit split = SplitAroundAxis(ctx, x->shape(), axis);
  const bool is_max = node.op() == OpKind::kArgMax;
  w.Line("// " + std::string(node.op_name()) + " along axis " + std::to_string(axis) + " of " +
         x->type().ToString() + ": x viewed as [outer, len, inner], " +
         (node.GetBool("select_last_index") ? "the last" : "the first") + " index of ties");
  w.Line("const int64_t outer = " + split.outer + ", len = " + split.len +
         ", inner = " + split.inner + ";");
  w.Line("kiln_cuda::ArgReduce<" + key + ">(in0, out0, outer, len, inner, " +
         (is_max ? "true" : "false") + ", " +
         (node.GetBool("select_last_index") ? "true" : "false") + ", stream);");
  return Status::Ok();
}

}  // namespace

void RegisterReduceEmitters() {
  for (OpKind op : ReduceOps()) RegisterEmitter(op, EmitReduce);
  for (OpKind op : {OpKind::kSoftmax, OpKind::kLogSoftmax}) RegisterEmitter(op, EmitSoftmax);
  for (OpKind op : {OpKind::kArgMax, OpKind::kArgMin}) RegisterEmitter(op, EmitArgReduce);
}

}  // namespace kiln::codegen::cuda
