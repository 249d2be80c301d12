// The target-independent half of the pooling and resize emitters (see pool_plan.h).
#include "codegen/pool_plan.h"

#include <cstdio>
#include <vector>

namespace kiln::codegen {
namespace {

std::string Int(int64_t v) { return std::to_string(v); }

// A double literal that reads back exactly.
std::string DoubleLiteral(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

}  // namespace

ImageAxes ImageAxesOf(const Node& node) {
  return node.GetEnum("layout") == "nhwc" ? ImageAxes{3, 1, 2} : ImageAxes{1, 2, 3};
}

void WritePoolShapeFields(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const ImageAxes ax = ImageAxesOf(node);
  const Shape& x = node.input(0)->shape();
  const Shape& y = node.output()->shape();
  const std::vector<int64_t>& k = node.GetInts("kernel");
  const std::vector<int64_t>& s = node.GetInts("stride");
  const std::vector<int64_t>& p = node.GetInts("pad");
  const std::vector<int64_t>& d = node.GetInts("dilation");
  w.Line("s.n = " + ctx.Dim(x[0]) + "; s.c = " + ctx.Dim(x[ax.c]) + "; s.h = " + ctx.Dim(x[ax.h]) +
         "; s.w = " + ctx.Dim(x[ax.w]) + "; s.oh = " + ctx.Dim(y[ax.h]) +
         "; s.ow = " + ctx.Dim(y[ax.w]) + ";");
  w.Line("s.kh = " + Int(k[0]) + "; s.kw = " + Int(k[1]) + "; s.sh = " + Int(s[0]) +
         "; s.sw = " + Int(s[1]) + ";  // kernel, stride");
  w.Line("s.pt = " + Int(p[0]) + "; s.pl = " + Int(p[1]) + "; s.pb = " + Int(p[2]) +
         "; s.pr = " + Int(p[3]) + ";  // pads");
  w.Line("s.dh = " + Int(d[0]) + "; s.dw = " + Int(d[1]) +
         "; s.nhwc = " + (ax.nhwc() ? "true" : "false") + ";  // dilation, layout");
}

void WriteConvShapeFields(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const ImageAxes ax = ImageAxesOf(node);
  const Shape& x = node.input(0)->shape();
  const Shape& wt = node.input(1)->shape();
  const Shape& y = node.output()->shape();
  const std::vector<int64_t>& stride = node.GetInts("stride");
  const std::vector<int64_t>& pad = node.GetInts("pad");
  const std::vector<int64_t>& dilation = node.GetInts("dilation");
  w.Line("s.n = " + ctx.Dim(x[0]) + "; s.c = " + ctx.Dim(x[ax.c]) + "; s.h = " + ctx.Dim(x[ax.h]) +
         "; s.w = " + ctx.Dim(x[ax.w]) + ";  // input");
  w.Line("s.o = " + ctx.Dim(y[ax.c]) + "; s.oh = " + ctx.Dim(y[ax.h]) + "; s.ow = " + ctx.Dim(y[ax.w]) +
         ";  // output");
  w.Line("s.kh = " + ctx.Dim(wt[ax.h]) + "; s.kw = " + ctx.Dim(wt[ax.w]) + "; s.sh = " + Int(stride[0]) +
         "; s.sw = " + Int(stride[1]) + ";  // kernel, stride");
  w.Line("s.pt = " + Int(pad[0]) + "; s.pl = " + Int(pad[1]) + "; s.dh = " + Int(dilation[0]) +
         "; s.dw = " + Int(dilation[1]) + ";  // leading pads, dilation");
  w.Line("s.groups = " + Int(node.GetInt("groups")) + "; s.nhwc = " + (ax.nhwc() ? "true" : "false") +
         ";");
}

void WriteResizeShapeFields(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const ImageAxes ax = ImageAxesOf(node);
  const Shape& x = node.input(0)->shape();
  const Shape& y = node.output()->shape();
  const std::vector<double>& scales = node.GetFloats("scales");
  const int64_t h = x[ax.h].value(), wd = x[ax.w].value();
  const int64_t oh = y[ax.h].value(), ow = y[ax.w].value();
  const double sh = scales.empty() ? static_cast<double>(oh) / h : scales[0];
  const double sw = scales.empty() ? static_cast<double>(ow) / wd : scales[1];
  w.Line("s.n = " + ctx.Dim(x[0]) + "; s.c = " + ctx.Dim(x[ax.c]) + "; s.h = " + Int(h) +
         "; s.w = " + Int(wd) + "; s.oh = " + Int(oh) + "; s.ow = " + Int(ow) + ";");
  w.Line("s.scale_h = " + DoubleLiteral(sh) + "; s.scale_w = " + DoubleLiteral(sw) +
         "; s.nhwc = " + (ax.nhwc() ? "true" : "false") + ";");
}

ResizeModeEnumerators ResizeModesOf(const Node& node) {
  const std::string& coord = node.GetEnum("coordinate_mode");
  const std::string& nearest = node.GetEnum("nearest_mode");
  return ResizeModeEnumerators{
      .coord = coord == "align_corners"        ? "kAlignCorners"
               : coord == "asymmetric"         ? "kAsymmetric"
               : coord == "pytorch_half_pixel" ? "kPytorchHalfPixel"
                                               : "kHalfPixel",
      .nearest = nearest == "floor"               ? "kFloor"
                 : nearest == "ceil"              ? "kCeil"
                 : nearest == "round_prefer_ceil" ? "kRoundPreferCeil"
                                                  : "kRoundPreferFloor",
  };
}

}  // namespace kiln::codegen
