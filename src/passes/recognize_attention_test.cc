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

TEST(RecognizeAttentionTest, QueryAndKeyEachScaledBySqrtScale) {
  // The ONNX exporter's SDPA: q and k^T each multiplied by sqrt(scale) before the scores gemm.
  const std::string header =
      "graph @g(%q: f32[N,S,2,4], %k: f32[N,S,2,4], %v: f32[N,S,2,3]) -> (%y) "
      "where N in [1, 4], S in [1, 8] {\n";
  Graph g = ParseVerified(header +
                          "  %c = constant [0.5] : f32[1]\n"
                          "  %q4 = transpose(%q) {perm=[0,2,1,3]} : f32[N,2,S,4]\n"
                          "  %qs = mul(%q4, %c) : f32[N,2,S,4]\n"
                          "  %kt = transpose(%k) {perm=[0,2,3,1]} : f32[N,2,4,S]\n"
                          "  %ks = mul(%kt, %c) : f32[N,2,4,S]\n"
                          "  %v4 = transpose(%v) {perm=[0,2,1,3]} : f32[N,2,S,3]\n"
                          "  %s = gemm(%qs, %ks) : f32[N,2,S,S]\n" +
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

// ---- causal masks and grouped-query heads

// "[v(0,0), v(0,1), ...]" over a rows x cols matrix, for constant values.
template <typename F>
std::string MatrixValues(int rows, int cols, F value) {
  std::string out = "[";
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) out += (out.size() > 1 ? ", " : "") + value(i, j);
  }
  return out + "]";
}
std::string Tril(int rows, int cols, int offset = 0) {
  return MatrixValues(rows, cols,
                      [&](int i, int j) { return std::string(j <= i + offset ? "1" : "0"); });
}

// Static shapes: Sq queries, Sk keys, H=2 heads, D=3. The scores are scaled by 0.5.
std::string StaticHeader(int sq, int sk, const std::string& extra_inputs = "") {
  const std::string q = "f32[2," + std::to_string(sq) + ",2,3]";
  const std::string kv = "f32[2," + std::to_string(sk) + ",2,3]";
  return "graph @g(%q: " + q + ", %k: " + kv + ", %v: " + kv + extra_inputs + ") -> (%y) {\n";
}
std::string StaticScores(int sq, int sk) {
  const std::string s = "f32[2,2," + std::to_string(sq) + "," + std::to_string(sk) + "]";
  return "  %q4 = transpose(%q) {perm=[0,2,1,3]} : f32[2,2," + std::to_string(sq) + ",3]\n" +
         "  %k4 = transpose(%k) {perm=[0,2,1,3]} : f32[2,2," + std::to_string(sk) + ",3]\n" +
         "  %v4 = transpose(%v) {perm=[0,2,1,3]} : f32[2,2," + std::to_string(sk) + ",3]\n" +
         "  %s = gemm(%q4, %k4) {trans_b=true, alpha=0.5} : " + s + "\n";
}
std::string StaticTail(int sq, int sk, const std::string& scores) {
  const std::string s = "f32[2,2," + std::to_string(sq) + "," + std::to_string(sk) + "]";
  return "  %p = softmax(%" + scores + ") : " + s + "\n" +
         "  %o = gemm(%p, %v4) : f32[2,2," + std::to_string(sq) + ",3]\n" +
         "  %y = transpose(%o) {perm=[0,2,1,3]} : f32[2," + std::to_string(sq) + ",2,3]\n}\n";
}
std::string CausalResult(int sq, const std::string& operands = "%q, %k, %v") {
  return "  %y = attention(" + operands + ") {causal=true, scale=0.5} : f32[2," +
         std::to_string(sq) + ",2,3]\n}\n";
}

TEST(RecognizeAttentionTest, WhereWithTrilConstantIsCausal) {
  Graph g = ParseVerified(StaticHeader(4, 4) + StaticScores(4, 4) +
                          "  %tril = constant " + Tril(4, 4) + " : bool[4,4]\n"
                          "  %ninf = constant [-inf] : f32[]\n"
                          "  %c = where(%tril, %s, %ninf) : f32[2,2,4,4]\n" +
                          StaticTail(4, 4, "c"));
  ExpectRecognized(g, StaticHeader(4, 4) + CausalResult(4));
}

