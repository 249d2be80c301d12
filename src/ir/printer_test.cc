// Printer tests: the exact text for Builder-built graphs (symbols, epilogue operands, weights,
// constants, nested fusion bodies, escapes, float spellings) and print -> parse giving a
// StructurallyEqual graph.
#include "ir/printer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ir/builder.h"
#include "ir/parser.h"
#include "ir/verifier.h"

namespace kiln {
namespace {

Graph MustFinish(Builder& b) {
  StatusOr<Graph> g = b.Finish();
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? std::move(g).value() : Graph("failed");
}

// Parses the printed text back and checks it is the same graph, printed the same way.
void ExpectRoundTrip(const Graph& g) {
  std::string text = PrintGraph(g);
  StatusOr<Graph> parsed = ParseGraph(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString() << "\n" << text;
  std::string why;
  EXPECT_TRUE(StructurallyEqual(g, *parsed, &why)) << why << "\n" << text;
  EXPECT_EQ(PrintGraph(*parsed), text);
  Status verified = Verify(*parsed);
  EXPECT_TRUE(verified.ok()) << verified.ToString();
}

TEST(PrinterTest, BuilderGraphPrintsExactly) {
  Builder b("mlp");
  Dim n = b.Sym("N", 1, 64);
  Value* x = b.Input("x", DType::kF16, {n, 784});
  Value* w = b.Weight("fc1.weight", DType::kF16, {256, 784});
  Value* bias = b.Weight("fc1.bias", DType::kF16, {256});
  Value* h = b.Gemm(x, w, {.trans_b = true, .epilogue = {Bias(bias), Relu()}});
  Value* r = b.Reshape(h, {n * 16, 16});
  Value* s = b.Softmax(r);
  Value* y = b.Mul(s, b.Scalar(0.5, DType::kF16));
  b.Output(y);
  Graph g = MustFinish(b);
  EXPECT_EQ(PrintGraph(g),
            "graph @mlp(%x: f16[N,784]) -> (%mul) where N in [1, 64] {\n"
            "  %weight = weight \"fc1.weight\" : f16[256,784]\n"
            "  %weight_1 = weight \"fc1.bias\" : f16[256]\n"
            "  %gemm = gemm(%x, %weight) {trans_b=true, epilogue=[bias(%weight_1), relu]} : "
            "f16[N,256]\n"
            "  %reshape = reshape(%gemm) {shape=[N*16,16]} : f16[N*16,16]\n"
            "  %softmax = softmax(%reshape) : f16[N*16,16]\n"
            "  %constant = constant [0.5] : f16[]\n"
            "  %mul = mul(%softmax, %constant) : f16[N*16,16]\n"
            "}\n");
  ExpectRoundTrip(g);
}

TEST(PrinterTest, NoWhereClauseWithoutSymbolsAndNoBracesWithoutAttrs) {
  Builder b("relu");
  Value* x = b.Input("x", DType::kF32, {2, 3});
  b.Output(b.Relu(x));
  Graph g = MustFinish(b);
  EXPECT_EQ(PrintGraph(g),
            "graph @relu(%x: f32[2,3]) -> (%relu) {\n"
            "  %relu = relu(%x) : f32[2,3]\n"
            "}\n");
  ExpectRoundTrip(g);
}

TEST(PrinterTest, ConvEpilogueOperandsPrintInsideTheEpilogue) {
  Builder b("block");
  Dim n = b.Sym("N", 1, 256);
  Value* x = b.Input("x", DType::kF16, {n, 8, 8, 4});
  Value* w = b.Weight("conv.w", DType::kF16, {4, 3, 3, 4});
  Value* bias = b.Weight("conv.b", DType::kF16, {4});
  Value* y = b.Conv2d(x, w, {.stride = 1, .pad = {1, 1, 1, 1}, .layout = Layout::kNHWC,
                             .epilogue = {Bias(bias), Residual(x), Scale(0.25), GeluTanh(),
                                          CastTo(DType::kF32)}});
  b.Output(y);
  Graph g = MustFinish(b);
  const Node& conv = *g.nodes().back();
  ASSERT_EQ(conv.num_inputs(), 4);
  EXPECT_EQ(PrintNode(conv),
            "%conv2d = conv2d(%x, %weight) {pad=[1,1,1,1], layout=nhwc, epilogue=[bias(%weight_1), "
            "add(%x), scale(0.25), gelu_tanh, cast(f32)]} : f32[N,8,8,4]");
  ExpectRoundTrip(g);
}

TEST(PrinterTest, MultiOutputNodesAndSymbolicAttributes) {
  Builder b("split");
  Dim s = b.Sym("S", 16, 512);
  Value* x = b.Input("x", DType::kF32, {s, 96});
  std::vector<Value*> parts = b.Split(x, {32, 64}, 1);
  ASSERT_EQ(parts.size(), 2u);
  Value* sl = b.Slice(parts[1], {.starts = {1}, .ends = {s - 1}, .axes = {0}, .steps = {}});
  b.Output(parts[0]);
  b.Output(sl);
  Graph g = MustFinish(b);
  EXPECT_EQ(PrintGraph(g),
            "graph @split(%x: f32[S,96]) -> (%split, %slice) where S in [16, 512] {\n"
            "  %split, %split_1 = split(%x) {axis=1, sizes=[32,64]} : f32[S,32], f32[S,64]\n"
            "  %slice = slice(%split_1) {starts=[1], ends=[S-1], axes=[0]} : f32[S-2,64]\n"
            "}\n");
  ExpectRoundTrip(g);
}

TEST(PrinterTest, ConstantsPrintIntsForIntegerDtypesAndFloatsOtherwise) {
  Builder b("consts");
  Value* f = b.Constant(DType::kF32, {4}, {1.0, -2.0, 0.1, 1e-5});
  Value* i = b.Constant(DType::kI64, {3}, {-1, 0, 4096});
  Value* t = b.Constant(DType::kBool, {2}, {1, 0});
  Value* h = b.Constant(DType::kF16, {2, 2}, {0.5});
  for (Value* v : {f, i, t, h}) b.Output(v);
  Graph g = MustFinish(b);
  EXPECT_EQ(PrintGraph(g),
            "graph @consts() -> (%constant, %constant_1, %constant_2, %constant_3) {\n"
            "  %constant = constant [1.0, -2.0, 0.1, 1e-05] : f32[4]\n"
            "  %constant_1 = constant [-1, 0, 4096] : i64[3]\n"
            "  %constant_2 = constant [1, 0] : bool[2]\n"
            "  %constant_3 = constant [0.5] : f16[2,2]\n"
            "}\n");
  ExpectRoundTrip(g);
}

TEST(PrinterTest, FloatsAlwaysReparseAsFloats) {
  EXPECT_EQ(FormatFloat(1.0), "1.0");
  EXPECT_EQ(FormatFloat(-2.0), "-2.0");
  EXPECT_EQ(FormatFloat(0.0), "0.0");
  EXPECT_EQ(FormatFloat(-0.0), "-0.0");
  EXPECT_EQ(FormatFloat(0.1), "0.1");
  EXPECT_EQ(FormatFloat(1e-5), "1e-05");
  EXPECT_EQ(FormatFloat(1e20), "1e+20");
  EXPECT_EQ(FormatFloat(123456.0), "123456.0");
  EXPECT_EQ(FormatFloat(1.0 / 3.0), "0.3333333333333333");
  EXPECT_EQ(FormatFloat(3.4028234663852886e+38), "3.4028234663852886e+38");
  EXPECT_EQ(FormatFloat(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(FormatFloat(-std::numeric_limits<double>::infinity()), "-inf");
  EXPECT_EQ(FormatFloat(std::numeric_limits<double>::quiet_NaN()), "nan");
}

TEST(PrinterTest, FloatAttributesRoundTripBitExactly) {
  for (double v : {0.1, 1e-5, 1.0 / 3.0, 6.02214076e23, 5e-324, 1e-300, 2.5}) {
    Builder b("clip");
    Value* x = b.Input("x", DType::kF32, {2});
    b.Output(b.Clip(x, -v, v));
    Graph g = MustFinish(b);
    std::string text = PrintGraph(g);
    StatusOr<Graph> parsed = ParseGraph(text);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(parsed->nodes()[0]->GetFloat("min"), -v) << text;
    EXPECT_EQ(parsed->nodes()[0]->GetFloat("max"), v) << text;
  }
}

TEST(PrinterTest, EscapesStringsAndQuotesOddNames) {
  Builder b("odd");
  Value* w = b.Weight("a \"b\" \\c\nd\te\x01", DType::kF32, {2});
  b.Output(w);
  Graph g = MustFinish(b);
  Status renamed = g.RenameValue(g.nodes()[0]->output(), "onnx::Add/0");
  ASSERT_TRUE(renamed.ok()) << renamed.ToString();
  g.set_name("my model");
  EXPECT_EQ(PrintGraph(g),
            "graph @\"my model\"() -> (%\"onnx::Add/0\") {\n"
            "  %\"onnx::Add/0\" = weight \"a \\\"b\\\" \\\\c\\nd\\te\\x01\" : f32[2]\n"
            "}\n");
  ExpectRoundTrip(g);
}

TEST(PrinterTest, FusionBodyIsNestedAndInheritsSymbols) {
  Builder outer("net");
  Dim n = outer.Sym("N", 1, 8);
  Value* a = outer.Input("a", DType::kF32, {n, 4});
  Value* c = outer.Input("c", DType::kF32, {4});

  auto body = std::make_shared<Graph>("fused_0");
  ASSERT_TRUE(body->AddSymbol("N", 1, 8).ok());
  Builder inner(body.get());
  Value* p0 = inner.Input("p0", DType::kF32, {n, 4});
  Value* p1 = inner.Input("p1", DType::kF32, {4});
  inner.Output(inner.Relu(inner.Add(p0, p1)));
  ASSERT_TRUE(inner.status().ok()) << inner.status().ToString();

  std::vector<Value*> fused = outer.Op(OpKind::kFusion, {a, c}, {{"body", body}});
  ASSERT_EQ(fused.size(), 1u);
  outer.Output(outer.Exp(fused[0]));
  Graph g = MustFinish(outer);
  EXPECT_EQ(PrintGraph(g),
            "graph @net(%a: f32[N,4], %c: f32[4]) -> (%exp) where N in [1, 8] {\n"
            "  %fusion = fusion(%a, %c) {body=graph @fused_0(%p0: f32[N,4], %p1: f32[4]) -> "
            "(%relu) {\n"
            "    %add = add(%p0, %p1) : f32[N,4]\n"
            "    %relu = relu(%add) : f32[N,4]\n"
            "  }} : f32[N,4]\n"
            "  %exp = exp(%fusion) : f32[N,4]\n"
            "}\n");
  ExpectRoundTrip(g);
}

TEST(PrinterTest, TwoLevelsOfNestingIndentTwoSpacesPerLevel) {
  const char* text =
      "graph @g(%x: f32[2]) -> (%f) {\n"
      "  %f = fusion(%x) {body=graph @outer(%p: f32[2]) -> (%i) {\n"
      "    %i = fusion(%p) {body=graph @inner(%q: f32[2]) -> (%r) {\n"
      "      %r = neg(%q) : f32[2]\n"
      "    }} : f32[2]\n"
      "  }} : f32[2]\n"
      "}\n";
  StatusOr<Graph> g = ParseGraph(text);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(PrintGraph(*g), text);
  EXPECT_TRUE(Verify(*g).ok()) << Verify(*g).ToString();
}

TEST(PrinterTest, MalformedGraphsStillPrint) {
  // A pass under construction may leave a null operand; the dump must not crash.
  Graph g("broken");
  Value* x = g.AddInput("x", {DType::kF32, {2}});
  Node* n = g.AddNodeWithTypes(OpKind::kRelu, {x}, {}, {{"y", {DType::kF32, {2}}}});
  n->set_input(0, nullptr);
  g.SetOutputs({n->output()});
  EXPECT_EQ(PrintGraph(g),
            "graph @broken(%x: f32[2]) -> (%y) {\n"
            "  %y = relu(%<null>) : f32[2]\n"
            "}\n");
}

}  // namespace
}  // namespace kiln
