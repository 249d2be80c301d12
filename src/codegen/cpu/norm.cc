// CPU kernel emitters: the norm family (layer_norm, rms_norm, group_norm, batch_norm). Each body
// is one call of a kiln_cpu_norm.h kernel with the node's sizes (symbolic ones as sym_ products)
// and attributes baked in. f32 only: the kernels compute in f32 and the CPU target has no f16/bf16
// arithmetic yet.
#include <string>

#include "codegen/cpu/emit_util.h"
#include "codegen/cpu/families.h"
#include "ops/op_util.h"

namespace kiln::codegen::cpu {
namespace {

// Operand i, or nullptr when the node has fewer operands (optional weight/bias).
std::string OptionalIn(const Node& node, int i) {
  return i < node.num_inputs() ? KernelContext::In(i) : "nullptr";
}

// layer_norm / rms_norm: normalise each row of [prod(shape[:axis]), prod(shape[axis:])].
Status EmitTrailingNorm(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(RequireF32(node));
  const Shape& shape = node.input(0)->shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), rank));
  const std::string rows = ctx.Product(shape, 0, axis);
  const std::string cols = ctx.Product(shape, axis, rank);
  const std::string eps = FloatLiteralExpr(node.GetFloat("eps"));
  if (node.op() == OpKind::kLayerNorm) {
    body.Line("// layer_norm over the last " + std::to_string(rank - axis) + " axes: rows x cols");
    body.Line("kiln_cpu::LayerNorm(in0, " + OptionalIn(node, 1) + ", " + OptionalIn(node, 2) +
              ", out0, " + rows + ", " + cols + ", " + eps + ");");
  } else {
    body.Line("// rms_norm over the last " + std::to_string(rank - axis) + " axes: rows x cols");
    body.Line("kiln_cpu::RmsNorm(in0, " + OptionalIn(node, 1) + ", out0, " + rows + ", " + cols +
              ", " + eps + ");");
  }
  return Status::Ok();
}

// group_norm: x is [N, C, spatial...] (nchw) or [N, spatial..., C] (nhwc).
Status EmitGroupNorm(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(RequireF32(node));
  const Shape& shape = node.input(0)->shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  const bool nhwc = node.GetEnum("layout") == "nhwc";
  const int64_t c_axis = nhwc ? rank - 1 : 1;
  const std::string spatial = nhwc ? ctx.Product(shape, 1, rank - 1) : ctx.Product(shape, 2, rank);
  body.Line(std::string("// group_norm, ") + (nhwc ? "nhwc" : "nchw") +
            ": batch, channels, spatial, groups");
  body.Line("kiln_cpu::GroupNorm(in0, in1, in2, out0, " + ctx.Dim(shape[0]) + ", " +
            ctx.Dim(shape[c_axis]) + ", " + spatial + ", " + std::to_string(node.GetInt("groups")) +
            ", " + (nhwc ? "true" : "false") + ", " + FloatLiteralExpr(node.GetFloat("eps")) +
            ");");
  return Status::Ok();
}

// batch_norm: x viewed as [outer, channels, inner] around the channel axis.
Status EmitBatchNorm(const KernelContext& ctx, CodeWriter& body) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(RequireF32(node));
  const Shape& shape = node.input(0)->shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), rank));
  body.Line("// batch_norm (inference) along axis " + std::to_string(axis) +
            ": outer, channels, inner");
  body.Line("kiln_cpu::BatchNorm(in0, in1, in2, in3, in4, out0, " + ctx.Product(shape, 0, axis) +
            ", " + ctx.Dim(shape[axis]) + ", " + ctx.Product(shape, axis + 1, rank) + ", " +
            FloatLiteralExpr(node.GetFloat("eps")) + ");");
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
