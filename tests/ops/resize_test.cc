// Tests of the resize op (src/ops/resize.cc). Expected values were computed on the lent GPU
// machine with PyTorch 2.11 F.interpolate (rows marked torch) and onnxruntime's Resize at opset 13
// (rows marked ort; the two agree within 3e-7 wherever both apply) on float32 inputs
// x[i] = sin(0.37*i + 0.1) (ref_test_util.h). Covers: nearest with each nearest_mode and
// coordinate mode, PyTorch's nearest (asymmetric + floor), bilinear half_pixel /
// pytorch_half_pixel / align_corners, up- and down-sampling with scales or size, nhwc, f16,
// integer nearest, and the errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/ops/ref_test_util.h"

namespace kiln::testutil {
namespace {

constexpr double kTol = 1e-6;

// ResizeOptions by position: its scales and size have no default member initializers, so
// designated initializers that skip them trip -Wmissing-field-initializers.
ResizeOptions Opt(std::string mode, std::vector<double> scales, std::vector<int64_t> size,
                  std::string coordinate_mode = "half_pixel",
                  std::string nearest_mode = "round_prefer_floor", Layout layout = Layout::kNCHW) {
  ResizeOptions o;
  o.mode = std::move(mode);
  o.scales = std::move(scales);
  o.size = std::move(size);
  o.coordinate_mode = std::move(coordinate_mode);
  o.nearest_mode = std::move(nearest_mode);
  o.layout = layout;
  return o;
}

// A_torch_nearest_x2: [1, 2, 4, 6]
const std::vector<double> kNearestX2 = {
    0.099833414,  0.099833414,  0.452886283,  0.452886283,  0.744643092,  0.744643092,
    0.099833414,  0.099833414,  0.452886283,  0.452886283,  0.744643092,  0.744643092,
    0.935616016,  0.935616016,  0.999957621,  0.999957621,  0.928959727,  0.928959727,
    0.935616016,  0.935616016,  0.999957621,  0.999957621,  0.928959727,  0.928959727,
    0.732231438,  0.732231438,  0.436399072,  0.436399072,  0.0815021545, 0.0815021545,
    0.732231438,  0.732231438,  0.436399072,  0.436399072,  0.0815021545, 0.0815021545,
    -0.284425706, -0.284425706, -0.611857891, -0.611857891, -0.856477976, -0.856477976,
    -0.284425706, -0.284425706, -0.611857891, -0.611857891, -0.856477976, -0.856477976};
// B_torch_bilinear_x2: [1, 2, 6, 8]
const std::vector<double> kBilinearX2 = {
    0.099833414,  0.188096628,   0.36462304,   0.5258255,    0.671703875,  0.792386293,
    0.887872815,  0.935616016,   0.324864447,  0.386624515,  0.510144591,  0.614313483,
    0.69913131,   0.758858085,   0.793493867,  0.810811818,  0.774926543,  0.78368026,
    0.801187634,  0.791289628,   0.75398612,   0.691801608,  0.60473609,   0.561203301,
    0.770343781,  0.734161198,   0.661795974,  0.568262339,  0.453560203,  0.325451791,
    0.183937117,  0.113179803,   0.31111601,   0.23806718,   0.0919694752, -0.0547683984,
    -0.2021465,   -0.340191364,  -0.468902946, -0.533258736, 0.0815021545, -0.0099798087,
    -0.192943752, -0.366283745,  -0.529999852, -0.673012853, -0.795322955, -0.856477976,
    -0.985177755, -0.984017909,  -0.981698215, -0.946200728, -0.877525389, -0.780319691,
    -0.654583633, -0.591715574,  -0.803922713, -0.78012979,  -0.732543826, -0.66097641,
    -0.565427423, -0.452362955,  -0.321783066, -0.256493092, -0.441412568, -0.372353375,
    -0.234235004, -0.0905276984, 0.0587685555, 0.203550473,  0.343818069,  0.413951874,
    0.0393818617, 0.112018079,   0.257290483,  0.391399384,  0.514344811,  0.617806613,
    0.701784909,  0.743774116,   0.638460577,  0.6729846,    0.742032707,  0.784804881,
    0.801301301,  0.790405512,   0.752117515,  0.732973576,  0.937999964,  0.953467965,
    0.984403849,  0.981507719,   0.944779575,  0.876704931,  0.777283847,  0.727573276};
// C_torch_bilinear_size53: [1, 1, 5, 3]
const std::vector<double> kBilinearSize53 = {0.276359856,  0.840129554,  0.964458704,  0.491928637,
                                             0.181015596,  -0.22458005,  -0.199271411, -0.40945673,
                                             -0.405470401, -0.506781816, -0.211535498, 0.194357246,
                                             0.604062915,  0.968935847,  0.826994419};
// D_torch_align_size57: [1, 1, 5, 7]
const std::vector<double> kAlignCornersSize57 = {
    0.099833414,  0.276359856,  0.452886283,   0.598764658,  0.744643092,  0.840129554,
    0.935616016,  0.549895525,  0.62040925,    0.690922976,  0.714680135,  0.738437295,
    0.712222397,  0.686007559,  0.999957621,   0.964458704,  0.928959727,  0.830595613,
    0.732231438,  0.58431524,   0.436399072,   0.54072988,   0.431498468,  0.322266996,
    0.1912269,    0.0601867735, -0.0749263465, -0.210039452, 0.0815021545, -0.101461776,
    -0.284425706, -0.448141813, -0.611857891,  -0.734167933, -0.856477976};
// E_ort_half_pixel_size35_round_prefer_floor: [1, 1, 3, 5]
const std::vector<double> kNearestPreferFloor = {
    0.099833414,  0.099833414,  0.452886283,  0.744643092,  0.744643092,
    0.935616016,  0.935616016,  0.999957621,  0.928959727,  0.928959727,
    -0.284425706, -0.284425706, -0.611857891, -0.856477976, -0.856477976};
// E_ort_half_pixel_size35_round_prefer_ceil: [1, 1, 3, 5]
const std::vector<double> kNearestPreferCeil = {
    0.099833414,  0.099833414,  0.452886283,  0.744643092,  0.744643092,
    0.732231438,  0.732231438,  0.436399072,  0.0815021545, 0.0815021545,
    -0.284425706, -0.284425706, -0.611857891, -0.856477976, -0.856477976};
// E_ort_half_pixel_size35_floor: [1, 1, 3, 5]
const std::vector<double> kNearestFloor = {0.099833414, 0.099833414, 0.452886283, 0.452886283,
                                           0.744643092, 0.935616016, 0.935616016, 0.999957621,
                                           0.999957621, 0.928959727, 0.732231438, 0.732231438,
                                           0.436399072, 0.436399072, 0.0815021545};
// E_ort_half_pixel_size35_ceil: [1, 1, 3, 5]
const std::vector<double> kNearestCeil = {0.935616016,  0.999957621,  0.999957621,  0.928959727,
                                          0.928959727,  0.732231438,  0.436399072,  0.436399072,
                                          0.0815021545, 0.0815021545, -0.284425706, -0.611857891,
                                          -0.611857891, -0.856477976, -0.856477976};
// F_ort_nearest_scales_1.5_0.5: [1, 1, 6, 3]
const std::vector<double> kNearestScales = {
    0.099833414,  0.744643092,  0.999957621,  0.099833414,  0.744643092,  0.999957621,
    0.732231438,  0.0815021545, -0.611857891, -0.985177755, -0.843187749, -0.260157496,
    -0.985177755, -0.843187749, -0.260157496, 0.458951473,  0.937999964,  0.926415503};
// F_torch_linear_sf_1.5_0.5: [1, 1, 6, 3]
const std::vector<double> kBilinearScales = {
    0.276359856,  0.840129554,  0.964458704,  0.430337578,  0.369333893,  0.115145385,
    0.323119581,  -0.204126805, -0.624602079, -0.721662581, -0.614786685, -0.186338723,
    -0.189397573, 0.125742078,  0.375110745,  0.604062915,  0.968935907,  0.826994419};
// G_ort_align_nearest_size35: [1, 1, 3, 5]
const std::vector<double> kNearestAlignCorners = {
    0.099833414,  0.452886283,  0.452886283,  0.744643092,  0.744643092,
    0.732231438,  0.436399072,  0.436399072,  0.0815021545, 0.0815021545,
    -0.284425706, -0.611857891, -0.611857891, -0.856477976, -0.856477976};

// Runs resize on an nchw f32 input of SinValues(·, 0.37, 0.1). For nhwc the input is transposed
// and the result transposed back, so the same expected values apply. Returns the nchw output
// values and shape.
std::vector<double> RunResize(const std::vector<int64_t>& xs, ResizeOptions opt, Layout layout,
                              std::vector<int64_t>* out_shape, DType dtype = DType::kF32) {
  opt.layout = layout;
  const std::vector<int64_t> shape = LayoutShape(layout, xs);
  const std::vector<float> xv = LayoutValues(layout, SinValues(NumElements(xs), 0.37, 0.1), xs);
  Builder b("g");
  auto res = RunOutput(b, b.Resize(b.Input("x", dtype, StaticShape(shape)), opt),
                       {Tensor::FromF32(dtype, shape, xv)});
  if (res.empty()) return {};
  return NchwValues(res[0], layout, out_shape);
}

// Checks both layouts against `want` with output shape `want_shape` (nchw).
void Check(const std::vector<int64_t>& xs, const ResizeOptions& opt,
           const std::vector<int64_t>& want_shape, const std::vector<double>& want) {
  for (Layout layout : kBothLayouts) {
    SCOPED_TRACE(LayoutName(layout));
    std::vector<int64_t> shape;
    std::vector<double> got = RunResize(xs, opt, layout, &shape);
    EXPECT_EQ(shape, want_shape);
    ExpectClose(got, want, kTol);
  }
}

TEST(ResizeTest, NearestAsymmetricFloorIsTorchNearest) {
  Check({1, 2, 2, 3}, Opt("nearest", {2, 2}, {}, "asymmetric", "floor"), {1, 2, 4, 6}, kNearestX2);
}

TEST(ResizeTest, BilinearHalfPixelIsTorchBilinear) {
  for (const char* coord : {"half_pixel", "pytorch_half_pixel"}) {
    SCOPED_TRACE(coord);
    Check({1, 2, 3, 4}, Opt("bilinear", {2, 2}, {}, coord), {1, 2, 6, 8}, kBilinearX2);
  }
}

TEST(ResizeTest, BilinearSizeUpAndDown) {
  // H 4 -> 5 (up), W 6 -> 3 (down); scale = out/in.
  for (const char* coord : {"half_pixel", "pytorch_half_pixel"}) {
    SCOPED_TRACE(coord);
    Check({1, 1, 4, 6}, Opt("bilinear", {}, {5, 3}, coord), {1, 1, 5, 3}, kBilinearSize53);
  }
}

TEST(ResizeTest, BilinearNonIntegerScales) {
  // floor(4*1.5) = 6, floor(6*0.5) = 3; the coordinates use the given scales.
  Check({1, 1, 4, 6}, Opt("bilinear", {1.5, 0.5}, {}), {1, 1, 6, 3}, kBilinearScales);
}

TEST(ResizeTest, BilinearAlignCorners) {
  Check({1, 1, 3, 4}, Opt("bilinear", {}, {5, 7}, "align_corners"), {1, 1, 5, 7},
        kAlignCornersSize57);
}

TEST(ResizeTest, NearestModes) {
  // H 4 -> 3 and W 3 -> 5 with half_pixel: source coords 1/6, 3/2, 17/6 and -0.2, 0.4, 1.0,
  // 1.6, 2.2, so both ties (1.5) and plain rounding are exercised.
  const std::vector<std::pair<const char*, const std::vector<double>*>> cases = {
      {"round_prefer_floor", &kNearestPreferFloor},
      {"round_prefer_ceil", &kNearestPreferCeil},
      {"floor", &kNearestFloor},
      {"ceil", &kNearestCeil}};
  for (const auto& [mode, want] : cases) {
    SCOPED_TRACE(mode);
    Check({1, 1, 4, 3}, Opt("nearest", {}, {3, 5}, "half_pixel", mode), {1, 1, 3, 5}, *want);
  }
}

TEST(ResizeTest, NearestDefaultModesWithScales) {
  Check({1, 1, 4, 6}, Opt("nearest", {1.5, 0.5}, {}), {1, 1, 6, 3}, kNearestScales);
}

TEST(ResizeTest, NearestAlignCorners) {
  Check({1, 1, 4, 3}, Opt("nearest", {}, {3, 5}, "align_corners", "round_prefer_ceil"),
        {1, 1, 3, 5}, kNearestAlignCorners);
}

TEST(ResizeTest, F16Bilinear) {
  // f16 in and out: the f32 expectation holds to f16 rounding of the inputs and of the result
  // (values are below 1, so a few 2^-11 absolute).
  std::vector<int64_t> shape;
  std::vector<double> got =
      RunResize({1, 2, 3, 4}, Opt("bilinear", {2, 2}, {}), Layout::kNCHW, &shape, DType::kF16);
  EXPECT_EQ(shape, (std::vector<int64_t>{1, 2, 6, 8}));
  ExpectClose(got, kBilinearX2, 1.5e-3);
}

TEST(ResizeTest, IntegerNearestIsExactAndSymbolicBatchInfers) {
  Builder b("g");
  Dim n = b.Sym("N", 1, 8);
  Value* y = b.Resize(b.Input("x", DType::kI64, {n, 1, 2, 2}),
                      Opt("nearest", {2, 1.5}, {}, "asymmetric", "floor"));
  ASSERT_NE(y, nullptr) << b.status().ToString();
  EXPECT_EQ(y->type().ToString(), "i64[N,1,4,3]");
  b.Output(y);
  // 2^60 + k does not survive a trip through double: the nearest path copies bytes.
  const int64_t big = int64_t{1} << 60;
  Tensor x(DType::kI64, {2, 1, 2, 2});
  for (int64_t i = 0; i < 8; ++i) x.mutable_data_as<int64_t>()[i] = big + i;
  auto out = RunGraph(b, {x});
  ASSERT_EQ(out.size(), 1u);
  // Rows: floor(i/2) -> 0,0,1,1; cols: floor(j/1.5) -> 0,0,1.
  std::vector<int64_t> want;
  for (int64_t batch = 0; batch < 2; ++batch) {
    for (int64_t r : {0, 0, 1, 1}) {
      for (int64_t c : {0, 0, 1}) want.push_back(big + batch * 4 + r * 2 + c);
    }
  }
  EXPECT_EQ(out[0].ToI64(), want);
}

TEST(ResizeTest, Errors) {
  auto error = [](DType dtype, Shape shape, const ResizeOptions& opt) {
    Builder b("g");
    b.Resize(b.Input("x", dtype, std::move(shape)), opt);
    return BuildError(b);
  };
  ExpectError(error(DType::kF32, {1, 1, 2, 2}, Opt("nearest", {2, 2}, {4, 4})),
              {"resize", "give exactly one of scales and size, got both"});
  ExpectError(error(DType::kF32, {1, 1, 2, 2}, Opt("nearest", {}, {})),
              {"give exactly one of scales and size, got neither"});
  ExpectError(error(DType::kF32, {1, 1, 2, 2}, Opt("nearest", {2, 2, 2}, {})),
              {"scales has 3 values, expected 2"});
  ExpectError(error(DType::kF32, {1, 1, 2, 2}, Opt("nearest", {}, {4})),
              {"size has 1 values, expected 2"});
  ExpectError(error(DType::kF32, {1, 1, 2, 2}, Opt("nearest", {0.25, 1}, {})),
              {"output spatial dim 2 would be 0"});
  ExpectError(error(DType::kF32, {1, 1, 2, 2}, Opt("nearest", {-1, 1}, {})), {"must be positive"});
  ExpectError(error(DType::kI32, {1, 1, 2, 2}, Opt("bilinear", {2, 2}, {})),
              {"bilinear resize needs a float operand", "i32[1,1,2,2]"});
  ExpectError(error(DType::kF32, {1, 2, 2}, Opt("nearest", {2, 2}, {})), {"expected rank 4"});

  Builder b("g");
  Dim h = b.Sym("H", 1, 64);
  b.Resize(b.Input("x", DType::kF32, {1, 3, h, 8}), Opt("nearest", {2, 2}, {}));
  ExpectError(BuildError(b), {"spatial dim 2", "is symbolic (H)", "needs it static"});
  // In nhwc the spatial dims are 1 and 2, so a symbolic dim 3 (channels) is fine.
  Builder c("g");
  Dim ch = c.Sym("C", 1, 64);
  Value* y =
      c.Resize(c.Input("x", DType::kF32, {1, 2, 3, ch}),
               Opt("nearest", {2, 2}, {}, "half_pixel", "round_prefer_floor", Layout::kNHWC));
  ASSERT_NE(y, nullptr) << c.status().ToString();
  EXPECT_EQ(y->type().ToString(), "f32[1,4,6,C]");
}

}  // namespace
}  // namespace kiln::testutil
