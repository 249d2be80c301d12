// CUDA kernel emitters: the norm family. layer_norm / rms_norm normalise rows of
// [prod(shape[:axis]), prod(shape[axis:])]; group_norm views x as [batch, channels, spatial]
// (nchw) or [batch, spatial, channels] (nhwc). Kernels in runtime_src/kiln_cuda_norm.cuh; f32,
// f16 and bf16 (parameters share x's dtype), statistics in f32. batch_norm is not emitted yet.
#include <string>

#include "codegen/cuda/emit_util.h"
#include "codegen/cuda/families.h"
#include "ops/op_util.h"

namespace kiln::codegen::cuda {
namespace {

// Operand i, or nullptr when the node has fewer operands (optional weight/bias).
std::string OptionalIn(const Node& node, int i) {
  return i < node.num_inputs() ? KernelContext::In(i) : "nullptr";
}

Status EmitTrailingNorm(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  KILN_ASSIGN_OR_RETURN(std::string traits, FloatTraits(node, x));
  const Shape& shape = x->shape();
  const int64_t rank = x->rank();
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), rank));
  const bool rms = node.op() == OpKind::kRmsNorm;
  w.Line("// " + std::string(node.op_name()) + " of " + x->type().ToString() + " over its last " +
         std::to_string(rank - axis) + " axes: rows x cols");
  w.Line("const int64_t rows = " + ctx.Product(shape, 0, axis) +
         ", cols = " + ctx.Product(shape, axis, rank) + ";");
  w.Line("kiln_cuda::TrailingNorm<" + traits + ", " + (rms ? "true" : "false") + ">(in0, " +
         OptionalIn(node, 1) + ", " + (rms ? std::string("nullptr") : OptionalIn(node, 2)) +
         ", out0, rows, cols, " + FloatLiteralExpr(node.GetFloat("eps")) + ", stream);");
  return Status::Ok();
}

Status EmitGroupNorm(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const Value* x = node.input(0);
  KILN_ASSIGN_OR_RETURN(std::string traits, FloatTraits(node, x));
  const Shape& shape = x->shape();
  const int64_t rank = x->rank();
  const bool nhwc = node.GetEnum("layout") == "nhwc";
  const int64_t c_axis = nhwc ? rank - 1 : 1;
  const std::string spatial = nhwc ? ctx.Product(shape, 1, rank - 1) : ctx.Product(shape, 2, rank);
  w.Line("// group_norm of " + x->type().ToString() + " (" + (nhwc ? "nhwc" : "nchw") +
         "): batch, channels, spatial, groups");
  w.Line("const int64_t batch = " + ctx.Dim(shape[0]) + ", channels = " + ctx.Dim(shape[c_axis]) +
         ", spatial = " + spatial + ", groups = " + std::to_string(node.GetInt("groups")) + ";");
  w.Line("kiln_cuda::GroupNorm<" + traits + ", " + (nhwc ? "true" : "false") +
         ">(in0, in1, in2, out0, batch, channels, spatial, groups, " +
         FloatLiteralExpr(node.GetFloat("eps")) + ", stream);");
  return Status::Ok();
}

}  // namespace

void RegisterNormEmitters() {
  RegisterEmitter(OpKind::kLayerNorm, EmitTrailingNorm);
  RegisterEmitter(OpKind::kRmsNorm, EmitTrailingNorm);
  RegisterEmitter(OpKind::kGroupNorm, EmitGroupNorm);
}

}  // namespace kiln::codegen::cuda
