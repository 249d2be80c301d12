#include "passes/fuse_elementwise.h"

#include <gtest/gtest.h>

#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/pass_test_util.h"

namespace kiln {
namespace {

// Runs the pass, expects a change, exactly the same values as before (bodies run the same ops in
// the same order, so tolerance 0) and a graph that prints and parses back to itself.
void ExpectFuses(Graph& g) {
  std::unique_ptr<Graph> before = g.Clone();
  FuseElementwisePass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  ExpectNumericallyEquivalent(*before, g, 0.0, 0.0);
  const std::string text = PrintGraph(g);
  StatusOr<Graph> reparsed = ParseGraph(text, "<fused>");
  ASSERT_TRUE(reparsed.ok()) << reparsed.status().ToString() << "\n" << text;
  EXPECT_TRUE(Verify(*reparsed).ok());
  std::string why;
  EXPECT_TRUE(StructurallyEqual(g, *reparsed, &why)) << why;
  EXPECT_EQ(PrintGraph(*reparsed), text);
}

TEST(FuseElementwiseTest, ChainBecomesOneFusionWithItsConstant) {
  Graph g = ParseVerified(R"(
graph @g(%x: f32[N,4], %b: f32[4]) -> (%y) where N in [1, 8] {
  %two = constant [2.0] : f32[]
  %a = add(%x, %b) : f32[N,4]
  %m = mul(%a, %two) : f32[N,4]
  %y = relu(%m) : f32[N,4]
})");
  ExpectFuses(g);
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[N,4], %b: f32[4]) -> (%y) where N in [1, 8] {\n"
            "  %y = fusion(%x, %b) {body=graph @fused_0(%p0: f32[N,4], %p1: f32[4]) -> (%y) {\n"
            "    %two = constant [2.0] : f32[]\n"
            "    %a = add(%p0, %p1) : f32[N,4]\n"
            "    %m = mul(%a, %two) : f32[N,4]\n"
            "    %y = relu(%m) : f32[N,4]\n"
            "  }} : f32[N,4]\n"
            "}\n");
  // The body is a graph of its own: it verifies, and it inherits the parent's symbols.
  const Graph& body = g.nodes()[0]->GetGraph("body");
  EXPECT_TRUE(Verify(body).ok());
  EXPECT_EQ(body.symbols(), g.symbols());
  // A second run finds only the fusion node (opaque): nothing to do.
  ExpectNoChange<FuseElementwisePass>(g);
}

TEST(FuseElementwiseTest, ValuesUsedOutsideEscapeAsExtraResults) {
  // %e0 feeds softmax and %t is a graph output read inside the group too: both escape.
  Graph g = ParseVerified(R"(
graph @g(%x: f32[2,3]) -> (%t, %y, %s) {
  %e0 = exp(%x) : f32[2,3]
  %t = tanh(%e0) : f32[2,3]
  %n = neg(%t) : f32[2,3]
  %y = sigmoid(%n) : f32[2,3]
  %f = softmax(%e0) : f32[2,3]
  %s = add(%f, %x) : f32[2,3]
})");
  ExpectFuses(g);
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[2,3]) -> (%t, %y, %s) {\n"
            "  %e0, %t, %y = fusion(%x) {body=graph @fused_0(%p0: f32[2,3]) -> (%e0, %t, %y) {\n"
            "    %e0 = exp(%p0) : f32[2,3]\n"
            "    %t = tanh(%e0) : f32[2,3]\n"
            "    %n = neg(%t) : f32[2,3]\n"
            "    %y = sigmoid(%n) : f32[2,3]\n"
            "  }} : f32[2,3], f32[2,3], f32[2,3]\n"
            "  %f = softmax(%e0) : f32[2,3]\n"
            "  %s = add(%f, %x) : f32[2,3]\n"
            "}\n");
}

TEST(FuseElementwiseTest, SingleOpsAndAlmostChainsStayAsTheyAre) {
  // Every elementwise op is alone between non-fusible ops; dead chains are left for DCE.
  Graph g = ParseVerified(R"(
graph @g(%x: f32[N,4]) -> (%y) where N in [1, 8] {
  %a = relu(%x) : f32[N,4]
  %s = softmax(%a) : f32[N,4]
  %y = exp(%s) : f32[N,4]
  %dead1 = neg(%y) : f32[N,4]
  %dead2 = abs(%dead1) : f32[N,4]
})");
  ExpectNoChange<FuseElementwisePass>(g);
}

