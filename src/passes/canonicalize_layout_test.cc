#include "passes/canonicalize_layout.h"

#include <gtest/gtest.h>

#include <random>

#include "ir/builder.h"
#include "ir/printer.h"
#include "models/zoo.h"
#include "passes/fold_batch_norm.h"
#include "passes/pass_test_util.h"

namespace kiln {
namespace {

// Counts conv2d / conv_transpose2d nodes in `layout`.
int CountConvs(const Graph& g, const std::string& layout) {
  int n = 0;
  for (const auto& node : g.nodes()) {
    if (node->op() == OpKind::kConv2d || node->op() == OpKind::kConvTranspose2d) {
      n += node->GetEnum("layout") == layout ? 1 : 0;
    }
  }
  return n;
}

// A weight of uniform random data in [lo, hi] attached to the builder's graph.
Value* RandomParam(Builder& b, const std::string& name, std::vector<int64_t> shape, double lo,
                   double hi, std::mt19937& rng) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(n);
  for (double& x : v) x = dist(rng);
  b.graph().weights()->emplace(name, Tensor::FromF64(DType::kF32, shape, v));
  return b.Weight(name, DType::kF32, StaticShape(shape));
}

// Runs the pass, expects a change and the same values as before (the reference conv sums in the
// same order in both layouts, so only f32 rounding of the accumulation order could differ).
void ExpectConverts(Graph& g) {
  std::unique_ptr<Graph> before = g.Clone();
  CanonicalizeLayoutPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  EXPECT_EQ(CountConvs(g, "nchw"), 0) << PrintGraph(g);
  ExpectNumericallyEquivalent(*before, g, 1e-5, 1e-5);
}

// A tiny ResNet: conv-bn-relu, a residual basic block, max pool, global pool, flatten, linear.
// Batch norm is folded first (as in the default pipeline).
TEST(CanonicalizeLayoutTest, TinyResNetBlock) {
  std::mt19937 rng(3);
  Builder b("tiny_resnet");
  Dim n = b.Sym("N", 1, 4);
  Value* x = b.Input("x", DType::kF32, {n, 3, 8, 8});
  auto bn = [&](const std::string& p, Value* h, int64_t c) {
    return b.BatchNorm(h, RandomParam(b, p + ".weight", {c}, 0.5, 1.5, rng),
                       RandomParam(b, p + ".bias", {c}, -0.5, 0.5, rng),
                       RandomParam(b, p + ".running_mean", {c}, -0.5, 0.5, rng),
                       RandomParam(b, p + ".running_var", {c}, 0.5, 1.5, rng));
  };
  Conv2dOptions pad1{.pad = 1};
  Value* h = b.Conv2d(x, RandomParam(b, "stem.weight", {4, 3, 3, 3}, -0.3, 0.3, rng), pad1);
  h = b.Relu(bn("stem.bn", h, 4));
  Value* r = b.Conv2d(h, RandomParam(b, "c1.weight", {4, 4, 3, 3}, -0.3, 0.3, rng), pad1);
  r = b.Relu(bn("c1.bn", r, 4));
  r = b.Conv2d(r, RandomParam(b, "c2.weight", {4, 4, 3, 3}, -0.3, 0.3, rng), pad1);
  h = b.Relu(b.Add(bn("c2.bn", r, 4), h));
  h = b.MaxPool2d(h, {.kernel = {2, 2}, .stride = 2});
  h = b.Flatten(b.GlobalAvgPool2d(h));
  b.Output(b.Linear(h, RandomParam(b, "fc.weight", {5, 4}, -0.5, 0.5, rng),
                    RandomParam(b, "fc.bias", {5}, -0.5, 0.5, rng)),
           "y");
  Graph g = FinishGraph(b);
  FoldBatchNormPass fold;
  ASSERT_TRUE(RunPassChecked(fold, g));
  ExpectConverts(g);
  // One transpose, at the input; flatten reads the [N,1,1,4] pool result directly.
  EXPECT_EQ(CountOps(g, OpKind::kTranspose), 1) << PrintGraph(g);
  EXPECT_EQ(g.nodes().front()->op(), OpKind::kTranspose);
  EXPECT_EQ(g.nodes().front()->input(0), g.inputs()[0]);
  EXPECT_EQ(CountConvs(g, "nhwc"), 3);
  for (const auto& node : g.nodes()) {
    if (node->op() == OpKind::kMaxPool2d || node->op() == OpKind::kGlobalAvgPool2d) {
      EXPECT_EQ(node->GetEnum("layout"), "nhwc") << node->Describe();
    }
  }
  // The folded stem weight [4,3,3,3] OIHW was permuted into "<name>.ohwi" [4,3,3,3] OHWI.
  const TensorMap& w = *g.weights();
  ASSERT_TRUE(w.count("stem.weight.bn_folded.ohwi")) << PrintGraph(g);
  const std::vector<double> oihw = w.at("stem.weight.bn_folded").ToF64();
  const std::vector<double> ohwi = w.at("stem.weight.bn_folded.ohwi").ToF64();
  // element (o=1, c=2, h=0, w=1): OIHW index ((1*3+2)*3+0)*3+1, OHWI index ((1*3+0)*3+1)*3+2.
  EXPECT_EQ(ohwi[((1 * 3 + 0) * 3 + 1) * 3 + 2], oihw[((1 * 3 + 2) * 3 + 0) * 3 + 1]);
  EXPECT_EQ(w.at("stem.weight.bn_folded.ohwi").shape(), (std::vector<int64_t>{4, 3, 3, 3}));
}

// Zoo conv nets straight from the builder (batch norms unfolded: they become axis-3 batch norms).
TEST(CanonicalizeLayoutTest, ZooConvNets) {
  ZooOptions o;
  o.max_batch = 2;
  o.num_layers = 1;
  o.hidden_size = 8;
  o.image_size = 32;
  o.num_classes = 10;
  for (const char* name : {"tiny_cnn", "resnet50"}) {
    SCOPED_TRACE(name);
    StatusOr<Graph> g = BuildZooModel(name, o);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    ExpectConverts(*g);
    EXPECT_GT(CountConvs(*g, "nhwc"), 0);
    EXPECT_EQ(CountOps(*g, OpKind::kTranspose), 1) << PrintGraph(*g);
    for (const auto& node : g->nodes()) {
      if (node->op() == OpKind::kBatchNorm) {
        EXPECT_EQ(node->GetInt("axis"), 3);
      }
    }
  }
}

// Depthwise (groups = C) and grouped convs with constant and attached weights.
TEST(CanonicalizeLayoutTest, DepthwiseAndGroupedConvs) {
  std::mt19937 rng(5);
  Builder b("grouped");
  Value* x = b.Input("x", DType::kF32, {2, 4, 6, 6});
  Value* h = b.Conv2d(x, RandomParam(b, "dw.weight", {4, 1, 3, 3}, -0.5, 0.5, rng),
                      {.pad = 1, .groups = 4});
  h = b.Conv2d(h, RandomParam(b, "g.weight", {6, 2, 1, 1}, -0.5, 0.5, rng),
               {.stride = 2, .groups = 2, .epilogue = {Bias(RandomParam(b, "g.bias", {6}, -1, 1,
                                                                        rng)),
                                                       Relu()}});
  h = b.ConvTranspose2d(h, RandomParam(b, "up.weight", {6, 1, 2, 2}, -0.5, 0.5, rng),
                        {.stride = 2, .groups = 2});
  b.Output(h, "y");
  Graph g = FinishGraph(b);
  ExpectConverts(g);
  EXPECT_EQ(CountConvs(g, "nhwc"), 3);
  EXPECT_EQ(CountOps(g, OpKind::kTranspose), 2) << PrintGraph(g);  // input and output
  EXPECT_EQ(g.weights()->at("dw.weight.ohwi").shape(), (std::vector<int64_t>{4, 3, 3, 1}));
  EXPECT_EQ(g.weights()->at("up.weight.ihwo").shape(), (std::vector<int64_t>{6, 2, 2, 1}));
}

// A parsed graph without weight data: the weight gets a transpose node instead of new data, and
// a [C,1,1] constant operand becomes [1,1,C]. Exact IR.
TEST(CanonicalizeLayoutTest, WeightWithoutData) {
  Graph g = ParseVerified(R"(
graph @g(%x: f32[N,2,4,4]) -> (%y) where N in [1, 8] {
  %w = weight "conv.w" : f32[3,2,3,3]
  %b = constant [1.0, 2.0, 3.0] : f32[3,1,1]
  %h = conv2d(%x, %w) {pad=[1, 1, 1, 1]} : f32[N,3,4,4]
  %y = mul(%h, %b) : f32[N,3,4,4]
})");
  std::unique_ptr<Graph> before = g.Clone();
  CanonicalizeLayoutPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[N,2,4,4]) -> (%y) where N in [1, 8] {\n"
            "  %x_nhwc = transpose(%x) {perm=[0,2,3,1]} : f32[N,4,4,2]\n"
            "  %w = weight \"conv.w\" : f32[3,2,3,3]\n"
            "  %b_nhwc = constant [1.0, 2.0, 3.0] : f32[1,1,3]\n"
            "  %w_nhwc = transpose(%w) {perm=[0,2,3,1]} : f32[3,3,3,2]\n"
            "  %h_nhwc = conv2d(%x_nhwc, %w_nhwc) {pad=[1,1,1,1], layout=nhwc} : "
            "f32[N,4,4,3]\n"
            "  %y_nhwc = mul(%h_nhwc, %b_nhwc) : f32[N,4,4,3]\n"
            "  %y = transpose(%y_nhwc) {perm=[0,3,1,2]} : f32[N,3,4,4]\n"
            "}\n");
  ExpectNumericallyEquivalent(*before, g, 1e-6, 1e-6);
}

