// Parser tests: a text that uses every op of src/ops/op_list.def round-trips exactly and verifies;
// the parsed graph holds the values written (attributes, epilogue wiring, symbolic dims, source
// lines); comments and free spacing are accepted; no truncated or mangled text crashes it.
#include "ir/parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <set>

#include "ir/printer.h"
#include "ir/verifier.h"

namespace kiln {
namespace {

// One realistic line per op (canonical printer form: schema order, defaults omitted).
// Long lines are kept: the text must be exactly what the printer writes.
constexpr const char kEveryOp[] = R"kir(graph @every_op(%img: f32[N,3,32,32], %x: f32[N,S,64], %ids: i64[N,S], %cond: bool[N,S,64]) -> (%logits, %att_out, %sl, %mix, %cmp, %misc, %fused, %pd, %cat, %ga, %us, %flat, %pw) where N in [1, 64], S in [16, 512] {
  %conv1.w = weight "conv1.weight" : f32[16,3,3,3]
  %conv1.b = weight "conv1.bias" : f32[16]
  %bn.scale = weight "bn.scale" : f32[16]
  %bn.bias = weight "bn.bias" : f32[16]
  %bn.mean = weight "bn.running_mean" : f32[16]
  %bn.var = weight "bn.running_var" : f32[16]
  %c1 = conv2d(%img, %conv1.w) {pad=[1,1,1,1], epilogue=[bias(%conv1.b), relu]} : f32[N,16,32,32]
  %bn = batch_norm(%c1, %bn.scale, %bn.bias, %bn.mean, %bn.var) {eps=0.001} : f32[N,16,32,32]
  %mp = max_pool2d(%bn) {kernel=[2,2], stride=[2,2]} : f32[N,16,16,16]
  %ap = avg_pool2d(%mp) {kernel=[3,3], pad=[1,1,1,1], count_include_pad=true} : f32[N,16,16,16]
  %gn.w = weight "gn.weight" : f32[16]
  %gn.b = weight "gn.bias" : f32[16]
  %gn = group_norm(%ap, %gn.w, %gn.b) {groups=4} : f32[N,16,16,16]
  %up.w = weight "up.weight" : f32[16,8,2,2]
  %up = conv_transpose2d(%gn, %up.w) {stride=[2,2], epilogue=[scale(0.5), gelu_tanh]} : f32[N,8,32,32]
  %rs = resize(%up) {mode=bilinear, scales=[0.5,0.5], coordinate_mode=align_corners} : f32[N,8,16,16]
  %pd = pad(%rs) {pads=[0,0,1,1,0,0,1,1], mode=reflect} : f32[N,8,18,18]
  %gap = global_avg_pool2d(%rs) : f32[N,8,1,1]
  %gmp = global_max_pool2d(%rs) : f32[N,8,1,1]
  %pooled = add(%gap, %gmp) : f32[N,8,1,1]
  %flat = flatten(%pooled) : f32[N,8]
  %sq = squeeze(%pooled) {axes=[2,3]} : f32[N,8]
  %us = unsqueeze(%sq) {axes=[1]} : f32[N,1,8]
  %fc.w = weight "fc.weight" : f32[10,8]
  %fc.b = weight "fc.bias" : f32[10]
  %logits = gemm(%sq, %fc.w) {trans_b=true, alpha=0.5, epilogue=[bias(%fc.b), sigmoid, cast(f16)]} : f16[N,10]
  %emb.w = weight "embed.weight" : f32[1000,64]
  %e = embedding(%emb.w, %ids) : f32[N,S,64]
  %h = add(%x, %e) : f32[N,S,64]
  %ln.w = weight "ln.weight" : f32[64]
  %ln.b = weight "ln.bias" : f32[64]
  %ln = layer_norm(%h, %ln.w, %ln.b) : f32[N,S,64]
  %rms.w = weight "rms.weight" : f32[64]
  %rms = rms_norm(%ln, %rms.w) {eps=1e-05} : f32[N,S,64]
  %qkv.w = weight "attn.qkv.weight" : f32[192,64]
  %qkv.b = weight "attn.qkv.bias" : f32[192]
  %qkv = gemm(%rms, %qkv.w) {trans_b=true, epilogue=[bias(%qkv.b)]} : f32[N,S,192]
  %q, %k, %v = split(%qkv) {axis=2, sizes=[64,64,64]} : f32[N,S,64], f32[N,S,64], f32[N,S,64]
  %q4 = reshape(%q) {shape=[N,S,4,16]} : f32[N,S,4,16]
  %k4 = reshape(%k) {shape=[N,S,4,16]} : f32[N,S,4,16]
  %v4 = reshape(%v) {shape=[N,S,4,16]} : f32[N,S,4,16]
  %att = attention(%q4, %k4, %v4) {causal=true, scale=0.25} : f32[N,S,4,16]
  %att2 = reshape(%att) {shape=[N*S,64]} : f32[N*S,64]
  %proj.w = weight "attn.proj.weight" : f32[64,64]
  %res = reshape(%h) {shape=[N*S,64]} : f32[N*S,64]
  %att_out = gemm(%att2, %proj.w) {trans_b=true, epilogue=[add(%res), gelu, silu, tanh]} : f32[N*S,64]
  %tr = transpose(%q4) {perm=[0,2,1,3]} : f32[N,4,S,16]
  %sl = slice(%tr) {starts=[1], ends=[S-1], axes=[2]} : f32[N,4,S-2,16]
  %sm = softmax(%x) : f32[N,S,64]
  %lsm = log_softmax(%x) {axis=1} : f32[N,S,64]
  %rsum = reduce_sum(%sm) {axes=[2]} : f32[N,S]
  %rmean = reduce_mean(%lsm) {axes=[1], keepdims=true} : f32[N,1,64]
  %rmax = reduce_max(%x) {axes=[2], keepdims=true} : f32[N,S,1]
  %rmin = reduce_min(%x) {axes=[2], keepdims=true} : f32[N,S,1]
  %rprod = reduce_prod(%x) : f32[]
  %ex = expand(%rmax) {shape=[N,S,64]} : f32[N,S,64]
  %a0 = abs(%x) : f32[N,S,64]
  %a1 = erf(%a0) : f32[N,S,64]
  %a2 = exp(%a1) : f32[N,S,64]
  %a3 = log(%a2) : f32[N,S,64]
  %a4 = neg(%a3) : f32[N,S,64]
  %a5 = relu(%a4) : f32[N,S,64]
  %a6 = rsqrt(%a5) : f32[N,S,64]
  %a7 = sigmoid(%a6) : f32[N,S,64]
  %a8 = silu(%a7) : f32[N,S,64]
  %a9 = sqrt(%a8) : f32[N,S,64]
  %a10 = tanh(%a9) : f32[N,S,64]
  %a11 = gelu(%a10) {approximate=tanh} : f32[N,S,64]
  %a12 = clip(%a11) {min=0.0, max=6.0} : f32[N,S,64]
  %b0 = sub(%a12, %ex) : f32[N,S,64]
  %b1 = mul(%b0, %rmean) : f32[N,S,64]
  %b2 = div(%b1, %rmin) : f32[N,S,64]
  %pw = pow(%b2, %rprod) : f32[N,S,64]
  %b4 = max(%pw, %x) : f32[N,S,64]
  %b5 = min(%b4, %x) : f32[N,S,64]
  %mix = where(%cond, %b5, %x) : f32[N,S,64]
  %c0 = equal(%x, %mix) : bool[N,S,64]
  %c1b = not_equal(%x, %mix) : bool[N,S,64]
  %c2 = less(%x, %mix) : bool[N,S,64]
  %c3 = less_equal(%x, %mix) : bool[N,S,64]
  %c4 = greater(%x, %mix) : bool[N,S,64]
  %c5 = greater_equal(%x, %mix) : bool[N,S,64]
  %cmp = concat(%c0, %c1b, %c2, %c3, %c4, %c5) {axis=2} : bool[N,S,384]
  %misc = cast(%cmp) {to=f16} : f16[N,S,384]
  %cat = concat(%x, %x) {axis=-1} : f32[N,S,128]
  %idx = constant [0, 2, -1] : i64[3]
  %ga = gather(%x, %idx) {axis=2} : f32[N,S,3]
  %fused = fusion(%x, %rsum) {body=graph @fused_0(%p0: f32[N,S,64], %p1: f32[N,S]) -> (%o) {
    %u = unsqueeze(%p1) {axes=[2]} : f32[N,S,1]
    %o = mul(%p0, %u) : f32[N,S,64]
  }} : f32[N,S,64]
  %am = arg_max(%x) {axis=2, keepdims=false} : i64[N,S]
  %an = arg_min(%x) {select_last_index=true} : i64[1,S,64]
  %ids3 = unsqueeze(%ids) {axes=[2]} : i64[N,S,1]
  %ge = gather_elements(%x, %ids3) {axis=2} : f32[N,S,1]
  %se = scatter_elements(%x, %ids3, %ge) {axis=2, reduction=max} : f32[N,S,64]
  %t0 = sin(%se) : f32[N,S,64]
  %t1 = cos(%t0) : f32[N,S,64]
  %t2 = tan(%t1) : f32[N,S,64]
  %t3 = asin(%t2) : f32[N,S,64]
  %t4 = acos(%t3) : f32[N,S,64]
  %t5 = atan(%t4) : f32[N,S,64]
  %t6 = sinh(%t5) : f32[N,S,64]
  %t7 = cosh(%t6) : f32[N,S,64]
  %t8 = asinh(%t7) : f32[N,S,64]
  %t9 = acosh(%t8) : f32[N,S,64]
  %t10 = atanh(%t9) : f32[N,S,64]
  %t11 = floor(%t10) : f32[N,S,64]
  %t12 = ceil(%t11) : f32[N,S,64]
  %t13 = round(%t12) : f32[N,S,64]
}
)kir";

