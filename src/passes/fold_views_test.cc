#include "passes/fold_views.h"

#include <gtest/gtest.h>

#include "ir/printer.h"
#include "passes/dce.h"
#include "passes/pass_test_util.h"

namespace kiln {
namespace {

// Runs fold-views then DCE (which removes the old chains), checking the pass contract.
Graph Folded(Graph g, bool expect_change = true) {
  FoldViewsPass pass;
  EXPECT_EQ(RunPassChecked(pass, g), expect_change) << PrintGraph(g);
  DcePass dce;
  RunPassChecked(dce, g);
  return g;
}

// torchvision's sequence-first MultiheadAttention as torch.export writes it (E = 16, 2 heads of
// 8): the layer norm output transposed to [S, B, E], the in-projection, q, k, v selected through
// unsqueeze / 5-D transpose / squeeze / select / reshape / transpose, the output permuted back
// and projected, then transposed to [B, S, E] for the residual add.
constexpr const char* kExportedMha = R"(graph @mha(%x: f32[N,5,16]) -> (%y) where N in [1, 3] {
  %t = transpose(%x) {perm=[1,0,2]} : f32[5,N,16]
  %w = weight "in_proj.weight" : f32[48,16]
  %b = weight "in_proj.bias" : f32[48]
  %lin = gemm(%t, %w) {trans_b=true, epilogue=[bias(%b)]} : f32[5,N,48]
  %v1 = reshape(%lin) {shape=[5,N,3,16]} : f32[5,N,3,16]
  %u = unsqueeze(%v1) {axes=[0]} : f32[1,5,N,3,16]
  %t1 = transpose(%u) {perm=[3,1,2,0,4]} : f32[3,5,N,1,16]
  %sq = squeeze(%t1) {axes=[3]} : f32[3,5,N,16]
  %s0 = slice(%sq) {starts=[0], ends=[1], axes=[0]} : f32[1,5,N,16]
  %q = squeeze(%s0) {axes=[0]} : f32[5,N,16]
  %s1 = slice(%sq) {starts=[1], ends=[2], axes=[0]} : f32[1,5,N,16]
  %k = squeeze(%s1) {axes=[0]} : f32[5,N,16]
  %s2 = slice(%sq) {starts=[2], ends=[3], axes=[0]} : f32[1,5,N,16]
  %v = squeeze(%s2) {axes=[0]} : f32[5,N,16]
  %q2 = reshape(%q) {shape=[5,N*2,8]} : f32[5,N*2,8]
  %qt = transpose(%q2) {perm=[1,0,2]} : f32[N*2,5,8]
  %k2 = reshape(%k) {shape=[5,N*2,8]} : f32[5,N*2,8]
  %kt = transpose(%k2) {perm=[1,0,2]} : f32[N*2,5,8]
  %v2 = reshape(%v) {shape=[5,N*2,8]} : f32[5,N*2,8]
  %vt = transpose(%v2) {perm=[1,0,2]} : f32[N*2,5,8]
  %q3 = reshape(%qt) {shape=[N,2,5,8]} : f32[N,2,5,8]
  %k3 = reshape(%kt) {shape=[N,2,5,8]} : f32[N,2,5,8]
  %v3 = reshape(%vt) {shape=[N,2,5,8]} : f32[N,2,5,8]
  %q4 = transpose(%q3) {perm=[0,2,1,3]} : f32[N,5,2,8]
  %k4 = transpose(%k3) {perm=[0,2,1,3]} : f32[N,5,2,8]
  %v4 = transpose(%v3) {perm=[0,2,1,3]} : f32[N,5,2,8]
  %att = attention(%q4, %k4, %v4) : f32[N,5,2,8]
  %p = transpose(%att) {perm=[1,0,2,3]} : f32[5,N,2,8]
  %rows = reshape(%p) {shape=[N*5,16]} : f32[N*5,16]
  %wo = weight "out_proj.weight" : f32[16,16]
  %o = gemm(%rows, %wo) {trans_b=true} : f32[N*5,16]
  %o3 = reshape(%o) {shape=[5,N,16]} : f32[5,N,16]
  %ot = transpose(%o3) {perm=[1,0,2]} : f32[N,5,16]
  %y = add(%ot, %x) : f32[N,5,16]
})";

TEST(FoldViewsTest, ExportedSequenceFirstAttentionLosesEveryTranspose) {
  Graph g = ParseVerified(kExportedMha);
  std::unique_ptr<Graph> before = g.Clone();
  Graph after = Folded(std::move(g));
  const std::string text = PrintGraph(after);
  // The projections run on x's rows; q, k, v are slices of the projection's last axis; the
  // output projection reads the attention's rows; nothing is transposed any more.
  EXPECT_EQ(CountOps(after, OpKind::kTranspose), 0) << text;
  EXPECT_EQ(CountOps(after, OpKind::kSlice), 3) << text;
  EXPECT_NE(text.find("gemm(%x, %w) {trans_b=true, epilogue=[bias(%b)]} : f32[N,5,48]"), std::string::npos) << text;
  EXPECT_NE(text.find("slice(%lin_rows) {starts=[16], ends=[32], axes=[-1]} : f32[N,5,16]"), std::string::npos)
      << text;
  ExpectNumericallyEquivalent(*before, after, 1e-6, 1e-6);
}

