// Tests of arg_max / arg_min (src/ops/arg_reduce.cc), gather_elements / scatter_elements
// (src/ops/element_index.cc) and the trigonometric, hyperbolic and rounding unary ops
// (src/ops/elementwise.cc). Expected values are written out by hand (numpy's np.argmax /
// np.argmin, np.take_along_axis, np.put_along_axis, math-table values), not computed by the code
// under test; inference and build errors are checked through printed types and messages.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/ops/ref_test_util.h"

namespace kiln::testutil {
namespace {

Value* Arg(Builder& b, OpKind kind, Value* x, int64_t axis, bool keepdims, bool last = false) {
  Attrs a;
  a.Set("axis", axis);
  a.Set("keepdims", keepdims);
  a.Set("select_last_index", last);
  std::vector<Value*> out = b.Op(kind, {x}, std::move(a));
  return out.empty() ? nullptr : out[0];
}

// x = [[2, 7, 7, 1], [5, 0, 5, -3], [9, 9, 9, 9]]
Tensor ArgInput() { return F32({3, 4}, {2, 7, 7, 1, 5, 0, 5, -3, 9, 9, 9, 9}); }

TEST(ArgReduceTest, ArgMaxAlongRowsFirstAndLastTies) {
  for (bool last : {false, true}) {
    Builder b("g");
    Value* x = b.Input("x", DType::kF32, {3, 4});
    Value* y = Arg(b, OpKind::kArgMax, x, 1, /*keepdims=*/false, last);
    ASSERT_NE(y, nullptr) << b.status().ToString();
    EXPECT_EQ(y->type().ToString(), "i64[3]");
    auto out = RunOutput(b, y, {ArgInput()});
    ASSERT_EQ(out.size(), 1u);
    // np.argmax(x, 1) = [1, 0, 0]; last index of the maxima: [2, 2, 3].
    EXPECT_EQ(out[0].ToI64(),
              last ? (std::vector<int64_t>{2, 2, 3}) : (std::vector<int64_t>{1, 0, 0}));
  }
}

TEST(ArgReduceTest, ArgMinAlongColumnsKeepdimsNegativeAxis) {
  Builder b("g");
  Value* x = b.Input("x", DType::kF32, {3, 4});
  Value* y = Arg(b, OpKind::kArgMin, x, -2, /*keepdims=*/true);
  ASSERT_NE(y, nullptr) << b.status().ToString();
  EXPECT_EQ(y->type().ToString(), "i64[1,4]");
  auto out = RunOutput(b, y, {ArgInput()});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ToI64(), (std::vector<int64_t>{0, 1, 1, 1}));  // np.argmin(x, 0)
}

TEST(ArgReduceTest, IntegerInputAndNaNWins) {
  Builder b("g");
  Value* x = b.Input("x", DType::kI32, {5});
  Value* y = Arg(b, OpKind::kArgMax, x, 0, false);
  auto out =
      RunOutput(b, y, {Tensor::FromF64(DType::kI32, {5}, std::vector<double>{3, -1, 8, 8, 2})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ToI64(), (std::vector<int64_t>{2}));

  Builder c("g");
  Value* f = c.Input("x", DType::kF32, {4});
  Value* z = Arg(c, OpKind::kArgMin, f, 0, false);
  auto nan = RunOutput(c, z, {F32({4}, {1.0, NAN, -5.0, NAN})});
  ASSERT_EQ(nan.size(), 1u);
  EXPECT_EQ(nan[0].ToI64(), (std::vector<int64_t>{1}));  // np.argmin([1, nan, -5, nan]) = 1
}

TEST(ArgReduceTest, RejectsEmptyAxisAndBadDtype) {
  Builder b("g");
  Value* x = b.Input("x", DType::kF32, {2, 0});
  Arg(b, OpKind::kArgMax, x, 1, false);
  ExpectError(BuildError(b), {"axis 1", "empty"});

  Builder c("g");
  Value* p = c.Input("p", DType::kBool, {3});
  Arg(c, OpKind::kArgMax, p, 0, false);
  ExpectError(BuildError(c), {"dtype bool"});
}

Value* GatherEl(Builder& b, Value* data, Value* ind, int64_t axis) {
  Attrs a;
  a.Set("axis", axis);
  std::vector<Value*> out = b.Op(OpKind::kGatherElements, {data, ind}, std::move(a));
  return out.empty() ? nullptr : out[0];
}

TEST(ElementIndexTest, GatherElementsBothAxesAndNegativeIndices) {
  // data = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
  Tensor data = F32({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  {
    Builder b("g");
    Value* d = b.Input("d", DType::kF32, {3, 3});
    Value* i = b.Input("i", DType::kI64, {2, 3});
    Value* y = GatherEl(b, d, i, 0);
    ASSERT_NE(y, nullptr) << b.status().ToString();
    EXPECT_EQ(y->type().ToString(), "f32[2,3]");
    // np.take_along_axis(data, [[1, 2, 0], [2, 0, -3]], 0) = [[4, 8, 3], [7, 2, 3]]
    auto out = RunOutput(b, y, {data, I64({2, 3}, {1, 2, 0, 2, 0, -3})});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].ToF64(), (std::vector<double>{4, 8, 3, 7, 2, 3}));
  }
  {
    Builder b("g");
    Value* d = b.Input("d", DType::kF32, {3, 3});
    Value* i = b.Input("i", DType::kI32, {3, 2});
    Value* y = GatherEl(b, d, i, 1);
    // np.take_along_axis(data, [[0, 0], [2, 1], [-1, 0]], 1) = [[1, 1], [6, 5], [9, 7]]
    auto out = RunOutput(
        b, y, {data, Tensor::FromF64(DType::kI32, {3, 2}, std::vector<double>{0, 0, 2, 1, -1, 0})});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].ToF64(), (std::vector<double>{1, 1, 6, 5, 9, 7}));
  }
}

