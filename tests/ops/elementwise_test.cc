// Tests of the elementwise op family (src/ops/elementwise.cc): shape/dtype inference (static and
// symbolic, through the Builder and Graph::AddNode), the CPU references against values computed
// with numpy (math.erf for erf/gelu), integer exactness, and the error messages.
//
// Tolerances: f32 outputs within 1e-6 relative (to max(1, |expected|)); f16 within 1e-3 and bf16
// within 4e-3 relative (just above half an ulp: 2^-11 and 2^-9); integers and bools exact.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "tests/ops/ref_test_util.h"

namespace kiln::testutil {
namespace {

constexpr double kF32Tol = 1e-6;
constexpr double kF16Tol = 1e-3;
constexpr double kBF16Tol = 4e-3;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------------------------- unary

struct UnaryCase {
  const char* name;
  std::function<Value*(Builder&, Value*)> make;
  bool positive_input;  // log, sqrt, rsqrt
  std::vector<double> expected;
};

TEST(ElementwiseTest, UnaryF32MatchesNumpy) {
  const std::vector<double> x = {-2.5, -1.0, -0.3, 0.0, 0.5, 1.7};
  const std::vector<double> pos = {0.25, 1.0, 2.0, 3.5, 10.0, 0.01};
  const std::vector<UnaryCase> cases = {
      {"abs", &Builder::Abs, false, {2.5, 1, 0.300000012, 0, 0.5, 1.70000005}},
      {"erf",
       &Builder::Erf,
       false,
       {-0.999593048, -0.842700793, -0.328626772, 0, 0.520499878, 0.983790462}},
      {"exp",
       &Builder::Exp,
       false,
       {0.0820849986, 0.367879441, 0.740818212, 1, 1.64872127, 5.47394765}},
      {"log",
       &Builder::Log,
       true,
       {-1.38629436, 0, 0.693147181, 1.25276297, 2.30258509, -4.60517021}},
      {"neg", &Builder::Neg, false, {2.5, 1, 0.300000012, -0.0, -0.5, -1.70000005}},
      {"relu", &Builder::Relu, false, {0, 0, 0, 0, 0.5, 1.70000005}},
      {"rsqrt", &Builder::Rsqrt, true, {2, 1, 0.707106781, 0.534522484, 0.316227766, 10.0000001}},
      {"sigmoid",
       &Builder::Sigmoid,
       false,
       {0.07585818, 0.268941421, 0.42555748, 0.5, 0.622459331, 0.845534741}},
      {"silu",
       &Builder::Silu,
       false,
       {-0.18964545, -0.268941421, -0.127667249, 0, 0.311229666, 1.4374091}},
      {"sqrt", &Builder::Sqrt, true, {0.5, 1, 1.41421356, 1.87082869, 3.16227766, 0.0999999989}},
      {"tanh",
       &Builder::Tanh,
       false,
       {-0.986614298, -0.761594156, -0.291312623, 0, 0.462117157, 0.935409077}},
      {"gelu",
       [](Builder& b, Value* v) { return b.Gelu(v); },
       false,
       {-0.0155241633, -0.158655254, -0.114626577, 0, 0.345731231, 1.62423877}},
      {"gelu_tanh",
       [](Builder& b, Value* v) { return b.Gelu(v, true); },
       false,
       {-0.0150842661, -0.158808009, -0.11462908, 0, 0.34571401, 1.62410595}},
      {"clip",
       [](Builder& b, Value* v) { return b.Clip(v, -1.0, 0.75); },
       false,
       {-1, -1, -0.300000012, 0, 0.5, 0.75}},
  };
  for (const UnaryCase& c : cases) {
    SCOPED_TRACE(c.name);
    Builder b("unary");
    b.Output(c.make(b, b.Input("x", DType::kF32, {2, 3})));
    std::vector<Tensor> out = RunGraph(b, {F32({2, 3}, c.positive_input ? pos : x)});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].TypeString(), "f32[2,3]");
    ExpectClose(out[0], c.expected, kF32Tol);
  }
}

