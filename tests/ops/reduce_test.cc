// Tests of the reduce op family (src/ops/reduce.cc): reduce_* over axis sets (negative, empty =
// all, keepdims), softmax/log_softmax (including numerical stability), f16/bf16 and integer
// inputs, symbolic shapes, inference through Graph::AddNode, and the error messages. Expected
// values come from numpy (float64).
//
// Tolerances: f32 within 1e-6 relative (to max(1, |expected|)); f16 within 1e-3 and bf16 within
// 4e-3 relative (just above half an ulp); integers exact.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/ops/ref_test_util.h"

namespace kiln::testutil {
namespace {

constexpr double kF32Tol = 1e-6;
constexpr double kF16Tol = 1e-3;
constexpr double kBF16Tol = 4e-3;

// numpy: np.round(np.random.default_rng(0).uniform(-2, 2, size=(2, 3, 4)), 2).
const std::vector<double> kX = {0.55, -0.92, -1.84, -1.93, 1.25,  1.65,  0.43, 0.92,
                                0.17, 1.74,  1.26,  -1.99, 1.43,  -1.87, 0.92, -1.3,
                                1.45, 0.17,  -0.8,  -0.31, -1.89, -1.5,  0.68, 0.59};

using ReduceFn = Value* (Builder::*)(Value*, std::vector<int64_t>, bool);

TEST(ReduceTest, ReductionsOverAxisSets) {
  struct Case {
    const char* name;
    ReduceFn fn;
    std::vector<int64_t> axes;
    bool keepdims;
    const char* type;
    std::vector<double> expected;
  };
  const std::vector<Case> cases = {
      {"sum axis 1",
       &Builder::ReduceSum,
       {1},
       false,
       "f32[2,4]",
       {1.97, 2.47, -0.15, -3, 0.99, -3.2, 0.8, -1.02}},
      {"mean axis -1 keepdims",
       &Builder::ReduceMean,
       {-1},
       true,
       "f32[2,3,1]",
       {-1.035, 1.0625, 0.295, -0.205, 0.1275, -0.53}},
      {"max axes 0,2", &Builder::ReduceMax, {0, 2}, false, "f32[3]", {1.43, 1.65, 1.74}},
      {"min all", &Builder::ReduceMin, {}, false, "f32[]", {-1.99}},
      {"prod axis 1 keepdims",
       &Builder::ReduceProd,
       {1},
       true,
       "f32[2,1,4]",
       {0.116875, -2.64132, -0.996912, 3.533444, -3.918915, 0.47685, -0.50048, 0.23777}},
      {"sum all keepdims", &Builder::ReduceSum, {}, true, "f32[1,1,1]", {-1.14}},
      {"mean axes -1,-3 (unsorted, negative)",
       &Builder::ReduceMean,
       {-1, -3},
       false,
       "f32[3]",
       {-0.62, 0.595, -0.1175}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Builder b("reduce");
    b.Output((b.*c.fn)(b.Input("x", DType::kF32, {2, 3, 4}), c.axes, c.keepdims));
    std::vector<Tensor> out = RunGraph(b, {Tensor::FromF64(DType::kF32, {2, 3, 4}, kX)});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].TypeString(), c.type);
    ExpectClose(out[0], c.expected, kF32Tol);
  }
}

TEST(ReduceTest, HalfAndBFloat16KeepTheirDType) {
  const std::vector<double> h = {0.5, 1.25, -2.0, 3.5, 0.75, 1.0};
  for (DType dt : {DType::kF16, DType::kBF16}) {
    SCOPED_TRACE(DTypeName(dt));
    const double tol = dt == DType::kF16 ? kF16Tol : kBF16Tol;
    Builder b("half");
    Value* x = b.Input("x", dt, {2, 3});
    b.Output(b.ReduceSum(x, {1}));
    b.Output(b.ReduceMax(x, {0}, true));
    b.Output(b.Softmax(x));
    std::vector<Tensor> out = RunGraph(b, {Tensor::FromF64(dt, {2, 3}, h)});
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].dtype(), dt);
    ExpectClose(out[0], {-0.25, 5.25}, tol);
    EXPECT_EQ(out[1].shape(), (std::vector<int64_t>{1, 3}));
    ExpectClose(out[1], {3.5, 1.25, 1.0}, tol);
    ExpectClose(out[2],
                {0.31258938, 0.661751722, 0.0256588988, 0.872590557, 0.055782848, 0.0716265947},
                tol);
  }
}

