// The target-independent half of the reduce-family emitters (see reduce_plan.h).
#include "codegen/reduce_plan.h"

#include "ops/op_util.h"

namespace kiln::codegen {

const std::vector<OpKind>& ReduceOps() {
  static const std::vector<OpKind> ops = {OpKind::kReduceSum, OpKind::kReduceMean,
                                          OpKind::kReduceMax, OpKind::kReduceMin,
                                          OpKind::kReduceProd};
  return ops;
}

const char* ReductionEnumerator(OpKind op) {
  switch (op) {
    case OpKind::kReduceSum:
      return "kSum";
    case OpKind::kReduceMean:
      return "kMean";
    case OpKind::kReduceMax:
      return "kMax";
    case OpKind::kReduceMin:
      return "kMin";
    default:
      return "kProd";
  }
}

StatusOr<ReducePlan> PlanReduce(const KernelContext& ctx) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  const int64_t rank = x->rank();
  std::vector<bool> mask(rank, node.GetInts("axes").empty());
  for (int64_t axis : node.GetInts("axes")) {
    KILN_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(node, axis, rank));
    mask[a] = true;
  }
  ReducePlan plan;
  for (const Dim& d : x->shape()) plan.dims.push_back(ctx.Dim(d));
  for (int64_t a = 0; a < rank; ++a) plan.reduced.push_back(mask[a] ? "1" : "0");
  if (rank == 0) {  // a scalar reduces to itself: one kept axis of size 1
    plan.dims.push_back("1");
    plan.reduced.push_back("0");
  }
  return plan;
}

AxisSplit SplitAroundAxis(const KernelContext& ctx, const Shape& shape, int64_t axis) {
  return AxisSplit{
      .outer = ctx.Product(shape, 0, axis),
      .len = ctx.Dim(shape[axis]),
      .inner = ctx.Product(shape, axis + 1, static_cast<int64_t>(shape.size())),
  };
}

}  // namespace kiln::codegen
