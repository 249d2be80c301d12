// Tests of the CPU convolution kernels (src/codegen/cpu/runtime_src/kiln_cpu_conv.{h,cc}) against
// kiln's reference conv2d / conv_transpose2d ops, in both layouts: pointwise (the direct sgemm
// path, grouped too), im2col with strides, asymmetric pads, dilation, groups, batches and
// shapes large enough for several column bands; depthwise with and without a channel multiplier;
// transposed convs with strides, pads, dilation, output_padding and groups. Each case builds a
// one-node graph, interprets it, and runs the kernel on the same inputs with a ConvShape read
// from the node's normalised attributes (as the emitter reads them).
// Tolerance: max |got - ref| <= 1e-4 * max(1, max |ref|).
#include <gtest/gtest.h>

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

void CheckConv(const ConvCase& cc) {
  for (Layout layout : kBothLayouts) {
    SCOPED_TRACE(std::string(cc.transpose ? "conv_transpose2d" : "conv2d") + " x" +
                 IntsToString(cc.x) + " w" + IntsToString(cc.w) + " " + LayoutName(layout));
    Conv2dOptions opt = cc.opt;
    opt.layout = layout;
    const std::vector<int64_t> xs = LayoutShape(layout, cc.x), ws = LayoutShape(layout, cc.w);
    Builder b("g");
    Value* x = b.Input("x", DType::kF32, StaticShape(xs));
    Value* w = b.Input("w", DType::kF32, StaticShape(ws));
    Value* y = cc.transpose ? b.ConvTranspose2d(x, w, opt) : b.Conv2d(x, w, opt);
    ASSERT_NE(y, nullptr) << b.status().ToString();
    b.Output(y);
    StatusOr<Graph> g = b.Finish();
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    const std::vector<Tensor> inputs = {SinTensor(DType::kF32, xs, 0.37, 0.2),
                                        SinTensor(DType::kF32, ws, 0.23, 0.5)};
    StatusOr<std::vector<Tensor>> ref = Interpret(*g, inputs);
    ASSERT_TRUE(ref.ok()) << ref.status().ToString();
    const Node& node = *g->nodes().back();
    const kiln_cpu::ConvShape s = ShapeOf(node, xs, ws, (*ref)[0].shape());
    std::vector<float> out((*ref)[0].numel(), std::numeric_limits<float>::quiet_NaN());
    const std::vector<float> xv = inputs[0].ToF32(), wv = inputs[1].ToF32();
    if (cc.transpose) {
      kiln_cpu::ConvTranspose2d(s, xv.data(), wv.data(), out.data());
    } else {
      kiln_cpu::Conv2d(s, xv.data(), wv.data(), out.data());
    }
    ExpectMatches(out, (*ref)[0], kRelTol);
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

}  // namespace
}  // namespace kiln::testutil
