// The cpu target end to end on gemm, conv2d, conv_transpose2d, the pools and resize: graphs of
// independent nodes of these ops (f32, odd shapes, symbolic batches, every epilogue step) are
// compiled, loaded, run and compared with the reference interpreter (tests/e2e/cpu_e2e_util.h).
// Several nodes share one graph (one output each) to keep the number of host compiles small.
// Tolerance: |got - want| <= 1e-4 + 1e-4 * |want| (sgemm and the reference sum in different
// orders over up to a few hundred products of values in [-1, 1]).
#include "tests/e2e/cpu_e2e_util.h"

namespace kiln {
namespace {

CpuE2eOptions Tol() {
  CpuE2eOptions options;
  options.rtol = 1e-4;
  options.atol = 1e-4;
  return options;
}

TEST(CpuGemmConvPoolTest, GemmTranspositionsAndBatches) {
  Builder b("gemm");
  const Dim n = b.Sym("N", 1, 8);
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      const std::string tag = std::to_string(ta) + std::to_string(tb);
      Value* a = b.Input("a" + tag, DType::kF32, ta ? Shape{7, 3} : Shape{3, 7});
      Value* w = b.Input("b" + tag, DType::kF32, tb ? Shape{17, 7} : Shape{7, 17});
      b.Output(b.Gemm(a, w, {.trans_a = ta, .trans_b = tb}), "y" + tag);
      // Batched with a symbolic batch dim and a broadcast one.
      Value* ab = b.Input("ab" + tag, DType::kF32, ta ? Shape{n, 1, 5, 3} : Shape{n, 1, 3, 5});
      Value* bb = b.Input("bb" + tag, DType::kF32, tb ? Shape{2, 1, 5} : Shape{2, 5, 1});
      b.Output(b.Gemm(ab, bb, {.trans_a = ta, .trans_b = tb}), "yb" + tag);
    }
  }
  // A symbolic M folded into one gemm against a shared b (nn.Linear on [N, S, K]).
  Value* x = b.Input("x", DType::kF32, {n, 5, 17});
  Value* lin = b.Input("lin", DType::kF32, {3, 17});
  b.Output(b.Gemm(x, lin, {.trans_b = true}), "linear");
  ExpectCpuMatchesInterpreter(FinishGraph(b), Tol());
}

TEST(CpuGemmConvPoolTest, GemmAlphaBetaC) {
  Builder b("gemm_c");
  Value* a = b.Input("a", DType::kF32, {2, 3, 7});
  Value* w = b.Input("w", DType::kF32, {7, 17});
  int i = 0;
  for (Shape c : {Shape{2, 3, 17}, Shape{17}, Shape{3, 1}, Shape{1}}) {
    Value* cv = b.Input("c" + std::to_string(i), DType::kF32, c);
    b.Output(b.Gemm(a, w, {.alpha = 0.5, .beta = -1.5, .c = cv}), "y" + std::to_string(i++));
  }
  ExpectCpuMatchesInterpreter(FinishGraph(b), Tol());
}

TEST(CpuGemmConvPoolTest, GemmEachEpilogueStep) {
  Builder b("gemm_epilogue");
  const Dim n = b.Sym("N", 1, 8);
  Value* a = b.Input("a", DType::kF32, {n, 3, 7});
  Value* w = b.Input("w", DType::kF32, {17, 7});
  Value* bias = b.Input("bias", DType::kF32, {17});
  Value* res = b.Input("res", DType::kF32, {n, 3, 17});
  Value* row = b.Input("row", DType::kF32, {3, 1});
  const std::vector<std::vector<EpilogueStep>> epilogues = {
      {Bias(bias)},
      {Relu()},
      {Gelu()},
      {GeluTanh()},
      {Silu()},
      {Sigmoid()},
      {Tanh()},
      {Residual(res)},
      {Residual(row)},
      {Scale(0.25)},
      {CastTo(DType::kF32)},
      {Bias(bias), Relu(), Residual(row), Scale(-2.0), Residual(res), Gelu()},
  };
  for (size_t i = 0; i < epilogues.size(); ++i) {
    b.Output(b.Gemm(a, w, {.trans_b = true, .epilogue = epilogues[i]}), "y" + std::to_string(i));
  }
  ExpectCpuMatchesInterpreter(FinishGraph(b), Tol());
}

