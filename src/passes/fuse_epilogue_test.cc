#include "passes/fuse_epilogue.h"

#include <gtest/gtest.h>

#include <random>

#include "ir/builder.h"
#include "ir/printer.h"
#include "models/zoo.h"
#include "passes/fold_batch_norm.h"
#include "passes/pass_test_util.h"

namespace kiln {
namespace {

constexpr double kRtol = 1e-5;
constexpr double kAtol = 1e-5;

// A weight %NAME of uniform random data in [lo, hi], attached to the builder's graph.
Value* RandomParam(Builder& b, const std::string& name, std::vector<int64_t> shape, double lo,
                   double hi, std::mt19937& rng) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(n);
  for (double& x : v) x = dist(rng);
  b.graph().weights()->emplace(name, Tensor::FromF64(DType::kF32, shape, v));
  Value* w = b.Weight(name, DType::kF32, StaticShape(shape));
  // Named like the weight so the expected IR below reads like a real model's.
  KILN_CHECK(b.graph().RenameValue(w, name).ok());
  return w;
}

// The printed line of the node producing value `name`.
std::string LineOf(const Graph& g, const std::string& name) {
  const Value* v = g.FindValue(name);
  if (v == nullptr || v->producer() == nullptr) return "<no node for %" + name + ">";
  return PrintNode(*v->producer());
}

// Runs fuse-epilogue, expects a change and the same values as before.
void ExpectFuses(Graph& g) {
  std::unique_ptr<Graph> before = g.Clone();
  FuseEpiloguePass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  ExpectNumericallyEquivalent(*before, g, kRtol, kAtol);
}

TEST(FuseEpilogueTest, LinearGelu) {
  std::mt19937 rng(1);
  Builder b("linear_gelu");
  Value* x = b.Input("x", DType::kF32, {b.Sym("N", 1, 8), 6});
  Value* h = b.Gemm(x, RandomParam(b, "fc.weight", {5, 6}, -1, 1, rng), {.trans_b = true});
  h = b.Add(h, RandomParam(b, "fc.bias", {5}, -1, 1, rng));
  b.Output(b.Gelu(h), "y");
  Graph g = FinishGraph(b);
  ExpectFuses(g);
  EXPECT_EQ(g.nodes().size(), 3u) << PrintGraph(g);
  EXPECT_EQ(LineOf(g, "y"),
            "%y = gemm(%x, %fc.weight) {trans_b=true, epilogue=[bias(%fc.bias), "
            "gelu]} : f32[N,5]");
}

// BERT output block: gemm + bias + residual, the bias written as add(b, h) (operands swapped),
// then a tanh-approximated gelu.
TEST(FuseEpilogueTest, BertGemmBiasResidual) {
  std::mt19937 rng(2);
  Builder b("bert_out");
  Value* x = b.Input("x", DType::kF32, {b.Sym("B", 1, 4), 3, 8});
  Value* r = b.Input("r", DType::kF32, {b.Sym("B", 1, 4), 3, 8});
  Value* h = b.Gemm(x, RandomParam(b, "dense.weight", {8, 8}, -1, 1, rng), {.trans_b = true});
  h = b.Add(RandomParam(b, "dense.bias", {8}, -1, 1, rng), h);
  h = b.Add(h, r);
  b.Output(b.Gelu(h, /*tanh_approximation=*/true), "y");
  Graph g = FinishGraph(b);
  ExpectFuses(g);
  EXPECT_EQ(LineOf(g, "y"),
            "%y = gemm(%x, %dense.weight) {trans_b=true, epilogue=[bias(%dense.bias), add(%r), "
            "gelu_tanh]} : f32[B,3,8]");
}

// ResNet block in nchw after fold-batch-norm, written with an explicit [C,1,1] bias add on the
// first conv: bias via a reshape node, relu; the second conv takes bias, residual add, relu.
TEST(FuseEpilogueTest, ResNetBlockNchwAfterBatchNormFold) {
  std::mt19937 rng(3);
  const int64_t c = 4;
  Builder b("block");
  Value* x = b.Input("x", DType::kF32, {2, c, 5, 5});
  Value* h = b.Conv2d(x, RandomParam(b, "conv1.weight", {c, c, 3, 3}, -0.3, 0.3, rng), {.pad = 1});
  h = b.Relu(b.Add(h, RandomParam(b, "conv1.bias", {c, 1, 1}, -1, 1, rng)));
  h = b.Conv2d(h, RandomParam(b, "conv2.weight", {c, c, 3, 3}, -0.3, 0.3, rng), {.pad = 1});
  h = b.BatchNorm(h, RandomParam(b, "bn2.weight", {c}, 0.5, 1.5, rng),
                  RandomParam(b, "bn2.bias", {c}, -0.5, 0.5, rng),
                  RandomParam(b, "bn2.running_mean", {c}, -0.5, 0.5, rng),
                  RandomParam(b, "bn2.running_var", {c}, 0.5, 1.5, rng));
  b.Output(b.Relu(b.Add(h, x)), "y");
  Graph g = FinishGraph(b);
  std::unique_ptr<Graph> original = g.Clone();
  FoldBatchNormPass fold;
  ASSERT_TRUE(RunPassChecked(fold, g));
  ExpectFuses(g);
  ExpectNumericallyEquivalent(*original, g, kRtol, kAtol);
  EXPECT_EQ(CountOps(g, OpKind::kConv2d), 2);
  EXPECT_EQ(CountOps(g, OpKind::kAdd), 0) << PrintGraph(g);
  EXPECT_EQ(CountOps(g, OpKind::kRelu), 0);
  EXPECT_EQ(CountOps(g, OpKind::kReshape), 1);
  const std::string text = PrintGraph(g);
  EXPECT_NE(text.find("reshape(%conv1.bias) {shape=[4]} : f32[4]"), std::string::npos) << text;
  EXPECT_NE(text.find("epilogue=[bias(%conv1.bias.flat), relu]"), std::string::npos) << text;
  EXPECT_NE(LineOf(g, "y").find("epilogue=[bias(%conv2.weight.bn_folded_bias), add(%x), relu]"),
            std::string::npos)
      << text;
}

TEST(FuseEpilogueTest, ResNetBlockNhwc) {
  std::mt19937 rng(4);
  const int64_t c = 3;
  Builder b("block_nhwc");
  Value* x = b.Input("x", DType::kF32, {2, 5, 5, c});
  Conv2dOptions o{.pad = 1, .layout = Layout::kNHWC};
  Value* h = b.Conv2d(x, RandomParam(b, "conv1.weight", {c, 3, 3, c}, -0.3, 0.3, rng), o);
  h = b.Relu(b.Add(h, RandomParam(b, "conv1.bias", {c}, -1, 1, rng)));
  h = b.Conv2d(h, RandomParam(b, "conv2.weight", {c, 3, 3, c}, -0.3, 0.3, rng), o);
  h = b.Add(b.Add(h, RandomParam(b, "conv2.bias", {1, 1, c}, -1, 1, rng)), x);
  b.Output(b.Relu(h), "y");
  Graph g = FinishGraph(b);
  ExpectFuses(g);
  EXPECT_EQ(g.nodes().size(), 7u) << PrintGraph(g);  // 4 weights, 1 reshape, 2 convs
  EXPECT_NE(LineOf(g, "y").find("epilogue=[bias(%conv2.bias.flat), add(%x), relu]"),
            std::string::npos)
      << PrintGraph(g);
}

// scale, sigmoid, tanh, silu and a final cast, in the original order; nothing after the cast.
TEST(FuseEpilogueTest, ScaleActivationsAndCast) {
  std::mt19937 rng(5);
  Builder b("chain");
  Value* x = b.Input("x", DType::kF32, {4, 6});
  Value* h = b.Gemm(x, RandomParam(b, "w", {6, 5}, -1, 1, rng));
  h = b.Mul(b.Scalar(0.5), h);
  h = b.Silu(b.Tanh(b.Sigmoid(h)));
  h = b.Cast(h, DType::kF16);
  b.Output(b.Relu(h), "y");
  Graph g = FinishGraph(b);
  std::unique_ptr<Graph> before = g.Clone();
  FuseEpiloguePass pass;
  ASSERT_TRUE(RunPassChecked(pass, g));
  // f16 output: compare at f16 precision.
  ExpectNumericallyEquivalent(*before, g, 1e-3, 1e-3);
  const Value* y = g.FindValue("y");
  ASSERT_NE(y, nullptr);
  const Node* gemm = y->producer()->input(0)->producer();
  ASSERT_EQ(gemm->op(), OpKind::kGemm) << PrintGraph(g);
  EXPECT_NE(PrintNode(*gemm).find("epilogue=[scale(0.5), sigmoid, tanh, silu, cast(f16)]} : "
                                  "f16[4,5]"),
            std::string::npos)
      << PrintGraph(g);
  EXPECT_EQ(y->producer()->op(), OpKind::kRelu);
}

// A scale constant that f16 cannot hold exactly fuses as its f16 value (what mul used).
TEST(FuseEpilogueTest, ScaleUsesTheConstantsDType) {
  std::mt19937 rng(6);
  Builder b("scale_f16");
  Value* x = b.Input("x", DType::kF16, {2, 3});
  b.graph().weights()->emplace(
      "w", Tensor::FromF64(DType::kF16, {3, 2}, std::vector<double>{1, 2, 3, 4, 5, 6}));
  Value* h = b.Gemm(x, b.Weight("w", DType::kF16, {3, 2}));
  b.Output(b.Mul(h, b.Scalar(0.1, DType::kF16)), "y");
  Graph g = FinishGraph(b);
  std::unique_ptr<Graph> before = g.Clone();
  FuseEpiloguePass pass;
  ASSERT_TRUE(RunPassChecked(pass, g));
  // The unfused graph rounds the gemm result to f16 before scaling: allow one f16 rounding.
  ExpectNumericallyEquivalent(*before, g, 2e-3, 2e-3);
  // 0.1 in f16 is 0.0999755859375.
  EXPECT_NE(LineOf(g, "y").find("scale(0.0999755859375)"), std::string::npos) << PrintGraph(g);
}

TEST(FuseEpilogueTest, ConvTransposeRelu) {
  std::mt19937 rng(7);
  Builder b("deconv");
  Value* x = b.Input("x", DType::kF32, {1, 2, 3, 3});
  Value* h = b.ConvTranspose2d(x, RandomParam(b, "w", {2, 3, 2, 2}, -1, 1, rng), {.stride = 2});
  h = b.Add(h, RandomParam(b, "b", {3, 1, 1}, -1, 1, rng));
  b.Output(b.Relu(h), "y");
  Graph g = FinishGraph(b);
  ExpectFuses(g);
  EXPECT_NE(LineOf(g, "y").find("conv_transpose2d(%x, %w) {stride=[2,2], epilogue=[bias(%b.flat), "
                                "relu]}"),
            std::string::npos)
      << PrintGraph(g);
}

// A channel-vector add after a non-bias step is not a bias (and not of the output's shape).
TEST(FuseEpilogueTest, BiasOnlyBeforeOtherSteps) {
  std::mt19937 rng(8);
  Builder b("late_bias");
  Value* x = b.Input("x", DType::kF32, {2, 4});
  Value* h = b.Relu(b.Gemm(x, RandomParam(b, "w", {4, 3}, -1, 1, rng)));
  b.Output(b.Add(h, RandomParam(b, "b", {3}, -1, 1, rng)), "y");
  Graph g = FinishGraph(b);
  ExpectFuses(g);
  EXPECT_EQ(CountOps(g, OpKind::kAdd), 1);
  EXPECT_NE(PrintGraph(g).find("epilogue=[relu]"), std::string::npos) << PrintGraph(g);
}

TEST(FuseEpilogueTest, ProducerWithTwoUsersIsKept) {
  std::mt19937 rng(9);
  Builder b("two_users");
  Value* x = b.Input("x", DType::kF32, {2, 4});
  Value* h = b.Gemm(x, RandomParam(b, "w", {4, 3}, -1, 1, rng));
  b.Output(b.Relu(h), "y");
  b.Output(b.Sigmoid(h), "z");
  Graph g = FinishGraph(b);
  ExpectNoChange<FuseEpiloguePass>(g);
}

// A conv2d with max_pool runs its epilogue before the pool, while its consumers read the pooled
// result: nothing joins it (a bias of the pooled shape would not even have the epilogue's).
TEST(FuseEpilogueTest, ConvWithMaxPoolTakesNoSteps) {
  Graph g = ParseVerified(R"(graph @g(%x: f16[1,9,9,4], %r: f16[1,5,5,8]) -> (%y, %z) {
  %w = weight "w" : f16[8,3,3,4]
  %b = weight "b" : f16[8]
  %c = conv2d(%x, %w) {pad=[1,1,1,1], layout=nhwc, max_pool=[3,3,2,2,1,1,1,1]} : f16[1,5,5,8]
  %y = relu(%c) : f16[1,5,5,8]
  %c2 = conv2d(%x, %w) {pad=[1,1,1,1], layout=nhwc, epilogue=[bias(%b)], max_pool=[3,3,2,2,1,1,1,1]} : f16[1,5,5,8]
  %z = add(%c2, %r) : f16[1,5,5,8]
})");
  ExpectNoChange<FuseEpiloguePass>(g);
}

