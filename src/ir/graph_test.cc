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

}  // namespace
}  // namespace kiln