TEST(ElementIndexTest, GatherElementsOutOfRangeAndRankErrors) {
  Builder b("g");
  Value* d = b.Input("d", DType::kF32, {2, 2});
  Value* i = b.Input("i", DType::kI64, {1, 2});
  b.Output(GatherEl(b, d, i, 1));
  ExpectError(RunError(b, {F32({2, 2}, {1, 2, 3, 4}), I64({1, 2}, {0, 2})}),
              {"index 2", "position 1", "axis 1 of size 2"});

  Builder c("g");
  Value* d2 = c.Input("d", DType::kF32, {2, 2});
  Value* i2 = c.Input("i", DType::kI64, {2});
  GatherEl(c, d2, i2, 0);
  ExpectError(BuildError(c), {"same rank"});
}

Value* ScatterEl(Builder& b, Value* data, Value* ind, Value* upd, int64_t axis,
                 const std::string& reduction) {
  Attrs a;
  a.Set("axis", axis);
  a.Set("reduction", EnumValue{reduction});
  std::vector<Value*> out = b.Op(OpKind::kScatterElements, {data, ind, upd}, std::move(a));
  return out.empty() ? nullptr : out[0];
}

TEST(ElementIndexTest, ScatterElementsNoneAddMaxOnAxis1) {
  // data = [[1, 2, 3, 4, 5]], indices = [[1, 3, 1]], updates = [[1.5, 2.5, 10]]
  struct Case {
    const char* reduction;
    std::vector<double> expected;
  } cases[] = {
      {"none", {1, 10, 3, 2.5, 5}},   // duplicates: the last update wins
      {"add", {1, 13.5, 3, 6.5, 5}},  // 2 + 1.5 + 10, 4 + 2.5
      {"mul", {1, 30, 3, 10, 5}},     // 2 * 1.5 * 10, 4 * 2.5
      {"max", {1, 10, 3, 4, 5}},     {"min", {1, 1.5, 3, 2.5, 5}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.reduction);
    Builder b("g");
    Value* d = b.Input("d", DType::kF32, {1, 5});
    Value* i = b.Input("i", DType::kI64, {1, 3});
    Value* u = b.Input("u", DType::kF32, {1, 3});
    Value* y = ScatterEl(b, d, i, u, 1, c.reduction);
    ASSERT_NE(y, nullptr) << b.status().ToString();
    EXPECT_EQ(y->type().ToString(), "f32[1,5]");
    auto out = RunOutput(
        b, y, {F32({1, 5}, {1, 2, 3, 4, 5}), I64({1, 3}, {1, 3, 1}), F32({1, 3}, {1.5, 2.5, 10})});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].ToF64(), c.expected);
  }
}

