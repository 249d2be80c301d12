#include "passes/fold_batch_norm.h"

#include <gtest/gtest.h>

#include <random>

#include "ir/builder.h"
#include "ir/printer.h"
#include "models/zoo.h"
#include "passes/pass_test_util.h"

namespace kiln {
namespace {

constexpr double kRtol = 1e-5;
constexpr double kAtol = 1e-5;

// A weight with the given data attached to the builder's graph.
Value* Param(Builder& b, const std::string& name, std::vector<int64_t> shape,
             const std::vector<double>& values) {
  b.graph().weights()->emplace(name, Tensor::FromF64(DType::kF32, shape, values));
  return b.Weight(name, DType::kF32, StaticShape(shape));
}

// A weight of uniform random data in [lo, hi].
Value* RandomParam(Builder& b, const std::string& name, std::vector<int64_t> shape, double lo,
                   double hi, std::mt19937& rng) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(n);
  for (double& x : v) x = dist(rng);
  return Param(b, name, std::move(shape), v);
}

// conv / gemm output -> batch_norm with random statistics (variance kept positive).
Value* RandomBatchNorm(Builder& b, const std::string& prefix, Value* x, int64_t channels,
                       int64_t axis, std::mt19937& rng) {
  return b.BatchNorm(x, RandomParam(b, prefix + ".weight", {channels}, 0.5, 1.5, rng),
                     RandomParam(b, prefix + ".bias", {channels}, -0.5, 0.5, rng),
                     RandomParam(b, prefix + ".running_mean", {channels}, -0.5, 0.5, rng),
                     RandomParam(b, prefix + ".running_var", {channels}, 0.5, 1.5, rng), 1e-5,
                     axis);
}

// Runs the pass, expects a change, no batch_norm left and the same values as before.
void ExpectFolds(Graph& g) {
  std::unique_ptr<Graph> before = g.Clone();
  FoldBatchNormPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  EXPECT_EQ(CountOps(g, OpKind::kBatchNorm), 0) << PrintGraph(g);
  // `before` shares the weight map with `g`: running it shows the original weights are intact.
  ExpectNumericallyEquivalent(*before, g, kRtol, kAtol);
}

// conv-bn-relu-conv-bn-add-relu, a ResNet basic block, in either layout.
Graph BasicBlock(Layout layout) {
  std::mt19937 rng(7);
  const bool nhwc = layout == Layout::kNHWC;
  const int64_t c = 4, axis = nhwc ? 3 : 1;
  Builder b("block");
  Value* x = b.Input("x", DType::kF32, nhwc ? Shape{2, 5, 5, c} : Shape{2, c, 5, 5});
  std::vector<int64_t> wshape =
      nhwc ? std::vector<int64_t>{c, 3, 3, c} : std::vector<int64_t>{c, c, 3, 3};
  Conv2dOptions o{.pad = 1, .layout = layout};
  Value* h = b.Conv2d(x, RandomParam(b, "conv1.weight", wshape, -0.3, 0.3, rng), o);
  h = b.Relu(RandomBatchNorm(b, "bn1", h, c, axis, rng));
  h = b.Conv2d(h, RandomParam(b, "conv2.weight", wshape, -0.3, 0.3, rng), o);
  h = RandomBatchNorm(b, "bn2", h, c, axis, rng);
  b.Output(b.Relu(b.Add(h, x)), "y");
  return FinishGraph(b);
}

TEST(FoldBatchNormTest, ResNetBlockNchw) {
  Graph g = BasicBlock(Layout::kNCHW);
  ExpectFolds(g);
  EXPECT_NE(PrintGraph(g).find("weight \"conv1.weight.bn_folded\""), std::string::npos)
      << PrintGraph(g);
  EXPECT_NE(PrintGraph(g).find("epilogue=[bias(%"), std::string::npos);
}

TEST(FoldBatchNormTest, ResNetBlockNhwc) {
  Graph g = BasicBlock(Layout::kNHWC);
  ExpectFolds(g);
}

// Hand-computed fold of a 1x1 conv that already has a bias:
//   s = scale / sqrt(var + eps) = [1/sqrt(4), 2/sqrt(1)] = [0.5, 2]
//   w' = w * s = [2*0.5, 3*2] = [1, 6]
//   b' = (b - mean) * s + beta = [(1-1)*0.5+0.5, (-1-1)*2+0] = [0.5, -4]
TEST(FoldBatchNormTest, FoldsExistingBiasWithHandComputedValues) {
  Builder b("conv_bias_bn");
  Value* x = b.Input("x", DType::kF32, {1, 1, 2, 2});
  Value* w = Param(b, "c.weight", {2, 1, 1, 1}, {2, 3});
  Value* bias = Param(b, "c.bias", {2}, {1, -1});
  Value* h = b.Conv2d(x, w, {.epilogue = {Bias(bias)}});
  h = b.BatchNorm(h, Param(b, "bn.weight", {2}, {1, 2}), Param(b, "bn.bias", {2}, {0.5, 0}),
                  Param(b, "bn.mean", {2}, {1, 1}), Param(b, "bn.var", {2}, {3, 0}), 1.0);
  b.Output(h, "y");
  Graph g = FinishGraph(b);
  ExpectFolds(g);

  const TensorMap& weights = *g.weights();
  ASSERT_TRUE(weights.count("c.weight.bn_folded")) << PrintGraph(g);
  ASSERT_TRUE(weights.count("c.weight.bn_folded_bias"));
  EXPECT_EQ(weights.at("c.weight.bn_folded").ToF64(), (std::vector<double>{1, 6}));
  EXPECT_EQ(weights.at("c.weight.bn_folded").shape(), (std::vector<int64_t>{2, 1, 1, 1}));
  EXPECT_EQ(weights.at("c.weight.bn_folded_bias").ToF64(), (std::vector<double>{0.5, -4}));
  // The originals are untouched and no longer referenced; the old nodes are gone.
  EXPECT_EQ(weights.at("c.weight").ToF64(), (std::vector<double>{2, 3}));
  EXPECT_EQ(CountOps(g, OpKind::kWeight), 2) << PrintGraph(g);
  EXPECT_EQ(g.outputs()[0]->name(), "y");

  // x = [[1, 2], [3, 4]] -> channel 0: x*1 + 0.5, channel 1: x*6 - 4.
  StatusOr<std::vector<Tensor>> out =
      Interpret(g, {Tensor::FromF64(DType::kF32, {1, 1, 2, 2}, std::vector<double>{1, 2, 3, 4})});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].ToF64(), (std::vector<double>{1.5, 2.5, 3.5, 4.5, 2, 8, 14, 20}));
}

