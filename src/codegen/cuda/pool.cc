// CUDA kernel emitters: max_pool2d, avg_pool2d (runtime_src/kiln_cuda_pool.cuh: one thread per
// output element) and global_avg_pool2d / global_max_pool2d (a kiln_cuda::Reduce mean / max over
// the spatial axes), and resize (runtime_src/kiln_cuda_resize.cuh). nchw and nhwc; pools and
// bilinear resize take f32, f16 and bf16 computed in f32 (integer max pools are Unimplemented);
// nearest resize moves elements of any dtype.
#include <cstdio>
#include <string>
#include <vector>

#include "codegen/cuda/emit_util.h"
#include "codegen/cuda/families.h"

namespace kiln::codegen::cuda {
namespace {

struct Axes {
  int c, h, w;
};
Axes AxesOf(const Node& node) {
  return node.GetEnum("layout") == "nhwc" ? Axes{3, 1, 2} : Axes{1, 2, 3};
}

std::string Int(int64_t v) { return std::to_string(v); }

Status EmitWindowPool(const KernelContext& ctx, CodeWriter& w, bool is_max) {
  const Node& node = ctx.node();
  const Value* xv = node.input(0);
  KILN_ASSIGN_OR_RETURN(std::string traits, FloatTraits(node, xv));
  const Axes ax = AxesOf(node);
  const Shape& x = xv->shape();
  const Shape& y = node.output()->shape();
  const std::vector<int64_t>& k = node.GetInts("kernel");
  const std::vector<int64_t>& s = node.GetInts("stride");
  const std::vector<int64_t>& p = node.GetInts("pad");
  const std::vector<int64_t>& d = node.GetInts("dilation");
  w.Line("// " + std::string(node.op_name()) + " of " + xv->type().ToString() + " to " +
         node.output()->type().ToString() + ": one thread per output element");
  w.Line("kiln_cuda::PoolShape s;");
  w.Line("s.n = " + ctx.Dim(x[0]) + "; s.c = " + ctx.Dim(x[ax.c]) + "; s.h = " + ctx.Dim(x[ax.h]) +
         "; s.w = " + ctx.Dim(x[ax.w]) + "; s.oh = " + ctx.Dim(y[ax.h]) +
         "; s.ow = " + ctx.Dim(y[ax.w]) + ";");
  w.Line("s.kh = " + Int(k[0]) + "; s.kw = " + Int(k[1]) + "; s.sh = " + Int(s[0]) +
         "; s.sw = " + Int(s[1]) + ";  // kernel, stride");
  w.Line("s.pt = " + Int(p[0]) + "; s.pl = " + Int(p[1]) + "; s.pb = " + Int(p[2]) +
         "; s.pr = " + Int(p[3]) + ";  // pads");
  w.Line("s.dh = " + Int(d[0]) + "; s.dw = " + Int(d[1]) +
         "; s.nhwc = " + (ax.c == 3 ? "true" : "false") + ";  // dilation, layout");
  const bool include_pad = !is_max && node.GetBool("count_include_pad");
  w.Line("kiln_cuda::Pool2d<" + traits + ", " + (is_max ? "true" : "false") +
         ", /*count_include_pad=*/" + (include_pad ? "true" : "false") +
         ">(s, in0, out0, stream);");
  return Status::Ok();
}

Status EmitGlobalPool(const KernelContext& ctx, CodeWriter& w, bool is_max) {
  const Node& node = ctx.node();
  const Value* xv = node.input(0);
  KILN_ASSIGN_OR_RETURN(std::string traits, FloatTraits(node, xv));
  const Axes ax = AxesOf(node);
  std::vector<std::string> dims = DimExprs(ctx, xv->shape());
  w.Line("// " + std::string(node.op_name()) + " of " + xv->type().ToString() + ": a " +
         (is_max ? "max" : "mean") + " over the spatial axes " + Int(ax.h) + " and " + Int(ax.w));
  IntArray(w, "dims", dims);
  std::string mask;
  for (int a = 0; a < 4; ++a)
    mask += std::string(a ? ", " : "") + (a == ax.h || a == ax.w ? "1" : "0");
  w.Line("const uint8_t reduced[] = {" + mask + "};  // 1: the axis is reduced");
  w.Line("kiln_cuda::Reduce<" + traits + ", kiln_cuda::Reduction::" + (is_max ? "kMax" : "kMean") +
         ">(in0, out0, dims, reduced, 4, stream);");
  return Status::Ok();
}

// A double literal that reads back exactly.
std::string DoubleLiteral(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

Status EmitResize(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const Value* xv = node.input(0);
  const bool bilinear = node.GetEnum("mode") == "bilinear";
  std::string traits;
  if (bilinear) {
    KILN_ASSIGN_OR_RETURN(traits, FloatTraits(node, xv));
  }
  const Axes ax = AxesOf(node);
  const Shape& x = xv->shape();
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
  w.Line("// resize (" + std::string(bilinear ? "bilinear" : "nearest") + ", " + coord + ") of " +
         xv->type().ToString() + " to " + node.output()->type().ToString() +
         ": one thread per output element");
  w.Line("kiln_cuda::ResizeShape s;");
  w.Line("s.n = " + ctx.Dim(x[0]) + "; s.c = " + ctx.Dim(x[ax.c]) + "; s.h = " + Int(h) +
         "; s.w = " + Int(wd) + "; s.oh = " + Int(oh) + "; s.ow = " + Int(ow) + ";");
  w.Line("s.scale_h = " + DoubleLiteral(sh) + "; s.scale_w = " + DoubleLiteral(sw) +
         "; s.nhwc = " + (ax.c == 3 ? "true" : "false") + ";");
  w.Line("s.coord = kiln_cuda::ResizeCoordMode::" + coord_enum +
         "; s.nearest = kiln_cuda::ResizeNearestMode::" + nearest_enum + ";");
  if (bilinear) {
    w.Line("kiln_cuda::ResizeBilinear<" + traits + ">(s, in0, out0, stream);");
  } else {
    w.Line("kiln_cuda::ResizeNearest<" + ElemBytes(xv) + ">(s, in0, out0, stream);");
  }
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

}  // namespace kiln::codegen::cuda
