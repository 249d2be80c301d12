// Tests of the CPU gemm kernels (src/codegen/cpu/runtime_src/kiln_cpu_gemm.{h,cc}) against kiln's
// reference gemm op: every transposition, broadcast batch dims, alpha / beta / c, odd sizes
// (1, 3, 7, 17), K = 0, and the epilogue activations applied as the emitted code applies them.
// The kernels are called the way src/codegen/cpu/gemm.cc emits them: c broadcast into the output
// with BroadcastCopy (scaled by beta), then GemmBatched accumulating into it.
// Tolerance: max |got - ref| <= 1e-4 * max(1, max |ref|) (f32 sgemm vs the f32 reference kernel).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kiln_cpu_gemm.h"
#include "ops/op_util.h"
#include "tests/codegen/kernel_test_util.h"
#include "tests/ops/ref_test_util.h"

namespace kiln::testutil {
namespace {

constexpr double kRelTol = 1e-4;

// Element strides with which an operand of batch shape `batch` (right-aligned) is read for each
// output batch dim; 0 where it broadcasts. `matrix` is the operand's matrix size.
std::vector<int64_t> BatchStrides(const std::vector<int64_t>& out_batch,
                                  const std::vector<int64_t>& batch, int64_t matrix) {
  std::vector<int64_t> strides(out_batch.size(), 0);
  int64_t stride = matrix;
  for (size_t i = 0; i < batch.size(); ++i) {
    const size_t d = batch.size() - 1 - i;       // operand dim
    const size_t od = out_batch.size() - 1 - i;  // output dim
    strides[od] = batch[d] == 1 ? 0 : stride;
    stride *= batch[d];
  }
  return strides;
}

struct GemmCase {
  std::vector<int64_t> a = {}, b = {};  // stored shapes
  bool trans_a = false, trans_b = false;
  double alpha = 1.0, beta = 1.0;
  std::vector<int64_t> c = {};  // empty: no c
};

std::string Name(const GemmCase& g) {
  return "a" + IntsToString(g.a) + " b" + IntsToString(g.b) + " ta=" + std::to_string(g.trans_a) +
         " tb=" + std::to_string(g.trans_b) + " c" + IntsToString(g.c);
}

// Runs the reference gemm and the kernels on the same inputs and compares.
void CheckGemm(const GemmCase& g) {
  SCOPED_TRACE(Name(g));
  Builder bld("g");
  Value* a = bld.Input("a", DType::kF32, StaticShape(g.a));
  Value* b = bld.Input("b", DType::kF32, StaticShape(g.b));
  Value* c = g.c.empty() ? nullptr : bld.Input("c", DType::kF32, StaticShape(g.c));
  std::vector<Tensor> inputs = {SinTensor(DType::kF32, g.a, 0.37, 0.1),
                                SinTensor(DType::kF32, g.b, 0.23, 1.0)};
  if (c) inputs.push_back(SinTensor(DType::kF32, g.c, 0.71, 0.3));
  auto res = RunOutput(
      bld,
      bld.Gemm(
          a, b,
          {.trans_a = g.trans_a, .trans_b = g.trans_b, .alpha = g.alpha, .beta = g.beta, .c = c}),
      inputs);
  ASSERT_EQ(res.size(), 1u);
  const std::vector<int64_t>& out_shape = res[0].shape();
  const size_t r = out_shape.size();
  const int64_t m = out_shape[r - 2], n = out_shape[r - 1];
  const int64_t k = g.trans_a ? g.a[g.a.size() - 2] : g.a.back();
  const std::vector<int64_t> out_batch(out_shape.begin(), out_shape.end() - 2);
  const std::vector<int64_t> a_strides =
      BatchStrides(out_batch, std::vector<int64_t>(g.a.begin(), g.a.end() - 2), m * k);
  const std::vector<int64_t> b_strides =
      BatchStrides(out_batch, std::vector<int64_t>(g.b.begin(), g.b.end() - 2), k * n);

  // NaN-filled output: the kernels must not read what they did not write.
  std::vector<float> out(NumElements(out_shape), std::numeric_limits<float>::quiet_NaN());
  const std::vector<float> av = inputs[0].ToF32(), bv = inputs[1].ToF32();
  float beta = 0.0f;
  if (c) {
    const std::vector<float> cv = inputs[2].ToF32();
    const std::vector<int64_t> c_strides = BatchStrides(out_shape, g.c, 1);
    kiln_cpu::BroadcastCopy(out.data(), cv.data(), static_cast<int>(r), out_shape.data(),
                            c_strides.data(), static_cast<float>(g.beta));
    beta = 1.0f;
  }
  kiln_cpu::GemmBatched(g.trans_a, g.trans_b, m, n, k, static_cast<float>(g.alpha), av.data(),
                        bv.data(), beta, out.data(), static_cast<int>(out_batch.size()),
                        out_batch.data(), a_strides.data(), b_strides.data());
  ExpectMatches(out, res[0], kRelTol);
}

TEST(GemmKernelTest, AllTranspositionsOddSizes) {
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      for (auto [m, k, n] : std::vector<std::array<int64_t, 3>>{
               {1, 1, 1}, {3, 7, 17}, {17, 3, 1}, {1, 17, 7}, {7, 1, 3}, {65, 130, 33}}) {
        CheckGemm({.a = ta ? std::vector<int64_t>{k, m} : std::vector<int64_t>{m, k},
                   .b = tb ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n},
                   .trans_a = ta,
                   .trans_b = tb});
      }
    }
  }
}