TEST(RecognizeAttentionTest, CausalConditionFromComparedIndexConstants) {
  // keep = cols <= rows (iota constants, as a traced arange comparison folds to), fill = f32's
  // lowest value (HF's finfo.min); and the inverted form where(cols > rows, fill, s).
  const std::string iotas =
      "  %rows = constant [0, 1, 2, 3, 4] : i64[5,1]\n"
      "  %cols = constant [0, 1, 2, 3, 4] : i64[1,5]\n"
      "  %lowest = constant [-3.4028234663852886e+38] : f32[1]\n";
  Graph g = ParseVerified(StaticHeader(5, 5) + StaticScores(5, 5) + iotas +
                          "  %keep = less_equal(%cols, %rows) : bool[5,5]\n"
                          "  %c = where(%keep, %s, %lowest) : f32[2,2,5,5]\n" +
                          StaticTail(5, 5, "c"));
  ExpectRecognized(g, StaticHeader(5, 5) + CausalResult(5));
  Graph h = ParseVerified(StaticHeader(5, 5) + StaticScores(5, 5) + iotas +
                          "  %hide = greater(%cols, %rows) : bool[5,5]\n"
                          "  %c = where(%hide, %lowest, %s) : f32[2,2,5,5]\n" +
                          StaticTail(5, 5, "c"));
  ExpectRecognized(h, StaticHeader(5, 5) + CausalResult(5));
}

TEST(RecognizeAttentionTest, AdditiveCausalMaskAndPaddingMask) {
  // A triangular 0/-inf constant mask becomes the flag; the padding mask stays an operand.
  const std::string mask = MatrixValues(3, 3, [](int i, int j) {
    return std::string(j <= i ? "0.0" : "-inf");
  });
  const std::string header = StaticHeader(3, 3, ", %m: f32[2,1,1,3]");
  Graph g = ParseVerified(header + StaticScores(3, 3) +
                          "  %cm = constant " + mask + " : f32[1,1,3,3]\n"
                          "  %c = add(%cm, %s) : f32[2,2,3,3]\n"
                          "  %cp = add(%c, %m) : f32[2,2,3,3]\n" +
                          StaticTail(3, 3, "cp"));
  ExpectRecognized(g, header + CausalResult(3, "%q, %k, %v, %m"));
}

TEST(RecognizeAttentionTest, FewerQueriesThanKeysUseTheTopLeftDiagonal) {
  // Sq=2, Sk=4: the op's causal flag hides j > i (top-left). A top-left tril matches; the
  // bottom-right one (j <= i + Sk - Sq, a KV cache's) does not, and stays as it is.
  Graph g = ParseVerified(StaticHeader(2, 4) + StaticScores(2, 4) +
                          "  %tril = constant " + Tril(2, 4) + " : bool[1,1,2,4]\n"
                          "  %ninf = constant [-1e9] : f32[]\n"
                          "  %c = where(%tril, %s, %ninf) : f32[2,2,2,4]\n" +
                          StaticTail(2, 4, "c"));
  ExpectRecognized(g, StaticHeader(2, 4) + CausalResult(2));
  ExpectNoChange(StaticHeader(2, 4) + StaticScores(2, 4) + "  %tril = constant " +
                 Tril(2, 4, 2) + " : bool[1,1,2,4]\n" +
                 "  %ninf = constant [-1e9] : f32[]\n"
                 "  %c = where(%tril, %s, %ninf) : f32[2,2,2,4]\n" +
                 StaticTail(2, 4, "c"));
}

TEST(RecognizeAttentionTest, SlicedCausalBiasWeightWithSymbolicLength) {
  // GPT-2: a registered bool buffer bias[1,1,8,8] (tril), sliced to [:, :, :S, :S].
  const std::string header =
      "graph @g(%q: f32[N,S,2,4], %k: f32[N,S,2,4], %v: f32[N,S,2,3]) -> (%y) "
      "where N in [1, 4], S in [1, 8] {\n";
  const std::string text = header + kTransposes +
                           "  %s = gemm(%q4, %k4) {trans_b=true} : f32[N,2,S,S]\n"
                           "  %bias = weight \"attn.bias\" : bool[1,1,8,8]\n"
                           "  %cm = slice(%bias) {starts=[0,0], ends=[S,S], axes=[2,3]} : "
                           "bool[1,1,S,S]\n"
                           "  %fill = constant [-inf] : f32[]\n"
                           "  %c = where(%cm, %s, %fill) : f32[N,2,S,S]\n" +
                           Tail("c");
  std::vector<double> tril, ones(64, 1.0);
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 8; ++j) tril.push_back(j <= i ? 1.0 : 0.0);
  }
  Graph g = ParseVerified(text);
  g.set_weights(std::make_shared<TensorMap>(
      TensorMap{{"attn.bias", Tensor::FromF64(DType::kBool, {1, 1, 8, 8}, tril)}}));
  ExpectRecognized(g, header +
                          "  %y = attention(%q, %k, %v) {causal=true, scale=1.0} : "
                          "f32[N,S,2,3]\n}\n");
  // The same buffer holding another pattern (all ones) is no causal mask.
  Graph h = ParseVerified(text);
  h.set_weights(std::make_shared<TensorMap>(
      TensorMap{{"attn.bias", Tensor::FromF64(DType::kBool, {1, 1, 8, 8}, ones)}}));
  RecognizeAttentionPass pass;
  EXPECT_FALSE(RunPassChecked(pass, h));
}

