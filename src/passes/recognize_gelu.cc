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

// The operand of `s` (read only by `user`) that s scales by c: mul(v, c), mul(c, v) or
// div(v, 1 / c); its links go to `nodes`. nullptr otherwise.
Value* Scaled(const Graph& graph, Node* s, double c, const Node* user, std::vector<Node*>& nodes) {
  if (s == nullptr || SoleUser(graph, s->output()) != user) return nullptr;
  Value* v = nullptr;
  if (s->op() == OpKind::kDiv && IsNear(s->input(1), 1.0 / c)) v = s->input(0);
  for (int j = 0; j < 2 && s->op() == OpKind::kMul; ++j) {
    if (IsNear(s->input(1 - j), c)) v = s->input(j);
  }
  if (v != nullptr)
    nodes.insert(nodes.end(), {s, (s->input(0) == v ? s->input(1) : s->input(0))->producer()});
  return v;
}

// Whether `cube` is x^3: pow(x, 3), mul(mul(x, x), x) or mul(x, mul(x, x)), read only by `user`.
bool IsCube(const Graph& graph, const Value* cube, const Value* x, const Node* user,
            std::vector<Node*>& nodes) {
  Node* c = cube->producer();
  if (c == nullptr || SoleUser(graph, cube) != user) return false;
  if (c->op() == OpKind::kPow && c->input(0) == x && IsNear(c->input(1), 3.0)) {
    nodes.insert(nodes.end(), {c, c->input(1)->producer()});
    return true;
  }
  if (c->op() != OpKind::kMul) return false;
  for (int j = 0; j < 2; ++j) {
    Node* sq = c->input(j)->producer();
    if (c->input(1 - j) == x && sq != nullptr && sq->op() == OpKind::kMul && sq->input(0) == x &&
        sq->input(1) == x && SoleUser(graph, sq->output()) == c) {
      nodes.insert(nodes.end(), {c, sq});
      return true;
    }
  }
  return false;
}

// x when `v` is add(f(s), 1) (either order, each link read only by the next) with
//   f = erf:  s = x scaled by 1/sqrt(2)
//   f = tanh: s = (x + (x^3 scaled by 0.044715)) scaled by sqrt(2/pi)    (*tanh = true)
// the links go to `nodes`; nullptr otherwise.
Value* TermInput(const Graph& graph, const Value* v, std::vector<Node*>& nodes, bool* tanh) {
  Node* add = v->producer();
  if (add == nullptr || add->op() != OpKind::kAdd) return nullptr;
  for (int i = 0; i < 2; ++i) {
    Node* f = add->input(i)->producer();
    if (!IsNear(add->input(1 - i), 1.0) || f == nullptr || SoleUser(graph, f->output()) != add) {
      continue;
    }
    nodes.insert(nodes.end(), {add, add->input(1 - i)->producer(), f});
    if (f->op() == OpKind::kErf) {
      *tanh = false;
      return Scaled(graph, f->input(0)->producer(), 1.0 / std::sqrt(2.0), f, nodes);
    }
    if (f->op() != OpKind::kTanh) return nullptr;
    *tanh = true;
    constexpr double kPi = 3.14159265358979323846;
    Node* outer = f->input(0)->producer();
    Value* inner = Scaled(graph, outer, std::sqrt(2.0 / kPi), f, nodes);
    Node* sum = inner != nullptr ? inner->producer() : nullptr;
    if (sum == nullptr || sum->op() != OpKind::kAdd || SoleUser(graph, inner) != outer)
      return nullptr;
    nodes.push_back(sum);
    for (int j = 0; j < 2; ++j) {
      Node* t = sum->input(1 - j)->producer();
      Value* cube = Scaled(graph, t, 0.044715, sum, nodes);
      if (cube != nullptr && IsCube(graph, cube, sum->input(j), t, nodes)) return sum->input(j);
    }
    return nullptr;
  }
  return nullptr;
}

struct Match {
  Node* root = nullptr;  // the product gelu(x) replaces
  Value* x = nullptr;
  bool tanh = false;         // the tanh approximation
  std::vector<Node*> nodes;  // the chain's nodes (candidates for removal)
};

std::optional<Match> MatchAt(const Graph& graph, Node* root) {
  if (root->op() != OpKind::kMul || !IsComputeFloat(root->output()->dtype())) return std::nullopt;
  Match m;
  m.root = root;
  std::vector<Value*> factors;
  Factors(graph, root, factors, m.nodes);
  if (factors.size() != 3) return std::nullopt;
  for (int term = 0; term < 3; ++term) {
    if (SoleUser(graph, factors[term]) == nullptr) continue;  // the term is read by the tree only
    std::vector<Node*> links;
    bool tanh = false;
    Value* x = TermInput(graph, factors[term], links, &tanh);
    if (x == nullptr) continue;
    // The other two factors: x and 0.5, in either order.
    const Value* a = factors[(term + 1) % 3];
    const Value* b = factors[(term + 2) % 3];
    if (!((a == x && IsNear(b, 0.5)) || (b == x && IsNear(a, 0.5)))) continue;
    if (x->type() != root->output()->type()) return std::nullopt;
    m.x = x;
    m.tanh = tanh;
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
  attrs.Set("approximate", EnumValue{m.tanh ? "tanh" : "none"});
  return ReplaceChain(graph, "recognize-gelu", m.root, OpKind::kGelu, {m.x}, std::move(attrs),
                      m.nodes);
}

}  // namespace

StatusOr<bool> RecognizeGeluPass::Run(Graph& graph) {
  return RewriteEachMatch(graph, FindMatch, Rewrite);
}

}  // namespace kiln
