// End to end: a small conv net and a transformer block written as ONNX protos (the way PyTorch
// exports them, shape chains included), imported, compiled for the CPU target with kiln::Compile
// and run against the reference interpreter (tests/e2e/cpu_e2e_util.h; rtol 1e-4, atol 1e-5).
#include <cmath>
#include <random>

#include "tests/e2e/cpu_e2e_util.h"
#include "tests/frontend/onnx/onnx_test_util.h"

namespace kiln::onnx_test {
namespace {

using TP = onnx::TensorProto;
using B = OnnxModelBuilder;

class Weights {
 public:
  explicit Weights(OnnxModelBuilder& m) : m_(m) {}
  void Add(const std::string& name, std::vector<int64_t> shape, float scale, float offset = 0) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::uniform_real_distribution<float> dist(-scale, scale);
    std::vector<float> v;
    for (int64_t i = 0; i < n; ++i) v.push_back(offset + dist(rng_));
    m_.InitF32(name, shape, v);
  }

 private:
  OnnxModelBuilder& m_;
  std::mt19937 rng_{1234};
};

TEST(OnnxE2e, ConvNetCpuMatchesInterpreter) {
  OnnxModelBuilder m(17);
  Weights w(m);
  m.Input("input", TP::FLOAT, {"N", 3, 8, 8});
  w.Add("conv1.weight", {8, 3, 3, 3}, 0.3f);
  w.Add("conv1.bias", {8}, 0.1f);
  w.Add("bn.weight", {8}, 0.2f, 1.0f);
  w.Add("bn.bias", {8}, 0.1f);
  w.Add("bn.running_mean", {8}, 0.1f);
  w.Add("bn.running_var", {8}, 0.2f, 1.0f);
  w.Add("conv2.weight", {8, 8, 3, 3}, 0.2f);
  w.Add("fc.weight", {5, 8}, 0.3f);
  w.Add("fc.bias", {5}, 0.1f);
  auto& c1 = m.Node("Conv", {"input", "conv1.weight", "conv1.bias"}, {"c1"}, "/conv1/Conv");
  B::AttrInts(c1, "pads", {1, 1, 1, 1});
  B::AttrInts(c1, "kernel_shape", {3, 3});
  m.Node("BatchNormalization", {"c1", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"},
         {"b1"}, "/bn/BatchNormalization");
  m.Node("Relu", {"b1"}, {"r1"}, "/relu/Relu");
  auto& mp = m.Node("MaxPool", {"r1"}, {"p1"}, "/pool/MaxPool");
  B::AttrInts(mp, "kernel_shape", {2, 2});
  B::AttrInts(mp, "strides", {2, 2});
  auto& c2 = m.Node("Conv", {"p1", "conv2.weight"}, {"c2"}, "/conv2/Conv");
  B::AttrInts(c2, "pads", {1, 1, 1, 1});
  m.Node("Add", {"c2", "p1"}, {"res"}, "/Add");
  m.Node("Relu", {"res"}, {"r2"}, "/relu_1/Relu");
  m.Node("GlobalAveragePool", {"r2"}, {"gap"}, "/avgpool/GlobalAveragePool");
  m.Node("Flatten", {"gap"}, {"flat"}, "/Flatten");
  auto& fc = m.Node("Gemm", {"flat", "fc.weight", "fc.bias"}, {"logits"}, "/fc/Gemm");
  B::AttrInt(fc, "transB", 1);
  m.Output("logits");
  StatusOr<Graph> g = m.Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->outputs().size(), 1u);
  EXPECT_EQ(g->outputs()[0]->type().ToString(), "f32[N,5]");
  ExpectCpuMatchesInterpreter(*g, {.rtol = 1e-4, .atol = 1e-5});
}

// One pre-norm transformer block, heads = 2, head dim 8, with PyTorch's dynamic reshapes.
TEST(OnnxE2e, TransformerBlockCpuMatchesInterpreter) {
  OnnxModelBuilder m(17);
  Weights w(m);
  m.Input("x", TP::FLOAT, {"batch", "seq", 16});
  w.Add("ln1.weight", {16}, 0.1f, 1.0f);
  w.Add("ln1.bias", {16}, 0.1f);
  w.Add("ln2.weight", {16}, 0.1f, 1.0f);
  w.Add("ln2.bias", {16}, 0.1f);
  for (const char* p : {"q", "k", "v", "o"}) {
    w.Add(std::string(p) + ".weight", {16, 16}, 0.25f);
    w.Add(std::string(p) + ".bias", {16}, 0.05f);
  }
  w.Add("fc1.weight", {16, 32}, 0.25f);
  w.Add("fc1.bias", {32}, 0.05f);
  w.Add("fc2.weight", {32, 16}, 0.18f);
  w.Add("fc2.bias", {16}, 0.05f);
  m.InitI64("i0", {}, {0});
  m.InitI64("i1", {}, {1});
  m.InitI64("ax0", {1}, {0});
  m.InitI64("heads", {1}, {2});
  m.InitI64("hdim", {1}, {8});
  m.InitI64("model", {1}, {16});
  m.InitF32("sqrt_d", {}, {std::sqrt(8.0f)});
  m.InitF32("sqrt2", {}, {std::sqrt(2.0f)});
  m.InitF32("one", {}, {1.0f});
  m.InitF32("half", {}, {0.5f});

  auto ln = [&](const std::string& in, const std::string& p, const std::string& out) {
    auto& n = m.Node("LayerNormalization", {in, p + ".weight", p + ".bias"}, {out});
    B::AttrInt(n, "axis", -1);
    B::AttrFloat(n, "epsilon", 1e-5f);
  };
  auto linear = [&](const std::string& in, const std::string& p, const std::string& out) {
    m.Node("MatMul", {in, p + ".weight"}, {out + "_mm"});
    m.Node("Add", {out + "_mm", p + ".bias"}, {out});
  };
  ln("x", "ln1", "h");
  // Shape chain: [batch, seq] from the activations.
  m.Node("Shape", {"h"}, {"hs"});
  m.Node("Gather", {"hs", "i0"}, {"b"});
  m.Node("Gather", {"hs", "i1"}, {"s"});
  m.Node("Unsqueeze", {"b", "ax0"}, {"b1"});
  m.Node("Unsqueeze", {"s", "ax0"}, {"s1"});
  auto& cat4 = m.Node("Concat", {"b1", "s1", "heads", "hdim"}, {"shape4"});
  B::AttrInt(cat4, "axis", 0);
  auto& cat3 = m.Node("Concat", {"b1", "s1", "model"}, {"shape3"});
  B::AttrInt(cat3, "axis", 0);
  for (const char* p : {"q", "k", "v"}) {
    std::string s(p);
    linear("h", s, s);
    m.Node("Reshape", {s, "shape4"}, {s + "4"});
    auto& t = m.Node("Transpose", {s + "4"}, {s + "h"});
    B::AttrInts(t, "perm",
                s == "k" ? std::vector<int64_t>{0, 2, 3, 1} : std::vector<int64_t>{0, 2, 1, 3});
  }
  m.Node("MatMul", {"qh", "kh"}, {"scores"});
  m.Node("Div", {"scores", "sqrt_d"}, {"scaled"});
  auto& sm = m.Node("Softmax", {"scaled"}, {"probs"});
  B::AttrInt(sm, "axis", -1);
  m.Node("MatMul", {"probs", "vh"}, {"ctx"});
  auto& tc = m.Node("Transpose", {"ctx"}, {"ctx_t"});
  B::AttrInts(tc, "perm", {0, 2, 1, 3});
  m.Node("Reshape", {"ctx_t", "shape3"}, {"ctx3"});
  linear("ctx3", "o", "attn");
  m.Node("Add", {"x", "attn"}, {"r1"});
  ln("r1", "ln2", "h2");
  linear("h2", "fc1", "f1");
  // GELU, erf form, as torch exports it before opset 20.
  m.Node("Div", {"f1", "sqrt2"}, {"g0"});
  m.Node("Erf", {"g0"}, {"g1"});
  m.Node("Add", {"g1", "one"}, {"g2"});
  m.Node("Mul", {"f1", "g2"}, {"g3"});
  m.Node("Mul", {"g3", "half"}, {"gelu"});
  linear("gelu", "fc2", "f2");
  m.Node("Add", {"r1", "f2"}, {"y"});
  m.Output("y");

  StatusOr<Graph> g = m.Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->outputs()[0]->type().ToString(), "f32[batch,seq,16]");
  for (const auto& n : g->nodes()) {
    if (n->op() == OpKind::kReshape) {
      std::string s = ShapeToString(n->GetDims("shape"));
      EXPECT_TRUE(s == "[batch,seq,2,8]" || s == "[batch,seq,16]") << s;
    }
  }
  ExpectCpuMatchesInterpreter(*g, {.rtol = 1e-4, .atol = 1e-5});
}

}  // namespace
}  // namespace kiln::onnx_test
