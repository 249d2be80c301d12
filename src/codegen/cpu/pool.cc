// CPU kernel emitters of max_pool2d, avg_pool2d, global_avg_pool2d, global_max_pool2d
// (src/ops/pool.cc) and resize (src/ops/resize.cc): each body fills the kernel's shape struct with
// the node's shapes and attributes and calls runtime_src/kiln_cpu_pool.h. f32 only (integer max
// pools and non-f32 nearest resizes are Unimplemented on the cpu target for now).
#include <cstdio>

#include "codegen/cpu/emit_util.h"
#include "codegen/cpu/families.h"

namespace kiln::codegen::cpu {
namespace {

struct Axes {
  int c, h, w;
};
Axes AxesOf(const Node& node) {
  return node.GetEnum("layout") == "nhwc" ? Axes{3, 1, 2} : Axes{1, 2, 3};
}

std::string Int(int64_t v) { return std::to_string(v); }

// A double literal that reads back exactly.
std::string DoubleLiteral(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

Status EmitWindowPool(const KernelContext& ctx, CodeWriter& w, bool is_max) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(RequireF32(node));
  const Axes ax = AxesOf(node);
  const Shape& x = node.input(0)->shape();
  const Shape& y = node.output()->shape();
  const std::vector<int64_t>& k = node.GetInts("kernel");
  const std::vector<int64_t>& s = node.GetInts("stride");
  const std::vector<int64_t>& p = node.GetInts("pad");
  const std::vector<int64_t>& d = node.GetInts("dilation");
  w.Line("kiln_cpu::PoolShape s;");
  w.Line("s.n = " + ctx.Dim(x[0]) + "; s.c = " + ctx.Dim(x[ax.c]) + "; s.h = " + ctx.Dim(x[ax.h]) +
         "; s.w = " + ctx.Dim(x[ax.w]) + "; s.oh = " + ctx.Dim(y[ax.h]) +
         "; s.ow = " + ctx.Dim(y[ax.w]) + ";");
  w.Line("s.kh = " + Int(k[0]) + "; s.kw = " + Int(k[1]) + "; s.sh = " + Int(s[0]) +
         "; s.sw = " + Int(s[1]) + ";  // kernel, stride");
  w.Line("s.pt = " + Int(p[0]) + "; s.pl = " + Int(p[1]) + "; s.pb = " + Int(p[2]) +
         "; s.pr = " + Int(p[3]) + ";  // pads");
  w.Line("s.dh = " + Int(d[0]) + "; s.dw = " + Int(d[1]) +
         "; s.nhwc = " + (ax.c == 3 ? "true" : "false") + ";");
  if (is_max) {
    w.Line("kiln_cpu::MaxPool2d(s, in0, out0);");
  } else {
    w.Line(std::string("kiln_cpu::AvgPool2d(s, /*count_include_pad=*/") +
           (node.GetBool("count_include_pad") ? "true" : "false") + ", in0, out0);");
  }
  return Status::Ok();
}

Status EmitGlobalPool(const KernelContext& ctx, CodeWriter& w, bool is_max) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(RequireF32(node));
  const Axes ax = AxesOf(node);
  const Shape& x = node.input(0)->shape();
  w.Line(std::string("kiln_cpu::") + (is_max ? "GlobalMaxPool2d(" : "GlobalAvgPool2d(") +
         ctx.Dim(x[0]) + ", " + ctx.Dim(x[ax.c]) + ", " + ctx.Product(x, ax.h, ax.w + 1) +
         ", /*nhwc=*/" + (ax.c == 3 ? "true" : "false") + ", in0, out0);");
  return Status::Ok();
}

Status EmitResize(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(RequireF32(node));
  const Axes ax = AxesOf(node);
  const Shape& x = node.input(0)->shape();
  const Shape& y = node.output()->shape();
  // Spatial dims are static (shape inference requires it); the scales are the op's, or out/in.
  const std::vector<double>& scales = node.GetFloats("scales");
  const int64_t h = x[ax.h].value(), wd = x[ax.w].value();
  const int64_t oh = y[ax.h].value(), ow = y[ax.w].value();
  const double sh = scales.empty() ? static_cast<double>(oh) / h : scales[0];
  const double sw = scales.empty() ? static_cast<double>(ow) / wd : scales[1];
  const std::string& coord = node.GetEnum("coordinate_mode");
  const std::string& nearest = node.GetEnum("nearest_mode");
  const std::string coord_enum = coord == "align_corners"        ? "kAlignCorners"
                                 : coord == "asymmetric"         ? "kAsymmetric"
                                 : coord == "pytorch_half_pixel" ? "kPytorchHalfPixel"
                                                                 : "kHalfPixel";
  const std::string nearest_enum = nearest == "floor"               ? "kFloor"
                                   : nearest == "ceil"              ? "kCeil"
                                   : nearest == "round_prefer_ceil" ? "kRoundPreferCeil"
                                                                    : "kRoundPreferFloor";
  w.Line("kiln_cpu::ResizeShape s;");
  w.Line("s.n = " + ctx.Dim(x[0]) + "; s.c = " + ctx.Dim(x[ax.c]) + "; s.h = " + Int(h) +
         "; s.w = " + Int(wd) + "; s.oh = " + Int(oh) + "; s.ow = " + Int(ow) + ";");
  w.Line("s.scale_h = " + DoubleLiteral(sh) + "; s.scale_w = " + DoubleLiteral(sw) + ";");
  w.Line(std::string("s.bilinear = ") + (node.GetEnum("mode") == "bilinear" ? "true" : "false") +
         "; s.nhwc = " + (ax.c == 3 ? "true" : "false") + ";");
  w.Line("s.coord = kiln_cpu::ResizeCoord::" + coord_enum +
         "; s.nearest = kiln_cpu::ResizeNearest::" + nearest_enum + ";");
  w.Line("kiln_cpu::Resize(s, in0, out0);");
  return Status::Ok();
}

Status EmitMaxPool(const KernelContext& ctx, CodeWriter& w) { return EmitWindowPool(ctx, w, true); }
Status EmitAvgPool(const KernelContext& ctx, CodeWriter& w) {
  return EmitWindowPool(ctx, w, false);
}
Status EmitGlobalAvg(const KernelContext& ctx, CodeWriter& w) {
  return EmitGlobalPool(ctx, w, false);
}
Status EmitGlobalMax(const KernelContext& ctx, CodeWriter& w) {
  return EmitGlobalPool(ctx, w, true);
}

}  // namespace

void RegisterPoolEmitters() {
  RegisterEmitter(OpKind::kMaxPool2d, EmitMaxPool);
  RegisterEmitter(OpKind::kAvgPool2d, EmitAvgPool);
  RegisterEmitter(OpKind::kGlobalAvgPool2d, EmitGlobalAvg);
  RegisterEmitter(OpKind::kGlobalMaxPool2d, EmitGlobalMax);
  RegisterEmitter(OpKind::kResize, EmitResize);
}

}  // namespace kiln::codegen::cpu