// Folding twice into graphs that share one weight map picks a fresh name the second time.
TEST(FoldBatchNormTest, ClonesGetDistinctWeightNames) {
  Graph g = BasicBlock(Layout::kNCHW);
  std::unique_ptr<Graph> clone = g.Clone();
  FoldBatchNormPass pass;
  ASSERT_TRUE(RunPassChecked(pass, g));
  ASSERT_TRUE(RunPassChecked(pass, *clone));
  EXPECT_NE(PrintGraph(*clone).find("\"conv1.weight.bn_folded.1\""), std::string::npos)
      << PrintGraph(*clone);
  ExpectNumericallyEquivalent(g, *clone, kRtol, kAtol);
}

// Linear (trans_b) and plain gemm followed by batch_norm over the last axis.
TEST(FoldBatchNormTest, GemmBothWeightLayouts) {
  for (bool trans_b : {true, false}) {
    SCOPED_TRACE(trans_b ? "trans_b" : "no trans_b");
    std::mt19937 rng(11);
    Builder b("linear_bn");
    Value* x = b.Input("x", DType::kF32, {b.Sym("N", 1, 8), 5});
    std::vector<int64_t> wshape = trans_b ? std::vector<int64_t>{3, 5} : std::vector<int64_t>{5, 3};
    Value* w = RandomParam(b, "fc.weight", wshape, -1, 1, rng);
    Value* h = b.Gemm(x, w,
                      {.trans_b = trans_b,
                       .alpha = 0.5,
                       .epilogue = {Bias(RandomParam(b, "fc.bias", {3}, -1, 1, rng))}});
    b.Output(RandomBatchNorm(b, "bn", h, 3, -1, rng), "y");
    Graph g = FinishGraph(b);
    ExpectFolds(g);
  }
}

// The same block with weights and statistics as constants folds into constants.
TEST(FoldBatchNormTest, ConstantsFoldIntoConstants) {
  Builder b("const_bn");
  Value* x = b.Input("x", DType::kF32, {2, 3});
  Value* w = b.Constant(DType::kF32, {2, 3}, {1, 2, 3, 4, 5, 6});
  Value* h = b.Gemm(x, w, {.trans_b = true});
  Value* p = b.Constant(DType::kF32, {2}, {0.5, 2});
  b.Output(b.BatchNorm(h, p, p, p, b.Constant(DType::kF32, {2}, {1}), 0.0, 1), "y");
  Graph g = FinishGraph(b);
  ExpectFolds(g);
  EXPECT_EQ(CountOps(g, OpKind::kWeight), 0);
  // s = [0.5, 2]; w' rows scaled: [0.5, 1, 1.5], [8, 10, 12]; b' = (0 - p) * s + p = [0.25, -2].
  const std::string text = PrintGraph(g);
  EXPECT_NE(text.find("[0.5, 1.0, 1.5, 8.0, 10.0, 12.0]"), std::string::npos) << text;
  EXPECT_NE(text.find("[0.25, -2.0]"), std::string::npos) << text;
}

TEST(FoldBatchNormTest, ZooTinyCnn) {
  ZooOptions o;
  o.batch = 2;
  o.image_size = 8;
  o.hidden_size = 4;
  StatusOr<Graph> g = BuildZooModel("tiny_cnn", o);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_GT(CountOps(*g, OpKind::kBatchNorm), 0);
  ExpectFolds(*g);
}