Graph MustParse(std::string_view text) {
  StatusOr<Graph> g = ParseGraph(text);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? std::move(g).value() : Graph("failed");
}

const Node* FindNode(const Graph& g, const std::string& result) {
  const Value* v = g.FindValue(result);
  return v ? v->producer() : nullptr;
}

void CollectOps(const Graph& g, std::set<OpKind>* ops) {
  for (const auto& n : g.nodes()) {
    ops->insert(n->op());
    if (n->op() == OpKind::kFusion) CollectOps(n->GetGraph(), ops);
  }
}

TEST(ParserTest, EveryOpRoundTripsExactlyAndVerifies) {
  StatusOr<Graph> g = ParseGraph(kEveryOp, "every.kir");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  Status verified = Verify(*g);
  EXPECT_TRUE(verified.ok()) << verified.ToString();
  EXPECT_EQ(PrintGraph(*g), kEveryOp);

  std::set<OpKind> used;
  CollectOps(*g, &used);
  for (int i = 0; i < kNumOpKinds; ++i) {
    EXPECT_TRUE(used.count(static_cast<OpKind>(i))) << "op not covered: "
                                                     << OpName(static_cast<OpKind>(i));
  }
  StatusOr<Graph> again = ParseGraph(PrintGraph(*g));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  std::string why;
  EXPECT_TRUE(StructurallyEqual(*g, *again, &why)) << why;
}

