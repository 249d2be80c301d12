// The CPU norm kernels (src/codegen/cpu/runtime_src/kiln_cpu_norm.h: LayerNorm, RmsNorm,
// GroupNorm, BatchNorm) against the reference ops run by the interpreter, on odd shapes (1, 3,
// 17, 383), every normalised axis, with and without the optional weight/bias, nchw and nhwc.
//
// Tolerance: 2e-5 relative to max(1, |expected|). The kernels accumulate statistics in double
// like the reference but normalise in f32; inputs are offset by +3 so a non-zero mean is removed.
#include <gtest/gtest.h>

#include <vector>

#include "kiln_cpu_norm.h"
#include "ops/op_util.h"
#include "tests/ops/ref_test_util.h"

namespace kiln::testutil {
namespace {

constexpr double kTol = 2e-5;

// float32(sin(a*i + phase)) + offset filling `shape`.
Tensor Data(const std::vector<int64_t>& shape, double a, double phase, float offset = 0.0f) {
  std::vector<float> v = SinValues(NumElements(shape), a, phase);
  for (float& x : v) x += offset;
  return Tensor::FromF32(DType::kF32, shape, v);
}

// Product of shape[begin, end).
int64_t Prod(const std::vector<int64_t>& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= s[i];
  return p;
}

std::vector<double> ToDouble(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// ------------------------------------------------------------------------------ layer/rms norm

struct TrailingCase {
  std::vector<int64_t> shape;
  int64_t axis;
};

const TrailingCase kTrailingCases[] = {
    {{1, 1}, -1},   {{3, 17}, -1},   {{2, 3, 383}, -1}, {{2, 3, 383}, 2},
    {{2, 3, 5}, 1}, {{2, 3, 5}, -2}, {{4, 17}, 0},      {{128, 768}, -1},
};

TEST(NormKernelTest, LayerNormMatchesReference) {
  for (const TrailingCase& c : kTrailingCases) {
    for (int affine = 0; affine < 4; ++affine) {  // bit 0: weight, bit 1: bias
      const bool has_w = affine & 1, has_b = affine & 2;
      SCOPED_TRACE(::testing::Message() << "shape " << IntsToString(c.shape) << " axis " << c.axis
                                        << " weight " << has_w << " bias " << has_b);
      const int64_t rank = static_cast<int64_t>(c.shape.size());
      const int64_t axis = c.axis < 0 ? c.axis + rank : c.axis;
      const std::vector<int64_t> trailing(c.shape.begin() + axis, c.shape.end());
      const int64_t rows = Prod(c.shape, 0, axis), cols = Prod(c.shape, axis, rank);
      Tensor x = Data(c.shape, 0.37, 0.1, 3.0f);
      Tensor w = Data(trailing, 0.11, 0.7, 1.0f), bias = Data(trailing, 0.29, 0.3);
      // The weight-less layer_norm with a bias still needs a weight operand in the IR, so that
      // case uses weight = ones in the reference and nullptr in the kernel.
      const bool ir_w = has_w || has_b;
      Tensor w_ir =
          has_w ? w : Tensor::FromF64(DType::kF32, trailing, std::vector<double>(cols, 1));
      Builder b("ln");
      Value* xv = b.Input("x", DType::kF32, StaticShape(c.shape));
      std::vector<Tensor> inputs = {x};
      Value* wv = nullptr;
      Value* bv = nullptr;
      if (ir_w) {
        wv = b.Input("w", DType::kF32, StaticShape(trailing));
        inputs.push_back(w_ir);
      }
      if (has_b) {
        bv = b.Input("b", DType::kF32, StaticShape(trailing));
        inputs.push_back(bias);
      }
      std::vector<Tensor> ref = RunOutput(b, b.LayerNorm(xv, wv, bv, 1e-5, c.axis), inputs);
      ASSERT_EQ(ref.size(), 1u);
      std::vector<float> xf = x.ToF32(), wf = w.ToF32(), bf = bias.ToF32(), y(x.numel());
      kiln_cpu::LayerNorm(xf.data(), has_w ? wf.data() : nullptr, has_b ? bf.data() : nullptr,
                          y.data(), rows, cols, 1e-5f);
      ExpectClose(ToDouble(y), ref[0].ToF64(), kTol);
    }
  }
}

TEST(NormKernelTest, LayerNormTinyEpsAndConstantRow) {
  // BERT's eps 1e-12; a constant row has zero variance, so eps alone keeps it finite (0 out).
  const std::vector<int64_t> shape = {2, 5};
  Tensor x = F32(shape, {1.5, 1.5, 1.5, 1.5, 1.5, -2.0, 0.5, 3.0, 1.0, 4.0});
  Builder b("ln");
  std::vector<Tensor> ref =
      RunOutput(b, b.LayerNorm(b.Input("x", DType::kF32, {2, 5}), nullptr, nullptr, 1e-12), {x});
  ASSERT_EQ(ref.size(), 1u);
  std::vector<float> xf = x.ToF32(), y(10);
  kiln_cpu::LayerNorm(xf.data(), nullptr, nullptr, y.data(), 2, 5, 1e-12f);
  ExpectClose(ToDouble(y), ref[0].ToF64(), kTol);
}

TEST(NormKernelTest, RmsNormMatchesReference) {
  for (const TrailingCase& c : kTrailingCases) {
    for (bool has_w : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "shape " << IntsToString(c.shape) << " axis " << c.axis
                                        << " weight " << has_w);
      const int64_t rank = static_cast<int64_t>(c.shape.size());
      const int64_t axis = c.axis < 0 ? c.axis + rank : c.axis;
      const std::vector<int64_t> trailing(c.shape.begin() + axis, c.shape.end());
      Tensor x = Data(c.shape, 0.53, 0.2, 0.5f);
      Tensor w = Data(trailing, 0.13, 0.4, 1.0f);
      Builder b("rms");
      Value* xv = b.Input("x", DType::kF32, StaticShape(c.shape));
      std::vector<Tensor> inputs = {x};
      Value* wv = nullptr;
      if (has_w) {
        wv = b.Input("w", DType::kF32, StaticShape(trailing));
        inputs.push_back(w);
      }
      std::vector<Tensor> ref = RunOutput(b, b.RmsNorm(xv, wv, 1e-6, c.axis), inputs);
      ASSERT_EQ(ref.size(), 1u);
      std::vector<float> xf = x.ToF32(), wf = w.ToF32(), y(x.numel());
      kiln_cpu::RmsNorm(xf.data(), has_w ? wf.data() : nullptr, y.data(), Prod(c.shape, 0, axis),
                        Prod(c.shape, axis, rank), 1e-6f);
      ExpectClose(ToDouble(y), ref[0].ToF64(), kTol);
    }
  }
}

// ---------------------------------------------------------------------------------- group_norm

struct GroupCase {
  std::vector<int64_t> shape;  // in the layout of the case
  int64_t groups;
};

TEST(NormKernelTest, GroupNormMatchesReferenceInBothLayouts) {
  // Shapes are written nchw-style [N, C, spatial...]; nhwc moves C last.
  const GroupCase cases[] = {
      {{2, 6, 5, 3}, 3}, {{1, 4, 1, 1}, 1},   {{3, 8, 17}, 4},
      {{2, 6, 7, 3}, 6}, {{1, 32, 9, 13}, 8}, {{2, 3}, 3},
  };
  for (const GroupCase& c : cases) {
    for (bool nhwc : {false, true}) {
      std::vector<int64_t> shape = c.shape;
      const int64_t channels = shape[1];
      if (nhwc) {
        shape.erase(shape.begin() + 1);
        shape.push_back(channels);
      }
      SCOPED_TRACE(::testing::Message() << "shape " << IntsToString(shape) << " groups " << c.groups
                                        << (nhwc ? " nhwc" : " nchw"));
      Tensor x = Data(shape, 0.31, 0.5, 2.0f);
      Tensor w = Data({channels}, 0.7, 0.2, 1.0f), bias = Data({channels}, 0.9, 0.1);
      Builder b("gn");
      // Inputs in separate statements: argument evaluation order is unspecified.
      Value* xv = b.Input("x", DType::kF32, StaticShape(shape));
      Value* wv = b.Input("w", DType::kF32, {channels});
      Value* bv = b.Input("b", DType::kF32, {channels});
      Value* y = b.GroupNorm(xv, wv, bv, c.groups, 1e-5, nhwc ? Layout::kNHWC : Layout::kNCHW);
      std::vector<Tensor> ref = RunOutput(b, y, {x, w, bias});
      ASSERT_EQ(ref.size(), 1u);
      std::vector<float> xf = x.ToF32(), wf = w.ToF32(), bf = bias.ToF32(), out(x.numel());
      const int64_t spatial = x.numel() / (shape[0] * channels);
      kiln_cpu::GroupNorm(xf.data(), wf.data(), bf.data(), out.data(), shape[0], channels, spatial,
                          c.groups, nhwc, 1e-5f);
      ExpectClose(ToDouble(out), ref[0].ToF64(), kTol);
    }
  }
}

// ---------------------------------------------------------------------------------- batch_norm

TEST(NormKernelTest, BatchNormMatchesReferenceOnEveryAxis) {
  const std::vector<std::vector<int64_t>> shapes = {{2, 3, 17, 5}, {5, 7}, {3}, {1, 383, 1}};
  for (const std::vector<int64_t>& shape : shapes) {
    const int64_t rank = static_cast<int64_t>(shape.size());
    for (int64_t axis = -rank; axis < rank; ++axis) {
      SCOPED_TRACE(::testing::Message() << "shape " << IntsToString(shape) << " axis " << axis);
      const int64_t a = axis < 0 ? axis + rank : axis;
      const int64_t c = shape[a];
      Tensor x = Data(shape, 0.23, 0.9, 1.0f);
      Tensor scale = Data({c}, 0.5, 0.3, 1.0f), bias = Data({c}, 0.8, 0.6),
             mean = Data({c}, 0.4, 1.1), var = Data({c}, 0.6, 0.2, 1.5f);
      Builder b("bn");
      // Inputs in separate statements: argument evaluation order is unspecified.
      Value* xv = b.Input("x", DType::kF32, StaticShape(shape));
      Value* params[4];
      for (int i = 0; i < 4; ++i) params[i] = b.Input("p" + std::to_string(i), DType::kF32, {c});
      Value* y = b.BatchNorm(xv, params[0], params[1], params[2], params[3], 1e-3, axis);
      std::vector<Tensor> ref = RunOutput(b, y, {x, scale, bias, mean, var});
      ASSERT_EQ(ref.size(), 1u);
      std::vector<float> xf = x.ToF32(), sf = scale.ToF32(), bf = bias.ToF32(), mf = mean.ToF32(),
                         vf = var.ToF32(), out(x.numel());
      kiln_cpu::BatchNorm(xf.data(), sf.data(), bf.data(), mf.data(), vf.data(), out.data(),
                          Prod(shape, 0, a), c, Prod(shape, a + 1, rank), 1e-3f);
      ExpectClose(ToDouble(out), ref[0].ToF64(), kTol);
    }
  }
}

}  // namespace
}  // namespace kiln::testutil