TEST(FuseEpilogueTest, ProducerThatIsAGraphOutputIsKept) {
  std::mt19937 rng(10);
  Builder b("output");
  Value* x = b.Input("x", DType::kF32, {2, 4});
  Value* h = b.Gemm(x, RandomParam(b, "w", {4, 3}, -1, 1, rng));
  b.Output(h, "h");
  b.Output(b.Relu(h), "y");
  Graph g = FinishGraph(b);
  ExpectNoChange<FuseEpiloguePass>(g);
}

// Ops that are not epilogue steps: a bias from a graph input (not a weight), a mul by a tensor,
// a broadcasting add that is not a channel vector, an integer cast, and add(h, h).
TEST(FuseEpilogueTest, NonEpilogueConsumersAreKept) {
  std::mt19937 rng(11);
  Builder b("non_epilogue");
  Value* x = b.Input("x", DType::kF32, {2, 4});
  Value* bias = b.Input("bias", DType::kF32, {3});
  Value* col = b.Input("col", DType::kF32, {2, 1});
  Value* h1 = b.Gemm(x, RandomParam(b, "w1", {4, 3}, -1, 1, rng));
  b.Output(b.Add(h1, bias), "y1");
  Value* h2 = b.Gemm(x, RandomParam(b, "w2", {4, 3}, -1, 1, rng));
  b.Output(b.Mul(h2, RandomParam(b, "m", {2, 3}, -1, 1, rng)), "y2");
  Value* h3 = b.Gemm(x, RandomParam(b, "w3", {4, 3}, -1, 1, rng));
  b.Output(b.Add(h3, col), "y3");
  Value* h4 = b.Gemm(x, RandomParam(b, "w4", {4, 3}, -1, 1, rng));
  b.Output(b.Cast(h4, DType::kI32), "y4");
  Value* h5 = b.Gemm(x, RandomParam(b, "w5", {4, 3}, -1, 1, rng));
  b.Output(b.Add(h5, h5), "y5");
  Graph g = FinishGraph(b);
  ExpectNoChange<FuseEpiloguePass>(g);
}

