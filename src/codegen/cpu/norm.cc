// CPU kernel emitters: the norm family (layer_norm, rms_norm, group_norm, batch_norm). Each body
// is one call of a kiln_cpu_norm.h kernel with the node's sizes (symbolic ones as sym_ products)
// and attributes baked in. f32 only: the kernels compute in f32 and the CPU target has no f16/bf16
// arithmetic yet.
#include <string>

#include "codegen/cpu/emit_util.h"
#include "codegen/cpu/families.h"
#include "codegen/norm_plan.h"

namespace kiln::codegen::cpu {
namespace {

// layer_norm / rms_norm: normalise each row of [prod(shape[:axis]), prod(shape[axis:])].
Status EmitTrailingNorm(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(RequireF32(node));
  KILN_ASSIGN_OR_RETURN(TrailingNormPlan p, PlanTrailingNorm(ctx));
  const std::string axes = std::to_string(p.num_axes);
  if (node.op() == OpKind::kLayerNorm) {
    body.Line("// layer_norm over the last " + axes + " axes: rows x cols");
    body.Line("kiln_cpu::LayerNorm(in0, " + OptionalIn(node, 1) + ", " + OptionalIn(node, 2) +
              ", out0, " + p.rows + ", " + p.cols + ", " + p.eps + ");");
  } else {
    body.Line("// rms_norm over the last " + axes + " axes: rows x cols");
    body.Line("kiln_cpu::RmsNorm(in0, " + OptionalIn(node, 1) + ", out0, " + p.rows + ", " +
              p.cols + ", " + p.eps + ");");
  }
  return Status::Ok();
}

// group_norm: x is [N, C, spatial...] (nchw) or [N, spatial..., C] (nhwc).
Status EmitGroupNorm(const KernelContext& ctx, CodeWriter& body) {
  KILN_RETURN_IF_ERROR(RequireF32(ctx.node()));
  const GroupNormPlan p = PlanGroupNorm(ctx);
  body.Line(std::string("// group_norm, ") + (p.nhwc ? "nhwc" : "nchw") +
            ": batch, channels, spatial, groups");
  body.Line("kiln_cpu::GroupNorm(in0, in1, in2, out0, " + p.batch + ", " + p.channels + ", " +
            p.spatial + ", " + p.groups + ", " + (p.nhwc ? "true" : "false") + ", " + p.eps + ");");
  return Status::Ok();
}

// batch_norm: x viewed as [outer, channels, inner] around the channel axis.
Status EmitBatchNorm(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(RequireF32(node));
  KILN_ASSIGN_OR_RETURN(BatchNormPlan p, PlanBatchNorm(ctx));
  body.Line("// batch_norm (inference) along axis " + std::to_string(p.axis) +
            ": outer, channels, inner");
  body.Line("kiln_cpu::BatchNorm(in0, in1, in2, in3, in4, out0, " + p.outer + ", " + p.channels +
            ", " + p.inner + ", " + p.eps + ");");
  return Status::Ok();
}

}  // namespace

void RegisterNormEmitters() {
  RegisterEmitter(OpKind::kLayerNorm, EmitTrailingNorm);
  RegisterEmitter(OpKind::kRmsNorm, EmitTrailingNorm);
  RegisterEmitter(OpKind::kGroupNorm, EmitGroupNorm);
  RegisterEmitter(OpKind::kBatchNorm, EmitBatchNorm);
}

}  // namespace kiln::codegen::cpu
