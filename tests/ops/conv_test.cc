// Tests of conv2d and conv_transpose2d (src/ops/conv.cc): padding (symmetric and asymmetric),
// stride, dilation, groups, depthwise, output_padding, nchw vs nhwc (the same numbers,
// transposed), epilogues along the channel axis, conv2d's fused max_pool (against max_pool2d),
// symbolic batch inference and the errors.
// Expected values come from a direct numpy loop over (n, o, oh, ow, c, i, j) on float32 inputs
// x[i] = sin(a*i + phase) (see ref_test_util.h); shapes large enough to be processed in several
// row bands are checked against a naive loop in this file at sampled outputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "tests/ops/ref_test_util.h"

namespace kiln::testutil {
namespace {

constexpr double kTol = 2e-5;

// Runs conv2d (or conv_transpose2d) on nchw-ordered inputs `xv` [x_shape] and weights `wv`
// (w_shape in the nchw weight layout). With layout nhwc the operands are transposed to nhwc
// first and the result transposed back, so callers compare against nchw expectations.
// Returns the output (nchw order, f32) and sets *out_shape to its nchw shape.
std::vector<double> RunConv(bool transpose, const std::vector<int64_t>& x_shape,
                            const std::vector<int64_t>& w_shape, const std::vector<float>& xv,
                            const std::vector<float>& wv, Conv2dOptions opt, Layout layout,
                            std::vector<int64_t>* out_shape = nullptr) {
  opt.layout = layout;
  Builder b("g");
  Value* x = b.Input("x", DType::kF32, StaticShape(LayoutShape(layout, x_shape)));
  Value* w = b.Input("w", DType::kF32, StaticShape(LayoutShape(layout, w_shape)));
  auto res = RunOutput(b, transpose ? b.ConvTranspose2d(x, w, opt) : b.Conv2d(x, w, opt),
                       {F32(LayoutShape(layout, x_shape), LayoutValues(layout, xv, x_shape)),
                        F32(LayoutShape(layout, w_shape), LayoutValues(layout, wv, w_shape))});
  if (res.empty()) return {};
  return NchwValues(res[0], layout, out_shape);
}

// numpy: x = S(32,.37,0).reshape(1,2,4,4); w = S(54,.23,.5).reshape(3,2,3,3); pad 1.
const std::vector<double> kPadOne = {
    0.2976784,    0.7896678, 1.069478,  1.068059,  0.6771467,  1.633959,   2.22762,     1.630923,
    1.656458,     2.087602,  1.421752,  0.4992041, -0.9820908, -1.955087,  -2.66335,    -2.141487,
    1.211736,     1.861809,  2.139086,  1.266635,  0.7659351,  0.4402986,  -0.5429411,  -0.8540806,
    -1.526168,    -2.58584,  -2.655862, -1.673003, -0.19475,   -0.1264104, -0.01773742, 0.3213321,
    -1.610332,    -2.806535, -3.386714, -2.440184, -1.506872,  -2.110927,  -1.639461,   -0.7057113,
    -0.003185106, 0.713595,  1.4553,    1.313133,  1.19306,    2.092025,   2.682565,    1.793393};

TEST(ConvTest, PadOneBothLayouts) {
  for (Layout layout : kBothLayouts) {
    SCOPED_TRACE(LayoutName(layout));
    std::vector<int64_t> shape;
    auto got = RunConv(false, {1, 2, 4, 4}, {3, 2, 3, 3}, SinValues(32, 0.37, 0),
                       SinValues(54, 0.23, 0.5), {.pad = 1}, layout, &shape);
    EXPECT_EQ(shape, (std::vector<int64_t>{1, 3, 4, 4}));
    ExpectClose(got, kPadOne, kTol);
  }
}

TEST(ConvTest, StrideAsymmetricPadDilationGroups) {
  // numpy: x = S(168,.37,0).reshape(1,4,6,7); w = S(48,.23,.5).reshape(4,2,2,3);
  // stride 2, pad [top 1, left 0, bottom 0, right 2], dilation [2, 1], groups 2 -> [1,4,3,4].
  const std::vector<double> want = {
      0.009367223, -1.280549, -1.900657, -0.3843158, 1.019865,  0.4293114,  -0.3857993, 0.1851367,
      0.8884037,   1.12395,   0.7715996, 0.2364975,  0.3984806, 0.7614444,  0.726125,   -0.09350187,
      0.5166129,   -0.267302, -0.911401, -0.8054226, 1.091777,  0.8247416,  0.1263141,  -0.1642666,
      -0.9126216,  -0.443607, 0.2574419, 0.490858,   -2.615225, -0.9284042, 1.24403,    1.043858,
      -2.506446,   -2.972997, -1.884483, -0.4077416, 1.546144,  0.1846044,  -1.273495,  -0.8649526,
      4.049315,    1.626553,  -1.647,    -1.250556,  3.630619,  4.503675,   3.021025,   0.6418232};
  for (Layout layout : kBothLayouts) {
    SCOPED_TRACE(LayoutName(layout));
    std::vector<int64_t> shape;
    auto got = RunConv(
        false, {1, 4, 6, 7}, {4, 2, 2, 3}, SinValues(168, 0.37, 0), SinValues(48, 0.23, 0.5),
        {.stride = 2, .pad = {1, 0, 0, 2}, .dilation = {2, 1}, .groups = 2}, layout, &shape);
    EXPECT_EQ(shape, (std::vector<int64_t>{1, 4, 3, 4}));
    ExpectClose(got, want, kTol);
  }
}

TEST(ConvTest, Depthwise) {
  // numpy: x = S(75,.37,0).reshape(1,3,5,5); w = S(27,.23,.5).reshape(3,1,3,3); stride 2, pad 1,
  // groups 3.
  const std::vector<double> want = {
      1.757673,    3.233472,   1.827429,  -0.857919,  -1.876521,  -0.9113523, 1.144545,
      2.799185,    1.877429,   1.752781,  2.194311,   0.6650557,  -2.102398,  -1.999325,
      -0.01727304, 1.125717,   1.248931,  0.03981589, 0.3707032,  -0.7703786, -1.297659,
      -1.572079,   -0.5672635, 0.7631075, 0.5886823,  -0.8927874, -1.702607};
  for (Layout layout : kBothLayouts) {
    SCOPED_TRACE(LayoutName(layout));
    auto got = RunConv(false, {1, 3, 5, 5}, {3, 1, 3, 3}, SinValues(75, 0.37, 0),
                       SinValues(27, 0.23, 0.5), {.stride = 2, .pad = 1, .groups = 3}, layout);
    ExpectClose(got, want, kTol);
  }
}

TEST(ConvTest, TransposeStrideTwoOutputPaddingGroups) {
  // numpy scatter loop: x = S(18,.37,0).reshape(1,2,3,3); w = S(18,.23,.5).reshape(2,1,3,3);
  // stride 2, pad 1, output_padding 1, groups 2 -> [1,2,6,6].
  const std::vector<double> want = {
      0,          0.3357125,   0.3575117, 0.9864698, 0.6666359,    0.672174,
      0.5973142,  1.555666,    0.9744313, 2.178796,  1.219664,     1.271921,
      0.8855341,  1.817436,    0.9845793, 1.885177,  0.9503664,    0.9582617,
      1.29982,    2.49596,     1.204052,  2.147068,  0.9453216,    0.8385853,
      0.7875259,  1.280575,    0.5180974, 0.6900614, 0.1785468,    0.1800301,
      0.683547,   1.071496,    0.4496918, 0.5485391, 0.1549729,    0.1297521,
      0.06394264, 0.1649823,   0.1808867, 0.3842401, 0.2733487,    0.4377174,
      -0.161265,  -0.08368468, 0.1231116, 0.4911003, 0.3908256,    0.6649324,
      0.3288141,  0.6441036,   0.3397762, 0.649538,  0.3047511,    0.4880025,
      0.6056432,  1.372468,    0.7384898, 1.559761,  0.7713853,    0.8529051,
      0.2284794,  0.4078339,   0.121284,  0.1934089, -0.002326527, -0.003725503,
      0.576615,   0.8957901,   0.3060853, 0.3342066, -0.005871473, -0.006505444};
  for (Layout layout : kBothLayouts) {
    SCOPED_TRACE(LayoutName(layout));
    std::vector<int64_t> shape;
    auto got =
        RunConv(true, {1, 2, 3, 3}, {2, 1, 3, 3}, SinValues(18, 0.37, 0), SinValues(18, 0.23, 0.5),
                {.stride = 2, .pad = 1, .groups = 2, .output_padding = 1}, layout, &shape);
    EXPECT_EQ(shape, (std::vector<int64_t>{1, 2, 6, 6}));
    ExpectClose(got, want, kTol);
  }
}

TEST(ConvTest, TransposeAsymmetricPadAndDilation) {
  {  // x = S(12,.37,0).reshape(1,2,2,3); w = S(16,.23,.5).reshape(2,2,2,2); stride 2,
     // pad [0,1,1,0] -> [1,2,3,5].
    const std::vector<double> want = {0.4309198,  0.5498751,  0.5246438,   0.4530229, 0.5473597,
                                      0.08870648, 0.4717809,  0.3940707,   0.6128686, 0.6460994,
                                      0.495993,   0.09678212, 0.3774961,   -0.114391, 0.2079067,
                                      -0.2719485, 0.2956059,  0.1815724,   0.6453019, 0.6105183,
                                      -0.5760667, 0.0579759,  -0.06867399, 0.5435803, 0.4480134,
                                      0.9568333,  1.047169,   1.173646,    1.04495,   1.23161};
    for (Layout layout : kBothLayouts) {
      SCOPED_TRACE(LayoutName(layout));
      std::vector<int64_t> shape;
      auto got =
          RunConv(true, {1, 2, 2, 3}, {2, 2, 2, 2}, SinValues(12, 0.37, 0),
                  SinValues(16, 0.23, 0.5), {.stride = 2, .pad = {0, 1, 1, 0}}, layout, &shape);
      EXPECT_EQ(shape, (std::vector<int64_t>{1, 2, 3, 5}));
      ExpectClose(got, want, kTol);
    }
  }
  {  // x = S(8,.37,.3).reshape(1,2,2,2); w = S(24,.23,.5).reshape(2,3,2,2); stride [1,2],
     // dilation [2,1], output_padding [1,1] -> [1,3,5,5].
    const std::vector<double> want = {0.02612474, -0.1368841,  0.198853,
                                      0.1283984,  0,           0.3446674,
                                      0.3763028,  0.4438327,   0.5732764,
                                      0,          -0.2926837,  -0.4330684,
                                      0.05118139, -0.02873113, 0,
                                      0.3881193,  0.3794947,   0.6725271,
                                      0.7363578,  0,           0,
                                      0,          0,           0,
                                      0,          -0.5506446,  -0.6392199,
                                      -0.1071305, -0.1798876,  0,
                                      0.3508832,  0.3037916,   0.7614065,
                                      0.7463541,  0,           -0.6941293,
                                      -0.7124808, -0.2431706,  -0.2936464,
                                      0,          0.2407002,   0.1649317,
                                      0.6919933,  0.6011871,   0,
                                      0,          0,           0,
                                      0,          0,           -0.6933079,
                                      -0.6376205, -0.3286566,  -0.3463575,
                                      0,          0.08047681,  -0.008216601,
                                      0.4787181,  0.3310363,   0,
                                      -0.5483513, -0.4302021,  -0.3458167,
                                      -0.3270626, 0,           -0.09647729,
                                      -0.1796568, 0.1659198,   -0.007935228,
                                      0,          0,           0,
                                      0,          0,           0};
    for (Layout layout : kBothLayouts) {
      SCOPED_TRACE(LayoutName(layout));
      std::vector<int64_t> shape;
      auto got = RunConv(
          true, {1, 2, 2, 2}, {2, 3, 2, 2}, SinValues(8, 0.37, 0.3), SinValues(24, 0.23, 0.5),
          {.stride = {1, 2}, .dilation = {2, 1}, .output_padding = {1, 1}}, layout, &shape);
      EXPECT_EQ(shape, (std::vector<int64_t>{1, 3, 5, 5}));
      ExpectClose(got, want, kTol);
    }
  }
}

TEST(ConvTest, BiasReluAndResidualAlongTheChannelAxis) {
  // relu(conv + bias[o]) + r, with r broadcast as [O,1,1] (nchw) or [1,1,O] (nhwc); the conv
  // itself is kPadOne, so the expectation is derived from it elementwise.
  const std::vector<float> bias = {0.5f, -1.0f, 0.25f};
  const std::vector<float> r = {0.1f, 0.2f, -0.3f};
  std::vector<double> want(kPadOne.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const size_t o = i / 16;
    want[i] = std::max(0.0, kPadOne[i] + bias[o]) + r[o];
  }
  for (Layout layout : kBothLayouts) {
    SCOPED_TRACE(LayoutName(layout));
    const bool nhwc = layout == Layout::kNHWC;
    Builder b("g");
    const std::vector<int64_t> xs = {1, 2, 4, 4}, ws = {3, 2, 3, 3};
    Value* x = b.Input("x", DType::kF32, StaticShape(LayoutShape(layout, xs)));
    Value* w = b.Input("w", DType::kF32, StaticShape(LayoutShape(layout, ws)));
    Value* bv = b.Input("bias", DType::kF32, {3});
    Value* rv = b.Input("r", DType::kF32, nhwc ? Shape{1, 1, 3} : Shape{3, 1, 1});
    Value* y = b.Conv2d(x, w,
                        {.pad = 1,
                         .layout = layout,
                         .epilogue = {Bias(bv), Relu(), Residual(rv), CastTo(DType::kF16)}});
    ASSERT_NE(y, nullptr) << b.status().ToString();
    EXPECT_EQ(y->type().ToString(), nhwc ? "f16[1,4,4,3]" : "f16[1,3,4,4]");
    b.Output(y);
    auto res = RunGraph(
        b, {F32(LayoutShape(layout, xs), LayoutValues(layout, SinValues(32, 0.37, 0), xs)),
            F32(LayoutShape(layout, ws), LayoutValues(layout, SinValues(54, 0.23, 0.5), ws)),
            F32({3}, bias),
            F32(nhwc ? std::vector<int64_t>{1, 1, 3} : std::vector<int64_t>{3, 1, 1}, r)});
    ASSERT_EQ(res.size(), 1u);
    EXPECT_EQ(res[0].dtype(), DType::kF16);
    ExpectClose(NchwValues(res[0], layout), want, 1e-3);  // f16 output
  }
}

// Direct double-precision convolution of one output element (nchw; `transpose` sums the scatter
// contributions that land on it).
double NaiveAt(bool transpose, const std::vector<float>& x, const std::vector<int64_t>& xs,
               const std::vector<float>& w, const std::vector<int64_t>& ws, int64_t n, int64_t o,
               int64_t oh, int64_t ow, int64_t s, int64_t p, int64_t groups) {
  const int64_t c_all = xs[1], h = xs[2], wd = xs[3], kh = ws[2], kw = ws[3];
  const int64_t cg = c_all / groups;
  double sum = 0.0;
  if (!transpose) {
    const int64_t og = ws[0] / groups, g = o / og;
    for (int64_t c = 0; c < cg; ++c)
      for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j) {
          const int64_t ih = oh * s - p + i, iw = ow * s - p + j;
          if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
          sum += double(x[((n * c_all + g * cg + c) * h + ih) * wd + iw]) *
                 w[((o * cg + c) * kh + i) * kw + j];
        }
    return sum;
  }
  const int64_t og = ws[1], g = o / og, oo = o % og;
  for (int64_t c = 0; c < cg; ++c)
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j) {
        const int64_t th = oh + p - i, tw = ow + p - j;  // = ih * s
        if (th < 0 || tw < 0 || th % s || tw % s || th / s >= h || tw / s >= wd) continue;
        sum += double(x[((n * c_all + g * cg + c) * h + th / s) * wd + tw / s]) *
               w[(((g * cg + c) * og + oo) * kh + i) * kw + j];
      }
  return sum;
}

