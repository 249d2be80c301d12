// Tests of the gemm op (src/ops/gemm.cc) and the shared epilogue (src/ops/epilogue.cc): every
// transposition combination, broadcast batch dims, alpha/beta/c, each epilogue step, K=1 / N=1,
// symbolic inference and the error messages. Expected values come from numpy (float64 math on
// float32 inputs x[i] = sin(a*i + phase), see ref_test_util.h); larger shapes are checked against
// a naive double-precision loop in this file.
#include <gtest/gtest.h>

#include <chrono>

#include "tests/ops/ref_test_util.h"

namespace kiln::testutil {
namespace {

constexpr double kTol = 2e-5;

// numpy: A = S(12,.37,0).reshape(3,4); B = S(20,.23,1.0).reshape(4,5); A @ B.
const std::vector<double> kAB = {-0.6687721, -0.90105,  -1.085872, -1.213504, -1.277225,
                                 1.010732,   0.7765178, 0.5014065, 0.1998873, -0.1121592,
                                 0.8520616,  1.041866,  1.176799,  1.249753,  1.256885};

TEST(GemmTest, AllTranspositionCombinations) {
  const std::vector<float> a = SinValues(12, 0.37, 0.0);  // logical [3, 4]
  const std::vector<float> b = SinValues(20, 0.23, 1.0);  // logical [4, 5]
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      SCOPED_TRACE(std::string("trans_a=") + (ta ? "1" : "0") + " trans_b=" + (tb ? "1" : "0"));
      std::vector<int64_t> sa = ta ? std::vector<int64_t>{4, 3} : std::vector<int64_t>{3, 4};
      std::vector<int64_t> sb = tb ? std::vector<int64_t>{5, 4} : std::vector<int64_t>{4, 5};
      Builder bld("g");
      Value* x = bld.Input("a", DType::kF32, StaticShape(sa));
      Value* y = bld.Input("b", DType::kF32, StaticShape(sb));
      Value* out = bld.Gemm(x, y, {.trans_a = ta, .trans_b = tb});
      ASSERT_NE(out, nullptr) << bld.status().ToString();
      EXPECT_EQ(out->type().ToString(), "f32[3,5]");
      bld.Output(out);
      auto res = RunGraph(bld, {F32(sa, ta ? Permute(a, {3, 4}, {1, 0}) : a),
                                F32(sb, tb ? Permute(b, {4, 5}, {1, 0}) : b)});
      ASSERT_EQ(res.size(), 1u);
      ExpectClose(res[0], kAB, kTol);
    }
  }
}

TEST(GemmTest, BatchedWithBroadcastBatchDims) {
  // a [2,1,3,4] @ b [3,4,2] -> [2,3,3,2]; numpy np.matmul.
  const std::vector<double> want = {
      1.816089,   1.776502,   2.551637,   2.800301,     -1.353367, -1.268686,
      -0.4481878, -0.8376915, 0.6569318,  -0.005138463, 0.5673179, 0.8367596,
      -1.577686,  -1.33091,   -2.901078,  -2.797568,    1.051595,  0.8235903,
      -2.797061,  -3.030369,  0.8461391,  0.7191491,    2.950503,  3.160781,
      -0.5540525, 0.1568792,  -0.6677916, -0.8083107,   0.432953,  -0.3034609,
      3.091777,   2.94692,    -0.4909223, -0.2891862,   -3.180803, -2.999362};
  Builder b("g");
  Value* x = b.Input("a", DType::kF32, {2, 1, 3, 4});
  Value* y = b.Input("b", DType::kF32, {3, 4, 2});
  Value* out = b.Gemm(x, y);
  ASSERT_NE(out, nullptr) << b.status().ToString();
  EXPECT_EQ(out->type().ToString(), "f32[2,3,3,2]");
  b.Output(out);
  auto res = RunGraph(b, {SinTensor(DType::kF32, {2, 1, 3, 4}, 0.37, 0.0),
                          SinTensor(DType::kF32, {3, 4, 2}, 0.23, 0.5)});
  ASSERT_EQ(res.size(), 1u);
  ExpectClose(res[0], want, kTol);
}

