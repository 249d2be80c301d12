#include "passes/recognize_gelu.h"

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "passes/rewrite_util.h"

namespace kiln {
namespace {

// Whether `v` is a one-element constant whose literal is `expected` to a relative 1e-3.
bool IsNear(const Value* v, double expected) {
  std::optional<FloatScalar> s = FloatScalarConstant(v);
  return s && std::abs(s->literal - expected) <= 1e-3 * std::abs(expected);
}

bool IsFloatDType(DType d) { return d == DType::kF32 || d == DType::kF16 || d == DType::kBF16; }

// The factors of the mul tree rooted at `root`: operands of muls, expanding a mul operand whose
// only reader is the tree. `muls` collects the tree's mul nodes.
void Factors(const Graph& graph, Node* root, std::vector<Value*>& factors,
             std::vector<Node*>& muls) {
  muls.push_back(root);
  for (Value* v : root->inputs()) {
    Node* p = v->producer();
    if (p != nullptr && p->op() == OpKind::kMul && SoleUser(graph, v) == root) {
      Factors(graph, p, factors, muls);
    } else {
      factors.push_back(v);
    }
  }
}

// x when `v` is add(erf(s), 1) with s = x / sqrt(2) or x * (1 / sqrt(2)), each link read only by
// the next; the links go to `nodes`. nullptr otherwise.
Value* ErfTermInput(const Graph& graph, const Value* v, std::vector<Node*>& nodes) {
  Node* add = v->producer();
  if (add == nullptr || add->op() != OpKind::kAdd) return nullptr;
  for (int i = 0; i < 2; ++i) {
    Node* erf = add->input(i)->producer();
    if (!IsNear(add->input(1 - i), 1.0) || erf == nullptr || erf->op() != OpKind::kErf ||
        SoleUser(graph, erf->output()) != add) {
      continue;
    }
    Node* s = erf->input(0)->producer();
    if (s == nullptr || SoleUser(graph, s->output()) != erf) return nullptr;
    Value* x = nullptr;
    if (s->op() == OpKind::kDiv && IsNear(s->input(1), std::sqrt(2.0))) x = s->input(0);
    for (int j = 0; j < 2 && s->op() == OpKind::kMul; ++j) {
      if (IsNear(s->input(1 - j), 1.0 / std::sqrt(2.0))) x = s->input(j);
    }
    if (x == nullptr) return nullptr;
    nodes.insert(nodes.end(), {add, erf, s});
    // The constants (1, sqrt(2) or its reciprocal) go too where nothing else reads them.
    for (const Value* c : {add->input(1 - i), s->input(0) == x ? s->input(1) : s->input(0)}) {
      nodes.push_back(c->producer());
    }
    return x;
  }
  return nullptr;
}

struct Match {
  Node* root = nullptr;  // the product gelu(x) replaces
  Value* x = nullptr;
  std::vector<Node*> nodes;  // the chain's nodes (candidates for removal)
};

std::optional<Match> MatchAt(const Graph& graph, Node* root) {
  if (root->op() != OpKind::kMul || !IsFloatDType(root->output()->dtype())) return std::nullopt;
  Match m;
  m.root = root;
  std::vector<Value*> factors;
  Factors(graph, root, factors, m.nodes);
  if (factors.size() != 3) return std::nullopt;
  for (int term = 0; term < 3; ++term) {
    if (!IsFloat(factors[term]->dtype()) || SoleUser(graph, factors[term]) == nullptr) continue;
    std::vector<Node*> links;
    Value* x = ErfTermInput(graph, factors[term], links);
    if (x == nullptr) continue;
    // The other two factors: x and 0.5, in either order.
    const Value* a = factors[(term + 1) % 3];
    const Value* b = factors[(term + 2) % 3];
    if (!((a == x && IsNear(b, 0.5)) || (b == x && IsNear(a, 0.5)))) continue;
    if (x->type() != root->output()->type()) return std::nullopt;
    m.x = x;
    m.nodes.insert(m.nodes.end(), links.begin(), links.end());
    m.nodes.push_back((a == x ? b : a)->producer());  // the constant 0.5
    return m;
  }
  return std::nullopt;
}

std::optional<Match> FindMatch(const Graph& graph) {
  for (const auto& node : graph.nodes()) {
    if (std::optional<Match> m = MatchAt(graph, node.get())) return m;
  }
  return std::nullopt;
}

Status Rewrite(Graph& graph, const Match& m) {
  Attrs attrs;
  attrs.Set("approximate", EnumValue{"none"});
  return ReplaceChain(graph, "recognize-gelu", m.root, OpKind::kGelu, {m.x}, std::move(attrs),
                      m.nodes);
}

}  // namespace

StatusOr<bool> RecognizeGeluPass::Run(Graph& graph) {
  return RewriteEachMatch(graph, FindMatch, Rewrite);
}

}  // namespace kiln
