#include "passes/pack_qkv.h"

#include <gtest/gtest.h>

#include <random>

#include "ir/printer.h"
#include "passes/pass_test_util.h"

namespace kiln {
namespace {

// Attaches random data to every weight of `g` (the gemm merge needs the values).
void AttachWeights(Graph& g) {
  std::mt19937 rng(5);
  auto weights = std::make_shared<TensorMap>();
  pass_test_internal::AddMissingWeights(g, *weights, rng);
  g.set_weights(weights);
}

// BERT's layout: three projections of x with bias epilogues, a padding mask.
constexpr const char* kThreeGemms = R"(graph @bert(%x: f32[N,S,16], %m: f32[N,1,1,S]) -> (%y) where N in [1, 3], S in [1, 9] {
  %wq = weight "q.weight" : f32[16,16]
  %bq = weight "q.bias" : f32[16]
  %q = gemm(%x, %wq) {trans_b=true, epilogue=[bias(%bq)]} : f32[N,S,16]
  %wk = weight "k.weight" : f32[16,16]
  %bk = weight "k.bias" : f32[16]
  %k = gemm(%x, %wk) {trans_b=true, epilogue=[bias(%bk)]} : f32[N,S,16]
  %wv = weight "v.weight" : f32[16,16]
  %bv = weight "v.bias" : f32[16]
  %v = gemm(%x, %wv) {trans_b=true, epilogue=[bias(%bv)]} : f32[N,S,16]
  %q4 = reshape(%q) {shape=[N,S,2,8]} : f32[N,S,2,8]
  %k4 = reshape(%k) {shape=[N,S,2,8]} : f32[N,S,2,8]
  %v4 = reshape(%v) {shape=[N,S,2,8]} : f32[N,S,2,8]
  %y = attention(%q4, %k4, %v4, %m) : f32[N,S,2,8]
})";

TEST(PackQkvTest, MergesThreeProjectionsAndPacks) {
  Graph g = ParseVerified(kThreeGemms);
  AttachWeights(g);
  std::unique_ptr<Graph> before = g.Clone();
  PackQkvPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  const std::string text = PrintGraph(g);
  EXPECT_EQ(CountOps(g, OpKind::kGemm), 1) << text;
  EXPECT_NE(text.find("weight \"q.weight.qkv\" : f32[48,16]"), std::string::npos) << text;
  EXPECT_NE(text.find("weight \"q.bias.qkv\" : f32[48]"), std::string::npos) << text;
  EXPECT_NE(text.find("{shape=[N,S,3,2,8]} : f32[N,S,3,2,8]"), std::string::npos) << text;
  EXPECT_NE(text.find("packed=true"), std::string::npos) << text;
  EXPECT_EQ(text.find("\"k.weight\""), std::string::npos) << "the separate weights are dead:\n" << text;
  // Row k of the merged weight is row k - 16 of k's.
  const std::vector<double> merged = g.weights()->at("q.weight.qkv").ToF64();
  const std::vector<double> k = g.weights()->at("k.weight").ToF64();
  EXPECT_EQ(merged[16 * 16 + 5], k[5]);
  ExpectNumericallyEquivalent(*before, g, 1e-6, 1e-6);
}

TEST(PackQkvTest, JoinsUntransposedWeightsAlongRows) {
  Graph g = ParseVerified(R"(graph @g(%x: f32[2,5,8]) -> (%y) {
  %wq = weight "wq" : f32[8,8]
  %q = gemm(%x, %wq) : f32[2,5,8]
  %wk = weight "wk" : f32[8,8]
  %k = gemm(%x, %wk) : f32[2,5,8]
  %wv = weight "wv" : f32[8,8]
  %v = gemm(%x, %wv) : f32[2,5,8]
  %q4 = reshape(%q) {shape=[2,5,1,8]} : f32[2,5,1,8]
  %k4 = reshape(%k) {shape=[2,5,1,8]} : f32[2,5,1,8]
  %v4 = reshape(%v) {shape=[2,5,1,8]} : f32[2,5,1,8]
  %y = attention(%q4, %k4, %v4) {causal=true} : f32[2,5,1,8]
})");
  AttachWeights(g);
  std::unique_ptr<Graph> before = g.Clone();
  PackQkvPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  EXPECT_NE(PrintGraph(g).find("weight \"wq.qkv\" : f32[8,24]"), std::string::npos) << PrintGraph(g);
  ExpectNumericallyEquivalent(*before, g, 1e-6, 1e-6);
}

TEST(PackQkvTest, ReadsASplitProjectionInPlace) {
  // ViT's layout: one in-projection, split into q, k, v.
  Graph g = ParseVerified(R"(graph @vit(%x: f32[N,7,16]) -> (%y) where N in [1, 4] {
  %w = weight "in_proj.weight" : f32[48,16]
  %b = weight "in_proj.bias" : f32[48]
  %p = gemm(%x, %w) {trans_b=true, epilogue=[bias(%b)]} : f32[N,7,48]
  %q, %k, %v = split(%p) {axis=-1, sizes=[16,16,16]} : f32[N,7,16], f32[N,7,16], f32[N,7,16]
  %q4 = reshape(%q) {shape=[N,7,2,8]} : f32[N,7,2,8]
  %k4 = reshape(%k) {shape=[N,7,2,8]} : f32[N,7,2,8]
  %v4 = reshape(%v) {shape=[N,7,2,8]} : f32[N,7,2,8]
  %y = attention(%q4, %k4, %v4) : f32[N,7,2,8]
})");
  std::unique_ptr<Graph> before = g.Clone();
  PackQkvPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  EXPECT_EQ(CountOps(g, OpKind::kSplit), 0) << PrintGraph(g);
  EXPECT_NE(PrintGraph(g).find("attention(%p_packed) {packed=true}"), std::string::npos) << PrintGraph(g);
  ExpectNumericallyEquivalent(*before, g, 1e-6, 1e-6);
}