TEST(ConvTest, LargeShapesSplitIntoRowBandsMatchNaiveLoop) {
  struct Case {
    bool transpose;
    std::vector<int64_t> xs, ws;
    int64_t stride, pad, groups;
  };
  // conv: 64*9 column rows x 100 wide -> bands of 72 output rows; transpose: 16*9 rows x 200
  // wide -> bands of 145 input rows; both with 2 groups and odd sizes.
  const std::vector<Case> cases = {
      {false, {2, 128, 101, 100}, {6, 64, 3, 3}, 1, 1, 2},
      {true, {1, 4, 203, 200}, {4, 16, 3, 3}, 2, 1, 2},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.transpose ? "conv_transpose2d" : "conv2d");
    const std::vector<float> xv = SinValues(NumElements(c.xs), 0.37, 0.1),
                             wv = SinValues(NumElements(c.ws), 0.23, 0.5);
    for (Layout layout : kBothLayouts) {
      SCOPED_TRACE(LayoutName(layout));
      std::vector<int64_t> shape;
      auto got = RunConv(c.transpose, c.xs, c.ws, xv, wv,
                         {.stride = c.stride, .pad = c.pad, .groups = c.groups}, layout, &shape);
      ASSERT_EQ(shape.size(), 4u);
      const int64_t total = shape[0] * shape[1] * shape[2] * shape[3];
      ASSERT_EQ(static_cast<int64_t>(got.size()), total);
      for (int64_t idx = 0; idx < total; idx += 997) {
        const int64_t ow = idx % shape[3], oh = idx / shape[3] % shape[2];
        const int64_t o = idx / (shape[3] * shape[2]) % shape[1],
                      n = idx / (shape[3] * shape[2] * shape[1]);
        const double want =
            NaiveAt(c.transpose, xv, c.xs, wv, c.ws, n, o, oh, ow, c.stride, c.pad, c.groups);
        ASSERT_NEAR(got[idx], want, 1e-4 * std::max(1.0, std::fabs(want))) << "at " << idx;
      }
    }
  }
}

