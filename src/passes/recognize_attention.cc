#include "passes/recognize_attention.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ops/interpreter.h"
#include "ops/op_util.h"
#include "passes/rewrite_util.h"
#include "support/tensor.h"

namespace kiln {
namespace {

const std::vector<int64_t> kSwapSeqHeads = {0, 2, 1, 3};  // BSHD <-> BHSD
const std::vector<int64_t> kSwapLast = {0, 1, 3, 2};      // k4 -> k4^T
const std::vector<int64_t> kBshdToBhds = {0, 2, 3, 1};    // K [B,Sk,H,D] -> [B,H,D,Sk]

// Everything one matched chain consists of.
struct Match {
  Value* q = nullptr;
  Value* k = nullptr;
  Value* v = nullptr;
  Value* mask = nullptr;  // nullptr when there is no additive (non-causal) mask
  bool causal = false;    // a causal where/mask was matched
  int64_t k_group = 1;    // K's heads were repeated k_group times for the query heads
  int64_t v_group = 1;    // likewise V's
  double scale = 1.0;
  Node* out_gemm = nullptr;  // o = gemm(p, v4)
  Node* final_t = nullptr;   // y = transpose(o, [0,2,1,3]), or nullptr (BHSD consumer)
  std::vector<Node*> nodes;  // the chain's nodes, consumers before producers
};

// The operand of transpose `v` when it has exactly `perm` and a rank-4 operand, else nullptr.
Value* TransposeSource(const Value* v, const std::vector<int64_t>& perm) {
  const Node* t = v->producer();
  if (t == nullptr || t->op() != OpKind::kTranspose || t->GetInts("perm") != perm) return nullptr;
  return t->input(0)->rank() == 4 ? t->input(0) : nullptr;
}

// The value of a one-element float constant, rounded to its dtype; may be infinite.
std::optional<double> ScalarValue(const Value* v) {
  std::optional<FloatScalar> s = FloatScalarConstant(v);
  return s ? std::optional<double>(s->rounded) : std::nullopt;
}

std::optional<double> ScalarConstant(const Value* v) {
  std::optional<double> value = ScalarValue(v);
  return value && std::isfinite(*value) ? value : std::nullopt;
}

// v = mul(x, c) | mul(c, x) | div(x, c) with c a one-element constant that does not change x's
// type: returns x and the factor v = x * factor.
struct Scaled {
  Value* x = nullptr;
  double factor = 1.0;
};
std::optional<Scaled> MatchScalarScale(const Value* v) {
  const Node* n = v->producer();
  if (n == nullptr || n->num_inputs() != 2) return std::nullopt;
  for (int i = 0; i < 2; ++i) {
    if (n->op() != OpKind::kMul && !(n->op() == OpKind::kDiv && i == 0)) continue;
    Value* x = n->input(i);
    std::optional<double> c = ScalarConstant(n->input(1 - i));
    if (!c || x->type() != v->type()) continue;
    if (n->op() == OpKind::kMul) return Scaled{x, *c};
    if (*c == 0.0) return std::nullopt;
    return Scaled{x, 1.0 / *c};
  }
  return std::nullopt;
}

// A gemm with no c operand and no epilogue.
bool IsPlainGemm(const Node* n) {
  return n != nullptr && n->op() == OpKind::kGemm && n->num_inputs() == 2 &&
         n->GetEpilogue().empty() && !n->GetBool("trans_a");
}

void AddNodeOnce(std::vector<Node*>& nodes, Node* n) {
  if (n != nullptr && std::find(nodes.begin(), nodes.end(), n) == nodes.end()) nodes.push_back(n);
}

// Records a matched scalar mul/div and its constant (the other operand is the chain's).
void AddScaleNodes(std::vector<Node*>& nodes, Node* scale) {
  AddNodeOnce(nodes, scale);
  for (Value* in : scale->inputs()) {
    if (in->producer() != nullptr && in->producer()->op() == OpKind::kConstant) {
      AddNodeOnce(nodes, in->producer());
    }
  }
}

// Undoes a grouped-query head repeat (HF `repeat_kv`): v = reshape(expand(u)) where u is `base`
// with a 1 inserted after its head axis (an unsqueeze or reshape), expand turns that 1 into a
// static G and nothing else, and reshape merges [Hkv, G] into Hkv*G heads. Query head h then
// reads base head h / G, as the attention op's grouped heads do (a tiled repeat, h % Hkv, has
// the 1 before the head axis and is not matched). Returns `base` and sets `group` to G, or
// returns `v` itself with group 1 when v is no such repeat.
Value* UnrepeatHeads(Value* v, int64_t head_axis, std::vector<Node*>& nodes, int64_t* group) {
  *group = 1;
  Node* merge = v->producer();
  if (merge == nullptr || merge->op() != OpKind::kReshape || v->rank() != 4) return v;
  Node* expand = merge->input(0)->producer();
  if (expand == nullptr || expand->op() != OpKind::kExpand) return v;
  Node* split = expand->input(0)->producer();
  if (split == nullptr || (split->op() != OpKind::kUnsqueeze && split->op() != OpKind::kReshape)) {
    return v;
  }
  Value* base = split->input(0);
  if (base->rank() != 4 || base->dtype() != v->dtype()) return v;
  Shape ones = base->shape();
  ones.insert(ones.begin() + head_axis + 1, Dim(1));
  const Shape& expanded = expand->output()->shape();
  if (split->output()->shape() != ones || expanded.size() != ones.size()) return v;
  const Dim& g = expanded[head_axis + 1];
  Shape want = ones;
  want[head_axis + 1] = g;
  if (!g.is_static() || g.value() < 1 || expanded != want) return v;
  Shape merged = base->shape();
  merged[head_axis] = merged[head_axis] * g;
  if (v->shape() != merged) return v;
  AddNodeOnce(nodes, merge);
  AddNodeOnce(nodes, expand);
  AddNodeOnce(nodes, split);
  *group = g.value();
  return base;
}

// The BSHD tensor behind a BHSD operand `bhsd` of a gemm: transpose(X, [0,2,1,3]), with an
// optional head repeat on either side of the transpose (sets `group`), or nullptr.
Value* BshdSource(Value* bhsd, std::vector<Node*>& nodes, int64_t* group) {
  Value* base = UnrepeatHeads(bhsd, 1, nodes, group);
  Value* x = TransposeSource(base, kSwapSeqHeads);
  if (x == nullptr) return nullptr;
  AddNodeOnce(nodes, base->producer());
  if (base != bhsd) return x;
  return UnrepeatHeads(x, 2, nodes, group);
}

// K from the scores gemm's b operand: k4 with trans_b, or k4^T / K^T without, through an
// optional scalar scale (ONNX exports scale q and k by sqrt(scale) each), which multiplies
// `scale`; sets `group` when K's heads were repeated.
Value* MatchKey(const Node& scores, double& scale, std::vector<Node*>& nodes, int64_t* group) {
  Value* b = scores.input(1);
  if (std::optional<Scaled> s = MatchScalarScale(b)) {
    AddScaleNodes(nodes, b->producer());
    scale *= s->factor;
    b = s->x;
  }
  if (scores.GetBool("trans_b")) return BshdSource(b, nodes, group);
  if (Value* k4 = TransposeSource(b, kSwapLast)) {
    AddNodeOnce(nodes, b->producer());
    return BshdSource(k4, nodes, group);
  }
  Value* k = TransposeSource(b, kBshdToBhds);
  if (k == nullptr) return nullptr;
  AddNodeOnce(nodes, b->producer());
  return UnrepeatHeads(k, 2, nodes, group);
}

// Q from the scores gemm's a operand, through an optional scalar pre-scale on either side of
// the transpose; multiplies `scale` by that factor.
Value* MatchQuery(const Node& scores, double& scale, std::vector<Node*>& nodes) {
  Value* a = scores.input(0);
  if (std::optional<Scaled> s = MatchScalarScale(a)) {
    AddScaleNodes(nodes, a->producer());
    scale *= s->factor;
    a = s->x;
  }
  Value* q = TransposeSource(a, kSwapSeqHeads);
  if (q == nullptr) return nullptr;
  AddNodeOnce(nodes, a->producer());
  if (std::optional<Scaled> s = MatchScalarScale(q)) {
    AddScaleNodes(nodes, q->producer());
    scale *= s->factor;
    q = s->x;
  }
  return q;
}

// `s` = [scale(] gemm(q4, k^T) [)], each link used only by the next one.
bool MatchScores(const Graph& graph, Value* s, Match& m) {
  if (SoleUser(graph, s) == nullptr) return false;
  if (std::optional<Scaled> scaled = MatchScalarScale(s)) {
    AddScaleNodes(m.nodes, s->producer());
    m.scale *= scaled->factor;
    s = scaled->x;
    if (SoleUser(graph, s) == nullptr) return false;
  }
  Node* gemm = s->producer();
  if (!IsPlainGemm(gemm)) return false;
  AddNodeOnce(m.nodes, gemm);
  m.scale *= static_cast<double>(static_cast<float>(gemm->GetFloat("alpha")));
  m.k = MatchKey(*gemm, m.scale, m.nodes, &m.k_group);
  m.q = MatchQuery(*gemm, m.scale, m.nodes);
  return m.q != nullptr && m.k != nullptr;
}

// Q [B,Sq,H,D], K [B,Sk,Hkv,D], V [B,Sk,Hkv,Dv] of one dtype, exactly (no broadcasting), where
// H = Hkv * G and the gemms saw K and V repeated G times (G = 1: no grouped-query heads).
bool ShapesAgree(const Match& m) {
  const Shape& q = m.q->shape();
  const Shape& k = m.k->shape();
  const Shape& v = m.v->shape();
  if (q.size() != 4 || k.size() != 4 || v.size() != 4) return false;
  if (m.q->dtype() != m.k->dtype() || m.q->dtype() != m.v->dtype()) return false;
  if (q[0] != k[0] || q[0] != v[0] || k[2] != v[2]) return false;
  if (q[2] != k[2] * Dim(m.k_group) || q[2] != v[2] * Dim(m.v_group)) return false;
  if (q[3] != k[3] || k[1] != v[1]) return false;
  if (m.mask != nullptr && (m.mask->rank() > 4 || m.mask->dtype() != m.q->dtype())) return false;
  return std::isfinite(m.scale) && m.scale != 0.0;
}

// ---- causal masks

// Largest finite fill that counts as masking a position: exp(fill + spread) is 0 in f32 for any
// row whose scores spread less than 9896 (the header comment states this).
constexpr double kMaskingFill = -1e4;
// Bounds on the constant sub-graphs evaluated to decide whether a mask is causal.
constexpr int kMaxConeNodes = 32;
constexpr int64_t kMaxConeElements = int64_t{1} << 22;

// The nodes computing `v` from constants and weights with data alone (producers first), or
// nullopt when it reads a graph input, a weight without data or a tensor of non-static or too
// large a shape.
std::optional<std::vector<Node*>> ConstantCone(const Graph& graph, const Value* v) {
  std::vector<Node*> order;
  std::vector<std::pair<Node*, bool>> stack = {{v->producer(), false}};
  while (!stack.empty()) {
    auto [n, expanded] = stack.back();
    stack.pop_back();
    if (n == nullptr) return std::nullopt;  // a graph input
    if (std::find(order.begin(), order.end(), n) != order.end()) continue;
    if (expanded) {
      order.push_back(n);
      continue;
    }
    if (static_cast<int>(order.size() + stack.size()) > kMaxConeNodes) return std::nullopt;
    for (const Value* out : n->outputs()) {
      std::optional<int64_t> count = NumElements(out->shape()).static_value();
      for (const Dim& d : out->shape()) {
        if (!d.is_static()) count.reset();
      }
      if (!count || *count > kMaxConeElements) return std::nullopt;
    }
    if (n->op() == OpKind::kWeight &&
        (graph.weights() == nullptr || !graph.weights()->count(n->GetString("name")))) {
      return std::nullopt;
    }
    stack.push_back({n, true});
    for (const Value* in : n->inputs()) stack.push_back({in->producer(), false});
  }
  return order;
}

// The value of `v` when a constant cone computes it (run on the reference interpreter).
std::optional<Tensor> EvaluateConstant(const Graph& graph, const Value* v,
                                       std::vector<Node*>& nodes) {
  std::optional<std::vector<Node*>> cone = ConstantCone(graph, v);
  if (!cone) return std::nullopt;
  Graph g("mask");
  g.set_weights(graph.weights());
  std::unordered_map<const Value*, Value*> copy;
  for (const Node* n : *cone) {
    std::vector<Value*> ins;
    for (const Value* in : n->inputs()) ins.push_back(copy.at(in));
    std::vector<std::pair<std::string, TensorType>> outs;
    for (const Value* out : n->outputs()) outs.emplace_back(out->name(), out->type());
    Node* c = g.AddNodeWithTypes(n->op(), std::move(ins), n->attrs(), std::move(outs));
    for (int i = 0; i < n->num_outputs(); ++i) copy[n->output(i)] = c->output(i);
  }
  g.SetOutputs({copy.at(v)});
  StatusOr<std::vector<Tensor>> out = Interpret(g, {});
  if (!out.ok() || out->size() != 1) return std::nullopt;
  for (Node* n : *cone) AddNodeOnce(nodes, n);
  return std::move((*out)[0]);
}

// What a causal mask holds at query row i, key column j (j > i is hidden).
enum class MaskKind {
  kKeepLower,  // bool, true where j <= i (where(c, s, fill))
  kHideUpper,  // bool, true where j > i (where(c, fill, s))
  kAdditive,   // float, 0 where j <= i, -inf or <= kMaskingFill where j > i
};

bool CausalElement(MaskKind kind, int64_t i, int64_t j, double value) {
  switch (kind) {
    case MaskKind::kKeepLower:
      return value == (j <= i ? 1.0 : 0.0);
    case MaskKind::kHideUpper:
      return value == (j > i ? 1.0 : 0.0);
    case MaskKind::kAdditive:
      return j <= i ? value == 0.0 : value <= kMaskingFill;
  }
  return false;
}

// Whether every [rows, cols] matrix of `v` (its last two axes) is exactly causal for `kind`:
// a constant cone whose value has that pattern, or a slice of such a tensor that keeps its
// top-left corner on every axis (start 0, step 1; e.g. GPT-2's bias[:, :, :S, :S]), which
// keeps the pattern for any window size.
bool CausalPattern(const Graph& graph, const Value* v, MaskKind kind, std::vector<Node*>& nodes) {
  Node* slice = v->producer();
  if (slice != nullptr && slice->op() == OpKind::kSlice) {
    const std::vector<int64_t>& steps = slice->GetInts("steps");
    const std::vector<Dim>& starts = slice->GetDims("starts");
    const bool corner =
        std::all_of(starts.begin(), starts.end(), [](const Dim& d) { return d == Dim(0); }) &&
        std::all_of(steps.begin(), steps.end(), [](int64_t st) { return st == 1; });
    if (corner && CausalPattern(graph, slice->input(0), kind, nodes)) {
      AddNodeOnce(nodes, slice);
      return true;
    }
  }
  if (v->rank() < 2) return false;
  std::optional<Tensor> t = EvaluateConstant(graph, v, nodes);
  if (!t) return false;
  const int64_t rows = t->dim(t->rank() - 2);
  const int64_t cols = t->dim(t->rank() - 1);
  for (int64_t k = 0; k < t->numel(); ++k) {
    if (!CausalElement(kind, (k / cols) % rows, k % cols, t->GetF64(k))) return false;
  }
  return true;
}

// Whether `mask` (of kind `kind`, broadcast into scores [B,H,Sq,Sk]) hides exactly the keys
// j > i of every query row i: its last two dims are Sq and Sk themselves (no broadcasting
// there) and its pattern is causal.
bool IsCausalMask(const Graph& graph, const Value* mask, const Shape& scores, MaskKind kind,
                  std::vector<Node*>& nodes) {
  const Shape& s = mask->shape();
  if (s.size() < 2 || s.size() > 4 || s[s.size() - 2] != scores[2] || s.back() != scores[3]) {
    return false;
  }
  if ((kind == MaskKind::kAdditive) != IsFloat(mask->dtype())) return false;
  return CausalPattern(graph, mask, kind, nodes);
}

// A one-element constant that hides a position: -inf, or finite and <= kMaskingFill.
bool IsMaskingFill(const Value* v) {
  std::optional<double> value = ScalarValue(v);
  return value && !std::isnan(*value) && *value <= kMaskingFill;
}

// The scores chain under `x` (softmax's operand), through up to `steps_left` mask steps peeled
// from the softmax side: where(keep, s, fill) / where(hide, fill, s) and add(s, m) with a causal
// m set `causal`; add(s, m) with any other m makes m the mask operand (one of each at most).
std::optional<Match> MatchMaskedScores(const Graph& graph, Value* x, const Match& m,
                                       int steps_left) {
  {
    Match attempt = m;
    if (MatchScores(graph, x, attempt) && ShapesAgree(attempt)) return attempt;
  }
  Node* n = x->producer();
  if (steps_left == 0 || n == nullptr || SoleUser(graph, x) == nullptr || x->rank() != 4) {
    return std::nullopt;
  }
  // Continues below this step with `s` as the scores; the step's other operands must not
  // broadcast s to a larger shape.
  auto below = [&](Match attempt, Value* s) -> std::optional<Match> {
    if (s->type() != x->type()) return std::nullopt;
    AddNodeOnce(attempt.nodes, n);
    return MatchMaskedScores(graph, s, attempt, steps_left - 1);
  };
  if (n->op() == OpKind::kWhere && !m.causal) {
    for (int si : {1, 2}) {
      const MaskKind kind = si == 1 ? MaskKind::kKeepLower : MaskKind::kHideUpper;
      Value* fill = n->input(3 - si);
      Match attempt = m;
      if (!IsMaskingFill(fill) ||
          !IsCausalMask(graph, n->input(0), x->shape(), kind, attempt.nodes)) {
        continue;
      }
      AddNodeOnce(attempt.nodes, fill->producer());
      attempt.causal = true;
      if (std::optional<Match> r = below(std::move(attempt), n->input(si))) return r;
    }
  }
  if (n->op() == OpKind::kAdd && n->input(0) != n->input(1)) {
    for (int i = 0; i < 2; ++i) {
      Value* other = n->input(1 - i);
      Match causal = m;
      if (!m.causal && IsCausalMask(graph, other, x->shape(), MaskKind::kAdditive, causal.nodes)) {
        causal.causal = true;
        if (std::optional<Match> r = below(std::move(causal), n->input(i))) return r;
      }
      if (m.mask == nullptr) {
        Match masked = m;
        masked.mask = other;
        if (std::optional<Match> r = below(std::move(masked), n->input(i))) return r;
      }
    }
  }
  return std::nullopt;
}

// The whole chain around `softmax`, or nullopt.
std::optional<Match> MatchAt(const Graph& graph, Node* softmax) {
  const Value* p = softmax->output();
  if (p->rank() != 4) return std::nullopt;
  StatusOr<int64_t> axis = NormalizeAxis(*softmax, softmax->GetInt("axis"), 4);
  if (!axis.ok() || *axis != 3) return std::nullopt;
  Node* out_gemm = SoleUser(graph, p);
  if (!IsPlainGemm(out_gemm) || out_gemm->input(0) != p || out_gemm->GetBool("trans_b") ||
      out_gemm->GetFloat("alpha") != 1.0) {
    return std::nullopt;
  }
  Match m;
  m.out_gemm = out_gemm;
  Node* final_t = SoleUser(graph, out_gemm->output());
  if (final_t != nullptr && final_t->op() == OpKind::kTranspose &&
      final_t->GetInts("perm") == kSwapSeqHeads) {
    m.final_t = final_t;
    m.nodes.push_back(final_t);
  }
  m.nodes.push_back(out_gemm);
  m.nodes.push_back(softmax);
  m.v = BshdSource(out_gemm->input(1), m.nodes, &m.v_group);
  if (m.v == nullptr) return std::nullopt;

  return MatchMaskedScores(graph, softmax->input(0), m, /*steps_left=*/2);
}

Status Rewrite(Graph& graph, const Match& m) {
  Value* o = m.out_gemm->output();
  std::vector<Value*> operands = {m.q, m.k, m.v};
  if (m.mask != nullptr) operands.push_back(m.mask);
  Attrs attrs{{"causal", AttrValue(m.causal)}, {"scale", AttrValue(m.scale)}};
  StatusOr<Node*> attn = graph.AddNode(OpKind::kAttention, std::move(operands), std::move(attrs),
                                       {graph.FreshName(o->name() + ".attn")});
  if (!attn.ok()) {
    return InternalError("recognize-attention: building attention for " + m.out_gemm->Describe() +
                         " failed: " + attn.status().ToString());
  }
  // Every operand is defined before the scores gemm, hence before the output gemm.
  graph.MoveBefore(*attn, m.out_gemm);
  Value* result = (*attn)->output();
  Value* replaced = m.final_t != nullptr ? m.final_t->output() : o;
  if (m.final_t == nullptr) {
    Attrs perm{{"perm", AttrValue(kSwapSeqHeads)}};
    KILN_ASSIGN_OR_RETURN(Node * back, graph.AddNode(OpKind::kTranspose, {result}, std::move(perm),
                                                     {graph.FreshName(o->name() + ".bhsd")}));
    graph.MoveBefore(back, m.out_gemm);
    result = back->output();
  }
  if (result->type() != replaced->type()) {
    return InternalError("recognize-attention: " + m.out_gemm->Describe() + " has type " +
                         replaced->type().ToString() + " but the attention rewrite has " +
                         result->type().ToString());
  }
  const std::string name = replaced->name();
  graph.ReplaceAllUsesWith(replaced, result);
  RemoveDeadChainNodes(graph, m.nodes);
  return graph.RenameValue(result, name);
}

}  // namespace

StatusOr<bool> RecognizeAttentionPass::Run(Graph& graph) {
  // Softmax nodes are collected first; a rewrite removes only the nodes of its own chain, which
  // holds exactly one softmax, so the other pointers stay valid.
  std::vector<Node*> softmaxes;
  for (const auto& node : graph.nodes()) {
    if (node->op() == OpKind::kSoftmax) softmaxes.push_back(node.get());
  }
  bool changed = false;
  for (Node* softmax : softmaxes) {
    std::optional<Match> m = MatchAt(graph, softmax);
    if (!m) continue;
    KILN_RETURN_IF_ERROR(Rewrite(graph, *m));
    changed = true;
  }
  return changed;
}

}  // namespace kiln
