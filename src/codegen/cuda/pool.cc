// CUDA kernel emitters: max_pool2d, avg_pool2d (runtime_src/kiln_cuda_pool.cuh: one thread per
// output element) and global_avg_pool2d / global_max_pool2d (a kiln_cuda::Reduce mean / max over
// the spatial axes), and resize (runtime_src/kiln_cuda_resize.cuh). nchw and nhwc; pools and
// bilinear resize take f32, f16 and bf16 computed in f32 (integer max pools are Unimplemented);
// nearest resize moves elements of any dtype.
#include <string>
#include <vector>

#include "codegen/cuda/emit_util.h"
#include "codegen/cuda/families.h"
#include "codegen/pool_plan.h"

namespace kiln::codegen::cuda {
namespace {

std::string Int(int64_t v) { return std::to_string(v); }

// max_pool2d and avg_pool2d.
Status EmitWindowPool(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const bool is_max = node.op() == OpKind::kMaxPool2d;
  const Value* xv = node.input(0);
  KILN_ASSIGN_OR_RETURN(std::string traits, FloatTraits(node, xv));
  w.Line("// " + std::string(node.op_name()) + " of " + xv->type().ToString() + " to " +
         node.output()->type().ToString() + ": one thread per output element");
  w.Line("kiln_cuda::PoolShape s;");
  WritePoolShapeFields(ctx, w);
  const bool include_pad = !is_max && node.GetBool("count_include_pad");
  w.Line("kiln_cuda::Pool2d<" + traits + ", " + (is_max ? "true" : "false") +
         ", /*count_include_pad=*/" + (include_pad ? "true" : "false") +
         ">(s, in0, out0, stream);");
  return Status::Ok();
}

// global_max_pool2d and global_avg_pool2d.
Status EmitGlobalPool(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const bool is_max = node.op() == OpKind::kGlobalMaxPool2d;
  const Value* xv = node.input(0);
  KILN_ASSIGN_OR_RETURN(std::string traits, FloatTraits(node, xv));
  const ImageAxes ax = ImageAxesOf(node);
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

Status EmitResize(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const Value* xv = node.input(0);
  const bool bilinear = node.GetEnum("mode") == "bilinear";
  std::string traits;
  if (bilinear) {
    KILN_ASSIGN_OR_RETURN(traits, FloatTraits(node, xv));
  }
  const ResizeModeEnumerators modes = ResizeModesOf(node);
  w.Line("// resize (" + std::string(bilinear ? "bilinear" : "nearest") + ", " +
         node.GetEnum("coordinate_mode") + ") of " + xv->type().ToString() + " to " +
         node.output()->type().ToString() + ": one thread per output element");
  w.Line("kiln_cuda::ResizeShape s;");
  WriteResizeShapeFields(ctx, w);
  w.Line("s.coord = kiln_cuda::ResizeCoordMode::" + modes.coord +
         "; s.nearest = kiln_cuda::ResizeNearestMode::" + modes.nearest + ";");
  if (bilinear) {
    w.Line("kiln_cuda::ResizeBilinear<" + traits + ">(s, in0, out0, stream);");
  } else {
    w.Line("kiln_cuda::ResizeNearest<" + ElemBytes(xv) + ">(s, in0, out0, stream);");
  }
  return Status::Ok();
}

}  // namespace

void RegisterPoolEmitters() {
  for (OpKind op : {OpKind::kMaxPool2d, OpKind::kAvgPool2d}) RegisterEmitter(op, EmitWindowPool);
  for (OpKind op : {OpKind::kGlobalAvgPool2d, OpKind::kGlobalMaxPool2d}) {
    RegisterEmitter(op, EmitGlobalPool);
  }
  RegisterEmitter(OpKind::kResize, EmitResize);
}

}  // namespace kiln::codegen::cuda
