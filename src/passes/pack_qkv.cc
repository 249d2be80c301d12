#include "passes/pack_qkv.h"

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "ops/epilogue.h"
#include "passes/rewrite_util.h"

namespace kiln {
namespace {

// The [B, S, E] value that attention operand `v` [B, S, H, D] is a reshape of (E = H * D,
// static), or nullptr.
Value* ReshapeSource(const Value* v) {
  const Node* r = v->producer();
  if (r == nullptr || r->op() != OpKind::kReshape) return nullptr;
  Value* src = r->input(0);
  const Shape& s = src->shape();
  const Shape& q = v->shape();
  if (s.size() != 3 || s[0] != q[0] || s[1] != q[1] || !s[2].is_static() || !q[2].is_static() ||
      !q[3].is_static() || s[2].value() != q[2].value() * q[3].value()) {
    return nullptr;
  }
  return src;
}

// x when `parts` are slices [0, E), [E, 2E), [2E, 3E) of the last axis of one x [B, S, 3E]
// (fold-views makes these of exported q, k, v chains), else nullptr.
Value* SlicesSource(const std::array<Value*, 3>& parts) {
  const int64_t e = parts[0]->shape()[2].value();
  Value* x = nullptr;
  for (int i = 0; i < 3; ++i) {
    const Node* s = parts[i]->producer();
    if (s == nullptr || s->op() != OpKind::kSlice || s->input(0)->rank() != 3 ||
        (x != nullptr && s->input(0) != x)) {
      return nullptr;
    }
    x = s->input(0);
    const std::vector<Dim>& starts = s->GetDims("starts");
    const std::vector<int64_t>& axes = s->GetInts("axes");
    const std::vector<int64_t>& steps = s->GetInts("steps");
    if (starts.size() != 1 || axes.size() != 1 || (axes[0] != -1 && axes[0] != 2) ||
        (!steps.empty() && steps[0] != 1) || starts[0] != Dim(i * e)) {
      return nullptr;
    }
  }
  const Shape& xs = x->shape();
  return xs[2] == Dim(3 * e) && xs[0] == parts[0]->shape()[0] && xs[1] == parts[0]->shape()[1] ? x : nullptr;
}

// x when `parts` are the results 0, 1, 2 of split(x) {axis=-1, sizes=[E, E, E]}, or the slices
// above, else nullptr.
Value* SplitSource(const std::array<Value*, 3>& parts) {
  if (Value* x = SlicesSource(parts)) return x;
  const Node* s = parts[0]->producer();
  if (s == nullptr || s->op() != OpKind::kSplit || s->num_outputs() != 3) return nullptr;
  for (int i = 0; i < 3; ++i) {
    if (s->output(i) != parts[i]) return nullptr;
  }
  const int64_t axis = s->GetInt("axis");
  if (axis != -1 && axis != 2) return nullptr;
  const std::vector<int64_t>& sizes = s->GetInts("sizes");
  const int64_t e = parts[0]->shape()[2].value();
  if (sizes.size() != 3 || sizes[0] != e || sizes[1] != e || sizes[2] != e) return nullptr;
  return s->input(0);
}

// Whether gemm `g` is a projection the merge takes: a and b only (no c), a not transposed, b a
// rank-2 matrix, an epilogue of nothing or one bias, its result read once and not a graph output.
bool MergeableGemm(const Graph& graph, const Node* g) {
  if (g == nullptr || g->op() != OpKind::kGemm || g->num_explicit_inputs() != 2 ||
      g->GetBool("trans_a") || g->input(1)->rank() != 2 || IsGraphOutput(graph, g->output()) ||
      graph.Users(g->output()).size() != 1) {
    return false;
  }
  const Epilogue& e = g->GetEpilogue();
  return e.empty() || (e.size() == 1 && e[0].kind == EpilogueOp::Kind::kBias);
}

// One gemm computing the three projections side by side ([B, S, 3E]), placed before `before`;
// nullptr when the three gemms cannot merge.
StatusOr<Value*> MergeGemms(Graph& graph, const std::array<Value*, 3>& parts, Node* before) {
  std::array<Node*, 3> g{};
  for (int i = 0; i < 3; ++i) {
    g[i] = parts[i]->producer();
    if (!MergeableGemm(graph, g[i])) return nullptr;
  }
  const bool bias = !g[0]->GetEpilogue().empty();
  for (int i = 1; i < 3; ++i) {
    if (g[i]->input(0) != g[0]->input(0) || g[i]->GetBool("trans_b") != g[0]->GetBool("trans_b") ||
        g[i]->GetFloat("alpha") != g[0]->GetFloat("alpha") ||
        g[i]->input(1)->type() != g[0]->input(1)->type() ||
        g[i]->output()->type() != g[0]->output()->type() ||
        g[i]->GetEpilogue().empty() == bias ||
        (bias && g[i]->input(2)->type() != g[0]->input(2)->type())) {
      return nullptr;
    }
  }
  // The weights side by side along N: [E, K] stacked (trans_b) or [K, E] rows joined.
  std::array<std::vector<double>, 3> w, b;
  for (int i = 0; i < 3; ++i) {
    KILN_ASSIGN_OR_RETURN(std::optional<std::vector<double>> wv, SourceValues(graph, g[i]->input(1)));
    if (!wv) return nullptr;
    w[i] = std::move(*wv);
    if (!bias) continue;
    KILN_ASSIGN_OR_RETURN(std::optional<std::vector<double>> bv, SourceValues(graph, g[i]->input(2)));
    if (!bv) return nullptr;
    b[i] = std::move(*bv);
  }
  const Value* w0 = g[0]->input(1);
  const bool trans_b = g[0]->GetBool("trans_b");
  const int64_t rows = w0->shape()[0].value(), cols = w0->shape()[1].value();
  std::vector<double> wcat;
  wcat.reserve(3 * rows * cols);
  if (trans_b) {
    for (int i = 0; i < 3; ++i) wcat.insert(wcat.end(), w[i].begin(), w[i].end());
  } else {
    for (int64_t r = 0; r < rows; ++r) {
      for (int i = 0; i < 3; ++i) wcat.insert(wcat.end(), w[i].begin() + r * cols, w[i].begin() + (r + 1) * cols);
    }
  }
  const std::vector<int64_t> wshape = trans_b ? std::vector<int64_t>{3 * rows, cols}
                                              : std::vector<int64_t>{rows, 3 * cols};
  KILN_ASSIGN_OR_RETURN(Value * wnew, AddSource(graph, w0, ".qkv", w0->dtype(), wshape, wcat, before));
  std::vector<Value*> inputs = {g[0]->input(0), wnew};
  if (bias) {
    std::vector<double> bcat;
    for (int i = 0; i < 3; ++i) bcat.insert(bcat.end(), b[i].begin(), b[i].end());
    const Value* b0 = g[0]->input(2);
    KILN_ASSIGN_OR_RETURN(Value * bnew, AddSource(graph, b0, ".qkv", b0->dtype(),
                                                  {static_cast<int64_t>(bcat.size())}, bcat, before));
    inputs.push_back(bnew);
  }
  KILN_ASSIGN_OR_RETURN(Node * gemm, AddNodeBefore(graph, before, OpKind::kGemm, std::move(inputs),
                                                   g[0]->attrs(), parts[0]->name() + "_qkv"));
  return gemm->output();
}

// Packs `att` when it qualifies; returns whether it did.
StatusOr<bool> Pack(Graph& graph, Node* att) {
  if (att->GetBool("packed")) return false;
  const std::array<Value*, 3> qkv = {att->input(0), att->input(1), att->input(2)};
  const Shape& qs = qkv[0]->shape();
  if (qs != qkv[1]->shape() || qs != qkv[2]->shape()) return false;
  std::array<Value*, 3> parts{};
  for (int i = 0; i < 3; ++i) {
    parts[i] = ReshapeSource(qkv[i]);
    if (parts[i] == nullptr) return false;
  }
  Value* x = SplitSource(parts);
  if (x == nullptr) {
    KILN_ASSIGN_OR_RETURN(x, MergeGemms(graph, parts, att));
    if (x == nullptr) return false;
  }
  Attrs shape;
  shape.Set("shape", std::vector<Dim>{qs[0], qs[1], Dim(3), qs[2], qs[3]});
  KILN_ASSIGN_OR_RETURN(Node * packed, AddNodeBefore(graph, att, OpKind::kReshape, {x},
                                                     std::move(shape), x->name() + "_packed"));
  std::vector<Value*> inputs = {packed->output()};
  if (att->num_inputs() == 4) inputs.push_back(att->input(3));
  Attrs attrs = att->attrs();
  attrs.Set("packed", true);
  KILN_ASSIGN_OR_RETURN(Node * replacement,
                        AddNodeBefore(graph, att, OpKind::kAttention, std::move(inputs),
                                      std::move(attrs), att->output()->name()));
  std::vector<Node*> chain;
  for (int i = 0; i < 3; ++i) chain.push_back(qkv[i]->producer());
  for (int i = 0; i < 3; ++i) {
    Node* p = parts[i]->producer();
    if (p != nullptr && (i == 0 || p != parts[0]->producer())) chain.push_back(p);
  }
  ReplaceNode(graph, att, {replacement->output()});
  // The old projections' weight nodes die with them.
  std::vector<Node*> sources;
  for (Node* n : chain) {
    for (Value* in : n->inputs()) {
      if (IsSource(in)) sources.push_back(in->producer());
    }
  }
  chain.insert(chain.end(), sources.begin(), sources.end());
  RemoveDeadChainNodes(graph, chain);
  return true;
}

}  // namespace

StatusOr<bool> PackQkvPass::Run(Graph& graph) {
  std::vector<Node*> attentions;
  for (const auto& n : graph.nodes()) {
    if (n->op() == OpKind::kAttention && !n->GetBool("packed") && n->num_inputs() >= 3) {
      attentions.push_back(n.get());
    }
  }
  bool changed = false;
  for (Node* att : attentions) {
    KILN_ASSIGN_OR_RETURN(bool packed, Pack(graph, att));
    changed |= packed;
  }
  return changed;
}

}  // namespace kiln
