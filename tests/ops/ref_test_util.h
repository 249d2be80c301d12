// Helpers shared by the op reference tests (tests/ops/*_test.cc): input tensors from literal
// vectors, iota ramps and deterministic inputs that numpy reproduces exactly
// (x[i] = float32(sin(a*i + phase))), running a Builder graph through the interpreter, nchw/nhwc
// reordering for the layout-generic spatial ops, and value/error checks.
//
// The tests live in namespace kiln::testutil so that these helpers need no using-declarations.
#ifndef KILN_TESTS_OPS_REF_TEST_UTIL_H_
#define KILN_TESTS_OPS_REF_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <numeric>
#include <string>
#include <vector>

#include "ir/builder.h"
#include "ops/interpreter.h"

namespace kiln::testutil {

// ---------------------------------------------------------------------------------- inputs

/// Product of the dims of a concrete shape (1 for a scalar).
inline int64_t NumElements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

/// float32(sin(a*i + phase)) for i in [0, n): numpy's np.sin(a*np.arange(n)+phase).astype(f32).
inline std::vector<float> SinValues(int64_t n, double a, double phase) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(std::sin(a * i + phase));
  return v;
}

/// A tensor of SinValues converted to `dtype`.
inline Tensor SinTensor(DType dtype, std::vector<int64_t> shape, double a, double phase) {
  const int64_t n = NumElements(shape);
  return Tensor::FromF32(dtype, std::move(shape), SinValues(n, a, phase));
}

/// An f32 tensor of `shape` holding `v` (doubles are rounded to float, as numpy's astype).
inline Tensor F32(std::vector<int64_t> shape, const std::vector<float>& v) {
  return Tensor::FromF32(DType::kF32, std::move(shape), v);
}
inline Tensor F32(std::vector<int64_t> shape, const std::vector<double>& v) {
  return Tensor::FromF64(DType::kF32, std::move(shape), v);
}
// Braced literals pick this one (they would be ambiguous between the two vector overloads).
inline Tensor F32(std::vector<int64_t> shape, std::initializer_list<double> v) {
  return F32(std::move(shape), std::vector<double>(v));
}

/// An i64 tensor written directly (FromF64 would round values above 2^53).
inline Tensor I64(std::vector<int64_t> shape, const std::vector<int64_t>& v) {
  Tensor t(DType::kI64, std::move(shape));
  for (size_t i = 0; i < v.size(); ++i) t.mutable_data_as<int64_t>()[i] = v[i];
  return t;
}

/// `start`, start+1, ... (n values).
inline std::vector<double> IotaValues(int64_t n, double start = 0) {
  std::vector<double> v(n);
  std::iota(v.begin(), v.end(), start);
  return v;
}

/// IotaValues filling `shape`, as a tensor of `dtype`.
inline Tensor Iota(DType dtype, std::vector<int64_t> shape, double start = 0) {
  const int64_t n = NumElements(shape);
  return Tensor::FromF64(dtype, std::move(shape), IotaValues(n, start));
}