TEST(GemmTest, BatchedTransBWithBroadcast) {
  // b stored [3,2,4]: np.matmul(a, np.swapaxes(b, -1, -2)).
  const std::vector<double> want = {
      1.62506,    1.771407,   2.257542,    3.151322,   -1.21567,  -1.199936, 0.5212484, -1.139842,
      1.560727,   -1.260283,  -0.2382212,  0.911298,   -1.902327, -1.165094, -3.087736, -2.480943,
      1.342387,   0.7151917,  -2.477996,   -3.368923,  0.7663024, 0.5890051, 2.61696,   3.475735,
      -1.603927,  1.42554,    -0.05264005, -0.6527859, 1.594381,  -1.543919, 3.331169,  2.610638,
      -0.7383017, -0.2417702, -3.465055,   -2.654481};
  Builder b("g");
  Value* x = b.Input("a", DType::kF32, {2, 1, 3, 4});
  Value* y = b.Input("b", DType::kF32, {3, 2, 4});
  b.Output(b.Gemm(x, y, {.trans_b = true}));
  auto res = RunGraph(b, {SinTensor(DType::kF32, {2, 1, 3, 4}, 0.37, 0.0),
                          SinTensor(DType::kF32, {3, 2, 4}, 0.23, 0.5)});
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].shape(), (std::vector<int64_t>{2, 3, 3, 2}));
  ExpectClose(res[0], want, kTol);
}

TEST(GemmTest, TwoDimensionalAWithBatchedB) {
  // a [3,4] @ b [2,4,5] -> [2,3,5].
  const std::vector<double> want = {
      -0.06139839, -0.3521754, -0.6244044, -0.8637477, -1.0576,    1.32357,   1.217002,  1.046338,
      0.8205669,   0.5515785,  0.3014189,  0.5728706,  0.8141508,  1.012552,  1.157625,  1.28135,
      1.266491,    1.18493,    1.040961,   0.842168,   0.1641366,  0.4676976, 0.7466262, 0.9862321,
      1.173896,    -1.251585,  -1.181677,  -1.049534,  -0.8621145, -0.6292899};
  Builder b("g");
  Value* x = b.Input("a", DType::kF32, {3, 4});
  Value* y = b.Input("b", DType::kF32, {2, 4, 5});
  b.Output(b.Gemm(x, y));
  auto res = RunGraph(
      b, {SinTensor(DType::kF32, {3, 4}, 0.37, 0.0), SinTensor(DType::kF32, {2, 4, 5}, 0.23, 0.5)});
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].shape(), (std::vector<int64_t>{2, 3, 5}));
  ExpectClose(res[0], want, kTol);
}

// The 2x3 @ 3x4 product the alpha/beta and epilogue tests build on:
// a = S(6,.37,0).reshape(2,3); b = S(12,.83,2.0).reshape(3,4).
Tensor EpA() { return SinTensor(DType::kF32, {2, 3}, 0.37, 0.0); }
Tensor EpB() { return SinTensor(DType::kF32, {3, 4}, 0.83, 2.0); }

