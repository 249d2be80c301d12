// Tests of the pooling ops (src/ops/pool.cc): max/avg windows with stride, padding (also
// asymmetric), dilation, ceil_mode (including PyTorch's rule that the last window must start
// inside the input or the leading padding) and count_include_pad; nchw vs nhwc; global pools;
// integer max pooling; symbolic inference; errors. Expected values come from a direct numpy loop
// with PyTorch's semantics on float32 inputs x[i] = sin(a*i + phase) (see ref_test_util.h).
#include <gtest/gtest.h>

#include "tests/ops/ref_test_util.h"

namespace kiln::testutil {
namespace {

constexpr double kTol = 1e-6;

// Runs max_pool2d / avg_pool2d on nchw values; for nhwc the input is transposed and the result
// transposed back. Returns the nchw-ordered output and its nchw shape.
std::vector<double> RunPool(bool is_max, const std::vector<int64_t>& xs,
                            const std::vector<float>& xv, Pool2dOptions opt, Layout layout,
                            std::vector<int64_t>* out_shape = nullptr) {
  opt.layout = layout;
  Builder b("g");
  Value* x = b.Input("x", DType::kF32, StaticShape(LayoutShape(layout, xs)));
  auto res = RunOutput(b, is_max ? b.MaxPool2d(x, opt) : b.AvgPool2d(x, opt),
                       {F32(LayoutShape(layout, xs), LayoutValues(layout, xv, xs))});
  if (res.empty()) return {};
  return NchwValues(res[0], layout, out_shape);
}

TEST(PoolTest, MaxPoolResNetStem) {
  // x = S(50,.37,0).reshape(1,2,5,5); kernel 3, stride 2, pad 1.
  const std::vector<double> want = {0.9612752,  0.8956987,  0.9958808, 0.9612752, 0.7965655,
                                    0.6793047,  0.9964756,  0.9964756, 0.7924272, 0.1738895,
                                    -0.1939844, 0.01362896, 0.7882521, 0.9970241, 0.9970241,
                                    0.7882521,  0.512388,   -0.2006651};
  for (Layout layout : kBothLayouts) {
    SCOPED_TRACE(LayoutName(layout));
    std::vector<int64_t> shape;
    auto got = RunPool(true, {1, 2, 5, 5}, SinValues(50, 0.37, 0),
                       {.kernel = 3, .stride = 2, .pad = 1}, layout, &shape);
    EXPECT_EQ(shape, (std::vector<int64_t>{1, 2, 3, 3}));
    ExpectClose(got, want, kTol);
  }
}

TEST(PoolTest, CeilModeWindowsOverhangTheTrailingPadding) {
  // x = S(36,.37,0).reshape(1,1,6,6); kernel 3, stride 2, pad 1, ceil_mode: 4x4 (floor: 3x3).
  // The last window covers rows 5 (input), 6 (padding) and 7 (beyond): count_include_pad counts
  // 2 rows there, otherwise 1 (PyTorch: hend = min(hstart + k, H + pad)).
  const std::vector<double> max_want = {
      0.7965655, 0.8956987, 0.9958808, 0.9612752, 0.7965655,  0.9964756,  0.9964756, 0.7924272,
      0.6793047, 0.9964756, 0.9964756, 0.7924272, -0.8895552, -0.3488752, 0.3742885, 0.3742885};
  const std::vector<double> avg_cip = {0.1869139,   0.2721053,  0.1483397,   0.02676807,
                                       0.04550046,  0.05941188, 0.02364459,  -0.0002374978,
                                       -0.01608055, 0.01291101, 0.05356042,  0.03362896,
                                       -0.314018,   -0.3170985, 0.006507045, 0.09357212};
  const std::vector<double> avg_excl = {0.4205563,   0.408158,   0.2225095,  0.08030421,
                                        0.0682507,   0.05941188, 0.02364459, -0.0004749956,
                                        -0.02412082, 0.01291101, 0.05356042, 0.06725792,
                                        -0.9420539,  -0.634197,  0.01301409, 0.3742885};
  const std::vector<float> xv = SinValues(36, 0.37, 0);
  for (Layout layout : kBothLayouts) {
    SCOPED_TRACE(LayoutName(layout));
    std::vector<int64_t> shape;
    Pool2dOptions opt{.kernel = 3, .stride = 2, .pad = 1, .ceil_mode = true};
    ExpectClose(RunPool(true, {1, 1, 6, 6}, xv, opt, layout, &shape), max_want, kTol);
    EXPECT_EQ(shape, (std::vector<int64_t>{1, 1, 4, 4}));
    ExpectClose(RunPool(false, {1, 1, 6, 6}, xv, opt, layout), avg_excl, kTol);
    opt.count_include_pad = true;
    ExpectClose(RunPool(false, {1, 1, 6, 6}, xv, opt, layout), avg_cip, kTol);
    opt.ceil_mode = false;
    RunPool(true, {1, 1, 6, 6}, xv, opt, layout, &shape);
    EXPECT_EQ(shape, (std::vector<int64_t>{1, 1, 3, 3}));
  }
}

TEST(PoolTest, CeilModeDropsAWindowStartingInTheTrailingPadding) {
  // H = 5, kernel 2, stride 2, pad 1: ceil((5+2-2)/2)+1 = 4 windows, but the 4th would start at
  // 5 = H + pad_top - 1 + 1, inside the trailing padding only, so it is dropped: 3x3, as floor.
  const std::vector<double> want = {0,         0.6742879, 0.9958808, 0.9612752, 0.7965655,
                                    0.1805963, 0.8987081, 0.9964756, 0.7924272};
  for (bool ceil : {false, true}) {
    std::vector<int64_t> shape;
    auto got =
        RunPool(true, {1, 1, 5, 5}, SinValues(25, 0.37, 0),
                {.kernel = 2, .stride = 2, .pad = 1, .ceil_mode = ceil}, Layout::kNCHW, &shape);
    EXPECT_EQ(shape, (std::vector<int64_t>{1, 1, 3, 3})) << "ceil_mode " << ceil;
    ExpectClose(got, want, kTol);
  }
}

TEST(PoolTest, AvgPoolCountIncludePad) {
  // x = S(16,.37,0).reshape(1,1,4,4); kernel 3, stride 1, pad 1.
  const std::vector<double> cip = {0.2576413,    0.4210694,   0.4681652,  0.3211774,
                                   0.256897,     0.3614545,   0.299521,   0.1733437,
                                   -0.000879238, -0.07042572, -0.1992267, -0.1746423,
                                   -0.218341,    -0.3763948,  -0.4527694, -0.3213767};
  const std::vector<double> excl = {0.5796929,    0.6316041,   0.7022478,  0.7226491,
                                    0.3853455,    0.3614545,   0.299521,   0.2600156,
                                    -0.001318857, -0.07042572, -0.1992267, -0.2619634,
                                    -0.4912673,   -0.5645922,  -0.6791542, -0.7230976};
  for (Layout layout : kBothLayouts) {
    SCOPED_TRACE(LayoutName(layout));
    const std::vector<float> xv = SinValues(16, 0.37, 0);
    ExpectClose(RunPool(false, {1, 1, 4, 4}, xv, {.kernel = 3, .pad = 1, .count_include_pad = true},
                        layout),
                cip, kTol);
    ExpectClose(RunPool(false, {1, 1, 4, 4}, xv, {.kernel = 3, .pad = 1}, layout), excl, kTol);
  }
}

TEST(PoolTest, DilationAndAsymmetricPadding) {
  // x = S(42,.37,0).reshape(1,1,6,7); kernel [2,3], stride [1,2], dilation 2,
  // pad [top 0, left 1, bottom 2, right 0] -> [1,1,6,2].
  const std::vector<double> max_want = {0.8956987,  0.9612752,  0.9593748, 0.9593748,
                                        0.00681464, 0.6793047,  0.9970241, 0.9970241,
                                        -0.8895552, -0.3488752, 0.9970241, 0.9970241};
  const std::vector<double> avg_cip = {0.09914814, 0.3725781,  0.1880605, -0.004792015,
                                       -0.4194871, -0.3644155, 0.5264862, 0.6255308,
                                       -0.3090829, -0.3672287, 0.280219,  0.4115943};
  for (Layout layout : kBothLayouts) {
    SCOPED_TRACE(LayoutName(layout));
    const std::vector<float> xv = SinValues(42, 0.37, 0);
    Pool2dOptions opt{.kernel = {2, 3}, .stride = {1, 2}, .pad = {0, 1, 2, 0}, .dilation = 2};
    std::vector<int64_t> shape;
    ExpectClose(RunPool(true, {1, 1, 6, 7}, xv, opt, layout, &shape), max_want, kTol);
    EXPECT_EQ(shape, (std::vector<int64_t>{1, 1, 6, 2}));
    // avg_pool2d with dilation through the generic op path (the builder only sets it for max).
    const bool nhwc = layout == Layout::kNHWC;
    Builder b("g");
    const std::vector<int64_t> shape_in = LayoutShape(layout, {1, 1, 6, 7});
    Value* x = b.Input("x", DType::kF32, StaticShape(shape_in));
    b.Output(b.Op(OpKind::kAvgPool2d, {x},
                  {{"kernel", std::vector<int64_t>{2, 3}},
                   {"stride", std::vector<int64_t>{1, 2}},
                   {"pad", std::vector<int64_t>{0, 1, 2, 0}},
                   {"dilation", std::vector<int64_t>{2, 2}},
                   {"count_include_pad", true},
                   {"layout", EnumValue{nhwc ? "nhwc" : "nchw"}}})[0]);
    auto res = RunGraph(b, {F32(shape_in, xv)});
    ASSERT_EQ(res.size(), 1u);
    ExpectClose(res[0], avg_cip, kTol);  // C = 1: both layouts share the flat order
  }
}

TEST(PoolTest, GlobalPoolsKeepUnitSpatialDims) {
  // x = S(36,.37,0).reshape(2,3,2,3); mean / max over axes (2, 3).
  const std::vector<double> avg = {0.6481263, -0.002765253, -0.6447829,
                                   0.7823752, -0.3011905,   -0.4182044};
  const std::vector<double> max = {0.9958808, 0.7965655, 0.00681464,
                                   0.9964756, 0.5182282, 0.3742885};
  const std::vector<float> xv = SinValues(36, 0.37, 0);
  for (Layout layout : kBothLayouts) {
    SCOPED_TRACE(LayoutName(layout));
    const bool nhwc = layout == Layout::kNHWC;
    const std::vector<int64_t> shape = LayoutShape(layout, {2, 3, 2, 3});
    Builder b("g");
    Value* x = b.Input("x", DType::kF32, StaticShape(shape));
    Value* ga = b.GlobalAvgPool2d(x, layout);
    Value* gm = b.GlobalMaxPool2d(x, layout);
    ASSERT_NE(gm, nullptr) << b.status().ToString();
    EXPECT_EQ(ga->type().ToString(), nhwc ? "f32[2,1,1,3]" : "f32[2,3,1,1]");
    b.Output(ga);
    b.Output(gm);
    auto res = RunGraph(b, {F32(shape, LayoutValues(layout, xv, {2, 3, 2, 3}))});
    ASSERT_EQ(res.size(), 2u);
    ExpectClose(res[0], avg, kTol);  // [N, C] order in both layouts
    ExpectClose(res[1], max, kTol);
  }
}

TEST(PoolTest, IntegerMaxPoolIsExact) {
  // x[i] = (i * 7) % 11 - 5 on a 4x4 image; kernel 2, stride 2.
  std::vector<double> xv(16);
  for (int i = 0; i < 16; ++i) xv[i] = (i * 7) % 11 - 5;
  // Rows: [-5 2 -2 5] [1 -3 4 0] [-4 3 -1 -5] [2 -2 5 1] -> max of 2x2 blocks.
  Builder b("g");
  Value* x = b.Input("x", DType::kI32, {1, 1, 4, 4});
  Value* y = b.MaxPool2d(x, {.kernel = 2, .stride = 2});
  Value* g = b.GlobalMaxPool2d(x);
  ASSERT_NE(g, nullptr) << b.status().ToString();
  EXPECT_EQ(y->dtype(), DType::kI32);
  b.Output(y);
  b.Output(g);
  auto res = RunGraph(b, {Tensor::FromF64(DType::kI32, {1, 1, 4, 4}, xv)});
  ASSERT_EQ(res.size(), 2u);
  EXPECT_EQ(res[0].ToI64(), (std::vector<int64_t>{2, 5, 3, 5}));
  EXPECT_EQ(res[1].ToI64(), (std::vector<int64_t>{5}));
}

TEST(PoolTest, HalfPrecisionAverage) {
  // f16 input: the mean of 4 values, rounded once to f16.
  Builder b("g");
  Value* x = b.Input("x", DType::kF16, {1, 1, 2, 2});
  b.Output(b.AvgPool2d(x, {.kernel = 2}));
  auto res = RunGraph(
      b, {Tensor::FromF32(DType::kF16, {1, 1, 2, 2}, std::vector<float>{1.0f, 2.0f, 3.0f, 4.5f})});
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].dtype(), DType::kF16);
  ExpectClose(res[0], {2.625}, 0.0);
}