// f16 weights: the folded values are computed in double and stored as f16.
TEST(FoldBatchNormTest, ZooTinyCnnF16) {
  ZooOptions o;
  o.batch = 1;
  o.image_size = 8;
  o.hidden_size = 4;
  o.dtype = DType::kF16;
  StatusOr<Graph> g = BuildZooModel("tiny_cnn", o);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  std::unique_ptr<Graph> before = g->Clone();
  FoldBatchNormPass pass;
  ASSERT_TRUE(RunPassChecked(pass, *g));
  EXPECT_EQ(g->weights()->at("conv1.weight.bn_folded").dtype(), DType::kF16);
  // The unfused graph rounds the conv output to f16 before normalising: f16-level tolerance.
  ExpectNumericallyEquivalent(*before, *g, 1e-2, 1e-2);
}

// ---- cases that must leave the graph alone ----

TEST(FoldBatchNormTest, ConvWithTwoUsersIsKept) {
  std::mt19937 rng(3);
  Builder b("two_users");
  Value* x = b.Input("x", DType::kF32, {1, 2, 4, 4});
  Value* h = b.Conv2d(x, RandomParam(b, "c.weight", {2, 2, 1, 1}, -1, 1, rng));
  b.Output(RandomBatchNorm(b, "bn", h, 2, 1, rng), "y");
  b.Output(b.Relu(h), "z");
  Graph g = FinishGraph(b);
  ExpectNoChange<FoldBatchNormPass>(g);
}

TEST(FoldBatchNormTest, NonConstantMeanIsKept) {
  std::mt19937 rng(3);
  Builder b("input_mean");
  Value* x = b.Input("x", DType::kF32, {1, 2, 4, 4});
  Value* mean = b.Input("mean", DType::kF32, {2});
  Value* h = b.Conv2d(x, RandomParam(b, "c.weight", {2, 2, 1, 1}, -1, 1, rng));
  b.Output(b.BatchNorm(h, RandomParam(b, "s", {2}, 1, 2, rng), RandomParam(b, "t", {2}, 1, 2, rng),
                       mean, RandomParam(b, "v", {2}, 1, 2, rng)),
           "y");
  Graph g = FinishGraph(b);
  ExpectNoChange<FoldBatchNormPass>(g);
}

TEST(FoldBatchNormTest, OtherEpilogueStepsAreKept) {
  std::mt19937 rng(3);
  Builder b("relu_epilogue");
  Value* x = b.Input("x", DType::kF32, {1, 2, 4, 4});
  Value* h =
      b.Conv2d(x, RandomParam(b, "c.weight", {2, 2, 1, 1}, -1, 1, rng), {.epilogue = {Relu()}});
  b.Output(RandomBatchNorm(b, "bn", h, 2, 1, rng), "y");
  Graph g = FinishGraph(b);
  ExpectNoChange<FoldBatchNormPass>(g);
}

// A conv2d with max_pool pools after its epilogue: a batch norm of the pooled result does not
// commute with the max (a negative scale would need a min), so it is not folded.
TEST(FoldBatchNormTest, ConvWithMaxPoolIsKept) {
  std::mt19937 rng(3);
  Builder b("pooled");
  Value* x = b.Input("x", DType::kF32, {1, 2, 6, 6});
  Value* h = b.Conv2d(x, RandomParam(b, "c.weight", {2, 2, 3, 3}, -1, 1, rng),
                      {.pad = 1, .max_pool = {3, 3, 2, 2, 1, 1, 1, 1}});
  b.Output(RandomBatchNorm(b, "bn", h, 2, 1, rng), "y");
  Graph g = FinishGraph(b);
  ExpectNoChange<FoldBatchNormPass>(g);
}

// batch_norm over an axis that is not the conv's channel axis (axis 2 of nchw).
TEST(FoldBatchNormTest, OtherAxisIsKept) {
  std::mt19937 rng(3);
  Builder b("axis2");
  Value* x = b.Input("x", DType::kF32, {1, 2, 4, 4});
  Value* h = b.Conv2d(x, RandomParam(b, "c.weight", {2, 2, 1, 1}, -1, 1, rng));
  b.Output(RandomBatchNorm(b, "bn", h, 4, 2, rng), "y");
  Graph g = FinishGraph(b);
  ExpectNoChange<FoldBatchNormPass>(g);
}

// Weights declared but without data (a graph parsed from text) cannot be folded.
TEST(FoldBatchNormTest, MissingWeightDataIsKept) {
  Graph g = BasicBlock(Layout::kNCHW);
  g.set_weights(std::make_shared<TensorMap>());
  ExpectNoChange<FoldBatchNormPass>(g);
}

TEST(FoldBatchNormTest, MismatchedWeightDataIsAnError) {
  Graph g = BasicBlock(Layout::kNCHW);
  auto weights = std::make_shared<TensorMap>(*g.weights());
  (*weights)["conv1.weight"] = Tensor(DType::kF32, {1});
  g.set_weights(weights);
  FoldBatchNormPass pass;
  StatusOr<bool> r = pass.Run(g);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("\"conv1.weight\""), std::string::npos)
      << r.status().ToString();
  EXPECT_NE(r.status().message().find("f32[1]"), std::string::npos) << r.status().ToString();
}

}  // namespace
}  // namespace kiln