TEST(GemmTest, AlphaBetaAndBroadcastC) {
  {  // 0.5 * a@b - 2 * c, c = S(4,.9,.2) broadcast over rows.
    const std::vector<double> want = {-0.3075355,  -1.821666, -1.961377, -0.6319682,
                                      -0.05927533, -1.732966, -2.089914, -0.8941616};
    Builder b("g");
    Value* x = b.Input("a", DType::kF32, {2, 3});
    Value* y = b.Input("b", DType::kF32, {3, 4});
    Value* c = b.Input("c", DType::kF32, {4});
    b.Output(b.Gemm(x, y, {.alpha = 0.5, .beta = -2.0, .c = c}));
    auto res = RunGraph(b, {EpA(), EpB(), SinTensor(DType::kF32, {4}, 0.9, 0.2)});
    ASSERT_EQ(res.size(), 1u);
    ExpectClose(res[0], want, kTol);
  }
  {  // a@b + c with c = S(2,.9,.2) as a [2,1] column.
    const std::vector<double> want = {0.3782757, 0.1201674, -0.08689507, -0.1082698,
                                      1.567334,  0.9901052, 0.3485682,   0.05988149};
    Builder b("g");
    Value* x = b.Input("a", DType::kF32, {2, 3});
    Value* y = b.Input("b", DType::kF32, {3, 4});
    Value* c = b.Input("c", DType::kF32, {2, 1});
    b.Output(b.Gemm(x, y, {.c = c}));
    auto res = RunGraph(b, {EpA(), EpB(), SinTensor(DType::kF32, {2, 1}, 0.9, 0.2)});
    ASSERT_EQ(res.size(), 1u);
    ExpectClose(res[0], want, kTol);
  }
}

struct EpilogueCase {
  const char* name;
  EpilogueStep step;
  std::vector<double> want;
};

TEST(GemmTest, EachUnaryEpilogueStep) {
  // z = a@b = [0.1796063, -0.07850188, -0.2855644, -0.3069391,
  //            0.6761266, 0.09889789, -0.5426391, -0.8313258]; numpy (math.erf for gelu).
  const std::vector<EpilogueCase> cases = {
      {"relu", Relu(), {0.1796063, 0, 0, 0, 0.6761266, 0.09889789, 0, 0}},
      {"gelu",
       Gelu(),
       {0.1026036, -0.03679496, -0.1106864, -0.1164665, 0.5074465, 0.05334457, -0.1593672,
        -0.1686717}},
      {"gelu_tanh",
       GeluTanh(),
       {0.1026032, -0.03679498, -0.1106885, -0.1164692, 0.5073971, 0.05334453, -0.1593903,
        -0.1687657}},
      {"silu",
       Silu(),
       {0.09784617, -0.0377111, -0.1225329, -0.1300998, 0.4481865, 0.05189215, -0.19946,
        -0.252195}},
      {"sigmoid",
       Sigmoid(),
       {0.5447813, 0.4803846, 0.4290901, 0.423862, 0.6628737, 0.5247043, 0.3675739, 0.3033648}},
      {"tanh",
       Tanh(),
       {0.1776997, -0.07834102, -0.2780472, -0.2976499, 0.5889955, 0.09857671, -0.4949831,
        -0.6811873}},
      {"scale",
       Scale(0.25),
       {0.04490159, -0.01962547, -0.0713911, -0.07673477, 0.1690317, 0.02472447, -0.1356598,
        -0.2078315}},
  };
  for (const EpilogueCase& c : cases) {
    SCOPED_TRACE(c.name);
    Builder b("g");
    Value* x = b.Input("a", DType::kF32, {2, 3});
    Value* y = b.Input("b", DType::kF32, {3, 4});
    b.Output(b.Gemm(x, y, {.epilogue = {c.step}}));
    auto res = RunGraph(b, {EpA(), EpB()});
    ASSERT_EQ(res.size(), 1u);
    ExpectClose(res[0], c.want, kTol);
  }
}

