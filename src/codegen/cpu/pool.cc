// CPU kernel emitters of max_pool2d, avg_pool2d, global_avg_pool2d, global_max_pool2d
// (src/ops/pool.cc) and resize (src/ops/resize.cc): each body fills the kernel's shape struct with
// the node's shapes and attributes and calls runtime_src/kiln_cpu_pool.h. f32 only (integer max
// pools and non-f32 nearest resizes are Unimplemented on the cpu target for now).
#include <string>

#include "codegen/cpu/emit_util.h"
#include "codegen/cpu/families.h"
#include "codegen/pool_plan.h"

namespace kiln::codegen::cpu {
namespace {

// max_pool2d and avg_pool2d.
Status EmitWindowPool(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const bool is_max = node.op() == OpKind::kMaxPool2d;
  KILN_RETURN_IF_ERROR(RequireF32(node));
  w.Line("kiln_cpu::PoolShape s;");
  WritePoolShapeFields(ctx, w);
  if (is_max) {
    w.Line("kiln_cpu::MaxPool2d(s, in0, out0);");
  } else {
    w.Line(std::string("kiln_cpu::AvgPool2d(s, /*count_include_pad=*/") +
           (node.GetBool("count_include_pad") ? "true" : "false") + ", in0, out0);");
  }
  return Status::Ok();
}

// global_max_pool2d and global_avg_pool2d.
Status EmitGlobalPool(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const bool is_max = node.op() == OpKind::kGlobalMaxPool2d;
  KILN_RETURN_IF_ERROR(RequireF32(node));
  const ImageAxes ax = ImageAxesOf(node);
  const Shape& x = node.input(0)->shape();
  w.Line(std::string("kiln_cpu::") + (is_max ? "GlobalMaxPool2d(" : "GlobalAvgPool2d(") +
         ctx.Dim(x[0]) + ", " + ctx.Dim(x[ax.c]) + ", " + ctx.Product(x, ax.h, ax.w + 1) +
         ", /*nhwc=*/" + (ax.nhwc() ? "true" : "false") + ", in0, out0);");
  return Status::Ok();
}

Status EmitResize(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  KILN_RETURN_IF_ERROR(RequireF32(node));
  const ResizeModeEnumerators modes = ResizeModesOf(node);
  w.Line("kiln_cpu::ResizeShape s;");
  WriteResizeShapeFields(ctx, w);
  w.Line(std::string("s.bilinear = ") + (node.GetEnum("mode") == "bilinear" ? "true" : "false") +
         ";");
  w.Line("s.coord = kiln_cpu::ResizeCoord::" + modes.coord +
         "; s.nearest = kiln_cpu::ResizeNearest::" + modes.nearest + ";");
  w.Line("kiln_cpu::Resize(s, in0, out0);");
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

}  // namespace kiln::codegen::cpu
