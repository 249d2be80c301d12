#include "passes/recognize_norms.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "passes/rewrite_util.h"

namespace kiln {
namespace {

// One matched chain: the replacement node to build and the nodes it replaces.
struct Match {
  OpKind op = OpKind::kSoftmax;
  std::vector<Value*> operands;  // x[, weight[, bias]]
  Attrs attrs;
  Node* last = nullptr;      // produces the value the new node replaces
  std::vector<Node*> nodes;  // the chain's nodes (candidates for removal)
};

// Whether `v` is no graph output and is read by exactly the nodes `a` and `b` (a != b).
bool UsedExactlyBy(const Graph& graph, const Value* v, const Node* a, const Node* b) {
  if (IsGraphOutput(graph, v) || a == b) return false;
  std::vector<Node*> users = graph.Users(v);
  return users.size() == 2 && std::count(users.begin(), users.end(), a) == 1 &&
         std::count(users.begin(), users.end(), b) == 1;
}

bool IsScalarConstant(const Value* v, double expected) {
  std::optional<FloatScalar> s = FloatScalarConstant(v);
  return s && s->rounded == expected;
}

// The operand of binary `n` (of kind `op`) other than `known`, or nullptr; for a commutative op
// `known` may be either operand, otherwise it must be operand `known_index`.
Value* OtherOperand(const Node* n, OpKind op, const Value* known, int known_index = -1) {
  if (n == nullptr || n->op() != op || n->num_inputs() != 2) return nullptr;
  for (int i = 0; i < 2; ++i) {
    if (known_index >= 0 && i != known_index) continue;
    if (n->input(i) == known && n->input(1 - i) != known) return n->input(1 - i);
  }
  return nullptr;
}

void AddConstantProducer(std::vector<Node*>& nodes, const Value* v) {
  if (v->producer() != nullptr && v->producer()->op() == OpKind::kConstant) {
    nodes.push_back(v->producer());
  }
}

// The reduced axes of reduction `n` of kind `op` with keepdims, as a mask over its operand's
// axes; nullopt when `n` is something else or reduces every axis by an empty list.
std::optional<std::vector<bool>> KeptReduction(const Node* n, OpKind op) {
  if (n == nullptr || n->op() != op || !n->GetBool("keepdims")) return std::nullopt;
  const int64_t rank = n->input(0)->rank();
  const std::vector<int64_t>& axes = n->GetInts("axes");
  if (axes.empty()) return std::nullopt;
  std::vector<bool> mask(rank, false);
  for (int64_t axis : axes) {
    const int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank || mask[a]) return std::nullopt;
    mask[a] = true;
  }
  return mask;
}

// The first axis of a mask that is exactly the trailing block a..rank-1, or nullopt.
std::optional<int64_t> TrailingStart(const std::vector<bool>& mask) {
  const int64_t rank = static_cast<int64_t>(mask.size());
  int64_t a = rank;
  while (a > 0 && mask[a - 1]) --a;
  if (a == rank || std::find(mask.begin(), mask.begin() + a, true) != mask.begin() + a) {
    return std::nullopt;
  }
  return a;
}

// The value squared by `sq`: mul(a, a) or pow(a, 2), with sq of a's type.
Value* SquaredValue(const Value* sq) {
  const Node* n = sq->producer();
  if (n == nullptr || n->num_inputs() != 2) return nullptr;
  Value* a = n->input(0);
  const bool square = (n->op() == OpKind::kMul && n->input(1) == a) ||
                      (n->op() == OpKind::kPow && IsScalarConstant(n->input(1), 2.0));
  return square && a->type() == sq->type() ? a : nullptr;
}

// From ve = var + eps to n = a / sqrt(ve) (or a * rsqrt(ve), a * (1 / sqrt(ve))); returns the
// normalising node and records the links in `nodes`.
Node* MatchNormalize(const Graph& graph, Value* ve, const Value* a, std::vector<Node*>& nodes) {
  Node* u = SoleUser(graph, ve);
  if (u == nullptr) return nullptr;
  nodes.push_back(u);
  Node* n = nullptr;
  if (u->op() == OpKind::kRsqrt) {
    n = SoleUser(graph, u->output());
    if (OtherOperand(n, OpKind::kMul, u->output()) != a) return nullptr;
  } else if (u->op() == OpKind::kSqrt) {
    n = SoleUser(graph, u->output());
    if (n == nullptr) return nullptr;
    if (OtherOperand(n, OpKind::kDiv, u->output(), 1) != a) {
      // 1 / sqrt(ve), then a * that.
      Value* one = OtherOperand(n, OpKind::kDiv, u->output(), 1);
      if (one == nullptr || !IsScalarConstant(one, 1.0) || n->output()->type() != ve->type()) {
        return nullptr;
      }
      nodes.push_back(n);
      AddConstantProducer(nodes, one);
      Node* recip = n;
      n = SoleUser(graph, recip->output());
      if (OtherOperand(n, OpKind::kMul, recip->output()) != a) return nullptr;
    }
  } else {
    return nullptr;
  }
  if (n->output()->type() != a->type()) return nullptr;
  nodes.push_back(n);
  return n;
}

// mean = reduce_mean(x) over `mask` with keepdims, d = sub(x, mean): returns x, or nullptr.
Value* MatchCentering(const Graph& graph, const Value* d, const std::vector<bool>& mask,
                      std::vector<Node*>& nodes) {
  const Node* sub = d->producer();
  if (sub == nullptr || sub->op() != OpKind::kSub || sub->num_inputs() != 2) return nullptr;
  Value* x = sub->input(0);
  const Value* mean = sub->input(1);
  const Node* mean_node = mean->producer();
  if (KeptReduction(mean_node, OpKind::kReduceMean) != mask || mean_node->input(0) != x ||
      SoleUser(graph, mean) != sub || x->type() != d->type()) {
    return nullptr;
  }
  nodes.push_back(d->producer());
  nodes.push_back(mean->producer());
  return x;
}

// Absorbs y = mul(y, w) (then, when `bias`, add(., b)) where w and b have exactly `trailing`
// shape and y's dtype; updates the match's operands and last node.
void MatchAffine(const Graph& graph, bool bias, const Shape& trailing, Match& m) {
  auto param = [&](Node* n, OpKind op) -> Value* {
    const Value* y = m.last->output();
    Value* p = OtherOperand(n, op, y);
    if (p == nullptr || p->shape() != trailing || p->dtype() != y->dtype() ||
        n->output()->type() != y->type()) {
      return nullptr;
    }
    return p;
  };
  Node* mul = SoleUser(graph, m.last->output());
  Value* w = param(mul, OpKind::kMul);
  if (w == nullptr) return;
  m.operands.push_back(w);
  m.nodes.push_back(mul);
  m.last = mul;
  if (!bias) return;
  Node* add = SoleUser(graph, m.last->output());
  Value* b = param(add, OpKind::kAdd);
  if (b == nullptr) return;
  m.operands.push_back(b);
  m.nodes.push_back(add);
  m.last = add;
}

// A layer norm or RMS norm whose variance (mean of squares) is `var_node`.
std::optional<Match> MatchNorm(const Graph& graph, Node* var_node) {
  std::optional<std::vector<bool>> mask = KeptReduction(var_node, OpKind::kReduceMean);
  if (!mask) return std::nullopt;
  std::optional<int64_t> start = TrailingStart(*mask);
  Value* sq = var_node->input(0);
  Value* a = SquaredValue(sq);
  if (!start || a == nullptr || !IsComputeFloat(a->dtype()) || SoleUser(graph, sq) != var_node) {
    return std::nullopt;
  }
  Match m;
  m.nodes = {var_node, sq->producer()};
  AddConstantProducer(m.nodes, sq->producer()->input(1));  // pow's exponent
  Node* add = SoleUser(graph, var_node->output());
  Value* eps = OtherOperand(add, OpKind::kAdd, var_node->output());
  std::optional<FloatScalar> eps_value = eps ? FloatScalarConstant(eps) : std::nullopt;
  if (!eps_value || !std::isfinite(eps_value->rounded) || eps_value->rounded < 0.0 ||
      add->output()->type() != var_node->output()->type()) {
    return std::nullopt;
  }
  m.nodes.push_back(add);
  AddConstantProducer(m.nodes, eps);
  Node* n = MatchNormalize(graph, add->output(), a, m.nodes);
  if (n == nullptr) return std::nullopt;
  m.last = n;

  // Layer norm when a = x - mean(x) is private to the chain; otherwise RMS norm of a.
  Value* x = a;
  m.op = OpKind::kRmsNorm;
  if (UsedExactlyBy(graph, a, sq->producer(), n)) {
    std::vector<Node*> centering;
    if (Value* centered = MatchCentering(graph, a, *mask, centering)) {
      x = centered;
      m.op = OpKind::kLayerNorm;
      m.nodes.insert(m.nodes.end(), centering.begin(), centering.end());
    }
  }
  const int64_t rank = x->rank();
  m.operands = {x};
  m.attrs = Attrs{{"axis", AttrValue(*start - rank)}, {"eps", AttrValue(eps_value->literal)}};
  const Shape trailing(x->shape().begin() + *start, x->shape().end());
  MatchAffine(graph, /*bias=*/m.op == OpKind::kLayerNorm, trailing, m);
  return m;
}

// A softmax whose denominator is `sum_node`.
std::optional<Match> MatchSoftmax(const Graph& graph, Node* sum_node) {
  std::optional<std::vector<bool>> mask = KeptReduction(sum_node, OpKind::kReduceSum);
  if (!mask || std::count(mask->begin(), mask->end(), true) != 1) return std::nullopt;
  const int64_t axis = std::find(mask->begin(), mask->end(), true) - mask->begin();
  Value* e = sum_node->input(0);
  Node* exp = e->producer();
  Node* div = SoleUser(graph, sum_node->output());
  if (exp == nullptr || exp->op() != OpKind::kExp || !IsComputeFloat(e->dtype()) || div == nullptr ||
      div->op() != OpKind::kDiv || div->input(0) != e || div->input(1) != sum_node->output() ||
      div->output()->type() != e->type() || !UsedExactlyBy(graph, e, sum_node, div)) {
    return std::nullopt;
  }
  Match m;
  m.op = OpKind::kSoftmax;
  m.last = div;
  m.nodes = {div, sum_node, exp};
  Value* x = exp->input(0);
  // The optional max subtraction: x - reduce_max(x) over the same axis.
  const Node* sub = x->producer();
  if (sub != nullptr && sub->op() == OpKind::kSub && SoleUser(graph, x) == exp) {
    const Node* max = sub->input(1)->producer();
    if (KeptReduction(max, OpKind::kReduceMax) == mask && max->input(0) == sub->input(0) &&
        SoleUser(graph, sub->input(1)) == sub && sub->input(0)->type() == x->type()) {
      m.nodes.push_back(x->producer());
      m.nodes.push_back(sub->input(1)->producer());
      x = sub->input(0);
    }
  }
  const int64_t rank = x->rank();
  m.operands = {x};
  m.attrs = Attrs{{"axis", AttrValue(axis == rank - 1 ? int64_t{-1} : axis)}};
  return m;
}

// The first chain in node order, or nullopt.
std::optional<Match> FindMatch(const Graph& graph) {
  for (const auto& node : graph.nodes()) {
    std::optional<Match> m;
    if (node->op() == OpKind::kReduceMean) m = MatchNorm(graph, node.get());
    if (node->op() == OpKind::kReduceSum) m = MatchSoftmax(graph, node.get());
    if (m) return m;
  }
  return std::nullopt;
}

Status Rewrite(Graph& graph, const Match& m) {
  return ReplaceChain(graph, "recognize-norms", m.last, m.op, m.operands, m.attrs, m.nodes);
}

}  // namespace

StatusOr<bool> RecognizeNormsPass::Run(Graph& graph) {
  return RewriteEachMatch(graph, FindMatch, Rewrite);
}

}  // namespace kiln