TEST(GemmTest, BiasAndResidualEpilogueOperands) {
  {  // bias S(4,1.1,.3) along the last axis.
    const std::vector<double> want = {0.4751266, 0.9069478, 0.3129077, -0.7494595,
                                      0.9716469, 1.084348,  0.055833,  -1.273846};
    Builder b("g");
    Value* x = b.Input("a", DType::kF32, {2, 3});
    Value* y = b.Input("b", DType::kF32, {3, 4});
    Value* bias = b.Input("bias", DType::kF32, {4});
    Value* out = b.Gemm(x, y, {.epilogue = {Bias(bias)}});
    ASSERT_NE(out, nullptr) << b.status().ToString();
    EXPECT_EQ(out->producer()->num_explicit_inputs(), 2);
    b.Output(out);
    auto res = RunGraph(b, {EpA(), EpB(), SinTensor(DType::kF32, {4}, 1.1, 0.3)});
    ASSERT_EQ(res.size(), 1u);
    ExpectClose(res[0], want, kTol);
  }
  {  // residual r = S(2,.77,.1) as [2,1], broadcast.
    const std::vector<double> want = {0.2794398, 0.02133153, -0.185731, -0.2071057,
                                      1.440456,  0.8632268,  0.2216898, -0.06699689};
    Builder b("g");
    Value* x = b.Input("a", DType::kF32, {2, 3});
    Value* y = b.Input("b", DType::kF32, {3, 4});
    Value* r = b.Input("r", DType::kF32, {2, 1});
    b.Output(b.Gemm(x, y, {.epilogue = {Residual(r)}}));
    auto res = RunGraph(b, {EpA(), EpB(), SinTensor(DType::kF32, {2, 1}, 0.77, 0.1)});
    ASSERT_EQ(res.size(), 1u);
    ExpectClose(res[0], want, kTol);
  }
}

TEST(GemmTest, EpilogueChainWithCastToF16) {
  // numpy: (gelu_tanh(z + bias) * 0.5 + r).astype(float16), r = S(8,.61,.4).reshape(2,4),
  // with c given too (beta 0 makes it vanish) so the operands follow a, b, c.
  const std::vector<double> want = {0.5517578, 1.217773,  1.09668,    0.7055664,
                                    0.7021484, 0.1630859, -0.7802734, -1.063477};
  Builder b("g");
  Value* x = b.Input("a", DType::kF32, {2, 3});
  Value* y = b.Input("b", DType::kF32, {3, 4});
  Value* c = b.Input("c", DType::kF32, {2, 4});
  Value* bias = b.Input("bias", DType::kF32, {4});
  Value* r = b.Input("r", DType::kF32, {2, 4});
  Value* out =
      b.Gemm(x, y,
             {.beta = 0.0,
              .c = c,
              .epilogue = {Bias(bias), GeluTanh(), Scale(0.5), Residual(r), CastTo(DType::kF16)}});
  ASSERT_NE(out, nullptr) << b.status().ToString();
  EXPECT_EQ(out->type().ToString(), "f16[2,4]");
  EXPECT_EQ(out->producer()->num_explicit_inputs(), 3);
  b.Output(out);
  auto res = RunGraph(
      b, {EpA(), EpB(), SinTensor(DType::kF32, {2, 4}, 5.0, 1.0),
          SinTensor(DType::kF32, {4}, 1.1, 0.3), SinTensor(DType::kF32, {2, 4}, 0.61, 0.4)});
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].dtype(), DType::kF16);
  ExpectClose(res[0], want, 1e-6);  // the same f16 rounding as numpy
}

TEST(GemmTest, KEqualsOneAndNEqualsOne) {
  {
    const std::vector<double> want = {0.1866971, 0.2596913, 0.3190082, 0.3615239,
                                      0.333745,  0.4642314, 0.5702681, 0.6462704,
                                      0.4356221, 0.6059401, 0.7443449, 0.8435471};
    Builder b("g");
    Value* x = b.Input("a", DType::kF32, {3, 1});
    Value* y = b.Input("b", DType::kF32, {1, 4});
    b.Output(b.Gemm(x, y));
    auto res = RunGraph(
        b, {SinTensor(DType::kF32, {3, 1}, 0.37, 0.4), SinTensor(DType::kF32, {1, 4}, 0.23, 0.5)});
    ASSERT_EQ(res.size(), 1u);
    ExpectClose(res[0], want, kTol);
  }
  {  // N = 1 with b stored transposed as [1, 5].
    Builder b("g");
    Value* x = b.Input("a", DType::kF32, {3, 5});
    Value* y = b.Input("b", DType::kF32, {1, 5});
    Value* out = b.Gemm(x, y, {.trans_b = true});
    ASSERT_NE(out, nullptr) << b.status().ToString();
    EXPECT_EQ(out->type().ToString(), "f32[3,1]");
    b.Output(out);
    auto res = RunGraph(
        b, {SinTensor(DType::kF32, {3, 5}, 0.37, 0.0), SinTensor(DType::kF32, {1, 5}, 0.23, 0.5)});
    ASSERT_EQ(res.size(), 1u);
    ExpectClose(res[0], {2.60964, 1.403849, -3.383414}, kTol);
  }
}