TEST(ConvTest, EmptyBatch) {
  for (bool transpose : {false, true}) {
    Builder b("g");
    Value* x = b.Input("x", DType::kF32, {0, 2, 4, 4});
    Value* w = b.Input("w", DType::kF32, {2, 2, 3, 3});
    Conv2dOptions opt{.pad = 1, .epilogue = {Relu()}};
    Value* y = transpose ? b.ConvTranspose2d(x, w, opt) : b.Conv2d(x, w, opt);
    ASSERT_NE(y, nullptr) << b.status().ToString();
    b.Output(y);
    auto res = RunGraph(
        b, {Tensor(DType::kF32, {0, 2, 4, 4}), F32({2, 2, 3, 3}, SinValues(36, 0.23, 0.5))});
    ASSERT_EQ(res.size(), 1u);
    EXPECT_EQ(res[0].shape(), (std::vector<int64_t>{0, 2, 4, 4}));
  }
}

TEST(ConvTest, InferenceWithSymbolicBatch) {
  Builder b("g");
  Dim n = b.Sym("N", 1, 64);
  Value* x = b.Input("x", DType::kF16, {n, 224, 224, 3});
  Value* w = b.Input("w", DType::kF16, {64, 7, 7, 3});
  Value* bias = b.Input("b", DType::kF16, {64});
  Value* y = b.Conv2d(
      x, w, {.stride = 2, .pad = 3, .layout = Layout::kNHWC, .epilogue = {Bias(bias), Relu()}});
  ASSERT_NE(y, nullptr) << b.status().ToString();
  EXPECT_EQ(y->type().ToString(), "f16[N,112,112,64]");
  const Node& node = *y->producer();
  EXPECT_EQ(node.GetInts("pad"), (std::vector<int64_t>{3, 3, 3, 3}));
  EXPECT_EQ(node.GetInts("stride"), (std::vector<int64_t>{2, 2}));
  Value* x2 = b.Input("x2", DType::kF32, {n, 8, 5, 5});
  Value* wt = b.Input("wt", DType::kF32, {8, 2, 4, 4});
  Value* up = b.ConvTranspose2d(x2, wt, {.stride = 2, .pad = 1, .groups = 4});
  ASSERT_NE(up, nullptr) << b.status().ToString();
  EXPECT_EQ(up->type().ToString(), "f32[N,8,10,10]");
}

