#include "passes/recognize_norms.h"

#include <gtest/gtest.h>

#include <string>

#include "passes/pass_test_util.h"
#include "passes/pipeline.h"

namespace kiln {
namespace {

// Runs the pass, expects a change to exactly `expected`, the same values as before (the single
// ops accumulate in double where the chain rounded each f32 intermediate, hence the tolerance),
// a graph that prints and parses back to itself, and nothing left to match.
void ExpectRecognized(Graph& g, const std::string& expected, double tol = 1e-5) {
  std::unique_ptr<Graph> before = g.Clone();
  RecognizeNormsPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  EXPECT_EQ(PrintGraph(g), expected);
  ExpectNumericallyEquivalent(*before, g, tol, tol);
  Graph reparsed = ParseVerified(PrintGraph(g));
  EXPECT_EQ(PrintGraph(reparsed), PrintGraph(g));
  EXPECT_FALSE(RunPassChecked(pass, g));
}

void ExpectUnchanged(const std::string& text) {
  Graph g = ParseVerified(text);
  RecognizeNormsPass pass;
  EXPECT_FALSE(RunPassChecked(pass, g)) << text << "\nbecame\n" << PrintGraph(g);
}

constexpr const char* kLnHeader =
    "graph @g(%x: f32[N,S,8], %w: f32[8], %b: f32[8]) -> (%y) "
    "where N in [1, 4], S in [1, 6] {\n";

// torch.nn.LayerNorm as ONNX opset < 17 exports it: pow + sqrt + div, then weight and bias.
constexpr const char* kOnnxLayerNorm =
    "  %mean = reduce_mean(%x) {axes=[-1], keepdims=true} : f32[N,S,1]\n"
    "  %d = sub(%x, %mean) : f32[N,S,8]\n"
    "  %two = constant [2.0] : f32[]\n"
    "  %sq = pow(%d, %two) : f32[N,S,8]\n"
    "  %var = reduce_mean(%sq) {axes=[-1], keepdims=true} : f32[N,S,1]\n"
    "  %eps = constant [1e-05] : f32[]\n"
    "  %ve = add(%var, %eps) : f32[N,S,1]\n"
    "  %sd = sqrt(%ve) : f32[N,S,1]\n"
    "  %n = div(%d, %sd) : f32[N,S,8]\n"
    "  %nw = mul(%n, %w) : f32[N,S,8]\n";

TEST(RecognizeNormsTest, OnnxLayerNormWithWeightAndBias) {
  Graph g = ParseVerified(std::string(kLnHeader) + kOnnxLayerNorm +
                          "  %y = add(%nw, %b) : f32[N,S,8]\n}\n");
  ExpectRecognized(g, std::string(kLnHeader) +
                          "  %y = layer_norm(%x, %w, %b) : f32[N,S,8]\n}\n");
}

TEST(RecognizeNormsTest, LayerNormOverTwoAxesWithRsqrtAndWeightOnly) {
  // mul(d, d), rsqrt, operands in the other order, axes written positively and unordered; the
  // weight covers both normalised axes; no bias.
  const std::string header =
      "graph @g(%x: f32[N,4,6], %w: f32[4,6]) -> (%y) where N in [1, 4] {\n";
  Graph g = ParseVerified(header +
                          "  %mean = reduce_mean(%x) {axes=[2,1], keepdims=true} : f32[N,1,1]\n"
                          "  %d = sub(%x, %mean) : f32[N,4,6]\n"
                          "  %sq = mul(%d, %d) : f32[N,4,6]\n"
                          "  %var = reduce_mean(%sq) {axes=[-2,-1], keepdims=true} : f32[N,1,1]\n"
                          "  %eps = constant [0.001] : f32[1]\n"
                          "  %ve = add(%eps, %var) : f32[N,1,1]\n"
                          "  %r = rsqrt(%ve) : f32[N,1,1]\n"
                          "  %n = mul(%r, %d) : f32[N,4,6]\n"
                          "  %y = mul(%w, %n) : f32[N,4,6]\n}\n");
  ExpectRecognized(
      g, header + "  %y = layer_norm(%x, %w) {axis=-2, eps=0.001} : f32[N,4,6]\n}\n");
}

TEST(RecognizeNormsTest, RmsNormAsLlamaWritesIt) {
  // HF LlamaRMSNorm: x * rsqrt(mean(x^2) + eps), then weight * that. %x has other users.
  const std::string header =
      "graph @g(%x: f32[N,8], %w: f32[8]) -> (%y, %z) where N in [1, 4] {\n";
  Graph g = ParseVerified(header +
                          "  %z = relu(%x) : f32[N,8]\n"
                          "  %two = constant [2.0] : f32[]\n"
                          "  %sq = pow(%x, %two) : f32[N,8]\n"
                          "  %ms = reduce_mean(%sq) {axes=[1], keepdims=true} : f32[N,1]\n"
                          "  %eps = constant [1e-06] : f32[]\n"
                          "  %ve = add(%ms, %eps) : f32[N,1]\n"
                          "  %r = rsqrt(%ve) : f32[N,1]\n"
                          "  %n = mul(%x, %r) : f32[N,8]\n"
                          "  %y = mul(%w, %n) : f32[N,8]\n}\n");
  ExpectRecognized(g, header +
                          "  %z = relu(%x) : f32[N,8]\n"
                          "  %y = rms_norm(%x, %w) : f32[N,8]\n}\n");
}

TEST(RecognizeNormsTest, RmsNormWithReciprocalSqrtAndNoWeight) {
  // n = x * (1 / sqrt(mean(x*x) + eps)); the graph output is n itself.
  const std::string header = "graph @g(%x: f32[3,5]) -> (%n) {\n";
  Graph g = ParseVerified(header +
                          "  %sq = mul(%x, %x) : f32[3,5]\n"
                          "  %ms = reduce_mean(%sq) {axes=[-1], keepdims=true} : f32[3,1]\n"
                          "  %eps = constant [1e-05] : f32[]\n"
                          "  %ve = add(%ms, %eps) : f32[3,1]\n"
                          "  %sd = sqrt(%ve) : f32[3,1]\n"
                          "  %one = constant [1.0] : f32[]\n"
                          "  %inv = div(%one, %sd) : f32[3,1]\n"
                          "  %n = mul(%x, %inv) : f32[3,5]\n}\n");
  ExpectRecognized(g, header + "  %n = rms_norm(%x) {eps=1e-05} : f32[3,5]\n}\n");
}

TEST(RecognizeNormsTest, SoftmaxWithAndWithoutMaxSubtraction) {
  // Along axis 1 of a rank-3 tensor with the max subtraction; along the last axis without it.
  const std::string header =
      "graph @g(%x: f32[N,5,3], %t: f32[N,7]) -> (%y, %u) where N in [1, 4] {\n";
  Graph g = ParseVerified(header +
                          "  %m = reduce_max(%x) {axes=[1], keepdims=true} : f32[N,1,3]\n"
                          "  %z = sub(%x, %m) : f32[N,5,3]\n"
                          "  %e = exp(%z) : f32[N,5,3]\n"
                          "  %s = reduce_sum(%e) {axes=[-2], keepdims=true} : f32[N,1,3]\n"
                          "  %y = div(%e, %s) : f32[N,5,3]\n"
                          "  %e2 = exp(%t) : f32[N,7]\n"
                          "  %s2 = reduce_sum(%e2) {axes=[1], keepdims=true} : f32[N,1]\n"
                          "  %u = div(%e2, %s2) : f32[N,7]\n}\n");
  ExpectRecognized(g, header +
                          "  %y = softmax(%x) {axis=1} : f32[N,5,3]\n"
                          "  %u = softmax(%t) : f32[N,7]\n}\n",
                   1e-6);
}

TEST(RecognizeNormsTest, NormWithOutputIntermediateOrBroadcastWeightKeepsTheMul) {
  // The normalised %n is a graph output: the norm replaces %n, the weight mul stays after it.
  const std::string header =
      "graph @g(%x: f32[N,S,8], %w: f32[8], %b: f32[8]) -> (%y, %n) "
      "where N in [1, 4], S in [1, 6] {\n";
  Graph g = ParseVerified(header + kOnnxLayerNorm + "  %y = add(%nw, %b) : f32[N,S,8]\n}\n");
  ExpectRecognized(g, header +
                          "  %n = layer_norm(%x) : f32[N,S,8]\n"
                          "  %nw = mul(%n, %w) : f32[N,S,8]\n"
                          "  %y = add(%nw, %b) : f32[N,S,8]\n}\n");
  // A [1,8] weight is not x.shape[-1:] = [8]: layer_norm takes no such weight, the mul stays.
  const std::string header2 =
      "graph @g(%x: f32[N,S,8], %w: f32[1,8], %b: f32[8]) -> (%y) "
      "where N in [1, 4], S in [1, 6] {\n";
  Graph h = ParseVerified(header2 + kOnnxLayerNorm + "  %y = add(%nw, %b) : f32[N,S,8]\n}\n");
  ExpectRecognized(h, header2 +
                          "  %n = layer_norm(%x) : f32[N,S,8]\n"
                          "  %nw = mul(%n, %w) : f32[N,S,8]\n"
                          "  %y = add(%nw, %b) : f32[N,S,8]\n}\n");
}

TEST(RecognizeNormsTest, SharedMeanLeavesAnRmsNormOfTheCenteredValue) {
  // %mean has a second user, so x - mean stays; mean(d^2) -> sqrt -> d / . is rms_norm(d).
  const std::string header =
      "graph @g(%x: f32[N,S,8], %w: f32[8], %b: f32[8]) -> (%y, %mean) "
      "where N in [1, 4], S in [1, 6] {\n";
  Graph g = ParseVerified(header + kOnnxLayerNorm + "  %y = add(%nw, %b) : f32[N,S,8]\n}\n");
  ExpectRecognized(g, header +
                          "  %mean = reduce_mean(%x) {axes=[-1], keepdims=true} : f32[N,S,1]\n"
                          "  %d = sub(%x, %mean) : f32[N,S,8]\n"
                          "  %nw = rms_norm(%d, %w) {eps=1e-05} : f32[N,S,8]\n"
                          "  %y = add(%nw, %b) : f32[N,S,8]\n}\n");
}

TEST(RecognizeNormsTest, AlmostMatchingChainsAreLeftAlone) {
  const std::string rms_head =
      "graph @g(%x: f32[N,6,8], %e: f32[]) -> (%n) where N in [1, 4] {\n"
      "  %sq = mul(%x, %x) : f32[N,6,8]\n";
  auto rms_tail = [](const std::string& eps) {
    return "  %ve = add(%ms, " + eps + ") : f32[N,6,1]\n" +
           "  %r = rsqrt(%ve) : f32[N,6,1]\n"
           "  %n = mul(%x, %r) : f32[N,6,8]\n}\n";
  };
  // The mean is over a non-trailing axis: not what rms_norm normalises.
  ExpectUnchanged(
      "graph @g(%x: f32[N,6,8]) -> (%n) where N in [1, 4] {\n"
      "  %sq = mul(%x, %x) : f32[N,6,8]\n"
      "  %ms = reduce_mean(%sq) {axes=[1], keepdims=true} : f32[N,1,8]\n"
      "  %eps = constant [1e-05] : f32[]\n"
      "  %ve = add(%ms, %eps) : f32[N,1,8]\n"
      "  %r = rsqrt(%ve) : f32[N,1,8]\n"
      "  %n = mul(%x, %r) : f32[N,6,8]\n}\n");
  // eps is an input, not a constant.
  ExpectUnchanged(rms_head +
                  "  %ms = reduce_mean(%sq) {axes=[-1], keepdims=true} : f32[N,6,1]\n" +
                  rms_tail("%e"));
  // The mean of squares has a second user (a graph output).
  ExpectUnchanged(
      "graph @g(%x: f32[N,6,8]) -> (%n, %ms) where N in [1, 4] {\n"
      "  %sq = mul(%x, %x) : f32[N,6,8]\n"
      "  %ms = reduce_mean(%sq) {axes=[-1], keepdims=true} : f32[N,6,1]\n"
      "  %eps = constant [1e-05] : f32[]\n" +
      rms_tail("%eps"));
  // Cubed, not squared.
  ExpectUnchanged(
      "graph @g(%x: f32[N,6,8]) -> (%n) where N in [1, 4] {\n"
      "  %three = constant [3.0] : f32[]\n"
      "  %sq = pow(%x, %three) : f32[N,6,8]\n"
      "  %ms = reduce_mean(%sq) {axes=[-1], keepdims=true} : f32[N,6,1]\n"
      "  %eps = constant [1e-05] : f32[]\n" +
      rms_tail("%eps"));
  // The normalising mul reads another tensor than the squared one.
  ExpectUnchanged(
      "graph @g(%x: f32[N,6,8], %o: f32[N,6,8]) -> (%n) where N in [1, 4] {\n"
      "  %sq = mul(%x, %x) : f32[N,6,8]\n"
      "  %ms = reduce_mean(%sq) {axes=[-1], keepdims=true} : f32[N,6,1]\n"
      "  %eps = constant [1e-05] : f32[]\n"
      "  %ve = add(%ms, %eps) : f32[N,6,1]\n"
      "  %r = rsqrt(%ve) : f32[N,6,1]\n"
      "  %n = mul(%o, %r) : f32[N,6,8]\n}\n");
  // Softmax: the sum without keepdims (the div then broadcasts along the wrong axis).
  ExpectUnchanged(
      "graph @g(%x: f32[3,3]) -> (%y) {\n"
      "  %e = exp(%x) : f32[3,3]\n"
      "  %s = reduce_sum(%e) {axes=[1]} : f32[3]\n"
      "  %y = div(%e, %s) : f32[3,3]\n}\n");
  // Softmax: the exponentials are also a graph output.
  ExpectUnchanged(
      "graph @g(%x: f32[3,4]) -> (%y, %e) {\n"
      "  %e = exp(%x) : f32[3,4]\n"
      "  %s = reduce_sum(%e) {axes=[1], keepdims=true} : f32[3,1]\n"
      "  %y = div(%e, %s) : f32[3,4]\n}\n");
  // Softmax: a sum over two axes is no softmax.
  ExpectUnchanged(
      "graph @g(%x: f32[3,4]) -> (%y) {\n"
      "  %e = exp(%x) : f32[3,4]\n"
      "  %s = reduce_sum(%e) {axes=[0,1], keepdims=true} : f32[1,1]\n"
      "  %y = div(%e, %s) : f32[3,4]\n}\n");
}

TEST(RecognizeNormsTest, F16LayerNorm) {
  // f16 chain: the op accumulates in double, the chain rounded each step to f16.
  const std::string header = "graph @g(%x: f16[4,16], %w: f16[16], %b: f16[16]) -> (%y) {\n";
  Graph g = ParseVerified(header +
                          "  %mean = reduce_mean(%x) {axes=[-1], keepdims=true} : f16[4,1]\n"
                          "  %d = sub(%x, %mean) : f16[4,16]\n"
                          "  %sq = mul(%d, %d) : f16[4,16]\n"
                          "  %var = reduce_mean(%sq) {axes=[-1], keepdims=true} : f16[4,1]\n"
                          "  %eps = constant [1e-05] : f16[]\n"
                          "  %ve = add(%var, %eps) : f16[4,1]\n"
                          "  %sd = sqrt(%ve) : f16[4,1]\n"
                          "  %n = div(%d, %sd) : f16[4,16]\n"
                          "  %nw = mul(%w, %n) : f16[4,16]\n"
                          "  %y = add(%b, %nw) : f16[4,16]\n}\n");
  ExpectRecognized(
      g, header + "  %y = layer_norm(%x, %w, %b) : f16[4,16]\n}\n", 1e-2);
}

TEST(RecognizeNormsTest, DefaultPipelineTurnsDecomposedSoftmaxAttentionIntoOneNode) {
  // An exported attention whose softmax was decomposed: recognize-norms runs before
  // recognize-attention, which then finds its softmax anchor.
  const std::string header =
      "graph @g(%q: f32[N,S,2,4], %k: f32[N,S,2,4], %v: f32[N,S,2,4]) -> (%y) "
      "where N in [1, 4], S in [1, 8] {\n";
  Graph g = ParseVerified(header +
                          "  %q4 = transpose(%q) {perm=[0,2,1,3]} : f32[N,2,S,4]\n"
                          "  %k4 = transpose(%k) {perm=[0,2,1,3]} : f32[N,2,S,4]\n"
                          "  %v4 = transpose(%v) {perm=[0,2,1,3]} : f32[N,2,S,4]\n"
                          "  %s = gemm(%q4, %k4) {trans_b=true, alpha=0.5} : f32[N,2,S,S]\n"
                          "  %m = reduce_max(%s) {axes=[-1], keepdims=true} : f32[N,2,S,1]\n"
                          "  %z = sub(%s, %m) : f32[N,2,S,S]\n"
                          "  %e = exp(%z) : f32[N,2,S,S]\n"
                          "  %se = reduce_sum(%e) {axes=[-1], keepdims=true} : f32[N,2,S,1]\n"
                          "  %p = div(%e, %se) : f32[N,2,S,S]\n"
                          "  %o = gemm(%p, %v4) : f32[N,2,S,4]\n"
                          "  %y = transpose(%o) {perm=[0,2,1,3]} : f32[N,S,2,4]\n}\n");
  std::unique_ptr<Graph> before = g.Clone();
  StatusOr<bool> changed = DefaultPipeline().Run(g, {.verify_each = true, .dump_dir = ""});
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(PrintGraph(g),
            header + "  %y = attention(%q, %k, %v) {scale=0.5} : f32[N,S,2,4]\n}\n");
  ExpectNumericallyEquivalent(*before, g, 1e-5, 1e-6);
}

TEST(RecognizeNormsTest, IsRegistered) {
  std::unique_ptr<Pass> pass = CreatePass("recognize-norms");
  ASSERT_NE(pass, nullptr);
  EXPECT_EQ(pass->name(), "recognize-norms");
}

}  // namespace
}  // namespace kiln