// Naive double-precision reference for odd sizes that exercise the kernel's blocking remainders.
std::vector<double> NaiveGemm(const std::vector<float>& a, const std::vector<float>& b, int64_t m,
                              int64_t k, int64_t n, bool ta, bool tb) {
  std::vector<double> out(m * n, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0.0;
      for (int64_t p = 0; p < k; ++p) {
        double av = ta ? a[p * m + i] : a[i * k + p];
        double bv = tb ? b[j * k + p] : b[p * n + j];
        s += av * bv;
      }
      out[i * n + j] = s;
    }
  return out;
}

TEST(GemmTest, OddLargeShapesMatchNaiveLoop) {
  const int64_t m = 67, k = 261, n = 301;  // past the 256/128 blocks, m not a multiple of 4
  const std::vector<float> a = SinValues(m * k, 0.37, 0.1);
  const std::vector<float> bv = SinValues(k * n, 0.23, 0.7);
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      SCOPED_TRACE(std::string("trans_a=") + (ta ? "1" : "0") + " trans_b=" + (tb ? "1" : "0"));
      std::vector<int64_t> sa = ta ? std::vector<int64_t>{k, m} : std::vector<int64_t>{m, k};
      std::vector<int64_t> sb = tb ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n};
      Builder b("g");
      Value* x = b.Input("a", DType::kF32, StaticShape(sa));
      Value* y = b.Input("b", DType::kF32, StaticShape(sb));
      b.Output(b.Gemm(x, y, {.trans_a = ta, .trans_b = tb}));
      auto res = RunGraph(b, {F32(sa, a), F32(sb, bv)});
      ASSERT_EQ(res.size(), 1u);
      ExpectClose(res[0], NaiveGemm(a, bv, m, k, n, ta, tb), 1e-4);
    }
  }
}

TEST(GemmTest, HalfPrecisionInputsAccumulateInF32) {
  // f16 and bf16 inputs: the result is the f32 product of the rounded inputs, rounded once.
  const int64_t m = 5, k = 300, n = 7;
  for (DType dt : {DType::kF16, DType::kBF16}) {
    SCOPED_TRACE(std::string(DTypeName(dt)));
    Tensor a = SinTensor(dt, {m, k}, 0.37, 0.1);
    Tensor bt = SinTensor(dt, {k, n}, 0.23, 0.7);
    Builder b("g");
    Value* x = b.Input("a", dt, {m, k});
    Value* y = b.Input("b", dt, {k, n});
    b.Output(b.Gemm(x, y));
    auto res = RunGraph(b, {a, bt});
    ASSERT_EQ(res.size(), 1u);
    EXPECT_EQ(res[0].dtype(), dt);
    std::vector<double> want = NaiveGemm(a.ToF32(), bt.ToF32(), m, k, n, false, false);
    // Output rounding only: half an ulp of f16 (2^-11) or bf16 (2^-8 relative).
    ExpectClose(res[0], want, dt == DType::kF16 ? 1e-3 : 4e-3);
  }
}