// conv2d {max_pool=[kh,kw,sh,sw,pt,pl,pb,pr]} against max_pool2d(conv2d) with the same epilogue
// in one graph, on sin inputs, in both layouts, f32 and f16: bit-identical (the fused reference
// pools the f32 result before rounding it; max commutes with that rounding). The pool windows
// hang over every border (pads on all four sides, asymmetric), and the residual operand has the
// unpooled shape. An f16 case has a NaN in the residual: it wins the windows that see it.
TEST(ConvTest, MaxPoolEqualsConvThenMaxPool2d) {
  // x [2,3,11,13] (nchw), w [5,3,3,3], stride [2,1], pad [1,0,2,1] -> conv [2,5,6,12];
  // pool kernel [3,2], stride [2,2], pad [1,1,2,1] -> [2,5,4,7].
  const std::vector<int64_t> xs = {2, 3, 11, 13}, ws = {5, 3, 3, 3}, cs = {2, 5, 6, 12};
  const std::vector<int64_t> pool = {3, 2, 2, 2, 1, 1, 2, 1};
  for (DType dtype : {DType::kF32, DType::kF16}) {
    for (bool with_nan : {false, true}) {
      if (with_nan && dtype == DType::kF32) continue;
      for (Layout layout : kBothLayouts) {
        SCOPED_TRACE(std::string(DTypeName(dtype)) + " " + LayoutName(layout) +
                     (with_nan ? " nan" : ""));
        Builder b("g");
        Value* x = b.Input("x", dtype, StaticShape(LayoutShape(layout, xs)));
        Value* w = b.Input("w", dtype, StaticShape(LayoutShape(layout, ws)));
        Value* bias = b.Input("bias", dtype, {5});
        Value* r = b.Input("r", dtype, StaticShape(LayoutShape(layout, cs)));
        Conv2dOptions o{.stride = {2, 1},
                        .pad = {1, 0, 2, 1},
                        .layout = layout,
                        .epilogue = {Bias(bias), Relu(), Residual(r)}};  // relu would eat a NaN
        Value* conv = b.Conv2d(x, w, o);
        Value* separate = b.MaxPool2d(
            conv, {.kernel = {3, 2}, .stride = 2, .pad = {1, 1, 2, 1}, .layout = layout});
        o.max_pool = pool;
        Value* fused = b.Conv2d(x, w, o);
        ASSERT_NE(fused, nullptr) << b.status().ToString();
        EXPECT_EQ(
            fused->type().ToString(),
            std::string(DTypeName(dtype)) + (layout == Layout::kNHWC ? "[2,4,7,5]" : "[2,5,4,7]"));
        EXPECT_EQ(fused->producer()->GetInts("max_pool"), pool);
        b.Output(separate);
        b.Output(fused);
        std::vector<float> rv = SinValues(NumElements(cs), 0.11, 0.3);
        if (with_nan) rv[NumElements(cs) - 1] = std::nanf("");  // batch 1, last channel, last pixel
        auto res = RunGraph(
            b, {Tensor::FromF32(dtype, LayoutShape(layout, xs),
                                LayoutValues(layout, SinValues(NumElements(xs), 0.37, 0.1), xs)),
                Tensor::FromF32(dtype, LayoutShape(layout, ws),
                                LayoutValues(layout, SinValues(NumElements(ws), 0.23, 0.5), ws)),
                Tensor::FromF32(dtype, {5}, SinValues(5, 0.7, 0.2)),
                Tensor::FromF32(dtype, LayoutShape(layout, cs), LayoutValues(layout, rv, cs))});
        ASSERT_EQ(res.size(), 2u);
        EXPECT_EQ(res[1].dtype(), dtype);
        EXPECT_EQ(res[1].shape(), res[0].shape());
        const std::vector<double> want = NchwValues(res[0], layout);
        ExpectClose(NchwValues(res[1], layout), want, 0.0);
        // The NaN reached the windows over the bottom-right corner (and only those).
        const int64_t nans =
            std::count_if(want.begin(), want.end(), [](double v) { return std::isnan(v); });
        EXPECT_EQ(nans, with_nan ? 2 : 0);
      }
    }
  }
}