TEST(ElementIndexTest, ScatterElementsAxis0NegativeIndexAndShapeError) {
  Builder b("g");
  Value* d = b.Input("d", DType::kI64, {3, 2});
  Value* i = b.Input("i", DType::kI64, {1, 2});
  Value* u = b.Input("u", DType::kI64, {1, 2});
  Value* y = ScatterEl(b, d, i, u, 0, "none");
  // zeros(3, 2) with row -1 of column 0 and row 0 of column 1 set: [[0, 8], [0, 0], [7, 0]]
  auto out =
      RunOutput(b, y, {I64({3, 2}, {0, 0, 0, 0, 0, 0}), I64({1, 2}, {-1, 0}), I64({1, 2}, {7, 8})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ToI64(), (std::vector<int64_t>{0, 8, 0, 0, 7, 0}));

  Builder c("g");
  Value* d2 = c.Input("d", DType::kF32, {3});
  Value* i2 = c.Input("i", DType::kI64, {2});
  Value* u2 = c.Input("u", DType::kF32, {3});
  ScatterEl(c, d2, i2, u2, 0, "none");
  ExpectError(BuildError(c), {"updates", "indices' shape"});
}

TEST(UnaryMathTest, TrigHyperbolicAndRoundingValues) {
  struct Case {
    OpKind op;
    std::vector<double> x, expected;
  } cases[] = {
      {OpKind::kSin, {0, 0.5235987755982988, -1.5707963267948966}, {0, 0.5, -1}},
      {OpKind::kCos, {0, 1.0471975511965976, 3.141592653589793}, {1, 0.5, -1}},
      {OpKind::kTan, {0, 0.7853981633974483, -0.7853981633974483}, {0, 1, -1}},
      {OpKind::kAsin, {0, 0.5, -1}, {0, 0.5235987755982988, -1.5707963267948966}},
      {OpKind::kAcos, {1, 0.5, -1}, {0, 1.0471975511965976, 3.141592653589793}},
      {OpKind::kAtan, {0, 1, -1}, {0, 0.7853981633974483, -0.7853981633974483}},
      {OpKind::kSinh, {0, 1, -2}, {0, 1.1752011936438014, -3.626860407847019}},
      {OpKind::kCosh, {0, 1, -2}, {1, 1.5430806348152437, 3.7621956910836314}},
      {OpKind::kAsinh, {0, 1.1752011936438014, -3.626860407847019}, {0, 1, -2}},
      {OpKind::kAcosh, {1, 1.5430806348152437, 3.7621956910836314}, {0, 1, 2}},
      {OpKind::kAtanh, {0, 0.5, -0.5}, {0, 0.5493061443340549, -0.5493061443340549}},
      {OpKind::kFloor, {-1.5, 1.2, 2.0, -0.0}, {-2, 1, 2, -0.0}},
      {OpKind::kCeil, {-1.5, 1.2, 2.0, -0.2}, {-1, 2, 2, -0.0}},
      // np.round: halves to even.
      {OpKind::kRound, {0.5, 1.5, 2.5, -2.5, -0.4, 2.6}, {0, 2, 2, -2, -0.0, 3}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(OpName(c.op)));
    Builder b("g");
    const int64_t n = static_cast<int64_t>(c.x.size());
    Value* x = b.Input("x", DType::kF32, {n});
    std::vector<Value*> y = b.Op(c.op, {x});
    ASSERT_EQ(y.size(), 1u) << b.status().ToString();
    auto out = RunOutput(b, y[0], {F32({n}, c.x)});
    ASSERT_EQ(out.size(), 1u);
    ExpectClose(out[0].ToF64(), c.expected, 1e-6);
  }
  Builder b("g");
  Value* i = b.Input("i", DType::kI64, {2});
  b.Op(OpKind::kFloor, {i});
  ExpectError(BuildError(b), {"dtype i64", "expected f32"});
}

}  // namespace
}  // namespace kiln::testutil