TEST(ReduceTest, IntegerReductionsAreExact) {
  // 2^53 + 1 and 2^53 + 3 are not doubles; their exact sum and max survive.
  const int64_t big = 9007199254740993;
  Builder b("int");
  Value* x = b.Input("x", DType::kI64, {2, 2});
  b.Output(b.ReduceSum(x, {1}));
  b.Output(b.ReduceMax(x, {0}));
  b.Output(b.ReduceMin(x, {}));
  Value* y = b.Input("y", DType::kI32, {3, 2});
  b.Output(b.ReduceMean(y, {1}));  // integer mean truncates toward zero
  b.Output(b.ReduceProd(y, {0}, true));
  std::vector<Tensor> out =
      RunGraph(b, {I64({2, 2}, {big, 2, big + 2, -5}),
                   Tensor::FromF64(DType::kI32, {3, 2}, std::vector<double>{-7, 0, 7, 0, 5, -2})});
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].dtype(), DType::kI64);
  EXPECT_EQ(out[0].ToI64(), (std::vector<int64_t>{big + 2, big - 3}));
  EXPECT_EQ(out[1].ToI64(), (std::vector<int64_t>{big + 2, 2}));
  EXPECT_EQ(out[2].ToI64(), (std::vector<int64_t>{-5}));
  EXPECT_EQ(out[3].dtype(), DType::kI32);
  EXPECT_EQ(out[3].ToI64(), (std::vector<int64_t>{-3, 3, 1}));
  EXPECT_EQ(out[4].TypeString(), "i32[1,2]");
  EXPECT_EQ(out[4].ToI64(), (std::vector<int64_t>{-245, 0}));
}

TEST(ReduceTest, EmptyReductions) {
  // A zero-size reduced axis: sum is 0, prod 1, float mean NaN (numpy), no output for max.
  Builder b("empty");
  Value* x = b.Input("x", DType::kF32, {2, 0});
  b.Output(b.ReduceSum(x, {1}));
  b.Output(b.ReduceProd(x, {1}));
  b.Output(b.ReduceMean(x, {1}));
  std::vector<Tensor> out = RunGraph(b, {Tensor(DType::kF32, {2, 0})});
  ASSERT_EQ(out.size(), 3u);
  ExpectClose(out[0], {0, 0}, 0);
  ExpectClose(out[1], {1, 1}, 0);
  EXPECT_TRUE(std::isnan(out[2].GetF64(0)));

  Builder m("empty_max");
  m.ReduceMax(m.Input("x", DType::kF32, {2, 0}), {-1});
  ExpectMessage(m.status(), "reduce_max: cannot reduce axis 1 of size 0 of f32[2,0]");
}

// ---------------------------------------------------------------------------------- softmax

TEST(ReduceTest, SoftmaxAndLogSoftmaxAlongAnyAxis) {
  const std::vector<double> s = {1.0, 2.0, 3.0, -1.0, 0.5, 4.0};
  Builder b("softmax");
  Value* x = b.Input("x", DType::kF32, {2, 3});
  b.Output(b.Softmax(x));
  b.Output(b.Softmax(x, 0));
  b.Output(b.LogSoftmax(x, 1));
  b.Output(b.LogSoftmax(x, -2));
  std::vector<Tensor> out = RunGraph(b, {Tensor::FromF64(DType::kF32, {2, 3}, s)});
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].TypeString(), "f32[2,3]");
  ExpectClose(out[0],
              {0.0900305732, 0.244728471, 0.665240956, 0.00649794332, 0.0291217615, 0.964380295},
              kF32Tol);
  ExpectClose(out[1],
              {0.880797078, 0.817574476, 0.268941421, 0.119202922, 0.182425524, 0.731058579},
              kF32Tol);
  ExpectClose(out[2],
              {-2.40760596, -1.40760596, -0.407605964, -5.03626957, -3.53626957, -0.0362695651},
              kF32Tol);
  ExpectClose(out[3],
              {-0.126928011, -0.201413278, -1.31326169, -2.12692801, -1.70141328, -0.313261688},
              kF32Tol);
}

TEST(ReduceTest, SoftmaxIsNumericallyStable) {
  // exp(1000) overflows: only max subtraction gives finite results.
  Builder b("stable");
  Value* x = b.Input("x", DType::kF32, {4});
  b.Output(b.Softmax(x));
  b.Output(b.LogSoftmax(x));
  std::vector<Tensor> out = RunGraph(
      b, {Tensor::FromF64(DType::kF32, {4}, std::vector<double>{1000, 1001, 1002, -1000})});
  ASSERT_EQ(out.size(), 2u);
  ExpectClose(out[0], {0.0900305732, 0.244728471, 0.665240956, 0}, kF32Tol);
  ExpectClose(out[1], {-2.40760596, -1.40760596, -0.407605964, -2002.40761}, kF32Tol);
}

// ---------------------------------------------------------------------------------- symbolic