TEST(PoolTest, SymbolicInference) {
  Builder b("g");
  Dim n = b.Sym("N", 1, 32);
  Dim h = b.Sym("H", 1, 512);
  Value* x = b.Input("x", DType::kF16, {n, 64, 112, 112});
  Value* y = b.MaxPool2d(x, {.kernel = 3, .stride = 2, .pad = 1});
  ASSERT_NE(y, nullptr) << b.status().ToString();
  EXPECT_EQ(y->type().ToString(), "f16[N,64,56,56]");
  EXPECT_EQ(y->producer()->GetInts("pad"), (std::vector<int64_t>{1, 1, 1, 1}));
  Value* z = b.GlobalAvgPool2d(b.Input("z", DType::kF32, {n, h, h, 8}), Layout::kNHWC);
  ASSERT_NE(z, nullptr) << b.status().ToString();
  EXPECT_EQ(z->type().ToString(), "f32[N,1,1,8]");
  EXPECT_EQ(GetOpDef(OpKind::kGlobalAvgPool2d).fusion, FusionKind::kReduction);
  EXPECT_EQ(GetOpDef(OpKind::kMaxPool2d).fusion, FusionKind::kOpaque);
}

TEST(PoolTest, Errors) {
  auto pool_error = [](Shape xs, Pool2dOptions opt, bool is_max = true, DType dt = DType::kF32) {
    Builder b("g");
    Value* x = b.Input("x", dt, xs);
    if (is_max)
      b.MaxPool2d(x, opt);
    else
      b.AvgPool2d(x, opt);
    return BuildError(b);
  };
  ExpectError(pool_error({1, 1, 8, 8}, {.kernel = {2, 2, 2}}),
              {"max_pool2d", "attribute 'kernel' must have 2 values, got [2,2,2]"});
  ExpectError(pool_error({1, 1, 8, 8}, {.kernel = 0}), {"attribute 'kernel' values must be >= 1"});
  ExpectError(pool_error({1, 1, 8, 8}, {.kernel = 2, .pad = 2}),
              {"pad [2,2,2,2] must be smaller than the dilated kernel 2x2"});
  ExpectError(pool_error({1, 1, 2, 8}, {.kernel = 3}),
              {"dilated kernel (3) is larger than the padded input height (2)"});
  ExpectError(pool_error({1, 1, 8, 8}, {.kernel = 2}, false, DType::kI32),
              {"avg_pool2d", "dtype i32, expected f32, f16 or bf16"});
  ExpectError(pool_error({1, 8, 8}, {.kernel = 2}), {"expected rank 4"});
  {  // kernel is required.
    Builder b("g");
    b.Op(OpKind::kMaxPool2d, {b.Input("x", DType::kF32, {1, 1, 4, 4})});
    ExpectError(BuildError(b), {"requires attribute 'kernel'"});
  }
  {  // symbolic spatial dims for a windowed pool.
    Builder b("g");
    Dim h = b.Sym("H", 4, 64);
    b.MaxPool2d(b.Input("x", DType::kF32, {1, 3, h, h}), {.kernel = 2});
    ExpectError(BuildError(b), {"symbolic spatial dims", "static H and W"});
  }
}

}  // namespace
}  // namespace kiln::testutil