TEST(ElementwiseTest, UnaryKeepsHalfAndBFloat16) {
  // Inputs exactly representable in f16 and bf16; expected values are exact (numpy float64).
  const std::vector<double> x = {-1.25, 0.5, 2.0, 3.75};
  const std::vector<double> exp = {0.286504797, 1.64872127, 7.3890561, 42.521082};
  const std::vector<double> silu = {-0.278375174, 0.311229666, 1.76159416, 3.66383486};
  const std::vector<double> gelu = {-0.132062217, 0.345731231, 1.95449974, 3.74966844};
  for (DType dt : {DType::kF16, DType::kBF16}) {
    SCOPED_TRACE(DTypeName(dt));
    const double tol = dt == DType::kF16 ? kF16Tol : kBF16Tol;
    Builder b("half");
    Value* in = b.Input("x", dt, {4});
    b.Output(b.Exp(in));
    b.Output(b.Silu(in));
    b.Output(b.Gelu(in));
    std::vector<Tensor> out = RunGraph(b, {Tensor::FromF64(dt, {4}, x)});
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].dtype(), dt);
    ExpectClose(out[0], exp, tol);
    ExpectClose(out[1], silu, tol);
    ExpectClose(out[2], gelu, tol);
  }
}

TEST(ElementwiseTest, IntegerAbsNegReluClip) {
  Builder b("int_unary");
  Value* x = b.Input("x", DType::kI32, {5});
  b.Output(b.Abs(x));
  b.Output(b.Neg(x));
  b.Output(b.Relu(x));
  b.Output(b.Clip(x, -2.5, 4.5));  // integer bounds: ceil(-2.5) = -2, floor(4.5) = 4
  Value* s = b.Input("s", DType::kI8, {2});
  b.Output(b.Abs(s));  // |-128| wraps to -128 in i8, as numpy
  Value* u = b.Input("u", DType::kU8, {3});
  b.Output(b.Neg(u));
  b.Output(b.Clip(u, -10.0, 300.0));  // bounds outside u8 clamp to its range: values unchanged
  std::vector<Tensor> out =
      RunGraph(b, {Tensor::FromF64(DType::kI32, {5}, std::vector<double>{-5, -1, 0, 3, 7}),
                   Tensor::FromF64(DType::kI8, {2}, std::vector<double>{-128, -7}),
                   Tensor::FromF64(DType::kU8, {3}, std::vector<double>{0, 1, 255})});
  ASSERT_EQ(out.size(), 7u);
  EXPECT_EQ(out[0].dtype(), DType::kI32);
  EXPECT_EQ(out[0].ToI64(), (std::vector<int64_t>{5, 1, 0, 3, 7}));
  EXPECT_EQ(out[1].ToI64(), (std::vector<int64_t>{5, 1, 0, -3, -7}));
  EXPECT_EQ(out[2].ToI64(), (std::vector<int64_t>{0, 0, 0, 3, 7}));
  EXPECT_EQ(out[3].ToI64(), (std::vector<int64_t>{-2, -1, 0, 3, 4}));
  EXPECT_EQ(out[4].ToI64(), (std::vector<int64_t>{-128, 7}));
  EXPECT_EQ(out[5].ToI64(), (std::vector<int64_t>{0, 255, 1}));
  EXPECT_EQ(out[6].ToI64(), (std::vector<int64_t>{0, 1, 255}));
}

// ---------------------------------------------------------------------------------- binary