TEST(FuseEpilogueTest, ZooTinyCnnAfterFold) {
  ZooOptions o;
  o.batch = 2;
  o.image_size = 8;
  o.hidden_size = 4;
  StatusOr<Graph> g = BuildZooModel("tiny_cnn", o);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  std::unique_ptr<Graph> original = g->Clone();
  FoldBatchNormPass fold;
  ASSERT_TRUE(RunPassChecked(fold, *g));
  ExpectFuses(*g);
  ExpectNumericallyEquivalent(*original, *g, kRtol, kAtol);
  EXPECT_EQ(CountOps(*g, OpKind::kRelu), 0) << PrintGraph(*g);
  EXPECT_EQ(CountOps(*g, OpKind::kBatchNorm), 0);
}

TEST(FuseEpilogueTest, ZooBertOneLayer) {
  ZooOptions o;
  o.batch = 2;
  o.seq = 5;
  o.num_layers = 1;
  o.hidden_size = 16;
  o.num_heads = 2;
  o.intermediate_size = 32;
  o.vocab_size = 50;
  StatusOr<Graph> g = BuildZooModel("bert", o);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  const int adds = CountOps(*g, OpKind::kAdd);
  ExpectFuses(*g);
  EXPECT_LT(CountOps(*g, OpKind::kAdd), adds) << PrintGraph(*g);
  EXPECT_EQ(CountOps(*g, OpKind::kGelu), 0);
  EXPECT_EQ(CountOps(*g, OpKind::kTanh), 0);  // the pooler's activation
}

}  // namespace
}  // namespace kiln