// nchw shapes, permuted for nhwc (weights [O, kh, kw, C/g] / transpose [C, kh, kw, O/g]).
Shape InLayout(Layout layout, std::vector<int64_t> nchw) {
  if (layout == Layout::kNHWC) nchw = {nchw[0], nchw[2], nchw[3], nchw[1]};
  return StaticShape(nchw);
}

struct ConvCase {
  std::vector<int64_t> x = {}, w = {};
  Conv2dOptions opt = {};
  bool transpose = false;
  bool residual = false;  // add x before the relu (output shape == x's)
};

// One graph per layout with every case as an output; each conv gets a bias + relu epilogue, and
// a residual add of its input with `residual`.
void CheckConvs(const std::string& name, const std::vector<ConvCase>& cases) {
  for (Layout layout : {Layout::kNCHW, Layout::kNHWC}) {
    SCOPED_TRACE(LayoutName(layout));
    Builder b(name + "_" + std::string(LayoutName(layout)));
    for (size_t i = 0; i < cases.size(); ++i) {
      const ConvCase& cc = cases[i];
      const std::string k = std::to_string(i);
      Value* x = b.Input("x" + k, DType::kF32, InLayout(layout, cc.x));
      Value* w = b.Weight("w" + k, DType::kF32, InLayout(layout, cc.w));
      Conv2dOptions opt = cc.opt;
      opt.layout = layout;
      const int64_t out_channels = cc.transpose ? cc.w[1] * opt.groups : cc.w[0];
      Value* bias = b.Weight("b" + k, DType::kF32, {out_channels});
      opt.epilogue = cc.residual ? std::vector<EpilogueStep>{Bias(bias), Residual(x), Relu()}
                                 : std::vector<EpilogueStep>{Bias(bias), Relu()};
      Value* y = cc.transpose ? b.ConvTranspose2d(x, w, opt) : b.Conv2d(x, w, opt);
      ASSERT_NE(y, nullptr) << b.status().ToString();
      b.Output(y, "y" + k);
    }
    ExpectCpuMatchesInterpreter(FinishGraph(b), Tol());
  }
}

TEST(CpuGemmConvPoolTest, Conv2d) {
  CheckConvs(
      "conv",
      {
          {.x = {2, 5, 7, 6}, .w = {5, 5, 3, 3}, .opt = {.pad = 1}, .residual = true},
          {.x = {1, 17, 3, 7}, .w = {7, 17, 1, 1}},                                  // pointwise
          {.x = {1, 3, 17, 17}, .w = {7, 3, 7, 7}, .opt = {.stride = 2, .pad = 3}},  // stem
          {.x = {1, 4, 6, 7},
           .w = {4, 2, 2, 3},
           .opt = {.stride = 2, .pad = {1, 0, 0, 2}, .dilation = {2, 1}, .groups = 2}},
          {.x = {1, 6, 5, 5}, .w = {6, 1, 3, 3}, .opt = {.pad = 1, .groups = 6}},  // depthwise
          {.x = {1, 3, 7, 6}, .w = {6, 1, 3, 3}, .opt = {.stride = 2, .groups = 3}},
      });
}

TEST(CpuGemmConvPoolTest, Conv2dSymbolicBatchEachEpilogueStep) {
  Builder b("conv_epilogue");
  Value* x = b.Input("x", DType::kF32, {b.Sym("N", 1, 4), 6, 5, 3});
  Value* w = b.Weight("w", DType::kF32, {3, 3, 3, 3});
  Value* bias = b.Weight("bias", DType::kF32, {3});
  Value* res = b.Input("res", DType::kF32, {1, 6, 5, 3});  // broadcast over the batch
  Value* chan = b.Input("chan", DType::kF32, {3});         // broadcast over pixels
  const std::vector<std::vector<EpilogueStep>> epilogues = {
      {Bias(bias), Gelu()}, {GeluTanh()},  {Silu()},        {Sigmoid()},
      {Tanh(), Scale(3)},   {Residual(x)}, {Residual(res)}, {Residual(chan), Relu()},
      {CastTo(DType::kF32)}};
  for (size_t i = 0; i < epilogues.size(); ++i) {
    b.Output(b.Conv2d(x, w, {.pad = 1, .layout = Layout::kNHWC, .epilogue = epilogues[i]}),
             "y" + std::to_string(i));
  }
  ExpectCpuMatchesInterpreter(FinishGraph(b), Tol());
}