TEST(ElementwiseTest, BinaryBroadcastsTrailingAxis) {
  using BinaryFn = Value* (Builder::*)(Value*, Value*);
  const std::vector<double> a = {1.5, -2.0, 3.0, 4.0, 0.5, -6.0};
  const std::vector<double> bv = {2.0, -0.5, 4.0};
  const std::vector<std::tuple<const char*, BinaryFn, std::vector<double>>> cases = {
      {"add", &Builder::Add, {3.5, -2.5, 7, 6, 0, -2}},
      {"sub", &Builder::Sub, {-0.5, -1.5, -1, 2, 1, -10}},
      {"mul", &Builder::Mul, {3, 1, 12, 8, -0.25, -24}},
      {"div", &Builder::Div, {0.75, 4, 0.75, 2, -1, -1.5}},
      {"max", &Builder::Max, {2, -0.5, 4, 4, 0.5, 4}},
      {"min", &Builder::Min, {1.5, -2, 3, 2, -0.5, -6}},
  };
  for (const auto& [name, fn, expected] : cases) {
    SCOPED_TRACE(name);
    Builder b("binary");
    Value* x = b.Input("a", DType::kF32, {2, 3});
    Value* y = b.Input("b", DType::kF32, {3});
    b.Output((b.*fn)(x, y));
    std::vector<Tensor> out = RunGraph(b, {F32({2, 3}, a), F32({3}, bv)});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].TypeString(), "f32[2,3]");
    ExpectClose(out[0], expected, kF32Tol);
  }
  Builder b("pow");
  Value* pa = b.Input("a", DType::kF32, {2, 3});
  b.Output(b.Pow(pa, b.Input("b", DType::kF32, {3})));
  std::vector<Tensor> out =
      RunGraph(b, {F32({2, 3}, {1.5, 2.0, 3.0, 4.0, 0.5, 9.0}), F32({3}, {2.0, -0.5, 0.5})});
  ASSERT_EQ(out.size(), 1u);
  ExpectClose(out[0], {2.25, 0.707106781, 1.73205081, 16, 1.41421356, 3}, kF32Tol);
}

TEST(ElementwiseTest, BinaryBroadcastsRankMismatchAndSizeOneDims) {
  // [2,1,3] * [4,1] -> [2,4,3]: b gains a leading axis, both size-1 axes stretch.
  Builder b("rank");
  Value* a = b.Input("a", DType::kF32, {2, 1, 3});
  b.Output(b.Mul(a, b.Input("b", DType::kF32, {4, 1})));
  std::vector<Tensor> out = RunGraph(
      b, {F32({2, 1, 3}, {-2.5, -1.5, -0.5, 0.5, 1.5, 2.5}), F32({4, 1}, {1, -2, 0.5, 3})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].TypeString(), "f32[2,4,3]");
  ExpectClose(out[0], {-2.5, -1.5, -0.5, 5,  3,  1,  -1.25, -0.75, -0.25, -7.5, -4.5, -1.5,
                       0.5,  1.5,  2.5,  -1, -3, -5, 0.25,  0.75,  1.25,  1.5,  4.5,  7.5},
              kF32Tol);
}

TEST(ElementwiseTest, BinaryF16AndBF16KeepTheirDType) {
  for (DType dt : {DType::kF16, DType::kBF16}) {
    SCOPED_TRACE(DTypeName(dt));
    Builder b("half");
    Value* x = b.Input("a", dt, {3});
    Value* y = b.Input("b", dt, {1});
    b.Output(b.Div(x, y));
    b.Output(b.Less(x, y));
    std::vector<Tensor> out =
        RunGraph(b, {Tensor::FromF64(dt, {3}, std::vector<double>{1, -2.5, 6}),
                     Tensor::FromF64(dt, {1}, std::vector<double>{3})});
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].dtype(), dt);
    ExpectClose(out[0], {1.0 / 3.0, -2.5 / 3.0, 2.0}, dt == DType::kF16 ? kF16Tol : kBF16Tol);
    EXPECT_EQ(out[1].dtype(), DType::kBool);
    EXPECT_EQ(out[1].ToI64(), (std::vector<int64_t>{1, 1, 0}));
  }
}

TEST(ElementwiseTest, MaxMinPropagateNaN) {
  Builder b("nan");
  Value* x = b.Input("a", DType::kF32, {2});
  Value* y = b.Input("b", DType::kF32, {2});
  b.Output(b.Max(x, y));
  b.Output(b.Min(x, y));
  std::vector<Tensor> out = RunGraph(b, {F32({2}, {kNaN, 1.0}), F32({2}, {1.0, kNaN})});
  ASSERT_EQ(out.size(), 2u);
  ExpectClose(out[0], {kNaN, kNaN}, kF32Tol);
  ExpectClose(out[1], {kNaN, kNaN}, kF32Tol);
}