TEST(FoldViewsTest, TransposePairsCancelAndChainsBecomeOneTranspose) {
  Graph g = ParseVerified(R"(graph @g(%x: f32[N,4,6]) -> (%same, %one) where N in [1, 4] {
  %a = transpose(%x) {perm=[0,2,1]} : f32[N,6,4]
  %r = reshape(%a) {shape=[N,2,3,4]} : f32[N,2,3,4]
  %r2 = reshape(%r) {shape=[N,6,4]} : f32[N,6,4]
  %b = transpose(%r2) {perm=[0,2,1]} : f32[N,4,6]
  %same = relu(%b) : f32[N,4,6]
  %c = transpose(%x) {perm=[1,0,2]} : f32[4,N,6]
  %d = transpose(%c) {perm=[0,2,1]} : f32[4,6,N]
  %one = relu(%d) : f32[4,6,N]
})");
  std::unique_ptr<Graph> before = g.Clone();
  Graph after = Folded(std::move(g));
  const std::string text = PrintGraph(after);
  EXPECT_NE(text.find("%same = relu(%x)"), std::string::npos) << text;
  EXPECT_EQ(CountOps(after, OpKind::kTranspose), 1) << text;
  EXPECT_NE(text.find("transpose(%x) {perm=[1,2,0]} : f32[4,6,N]"), std::string::npos) << text;
  ExpectNumericallyEquivalent(*before, after, 0, 0);
}

TEST(FoldViewsTest, BiasAddsAndConstantSelectsFoldToo) {
  // ONNX exports: the projection's bias is a separate add after the transpose, and q, k, v are
  // picked by gather with a constant index.
  Graph g = ParseVerified(R"(graph @g(%x: f32[N,5,16]) -> (%y) where N in [1, 3] {
  %t = transpose(%x) {perm=[1,0,2]} : f32[5,N,16]
  %w = weight "w" : f32[16,48]
  %p = gemm(%t, %w) : f32[5,N,48]
  %b = weight "b" : f32[48]
  %pb = add(%p, %b) : f32[5,N,48]
  %r = reshape(%pb) {shape=[5,N,3,16]} : f32[5,N,3,16]
  %t3 = transpose(%r) {perm=[2,0,1,3]} : f32[3,5,N,16]
  %i = constant [1] : i64[]
  %k = gather(%t3, %i) : f32[5,N,16]
  %kt = transpose(%k) {perm=[1,0,2]} : f32[N,5,16]
  %y = relu(%kt) : f32[N,5,16]
})");
  std::unique_ptr<Graph> before = g.Clone();
  Graph after = Folded(std::move(g));
  const std::string text = PrintGraph(after);
  EXPECT_EQ(CountOps(after, OpKind::kTranspose), 0) << text;
  EXPECT_EQ(CountOps(after, OpKind::kGather), 0) << text;
  EXPECT_NE(text.find("add(%p_rows, %b) : f32[N,5,48]"), std::string::npos) << text;
  EXPECT_NE(text.find("{starts=[16], ends=[32], axes=[-1]} : f32[N,5,16]"), std::string::npos) << text;
  ExpectNumericallyEquivalent(*before, after, 1e-6, 1e-6);
}

TEST(FoldViewsTest, LeavesChainsThatCannotGetCheaper) {
  // One layout op; a slice of a leading axis (not the last: kept); a strided slice; a transpose
  // pair whose middle value is also read elsewhere still folds only where it saves a copy.
  Graph g = ParseVerified(R"(graph @g(%x: f32[6,4,8]) -> (%a, %b, %c) {
  %t = transpose(%x) {perm=[1,0,2]} : f32[4,6,8]
  %a = relu(%t) : f32[4,6,8]
  %s = slice(%x) {starts=[2], ends=[5], axes=[0]} : f32[3,4,8]
  %st = transpose(%s) {perm=[0,2,1]} : f32[3,8,4]
  %b = relu(%st) : f32[3,8,4]
  %e = slice(%x) {starts=[0], ends=[8], axes=[2], steps=[2]} : f32[6,4,4]
  %et = transpose(%e) {perm=[1,0,2]} : f32[4,6,4]
  %c = relu(%et) : f32[4,6,4]
})");
  ExpectNoChange<FoldViewsPass>(g);
}

}  // namespace
}  // namespace kiln
