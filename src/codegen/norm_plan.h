// The target-independent half of the norm-family emitters (src/codegen/{cpu,cuda}/norm.cc): the
// sizes of layer_norm / rms_norm rows and of group_norm's [batch, channels, spatial] view, as C++
// expressions, with the node's eps as a float literal.
#ifndef KILN_CODEGEN_NORM_PLAN_H_
#define KILN_CODEGEN_NORM_PLAN_H_

#include <cstdint>
#include <string>

#include "codegen/kernel_context.h"
#include "kiln/status.h"

namespace kiln::codegen {

/// Operand i of `node` ("in2"), or "nullptr" when the node has fewer operands (an optional weight
/// or bias).
std::string OptionalIn(const Node& node, int i);

/// layer_norm / rms_norm: operand 0 normalised over its last `rank - axis` axes, as rows x cols.
struct TrailingNormPlan {
  int64_t num_axes;  ///< how many trailing axes form a row
  std::string rows, cols, eps;
};

/// Plans the layer_norm / rms_norm node of `ctx` (attributes axis, eps). Errors: axis out of range.
StatusOr<TrailingNormPlan> PlanTrailingNorm(const KernelContext& ctx);

/// group_norm: operand 0 is [N, C, spatial...] (nchw) or [N, spatial..., C] (nhwc).
struct GroupNormPlan {
  bool nhwc;
  std::string batch, channels, spatial, groups, eps;
};

/// Plans the group_norm node of `ctx` (attributes layout, groups, eps).
GroupNormPlan PlanGroupNorm(const KernelContext& ctx);

/// batch_norm (inference): operand 0 viewed as [outer, channels, inner] around its channel axis.
struct BatchNormPlan {
  int64_t axis;  ///< the channel axis, normalised
  std::string outer, channels, inner, eps;
};

/// Plans the batch_norm node of `ctx` (attributes axis, eps). Errors: axis out of range.
StatusOr<BatchNormPlan> PlanBatchNorm(const KernelContext& ctx);

}  // namespace kiln::codegen

#endif  // KILN_CODEGEN_NORM_PLAN_H_