TEST(ParserTest, HeaderSymbolsInputsAndOutputs) {
  Graph g = MustParse(kEveryOp);
  EXPECT_EQ(g.name(), "every_op");
  ASSERT_EQ(g.symbols().size(), 2u);
  EXPECT_EQ(g.symbols().at("N"), (SymbolRange{1, 64}));
  EXPECT_EQ(g.symbols().at("S"), (SymbolRange{16, 512}));
  ASSERT_EQ(g.inputs().size(), 4u);
  EXPECT_EQ(g.inputs()[1]->name(), "x");
  EXPECT_EQ(g.inputs()[1]->type(),
            (TensorType{DType::kF32, {Dim::Symbol("N"), Dim::Symbol("S"), 64}}));
  EXPECT_EQ(g.inputs()[3]->dtype(), DType::kBool);
  // Outputs name values defined later in the body.
  ASSERT_EQ(g.outputs().size(), 13u);
  EXPECT_EQ(g.outputs()[0]->name(), "logits");
  EXPECT_EQ(g.outputs()[0]->producer()->op(), OpKind::kGemm);
  EXPECT_EQ(g.outputs()[12]->name(), "pw");
}

TEST(ParserTest, AttributesHoldTheWrittenValues) {
  Graph g = MustParse(kEveryOp);
  const Node* conv = FindNode(g, "c1");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->GetInts("pad"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(conv->GetInts("stride"), (std::vector<int64_t>{1, 1}));  // default, not stored
  EXPECT_FALSE(conv->HasAttr("stride"));
  // Epilogue operands follow the explicit inputs.
  ASSERT_EQ(conv->num_inputs(), 3);
  EXPECT_EQ(conv->num_explicit_inputs(), 2);
  EXPECT_EQ(conv->input(2)->name(), "conv1.b");
  ASSERT_EQ(conv->GetEpilogue().size(), 2u);
  EXPECT_EQ(conv->GetEpilogue()[0].kind, EpilogueOp::Kind::kBias);
  EXPECT_EQ(conv->GetEpilogue()[1].kind, EpilogueOp::Kind::kRelu);

  const Node* logits = FindNode(g, "logits");
  EXPECT_TRUE(logits->GetBool("trans_b"));
  EXPECT_EQ(logits->GetFloat("alpha"), 0.5);
  const Epilogue& ep = logits->GetEpilogue();
  ASSERT_EQ(ep.size(), 3u);
  EXPECT_EQ(ep[2].kind, EpilogueOp::Kind::kCast);
  EXPECT_EQ(ep[2].dtype, DType::kF16);
  EXPECT_EQ(logits->output()->dtype(), DType::kF16);

  const Node* up = FindNode(g, "up");
  EXPECT_EQ(up->GetEpilogue()[0].kind, EpilogueOp::Kind::kScale);
  EXPECT_EQ(up->GetEpilogue()[0].scale, 0.5);
  EXPECT_EQ(up->num_inputs(), 2);

  const Node* att_out = FindNode(g, "att_out");
  ASSERT_EQ(att_out->num_inputs(), 3);
  EXPECT_EQ(att_out->input(2)->name(), "res");  // add(%res)

  Dim n = Dim::Symbol("N"), s = Dim::Symbol("S");
  EXPECT_EQ(FindNode(g, "att2")->GetDims("shape"), (std::vector<Dim>{n * s, 64}));
  EXPECT_EQ(FindNode(g, "att2")->output()->shape(), (Shape{n * s, 64}));
  EXPECT_EQ(FindNode(g, "sl")->GetDims("ends"), (std::vector<Dim>{s - 1}));
  EXPECT_EQ(FindNode(g, "sl")->GetDims("starts"), (std::vector<Dim>{1}));
  EXPECT_EQ(FindNode(g, "rs")->GetFloats("scales"), (std::vector<double>{0.5, 0.5}));
  EXPECT_EQ(FindNode(g, "rs")->GetEnum("coordinate_mode"), "align_corners");
  EXPECT_EQ(FindNode(g, "a12")->GetFloat("min"), 0.0);
  EXPECT_EQ(FindNode(g, "a12")->GetFloat("max"), 6.0);
  EXPECT_EQ(FindNode(g, "misc")->GetDType("to"), DType::kF16);
  EXPECT_EQ(FindNode(g, "cat")->GetInt("axis"), -1);
  EXPECT_EQ(FindNode(g, "rmean")->GetBool("keepdims"), true);

  const Node* split = FindNode(g, "q");
  ASSERT_EQ(split->num_outputs(), 3);
  EXPECT_EQ(split->output(2)->name(), "v");
  EXPECT_EQ(split->output(2)->index(), 2);
}

TEST(ParserTest, WeightsAndConstantsBecomeSourceAttrs) {
  Graph g = MustParse(kEveryOp);
  const Node* w = FindNode(g, "qkv.w");
  ASSERT_EQ(w->op(), OpKind::kWeight);
  EXPECT_EQ(w->GetString("name"), "attn.qkv.weight");
  EXPECT_EQ(w->GetDType("dtype"), DType::kF32);
  EXPECT_EQ(w->GetInts("shape"), (std::vector<int64_t>{192, 64}));
  const Node* c = FindNode(g, "idx");
  ASSERT_EQ(c->op(), OpKind::kConstant);
  EXPECT_EQ(c->GetFloats("value"), (std::vector<double>{0, 2, -1}));
  EXPECT_EQ(c->GetDType("dtype"), DType::kI64);
  EXPECT_EQ(c->GetInts("shape"), (std::vector<int64_t>{3}));
}

TEST(ParserTest, NestedGraphInheritsSymbolsAndHasItsOwnNames) {
  Graph g = MustParse(kEveryOp);
  const Node* f = FindNode(g, "fused");
  ASSERT_EQ(f->op(), OpKind::kFusion);
  const Graph& body = f->GetGraph();
  EXPECT_EQ(body.name(), "fused_0");
  EXPECT_EQ(body.symbols(), g.symbols());
  ASSERT_EQ(body.inputs().size(), 2u);
  EXPECT_EQ(body.inputs()[1]->type().ToString(), "f32[N,S]");
  ASSERT_EQ(body.nodes().size(), 2u);
  EXPECT_EQ(body.outputs()[0]->name(), "o");
  EXPECT_EQ(g.FindValue("o"), nullptr);  // body values do not leak into the parent
  EXPECT_EQ(body.nodes()[1]->line(), 91);
}

TEST(ParserTest, NodesRememberTheirLine) {
  Graph g = MustParse(kEveryOp);
  EXPECT_EQ(g.nodes()[0]->line(), 2);
  EXPECT_EQ(FindNode(g, "c1")->line(), 8);
  EXPECT_EQ(FindNode(g, "fused")->line(), 89);
}

TEST(ParserTest, CommentsAndFreeSpacingGiveTheCanonicalText) {
  const char* text =
      "// RUN: nothing\n"
      "graph   @g ( %x :f32 [ N , 4 ] )->( %y )  where N in [ 1 ,8 ]{ // header\n"
      "\n"
      "  %c=constant[ 2 ]:f32[ ]   // a scalar\n"
      "    %y = mul( %x,%c ) : f32[N,4]}  // trailing\n"
      "// end\n";
  Graph g = MustParse(text);
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[N,4]) -> (%y) where N in [1, 8] {\n"
            "  %c = constant [2.0] : f32[]\n"
            "  %y = mul(%x, %c) : f32[N,4]\n"
            "}\n");
  EXPECT_EQ(g.nodes()[1]->line(), 5);
}