TEST(ElementwiseTest, IntegerArithmeticIsExact) {
  Builder b("int");
  Value* x = b.Input("a", DType::kI32, {6});
  Value* y = b.Input("b", DType::kI32, {6});
  for (auto fn :
       {&Builder::Add, &Builder::Sub, &Builder::Mul, &Builder::Div, &Builder::Max, &Builder::Min}) {
    b.Output((b.*fn)(x, y));
  }
  std::vector<Tensor> out =
      RunGraph(b, {Tensor::FromF64(DType::kI32, {6}, std::vector<double>{7, -7, 7, -7, 100, 0}),
                   Tensor::FromF64(DType::kI32, {6}, std::vector<double>{2, 2, -2, -2, 3, 5})});
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[0].dtype(), DType::kI32);
  EXPECT_EQ(out[0].ToI64(), (std::vector<int64_t>{9, -5, 5, -9, 103, 5}));
  EXPECT_EQ(out[1].ToI64(), (std::vector<int64_t>{5, -9, 9, -5, 97, -5}));
  EXPECT_EQ(out[2].ToI64(), (std::vector<int64_t>{14, -14, -14, 14, 300, 0}));
  // Truncation toward zero, as C (numpy's // would give -4 for -7 // 2).
  EXPECT_EQ(out[3].ToI64(), (std::vector<int64_t>{3, -3, -3, 3, 33, 0}));
  EXPECT_EQ(out[4].ToI64(), (std::vector<int64_t>{7, 2, 7, -2, 100, 5}));
  EXPECT_EQ(out[5].ToI64(), (std::vector<int64_t>{2, -7, -2, -7, 3, 0}));
}

TEST(ElementwiseTest, IntegerPowAndWrapAround) {
  Builder b("int");
  Value* x = b.Input("a", DType::kI32, {3});
  Value* y = b.Input("b", DType::kI32, {3});
  b.Output(b.Pow(x, y));
  Value* s = b.Input("s", DType::kI8, {2});
  b.Output(b.Add(s, s));  // i8: 100 + 100 wraps to -56
  Value* u = b.Input("u", DType::kU8, {1});
  Value* v = b.Input("v", DType::kU8, {1});
  b.Output(b.Sub(u, v));  // u8: 3 - 5 wraps to 254
  std::vector<Tensor> out =
      RunGraph(b, {Tensor::FromF64(DType::kI32, {3}, std::vector<double>{3, -2, 5}),
                   Tensor::FromF64(DType::kI32, {3}, std::vector<double>{4, 3, 0}),
                   Tensor::FromF64(DType::kI8, {2}, std::vector<double>{100, -3}),
                   Tensor::FromF64(DType::kU8, {1}, std::vector<double>{3}),
                   Tensor::FromF64(DType::kU8, {1}, std::vector<double>{5})});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].ToI64(), (std::vector<int64_t>{81, -8, 1}));
  EXPECT_EQ(out[1].ToI64(), (std::vector<int64_t>{-56, -6}));
  EXPECT_EQ(out[2].ToI64(), (std::vector<int64_t>{254}));
}

TEST(ElementwiseTest, I64AboveTwoToThe53IsExact) {
  // 2^53 + 1 is not a double: a detour through double would give ...992 and ...994.
  const int64_t big = 9007199254740993;
  Builder b("i64");
  Value* x = b.Input("a", DType::kI64, {3});
  Value* y = b.Input("b", DType::kI64, {3});
  b.Output(b.Add(x, y));
  b.Output(b.Mul(x, y));
  b.Output(b.Equal(x, y));
  b.Output(b.Max(x, y));
  std::vector<Tensor> out =
      RunGraph(b, {I64({3}, {big, 3037000499, big}), I64({3}, {2, 3037000499, big - 1})});
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].ToI64(), (std::vector<int64_t>{big + 2, 6074000998, 2 * big - 1}));
  EXPECT_EQ(out[1].ToI64()[0], 2 * big);
  EXPECT_EQ(out[1].ToI64()[1], 9223372030926249001);
  EXPECT_EQ(out[2].ToI64(), (std::vector<int64_t>{0, 1, 0}));
  EXPECT_EQ(out[3].ToI64(), (std::vector<int64_t>{big, 3037000499, big}));
}

