#include "passes/recognize_gelu.h"

#include <gtest/gtest.h>

#include <string>

#include "passes/pass_test_util.h"

namespace kiln {
namespace {

// The product as torch.onnx.export writes nn.GELU(): x * (0.5 * (1 + erf(x / sqrt(2)))), fed by
// a linear layer whose output x also has another reader.
constexpr const char* kExported =
    R"(graph @ffn(%a: f32[N,4], %w: f32[4,6]) -> (%y, %xr) where N in [1, 3] {
  %x = gemm(%a, %w) : f32[N,6]
  %r = constant [1.4142135] : f32[]
  %s = div(%x, %r) : f32[N,6]
  %e = erf(%s) : f32[N,6]
  %one = constant [1.0] : f32[]
  %t = add(%e, %one) : f32[N,6]
  %h = constant [0.5] : f32[]
  %ht = mul(%h, %t) : f32[N,6]
  %y = mul(%x, %ht) : f32[N,6]
  %xr = relu(%x) : f32[N,6]
})";

TEST(RecognizeGeluTest, OnnxExportedErfForm) {
  Graph g = ParseVerified(kExported);
  std::unique_ptr<Graph> before = g.Clone();
  RecognizeGeluPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  EXPECT_EQ(PrintGraph(g),
            R"(graph @ffn(%a: f32[N,4], %w: f32[4,6]) -> (%y, %xr) where N in [1, 3] {
  %x = gemm(%a, %w) : f32[N,6]
  %y = gelu(%x) : f32[N,6]
  %xr = relu(%x) : f32[N,6]
}
)");
  // The gelu op computes in double what the chain rounded to f32 at each step.
  ExpectNumericallyEquivalent(*before, g, 1e-5, 1e-6);
  EXPECT_FALSE(RunPassChecked(pass, g));
}

TEST(RecognizeGeluTest, OtherGroupingsAndTheReciprocalScale) {
  // (x * 0.5) * (1 + erf(x * 0.7071)) in f16, and 0.5 * (x * (erf(0.7071 * x) + 1)) with the
  // constants as an f16 model writes them.
  Graph g = ParseVerified(R"(graph @g(%x: f16[5,7], %z: bf16[3]) -> (%y, %v) {
  %q = constant [0.70710678] : f16[]
  %s = mul(%x, %q) : f16[5,7]
  %e = erf(%s) : f16[5,7]
  %one = constant [1.0] : f16[]
  %t = add(%one, %e) : f16[5,7]
  %h = constant [0.5] : f16[]
  %xh = mul(%x, %h) : f16[5,7]
  %y = mul(%xh, %t) : f16[5,7]
  %q2 = constant [0.7071] : bf16[1]
  %s2 = mul(%q2, %z) : bf16[3]
  %e2 = erf(%s2) : bf16[3]
  %one2 = constant [1.0] : bf16[]
  %t2 = add(%e2, %one2) : bf16[3]
  %zt = mul(%z, %t2) : bf16[3]
  %h2 = constant [0.5] : bf16[]
  %v = mul(%h2, %zt) : bf16[3]
})");
  std::unique_ptr<Graph> before = g.Clone();
  RecognizeGeluPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  EXPECT_EQ(PrintGraph(g), R"(graph @g(%x: f16[5,7], %z: bf16[3]) -> (%y, %v) {
  %y = gelu(%x) : f16[5,7]
  %v = gelu(%z) : bf16[3]
}
)");
  ExpectNumericallyEquivalent(*before, g, 2e-2, 1e-2);  // the chain rounds each step to f16/bf16
}