TEST(ParserTest, DimExpressionsUseDimArithmetic) {
  Graph g = MustParse(
      "graph @g(%x: f32[(N+1)*2-N, 2*S*3, -(-4), S-1, N*(S+1)]) -> (%x) "
      "where N in [1, 8], S in [2, 9] {\n}\n");
  Dim n = Dim::Symbol("N"), s = Dim::Symbol("S");
  EXPECT_EQ(g.inputs()[0]->shape(), (Shape{n + 2, s * 6, 4, s - 1, n * s + n}));
  EXPECT_EQ(g.inputs()[0]->type().ToString(), "f32[N+2,S*6,4,S-1,N+N*S]");
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[N+2,S*6,4,S-1,N+N*S]) -> (%x) where N in [1, 8], S in [2, 9] {\n"
            "}\n");
}

TEST(ParserTest, EscapedStringsAndQuotedNames) {
  const char* text =
      "graph @\"my graph\"() -> (%\"w 0\") {\n"
      "  %\"w 0\" = weight \"a \\\"q\\\" \\\\ b\\nc\\td\\x01\" : f16[2]\n"
      "}\n";
  Graph g = MustParse(text);
  EXPECT_EQ(g.name(), "my graph");
  EXPECT_EQ(g.nodes()[0]->output()->name(), "w 0");
  EXPECT_EQ(g.nodes()[0]->GetString("name"), std::string("a \"q\" \\ b\nc\td\x01"));
  EXPECT_EQ(PrintGraph(g), text);
}