TEST(ConvTest, MaxPoolInferenceWithSymbolicBatch) {
  // ResNet-50's stem with its pool: 224 -> 112 (conv) -> 56 (pool); the bias is checked against
  // the conv's channels as always.
  Builder b("g");
  Dim n = b.Sym("N", 1, 64);
  Value* x = b.Input("x", DType::kF16, {n, 224, 224, 4});
  Value* w = b.Input("w", DType::kF16, {64, 7, 7, 4});
  Value* bias = b.Input("b", DType::kF16, {64});
  Value* y = b.Conv2d(x, w,
                      {.stride = 2,
                       .pad = 3,
                       .layout = Layout::kNHWC,
                       .epilogue = {Bias(bias), Relu()},
                       .max_pool = {3, 3, 2, 2, 1, 1, 1, 1}});
  ASSERT_NE(y, nullptr) << b.status().ToString();
  EXPECT_EQ(y->type().ToString(), "f16[N,56,56,64]");
  // An empty list is the default: no pool, and not printed.
  Value* z = b.Conv2d(x, w, {.stride = 2, .pad = 3, .layout = Layout::kNHWC, .max_pool = {}});
  ASSERT_NE(z, nullptr) << b.status().ToString();
  EXPECT_EQ(z->type().ToString(), "f16[N,112,112,64]");
  EXPECT_EQ(z->producer()->attrs().Find("max_pool"), nullptr);
}

