// CUDA kernel emitters: the norm family. layer_norm / rms_norm normalise rows of
// [prod(shape[:axis]), prod(shape[axis:])]; group_norm views x as [batch, channels, spatial]
// (nchw) or [batch, spatial, channels] (nhwc). Kernels in runtime_src/kiln_cuda_norm.cuh; f32,
// f16 and bf16 (parameters share x's dtype), statistics in f32. batch_norm (inference; usually
// folded into the conv before it by fold-batch-norm) is one elementwise pass around its axis.
#include <string>

#include "codegen/cuda/emit_util.h"
#include "codegen/cuda/families.h"
#include "codegen/norm_plan.h"

namespace kiln::codegen::cuda {
namespace {

Status EmitTrailingNorm(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  KILN_ASSIGN_OR_RETURN(std::string traits, FloatTraits(node, x));
  KILN_ASSIGN_OR_RETURN(TrailingNormPlan p, PlanTrailingNorm(ctx));
  const bool rms = node.op() == OpKind::kRmsNorm;
  w.Line("// " + std::string(node.op_name()) + " of " + x->type().ToString() + " over its last " +
         std::to_string(p.num_axes) + " axes: rows x cols");
  w.Line("const int64_t rows = " + p.rows + ", cols = " + p.cols + ";");
  w.Line("kiln_cuda::TrailingNorm<" + traits + ", " + (rms ? "true" : "false") + ">(in0, " +
         OptionalIn(node, 1) + ", " + (rms ? std::string("nullptr") : OptionalIn(node, 2)) +
         ", out0, rows, cols, " + p.eps + ", stream);");
  return Status::Ok();
}

Status EmitGroupNorm(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  KILN_ASSIGN_OR_RETURN(std::string traits, FloatTraits(node, x));
  const GroupNormPlan p = PlanGroupNorm(ctx);
  w.Line("// group_norm of " + x->type().ToString() + " (" + (p.nhwc ? "nhwc" : "nchw") +
         "): batch, channels, spatial, groups");
  w.Line("const int64_t batch = " + p.batch + ", channels = " + p.channels +
         ", spatial = " + p.spatial + ", groups = " + p.groups + ";");
  w.Line("kiln_cuda::GroupNorm<" + traits + ", " + (p.nhwc ? "true" : "false") +
         ">(in0, in1, in2, out0, batch, channels, spatial, groups, " + p.eps + ", stream);");
  return Status::Ok();
}

Status EmitBatchNorm(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  KILN_ASSIGN_OR_RETURN(std::string traits, FloatTraits(node, x));
  for (int i = 1; i < 5; ++i) {
    if (node.input(i)->dtype() != x->dtype()) {
      return CudaUnimplemented(node, "batch_norm parameters of another dtype than x (%" +
                                         node.input(i)->name() + ": " + node.input(i)->type().ToString() + ")");
    }
  }
  KILN_ASSIGN_OR_RETURN(BatchNormPlan p, PlanBatchNorm(ctx));
  w.Line("// batch_norm (inference) of " + x->type().ToString() + " along axis " + std::to_string(p.axis) +
         ": outer, channels, inner");
  w.Line("kiln_cuda::BatchNorm<" + traits + ">(in0, in1, in2, in3, in4, out0, " + p.outer + ", " + p.channels +
         ", " + p.inner + ", " + p.eps + ", stream);");
  return Status::Ok();
}

}  // namespace

void RegisterNormEmitters() {
  RegisterEmitter(OpKind::kLayerNorm, EmitTrailingNorm);
  RegisterEmitter(OpKind::kRmsNorm, EmitTrailingNorm);
  RegisterEmitter(OpKind::kGroupNorm, EmitGroupNorm);
  RegisterEmitter(OpKind::kBatchNorm, EmitBatchNorm);
}

}  // namespace kiln::codegen::cuda