TEST(ParserTest, FloatsIntsAndSpecialValuesRoundTrip) {
  const char* text =
      "graph @consts() -> (%f, %i, %b, %h) {\n"
      "  %f = constant [1.0, -0.5, 1e-05, 3.4028234663852886e+38, inf, -inf, -0.0, 0.1] : f32[8]\n"
      "  %i = constant [-9007199254740992, 0, 7] : i64[3]\n"
      "  %b = constant [1, 0] : bool[2]\n"
      "  %h = clip(%f) {min=-inf, max=1e+20} : f32[8]\n"
      "}\n";
  Graph g = MustParse(text);
  EXPECT_EQ(PrintGraph(g), text);
  std::vector<double> f = g.nodes()[0]->GetFloats("value");
  ASSERT_EQ(f.size(), 8u);
  EXPECT_EQ(f[2], 1e-5);
  EXPECT_EQ(f[3], 3.4028234663852886e+38);
  EXPECT_TRUE(std::isinf(f[5]) && f[5] < 0);
  EXPECT_TRUE(std::signbit(f[6]));
  EXPECT_EQ(g.nodes()[1]->GetFloats("value")[0], -9007199254740992.0);
  EXPECT_EQ(g.nodes()[3]->GetFloat("min"), -INFINITY);
  // Integers in float attributes and lists are widened by NormalizeAttrs.
  Graph w = MustParse(
      "graph @g(%x: f32[1,1,4,4]) -> (%y) {\n"
      "  %y = resize(%x) {scales=[2,2]} : f32[1,1,8,8]\n"
      "}\n");
  EXPECT_EQ(w.nodes()[0]->GetFloats("scales"), (std::vector<double>{2.0, 2.0}));
  EXPECT_NE(PrintGraph(w).find("scales=[2.0,2.0]"), std::string::npos) << PrintGraph(w);
}

