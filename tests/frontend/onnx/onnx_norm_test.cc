// ONNX LayerNormalization, GroupNormalization, Softmax and Reduce*: imported models run by the
// interpreter against loops written here (tolerance 1e-5 absolute + 1e-4 relative).
#include <cmath>

#include "tests/frontend/onnx/onnx_test_util.h"

namespace kiln::onnx_test {
namespace {

using TP = onnx::TensorProto;

const std::vector<float> kX = {0.5f, -1.0f, 2.0f, 0.0f, 3.0f, 1.5f, -0.5f, 1.0f};

TEST(OnnxNorm, LayerNormLastAxis) {
  OnnxModelBuilder m(17);
  m.Input("x", TP::FLOAT, {2, 4});
  m.InitF32("g", {4}, {1.0f, 2.0f, 0.5f, -1.0f});
  m.InitF32("b", {4}, {0.0f, 0.1f, -0.1f, 1.0f});
  auto& n = m.Node("LayerNormalization", {"x", "g", "b"}, {"y"});
  OnnxModelBuilder::AttrFloat(n, "epsilon", 1e-5f);
  OnnxModelBuilder::AttrInt(n, "axis", -1);
  m.Output("y");
  std::vector<Tensor> out = ImportAndRun(m, {F32({2, 4}, kX)});
  ASSERT_EQ(out.size(), 1u);
  double g[4] = {1, 2, 0.5, -1}, b[4] = {0, 0.1, -0.1, 1};
  std::vector<double> want;
  for (int r = 0; r < 2; ++r) {
    double mean = 0, var = 0;
    for (int i = 0; i < 4; ++i) mean += kX[r * 4 + i] / 4.0;
    for (int i = 0; i < 4; ++i) var += (kX[r * 4 + i] - mean) * (kX[r * 4 + i] - mean) / 4.0;
    for (int i = 0; i < 4; ++i) {
      want.push_back((kX[r * 4 + i] - mean) / std::sqrt(var + double(1e-5f)) * g[i] + b[i]);
    }
  }
  ExpectValues(out[0], {2, 4}, want, 1e-5, 1e-4);
}

TEST(OnnxNorm, GroupNormOpset21AndPerGroupOpset18) {
  for (int opset : {18, 21}) {
    OnnxModelBuilder m(opset);
    m.Input("x", TP::FLOAT, {1, 4, 1, 2});
    // Opset 18: scale/bias per group ([2]); opset 21: per channel ([4]).
    if (opset == 18) {
      m.InitF32("s", {2}, {2.0f, -1.0f});
      m.InitF32("b", {2}, {0.5f, 0.0f});
    } else {
      m.InitF32("s", {4}, {2.0f, 2.0f, -1.0f, -1.0f});
      m.InitF32("b", {4}, {0.5f, 0.5f, 0.0f, 0.0f});
    }
    auto& n = m.Node("GroupNormalization", {"x", "s", "b"}, {"y"});
    OnnxModelBuilder::AttrInt(n, "num_groups", 2);
    m.Output("y");
    std::vector<Tensor> out = ImportAndRun(m, {F32({1, 4, 1, 2}, kX)});
    ASSERT_EQ(out.size(), 1u);
    double s[2] = {2, -1}, b[2] = {0.5, 0};
    std::vector<double> want;
    for (int grp = 0; grp < 2; ++grp) {
      double mean = 0, var = 0;
      for (int i = 0; i < 4; ++i) mean += kX[grp * 4 + i] / 4.0;
      for (int i = 0; i < 4; ++i) var += (kX[grp * 4 + i] - mean) * (kX[grp * 4 + i] - mean) / 4.0;
      for (int i = 0; i < 4; ++i) {
        want.push_back((kX[grp * 4 + i] - mean) / std::sqrt(var + 1e-5) * s[grp] + b[grp]);
      }
    }
    ExpectValues(out[0], {1, 4, 1, 2}, want, 1e-5, 1e-4);
  }
}

TEST(OnnxNorm, SoftmaxAndLogSoftmax) {
  OnnxModelBuilder m(13);
  m.Input("x", TP::FLOAT, {2, 4});
  auto& s = m.Node("Softmax", {"x"}, {"s"});
  OnnxModelBuilder::AttrInt(s, "axis", 1);
  m.Node("LogSoftmax", {"x"}, {"l"});
  m.Output("s");
  m.Output("l");
  std::vector<Tensor> out = ImportAndRun(m, {F32({2, 4}, kX)});
  ASSERT_EQ(out.size(), 2u);
  std::vector<double> sw, lw;
  for (int r = 0; r < 2; ++r) {
    double sum = 0;
    for (int i = 0; i < 4; ++i) sum += std::exp(double(kX[r * 4 + i]));
    for (int i = 0; i < 4; ++i) {
      sw.push_back(std::exp(double(kX[r * 4 + i])) / sum);
      lw.push_back(double(kX[r * 4 + i]) - std::log(sum));
    }
  }
  ExpectValues(out[0], {2, 4}, sw, 1e-6, 1e-5);
  ExpectValues(out[1], {2, 4}, lw, 1e-5, 1e-5);
}

TEST(OnnxNorm, ReductionsAttrAndInputAxes) {
  for (int opset : {13, 18}) {
    OnnxModelBuilder m(opset);
    m.Input("x", TP::FLOAT, {2, 4});
    m.InitI64("ax1", {1}, {1});
    auto& mean =
        m.Node("ReduceMean",
               opset >= 18 ? std::vector<std::string>{"x", "ax1"} : std::vector<std::string>{"x"},
               {"mean"});
    if (opset < 18) OnnxModelBuilder::AttrInts(mean, "axes", {1});
    OnnxModelBuilder::AttrInt(mean, "keepdims", 0);
    m.Node("ReduceSum", {"x", "ax1"}, {"sum"});      // axes an input since opset 13; keepdims=1
    auto& mx = m.Node("ReduceMax", {"x"}, {"max"});  // no axes: all
    OnnxModelBuilder::AttrInt(mx, "keepdims", 0);
    m.Output("mean");
    m.Output("sum");
    m.Output("max");
    std::vector<Tensor> out = ImportAndRun(m, {F32({2, 4}, kX)});
    ASSERT_EQ(out.size(), 3u);
    std::vector<double> mw, sw;
    double mxw = -1e30;
    for (int r = 0; r < 2; ++r) {
      double sum = 0;
      for (int i = 0; i < 4; ++i) {
        sum += kX[r * 4 + i];
        mxw = std::max(mxw, double(kX[r * 4 + i]));
      }
      mw.push_back(sum / 4);
      sw.push_back(sum);
    }
    ExpectValues(out[0], {2}, mw);
    ExpectValues(out[1], {2, 1}, sw);
    ExpectValues(out[2], {}, {mxw});
  }
}

TEST(OnnxNorm, LayerNormStatisticsOutputsAndLogSumExp) {
  OnnxModelBuilder m(18);
  m.Input("x", TP::FLOAT, {2, 4});
  m.InitF32("g", {4}, {1, 1, 1, 1});
  auto& n = m.Node("LayerNormalization", {"x", "g"}, {"y", "mean", "inv"});
  OnnxModelBuilder::AttrInt(n, "axis", 1);
  m.InitI64("ax", {1}, {1});
  auto& lse = m.Node("ReduceLogSumExp", {"x", "ax"}, {"lse"});
  OnnxModelBuilder::AttrInt(lse, "keepdims", 0);
  m.Output("mean");
  m.Output("inv");
  m.Output("lse");
  std::vector<Tensor> out = ImportAndRun(m, {F32({2, 4}, kX)});
  ASSERT_EQ(out.size(), 3u);
  std::vector<double> mw, iw, lw;
  for (int r = 0; r < 2; ++r) {
    double mean = 0, var = 0, se = 0;
    for (int i = 0; i < 4; ++i) mean += kX[r * 4 + i] / 4.0;
    for (int i = 0; i < 4; ++i) var += (kX[r * 4 + i] - mean) * (kX[r * 4 + i] - mean) / 4.0;
    for (int i = 0; i < 4; ++i) se += std::exp(double(kX[r * 4 + i]));
    mw.push_back(mean);
    iw.push_back(1 / std::sqrt(var + 1e-5));
    lw.push_back(std::log(se));
  }
  ExpectValues(out[0], {2, 1}, mw);
  ExpectValues(out[1], {2, 1}, iw, 1e-5, 1e-4);
  ExpectValues(out[2], {2}, lw, 1e-5, 1e-5);
}

}  // namespace
}  // namespace kiln::onnx_test