TEST(ElementwiseTest, IntegerDataErrorsNameTheElement) {
  Builder b("div0");
  Value* a = b.Input("a", DType::kI32, {2});
  b.Output(b.Div(a, b.Input("b", DType::kI32, {2})));
  ExpectMessage(RunError(b, {Tensor::FromF64(DType::kI32, {2}, std::vector<double>{4, 5}),
                             Tensor::FromF64(DType::kI32, {2}, std::vector<double>{2, 0})}),
                "integer division by zero at output element 1 (5, 0)");
  Builder p("pow");
  Value* base = p.Input("a", DType::kI64, {1});
  p.Output(p.Pow(base, p.Input("b", DType::kI64, {1})));
  ExpectMessage(RunError(p, {I64({1}, {7}), I64({1}, {-2})}),
                "integer pow with a negative exponent at output element 0 (7, -2)");
}

// ---------------------------------------------------------------------------------- compare, where

TEST(ElementwiseTest, ComparisonsGiveBool) {
  using BinaryFn = Value* (Builder::*)(Value*, Value*);
  const std::vector<std::tuple<const char*, BinaryFn, std::vector<int64_t>>> cases = {
      {"equal", &Builder::Equal, {0, 1, 0, 0, 1, 0, 0}},
      {"not_equal", &Builder::NotEqual, {1, 0, 1, 1, 0, 1, 1}},
      {"less", &Builder::Less, {1, 0, 0, 0, 0, 1, 0}},
      {"less_equal", &Builder::LessEqual, {1, 1, 0, 0, 1, 1, 0}},
      {"greater", &Builder::Greater, {0, 0, 1, 1, 0, 0, 0}},
      {"greater_equal", &Builder::GreaterEqual, {0, 1, 1, 1, 1, 0, 0}},
  };
  for (DType dt : {DType::kF32, DType::kI32}) {
    for (const auto& [name, fn, expected] : cases) {
      SCOPED_TRACE(std::string(name) + " " + std::string(DTypeName(dt)));
      Builder b("cmp");
      Value* a = b.Input("a", dt, {7});
      b.Output((b.*fn)(a, b.Input("b", dt, {1})));
      // The last element is NaN for f32 (every comparison false but not_equal) and 9 for i32.
      double last = dt == DType::kF32 ? kNaN : 9;
      std::vector<Tensor> out =
          RunGraph(b, {Tensor::FromF64(dt, {7}, std::vector<double>{1, 2, 3, 3, 2, 1, last}),
                       Tensor::FromF64(dt, {1}, std::vector<double>{2})});
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(out[0].TypeString(), "bool[7]");
      std::vector<int64_t> want = expected;
      if (dt == DType::kI32) want[6] = want[2];  // 9 compares with 2 like 3 does
      EXPECT_EQ(out[0].ToI64(), want);
    }
  }
}

TEST(ElementwiseTest, WhereBroadcastsThreeWays) {
  // cond [2,1], x [3], y [] -> [2,3].
  Builder b("where");
  Value* c = b.Input("c", DType::kBool, {2, 1});
  Value* x = b.Input("x", DType::kF32, {3});
  b.Output(b.Where(c, x, b.Input("y", DType::kF32, {})));
  Value* xi = b.Input("xi", DType::kI64, {2});
  Value* ci = b.Input("ci", DType::kBool, {2});
  b.Output(b.Where(ci, xi, b.Input("yi", DType::kI64, {1})));
  std::vector<Tensor> out =
      RunGraph(b, {Tensor::FromF64(DType::kBool, {2, 1}, std::vector<double>{1, 0}),
                   F32({3}, {1.5, -2, 3}), F32({}, {7}), I64({2}, {9007199254740993, 5}),
                   Tensor::FromF64(DType::kBool, {2}, std::vector<double>{1, 0}), I64({1}, {-1})});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].TypeString(), "f32[2,3]");
  ExpectClose(out[0], {1.5, -2, 3, 7, 7, 7}, 0);
  EXPECT_EQ(out[1].ToI64(), (std::vector<int64_t>{9007199254740993, -1}));
}

