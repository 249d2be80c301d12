// The target-independent half of the norm-family emitters (see norm_plan.h).
#include "codegen/norm_plan.h"

#include "codegen/reduce_plan.h"
#include "ops/op_util.h"

namespace kiln::codegen {

std::string OptionalIn(const Node& node, int i) {
  return i < node.num_inputs() ? KernelContext::In(i) : "nullptr";
}

StatusOr<TrailingNormPlan> PlanTrailingNorm(const KernelContext& ctx) {
  const Node& node = ctx.node();
  const Shape& shape = node.input(0)->shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), rank));
  return TrailingNormPlan{
      .num_axes = rank - axis,
      .rows = ctx.Product(shape, 0, axis),
      .cols = ctx.Product(shape, axis, rank),
      .eps = FloatLiteralExpr(node.GetFloat("eps")),
  };
}

GroupNormPlan PlanGroupNorm(const KernelContext& ctx) {
  const Node& node = ctx.node();
  const Shape& shape = node.input(0)->shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  const bool nhwc = node.GetEnum("layout") == "nhwc";
  return GroupNormPlan{
      .nhwc = nhwc,
      .batch = ctx.Dim(shape[0]),
      .channels = ctx.Dim(shape[nhwc ? rank - 1 : 1]),
      .spatial = nhwc ? ctx.Product(shape, 1, rank - 1) : ctx.Product(shape, 2, rank),
      .groups = std::to_string(node.GetInt("groups")),
      .eps = FloatLiteralExpr(node.GetFloat("eps")),
  };
}

StatusOr<BatchNormPlan> PlanBatchNorm(const KernelContext& ctx) {
  const Node& node = ctx.node();
  const Shape& shape = node.input(0)->shape();
  BatchNormPlan p;
  KILN_ASSIGN_OR_RETURN(p.axis, NormalizeAxis(node, node.GetInt("axis"), static_cast<int64_t>(shape.size())));
  const AxisSplit split = SplitAroundAxis(ctx, shape, p.axis);
  p.outer = split.outer;
  p.channels = split.len;
  p.inner = split.inner;
  p.eps = FloatLiteralExpr(node.GetFloat("eps"));
  return p;
}

}  // namespace kiln::codegen