TEST(CpuGemmConvPoolTest, ConvTranspose2d) {
  CheckConvs("deconv", {
                           {.x = {1, 2, 3, 3},
                            .w = {2, 1, 3, 3},
                            .opt = {.stride = 2, .pad = 1, .groups = 2, .output_padding = 1},
                            .transpose = true},
                           {.x = {2, 3, 4, 5},
                            .w = {3, 4, 3, 2},
                            .opt = {.stride = {2, 3}, .pad = {1, 0, 2, 1}, .dilation = {2, 1}},
                            .transpose = true},
                           {.x = {1, 7, 3, 1}, .w = {7, 17, 1, 1}, .transpose = true},
                       });
}

TEST(CpuGemmConvPoolTest, Pools) {
  for (Layout layout : {Layout::kNCHW, Layout::kNHWC}) {
    SCOPED_TRACE(LayoutName(layout));
    Builder b("pools_" + std::string(LayoutName(layout)));
    const Dim n = b.Sym("N", 1, 4);
    Value* x = b.Input("x", DType::kF32,
                       layout == Layout::kNHWC ? Shape{n, 7, 6, 17} : Shape{n, 17, 7, 6});
    int i = 0;
    auto out = [&](Value* y) { b.Output(y, "y" + std::to_string(i++)); };
    out(b.MaxPool2d(x, {.kernel = 3, .stride = 2, .pad = 1, .layout = layout}));
    out(b.MaxPool2d(x, {.kernel = 2, .stride = 2, .ceil_mode = true, .layout = layout}));
    out(b.MaxPool2d(x, {.kernel = 3, .pad = {1, 0, 2, 1}, .dilation = 2, .layout = layout}));
    out(b.AvgPool2d(x, {.kernel = 3, .stride = 2, .pad = 1, .layout = layout}));
    out(b.AvgPool2d(x, {.kernel = 3,
                        .stride = 2,
                        .pad = 1,
                        .ceil_mode = true,
                        .count_include_pad = true,
                        .layout = layout}));
    out(b.AvgPool2d(x, {.kernel = {2, 3}, .stride = {1, 2}, .layout = layout}));
    out(b.GlobalAvgPool2d(x, layout));
    out(b.GlobalMaxPool2d(x, layout));
    ExpectCpuMatchesInterpreter(FinishGraph(b), Tol());
  }
}

TEST(CpuGemmConvPoolTest, Resize) {
  for (Layout layout : {Layout::kNCHW, Layout::kNHWC}) {
    SCOPED_TRACE(LayoutName(layout));
    Builder b("resize_" + std::string(LayoutName(layout)));
    Value* x =
        b.Input("x", DType::kF32, layout == Layout::kNHWC ? Shape{2, 5, 7, 3} : Shape{2, 3, 5, 7});
    int i = 0;
    auto out = [&](Value* y) { b.Output(y, "y" + std::to_string(i++)); };
    for (const char* nearest : {"floor", "ceil", "round_prefer_floor", "round_prefer_ceil"}) {
      out(b.Resize(x, {.mode = "nearest",
                       .scales = {2.0, 1.5},
                       .coordinate_mode = "asymmetric",
                       .nearest_mode = nearest,
                       .layout = layout}));
    }
    for (const char* coord : {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"}) {
      out(b.Resize(
          x, {.mode = "bilinear", .size = {3, 17}, .coordinate_mode = coord, .layout = layout}));
      out(b.Resize(
          x,
          {.mode = "nearest", .scales = {0.5, 2.5}, .coordinate_mode = coord, .layout = layout}));
    }
    ExpectCpuMatchesInterpreter(FinishGraph(b), Tol());
  }
}

TEST(CpuGemmConvPoolTest, NonF32IsUnimplemented) {
  Builder b("gemm_f16");
  Value* a = b.Input("a", DType::kF16, {3, 7});
  Value* w = b.Input("w", DType::kF16, {7, 5});
  b.Output(b.Gemm(a, w));
  const Graph g = FinishGraph(b);
  StatusOr<CompileResult> r = CompileForTest(g, FreshCompileDir("gemm_f16"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnimplemented) << r.status().ToString();
  EXPECT_NE(r.status().message().find("f16"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("cpu target"), std::string::npos) << r.status().ToString();
}

}  // namespace
}  // namespace kiln