// ---------------------------------------------------------------------------------- cast

TEST(ElementwiseTest, CastConvertsLikeC) {
  Builder b("cast");
  Value* f = b.Input("f", DType::kF32, {5});
  b.Output(b.Cast(f, DType::kI32));   // truncation toward zero
  b.Output(b.Cast(f, DType::kBool));  // nonzero (NaN included) -> true
  b.Output(b.Cast(f, DType::kF16));   // round to nearest even
  b.Output(b.Cast(f, DType::kBF16));
  Value* i = b.Input("i", DType::kI64, {3});
  b.Output(b.Cast(i, DType::kI8));  // wraps: 300 -> 44, -129 -> 127
  b.Output(b.Cast(i, DType::kF32));
  b.Output(b.Cast(b.Input("c", DType::kBool, {2}), DType::kF32));
  std::vector<Tensor> out =
      RunGraph(b, {F32({5}, {-2.7, 2.7, -0.5, 0.1, kNaN}), I64({3}, {300, -129, 127}),
                   Tensor::FromF64(DType::kBool, {2}, std::vector<double>{1, 0})});
  ASSERT_EQ(out.size(), 7u);
  EXPECT_EQ(out[0].TypeString(), "i32[5]");
  EXPECT_EQ(out[0].ToI64(), (std::vector<int64_t>{-2, 2, 0, 0, 0}));  // NaN -> 0
  EXPECT_EQ(out[1].ToI64(), (std::vector<int64_t>{1, 1, 1, 1, 1}));
  EXPECT_EQ(out[2].dtype(), DType::kF16);
  // numpy: np.float16(np.float32(x)); bf16 by round-to-nearest-even of the f32 bits.
  ExpectClose(out[2], {-2.69921875, 2.69921875, -0.5, 0.0999755859375, kNaN}, 0);
  ExpectClose(out[3], {-2.703125, 2.703125, -0.5, 0.10009765625, kNaN}, 0);
  EXPECT_EQ(out[4].ToI64(), (std::vector<int64_t>{44, 127, 127}));
  ExpectClose(out[5], {300, -129, 127}, 0);
  ExpectClose(out[6], {1, 0}, 0);
}

// ---------------------------------------------------------------------------------- symbolic dims

TEST(ElementwiseTest, SymbolicDimsPropagate) {
  Builder b("sym");
  Dim n = b.Sym("N", 1, 8);
  Value* x = b.Input("x", DType::kF32, {n, 3});
  Value* col = b.Input("col", DType::kF32, {n, 1});
  Value* add = b.Add(x, b.Input("row", DType::kF32, {3}));
  Value* outer = b.Mul(col, b.Input("r4", DType::kF32, {1, 4}));
  Value* cmp = b.Less(x, add);
  Value* sel = b.Where(cmp, x, b.Input("s", DType::kF32, {}));
  Value* ex = b.Exp(x);
  Value* cast = b.Cast(x, DType::kF16);
  ASSERT_TRUE(b.status().ok()) << b.status().ToString();
  EXPECT_EQ(add->type().ToString(), "f32[N,3]");
  EXPECT_EQ(outer->type().ToString(), "f32[N,4]");
  EXPECT_EQ(cmp->type().ToString(), "bool[N,3]");
  EXPECT_EQ(sel->type().ToString(), "f32[N,3]");
  EXPECT_EQ(ex->type().ToString(), "f32[N,3]");
  EXPECT_EQ(cast->type().ToString(), "f16[N,3]");
  b.Output(add);
  b.Output(outer);
  // Bound at run time: N = 2.
  std::vector<Tensor> out =
      RunGraph(b, {F32({2, 3}, {1, 2, 3, 4, 5, 6}), F32({2, 1}, {1, -1}), F32({3}, {10, 20, 30}),
                   F32({1, 4}, {1, 2, 3, 4}), F32({}, {0})});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].TypeString(), "f32[2,3]");
  ExpectClose(out[0], {11, 22, 33, 14, 25, 36}, 0);
  ExpectClose(out[1], {1, 2, 3, 4, -1, -2, -3, -4}, 0);
}