TEST(PackQkvTest, ReadsSlicesOfAProjectionInPlace) {
  // What fold-views makes of an exported sequence-first attention: slices of the last axis.
  Graph g = ParseVerified(R"(graph @g(%x: f32[N,6,16]) -> (%y) where N in [1, 3] {
  %w = weight "w" : f32[48,16]
  %p = gemm(%x, %w) {trans_b=true} : f32[N,6,48]
  %q = slice(%p) {starts=[0], ends=[16], axes=[-1]} : f32[N,6,16]
  %k = slice(%p) {starts=[16], ends=[32], axes=[-1]} : f32[N,6,16]
  %v = slice(%p) {starts=[32], ends=[48], axes=[-1]} : f32[N,6,16]
  %q4 = reshape(%q) {shape=[N,6,2,8]} : f32[N,6,2,8]
  %k4 = reshape(%k) {shape=[N,6,2,8]} : f32[N,6,2,8]
  %v4 = reshape(%v) {shape=[N,6,2,8]} : f32[N,6,2,8]
  %y = attention(%q4, %k4, %v4) : f32[N,6,2,8]
})");
  std::unique_ptr<Graph> before = g.Clone();
  PackQkvPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  EXPECT_EQ(CountOps(g, OpKind::kSlice), 0) << PrintGraph(g);
  ExpectNumericallyEquivalent(*before, g, 1e-6, 1e-6);
}

TEST(PackQkvTest, LeavesOtherAttentionsAlone) {
  // Cross-attention (k, v from another input), grouped-query heads, projections without weight
  // data, different alphas, a projection read twice.
  Graph g = ParseVerified(R"(graph @g(%x: f32[1,4,8], %c: f32[1,4,8], %kv: f32[1,4,1,8]) -> (%cross, %gqa, %nodata, %alpha, %twice, %extra) {
  %cw = weight "cw" : f32[24,8]
  %cp = gemm(%x, %cw) {trans_b=true} : f32[1,4,24]
  %c1, %c2, %c3 = split(%cp) {axis=-1, sizes=[8,8,8]} : f32[1,4,8], f32[1,4,8], f32[1,4,8]
  %cq = reshape(%c1) {shape=[1,4,1,8]} : f32[1,4,1,8]
  %ck = reshape(%c) {shape=[1,4,1,8]} : f32[1,4,1,8]
  %cross = attention(%cq, %ck, %ck) : f32[1,4,1,8]
  %gq = reshape(%cp) {shape=[1,4,3,8]} : f32[1,4,3,8]
  %gqa = attention(%gq, %kv, %kv) : f32[1,4,3,8]
  %n1 = gemm(%x, %x) {trans_b=true} : f32[1,4,4]
  %n2 = gemm(%x, %c) {trans_b=true} : f32[1,4,4]
  %n3 = gemm(%c, %x) {trans_b=true} : f32[1,4,4]
  %nq = reshape(%n1) {shape=[1,4,1,4]} : f32[1,4,1,4]
  %nk = reshape(%n2) {shape=[1,4,1,4]} : f32[1,4,1,4]
  %nv = reshape(%n3) {shape=[1,4,1,4]} : f32[1,4,1,4]
  %nodata = attention(%nq, %nk, %nv) : f32[1,4,1,4]
  %w1 = weight "w1" : f32[8,8]
  %w2 = weight "w2" : f32[8,8]
  %a1 = gemm(%x, %w1) {alpha=0.5} : f32[1,4,8]
  %a2 = gemm(%x, %w2) : f32[1,4,8]
  %a3 = gemm(%x, %w1) : f32[1,4,8]
  %aq = reshape(%a1) {shape=[1,4,1,8]} : f32[1,4,1,8]
  %ak = reshape(%a2) {shape=[1,4,1,8]} : f32[1,4,1,8]
  %av = reshape(%a3) {shape=[1,4,1,8]} : f32[1,4,1,8]
  %alpha = attention(%aq, %ak, %av) : f32[1,4,1,8]
  %t1 = gemm(%c, %w1) : f32[1,4,8]
  %t2 = gemm(%c, %w2) : f32[1,4,8]
  %t3 = gemm(%c, %w2) {trans_b=true} : f32[1,4,8]
  %tq = reshape(%t1) {shape=[1,4,1,8]} : f32[1,4,1,8]
  %tk = reshape(%t2) {shape=[1,4,1,8]} : f32[1,4,1,8]
  %tv = reshape(%t3) {shape=[1,4,1,8]} : f32[1,4,1,8]
  %twice = attention(%tq, %tk, %tv) : f32[1,4,1,8]
  %extra = relu(%t1) : f32[1,4,8]
})");
  AttachWeights(g);
  ExpectNoChange<PackQkvPass>(g);
}

TEST(PackQkvTest, PackedAttentionShapeErrors) {
  Graph bad("bad");
  const Dim n(2);
  Value* qkv = bad.AddInput("qkv", {DType::kF32, {n, Dim(5), Dim(4), Dim(2), Dim(8)}});
  Attrs attrs;
  attrs.Set("packed", true);
  StatusOr<Node*> r = bad.AddNode(OpKind::kAttention, {qkv}, attrs, {"y"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("must be [B, S, 3, H, D]"), std::string::npos) << r.status().ToString();
  Value* q = bad.AddInput("q", {DType::kF32, {n, Dim(5), Dim(2), Dim(8)}});
  r = bad.AddNode(OpKind::kAttention, {q, q, q}, attrs, {"z"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("packed=true takes qkv and an optional mask"), std::string::npos)
      << r.status().ToString();
}

}  // namespace
}  // namespace kiln
