// CPU kernel emitters of conv2d and conv_transpose2d (src/ops/conv.cc): the body fills a
// kiln_cpu::ConvShape with the node's shapes and attributes (only the batch may be symbolic) and
// calls kiln_cpu::Conv2d / ConvTranspose2d (oneDNN's convolution, or im2col / direct loops
// around sgemm, see runtime_src/kiln_cpu_conv.h); the epilogue follows along the channel axis.
#include "codegen/cpu/emit_util.h"
#include "codegen/cpu/epilogue_emit.h"
#include "codegen/cpu/families.h"
#include "codegen/pool_plan.h"

namespace kiln::codegen::cpu {
namespace {

Status EmitConv(const KernelContext& ctx, CodeWriter& w, bool transpose) {
  const Node& node = ctx.node();
  if (!transpose && !node.GetInts("max_pool").empty()) {
    return Unimplemented(node.Describe() +
                         ": the max_pool attribute (a max pool fused into the conv) is implemented "
                         "only by the cuda-sm90 few-channel kernel; on the cpu target keep "
                         "max_pool2d as its own node");
  }
  KILN_RETURN_IF_ERROR(RequireF32(node));
  const int c = node.GetEnum("layout") == "nhwc" ? 3 : 1;
  w.Line("kiln_cpu::ConvShape s;");
  WriteConvShapeFields(ctx, w);
  const Node* wp = node.input(1)->producer();
  const bool const_weights =
      wp != nullptr && (wp->op() == OpKind::kWeight || wp->op() == OpKind::kConstant);
  if (const_weights) w.Line("s.const_weights = true;  // a weight: oneDNN caches it repacked");
  w.Line(std::string("kiln_cpu::") + (transpose ? "ConvTranspose2d" : "Conv2d") +
         "(s, in0, in1, out0);");
  return EmitEpilogue(ctx, w, c);
}

Status EmitConv2d(const KernelContext& ctx, CodeWriter& w) { return EmitConv(ctx, w, false); }
Status EmitConvTranspose2d(const KernelContext& ctx, CodeWriter& w) {
  return EmitConv(ctx, w, true);
}

}  // namespace

void RegisterConvEmitters() {
  RegisterEmitter(OpKind::kConv2d, EmitConv2d);
  RegisterEmitter(OpKind::kConvTranspose2d, EmitConvTranspose2d);
}

}  // namespace kiln::codegen::cpu