TEST(ReduceTest, SymbolicDimsPropagate) {
  Builder b("sym");
  Dim n = b.Sym("N", 1, 8);
  Value* x = b.Input("x", DType::kF32, {n, 3, 4});
  Value* keep = b.ReduceSum(x, {1}, true);
  Value* drop = b.ReduceMean(x, {-1});
  Value* over_n = b.ReduceMax(x, {0});
  Value* sm = b.Softmax(x, 0);
  ASSERT_TRUE(b.status().ok()) << b.status().ToString();
  EXPECT_EQ(keep->type().ToString(), "f32[N,1,4]");
  EXPECT_EQ(drop->type().ToString(), "f32[N,3]");
  EXPECT_EQ(over_n->type().ToString(), "f32[3,4]");
  EXPECT_EQ(sm->type().ToString(), "f32[N,3,4]");
  b.Output(drop);
  b.Output(over_n);
  std::vector<Tensor> out = RunGraph(b, {Tensor::FromF64(DType::kF32, {2, 3, 4}, kX)});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].TypeString(), "f32[2,3]");
  ExpectClose(out[0], {-1.035, 1.0625, 0.295, -0.205, 0.1275, -0.53}, kF32Tol);
  ExpectClose(out[1], {1.43, -0.92, 0.92, -1.3, 1.45, 1.65, 0.43, 0.92, 0.17, 1.74, 1.26, 0.59},
              kF32Tol);
}

// ---------------------------------------------------------------------------------- errors

TEST(ReduceTest, AxisErrors) {
  Builder b("e");
  b.ReduceSum(b.Input("x", DType::kF32, {2, 3, 4}), {3});
  ExpectMessage(b.status(), "reduce_sum: axis 3 is out of range for rank 3 (expected -3..2)");

  Builder d("e");
  d.ReduceMean(d.Input("x", DType::kF32, {2, 3, 4}), {1, -2});
  ExpectMessage(d.status(), "reduce_mean: axis -2 (axis 1) appears more than once in axes [1,-2]");

  Builder s("e");
  s.Softmax(s.Input("x", DType::kF32, {2, 3}), -3);
  ExpectMessage(s.status(), "softmax: axis -3 is out of range for rank 2 (expected -2..1)");
}

TEST(ReduceTest, DTypeErrors) {
  Builder b("e");
  b.ReduceSum(b.Input("x", DType::kBool, {2}), {});
  ExpectMessage(b.status(),
                "reduce_sum: operand 0 has dtype bool, expected a float (f32, f16, bf16) or "
                "integer dtype");
  Builder s("e");
  s.LogSoftmax(s.Input("x", DType::kI32, {2}));
  ExpectMessage(s.status(), "log_softmax: operand 0 has dtype i32, expected f32, f16 or bf16");
}

// ---------------------------------------------------------------------------------- AddNode

TEST(ReduceTest, EveryOpInfersThroughAddNode) {
  Graph g;
  Dim n = g.Sym("N", 1, 8);
  Value* x = g.AddInput("x", {DType::kBF16, {n, 5, 6}});
  struct Case {
    OpKind op;
    Attrs attrs;
    std::string type;
  };
  const std::vector<Case> cases = {
      {OpKind::kReduceSum, {{"axes", std::vector<int64_t>{-1}}}, "bf16[N,5]"},
      {OpKind::kReduceMean,
       {{"axes", std::vector<int64_t>{2, 1}}, {"keepdims", true}},
       "bf16[N,1,1]"},
      {OpKind::kReduceMax, {}, "bf16[]"},
      {OpKind::kReduceMin, {{"keepdims", true}}, "bf16[1,1,1]"},
      {OpKind::kReduceProd, {{"axes", std::vector<int64_t>{0}}}, "bf16[5,6]"},
      {OpKind::kSoftmax, {}, "bf16[N,5,6]"},
      {OpKind::kLogSoftmax, {{"axis", int64_t{1}}}, "bf16[N,5,6]"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(OpName(c.op)));
    StatusOr<Node*> node = g.AddNode(c.op, {x}, c.attrs);
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    EXPECT_EQ((*node)->output()->type().ToString(), c.type);
    EXPECT_EQ((*node)->def().fusion, FusionKind::kReduction);
  }
  // Defaults are dropped by attribute normalisation: axes=[] and keepdims=false.
  StatusOr<Node*> node =
      g.AddNode(OpKind::kReduceSum, {x}, {{"axes", std::vector<int64_t>{}}, {"keepdims", false}});
  ASSERT_TRUE(node.ok());
  EXPECT_TRUE((*node)->attrs().empty());
}

}  // namespace
}  // namespace kiln::testutil