TEST(ConvTest, MaxPoolErrors) {
  auto pool_error = [](std::vector<int64_t> pool, Shape r = {}) {
    Builder b("g");
    Value* x = b.Input("x", DType::kF32, {1, 3, 8, 8});
    Value* w = b.Input("w", DType::kF32, {4, 3, 3, 3});
    Conv2dOptions o{.pad = 1, .max_pool = std::move(pool)};
    if (!r.empty()) o.epilogue = {Residual(b.Input("r", DType::kF32, r))};
    b.Conv2d(x, w, o);
    return BuildError(b);
  };
  ExpectError(pool_error({3, 3, 2, 2, 1, 1, 1}),
              {"conv2d", "attribute 'max_pool' must be [] or 8 values [kh,kw,sh,sw,pt,pl,pb,pr]",
               "got 7 values [3,3,2,2,1,1,1]"});
  ExpectError(pool_error({3, 0, 2, 2, 1, 1, 1, 1}),
              {"attribute 'max_pool' [3,0,2,2,1,1,1,1]", "kernel and stride", "must be >= 1"});
  ExpectError(pool_error({3, 3, 0, 2, 1, 1, 1, 1}), {"kernel and stride", "must be >= 1"});
  ExpectError(pool_error({3, 3, 2, 2, 3, 1, 1, 1}),
              {"attribute 'max_pool' [3,3,2,2,3,1,1,1]", "pads [pt,pl,pb,pr]",
               "smaller than the pool kernel 3x3"});
  ExpectError(pool_error({3, 2, 2, 2, 1, 2, 1, 1}), {"smaller than the pool kernel 3x2"});
  ExpectError(pool_error({3, 3, 2, 2, -1, 1, 1, 1}), {"must be >= 0"});
  {  // The largest pads: 4 < 5 on every side of the 8x8 conv output.
    Builder b("g");
    Value* y =
        b.Conv2d(b.Input("x", DType::kF32, {1, 3, 8, 8}), b.Input("w", DType::kF32, {4, 3, 3, 3}),
                 {.pad = 1, .max_pool = {5, 5, 1, 1, 4, 4, 4, 4}});
    ASSERT_NE(y, nullptr) << b.status().ToString();
    EXPECT_EQ(y->type().ToString(), "f32[1,4,12,12]");
  }
  ExpectError(pool_error({9, 3, 1, 1, 0, 0, 0, 0}),
              {"the max_pool kernel 9x3 is larger than the padded conv output 8x8 (conv output "
               "8x8)"});
  // The epilogue's operands have the unpooled shape [1,4,8,8]: a pooled one does not fit.
  ExpectError(pool_error({2, 2, 2, 2, 0, 0, 0, 0}, {1, 4, 4, 4}), {"epilogue step 0 (add)"});
  {  // conv_transpose2d has no max_pool.
    Builder b("g");
    b.ConvTranspose2d(b.Input("x", DType::kF32, {1, 3, 4, 4}),
                      b.Input("w", DType::kF32, {3, 2, 3, 3}),
                      {.max_pool = {2, 2, 2, 2, 0, 0, 0, 0}});
    ExpectError(BuildError(b), {"unknown attribute 'max_pool'", "conv_transpose2d"});
  }
}