TEST(FuseElementwiseTest, DiamondThroughNonFusibleOpIsNotContracted) {
  // abs -> {softmax, add}: {abs, add} would leave through softmax and come back (a cycle once
  // contracted), so they stay apart; the tanh after add still joins add.
  Graph g = ParseVerified(R"(
graph @g(%x: f32[2,4]) -> (%y) {
  %d0 = abs(%x) : f32[2,4]
  %d1 = softmax(%d0) : f32[2,4]
  %d = add(%d0, %d1) : f32[2,4]
  %y = tanh(%d) : f32[2,4]
})");
  ExpectFuses(g);
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[2,4]) -> (%y) {\n"
            "  %d0 = abs(%x) : f32[2,4]\n"
            "  %d1 = softmax(%d0) : f32[2,4]\n"
            "  %y = fusion(%d0, %d1) {body=graph @fused_0(%p0: f32[2,4], %p1: f32[2,4]) -> (%y) {\n"
            "    %d = add(%p0, %p1) : f32[2,4]\n"
            "    %y = tanh(%d) : f32[2,4]\n"
            "  }} : f32[2,4]\n"
            "}\n");
}

TEST(FuseElementwiseTest, DiamondOfFusibleOpsIsOneGroup) {
  // Both sides elementwise: everything joins, %x is read once as %p0.
  Graph g = ParseVerified(R"(
graph @g(%x: f32[3]) -> (%y) {
  %a = exp(%x) : f32[3]
  %b = neg(%x) : f32[3]
  %y = mul(%a, %b) : f32[3]
})");
  ExpectFuses(g);
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[3]) -> (%y) {\n"
            "  %y = fusion(%x) {body=graph @fused_0(%p0: f32[3]) -> (%y) {\n"
            "    %a = exp(%p0) : f32[3]\n"
            "    %b = neg(%p0) : f32[3]\n"
            "    %y = mul(%a, %b) : f32[3]\n"
            "  }} : f32[3]\n"
            "}\n");
}

TEST(FuseElementwiseTest, SharedConstantsAndWeightsStayOutside) {
  // %c is also read by the lone sub outside the group: it stays an operand. The weight stays by
  // reference. Operands come in first-use order.
  Graph g = ParseVerified(R"(
graph @g(%x: f32[N,4], %z: f32[N,4]) -> (%y, %o) where N in [1, 8] {
  %c = constant [0.5, 1.0, 1.5, 2.0] : f32[4]
  %w = weight "scale" : f32[4]
  %h = softmax(%z) : f32[N,4]
  %a = mul(%x, %w) : f32[N,4]
  %y = add(%a, %c) : f32[N,4]
  %o = sub(%h, %c) : f32[N,4]
})");
  ExpectFuses(g);
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[N,4], %z: f32[N,4]) -> (%y, %o) where N in [1, 8] {\n"
            "  %c = constant [0.5, 1.0, 1.5, 2.0] : f32[4]\n"
            "  %w = weight \"scale\" : f32[4]\n"
            "  %h = softmax(%z) : f32[N,4]\n"
            "  %y = fusion(%x, %w, %c) {body=graph @fused_0(%p0: f32[N,4], %p1: f32[4], "
            "%p2: f32[4]) -> (%y) {\n"
            "    %a = mul(%p0, %p1) : f32[N,4]\n"
            "    %y = add(%a, %p2) : f32[N,4]\n"
            "  }} : f32[N,4]\n"
            "  %o = sub(%h, %c) : f32[N,4]\n"
            "}\n");
}

