#include "ir/graph.h"

#include <gtest/gtest.h>

#include "ir/builder.h"
#include "ir/verifier.h"

namespace kiln {
namespace {

Graph SmallGraph() {
  Builder b("small");
  Dim n = b.Sym("N", 1, 8);
  Value* x = b.Input("x", DType::kF32, {n, 4});
  Value* w = b.Weight("fc.weight", DType::kF32, {3, 4});
  Value* bias = b.Weight("fc.bias", DType::kF32, {3});
  Value* h = b.Gemm(x, w, {.trans_b = true, .epilogue = {Bias(bias), Relu()}});
  b.Output(h);
  auto g = b.Finish();
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return std::move(g).value();
}

TEST(GraphTest, BuilderProducesVerifiedGraphWithSymbolicShapes) {
  Graph g = SmallGraph();
  ASSERT_TRUE(Verify(g).ok()) << Verify(g).ToString();
  ASSERT_EQ(g.outputs().size(), 1u);
  EXPECT_EQ(g.outputs()[0]->type().ToString(), "f32[N,3]");
  const Node& gemm = *g.nodes().back();
  EXPECT_EQ(gemm.op(), OpKind::kGemm);
  EXPECT_EQ(gemm.num_inputs(), 3);
  EXPECT_EQ(gemm.num_explicit_inputs(), 2);
  EXPECT_TRUE(gemm.GetBool("trans_b"));
  EXPECT_FALSE(gemm.GetBool("trans_a"));          // default, not stored
  EXPECT_FALSE(gemm.HasAttr("trans_a"));
  EXPECT_DOUBLE_EQ(gemm.GetFloat("alpha"), 1.0);
  EXPECT_EQ(gemm.GetEpilogue().size(), 2u);
}

TEST(GraphTest, CloneIsStructurallyEqualAndIndependent) {
  Graph g = SmallGraph();
  std::unique_ptr<Graph> c = g.Clone();
  std::string why;
  EXPECT_TRUE(StructurallyEqual(g, *c, &why)) << why;
  EXPECT_EQ(c->weights(), g.weights());  // weights shared by reference
  c->set_name("other");
  EXPECT_FALSE(StructurallyEqual(g, *c, &why));
  EXPECT_NE(why.find("names differ"), std::string::npos);
}

TEST(GraphTest, ReplaceUsesAndRemoveNode) {
  Builder b("g");
  Value* x = b.Input("x", DType::kF32, {2});
  Value* r = b.Relu(x);
  Value* e = b.Exp(r);
  b.Output(e);
  Graph g = std::move(b.Finish()).value();
  g.ReplaceAllUsesWith(r, x);
  g.RemoveNode(r->producer());
  EXPECT_EQ(g.nodes().size(), 1u);
  EXPECT_EQ(g.nodes()[0]->input(0), x);
  EXPECT_TRUE(Verify(g).ok());
}

TEST(GraphTest, BuilderErrorsAreStickyAndNameTheNode) {
  Builder b("bad");
  Value* x = b.Input("x", DType::kF32, {2, 3});
  Value* y = b.Input("y", DType::kF32, {4, 3});
  Value* s = b.Add(x, y);  // 2 vs 4 does not broadcast
  EXPECT_EQ(s, nullptr);
  EXPECT_EQ(b.Relu(s), nullptr);
  b.Output(s);
  auto g = b.Finish();
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("do not broadcast"), std::string::npos)
      << g.status().message();
}

TEST(GraphTest, UnknownAttributeIsRejected) {
  Graph g("g");
  Value* x = g.AddInput("x", {DType::kF32, {2}});
  auto node = g.AddNode(OpKind::kRelu, {x}, {{"alpha", 0.1}});
  ASSERT_FALSE(node.ok());
  EXPECT_NE(node.status().message().find("unknown attribute 'alpha' for op 'relu'"),
            std::string::npos)
      << node.status().message();
}

TEST(GraphTest, ReshapeResolvesMinusOneSymbolically) {
  Builder b("r");
  Dim n = b.Sym("N", 1, 64), s = b.Sym("S", 16, 512);
  Value* x = b.Input("x", DType::kF32, {n, s, 768});
  Value* r = b.Reshape(x, {n, s, 12, -1});
  ASSERT_NE(r, nullptr) << b.status().ToString();
  EXPECT_EQ(r->type().ToString(), "f32[N,S,12,64]");
  Value* f = b.Reshape(x, {-1, 768});
  ASSERT_NE(f, nullptr) << b.status().ToString();
  EXPECT_EQ(f->type().ToString(), "f32[N*S,768]");
}

TEST(VerifierTest, DeclaredTypeMismatchIsReported) {
  Graph g("g");
  Value* x = g.AddInput("x", {DType::kF32, {2, 3}});
  Node* n = g.AddNodeWithTypes(OpKind::kRelu, {x}, {}, {{"y", {DType::kF32, {3, 2}}}});
  n->set_line(7);
  g.SetOutputs({n->output()});
  Status s = Verify(g);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("%y = relu (line 7)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("declared f32[3,2] but the op infers f32[2,3]"), std::string::npos)
      << s.message();
}

TEST(VerifierTest, UseBeforeDefinitionAndUndeclaredSymbol) {
  Graph g("g");
  Value* x = g.AddInput("x", {DType::kF32, {Dim::Symbol("B"), 3}});
  g.SetOutputs({x});
  Status s = Verify(g);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("symbol 'B'"), std::string::npos) << s.message();

  Graph h("h");
  Value* a = h.AddInput("a", {DType::kF32, {2}});
  Node* r1 = h.AddNodeWithTypes(OpKind::kRelu, {a}, {}, {{"r1", {DType::kF32, {2}}}});
  Node* r2 = h.AddNodeWithTypes(OpKind::kExp, {r1->output()}, {}, {{"r2", {DType::kF32, {2}}}});
  h.MoveBefore(r2, r1);
  h.SetOutputs({r2->output()});
  s = Verify(h);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("used before it is defined"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace kiln
