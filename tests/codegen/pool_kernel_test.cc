// Tests of the CPU pooling and resize kernels (src/codegen/cpu/runtime_src/kiln_cpu_pool.{h,cc})
// against kiln's reference ops, in both layouts: max / avg pools with strides, asymmetric pads,
// dilation, ceil_mode and count_include_pad, NaN propagation through max, global pools, and resize
// in every mode (nearest with each rounding, bilinear with each coordinate transform, scales and
// sizes, up and down). Each case builds a one-node graph, interprets it and runs the kernel on the
// same input with shapes read from the node's normalised attributes (as the emitter reads them).
// Tolerance: max |got - ref| <= 1e-4 * max(1, max |ref|); NaN / -inf must match exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kiln_cpu_pool.h"
#include "ops/op_util.h"
#include "tests/codegen/kernel_test_util.h"
#include "tests/ops/ref_test_util.h"

namespace kiln::testutil {
namespace {

constexpr double kRelTol = 1e-4;

// A kernel shape struct (kiln_cpu::PoolShape or ResizeShape) with the sizes and layout filled in
// from the concrete input and output shapes `xs`, `ys` in `layout`; the rest keeps its defaults.
template <typename KernelShape>
KernelShape SizesOf(Layout layout, const std::vector<int64_t>& xs, const std::vector<int64_t>& ys) {
  const bool nhwc = layout == Layout::kNHWC;
  const int c = nhwc ? 3 : 1, h = nhwc ? 1 : 2, w = nhwc ? 2 : 3;
  KernelShape s{};
  s.n = xs[0], s.c = xs[c], s.h = xs[h], s.w = xs[w];
  s.oh = ys[h], s.ow = ys[w];
  s.nhwc = nhwc;
  return s;
}

// Finishes `b` with output `y`, interprets it on `input` and returns the reference output and the
// graph's last node (the op under test) through `node_out`.
struct Run {
  StatusOr<Graph> graph = InvalidArgument("not built");
  Tensor ref;
};
void BuildAndRun(Builder& b, Value* y, const Tensor& input, Run* run) {
  ASSERT_NE(y, nullptr) << b.status().ToString();
  b.Output(y);
  run->graph = b.Finish();
  ASSERT_TRUE(run->graph.ok()) << run->graph.status().ToString();
  StatusOr<std::vector<Tensor>> out = Interpret(*run->graph, {input});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  run->ref = (*out)[0];
}

// Checks a max (is_max) or avg pool of an nchw-shaped input in both layouts; `nan_at` >= 0 puts a
// NaN at that flat input index.
void CheckPool(bool is_max, const std::vector<int64_t>& nchw, Pool2dOptions opt,
               int64_t nan_at = -1) {
  for (Layout layout : kBothLayouts) {
    SCOPED_TRACE(std::string(is_max ? "max" : "avg") + " x" + IntsToString(nchw) + " " +
                 LayoutName(layout));
    opt.layout = layout;
    const std::vector<int64_t> xs = LayoutShape(layout, nchw);
    Tensor input = SinTensor(DType::kF32, xs, 0.37, 0.2);
    if (nan_at >= 0)
      input.mutable_data_as<float>()[nan_at] = std::numeric_limits<float>::quiet_NaN();
    Builder b("g");
    Value* x = b.Input("x", DType::kF32, StaticShape(xs));
    Run run;
    BuildAndRun(b, is_max ? b.MaxPool2d(x, opt) : b.AvgPool2d(x, opt), input, &run);
    if (::testing::Test::HasFatalFailure()) return;
    const Node& node = *run.graph->nodes().back();
    kiln_cpu::PoolShape s = SizesOf<kiln_cpu::PoolShape>(layout, xs, run.ref.shape());
    const std::vector<int64_t>& k = node.GetInts("kernel");
    const std::vector<int64_t>& st = node.GetInts("stride");
    const std::vector<int64_t>& p = node.GetInts("pad");
    const std::vector<int64_t>& d = node.GetInts("dilation");
    s.kh = k[0], s.kw = k[1], s.sh = st[0], s.sw = st[1];
    s.pt = p[0], s.pl = p[1], s.pb = p[2], s.pr = p[3];
    s.dh = d[0], s.dw = d[1];
    std::vector<float> out(run.ref.numel(), std::numeric_limits<float>::quiet_NaN());
    const std::vector<float> xv = input.ToF32();
    if (is_max) {
      kiln_cpu::MaxPool2d(s, xv.data(), out.data());
    } else {
      kiln_cpu::AvgPool2d(s, node.GetBool("count_include_pad"), xv.data(), out.data());
    }
    ExpectMatches(out, run.ref, kRelTol);
  }
}

TEST(PoolKernelTest, MaxPool) {
  CheckPool(true, {1, 3, 7, 7}, {.kernel = 3, .stride = 2, .pad = 1});  // ResNet stem
  CheckPool(true, {2, 17, 5, 6}, {.kernel = {2, 3}, .stride = {1, 2}});
  CheckPool(true, {1, 1, 1, 1}, {.kernel = 1});
  CheckPool(true, {1, 5, 9, 7}, {.kernel = 3, .pad = {1, 0, 2, 1}, .dilation = 2});
}

TEST(PoolKernelTest, MaxPoolCeilMode) {
  CheckPool(true, {1, 3, 7, 6}, {.kernel = 2, .stride = 2, .ceil_mode = true});
  CheckPool(true, {2, 4, 8, 9}, {.kernel = 3, .stride = 2, .pad = 1, .ceil_mode = true});
}

TEST(PoolKernelTest, MaxPoolPropagatesNaN) {
  CheckPool(true, {1, 3, 5, 5}, {.kernel = 3, .stride = 2, .pad = 1}, 7);
}

TEST(PoolKernelTest, AvgPool) {
  CheckPool(false, {1, 3, 7, 7}, {.kernel = 3, .stride = 2, .pad = 1});
  CheckPool(false, {2, 17, 5, 6}, {.kernel = {2, 3}, .stride = {1, 2}});
  CheckPool(false, {1, 3, 7, 7},
            {.kernel = 3, .stride = 2, .pad = {1, 0, 2, 1}, .count_include_pad = true});
}

TEST(PoolKernelTest, AvgPoolCeilModeAndCountIncludePad) {
  for (bool include : {false, true}) {
    SCOPED_TRACE(include ? "count_include_pad" : "exclude pad");
    CheckPool(false, {1, 3, 7, 6},
              {.kernel = 2, .stride = 2, .ceil_mode = true, .count_include_pad = include});
    CheckPool(
        false, {2, 4, 8, 9},
        {.kernel = 3, .stride = 2, .pad = 1, .ceil_mode = true, .count_include_pad = include});
    CheckPool(
        false, {1, 2, 5, 5},
        {.kernel = 2, .stride = 3, .pad = 1, .ceil_mode = true, .count_include_pad = include});
  }
}

void CheckGlobalPool(bool is_max, const std::vector<int64_t>& nchw) {
  for (Layout layout : kBothLayouts) {
    SCOPED_TRACE(std::string(is_max ? "global max" : "global avg") + " x" + IntsToString(nchw) +
                 " " + LayoutName(layout));
    const std::vector<int64_t> xs = LayoutShape(layout, nchw);
    const Tensor input = SinTensor(DType::kF32, xs, 0.37, 0.2);
    Builder b("g");
    Value* x = b.Input("x", DType::kF32, StaticShape(xs));
    Run run;
    BuildAndRun(b, is_max ? b.GlobalMaxPool2d(x, layout) : b.GlobalAvgPool2d(x, layout), input,
                &run);
    if (::testing::Test::HasFatalFailure()) return;
    std::vector<float> out(run.ref.numel(), std::numeric_limits<float>::quiet_NaN());
    const std::vector<float> xv = input.ToF32();
    const bool nhwc = layout == Layout::kNHWC;
    if (is_max) {
      kiln_cpu::GlobalMaxPool2d(nchw[0], nchw[1], nchw[2] * nchw[3], nhwc, xv.data(), out.data());
    } else {
      kiln_cpu::GlobalAvgPool2d(nchw[0], nchw[1], nchw[2] * nchw[3], nhwc, xv.data(), out.data());
    }
    ExpectMatches(out, run.ref, kRelTol);
  }
}

TEST(PoolKernelTest, GlobalPools) {
  for (bool is_max : {false, true}) {
    CheckGlobalPool(is_max, {1, 17, 7, 7});
    CheckGlobalPool(is_max, {3, 5, 1, 1});
    CheckGlobalPool(is_max, {2, 3, 17, 9});
  }
}

kiln_cpu::ResizeCoord Coord(const std::string& m) {
  if (m == "align_corners") return kiln_cpu::ResizeCoord::kAlignCorners;
  if (m == "asymmetric") return kiln_cpu::ResizeCoord::kAsymmetric;
  if (m == "pytorch_half_pixel") return kiln_cpu::ResizeCoord::kPytorchHalfPixel;
  return kiln_cpu::ResizeCoord::kHalfPixel;
}

kiln_cpu::ResizeNearest Nearest(const std::string& m) {
  if (m == "floor") return kiln_cpu::ResizeNearest::kFloor;
  if (m == "ceil") return kiln_cpu::ResizeNearest::kCeil;
  if (m == "round_prefer_ceil") return kiln_cpu::ResizeNearest::kRoundPreferCeil;
  return kiln_cpu::ResizeNearest::kRoundPreferFloor;
}

void CheckResize(const std::vector<int64_t>& nchw, ResizeOptions opt) {
  for (Layout layout : kBothLayouts) {
    SCOPED_TRACE(opt.mode + " " + opt.coordinate_mode + " " + opt.nearest_mode + " x" +
                 IntsToString(nchw) + " " + LayoutName(layout));
    opt.layout = layout;
    const std::vector<int64_t> xs = LayoutShape(layout, nchw);
    const Tensor input = SinTensor(DType::kF32, xs, 0.37, 0.2);
    Builder b("g");
    Value* x = b.Input("x", DType::kF32, StaticShape(xs));
    Run run;
    BuildAndRun(b, b.Resize(x, opt), input, &run);
    if (::testing::Test::HasFatalFailure()) return;
    const Node& node = *run.graph->nodes().back();
    kiln_cpu::ResizeShape s = SizesOf<kiln_cpu::ResizeShape>(layout, xs, run.ref.shape());
    const std::vector<double>& scales = node.GetFloats("scales");
    s.scale_h = scales.empty() ? static_cast<double>(s.oh) / s.h : scales[0];
    s.scale_w = scales.empty() ? static_cast<double>(s.ow) / s.w : scales[1];
    s.bilinear = node.GetEnum("mode") == "bilinear";
    s.coord = Coord(node.GetEnum("coordinate_mode"));
    s.nearest = Nearest(node.GetEnum("nearest_mode"));
    std::vector<float> out(run.ref.numel(), std::numeric_limits<float>::quiet_NaN());
    const std::vector<float> xv = input.ToF32();
    kiln_cpu::Resize(s, xv.data(), out.data());
    ExpectMatches(out, run.ref, kRelTol);
  }
}

TEST(PoolKernelTest, ResizeNearestEachRounding) {
  for (const char* nearest : {"floor", "ceil", "round_prefer_floor", "round_prefer_ceil"}) {
    for (const char* coord : {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"}) {
      CheckResize({1, 3, 5, 7}, {.mode = "nearest",
                                 .scales = {2.0, 1.5},
                                 .coordinate_mode = coord,
                                 .nearest_mode = nearest});
      CheckResize(
          {2, 2, 7, 3},
          {.mode = "nearest", .size = {3, 17}, .coordinate_mode = coord, .nearest_mode = nearest});
    }
  }
}

TEST(PoolKernelTest, ResizeBilinearEachCoordinateMode) {
  for (const char* coord : {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"}) {
    CheckResize({1, 3, 5, 7}, {.mode = "bilinear", .scales = {2.0, 1.5}, .coordinate_mode = coord});
    CheckResize({2, 17, 7, 3}, {.mode = "bilinear", .size = {3, 17}, .coordinate_mode = coord});
    CheckResize({1, 2, 4, 5}, {.mode = "bilinear", .size = {1, 1}, .coordinate_mode = coord});
    CheckResize({1, 1, 1, 1}, {.mode = "bilinear", .size = {3, 2}, .coordinate_mode = coord});
  }
}

}  // namespace
}  // namespace kiln::testutil
