#include "passes/recognize_attention.h"

#include <gtest/gtest.h>

#include <string>

#include "passes/pass_test_util.h"
#include "passes/pipeline.h"

namespace kiln {
namespace {

// Graph header shared by the tests: BSHD q/k/v with symbolic batch N and sequence S, H=2 heads,
// D=4, Dv=3, and a key-padding style mask [N,1,1,S].
constexpr const char* kHeader =
    "graph @g(%q: f32[N,S,2,4], %k: f32[N,S,2,4], %v: f32[N,S,2,3], %m: f32[N,1,1,S]) -> (%y) "
    "where N in [1, 4], S in [1, 8] {\n";

// The BHSD head of the pattern: q4, k4, v4.
constexpr const char* kTransposes =
    "  %q4 = transpose(%q) {perm=[0,2,1,3]} : f32[N,2,S,4]\n"
    "  %k4 = transpose(%k) {perm=[0,2,1,3]} : f32[N,2,S,4]\n"
    "  %v4 = transpose(%v) {perm=[0,2,1,3]} : f32[N,2,S,3]\n";

// The tail: softmax over the keys of `scores`, @ v4, back to BSHD.
std::string Tail(const std::string& scores) {
  return "  %p = softmax(%" + scores + ") {axis=-1} : f32[N,2,S,S]\n" +
         "  %o = gemm(%p, %v4) : f32[N,2,S,3]\n" +
         "  %y = transpose(%o) {perm=[0,2,1,3]} : f32[N,S,2,3]\n}\n";
}

// Runs the pass, expects a change, the same values as before (the attention op accumulates the
// scores in f32/f64 where the chain stored f32 intermediates, so allow f32 rounding), and a graph
// that prints and parses back to itself.
void ExpectRecognized(Graph& g, const std::string& expected) {
  std::unique_ptr<Graph> before = g.Clone();
  RecognizeAttentionPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  EXPECT_EQ(PrintGraph(g), expected);
  ExpectNumericallyEquivalent(*before, g, 1e-5, 1e-6);
  Graph reparsed = ParseVerified(PrintGraph(g));
  EXPECT_EQ(PrintGraph(reparsed), PrintGraph(g));
  // A second run finds no softmax chain left.
  EXPECT_FALSE(RunPassChecked(pass, g));
}

void ExpectNoChange(const std::string& text) {
  Graph g = ParseVerified(text);
  RecognizeAttentionPass pass;
  EXPECT_FALSE(RunPassChecked(pass, g)) << text;
}

TEST(RecognizeAttentionTest, MulScaleAndMaskBecomeOneNode) {
  Graph g = ParseVerified(std::string(kHeader) + kTransposes +
                          "  %s = gemm(%q4, %k4) {trans_b=true} : f32[N,2,S,S]\n"
                          "  %c = constant [0.5] : f32[]\n"
                          "  %sc = mul(%s, %c) : f32[N,2,S,S]\n"
                          "  %sm = add(%sc, %m) : f32[N,2,S,S]\n" +
                          Tail("sm"));
  ExpectRecognized(
      g, std::string(kHeader) + "  %y = attention(%q, %k, %v, %m) {scale=0.5} : f32[N,S,2,3]\n}\n");
}

TEST(RecognizeAttentionTest, AlphaScaleWithoutMaskAndMaskFirstInAdd) {
  // No mask: alpha is the whole scale.
  Graph g = ParseVerified(std::string(kHeader) + kTransposes +
                          "  %s = gemm(%q4, %k4) {trans_b=true, alpha=0.25} : f32[N,2,S,S]\n" +
                          Tail("s"));
  ExpectRecognized(
      g, std::string(kHeader) + "  %y = attention(%q, %k, %v) {scale=0.25} : f32[N,S,2,3]\n}\n");
  // Alpha and a scalar mul combine; the mask may be add's first operand.
  Graph h = ParseVerified(std::string(kHeader) + kTransposes +
                          "  %s = gemm(%q4, %k4) {trans_b=true, alpha=0.5} : f32[N,2,S,S]\n"
                          "  %c = constant [3.0] : f32[1,1]\n"
                          "  %sc = mul(%c, %s) : f32[N,2,S,S]\n"
                          "  %sm = add(%m, %sc) : f32[N,2,S,S]\n" +
                          Tail("sm"));
  ExpectRecognized(
      h, std::string(kHeader) + "  %y = attention(%q, %k, %v, %m) {scale=1.5} : f32[N,S,2,3]\n}\n");
}

TEST(RecognizeAttentionTest, NoScaleStoresOneNotTheDefault) {
  // attention's scale=0 would mean 1/sqrt(D); the chain had no scale, so 1.0 is stored.
  Graph g = ParseVerified(std::string(kHeader) + kTransposes +
                          "  %s = gemm(%q4, %k4) {trans_b=true} : f32[N,2,S,S]\n" + Tail("s"));
  ExpectRecognized(
      g, std::string(kHeader) + "  %y = attention(%q, %k, %v) {scale=1.0} : f32[N,S,2,3]\n}\n");
}

TEST(RecognizeAttentionTest, DivScaleAndExplicitKeyTranspose) {
  // PyTorch's q @ k.transpose(-2, -1) / sqrt(d): an explicit k4^T and a div.
  Graph g = ParseVerified(std::string(kHeader) + kTransposes +
                          "  %kt = transpose(%k4) {perm=[0,1,3,2]} : f32[N,2,4,S]\n"
                          "  %s = gemm(%q4, %kt) : f32[N,2,S,S]\n"
                          "  %c = constant [2.0] : f32[]\n"
                          "  %sc = div(%s, %c) : f32[N,2,S,S]\n"
                          "  %sm = add(%sc, %m) : f32[N,2,S,S]\n" +
                          Tail("sm"));
  ExpectRecognized(
      g, std::string(kHeader) + "  %y = attention(%q, %k, %v, %m) {scale=0.5} : f32[N,S,2,3]\n}\n");
}

TEST(RecognizeAttentionTest, SimplifiedKeyTransposeAndPrescaledQuery) {
  // After simplification the two key transposes are one transpose(K, [0,2,3,1]); q is scaled
  // before its transpose (ONNX exports of SDPA scale q and k by sqrt(scale) each; here only q).
  const std::string header =
      "graph @g(%q: f32[N,S,2,4], %k: f32[N,S,2,4], %v: f32[N,S,2,3]) -> (%y) "
      "where N in [1, 4], S in [1, 8] {\n";
  Graph g = ParseVerified(header +
                          "  %c = constant [0.125] : f32[]\n"
                          "  %qs = mul(%q, %c) : f32[N,S,2,4]\n"
                          "  %q4 = transpose(%qs) {perm=[0,2,1,3]} : f32[N,2,S,4]\n"
                          "  %kt = transpose(%k) {perm=[0,2,3,1]} : f32[N,2,4,S]\n"
                          "  %v4 = transpose(%v) {perm=[0,2,1,3]} : f32[N,2,S,3]\n"
                          "  %s = gemm(%q4, %kt) {alpha=2.0} : f32[N,2,S,S]\n" +
                          Tail("s"));
  ExpectRecognized(g, header + "  %y = attention(%q, %k, %v) {scale=0.25} : f32[N,S,2,3]\n}\n");
}

TEST(RecognizeAttentionTest, BhsdConsumerGetsATransposeBack) {
  // The BHSD result %o is the graph output (no transpose back): attention, then a transpose
  // [0,2,1,3] that keeps the name %o. %q4 has a second user and therefore stays.
  const std::string header =
      "graph @g(%q: f32[N,S,2,4], %k: f32[N,S,2,4], %v: f32[N,S,2,3]) -> (%o, %r) "
      "where N in [1, 4], S in [1, 8] {\n";
  Graph g = ParseVerified(header + kTransposes +
                          "  %r = relu(%q4) : f32[N,2,S,4]\n"
                          "  %s = gemm(%q4, %k4) {trans_b=true} : f32[N,2,S,S]\n"
                          "  %c = constant [0.5] : f32[]\n"
                          "  %sc = mul(%s, %c) : f32[N,2,S,S]\n"
                          "  %p = softmax(%sc) {axis=-1} : f32[N,2,S,S]\n"
                          "  %o = gemm(%p, %v4) : f32[N,2,S,3]\n}\n");
  ExpectRecognized(g, header +
                          "  %q4 = transpose(%q) {perm=[0,2,1,3]} : f32[N,2,S,4]\n"
                          "  %r = relu(%q4) : f32[N,2,S,4]\n"
                          "  %o.attn = attention(%q, %k, %v) {scale=0.5} : f32[N,S,2,3]\n"
                          "  %o = transpose(%o.attn) {perm=[0,2,1,3]} : f32[N,2,S,3]\n}\n");
}

TEST(RecognizeAttentionTest, SharedIntermediatesAndNearMissesAreLeftAlone) {
  const std::string head =
      std::string(kTransposes) + "  %s = gemm(%q4, %k4) {trans_b=true} : f32[N,2,S,S]\n";
  // The probabilities have a second user (e.g. returned attention weights).
  ExpectNoChange(
      "graph @g(%q: f32[N,S,2,4], %k: f32[N,S,2,4], %v: f32[N,S,2,3]) -> (%y, %e) "
      "where N in [1, 4], S in [1, 8] {\n" +
      head + "  %p = softmax(%s) {axis=-1} : f32[N,2,S,S]\n  %e = exp(%p) : f32[N,2,S,S]\n" +
      "  %o = gemm(%p, %v4) : f32[N,2,S,3]\n"
      "  %y = transpose(%o) {perm=[0,2,1,3]} : f32[N,S,2,3]\n}\n");
  // The scores are a graph output.
  ExpectNoChange(
      "graph @g(%q: f32[N,S,2,4], %k: f32[N,S,2,4], %v: f32[N,S,2,3]) -> (%y, %s) "
      "where N in [1, 4], S in [1, 8] {\n" +
      head + Tail("s"));
  // Softmax over the query axis is not attention.
  ExpectNoChange(
      "graph @g(%q: f32[N,S,2,4], %k: f32[N,S,2,4], %v: f32[N,S,2,3]) -> (%y) "
      "where N in [1, 4], S in [1, 8] {\n" +
      head + "  %p = softmax(%s) {axis=2} : f32[N,2,S,S]\n" +
      "  %o = gemm(%p, %v4) : f32[N,2,S,3]\n"
      "  %y = transpose(%o) {perm=[0,2,1,3]} : f32[N,S,2,3]\n}\n");
  // Scaled by a non-constant (a learned temperature input) is not a recognised scale.
  ExpectNoChange(
      "graph @g(%q: f32[N,S,2,4], %k: f32[N,S,2,4], %v: f32[N,S,2,3], %t: f32[]) -> (%y) "
      "where N in [1, 4], S in [1, 8] {\n" +
      head + "  %sc = mul(%s, %t) : f32[N,2,S,S]\n" + Tail("sc"));
  // Heads broadcast in the gemm (k has one head): not matched (no grouped-query recognition).
  ExpectNoChange(
      "graph @g(%q: f32[N,S,2,4], %k: f32[N,S,1,4], %v: f32[N,S,2,3]) -> (%y) "
      "where N in [1, 4], S in [1, 8] {\n"
      "  %q4 = transpose(%q) {perm=[0,2,1,3]} : f32[N,2,S,4]\n"
      "  %k4 = transpose(%k) {perm=[0,2,1,3]} : f32[N,1,S,4]\n"
      "  %v4 = transpose(%v) {perm=[0,2,1,3]} : f32[N,2,S,3]\n"
      "  %s = gemm(%q4, %k4) {trans_b=true} : f32[N,2,S,S]\n" +
      Tail("s"));
}

TEST(RecognizeAttentionTest, DefaultPipelineKeepsTheAttentionNode) {
  // In the pipeline the scale mul and mask add reach this pass before fuse-epilogue and
  // fuse-elementwise could absorb them; the double key transpose is merged by simplification.
  Graph g = ParseVerified(std::string(kHeader) + kTransposes +
                          "  %kt = transpose(%k4) {perm=[0,1,3,2]} : f32[N,2,4,S]\n"
                          "  %s = gemm(%q4, %kt) : f32[N,2,S,S]\n"
                          "  %c = constant [0.5] : f32[]\n"
                          "  %sc = mul(%s, %c) : f32[N,2,S,S]\n"
                          "  %sm = add(%sc, %m) : f32[N,2,S,S]\n" +
                          Tail("sm"));
  std::unique_ptr<Graph> before = g.Clone();
  StatusOr<bool> changed = DefaultPipeline().Run(g, {.verify_each = true, .dump_dir = ""});
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_TRUE(*changed);
  EXPECT_EQ(PrintGraph(g), std::string(kHeader) +
                               "  %y = attention(%q, %k, %v, %m) {scale=0.5} : f32[N,S,2,3]\n}\n");
  ExpectNumericallyEquivalent(*before, g, 1e-5, 1e-6);
}

}  // namespace
}  // namespace kiln