TEST(RecognizeAttentionTest, NonCausalMasksAreNotCausal) {
  // A triangular mask one diagonal off (j <= i + 1) stays an ordinary additive mask.
  const std::string off = MatrixValues(3, 3, [](int i, int j) {
    return std::string(j <= i + 1 ? "0.0" : "-inf");
  });
  Graph g = ParseVerified(StaticHeader(3, 3) + StaticScores(3, 3) +
                          "  %cm = constant " + off + " : f32[3,3]\n"
                          "  %c = add(%s, %cm) : f32[2,2,3,3]\n" +
                          StaticTail(3, 3, "c"));
  ExpectRecognized(g, StaticHeader(3, 3) +
                          "  %cm = constant " + off + " : f32[3,3]\n"
                          "  %y = attention(%q, %k, %v, %cm) {scale=0.5} : f32[2,3,2,3]\n}\n");
  // where with a fill that does not hide (-1.0), with a row-broadcast condition [1,3], and
  // with a condition read from an input: unchanged.
  const std::string tril = "  %tril = constant " + Tril(3, 3) + " : bool[3,3]\n";
  ExpectNoChange(StaticHeader(3, 3) + StaticScores(3, 3) + tril +
                 "  %f = constant [-1.0] : f32[]\n"
                 "  %c = where(%tril, %s, %f) : f32[2,2,3,3]\n" + StaticTail(3, 3, "c"));
  ExpectNoChange(StaticHeader(3, 3) + StaticScores(3, 3) +
                 "  %row = constant [1, 0, 0] : bool[1,3]\n"
                 "  %f = constant [-inf] : f32[]\n"
                 "  %c = where(%row, %s, %f) : f32[2,2,3,3]\n" + StaticTail(3, 3, "c"));
  ExpectNoChange(StaticHeader(3, 3, ", %cond: bool[3,3]") + StaticScores(3, 3) +
                 "  %f = constant [-inf] : f32[]\n"
                 "  %c = where(%cond, %s, %f) : f32[2,2,3,3]\n" + StaticTail(3, 3, "c"));
}

TEST(RecognizeAttentionTest, GroupedQueryHeadsRepeatedInBhsd) {
  // HF repeat_kv after the transpose: K/V have 1 head, the query 2 (G = 2).
  const std::string header =
      "graph @g(%q: f32[N,S,2,4], %k: f32[N,S,1,4], %v: f32[N,S,1,3]) -> (%y) "
      "where N in [1, 4], S in [1, 8] {\n";
  Graph g = ParseVerified(header +
                          "  %q4 = transpose(%q) {perm=[0,2,1,3]} : f32[N,2,S,4]\n"
                          "  %k1 = transpose(%k) {perm=[0,2,1,3]} : f32[N,1,S,4]\n"
                          "  %ku = unsqueeze(%k1) {axes=[2]} : f32[N,1,1,S,4]\n"
                          "  %ke = expand(%ku) {shape=[N,1,2,S,4]} : f32[N,1,2,S,4]\n"
                          "  %k4 = reshape(%ke) {shape=[N,2,S,4]} : f32[N,2,S,4]\n"
                          "  %v1 = transpose(%v) {perm=[0,2,1,3]} : f32[N,1,S,3]\n"
                          "  %vu = unsqueeze(%v1) {axes=[2]} : f32[N,1,1,S,3]\n"
                          "  %ve = expand(%vu) {shape=[N,1,2,S,3]} : f32[N,1,2,S,3]\n"
                          "  %v4 = reshape(%ve) {shape=[N,2,S,3]} : f32[N,2,S,3]\n"
                          "  %s = gemm(%q4, %k4) {trans_b=true, alpha=0.5} : f32[N,2,S,S]\n" +
                          Tail("s"));
  ExpectRecognized(
      g, header + "  %y = attention(%q, %k, %v) {scale=0.5} : f32[N,S,2,3]\n}\n");
}

