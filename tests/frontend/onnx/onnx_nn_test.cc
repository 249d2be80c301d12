// ONNX Conv, ConvTranspose, Gemm, MatMul, BatchNormalization and pooling: imported models run by
// the interpreter against naive loops written here (tolerance 1e-4 absolute + 1e-5 relative).
#include <cmath>

#include "tests/frontend/onnx/onnx_test_util.h"

namespace kiln::onnx_test {
namespace {

using TP = onnx::TensorProto;

std::vector<float> Iota(int64_t n, float scale, float offset) {
  std::vector<float> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(offset + scale * static_cast<float>((i * 7) % 11));
  return v;
}

// Naive NCHW convolution, groups = 1.
std::vector<double> NaiveConv(const std::vector<float>& x, const std::vector<float>& w,
                              const std::vector<float>& b, int64_t C, int64_t H, int64_t W,
                              int64_t O, int64_t K, int64_t stride, int64_t pad, int64_t* Ho,
                              int64_t* Wo) {
  *Ho = (H + 2 * pad - K) / stride + 1;
  *Wo = (W + 2 * pad - K) / stride + 1;
  std::vector<double> y;
  for (int64_t o = 0; o < O; ++o) {
    for (int64_t i = 0; i < *Ho; ++i) {
      for (int64_t j = 0; j < *Wo; ++j) {
        double acc = b.empty() ? 0.0 : b[o];
        for (int64_t c = 0; c < C; ++c) {
          for (int64_t ki = 0; ki < K; ++ki) {
            for (int64_t kj = 0; kj < K; ++kj) {
              int64_t hi = i * stride - pad + ki, wj = j * stride - pad + kj;
              if (hi < 0 || hi >= H || wj < 0 || wj >= W) continue;
              acc += double(x[(c * H + hi) * W + wj]) * w[((o * C + c) * K + ki) * K + kj];
            }
          }
        }
        y.push_back(acc);
      }
    }
  }
  return y;
}

TEST(OnnxNn, Conv2dPadStrideBias) {
  for (int opset : {11, 17, 21}) {
    OnnxModelBuilder m(opset);
    m.Input("x", TP::FLOAT, {1, 2, 5, 5});
    std::vector<float> w = Iota(3 * 2 * 3 * 3, 0.1f, -0.4f), b = {0.5f, -0.5f, 1.0f};
    m.InitF32("w", {3, 2, 3, 3}, w);
    m.InitF32("b", {3}, b);
    auto& n = m.Node("Conv", {"x", "w", "b"}, {"y"});
    OnnxModelBuilder::AttrInts(n, "pads", {1, 1, 1, 1});
    OnnxModelBuilder::AttrInts(n, "strides", {2, 2});
    OnnxModelBuilder::AttrInts(n, "kernel_shape", {3, 3});
    m.Output("y");
    std::vector<float> x = Iota(50, 0.2f, -1.0f);
    std::vector<Tensor> out = ImportAndRun(m, {F32({1, 2, 5, 5}, x)});
    ASSERT_EQ(out.size(), 1u);
    int64_t ho = 0, wo = 0;
    std::vector<double> want = NaiveConv(x, w, b, 2, 5, 5, 3, 3, 2, 1, &ho, &wo);
    ExpectValues(out[0], {1, 3, ho, wo}, want, 1e-4);
  }
}

TEST(OnnxNn, Conv1dAutoPadSameUpper) {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {1, 1, 5});
  std::vector<float> w = {1.0f, 2.0f, -1.0f};
  m.InitF32("w", {1, 1, 3}, w);
  auto& n = m.Node("Conv", {"x", "w"}, {"y"});
  OnnxModelBuilder::AttrStr(n, "auto_pad", "SAME_UPPER");
  m.Output("y");
  std::vector<float> x = {1, 2, 3, 4, 5};
  std::vector<Tensor> out = ImportAndRun(m, {F32({1, 1, 5}, x)});
  ASSERT_EQ(out.size(), 1u);
  std::vector<double> want;
  for (int i = 0; i < 5; ++i) {
    double acc = 0;
    for (int k = 0; k < 3; ++k) {
      int j = i - 1 + k;
      if (j >= 0 && j < 5) acc += x[j] * w[k];
    }
    want.push_back(acc);
  }
  ExpectValues(out[0], {1, 1, 5}, want);
}

TEST(OnnxNn, ConvTransposeStride2) {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {1, 1, 2, 2});
  m.InitF32("w", {1, 1, 2, 2}, {1, 2, 3, 4});
  auto& n = m.Node("ConvTranspose", {"x", "w"}, {"y"});
  OnnxModelBuilder::AttrInts(n, "strides", {2, 2});
  m.Output("y");
  std::vector<Tensor> out = ImportAndRun(m, {F32({1, 1, 2, 2}, {1, 10, 100, 1000})});
  ASSERT_EQ(out.size(), 1u);
  // Each input pixel scales the kernel into its own 2x2 block.
  std::vector<double> want(16);
  double xs[2][2] = {{1, 10}, {100, 1000}};
  double ws[2][2] = {{1, 2}, {3, 4}};
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) want[i * 4 + j] = xs[i / 2][j / 2] * ws[i % 2][j % 2];
  }
  ExpectValues(out[0], {1, 1, 4, 4}, want);
}