// ---------------------------------------------------------------------------------- errors

TEST(ElementwiseTest, DTypeMismatchIsAnError) {
  Builder b("e");
  Value* a = b.Input("a", DType::kF32, {2});
  b.Add(a, b.Input("b", DType::kF16, {2}));
  ExpectMessage(b.status(), "add: operand 1 has dtype f16, expected f32 (the dtype of operand 0)");
}

TEST(ElementwiseTest, ShapesThatDoNotBroadcastAreAnError) {
  Builder b("e");
  Value* a = b.Input("a", DType::kF32, {2, 3});
  b.Mul(a, b.Input("b", DType::kF32, {4}));
  ExpectMessage(b.status(),
                "mul: shapes [2,3] and [4] do not broadcast: dim 3 vs 4 at output axis 1");

  // Two different symbols may differ at run time, so they do not broadcast either.
  Builder s("e");
  Value* x = s.Input("x", DType::kF32, {s.Sym("N", 1, 8)});
  s.Where(s.Input("c", DType::kBool, {1}), x, s.Input("y", DType::kF32, {s.Sym("M", 1, 8)}));
  ExpectMessage(s.status(), "shapes [N] and [M] do not broadcast");
}

TEST(ElementwiseTest, OperandDTypeErrors) {
  auto status_of = [](auto&& build) {
    Builder b("e");
    build(b);
    return b.status();
  };
  ExpectMessage(status_of([](Builder& b) { b.Exp(b.Input("x", DType::kI32, {2})); }),
                "exp: operand 0 has dtype i32, expected f32, f16 or bf16");
  ExpectMessage(status_of([](Builder& b) { b.Gelu(b.Input("x", DType::kI64, {2})); }),
                "gelu: operand 0 has dtype i64, expected f32, f16 or bf16");
  ExpectMessage(
      status_of([](Builder& b) { b.Abs(b.Input("x", DType::kBool, {2})); }),
      "abs: operand 0 has dtype bool, expected a float (f32, f16, bf16) or integer dtype");
  ExpectMessage(
      status_of([](Builder& b) {
        Value* x = b.Input("x", DType::kBool, {2});
        b.Add(x, x);
      }),
      "add: operands have dtype bool, expected a float (f32, f16, bf16) or integer dtype");
  ExpectMessage(status_of([](Builder& b) {
                  Value* x = b.Input("x", DType::kF32, {2});
                  b.Where(b.Input("c", DType::kI32, {2}), x, x);
                }),
                "condition (operand 0) must be bool, got i32");
  ExpectMessage(status_of([](Builder& b) {
                  b.Where(b.Input("c", DType::kBool, {2}), b.Input("x", DType::kF32, {2}),
                          b.Input("y", DType::kI32, {2}));
                }),
                "operand 2 has dtype i32, expected f32 (the dtype of operand 1)");
  ExpectMessage(
      status_of([](Builder& b) { b.Cast(b.Input("x", DType::kF32, {2}), DType::kF8E4M3); }),
      "cast from f32 to f8e4m3 is not supported");
  ExpectMessage(status_of([](Builder& b) {
                  Value* x = b.Input("x", DType::kF8E4M3, {2});
                  b.Equal(x, x);
                }),
                "equal: operands have dtype f8e4m3, expected a float (f32, f16, bf16), integer "
                "or bool dtype");
}

TEST(ElementwiseTest, AttributeErrors) {
  Graph g;
  Value* x = g.AddInput("x", {DType::kF32, {2}});
  ExpectMessage(g.AddNode(OpKind::kCast, {x}).status(), "op 'cast' requires attribute 'to'");
  ExpectMessage(g.AddNode(OpKind::kGelu, {x}, {{"approximate", EnumValue{"fast"}}}).status(),
                "expected identifier one of none tanh");
  ExpectMessage(g.AddNode(OpKind::kClip, {x}, {{"low", 0.0}}).status(),
                "unknown attribute 'low' for op 'clip' (allowed: min, max)");
  ExpectMessage(g.AddNode(OpKind::kAdd, {x}).status(), "op 'add' takes 2 operands, got 1");
}