TEST(RecognizeGeluTest, TanhApproximationAsGpt2WritesIt) {
  // GPT-2's gelu_new: 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))), the cube as
  // pow (%y) and as x * x * x (%z); %w scales x^3 by 0.05, which is no GELU.
  Graph g = ParseVerified(R"(graph @g(%x: f32[2,8], %u: f32[8], %v: f32[8]) -> (%y, %z, %w) {
  %three = constant [3.0] : f32[]
  %c2 = constant [0.044715] : f32[]
  %c1 = constant [0.7978845608] : f32[]
  %one = constant [1.0] : f32[]
  %h = constant [0.5] : f32[]
  %cube = pow(%x, %three) : f32[2,8]
  %t = mul(%c2, %cube) : f32[2,8]
  %inner = add(%x, %t) : f32[2,8]
  %s = mul(%c1, %inner) : f32[2,8]
  %th = tanh(%s) : f32[2,8]
  %a = add(%one, %th) : f32[2,8]
  %hx = mul(%h, %x) : f32[2,8]
  %y = mul(%hx, %a) : f32[2,8]
  %uu = mul(%u, %u) : f32[8]
  %ucube = mul(%uu, %u) : f32[8]
  %ut = mul(%ucube, %c2) : f32[8]
  %uinner = add(%ut, %u) : f32[8]
  %us = mul(%uinner, %c1) : f32[8]
  %uth = tanh(%us) : f32[8]
  %ua = add(%uth, %one) : f32[8]
  %uh = mul(%ua, %h) : f32[8]
  %z = mul(%u, %uh) : f32[8]
  %c5 = constant [0.05] : f32[]
  %vcube = pow(%v, %three) : f32[8]
  %vt = mul(%c5, %vcube) : f32[8]
  %vinner = add(%v, %vt) : f32[8]
  %vs = mul(%c1, %vinner) : f32[8]
  %vth = tanh(%vs) : f32[8]
  %va = add(%one, %vth) : f32[8]
  %vh = mul(%h, %v) : f32[8]
  %w = mul(%vh, %va) : f32[8]
})");
  std::unique_ptr<Graph> before = g.Clone();
  RecognizeGeluPass pass;
  EXPECT_TRUE(RunPassChecked(pass, g));
  const std::string text = PrintGraph(g);
  EXPECT_NE(text.find("%y = gelu(%x) {approximate=tanh} : f32[2,8]"), std::string::npos) << text;
  EXPECT_NE(text.find("%z = gelu(%u) {approximate=tanh} : f32[8]"), std::string::npos) << text;
  EXPECT_NE(text.find("%w = mul(%vh, %va)"), std::string::npos) << text;
  EXPECT_EQ(CountOps(g, OpKind::kTanh), 1) << text;  // only %w's
  ExpectNumericallyEquivalent(*before, g, 1e-5, 1e-6);
}

TEST(RecognizeGeluTest, LeavesLookAlikesAlone) {
  // Each differs from GELU in one place: the scale of the erf argument (%y1), the constant added
  // (%y2), the outer scale (%y3), the erf of another value (%y4), and a link read elsewhere (%y5).
  Graph g = ParseVerified(R"(graph @g(%x: f32[4], %u: f32[4]) -> (%y1, %y2, %y3, %y4, %y5, %t5) {
  %r = constant [2.0] : f32[]
  %sq2 = constant [1.4142135] : f32[]
  %one = constant [1.0] : f32[]
  %two = constant [2.0] : f32[]
  %h = constant [0.5] : f32[]
  %s1 = div(%x, %r) : f32[4]
  %e1 = erf(%s1) : f32[4]
  %t1 = add(%e1, %one) : f32[4]
  %m1 = mul(%x, %h) : f32[4]
  %y1 = mul(%m1, %t1) : f32[4]
  %s2 = div(%x, %sq2) : f32[4]
  %e2 = erf(%s2) : f32[4]
  %t2 = add(%e2, %two) : f32[4]
  %m2 = mul(%x, %h) : f32[4]
  %y2 = mul(%m2, %t2) : f32[4]
  %s3 = div(%x, %sq2) : f32[4]
  %e3 = erf(%s3) : f32[4]
  %t3 = add(%e3, %one) : f32[4]
  %m3 = mul(%x, %two) : f32[4]
  %y3 = mul(%m3, %t3) : f32[4]
  %s4 = div(%u, %sq2) : f32[4]
  %e4 = erf(%s4) : f32[4]
  %t4 = add(%e4, %one) : f32[4]
  %m4 = mul(%x, %h) : f32[4]
  %y4 = mul(%m4, %t4) : f32[4]
  %s5 = div(%x, %sq2) : f32[4]
  %e5 = erf(%s5) : f32[4]
  %t5 = add(%e5, %one) : f32[4]
  %m5 = mul(%x, %h) : f32[4]
  %y5 = mul(%m5, %t5) : f32[4]
})");
  ExpectNoChange<RecognizeGeluPass>(g);
}

}  // namespace
}  // namespace kiln
