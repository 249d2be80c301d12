// The CPU reduce-family kernels (kiln_cpu_norm.h: Reduce, Softmax, LogSoftmax, SafeSoftmaxRows,
// FastExp) against the reference ops run by the interpreter: every subset of axes (given as
// positive and as negative axes), keepdims, f32/i64/i32, NaN propagation, empty reductions, and
// softmax along every axis with large and -inf inputs.
//
// Tolerances: f32 reductions 1e-5 relative to max(1, |expected|) (both accumulate in double;
// prod multiplies up to 383 factors); softmax 1e-5 (FastExp is within a few ulp of exp);
// integer reductions exact.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kiln_cpu_norm.h"
#include "ops/op_util.h"
#include "tests/ops/ref_test_util.h"

namespace kiln::testutil {
namespace {

constexpr double kTol = 1e-5;

struct ReduceKind {
  OpKind op;
  kiln_cpu::Reduction reduction;
};

const ReduceKind kKinds[] = {
    {OpKind::kReduceSum, kiln_cpu::Reduction::kSum},
    {OpKind::kReduceMean, kiln_cpu::Reduction::kMean},
    {OpKind::kReduceMax, kiln_cpu::Reduction::kMax},
    {OpKind::kReduceMin, kiln_cpu::Reduction::kMin},
    {OpKind::kReduceProd, kiln_cpu::Reduction::kProd},
};

// Interprets one reduce node on `x`; the node's `axes` attribute is `axes` as given.
Tensor ReduceRef(OpKind op, const Tensor& x, const std::vector<int64_t>& axes, bool keepdims) {
  Builder b("r");
  Value* in = b.Input("x", x.dtype(), StaticShape(x.shape()));
  Attrs attrs;
  attrs.Set("axes", AttrValue(axes));
  attrs.Set("keepdims", AttrValue(keepdims));
  std::vector<Value*> outs = b.Op(op, {in}, std::move(attrs));
  if (outs.empty()) {
    ADD_FAILURE() << b.status().ToString();
    return Tensor();
  }
  std::vector<Tensor> ref = RunOutput(b, outs[0], {x});
  return ref.empty() ? Tensor() : ref[0];
}

// Runs kiln_cpu::Reduce for element type T on `x` (its dims and the axes mask).
template <typename T>
Tensor ReduceKernel(const Tensor& x, const std::vector<int64_t>& axes, kiln_cpu::Reduction r,
                    const std::vector<int64_t>& out_shape) {
  const int64_t rank = x.rank();
  std::vector<uint8_t> mask(rank, axes.empty() ? 1 : 0);
  for (int64_t a : axes) mask[a < 0 ? a + rank : a] = 1;
  Tensor y(x.dtype(), out_shape);
  kiln_cpu::Reduce(x.data_as<T>(), y.mutable_data_as<T>(), x.shape().data(), mask.data(), rank, r);
  return y;
}

// Every subset of the axes of a rank-`rank` tensor, each as positive axes and (when non-empty)
// with its first axis negative.
std::vector<std::vector<int64_t>> AxisSubsets(int64_t rank) {
  std::vector<std::vector<int64_t>> out;
  for (int64_t bits = 0; bits < (int64_t{1} << rank); ++bits) {
    std::vector<int64_t> axes;
    for (int64_t a = 0; a < rank; ++a) {
      if (bits & (int64_t{1} << a)) axes.push_back(a);
    }
    out.push_back(axes);
    if (!axes.empty()) {
      axes[0] -= rank;
      out.push_back(axes);
    }
  }
  return out;
}

TEST(ReduceKernelTest, F32EveryAxisSubsetAndKeepdims) {
  const std::vector<std::vector<int64_t>> shapes = {{3, 17, 5}, {2, 1, 4, 3}, {383}, {1}};
  for (const std::vector<int64_t>& shape : shapes) {
    // Values near 1 keep products of up to 383 factors in range.
    std::vector<float> v = SinValues(NumElements(shape), 0.37, 0.2);
    for (float& x : v) x = 1.0f + 0.05f * x;
    Tensor x = Tensor::FromF32(DType::kF32, shape, v);
    for (const std::vector<int64_t>& axes : AxisSubsets(static_cast<int64_t>(shape.size()))) {
      for (bool keepdims : {false, true}) {
        for (const ReduceKind& k : kKinds) {
          SCOPED_TRACE(::testing::Message()
                       << OpName(k.op) << " shape " << IntsToString(shape) << " axes "
                       << IntsToString(axes) << " keepdims " << keepdims);
          Tensor ref = ReduceRef(k.op, x, axes, keepdims);
          ASSERT_TRUE(ref.defined());
          Tensor got = ReduceKernel<float>(x, axes, k.reduction, ref.shape());
          ExpectTensorsClose(got, ref, kTol);
        }
      }
    }
  }
}

TEST(ReduceKernelTest, SignedValuesAndLongRows) {
  // Sums and means over long rows of mixed signs; the inner > 1 and inner == 1 paths both.
  Tensor x = SinTensor(DType::kF32, {7, 383, 3}, 0.91, 0.4);
  for (const std::vector<int64_t>& axes :
       std::vector<std::vector<int64_t>>{{1}, {2}, {0, 2}, {0, 1}, {}}) {
    for (const ReduceKind& k : kKinds) {
      if (k.op == OpKind::kReduceProd) continue;  // products of sines underflow to noise
      SCOPED_TRACE(::testing::Message() << OpName(k.op) << " axes " << IntsToString(axes));
      Tensor ref = ReduceRef(k.op, x, axes, false);
      ExpectTensorsClose(ReduceKernel<float>(x, axes, k.reduction, ref.shape()), ref, kTol);
    }
  }
}

TEST(ReduceKernelTest, IntegersExactWithWrapAndTruncatingMean) {
  // Mixed signs so the mean truncates toward zero in both directions; i32 products wrap.
  std::vector<int64_t> vals;
  for (int64_t i = 0; i < 3 * 17 * 5; ++i) vals.push_back((i * 7919) % 201 - 100);
  const std::vector<int64_t> shape = {3, 17, 5};
  Tensor x64 = I64(shape, vals);
  Tensor x32(DType::kI32, shape);
  for (size_t i = 0; i < vals.size(); ++i) {
    x32.mutable_data_as<int32_t>()[i] = static_cast<int32_t>(vals[i]);
  }
  for (const std::vector<int64_t>& axes : AxisSubsets(3)) {
    for (const ReduceKind& k : kKinds) {
      SCOPED_TRACE(::testing::Message() << OpName(k.op) << " axes " << IntsToString(axes));
      Tensor r64 = ReduceRef(k.op, x64, axes, true);
      Tensor r32 = ReduceRef(k.op, x32, axes, false);
      ASSERT_TRUE(r64.defined() && r32.defined());
      EXPECT_EQ(ReduceKernel<int64_t>(x64, axes, k.reduction, r64.shape()).ToI64(), r64.ToI64());
      EXPECT_EQ(ReduceKernel<int32_t>(x32, axes, k.reduction, r32.shape()).ToI64(), r32.ToI64());
    }
  }
}

TEST(ReduceKernelTest, MaxAndMinPropagateNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> v = SinValues(4 * 19, 0.5, 0.0);
  v[3 * 19 + 11] = nan;  // row 3 of the [4, 19] view, and column 11
  Tensor x = Tensor::FromF32(DType::kF32, {4, 19}, v);
  for (const std::vector<int64_t>& axes : std::vector<std::vector<int64_t>>{{1}, {0}, {}}) {
    for (const ReduceKind& k : {kKinds[2], kKinds[3]}) {
      SCOPED_TRACE(::testing::Message() << OpName(k.op) << " axes " << IntsToString(axes));
      Tensor ref = ReduceRef(k.op, x, axes, false);
      ExpectTensorsClose(ReduceKernel<float>(x, axes, k.reduction, ref.shape()), ref, kTol);
    }
  }
}

TEST(ReduceKernelTest, EmptyReductionGivesIdentityAndMeanNaN) {
  Tensor x(DType::kF32, {3, 0, 2});
  for (const ReduceKind& k : {kKinds[0], kKinds[1], kKinds[4]}) {
    SCOPED_TRACE(OpName(k.op));
    Tensor ref = ReduceRef(k.op, x, {1}, false);
    ASSERT_EQ(ref.numel(), 6);
    ExpectTensorsClose(ReduceKernel<float>(x, {1}, k.reduction, ref.shape()), ref, kTol);
  }
}

// ---------------------------------------------------------------------------------- softmax

TEST(ReduceKernelTest, SoftmaxAndLogSoftmaxEveryAxis) {
  const std::vector<std::vector<int64_t>> shapes = {{3, 17, 5}, {2, 383}, {1}, {4, 1, 6}};
  for (const std::vector<int64_t>& shape : shapes) {
    const int64_t rank = static_cast<int64_t>(shape.size());
    // Spread 0..30 so exponentials span many orders of magnitude.
    std::vector<float> v = SinValues(NumElements(shape), 0.77, 0.3);
    for (float& e : v) e *= 15.0f;
    Tensor x = Tensor::FromF32(DType::kF32, shape, v);
    for (int64_t axis = -rank; axis < rank; ++axis) {
      const int64_t a = axis < 0 ? axis + rank : axis;
      int64_t outer = 1, inner = 1;
      for (int64_t i = 0; i < a; ++i) outer *= shape[i];
      for (int64_t i = a + 1; i < rank; ++i) inner *= shape[i];
      for (bool log : {false, true}) {
        SCOPED_TRACE(::testing::Message() << (log ? "log_softmax" : "softmax") << " shape "
                                          << IntsToString(shape) << " axis " << axis);
        Builder b("s");
        Value* in = b.Input("x", DType::kF32, StaticShape(shape));
        std::vector<Tensor> ref =
            RunOutput(b, log ? b.LogSoftmax(in, axis) : b.Softmax(in, axis), {x});
        ASSERT_EQ(ref.size(), 1u);
        Tensor y(DType::kF32, shape);
        (log ? kiln_cpu::LogSoftmax : kiln_cpu::Softmax)(
            x.data_as<float>(), y.mutable_data_as<float>(), outer, shape[a], inner);
        ExpectTensorsClose(y, ref[0], kTol);
      }
    }
  }
}

TEST(ReduceKernelTest, SoftmaxIsStableForLargeAndInfiniteInputs) {
  const float inf = std::numeric_limits<float>::infinity();
  Tensor x = F32({3, 4}, {1000.0, 999.0, 998.0, -1000.0,  //
                          -inf, 0.5, -inf, 2.0,           //
                          -80.0, -85.0, -90.0, -100.0});
  for (bool log : {false, true}) {
    Builder b("s");
    Value* in = b.Input("x", DType::kF32, {3, 4});
    std::vector<Tensor> ref = RunOutput(b, log ? b.LogSoftmax(in) : b.Softmax(in), {x});
    ASSERT_EQ(ref.size(), 1u);
    Tensor y(DType::kF32, {3, 4});
    (log ? kiln_cpu::LogSoftmax : kiln_cpu::Softmax)(x.data_as<float>(), y.mutable_data_as<float>(),
                                                     3, 4, 1);
    // -inf inputs give exactly 0 (softmax) and -inf (log_softmax), as the reference.
    std::vector<double> got = y.ToF64(), want = ref[0].ToF64();
    for (size_t i = 0; i < want.size(); ++i) {
      if (std::isinf(want[i])) {
        EXPECT_EQ(got[i], want[i]) << "element " << i;
        got[i] = want[i] = 0.0;
      }
    }
    ExpectClose(got, want, kTol);
  }
}

TEST(ReduceKernelTest, SafeSoftmaxRowsZeroesFullyMaskedRows) {
  const float inf = std::numeric_limits<float>::infinity();
  // Two rows of 3 in a buffer with row stride 4 (the 4th column must stay untouched).
  std::vector<float> x = {1.0f, 2.0f, 3.0f, 42.0f, -inf, -inf, -inf, 42.0f};
  kiln_cpu::SafeSoftmaxRows(x.data(), 2, 3, 4);
  const double e1 = std::exp(-2.0), e2 = std::exp(-1.0), s = e1 + e2 + 1.0;
  ExpectClose(std::vector<double>(x.begin(), x.end()),
              {e1 / s, e2 / s, 1.0 / s, 42.0, 0.0, 0.0, 0.0, 42.0}, 1e-6);
}

TEST(ReduceKernelTest, FastExpMatchesExp) {
  for (float x = -87.0f; x <= 88.0f; x += 0.01f) {
    const double want = std::exp(static_cast<double>(x));
    ASSERT_NEAR(kiln_cpu::FastExp(x), want, 3e-7 * want) << "x = " << x;
  }
  EXPECT_EQ(kiln_cpu::FastExp(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_EQ(kiln_cpu::FastExp(-100.0f), 0.0f);
  EXPECT_TRUE(std::isnan(kiln_cpu::FastExp(std::numeric_limits<float>::quiet_NaN())));
}

}  // namespace
}  // namespace kiln::testutil