// ---------------------------------------------------------------------------------- AddNode

// Every op of the family through Graph::AddNode: output type and fusion kind.
TEST(ElementwiseTest, EveryOpInfersThroughAddNode) {
  Graph g;
  Dim n = g.Sym("N", 1, 8);
  Value* f = g.AddInput("f", {DType::kF16, {n, 1, 4}});
  Value* f2 = g.AddInput("f2", {DType::kF16, {3, 1}});
  Value* i = g.AddInput("i", {DType::kI32, {n, 1, 4}});
  Value* c = g.AddInput("c", {DType::kBool, {3, 4}});
  struct Case {
    OpKind op;
    std::vector<Value*> inputs;
    Attrs attrs;
    std::string type;
    FusionKind fusion;
  };
  const FusionKind kEw = FusionKind::kElementwise, kBc = FusionKind::kBroadcast;
  const std::vector<Case> cases = {
      {OpKind::kAbs, {i}, {}, "i32[N,1,4]", kEw},
      {OpKind::kErf, {f}, {}, "f16[N,1,4]", kEw},
      {OpKind::kExp, {f}, {}, "f16[N,1,4]", kEw},
      {OpKind::kLog, {f}, {}, "f16[N,1,4]", kEw},
      {OpKind::kNeg, {i}, {}, "i32[N,1,4]", kEw},
      {OpKind::kRelu, {f}, {}, "f16[N,1,4]", kEw},
      {OpKind::kRsqrt, {f}, {}, "f16[N,1,4]", kEw},
      {OpKind::kSigmoid, {f}, {}, "f16[N,1,4]", kEw},
      {OpKind::kSilu, {f}, {}, "f16[N,1,4]", kEw},
      {OpKind::kSqrt, {f}, {}, "f16[N,1,4]", kEw},
      {OpKind::kTanh, {f}, {}, "f16[N,1,4]", kEw},
      {OpKind::kGelu, {f}, {{"approximate", EnumValue{"tanh"}}}, "f16[N,1,4]", kEw},
      {OpKind::kClip, {i}, {{"min", 0.0}, {"max", 6.0}}, "i32[N,1,4]", kEw},
      {OpKind::kCast, {f}, {{"to", DType::kI64}}, "i64[N,1,4]", kEw},
      {OpKind::kAdd, {f, f2}, {}, "f16[N,3,4]", kBc},
      {OpKind::kSub, {f2, f}, {}, "f16[N,3,4]", kBc},
      {OpKind::kMul, {f, f2}, {}, "f16[N,3,4]", kBc},
      {OpKind::kDiv, {i, i}, {}, "i32[N,1,4]", kBc},
      {OpKind::kPow, {f, f2}, {}, "f16[N,3,4]", kBc},
      {OpKind::kMax, {f, f2}, {}, "f16[N,3,4]", kBc},
      {OpKind::kMin, {f, f2}, {}, "f16[N,3,4]", kBc},
      {OpKind::kEqual, {c, c}, {}, "bool[3,4]", kBc},
      {OpKind::kNotEqual, {f, f2}, {}, "bool[N,3,4]", kBc},
      {OpKind::kLess, {f, f2}, {}, "bool[N,3,4]", kBc},
      {OpKind::kLessEqual, {i, i}, {}, "bool[N,1,4]", kBc},
      {OpKind::kGreater, {f, f2}, {}, "bool[N,3,4]", kBc},
      {OpKind::kGreaterEqual, {f, f2}, {}, "bool[N,3,4]", kBc},
      {OpKind::kWhere, {c, f, f2}, {}, "f16[N,3,4]", kBc},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(std::string(OpName(k.op)));
    StatusOr<Node*> node = g.AddNode(k.op, k.inputs, k.attrs);
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    ASSERT_EQ((*node)->num_outputs(), 1);
    EXPECT_EQ((*node)->output()->type().ToString(), k.type);
    EXPECT_EQ((*node)->def().fusion, k.fusion);
  }
}

}  // namespace
}  // namespace kiln::testutil