TEST(ParserTest, DefaultValuedAttributesAreDropped) {
  Graph g = MustParse(
      "graph @g(%x: f32[2,3]) -> (%y) {\n"
      "  %y = softmax(%x) {axis=-1} : f32[2,3]\n"
      "}\n");
  EXPECT_TRUE(g.nodes()[0]->attrs().empty());
  EXPECT_EQ(PrintGraph(g),
            "graph @g(%x: f32[2,3]) -> (%y) {\n"
            "  %y = softmax(%x) : f32[2,3]\n"
            "}\n");
}

// conv2d's max_pool prints after the epilogue (schema order) and reads back to the same list;
// an empty list is the default and disappears.
TEST(ParserTest, ConvMaxPoolRoundTrips) {
  constexpr const char kText[] =
      "graph @g(%x: f16[N,37,45,4]) -> (%y, %z) where N in [1, 8] {\n"
      "  %w = weight \"stem.weight\" : f16[16,7,7,4]\n"
      "  %b = weight \"stem.bias\" : f16[16]\n"
      "  %y = conv2d(%x, %w) {stride=[2,2], pad=[3,3,3,3], layout=nhwc, epilogue=[bias(%b), relu], "
      "max_pool=[3,2,2,1,1,0,2,1]} : f16[N,10,23,16]\n"
      "  %z = conv2d(%x, %w) {stride=[2,2], pad=[3,3,3,3], layout=nhwc} : f16[N,19,23,16]\n"
      "}\n";
  Graph g = MustParse(kText);
  EXPECT_TRUE(Verify(g).ok()) << Verify(g).ToString();
  EXPECT_EQ(PrintGraph(g), kText);
  EXPECT_EQ(FindNode(g, "y")->GetInts("max_pool"), (std::vector<int64_t>{3, 2, 2, 1, 1, 0, 2, 1}));
  Graph empty = MustParse(
      "graph @g(%x: f32[1,2,4,4], %w: f32[2,2,3,3]) -> (%y) {\n"
      "  %y = conv2d(%x, %w) {max_pool=[]} : f32[1,2,2,2]\n"
      "}\n");
  EXPECT_TRUE(empty.nodes()[0]->attrs().empty());
  EXPECT_TRUE(Verify(empty).ok());
}

