#include "passes/recognize_attention.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

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
  Value* mask = nullptr;  // nullptr when there is no add
  double scale = 1.0;
  Node* out_gemm = nullptr;  // o = gemm(p, v4)
  Node* final_t = nullptr;   // y = transpose(o, [0,2,1,3]), or nullptr (BHSD consumer)
  std::vector<Node*> nodes;  // the chain's nodes, consumers before producers
};

// The value with exactly one user node that uses it once, and that is not a graph output:
// a chain link nothing else reads. Returns that user, or nullptr.
Node* SoleUser(const Graph& graph, const Value* v) {
  if (IsGraphOutput(graph, v)) return nullptr;
  std::vector<Node*> users = graph.Users(v);
  if (users.size() != 1) return nullptr;
  const std::vector<Value*>& in = users[0]->inputs();
  return std::count(in.begin(), in.end(), v) == 1 ? users[0] : nullptr;
}

// The operand of transpose `v` when it has exactly `perm` and a rank-4 operand, else nullptr.
Value* TransposeSource(const Value* v, const std::vector<int64_t>& perm) {
  const Node* t = v->producer();
  if (t == nullptr || t->op() != OpKind::kTranspose || t->GetInts("perm") != perm) return nullptr;
  return t->input(0)->rank() == 4 ? t->input(0) : nullptr;
}

// The value of a one-element constant, rounded to its dtype (what arithmetic with it uses).
std::optional<double> ScalarConstant(const Value* v) {
  const Node* c = v->producer();
  if (c == nullptr || c->op() != OpKind::kConstant || !IsFloat(v->dtype())) return std::nullopt;
  for (const Dim& d : v->shape()) {
    if (!d.is_static() || d.value() != 1) return std::nullopt;
  }
  const std::vector<double>& values = c->GetFloats("value");
  if (values.empty()) return std::nullopt;
  Tensor rounded = Tensor::FromF64(v->dtype(), {}, std::vector<double>{values[0]});
  const double value = rounded.GetF64(0);
  return std::isfinite(value) ? std::optional<double>(value) : std::nullopt;
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

// K from the scores gemm's b operand: k4 with trans_b, or k4^T / K^T without.
Value* MatchKey(const Node& scores, std::vector<Node*>& nodes) {
  Value* b = scores.input(1);
  if (scores.GetBool("trans_b")) {
    AddNodeOnce(nodes, b->producer());
    return TransposeSource(b, kSwapSeqHeads);
  }
  if (Value* k4 = TransposeSource(b, kSwapLast)) {
    AddNodeOnce(nodes, b->producer());
    AddNodeOnce(nodes, k4->producer());
    return TransposeSource(k4, kSwapSeqHeads);
  }
  AddNodeOnce(nodes, b->producer());
  return TransposeSource(b, kBshdToBhds);
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
  m.k = MatchKey(*gemm, m.nodes);
  m.q = MatchQuery(*gemm, m.scale, m.nodes);
  return m.q != nullptr && m.k != nullptr;
}

// Q [B,Sq,H,D], K [B,Sk,H,D], V [B,Sk,H,Dv] of one dtype, exactly (no broadcasting, no GQA).
bool ShapesAgree(const Match& m) {
  const Shape& q = m.q->shape();
  const Shape& k = m.k->shape();
  const Shape& v = m.v->shape();
  if (q.size() != 4 || k.size() != 4 || v.size() != 4) return false;
  if (m.q->dtype() != m.k->dtype() || m.q->dtype() != m.v->dtype()) return false;
  if (q[0] != k[0] || q[0] != v[0] || q[2] != k[2] || q[2] != v[2]) return false;
  if (q[3] != k[3] || k[1] != v[1]) return false;
  if (m.mask != nullptr && (m.mask->rank() > 4 || m.mask->dtype() != m.q->dtype())) return false;
  return std::isfinite(m.scale) && m.scale != 0.0;
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
  Value* v4 = out_gemm->input(1);
  m.v = TransposeSource(v4, kSwapSeqHeads);
  if (m.v == nullptr) return std::nullopt;
  AddNodeOnce(m.nodes, v4->producer());

  Value* x = softmax->input(0);
  const Node* add = x->producer();
  if (add != nullptr && add->op() == OpKind::kAdd && SoleUser(graph, x) != nullptr &&
      add->input(0) != add->input(1)) {
    // Either operand may be the scores; the other is the mask.
    for (int i = 0; i < 2; ++i) {
      Match attempt = m;
      attempt.nodes.push_back(x->producer());
      attempt.mask = add->input(1 - i);
      if (add->input(i)->shape() != x->shape()) continue;  // the mask must not grow the scores
      if (MatchScores(graph, add->input(i), attempt) && ShapesAgree(attempt)) return attempt;
    }
  }
  if (MatchScores(graph, x, m) && ShapesAgree(m)) return m;
  return std::nullopt;
}

// Removes the chain's nodes that nothing uses any more (consumers first, repeated until no more
// go, since a producer only becomes dead once its consumer is removed).
void RemoveDeadChainNodes(Graph& graph, std::vector<Node*> nodes) {
  bool removed = true;
  while (removed) {
    removed = false;
    for (auto it = nodes.begin(); it != nodes.end();) {
      Node* n = *it;
      const bool dead = std::all_of(n->outputs().begin(), n->outputs().end(), [&](Value* v) {
        return graph.Users(v).empty() && !IsGraphOutput(graph, v);
      });
      if (dead) {
        graph.RemoveNode(n);
        it = nodes.erase(it);
        removed = true;
      } else {
        ++it;
      }
    }
  }
}

Status Rewrite(Graph& graph, const Match& m) {
  Value* o = m.out_gemm->output();
  std::vector<Value*> operands = {m.q, m.k, m.v};
  if (m.mask != nullptr) operands.push_back(m.mask);
  Attrs attrs{{"causal", AttrValue(false)}, {"scale", AttrValue(m.scale)}};
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
