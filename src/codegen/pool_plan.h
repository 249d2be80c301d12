// The target-independent half of the image-op emitters (src/codegen/{cpu,cuda}/pool.cc and
// conv.cc): where the channel and spatial axes of a 4-d nchw / nhwc operand are, and the
// statements that fill the runtime's PoolShape / ResizeShape / ConvShape struct (kiln_cpu:: and
// kiln_cuda:: spell their fields alike) from the node's shapes and attributes.
#ifndef KILN_CODEGEN_POOL_PLAN_H_
#define KILN_CODEGEN_POOL_PLAN_H_

#include <string>

#include "codegen/code_writer.h"
#include "codegen/kernel_context.h"

namespace kiln::codegen {

/// The channel, height and width axes of a 4-d image operand.
struct ImageAxes {
  int c, h, w;
  bool nhwc() const { return c == 3; }
};

/// The axes of `node`'s operand under its `layout` attribute ("nhwc" or "nchw").
ImageAxes ImageAxesOf(const Node& node);

/// Writes the statements that fill a PoolShape variable `s` (declared by the caller) for the
/// max_pool2d / avg_pool2d node of `ctx`: sizes (symbolic ones as expressions), kernel, stride,
/// pads (top, left, bottom, right), dilation and layout.
void WritePoolShapeFields(const KernelContext& ctx, CodeWriter& w);

/// Writes the statements that fill a ConvShape variable `s` (declared by the caller) for the
/// conv2d / conv_transpose2d node of `ctx`: sizes (only the batch may be symbolic), kernel,
/// stride, leading pads, dilation, groups and layout.
void WriteConvShapeFields(const KernelContext& ctx, CodeWriter& w);

/// Writes the statements that fill a ResizeShape variable `s` (declared by the caller) for the
/// resize node of `ctx`, all but `coord` and `nearest` (see ResizeModeEnumerators): sizes, scales
/// (the op's, or out / in; spatial dims are static, shape inference requires it) and layout.
void WriteResizeShapeFields(const KernelContext& ctx, CodeWriter& w);

/// The enumerators of a resize node's coordinate_mode ("kHalfPixel", "kAlignCorners", ...) and
/// nearest_mode ("kRoundPreferFloor", "kFloor", ...), as both runtimes name them.
struct ResizeModeEnumerators {
  std::string coord, nearest;
};
ResizeModeEnumerators ResizeModesOf(const Node& node);

}  // namespace kiln::codegen

#endif  // KILN_CODEGEN_POOL_PLAN_H_