TEST(FuseElementwiseTest, NodesTheGroupReadsMoveUpBeforeTheFusion) {
  // The gemm between the group's two ops feeds the second one; the fusion takes the first op's
  // place, so the gemm (and its weight) move up; the softmax, which reads the group, stays after.
  Graph g = ParseVerified(R"(
graph @g(%x: f32[N,4], %z: f32[N,4]) -> (%y, %s) where N in [1, 8] {
  %u0 = sigmoid(%x) : f32[N,4]
  %s = softmax(%u0) : f32[N,4]
  %w = weight "w" : f32[4,4]
  %g = gemm(%z, %w) : f32[N,4]
  %y = mul(%u0, %g) : f32[N,4]
})");
  ExpectFuses(g);
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[N,4], %z: f32[N,4]) -> (%y, %s) where N in [1, 8] {\n"
            "  %w = weight \"w\" : f32[4,4]\n"
            "  %g = gemm(%z, %w) : f32[N,4]\n"
            "  %u0, %y = fusion(%x, %g) {body=graph @fused_0(%p0: f32[N,4], %p1: f32[N,4]) -> "
            "(%u0, %y) {\n"
            "    %u0 = sigmoid(%p0) : f32[N,4]\n"
            "    %y = mul(%u0, %p1) : f32[N,4]\n"
            "  }} : f32[N,4], f32[N,4]\n"
            "  %s = softmax(%u0) : f32[N,4]\n"
            "}\n");
}

TEST(FuseElementwiseTest, SymbolicDimsAndBroadcastsKeepTheirTypes) {
  // BERT's attention-mask arithmetic: i64 [N,S] mask -> f32, (1 - m) * big, broadcast into the
  // [N,H,S,S] scores. Body inputs keep the symbolic types; the result is f32[N,2,S,S].
  Graph g = ParseVerified(R"(
graph @g(%mask: i64[N,S], %scores: f32[N,2,S,S]) -> (%y) where N in [1, 4], S in [2, 16] {
  %one = constant [1.0] : f32[]
  %big = constant [-10000.0] : f32[]
  %m = cast(%mask) {to=f32} : f32[N,S]
  %inv = sub(%one, %m) : f32[N,S]
  %add = mul(%inv, %big) : f32[N,S]
  %u = unsqueeze(%add) {axes=[1,2]} : f32[N,1,1,S]
  %y0 = add(%scores, %u) : f32[N,2,S,S]
  %y = tanh(%y0) : f32[N,2,S,S]
})");
  ExpectFuses(g);
  ASSERT_EQ(CountOps(g, OpKind::kFusion), 2);
  const Node& first = *g.nodes()[0];
  ASSERT_EQ(first.op(), OpKind::kFusion);
  const Graph& body = first.GetGraph("body");
  EXPECT_EQ(body.name(), "fused_0");
  ASSERT_EQ(body.inputs().size(), 1u);
  EXPECT_EQ(body.inputs()[0]->type().ToString(), "i64[N,S]");
  EXPECT_EQ(body.nodes().size(), 5u);  // two constants, cast, sub, mul
  EXPECT_EQ(first.output()->name(), "add");
  EXPECT_EQ(first.output()->type().ToString(), "f32[N,S]");
  const Node& second = *g.nodes().back();
  ASSERT_EQ(second.op(), OpKind::kFusion);
  EXPECT_EQ(second.GetGraph("body").name(), "fused_1");
  EXPECT_EQ(PrintNode(second),
            "%y = fusion(%scores, %u) {body=graph @fused_1(%p0: f32[N,2,S,S], %p1: f32[N,1,1,S]) "
            "-> (%y) {\n"
            "  %y0 = add(%p0, %p1) : f32[N,2,S,S]\n"
            "  %y = tanh(%y0) : f32[N,2,S,S]\n"
            "}} : f32[N,2,S,S]");
}

TEST(FuseElementwiseTest, GroupsWhoseBodyCannotBindItsSymbolsStay) {
  // The body would see only [N*S] values: the interpreter could not bind N and S from them.
  Graph g = ParseVerified(R"(
graph @g(%x: f32[N,S]) -> (%y) where N in [1, 4], S in [1, 4] {
  %r = reshape(%x) {shape=[N*S]} : f32[N*S]
  %a = exp(%r) : f32[N*S]
  %y = neg(%a) : f32[N*S]
})");
  ExpectNoChange<FuseElementwisePass>(g);
}