TEST(GemmTest, BertSizedGemmIsReasonablyFast) {
  // [128, 768] @ [3072, 768]^T: the interpreter runs BERT-base through this kernel.
  const int64_t m = 128, k = 768, n = 3072;
  Builder b("g");
  Value* x = b.Input("a", DType::kF32, {m, k});
  Value* y = b.Input("w", DType::kF32, {n, k});
  b.Output(b.Gemm(x, y, {.trans_b = true}));
  Tensor a = SinTensor(DType::kF32, {m, k}, 0.37, 0.1);
  Tensor w = SinTensor(DType::kF32, {n, k}, 0.23, 0.7);
  auto start = std::chrono::steady_clock::now();
  auto res = RunGraph(b, {a, w});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(res.size(), 1u);
  // Spot-check a few entries against a double dot product.
  const std::vector<float> av = a.ToF32(), wv = w.ToF32(), got = res[0].ToF32();
  for (int64_t idx : {int64_t{0}, int64_t{12345}, m * n - 1}) {
    const int64_t i = idx / n, j = idx % n;
    double s = 0.0;
    for (int64_t p = 0; p < k; ++p) s += double(av[i * k + p]) * wv[j * k + p];
    EXPECT_NEAR(got[idx], s, 1e-3 * std::max(1.0, std::fabs(s)));
  }
  // 0.6 GFLOP; a loose bound (shared CI cores) that still catches a naive strided loop.
  EXPECT_LT(seconds, 10.0) << "gemm reference took " << seconds << " s";
  std::printf("[ info ] 128x768x3072 gemm reference: %.3f s (%.2f GFLOP/s)\n", seconds,
              2.0 * m * k * n / seconds * 1e-9);
}

TEST(GemmTest, SymbolicInference) {
  Builder b("g");
  Dim m = b.Sym("M", 1, 64);
  Dim batch = b.Sym("B", 1, 8);
  Value* x = b.Input("x", DType::kF16, {batch, 1, m, 768});
  Value* w = b.Input("w", DType::kF16, {12, 3072, 768});
  Value* bias = b.Input("bias", DType::kF16, {3072});
  Value* out = b.Gemm(x, w, {.trans_b = true, .epilogue = {Bias(bias), Gelu()}});
  ASSERT_NE(out, nullptr) << b.status().ToString();
  EXPECT_EQ(out->type().ToString(), "f16[B,12,M,3072]");
  // A symbolic K that matches symbolically, and a symbolic N feeding the bias check.
  Value* p = b.Input("p", DType::kF32, {m, m * 2});
  Value* q = b.Input("q", DType::kF32, {m * 2, m});
  Value* r = b.Input("r", DType::kF32, {m});
  Value* pq = b.Gemm(p, q, {.epilogue = {Bias(r), CastTo(DType::kBF16)}});
  ASSERT_NE(pq, nullptr) << b.status().ToString();
  EXPECT_EQ(pq->type().ToString(), "bf16[M,M]");
}

TEST(GemmTest, SymbolicRunBindsM) {
  Builder b("g");
  Dim m = b.Sym("M", 1, 16);
  Value* x = b.Input("a", DType::kF32, {m, 4});
  Value* y = b.Input("b", DType::kF32, {4, 5});
  b.Output(b.Gemm(x, y));
  auto res = RunGraph(
      b, {SinTensor(DType::kF32, {3, 4}, 0.37, 0.0), SinTensor(DType::kF32, {4, 5}, 0.23, 1.0)});
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].shape(), (std::vector<int64_t>{3, 5}));
  ExpectClose(res[0], kAB, kTol);
}

