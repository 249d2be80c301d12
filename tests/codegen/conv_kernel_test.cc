// Tests of the CPU convolution kernels (src/codegen/cpu/runtime_src/kiln_cpu_conv.{h,cc}) against
// kiln's reference conv2d / conv_transpose2d ops, in both layouts: pointwise (the direct sgemm
// path, grouped too), im2col with strides, asymmetric pads, dilation, groups, batches and
// shapes large enough for several column bands; depthwise with and without a channel multiplier;
// transposed convs with strides, pads, dilation, output_padding and groups. Each case builds a
// one-node graph, interprets it, and runs the kernel on the same inputs with a ConvShape read
// from the node's normalised attributes (as the emitter reads them). conv2d runs with oneDNN's
// primitive (nhwc) and with it switched off (the sgemm / direct loops), and its per-weights cache
// is checked with repeated calls, two weight buffers of one shape and new values under one pointer.
// Tolerance: max |got - ref| <= 1e-4 * max(1, max |ref|).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kiln_cpu_conv.h"
#include "ops/op_util.h"
#include "tests/codegen/kernel_test_util.h"
#include "tests/ops/ref_test_util.h"

namespace kiln::testutil {
namespace {

constexpr double kRelTol = 1e-4;

// The kernel geometry of a conv node from its attributes and concrete shapes.
kiln_cpu::ConvShape ShapeOf(const Node& node, const std::vector<int64_t>& x,
                            const std::vector<int64_t>& w, const std::vector<int64_t>& y) {
  const bool nhwc = node.GetEnum("layout") == "nhwc";
  const int c = nhwc ? 3 : 1, h = nhwc ? 1 : 2, wd = nhwc ? 2 : 3;
  kiln_cpu::ConvShape s;
  s.n = x[0], s.c = x[c], s.h = x[h], s.w = x[wd];
  s.o = y[c], s.oh = y[h], s.ow = y[wd];
  s.kh = w[h], s.kw = w[wd];
  const std::vector<int64_t>& stride = node.GetInts("stride");
  const std::vector<int64_t>& pad = node.GetInts("pad");
  const std::vector<int64_t>& dilation = node.GetInts("dilation");
  s.sh = stride[0], s.sw = stride[1];
  s.pt = pad[0], s.pl = pad[1];
  s.dh = dilation[0], s.dw = dilation[1];
  s.groups = node.GetInt("groups");
  s.nhwc = nhwc;
  return s;
}

struct ConvCase {
  std::vector<int64_t> x = {}, w = {};  // nchw shapes (weights in the nchw weight layout)
  Conv2dOptions opt = {};
  bool transpose = false;
};

// One conv node of case `cc` in `layout`, its reference output for inputs (x, w) and the kernel
// geometry read from it.
struct ConvRef {
  Tensor y;
  kiln_cpu::ConvShape shape;
};

ConvRef Reference(const ConvCase& cc, Layout layout, const Tensor& x, const Tensor& w) {
  Conv2dOptions opt = cc.opt;
  opt.layout = layout;
  Builder b("g");
  Value* xv = b.Input("x", DType::kF32, StaticShape(x.shape()));
  Value* wv = b.Input("w", DType::kF32, StaticShape(w.shape()));
  Value* y = cc.transpose ? b.ConvTranspose2d(xv, wv, opt) : b.Conv2d(xv, wv, opt);
  EXPECT_NE(y, nullptr) << b.status().ToString();
  if (y == nullptr) return {};
  b.Output(y);
  StatusOr<Graph> g = b.Finish();
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  if (!g.ok()) return {};
  StatusOr<std::vector<Tensor>> ref = Interpret(*g, {x, w});
  EXPECT_TRUE(ref.ok()) << ref.status().ToString();
  if (!ref.ok()) return {};
  const Node& node = *g->nodes().back();
  return {(*ref)[0], ShapeOf(node, x.shape(), w.shape(), (*ref)[0].shape())};
}

// Runs Conv2d or ConvTranspose2d into a NaN-filled buffer of `numel` floats.
std::vector<float> RunKernel(const kiln_cpu::ConvShape& s, bool transpose, const float* x,
                             const float* w, int64_t numel) {
  std::vector<float> out(numel, std::numeric_limits<float>::quiet_NaN());
  if (transpose) {
    kiln_cpu::ConvTranspose2d(s, x, w, out.data());
  } else {
    kiln_cpu::Conv2d(s, x, w, out.data());
  }
  return out;
}

// Checks the case in both layouts; conv2d also with oneDNN switched off, which exercises the
// sgemm / direct loops that serve the geometries oneDNN rejects.
void CheckConv(const ConvCase& cc) {
  for (Layout layout : kBothLayouts) {
    // Modes: oneDNN with weights cached as constants, oneDNN repacking per call, no oneDNN.
    for (int mode : {0, 1, 2}) {
      const bool dnnl = mode != 2;
      if (cc.transpose && mode != 0) continue;
      SCOPED_TRACE(std::string(cc.transpose ? "conv_transpose2d" : "conv2d") + " x" +
                   IntsToString(cc.x) + " w" + IntsToString(cc.w) + " " + LayoutName(layout) +
                   (mode == 0 ? "" : mode == 1 ? " computed weights" : " without oneDNN"));
      const std::vector<int64_t> xs = LayoutShape(layout, cc.x), ws = LayoutShape(layout, cc.w);
      const Tensor x = SinTensor(DType::kF32, xs, 0.37, 0.2);
      const Tensor w = SinTensor(DType::kF32, ws, 0.23, 0.5);
      const ConvRef ref = Reference(cc, layout, x, w);
      const std::vector<float> xv = x.ToF32(), wv = w.ToF32();
      kiln_cpu::ConvShape shape = ref.shape;
      shape.const_weights = mode == 0;
      kiln_cpu::SetConv2dUsesOneDnn(dnnl);
      const std::vector<float> out =
          RunKernel(shape, cc.transpose, xv.data(), wv.data(), ref.y.numel());
      kiln_cpu::SetConv2dUsesOneDnn(true);
      ExpectMatches(out, ref.y, kRelTol);
    }
  }
}

TEST(ConvKernelTest, ThreeByThreePadOne) {
  CheckConv({.x = {1, 2, 4, 4}, .w = {3, 2, 3, 3}, .opt = {.pad = 1}});
  CheckConv({.x = {3, 5, 9, 8}, .w = {7, 5, 3, 3}, .opt = {.pad = 1}});
  CheckConv({.x = {1, 1, 1, 1}, .w = {1, 1, 3, 3}, .opt = {.pad = 1}});
}

TEST(ConvKernelTest, Pointwise) {
  CheckConv({.x = {2, 17, 7, 3}, .w = {5, 17, 1, 1}});
  CheckConv({.x = {1, 6, 3, 7}, .w = {9, 2, 1, 1}, .opt = {.groups = 3}});
  CheckConv({.x = {1, 1, 1, 1}, .w = {1, 1, 1, 1}});
}

TEST(ConvKernelTest, PointwiseWithStrideOrPadUsesIm2Col) {
  CheckConv({.x = {1, 7, 7, 7}, .w = {17, 7, 1, 1}, .opt = {.stride = 2}});
  CheckConv({.x = {1, 3, 4, 5}, .w = {2, 3, 1, 1}, .opt = {.pad = 1}});
}

TEST(ConvKernelTest, StridesAsymmetricPadsDilationGroups) {
  CheckConv({.x = {1, 4, 6, 7},
             .w = {4, 2, 2, 3},
             .opt = {.stride = 2, .pad = {1, 0, 0, 2}, .dilation = {2, 1}, .groups = 2}});
  CheckConv({.x = {1, 3, 11, 9}, .w = {4, 3, 3, 3}, .opt = {.pad = 2, .dilation = 2}});
  CheckConv({.x = {2, 6, 7, 17}, .w = {9, 2, 3, 1}, .opt = {.stride = {1, 3}, .groups = 3}});
  CheckConv({.x = {1, 2, 2, 3}, .w = {3, 2, 3, 3}, .opt = {.pad = 1}});  // kernel > input
}

TEST(ConvKernelTest, StemSevenBySevenStrideTwo) {
  CheckConv({.x = {1, 3, 17, 17}, .w = {7, 3, 7, 7}, .opt = {.stride = 2, .pad = 3}});
}

TEST(ConvKernelTest, SeveralColumnBands) {
  // K * OW = 2304 * 64 floats per output row: a 2^21-float column buffer holds 14 rows.
  CheckConv({.x = {1, 256, 64, 64}, .w = {8, 256, 3, 3}, .opt = {.pad = 1}});
}

TEST(ConvKernelTest, Depthwise) {
  CheckConv({.x = {2, 3, 5, 5}, .w = {3, 1, 3, 3}, .opt = {.stride = 2, .pad = 1, .groups = 3}});
  CheckConv({.x = {1, 17, 7, 3}, .w = {17, 1, 3, 3}, .opt = {.pad = 1, .groups = 17}});
  CheckConv({.x = {1, 5, 9, 8}, .w = {5, 1, 3, 3}, .opt = {.pad = 2, .dilation = 2, .groups = 5}});
}

TEST(ConvKernelTest, DepthwisePointwiseAndSingleChannel) {
  CheckConv({.x = {2, 5, 4, 3}, .w = {5, 1, 1, 1}, .opt = {.groups = 5}});
  CheckConv({.x = {1, 1, 5, 5}, .w = {4, 1, 3, 3}, .opt = {.pad = 1}});  // groups 1, C 1
}

TEST(ConvKernelTest, DepthwiseWithChannelMultiplier) {
  CheckConv({.x = {1, 3, 7, 6}, .w = {6, 1, 3, 3}, .opt = {.pad = {0, 1, 2, 1}, .groups = 3}});
  CheckConv({.x = {2, 2, 5, 5}, .w = {6, 1, 2, 2}, .opt = {.stride = 2, .groups = 2}});
}

TEST(ConvKernelTest, TransposeStrideOutputPaddingGroups) {
  CheckConv({.x = {1, 2, 3, 3},
             .w = {2, 1, 3, 3},
             .opt = {.stride = 2, .pad = 1, .groups = 2, .output_padding = 1},
             .transpose = true});
  CheckConv(
      {.x = {1, 6, 5, 4}, .w = {6, 3, 2, 2}, .opt = {.stride = 2, .groups = 2}, .transpose = true});
}

TEST(ConvKernelTest, TransposeAsymmetricPadDilation) {
  CheckConv({.x = {2, 3, 4, 5},
             .w = {3, 4, 3, 2},
             .opt = {.stride = {2, 3}, .pad = {1, 0, 2, 1}, .dilation = {2, 1}},
             .transpose = true});
  CheckConv({.x = {1, 2, 4, 4},
             .w = {2, 3, 3, 3},
             .opt = {.dilation = 2, .output_padding = 1},
             .transpose = true});
}

TEST(ConvKernelTest, TransposePointwiseAndBands) {
  CheckConv({.x = {1, 7, 3, 1}, .w = {7, 17, 1, 1}, .transpose = true});
  // mdim * W = 648 * 300 floats per input row: several bands of input rows.
  CheckConv({.x = {1, 4, 30, 300}, .w = {4, 8, 9, 9}, .opt = {.pad = 4}, .transpose = true});
}

// The oneDNN path caches a primitive and repacked weights per (geometry, weight pointer): a second
// call with the same weights must reuse them correctly, two weight buffers of one shape must not
// share an entry, and new values under the same pointer (a freed instance's memory reused) must
// be noticed.
TEST(ConvKernelTest, CachedWeightsByPointer) {
  const ConvCase cc = {.x = {1, 8, 9, 9}, .w = {16, 8, 3, 3}, .opt = {.stride = 2, .pad = 1}};
  for (Layout layout : kBothLayouts) {
    SCOPED_TRACE(LayoutName(layout));
    const std::vector<int64_t> xs = LayoutShape(layout, cc.x), ws = LayoutShape(layout, cc.w);
    const Tensor x = SinTensor(DType::kF32, xs, 0.37, 0.2);
    const Tensor w1 = SinTensor(DType::kF32, ws, 0.23, 0.5);
    const Tensor w2 = SinTensor(DType::kF32, ws, 0.71, -1.0);
    const ConvRef ref1 = Reference(cc, layout, x, w1), ref2 = Reference(cc, layout, x, w2);
    const std::vector<float> xv = x.ToF32();
    std::vector<float> wv1 = w1.ToF32();
    const std::vector<float> wv2 = w2.ToF32();
    const int64_t numel = ref1.y.numel();
    kiln_cpu::ConvShape s1 = ref1.shape, s2 = ref2.shape;
    s1.const_weights = s2.const_weights = true;
    for (int call = 0; call < 2; ++call) {  // the second round runs from the cache
      SCOPED_TRACE("call " + std::to_string(call));
      ExpectMatches(RunKernel(s1, false, xv.data(), wv1.data(), numel), ref1.y, kRelTol);
      ExpectMatches(RunKernel(s2, false, xv.data(), wv2.data(), numel), ref2.y, kRelTol);
    }
    // w2's values under w1's pointer.
    std::copy(wv2.begin(), wv2.end(), wv1.begin());
    ExpectMatches(RunKernel(s1, false, xv.data(), wv1.data(), numel), ref2.y, kRelTol);
    // Computed weights (not constants) are repacked on every call: a change of one value that the
    // fingerprint does not sample is seen too.
    s1.const_weights = false;
    wv1[1] += 10.0f;
    const ConvRef ref3 = Reference(cc, layout, x, Tensor::FromF32(DType::kF32, ws, wv1));
    ExpectMatches(RunKernel(s1, false, xv.data(), wv1.data(), numel), ref3.y, kRelTol);
  }
}

}  // namespace
}  // namespace kiln::testutil