TEST(ConvTest, Errors) {
  auto conv_error = [](Shape xs, Shape ws, Conv2dOptions opt, bool transpose = false) {
    Builder b("g");
    Value* x = b.Input("x", DType::kF32, xs);
    Value* w = b.Input("w", DType::kF32, ws);
    if (transpose)
      b.ConvTranspose2d(x, w, opt);
    else
      b.Conv2d(x, w, opt);
    return BuildError(b);
  };
  ExpectError(conv_error({1, 3, 8, 8}, {4, 4, 3, 3}, {}),
              {"conv2d", "input channels 3", "weight channels 4 x groups 1"});
  ExpectError(conv_error({1, 8, 8, 6}, {4, 3, 3, 4}, {.groups = 2, .layout = Layout::kNHWC}),
              {"input channels 6", "nhwc", "weight channels 4 x groups 2"});
  ExpectError(conv_error({1, 4, 8, 8}, {3, 2, 3, 3}, {.groups = 2}),
              {"output channels 3", "not divisible by groups 2"});
  ExpectError(conv_error({1, 3, 8, 8}, {4, 2, 3, 3}, {}, true),
              {"conv_transpose2d", "input channels 3", "do not match dim 0 of w"});
  ExpectError(conv_error({1, 3, 8, 8}, {3, 2, 3, 3}, {.groups = 2}, true),
              {"not divisible by groups 2"});
  ExpectError(conv_error({1, 3, 8, 8}, {4, 3, 3, 3}, {.pad = {1, 1, 1}}),
              {"attribute 'pad' must have 4 values, got [1,1,1]"});
  ExpectError(conv_error({1, 3, 8, 8}, {4, 3, 3, 3}, {.stride = {1, 1, 1}}),
              {"attribute 'stride' must have 2 values"});
  ExpectError(conv_error({1, 3, 8, 8}, {4, 3, 3, 3}, {.stride = 0}),
              {"attribute 'stride' values must be >= 1"});
  ExpectError(conv_error({1, 3, 8, 8}, {4, 3, 3, 3}, {.groups = 0}), {"groups must be >= 1"});
  ExpectError(conv_error({1, 3, 2, 2}, {4, 3, 3, 3}, {}),
              {"dilated kernel 3x3 is larger than the padded input 2x2"});
  ExpectError(conv_error({1, 3, 4, 4}, {3, 2, 3, 3}, {.stride = 2, .output_padding = 2}, true),
              {"output_padding [2,2] must be smaller than stride or dilation"});
  {  // symbolic spatial dims.
    Builder b("g");
    Dim h = b.Sym("H", 8, 64);
    b.Conv2d(b.Input("x", DType::kF32, {1, 3, h, 8}), b.Input("w", DType::kF32, {4, 3, 3, 3}));
    ExpectError(BuildError(b), {"input height is symbolic (H)", "static spatial dims"});
  }
  {  // bias length must be the output channels (axis 1 in nchw).
    Builder b("g");
    b.Conv2d(b.Input("x", DType::kF32, {1, 3, 8, 8}), b.Input("w", DType::kF32, {4, 3, 3, 3}),
             {.epilogue = {Bias(b.Input("bias", DType::kF32, {8}))}});
    ExpectError(BuildError(b), {"epilogue step 0 (bias)", "must have shape [4]", "axis 1"});
  }
  {  // dtype mismatch between x and w; integer x.
    Builder b("g");
    b.Conv2d(b.Input("x", DType::kF32, {1, 3, 8, 8}), b.Input("w", DType::kF16, {4, 3, 3, 3}));
    ExpectError(BuildError(b), {"dtype f16, expected f32"});
    Builder c("g");
    c.Conv2d(c.Input("x", DType::kI8, {1, 3, 8, 8}), c.Input("w", DType::kI8, {4, 3, 3, 3}));
    ExpectError(BuildError(c), {"must have dtype f32, f16 or bf16"});
  }
  {  // rank 3 input.
    Builder b("g");
    b.Conv2d(b.Input("x", DType::kF32, {3, 8, 8}), b.Input("w", DType::kF32, {4, 3, 3, 3}));
    ExpectError(BuildError(b), {"expected rank 4"});
  }
}

}  // namespace
}  // namespace kiln::testutil