TEST(GemmTest, Errors) {
  {  // K mismatch names both shapes.
    Builder b("g");
    b.Gemm(b.Input("a", DType::kF32, {3, 4}), b.Input("b", DType::kF32, {5, 6}));
    ExpectError(BuildError(b),
                {"gemm", "contraction dims differ", "a [3,4]", "b [5,6]", "K=4", "K=5"});
  }
  {  // symbolic K mismatch.
    Builder b("g");
    Dim s = b.Sym("S", 1, 8), t = b.Sym("T", 1, 8);
    b.Gemm(b.Input("a", DType::kF32, {3, s}), b.Input("b", DType::kF32, {t, 6}));
    ExpectError(BuildError(b), {"K=S", "K=T"});
  }
  {  // bad bias length.
    Builder b("g");
    b.Gemm(b.Input("a", DType::kF32, {3, 4}), b.Input("b", DType::kF32, {4, 6}),
           {.epilogue = {Bias(b.Input("bias", DType::kF32, {5}))}});
    ExpectError(BuildError(b), {"epilogue step 0 (bias)", "must have shape [6]", "f32[5]"});
  }
  {  // bias of rank 2.
    Builder b("g");
    b.Gemm(b.Input("a", DType::kF32, {3, 4}), b.Input("b", DType::kF32, {4, 6}),
           {.epilogue = {Bias(b.Input("bias", DType::kF32, {1, 6}))}});
    ExpectError(BuildError(b), {"must have shape [6]"});
  }
  {  // residual that would grow the output.
    Builder b("g");
    b.Gemm(b.Input("a", DType::kF32, {3, 4}), b.Input("b", DType::kF32, {4, 6}),
           {.epilogue = {Residual(b.Input("r", DType::kF32, {2, 3, 6}))}});
    ExpectError(BuildError(b), {"epilogue step 0 (add)", "does not broadcast", "[3,6]"});
  }
  {  // cast not last.
    Builder b("g");
    b.Gemm(b.Input("a", DType::kF32, {3, 4}), b.Input("b", DType::kF32, {4, 6}),
           {.epilogue = {CastTo(DType::kF16), Relu()}});
    ExpectError(BuildError(b), {"cast must be the last epilogue step"});
  }
  {  // cast to an integer type.
    Builder b("g");
    b.Gemm(b.Input("a", DType::kF32, {3, 4}), b.Input("b", DType::kF32, {4, 6}),
           {.epilogue = {CastTo(DType::kI8)}});
    ExpectError(BuildError(b), {"cannot cast the accumulator to i8"});
  }
  {  // dtype mismatch and integer inputs.
    Builder b("g");
    b.Gemm(b.Input("a", DType::kF32, {3, 4}), b.Input("b", DType::kF16, {4, 6}));
    ExpectError(BuildError(b), {"dtype f16, expected f32"});
    Builder c("g");
    c.Gemm(c.Input("a", DType::kI32, {3, 4}), c.Input("b", DType::kI32, {4, 6}));
    ExpectError(BuildError(c), {"must have dtype f32, f16 or bf16"});
  }
  {  // rank 1 operand, c that does not broadcast, incompatible batch dims.
    Builder b("g");
    b.Gemm(b.Input("a", DType::kF32, {4}), b.Input("b", DType::kF32, {4, 6}));
    ExpectError(BuildError(b), {"must have rank >= 2"});
    Builder c("g");
    c.Gemm(c.Input("a", DType::kF32, {3, 4}), c.Input("b", DType::kF32, {4, 6}),
           {.c = c.Input("c", DType::kF32, {3, 5})});
    ExpectError(BuildError(c), {"c (%c: f32[3,5]) does not broadcast to the output shape [3,6]"});
    Builder d("g");
    d.Gemm(d.Input("a", DType::kF32, {2, 3, 4}), d.Input("b", DType::kF32, {5, 4, 6}));
    ExpectError(BuildError(d), {"batch dims", "do not broadcast"});
  }
  {  // an epilogue operand missing from the operand list (via Graph::AddNode).
    Graph g("g");
    Value* a = g.AddInput("a", {DType::kF32, {3, 4}});
    Value* bb = g.AddInput("b", {DType::kF32, {4, 6}});
    Epilogue ep = {EpilogueOp{.kind = EpilogueOp::Kind::kBias},
                   EpilogueOp{.kind = EpilogueOp::Kind::kAdd}};
    auto node = g.AddNode(OpKind::kGemm, {a, bb}, Attrs{{"epilogue", ep}});
    ASSERT_FALSE(node.ok());
    EXPECT_NE(node.status().message().find("operands"), std::string::npos)
        << node.status().message();
  }
}

}  // namespace
}  // namespace kiln::testutil