// Every failure is a ParseError "<input>:LINE:COL: ..." (never an abort), whatever the text.
void ExpectCleanResult(std::string_view text) {
  StatusOr<Graph> g = ParseGraph(text);
  if (g.ok()) return;
  EXPECT_EQ(g.status().code(), StatusCode::kParseError) << text;
  static const std::regex kPrefix("<input>:[0-9]+:[0-9]+: .+");
  EXPECT_TRUE(std::regex_match(g.status().message(), kPrefix)) << g.status().message();
}

TEST(ParserTest, TruncatedTextsFailCleanly) {
  std::string_view text = kEveryOp;
  for (size_t n = 0; n < text.size(); n += 31) {  // a prime step hits every kind of token
    StatusOr<Graph> g = ParseGraph(text.substr(0, n));
    EXPECT_FALSE(g.ok()) << "prefix of " << n << " bytes parsed";
    ExpectCleanResult(text.substr(0, n));
  }
}

TEST(ParserTest, MangledTextsFailCleanly) {
  std::string text = kEveryOp;
  // Delete, duplicate or replace one byte at many positions.
  for (size_t i = 0; i < text.size(); i += 71) {
    std::string deleted = text.substr(0, i) + text.substr(i + 1);
    ExpectCleanResult(deleted);
    std::string doubled = text.substr(0, i + 1) + text.substr(i);
    ExpectCleanResult(doubled);
    for (char c : {'(', '-', '%', '"', '\\', '\xff'}) {
      std::string replaced = text;
      replaced[i] = c;
      ExpectCleanResult(replaced);
    }
  }
}

TEST(ParserTest, GarbageFailsCleanly) {
  const char* garbage[] = {
      "", " ", "graph", "graph @", "graph @g", "graph @g(", "graph @g(%", "graph @g(%x",
      "graph @g(%x:", "graph @g(%x: f32", "graph @g(%x: f32[", "graph @g() ->", "graph @g() -> (",
      "graph @g() -> () where", "graph @g() -> () where N in [", "graph @g() -> () {",
      "graph @g() -> () {}}", "}}}}", "%%%%", "\"", "@@", "graph @g() -> () {\n %a = \n}",
      "graph @g() -> () where N in [5, 1] {}",
      "graph @g() -> () where N in [1, 99999999999999999999] {}",
      "graph @g(%x: f32[N]) -> (%x) {}",
      "graph @g(%x: f32[((((((((((((((((1))))))))))))))))]) -> () {}",
      "\x01\x02\x03",
      "graph @g() -> () { %a = constant [1e999] : f32[] }",
      "graph @g() -> () { %a = weight \"w\" : f32[N] }",
      "graph @g() -> (%a) { %a = fusion() {body=7} : f32[] }",
  };
  for (const char* text : garbage) ExpectCleanResult(text);
  EXPECT_TRUE(ParseGraph("graph @g() -> () {}").ok());  // the verifier rejects it, not the parser
  ExpectCleanResult(std::string(100000, '('));
  ExpectCleanResult("graph @g(%x: f32[" + std::string(100000, '-') + "1]) -> () {}");
  std::string deep = "graph @g() -> () {\n";
  for (int i = 0; i < 200; ++i) {
    deep += "%f" + std::to_string(i) + " = fusion() {body=graph @b() -> () {\n";
  }
  ExpectCleanResult(deep);
}

}  // namespace
}  // namespace kiln