// An explicit NHWC boundary in the input (transpose in, transpose out) cancels with the pass's own
// transposes; a rank-1 [W] operand (broadcast along W in NCHW) keeps its op in NCHW.
TEST(CanonicalizeLayoutTest, CancelsExistingTransposesAndStopsAtRank1Operands) {
  Graph g = ParseVerified(R"(
graph @g(%x: f32[1,4,4,2], %v: f32[4]) -> (%y, %z) {
  %xt = transpose(%x) {perm=[0,3,1,2]} : f32[1,2,4,4]
  %w = constant [1.0, -1.0, 0.5, 2.0] : f32[2,2,1,1]
  %h = conv2d(%xt, %w) : f32[1,2,4,4]
  %y = transpose(%h) {perm=[0,2,3,1]} : f32[1,4,4,2]
  %z = add(%h, %v) : f32[1,2,4,4]
})");
  std::unique_ptr<Graph> before = g.Clone();
  CanonicalizeLayoutPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  // OIHW [[1,-1],[0.5,2]] with H=W=1 -> OHWI is the same order.
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[1,4,4,2], %v: f32[4]) -> (%y, %z) {\n"
            "  %w_nhwc = constant [1.0, -1.0, 0.5, 2.0] : f32[2,1,1,2]\n"
            "  %y = conv2d(%x, %w_nhwc) {layout=nhwc} : f32[1,4,4,2]\n"
            "  %h = transpose(%y) {perm=[0,3,1,2]} : f32[1,2,4,4]\n"
            "  %z = add(%h, %v) : f32[1,2,4,4]\n"
            "}\n");
  ExpectNumericallyEquivalent(*before, g, 0.0, 0.0);
}