TEST(GemmKernelTest, BatchedAndBroadcastBatchDims) {
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      const int64_t m = 3, k = 7, n = 5;
      const std::vector<int64_t> am = ta ? std::vector<int64_t>{k, m} : std::vector<int64_t>{m, k};
      const std::vector<int64_t> bm = tb ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n};
      auto with = [](std::vector<int64_t> batch, const std::vector<int64_t>& mat) {
        batch.insert(batch.end(), mat.begin(), mat.end());
        return batch;
      };
      CheckGemm({.a = with({2, 3}, am), .b = with({2, 3}, bm), .trans_a = ta, .trans_b = tb});
      CheckGemm({.a = with({2, 1, 3}, am), .b = with({3, 1}, bm), .trans_a = ta, .trans_b = tb});
      CheckGemm({.a = with({4}, am), .b = bm, .trans_a = ta, .trans_b = tb});     // shared b
      CheckGemm({.a = am, .b = with({1, 3}, bm), .trans_a = ta, .trans_b = tb});  // shared a
      CheckGemm({.a = with({1, 1}, am), .b = with({1}, bm), .trans_a = ta, .trans_b = tb});
    }
  }
}

TEST(GemmKernelTest, AlphaBetaAndBroadcastC) {
  for (bool tb : {false, true}) {
    const std::vector<int64_t> b =
        tb ? std::vector<int64_t>{2, 17, 7} : std::vector<int64_t>{2, 7, 17};
    for (const std::vector<int64_t>& c :
         {std::vector<int64_t>{2, 3, 17}, {17}, {3, 1}, {1, 17}, {2, 1, 1}, {1}}) {
      CheckGemm({.a = {2, 3, 7}, .b = b, .trans_b = tb, .alpha = 0.5, .beta = -1.5, .c = c});
    }
  }
  CheckGemm({.a = {5, 3}, .b = {3, 4}, .alpha = 2.0, .beta = 0.0, .c = {5, 4}});
}

TEST(GemmKernelTest, EmptyContractionGivesBetaC) {
  CheckGemm({.a = {3, 0}, .b = {0, 4}});
  CheckGemm({.a = {3, 0}, .b = {0, 4}, .beta = 2.0, .c = {4}});
}