// Hkv=2 K/V heads repeated G=2 times to H=4 in BSHD, before the transposes. `interleave` puts
// the new 1 right after the head axis (HF repeat_kv: head h reads h / 2); otherwise before it
// (a tiled repeat: head h reads h % 2).
std::string BshdRepeat(bool interleave) {
  const std::string u = interleave ? "f32[N,S,2,1,4]" : "f32[N,S,1,2,4]";
  const std::string axes = interleave ? "[3]" : "[2]";
  const std::string e = "f32[N,S,2,2,4]";
  const std::string shape = "[N,S,2,2,4]";
  return "graph @g(%q: f32[N,S,4,4], %k: f32[N,S,2,4], %v: f32[N,S,2,4]) -> (%y) "
         "where N in [1, 4], S in [1, 8] {\n"
         "  %q4 = transpose(%q) {perm=[0,2,1,3]} : f32[N,4,S,4]\n"
         "  %ku = unsqueeze(%k) {axes=" + axes + "} : " + u + "\n" +
         "  %ke = expand(%ku) {shape=" + shape + "} : " + e + "\n" +
         "  %kr = reshape(%ke) {shape=[N,S,4,4]} : f32[N,S,4,4]\n"
         "  %kt = transpose(%kr) {perm=[0,2,3,1]} : f32[N,4,4,S]\n"
         "  %vu = unsqueeze(%v) {axes=" + axes + "} : " + u + "\n" +
         "  %ve = expand(%vu) {shape=" + shape + "} : " + e + "\n" +
         "  %vr = reshape(%ve) {shape=[N,S,4,4]} : f32[N,S,4,4]\n"
         "  %v4 = transpose(%vr) {perm=[0,2,1,3]} : f32[N,4,S,4]\n"
         "  %s = gemm(%q4, %kt) : f32[N,4,S,S]\n"
         "  %p = softmax(%s) : f32[N,4,S,S]\n"
         "  %o = gemm(%p, %v4) : f32[N,4,S,4]\n"
         "  %y = transpose(%o) {perm=[0,2,1,3]} : f32[N,S,4,4]\n}\n";
}

TEST(RecognizeAttentionTest, GroupedQueryHeadsRepeatedInBshdAndTiledRepeatIsNotGrouped) {
  // Query head h reads K/V head h / 2, as the attention op's grouped heads; the numeric check
  // (before vs after) pins that mapping down.
  Graph g = ParseVerified(BshdRepeat(/*interleave=*/true));
  ExpectRecognized(g,
                   "graph @g(%q: f32[N,S,4,4], %k: f32[N,S,2,4], %v: f32[N,S,2,4]) -> (%y) "
                   "where N in [1, 4], S in [1, 8] {\n"
                   "  %y = attention(%q, %k, %v) {scale=1.0} : f32[N,S,4,4]\n}\n");
  // The 1 inserted before the head axis repeats the heads tiled (h % 2): no grouped-query
  // form; the attention runs over the repeated 4-head K/V, which stay.
  Graph t = ParseVerified(BshdRepeat(/*interleave=*/false));
  ExpectRecognized(t,
                   "graph @g(%q: f32[N,S,4,4], %k: f32[N,S,2,4], %v: f32[N,S,2,4]) -> (%y) "
                   "where N in [1, 4], S in [1, 8] {\n"
                   "  %ku = unsqueeze(%k) {axes=[2]} : f32[N,S,1,2,4]\n"
                   "  %ke = expand(%ku) {shape=[N,S,2,2,4]} : f32[N,S,2,2,4]\n"
                   "  %kr = reshape(%ke) {shape=[N,S,4,4]} : f32[N,S,4,4]\n"
                   "  %vu = unsqueeze(%v) {axes=[2]} : f32[N,S,1,2,4]\n"
                   "  %ve = expand(%vu) {shape=[N,S,2,2,4]} : f32[N,S,2,2,4]\n"
                   "  %vr = reshape(%ve) {shape=[N,S,4,4]} : f32[N,S,4,4]\n"
                   "  %y = attention(%q, %kr, %vr) {scale=1.0} : f32[N,S,4,4]\n}\n");
}

TEST(RecognizeAttentionTest, RepeatedKeysWithUnrepeatedValuesAreLeftAlone) {
  // K has 1 head repeated to 2 after its transpose, V 2 real heads: the op needs K and V to
  // agree on their heads, and no 2-head BSHD K exists to pass instead.
  ExpectNoChange(
      "graph @g(%q: f32[N,S,2,4], %k: f32[N,S,1,4], %v: f32[N,S,2,3]) -> (%y) "
      "where N in [1, 4], S in [1, 8] {\n"
      "  %q4 = transpose(%q) {perm=[0,2,1,3]} : f32[N,2,S,4]\n"
      "  %k1 = transpose(%k) {perm=[0,2,1,3]} : f32[N,1,S,4]\n"
      "  %ku = unsqueeze(%k1) {axes=[2]} : f32[N,1,1,S,4]\n"
      "  %ke = expand(%ku) {shape=[N,1,2,S,4]} : f32[N,1,2,S,4]\n"
      "  %k4 = reshape(%ke) {shape=[N,2,S,4]} : f32[N,2,S,4]\n"
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