// A conv with a residual epilogue operand (a graph input: it gets its own boundary transpose),
// a squeeze-excitation style [N,C,1,1] gate (reshaped, not transposed, to [N,1,1,C]) and a
// flatten of the [N,C,1,1] global pool that is a graph output.
TEST(CanonicalizeLayoutTest, ResidualEpilogueGateAndFlattenOutput) {
  std::mt19937 rng(11);
  Builder b("se");
  Value* x = b.Input("x", DType::kF32, {2, 3, 5, 5});
  Value* r = b.Input("r", DType::kF32, {2, 4, 5, 5});
  Value* h = b.Conv2d(x, RandomParam(b, "c.weight", {4, 3, 3, 3}, -0.5, 0.5, rng),
                      {.pad = 1, .epilogue = {Residual(r), Relu()}});
  Value* pooled = b.GlobalAvgPool2d(h);
  Value* flat = b.Flatten(pooled);
  Value* gate = b.Sigmoid(b.Reshape(
      b.Linear(flat, RandomParam(b, "fc.weight", {4, 4}, -1, 1, rng),
               RandomParam(b, "fc.bias", {4}, -1, 1, rng)),
      {2, 4, 1, 1}));
  b.Output(b.Mul(h, gate), "y");
  b.Output(flat, "f");
  const std::string pooled_name = pooled->name();  // the node is replaced by the pass
  Graph g = FinishGraph(b);
  ExpectConverts(g);
  // x and r in, y out; the flatten and the gate need none.
  EXPECT_EQ(CountOps(g, OpKind::kTranspose), 3) << PrintGraph(g);
  const std::string printed = PrintGraph(g);
  EXPECT_NE(printed.find("= flatten(%" + pooled_name + "_nhwc)"), std::string::npos)
      << printed;
  EXPECT_NE(printed.find("epilogue=[add(%r_nhwc), relu]"), std::string::npos) << printed;
  EXPECT_NE(printed.find("{shape=[2,1,1,4]}"), std::string::npos) << printed;
}

