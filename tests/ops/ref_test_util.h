// Helpers for the gemm, conv, pool and attention reference tests: deterministic inputs that numpy
// reproduces exactly (x[i] = float32(sin(a*i + phase))), running a Builder graph through the
// interpreter, and tolerance checks.
#ifndef KILN_TESTS_OPS_REF_TEST_UTIL_H_
#define KILN_TESTS_OPS_REF_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ir/builder.h"
#include "ops/interpreter.h"

namespace kiln::testutil {

/// float32(sin(a*i + phase)) for i in [0, n): numpy's np.sin(a*np.arange(n)+phase).astype(f32).
inline std::vector<float> SinValues(int64_t n, double a, double phase) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(std::sin(a * i + phase));
  return v;
}

/// A tensor of SinValues converted to `dtype`.
inline Tensor SinTensor(DType dtype, std::vector<int64_t> shape, double a, double phase) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return Tensor::FromF32(dtype, std::move(shape), SinValues(n, a, phase));
}

inline Tensor F32(std::vector<int64_t> shape, const std::vector<float>& v) {
  return Tensor::FromF32(DType::kF32, std::move(shape), v);
}

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

/// The build error of `b` (ok if it built).
inline Status BuildError(Builder& b) {
  StatusOr<Graph> g = b.Finish();
  return g.ok() ? Status::Ok() : g.status();
}

/// Expects an invalid-argument error whose message contains every string in `parts`.
inline void ExpectError(const Status& s, const std::vector<std::string>& parts) {
  ASSERT_FALSE(s.ok()) << "expected an error";
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  for (const std::string& p : parts) {
    EXPECT_NE(s.message().find(p), std::string::npos) << "'" << p << "' not in: " << s.message();
  }
}

/// |got - expected| <= tol * max(1, |expected|) elementwise.
inline void ExpectClose(const Tensor& t, const std::vector<double>& expected, double tol) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(expected.size())) << t.TypeString();
  std::vector<double> got = t.ToF64();
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(got[i], expected[i], tol * std::max(1.0, std::fabs(expected[i])))
        << "element " << i;
  }
}

/// Both tensors elementwise close (same numel).
inline void ExpectTensorsClose(const Tensor& got, const Tensor& want, double tol) {
  ExpectClose(got, want.ToF64(), tol);
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

}  // namespace kiln::testutil

#endif  // KILN_TESTS_OPS_REF_TEST_UTIL_H_