TEST(FuseElementwiseTest, BodyNamesAndInputNamesDoNotClash) {
  // A fusion @fused_0 exists already, and a value is called %p0: the new body is @fused_1 and
  // renames its copy of %p0.
  Graph g = ParseVerified(R"(
graph @g(%x: f32[3]) -> (%a, %y) {
  %a = fusion(%x) {body=graph @fused_0(%p0: f32[3]) -> (%q) {
    %q = relu(%p0) : f32[3]
  }} : f32[3]
  %p0 = exp(%a) : f32[3]
  %y = neg(%p0) : f32[3]
})");
  ExpectFuses(g);
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[3]) -> (%a, %y) {\n"
            "  %a = fusion(%x) {body=graph @fused_0(%p0: f32[3]) -> (%q) {\n"
            "    %q = relu(%p0) : f32[3]\n"
            "  }} : f32[3]\n"
            "  %y = fusion(%a) {body=graph @fused_1(%p0: f32[3]) -> (%y) {\n"
            "    %p0_1 = exp(%p0) : f32[3]\n"
            "    %y = neg(%p0_1) : f32[3]\n"
            "  }} : f32[3]\n"
            "}\n");
}

TEST(FuseElementwiseTest, SiblingsReadingOneValueMergeHorizontally) {
  // relu(%x) and the chain exp -> mul over %x are separate vertical groups that share %x; the
  // two readers of %z share it too, and the bias %b alone joins nothing.
  Graph g = ParseVerified(R"(
graph @g(%x: f32[N,4], %z: f32[N,4], %u: f32[N,4], %b: f32[4]) -> (%r1, %r2, %s, %c1, %c2, %w) where N in [1, 8] {
  %r1 = relu(%x) : f32[N,4]
  %e = exp(%x) : f32[N,4]
  %r2 = mul(%e, %x) : f32[N,4]
  %s = softmax(%z) : f32[N,4]
  %c1 = add(%z, %b) : f32[N,4]
  %t = neg(%s) : f32[N,4]
  %c2 = sub(%t, %z) : f32[N,4]
  %w = add(%u, %b) : f32[N,4]
})");
  ExpectFuses(g);
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[N,4], %z: f32[N,4], %u: f32[N,4], %b: f32[4]) -> (%r1, %r2, %s, "
            "%c1, %c2, %w) where N in [1, 8] {\n"
            "  %r1, %r2 = fusion(%x) {body=graph @fused_0(%p0: f32[N,4]) -> (%r1, %r2) {\n"
            "    %r1 = relu(%p0) : f32[N,4]\n"
            "    %e = exp(%p0) : f32[N,4]\n"
            "    %r2 = mul(%e, %p0) : f32[N,4]\n"
            "  }} : f32[N,4], f32[N,4]\n"
            "  %s = softmax(%z) : f32[N,4]\n"
            "  %c1, %c2 = fusion(%z, %b, %s) {body=graph @fused_1(%p0: f32[N,4], %p1: f32[4], "
            "%p2: f32[N,4]) -> (%c1, %c2) {\n"
            "    %c1 = add(%p0, %p1) : f32[N,4]\n"
            "    %t = neg(%p2) : f32[N,4]\n"
            "    %c2 = sub(%t, %p0) : f32[N,4]\n"
            "  }} : f32[N,4], f32[N,4]\n"
            "  %w = add(%u, %b) : f32[N,4]\n"
            "}\n");
  ExpectNoChange<FuseElementwisePass>(g);
}

TEST(FuseElementwiseTest, SiblingsOfDifferentShapesOrOnAPathStaySeparate) {
  // %a and %c read %x, but %c also reads softmax(%a): one node would be a cycle. %n and %d read
  // %v, which %d only broadcasts: their iteration shapes differ.
  Graph g = ParseVerified(R"(
graph @g(%x: f32[N,4], %v: f32[4], %m: f32[N,4]) -> (%c, %n, %d) where N in [1, 8] {
  %a = exp(%x) : f32[N,4]
  %s = softmax(%a) : f32[N,4]
  %c = add(%x, %s) : f32[N,4]
  %n = neg(%v) : f32[4]
  %d = add(%m, %v) : f32[N,4]
})");
  ExpectNoChange<FuseElementwisePass>(g);
}

TEST(FuseElementwiseTest, IsRegistered) {
  std::unique_ptr<Pass> pass = CreatePass("fuse-elementwise");
  ASSERT_NE(pass, nullptr);
  EXPECT_EQ(pass->name(), "fuse-elementwise");
}

}  // namespace
}  // namespace kiln