/// Permutes a row-major tensor of concrete `shape` by `perm` (out dim i = in dim perm[i]).
inline std::vector<float> Permute(const std::vector<float>& v, const std::vector<int64_t>& shape,
                                  const std::vector<int64_t>& perm) {
  const size_t r = shape.size();
  std::vector<int64_t> in_strides(r, 1), out_shape(r);
  for (size_t i = r - 1; i > 0; --i) in_strides[i - 1] = in_strides[i] * shape[i];
  for (size_t i = 0; i < r; ++i) out_shape[i] = shape[perm[i]];
  std::vector<float> out(v.size());
  std::vector<int64_t> idx(r, 0);
  for (size_t k = 0; k < v.size(); ++k) {
    int64_t src = 0;
    for (size_t i = 0; i < r; ++i) src += idx[i] * in_strides[perm[i]];
    out[k] = v[src];
    for (size_t a = r; a-- > 0;) {
      if (++idx[a] < out_shape[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

// -------------------------------------------------------------------- nchw / nhwc operands

/// Both 4-D layouts, for tests that expect the same (nchw-ordered) numbers from each.
inline constexpr Layout kBothLayouts[] = {Layout::kNCHW, Layout::kNHWC};

/// The shape in `layout` of a 4-D operand whose nchw shape is `nchw`.
inline std::vector<int64_t> LayoutShape(Layout layout, const std::vector<int64_t>& nchw) {
  if (layout == Layout::kNCHW) return nchw;
  return {nchw[0], nchw[2], nchw[3], nchw[1]};
}

/// nchw-ordered values of shape `nchw`, reordered for `layout`.
inline std::vector<float> LayoutValues(Layout layout, const std::vector<float>& v,
                                       const std::vector<int64_t>& nchw) {
  return layout == Layout::kNCHW ? v : Permute(v, nchw, {0, 2, 3, 1});
}

/// A 4-D result `t` in `layout` as nchw-ordered values; sets *nchw_shape (if given) to its nchw
/// shape.
inline std::vector<double> NchwValues(const Tensor& t, Layout layout,
                                      std::vector<int64_t>* nchw_shape = nullptr) {
  std::vector<int64_t> shape = t.shape();
  std::vector<float> got = t.ToF32();
  if (layout == Layout::kNHWC) {
    got = Permute(got, shape, {0, 3, 1, 2});
    shape = {shape[0], shape[3], shape[1], shape[2]};
  }
  if (nchw_shape) *nchw_shape = shape;
  return std::vector<double>(got.begin(), got.end());
}

// ---------------------------------------------------------------------------------- running

/// Finishes `b` and interprets it; a failure is reported and gives no outputs.
inline std::vector<Tensor> RunGraph(Builder& b, const std::vector<Tensor>& inputs) {
  StatusOr<Graph> g = b.Finish();
  if (!g.ok()) {
    ADD_FAILURE() << "build failed: " << g.status().ToString();
    return {};
  }
  StatusOr<std::vector<Tensor>> out = Interpret(*g, inputs);
  if (!out.ok()) {
    ADD_FAILURE() << "interpret failed: " << out.status().ToString();
    return {};
  }
  return *out;
}

/// Makes `y` the output of `b` and runs it like RunGraph; a null `y` (the builder failed) is
/// reported with the builder's error and gives no outputs.
inline std::vector<Tensor> RunOutput(Builder& b, Value* y, const std::vector<Tensor>& inputs) {
  if (y == nullptr) {
    ADD_FAILURE() << b.status().ToString();
    return {};
  }
  b.Output(y);
  return RunGraph(b, inputs);
}

/// Finishes and interprets `b`; returns the run-time error (the graph must build).
inline Status RunError(Builder& b, const std::vector<Tensor>& inputs) {
  StatusOr<Graph> g = b.Finish();
  if (!g.ok()) {
    ADD_FAILURE() << "build failed: " << g.status().ToString();
    return g.status();
  }
  StatusOr<std::vector<Tensor>> out = Interpret(*g, inputs);
  return out.ok() ? Status::Ok() : out.status();
}

/// The build error of `b` (ok if it built).
inline Status BuildError(Builder& b) {
  StatusOr<Graph> g = b.Finish();
  return g.ok() ? Status::Ok() : g.status();
}

// ---------------------------------------------------------------------------------- checks

/// Expects an invalid-argument error whose message contains every string in `parts`.
inline void ExpectError(const Status& s, const std::vector<std::string>& parts) {
  ASSERT_FALSE(s.ok()) << "expected an error";
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  for (const std::string& p : parts) {
    EXPECT_NE(s.message().find(p), std::string::npos) << "'" << p << "' not in: " << s.message();
  }
}

/// Expects an error (of any code) whose message contains `part`.
inline void ExpectMessage(const Status& s, const std::string& part) {
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(part), std::string::npos) << "message: " << s.message();
}

/// |got - expected| <= tol * max(1, |expected|) elementwise; a NaN expected value wants a NaN.
inline void ExpectClose(const std::vector<double>& got, const std::vector<double>& expected,
                        double tol) {
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "element " << i << " is " << got[i];
    } else {
      EXPECT_NEAR(got[i], expected[i], tol * std::max(1.0, std::fabs(expected[i])))
          << "element " << i;
    }
  }
}

/// ExpectClose on the values of tensor `t`.
inline void ExpectClose(const Tensor& t, const std::vector<double>& expected, double tol) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(expected.size())) << t.TypeString();
  ExpectClose(t.ToF64(), expected, tol);
}

/// Both tensors elementwise close (same numel).
inline void ExpectTensorsClose(const Tensor& got, const Tensor& want, double tol) {
  ExpectClose(got, want.ToF64(), tol);
}

}  // namespace kiln::testutil

#endif  // KILN_TESTS_OPS_REF_TEST_UTIL_H_