TEST(OnnxNn, GemmTransBBiasAlphaAndMatrixC) {
  std::vector<float> a = Iota(6, 0.5f, -1.0f), b = Iota(12, 0.25f, -0.5f);
  for (bool bias_vector : {true, false}) {
    OnnxModelBuilder m;
    m.Input("a", TP::FLOAT, {2, 3});
    m.InitF32("b", {4, 3}, b);
    std::vector<float> c = bias_vector ? std::vector<float>{1, 2, 3, 4} : Iota(8, 1.0f, 0.0f);
    m.InitF32("c", bias_vector ? std::vector<int64_t>{4} : std::vector<int64_t>{2, 4}, c);
    auto& n = m.Node("Gemm", {"a", "b", "c"}, {"y"});
    OnnxModelBuilder::AttrInt(n, "transB", 1);
    OnnxModelBuilder::AttrFloat(n, "alpha", 0.5f);
    if (!bias_vector) OnnxModelBuilder::AttrFloat(n, "beta", 2.0f);
    m.Output("y");
    std::vector<Tensor> out = ImportAndRun(m, {F32({2, 3}, a)});
    ASSERT_EQ(out.size(), 1u);
    std::vector<double> want;
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < 4; ++j) {
        double acc = 0;
        for (int k = 0; k < 3; ++k) acc += double(a[i * 3 + k]) * b[j * 3 + k];
        double cv = bias_vector ? c[j] : 2.0 * c[i * 4 + j];
        want.push_back(0.5 * acc + cv);
      }
    }
    ExpectValues(out[0], {2, 4}, want, 1e-4);
  }
}

TEST(OnnxNn, MatMulBatchedAndVector) {
  OnnxModelBuilder m;
  m.Input("a", TP::FLOAT, {2, 2, 3});
  std::vector<float> b = Iota(12, 0.5f, -1.0f), v = {1.0f, -2.0f, 0.5f};
  m.InitF32("b", {3, 4}, b);
  m.InitF32("v", {3}, v);
  m.Node("MatMul", {"a", "b"}, {"y"});
  m.Node("MatMul", {"a", "v"}, {"z"});
  m.Output("y");
  m.Output("z");
  std::vector<float> a = Iota(12, 0.3f, -1.2f);
  std::vector<Tensor> out = ImportAndRun(m, {F32({2, 2, 3}, a)});
  ASSERT_EQ(out.size(), 2u);
  std::vector<double> y, z;
  for (int r = 0; r < 4; ++r) {
    for (int j = 0; j < 4; ++j) {
      double acc = 0;
      for (int k = 0; k < 3; ++k) acc += double(a[r * 3 + k]) * b[k * 4 + j];
      y.push_back(acc);
    }
    double acc = 0;
    for (int k = 0; k < 3; ++k) acc += double(a[r * 3 + k]) * v[k];
    z.push_back(acc);
  }
  ExpectValues(out[0], {2, 2, 4}, y, 1e-4);
  ExpectValues(out[1], {2, 2}, z, 1e-4);
}

