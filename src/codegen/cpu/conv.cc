// CPU kernel emitters of conv2d and conv_transpose2d (src/ops/conv.cc): the body fills a
// kiln_cpu::ConvShape with the node's shapes and attributes (only the batch may be symbolic) and
// calls kiln_cpu::Conv2d / ConvTranspose2d (oneDNN's convolution, or im2col / direct loops
// around sgemm, see runtime_src/kiln_cpu_conv.h); the epilogue follows along the channel axis.
#include "codegen/cpu/emit_util.h"
#include "codegen/cpu/epilogue_emit.h"
#include "codegen/cpu/families.h"

namespace kiln::codegen::cpu {
namespace {

Status EmitConv(const KernelContext& ctx, CodeWriter& w, bool transpose) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(RequireF32(node));
  const bool nhwc = node.GetEnum("layout") == "nhwc";
  const int c = nhwc ? 3 : 1, h = nhwc ? 1 : 2, wd = nhwc ? 2 : 3;
  const Shape& x = node.input(0)->shape();
  const Shape& wt = node.input(1)->shape();
  const Shape& y = node.output()->shape();
  const std::vector<int64_t>& stride = node.GetInts("stride");
  const std::vector<int64_t>& pad = node.GetInts("pad");
  const std::vector<int64_t>& dilation = node.GetInts("dilation");
  auto i = [](int64_t v) { return std::to_string(v); };
  w.Line("kiln_cpu::ConvShape s;");
  w.Line("s.n = " + ctx.Dim(x[0]) + "; s.c = " + ctx.Dim(x[c]) + "; s.h = " + ctx.Dim(x[h]) +
         "; s.w = " + ctx.Dim(x[wd]) + ";  // input");
  w.Line("s.o = " + ctx.Dim(y[c]) + "; s.oh = " + ctx.Dim(y[h]) + "; s.ow = " + ctx.Dim(y[wd]) +
         ";  // output");
  w.Line("s.kh = " + ctx.Dim(wt[h]) + "; s.kw = " + ctx.Dim(wt[wd]) + "; s.sh = " + i(stride[0]) +
         "; s.sw = " + i(stride[1]) + ";  // kernel, stride");
  w.Line("s.pt = " + i(pad[0]) + "; s.pl = " + i(pad[1]) + "; s.dh = " + i(dilation[0]) +
         "; s.dw = " + i(dilation[1]) + ";  // leading pads, dilation");
  w.Line("s.groups = " + i(node.GetInt("groups")) + "; s.nhwc = " + (nhwc ? "true" : "false") +
         ";");
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