TEST(GemmKernelTest, BroadcastAddMatchesResidualEpilogue) {
  // gemm [2,3,5] with add(%r), r [3,1]: the emitted code adds r with BroadcastAdd.
  Builder bld("g");
  Value* a = bld.Input("a", DType::kF32, {2, 3, 4});
  Value* b = bld.Input("b", DType::kF32, {4, 5});
  Value* r = bld.Input("r", DType::kF32, {3, 1});
  std::vector<Tensor> inputs = {SinTensor(DType::kF32, {2, 3, 4}, 0.37, 0.1),
                                SinTensor(DType::kF32, {4, 5}, 0.23, 1.0),
                                SinTensor(DType::kF32, {3, 1}, 0.9, 0.2)};
  auto res = RunOutput(bld, bld.Gemm(a, b, {.epilogue = {Residual(r)}}), inputs);
  ASSERT_EQ(res.size(), 1u);
  std::vector<float> out(30, std::numeric_limits<float>::quiet_NaN());
  const std::vector<float> av = inputs[0].ToF32(), bv = inputs[1].ToF32(), rv = inputs[2].ToF32();
  const int64_t batch_dims[] = {2}, a_strides[] = {12}, b_strides[] = {0};
  kiln_cpu::GemmBatched(false, false, 3, 5, 4, 1.0f, av.data(), bv.data(), 0.0f, out.data(), 1,
                        batch_dims, a_strides, b_strides);
  const int64_t dims[] = {2, 3, 5}, r_strides[] = {0, 1, 0};
  kiln_cpu::BroadcastAdd(out.data(), rv.data(), 3, dims, r_strides);
  ExpectMatches(out, res[0], kRelTol);
}

TEST(GemmKernelTest, EpilogueActivationsMatchReference) {
  // gemm + bias + <activation>, the activation applied with the kernel library's scalar function.
  using Fn = float (*)(float);
  const std::vector<std::pair<EpilogueStep, Fn>> steps = {
      {Relu(), kiln_cpu::EpilogueRelu},         {Gelu(), kiln_cpu::EpilogueGelu},
      {GeluTanh(), kiln_cpu::EpilogueGeluTanh}, {Silu(), kiln_cpu::EpilogueSilu},
      {Sigmoid(), kiln_cpu::EpilogueSigmoid},   {Tanh(), kiln_cpu::EpilogueTanh}};
  for (const auto& [step, fn] : steps) {
    SCOPED_TRACE(std::string(EpilogueKindName(step.op.kind)));
    Builder bld("g");
    Value* a = bld.Input("a", DType::kF32, {7, 3});
    Value* b = bld.Input("b", DType::kF32, {17, 3});
    Value* bias = bld.Input("bias", DType::kF32, {17});
    std::vector<Tensor> inputs = {SinTensor(DType::kF32, {7, 3}, 0.37, 0.1),
                                  SinTensor(DType::kF32, {17, 3}, 0.23, 1.0),
                                  SinTensor(DType::kF32, {17}, 0.5, 0.0)};
    auto res = RunOutput(
        bld, bld.Gemm(a, b, {.trans_b = true, .epilogue = {Bias(bias), step, Scale(1.5)}}), inputs);
    ASSERT_EQ(res.size(), 1u);
    std::vector<float> out(7 * 17);
    const std::vector<float> av = inputs[0].ToF32(), bv = inputs[1].ToF32();
    const std::vector<float> biasv = inputs[2].ToF32();
    kiln_cpu::Gemm(false, true, 7, 17, 3, 1.0f, av.data(), 3, bv.data(), 3, 0.0f, out.data(), 17);
    for (int64_t i = 0; i < 7; ++i) {
      for (int64_t j = 0; j < 17; ++j) {
        float& v = out[i * 17 + j];
        v = fn(v + biasv[j]) * 1.5f;
      }
    }
    ExpectMatches(out, res[0], kRelTol);
  }
}

}  // namespace
}  // namespace kiln::testutil