TEST(OnnxNn, BatchNormInference) {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {1, 2, 2, 2});
  m.InitF32("s", {2}, {2.0f, 0.5f});
  m.InitF32("b", {2}, {0.1f, -0.1f});
  m.InitF32("mean", {2}, {1.0f, -1.0f});
  m.InitF32("var", {2}, {4.0f, 0.25f});
  auto& n = m.Node("BatchNormalization", {"x", "s", "b", "mean", "var"}, {"y"});
  OnnxModelBuilder::AttrFloat(n, "epsilon", 1e-3f);
  m.Output("y");
  std::vector<float> x = {0, 1, 2, 3, -1, -2, 0.5f, 4};
  std::vector<Tensor> out = ImportAndRun(m, {F32({1, 2, 2, 2}, x)});
  ASSERT_EQ(out.size(), 1u);
  double s[2] = {2.0, 0.5}, b[2] = {0.1, -0.1}, mu[2] = {1, -1}, var[2] = {4, 0.25};
  std::vector<double> want;
  for (int i = 0; i < 8; ++i) {
    int c = i / 4;
    want.push_back(s[c] * (x[i] - mu[c]) / std::sqrt(var[c] + double(1e-3f)) + b[c]);
  }
  ExpectValues(out[0], {1, 2, 2, 2}, want, 1e-5);
}

TEST(OnnxNn, MaxAveragePoolAndGlobal) {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {1, 1, 4, 4});
  auto& mp = m.Node("MaxPool", {"x"}, {"mp"});
  OnnxModelBuilder::AttrInts(mp, "kernel_shape", {2, 2});
  OnnxModelBuilder::AttrInts(mp, "strides", {2, 2});
  auto& ap = m.Node("AveragePool", {"x"}, {"ap"});
  OnnxModelBuilder::AttrInts(ap, "kernel_shape", {3, 3});
  OnnxModelBuilder::AttrInts(ap, "pads", {1, 1, 1, 1});
  OnnxModelBuilder::AttrInts(ap, "strides", {2, 2});
  m.Node("GlobalAveragePool", {"x"}, {"gp"});
  m.Output("mp");
  m.Output("ap");
  m.Output("gp");
  std::vector<float> x = Iota(16, 1.0f, -3.0f);
  std::vector<Tensor> out = ImportAndRun(m, {F32({1, 1, 4, 4}, x)});
  ASSERT_EQ(out.size(), 3u);
  std::vector<double> mpw, apw;
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) {
      double mx = -1e30, sum = 0;
      int cnt = 0;
      for (int a = 0; a < 2; ++a) {
        for (int b = 0; b < 2; ++b) mx = std::max(mx, double(x[(2 * i + a) * 4 + 2 * j + b]));
      }
      for (int a = -1; a <= 1; ++a) {
        for (int b = -1; b <= 1; ++b) {
          int h = 2 * i + a, w = 2 * j + b;
          if (h < 0 || h >= 4 || w < 0 || w >= 4) continue;  // count_include_pad = 0
          sum += x[h * 4 + w];
          ++cnt;
        }
      }
      mpw.push_back(mx);
      apw.push_back(sum / cnt);
    }
  }
  double total = 0;
  for (float f : x) total += f;
  ExpectValues(out[0], {1, 1, 2, 2}, mpw);
  ExpectValues(out[1], {1, 1, 2, 2}, apw);
  ExpectValues(out[2], {1, 1, 1, 1}, {total / 16});
}

}  // namespace
}  // namespace kiln::onnx_test