// group_norm, resize, avg_pool2d and global_max_pool2d after a conv all take their nhwc form.
TEST(CanonicalizeLayoutTest, NormResizeAndPools) {
  std::mt19937 rng(13);
  Builder b("misc");
  Value* x = b.Input("x", DType::kF32, {2, 3, 4, 4});
  Value* h = b.Conv2d(x, RandomParam(b, "c.weight", {4, 3, 1, 1}, -1, 1, rng));
  h = b.GroupNorm(h, RandomParam(b, "gn.weight", {4}, 0.5, 1.5, rng),
                  RandomParam(b, "gn.bias", {4}, -0.5, 0.5, rng), 2);
  h = b.Resize(h, {.mode = "bilinear", .scales = {2, 2}});
  h = b.AvgPool2d(h, {.kernel = {3, 3}, .stride = 2, .pad = 1});
  b.Output(b.GlobalMaxPool2d(h), "y");
  Graph g = FinishGraph(b);
  ExpectConverts(g);
  for (const auto& node : g.nodes()) {
    if (node->op() == OpKind::kGroupNorm || node->op() == OpKind::kResize ||
        node->op() == OpKind::kAvgPool2d || node->op() == OpKind::kGlobalMaxPool2d) {
      EXPECT_EQ(node->GetEnum("layout"), "nhwc") << node->Describe();
    }
  }
  EXPECT_EQ(CountOps(g, OpKind::kTranspose), 2) << PrintGraph(g);  // input and output
}

// A conv2d with max_pool becomes its nhwc form with the same max_pool (kernel, stride and pads
// are spatial, the same in both layouts); its residual add has the unpooled shape. Exact IR.
TEST(CanonicalizeLayoutTest, ConvWithMaxPoolKeepsIt) {
  Graph g = ParseVerified(R"(
graph @g(%x: f32[N,2,7,9], %r: f32[N,3,7,9]) -> (%y) where N in [1, 8] {
  %w = weight "conv.w" : f32[3,2,3,3]
  %b = weight "conv.b" : f32[3]
  %y = conv2d(%x, %w) {pad=[1,1,1,1], epilogue=[bias(%b), add(%r), relu], max_pool=[3,2,2,1,1,0,0,1]} : f32[N,3,3,9]
})");
  std::unique_ptr<Graph> before = g.Clone();
  CanonicalizeLayoutPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[N,2,7,9], %r: f32[N,3,7,9]) -> (%y) where N in [1, 8] {\n"
            "  %r_nhwc = transpose(%r) {perm=[0,2,3,1]} : f32[N,7,9,3]\n"
            "  %x_nhwc = transpose(%x) {perm=[0,2,3,1]} : f32[N,7,9,2]\n"
            "  %w = weight \"conv.w\" : f32[3,2,3,3]\n"
            "  %b = weight \"conv.b\" : f32[3]\n"
            "  %w_nhwc = transpose(%w) {perm=[0,2,3,1]} : f32[3,3,3,2]\n"
            "  %y_nhwc = conv2d(%x_nhwc, %w_nhwc) {pad=[1,1,1,1], layout=nhwc, epilogue=[bias(%b), "
            "add(%r_nhwc), relu], max_pool=[3,2,2,1,1,0,0,1]} : f32[N,3,9,3]\n"
            "  %y = transpose(%y_nhwc) {perm=[0,3,1,2]} : f32[N,3,3,9]\n"
            "}\n");
  ExpectNumericallyEquivalent(*before, g, 0.0, 0.0);
}

TEST(CanonicalizeLayoutTest, NoChangeOnNhwcGraph) {
  Graph g = ParseVerified(R"(
graph @g(%x: f32[N,4,4,2]) -> (%y) where N in [1, 8] {
  %w = weight "conv.w" : f32[3,3,3,2]
  %h = conv2d(%x, %w) {pad=[1, 1, 1, 1], layout=nhwc} : f32[N,4,4,3]
  %r = relu(%h) : f32[N,4,4,3]
  %y = max_pool2d(%r) {kernel=[2, 2], stride=[2, 2], layout=nhwc} : f32[N,2,2,3]
})");
  ExpectNoChange<CanonicalizeLayoutPass>(g);
}

TEST(CanonicalizeLayoutTest, NoChangeWithoutConvs) {
  Graph g = ParseVerified(R"(
graph @g(%x: f32[N,2,4,4]) -> (%y) where N in [1, 8] {
  %s = constant [1.0, 2.0] : f32[2]
  %b = constant [0.0, 1.0] : f32[2]
  %n = batch_norm(%x, %s, %b, %b, %s) : f32[N,2,4,4]
  %p = max_pool2d(%n) {kernel=[2, 2], stride=[2, 2]} : f32[N,2,2,2]
  %y = relu(%p) : f32[N,2,2,2]
})");
  ExpectNoChange<CanonicalizeLayoutPass>(g);
}

}  // namespace
}  // namespace kiln
