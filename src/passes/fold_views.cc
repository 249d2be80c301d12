#include "passes/fold_views.h"

#include <algorithm>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ops/epilogue.h"
#include "passes/rewrite_util.h"

namespace kiln {
namespace {

bool IsLayoutOp(OpKind op) {
  return op == OpKind::kReshape || op == OpKind::kSqueeze || op == OpKind::kUnsqueeze ||
         op == OpKind::kFlatten || op == OpKind::kTranspose || op == OpKind::kSlice;
}

bool IsOne(const Dim& d) { return d.is_static() && d.value() == 1; }

// One axis of a view is one or more atoms, outermost first: index i of the axis is the mixed-radix
// number of the atoms' indices, and atom k adds index_k * stride to the root offset. One atom per
// axis is a plain strided view; several say what a reshape of a non-contiguous view (which a
// tensor library would copy) keeps.
struct Atom {
  Dim size, stride;
};

// Element i of the view is root_flat[offset + sum over axes and atoms]; root is dense row-major.
struct View {
  Value* root = nullptr;
  Shape shape;
  std::vector<std::vector<Atom>> axes;
  int64_t offset = 0;
  int copies = 0;  // transposes and slices on the chain from the root
  int nodes = 0;   // layout ops on the chain
};

View RootView(Value* v) {
  View view{v, v->shape(), {}, 0, 0, 0};
  Dim stride(1);
  view.axes.resize(v->shape().size());
  for (int i = static_cast<int>(v->shape().size()) - 1; i >= 0; --i) {
    if (!IsOne(v->shape()[i])) view.axes[i].push_back({v->shape()[i], stride});
    stride = stride * v->shape()[i];
  }
  return view;
}

// The atoms of `v` regrouped into the axes of `shape`; nullopt when an axis boundary falls inside
// an atom in a way sizes cannot tell (symbolic sizes that do not divide).
std::optional<std::vector<std::vector<Atom>>> Regroup(const View& v, const Shape& shape) {
  std::vector<Atom> atoms;
  for (const std::vector<Atom>& axis : v.axes) {
    for (const Atom& a : axis) {
      if (!IsOne(a.size)) atoms.push_back(a);
    }
  }
  std::vector<std::vector<Atom>> out(shape.size());
  size_t next = 0;
  for (size_t d = 0; d < shape.size(); ++d) {
    Dim need = shape[d];
    while (!IsOne(need)) {
      if (next == atoms.size()) return std::nullopt;
      Atom& a = atoms[next];
      if (a.size == need) {
        out[d].push_back(a);
        ++next;
        need = Dim(1);
      } else if (StatusOr<Dim> rest = need.DivExact(a.size); rest.ok()) {
        out[d].push_back(a);  // the whole atom, more to come
        ++next;
        need = *rest;
      } else if (StatusOr<Dim> inner = a.size.DivExact(need); inner.ok()) {
        out[d].push_back({need, a.stride * *inner});  // the atom's outer part; the inner stays
        a = {*inner, a.stride};
        need = Dim(1);
      } else {
        return std::nullopt;
      }
    }
  }
  if (next != atoms.size()) return std::nullopt;
  return out;
}

// The view after layout op `n` applied to `in`; nullopt for what a view cannot say.
std::optional<View> Step(const Node& n, const View& in) {
  View out = in;
  ++out.nodes;
  const Shape& result = n.output()->shape();
  if (n.op() == OpKind::kTranspose) {
    const std::vector<int64_t>& perm = n.GetInts("perm");
    for (size_t i = 0; i < perm.size(); ++i) out.axes[i] = in.axes[perm[i]];
    out.shape = result;
    ++out.copies;
    return out;
  }
  if (n.op() == OpKind::kSlice) {
    const std::vector<Dim>& starts = n.GetDims("starts");
    std::vector<int64_t> axes = n.GetInts("axes");
    const std::vector<int64_t>& steps = n.GetInts("steps");
    if (axes.empty()) {
      for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    }
    const int64_t rank = static_cast<int64_t>(in.shape.size());
    for (size_t i = 0; i < starts.size(); ++i) {
      const int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
      // A slice of an axis of one atom with a static stride: an offset and a shorter atom.
      if (a < 0 || a >= rank || (!steps.empty() && steps[i] != 1) || !starts[i].is_static() ||
          !in.shape[a].is_static() || in.axes[a].size() != 1 || !in.axes[a][0].stride.is_static()) {
        return std::nullopt;
      }
      const int64_t dim = in.shape[a].value();
      const int64_t start =
          std::clamp<int64_t>(starts[i].value() < 0 ? starts[i].value() + dim : starts[i].value(), 0, dim);
      out.offset += start * in.axes[a][0].stride.value();
      out.axes[a][0].size = result[a];
      if (IsOne(result[a])) out.axes[a].clear();
    }
    out.shape = result;
    ++out.copies;
    return out;
  }
  std::optional<std::vector<std::vector<Atom>>> axes = Regroup(in, result);
  if (!axes) return std::nullopt;
  out.shape = result;
  out.axes = std::move(*axes);
  return out;
}

// How a view is re-emitted: an optional slice of the root's last axis, then reshape to the atoms
// in stride order, transpose to target order, reshape to the target shape.
struct Plan {
  bool slice = false;
  int64_t slice_start = 0, slice_len = 0;
  Shape tiled;                // the (sliced) root as the atoms in stride order
  std::vector<int64_t> perm;  // tiled -> the atoms in target order (empty: identity)
  int copies = 0, nodes = 0;
};

// `root`: the shape of v.root (given apart, so a view of a node not yet made can be planned).
std::optional<Plan> PlanView(const View& v, const Shape& root) {
  std::vector<Atom> atoms;  // in target order; neighbours of one axis merged where contiguous
  for (const std::vector<Atom>& axis : v.axes) {
    for (size_t i = 0; i < axis.size(); ++i) {
      if (i > 0 && atoms.back().stride == axis[i].stride * axis[i].size) {
        atoms.back() = {atoms.back().size * axis[i].size, axis[i].stride};
      } else {
        atoms.push_back(axis[i]);
      }
    }
  }
  std::vector<int> order(atoms.size());  // atoms by stride, outermost first
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  for (size_t i = 1; i < order.size(); ++i) {
    for (size_t j = i; j > 0; --j) {
      const Dim& a = atoms[order[j - 1]].stride;
      const Dim& b = atoms[order[j]].stride;
      if (!(a == b) && a.DivExact(b).ok()) break;
      if (!(a == b) && b.DivExact(a).ok()) {
        std::swap(order[j - 1], order[j]);
        continue;
      }
      return std::nullopt;  // equal or incomparable strides
    }
  }
  // From the innermost atom out, each must start where the inner ones end, except for at most
  // one gap inside the root's last axis (a slice of it).
  Dim cur(1);
  std::optional<int64_t> gap_stride, gap_size;
  for (int i = static_cast<int>(order.size()) - 1; i >= 0; --i) {
    const Atom& a = atoms[order[i]];
    if (!(a.stride == cur)) {
      StatusOr<Dim> gap = a.stride.DivExact(cur);
      if (!gap.ok() || !gap->is_static() || !cur.is_static() || gap_stride) return std::nullopt;
      gap_stride = cur.value();
      gap_size = gap->value();
      cur = a.stride;
    }
    cur = cur * a.size;
  }
  Dim numel(1);
  for (const Dim& d : root) numel = numel * d;
  if (!(cur == numel)) return std::nullopt;  // the view skips part of the root's outer axes
  Plan p;
  if (gap_stride) {
    const int64_t hs = *gap_stride, hsz = *gap_size;
    if (root.empty() || !root.back().is_static() || root.back().value() != hs * hsz ||
        v.offset % hs != 0 || v.offset / hs >= hsz) {
      return std::nullopt;
    }
    p.slice = true;
    p.slice_start = v.offset;
    p.slice_len = hs;
  } else if (v.offset != 0) {
    return std::nullopt;
  }
  for (int i : order) p.tiled.push_back(atoms[i].size);
  bool identity = true;
  std::vector<int64_t> perm(order.size());
  for (size_t i = 0; i < order.size(); ++i) {  // atom i (target order) is tiled axis perm[i]
    const auto it = std::find(order.begin(), order.end(), static_cast<int>(i));
    perm[i] = it - order.begin();
    identity &= perm[i] == static_cast<int64_t>(i);
  }
  if (!identity) p.perm = perm;
  Shape sliced = root;
  if (p.slice) sliced.back() = Dim(p.slice_len);
  Shape permuted;
  for (const Atom& a : atoms) permuted.push_back(a.size);
  p.copies = (p.slice ? 1 : 0) + (p.perm.empty() ? 0 : 1);
  p.nodes = (p.slice ? 1 : 0) + (sliced != p.tiled ? 1 : 0) + (p.perm.empty() ? 0 : 1) +
            (permuted != v.shape ? 1 : 0);
  return p;
}

class Folder {
 public:
  explicit Folder(Graph& graph) : graph_(graph) {}

  StatusOr<bool> Run() {
    std::vector<Node*> nodes;
    for (const auto& n : graph_.nodes()) nodes.push_back(n.get());
    bool changed = false;
    for (Node* n : nodes) {
      if (n->op() == OpKind::kGemm) {
        KILN_ASSIGN_OR_RETURN(bool sunk, SinkIntoGemm(n));
        changed |= sunk;
        continue;
      }
      if (n->op() == OpKind::kAdd || n->op() == OpKind::kMul || n->op() == OpKind::kSub ||
          n->op() == OpKind::kDiv) {
        KILN_ASSIGN_OR_RETURN(bool sunk, SinkIntoRowBroadcast(n));
        changed |= sunk;
        continue;
      }
      if (!IsLayout(*n)) continue;
      auto in = views_.find(n->input(0));
      const View& base = in != views_.end() ? in->second : RootView(n->input(0));
      std::optional<View> v;
      if (n->op() == OpKind::kGather) {
        KILN_ASSIGN_OR_RETURN(v, SelectStep(*n, base));
      } else {
        v = Step(*n, base);
      }
      if (!v) continue;
      views_[n->output()] = *v;
      if (v->nodes < 2 || IsGraphOutput(graph_, n->output()) || !ReadByOtherOps(n->output())) continue;
      std::optional<Plan> plan = PlanView(*v, v->root->shape());
      if (!plan || plan->copies > v->copies || (plan->copies == v->copies && plan->nodes >= v->nodes)) continue;
      KILN_ASSIGN_OR_RETURN(Value * folded, Emit(*v, *plan, n));
      graph_.ReplaceAllUsesWith(n->output(), folded);
      views_[folded] = *v;
      changed = true;
    }
    // The replaced chains and sunk nodes (and layout ops emitted after a sunk node that a later
    // fold bypassed) go now, so that the passes after this one see each value's real readers.
    if (changed) {
      std::vector<Node*> candidates;
      for (const auto& n : graph_.nodes()) candidates.push_back(n.get());
      RemoveDeadChainNodes(graph_, candidates);
    }
    return changed;
  }

 private:
  // gemm(a, w) whose a is a layout chain that only rearranges whole rows of its root r (a's last
  // axis is r's trailing axes, contiguous): the gemm is row-wise, so it runs on r's rows instead
  // and the rearrangement moves to its result, where it may fold with what follows (the
  // sequence-first transposes around an exported attention cancel this way).
  StatusOr<bool> SinkIntoGemm(Node* g) {
    if (g->GetBool("trans_a") || g->num_explicit_inputs() != 2 || g->input(1)->rank() != 2 ||
        IsGraphOutput(graph_, g->output())) {
      return false;
    }
    for (const EpilogueOp& step : g->GetEpilogue()) {
      if (step.kind == EpilogueOp::Kind::kAdd) return false;  // a full-size operand in a's layout
    }
    auto it = views_.find(g->input(0));
    if (it == views_.end() || it->second.copies == 0 || it->second.offset != 0) return false;
    const View& a = it->second;
    const Shape& root = a.root->shape();
    // a's last axis: contiguous atoms from stride 1 covering root's trailing axes [t, rank).
    const Dim k = a.shape.back();
    Dim cur(1);
    for (auto atom = a.axes.back().rbegin(); atom != a.axes.back().rend(); ++atom) {
      if (!(atom->stride == cur)) return false;
      cur = cur * atom->size;
    }
    if (!(cur == k)) return false;
    int t = static_cast<int>(root.size());
    Dim tail(1);
    while (t > 0 && !(tail == k)) tail = tail * root[--t];
    if (!(tail == k) || t == static_cast<int>(root.size())) return false;
    const Dim n = g->output()->shape().back();
    View y;  // the gemm's result as a view of the new gemm's [root[0..t), N]
    y.shape = g->output()->shape();
    y.axes.resize(y.shape.size());
    for (size_t i = 0; i + 1 < a.axes.size(); ++i) {
      for (const Atom& atom : a.axes[i]) {
        StatusOr<Dim> rows = atom.stride.DivExact(k);
        if (!rows.ok()) return false;
        y.axes[i].push_back({atom.size, *rows * n});
      }
    }
    if (!IsOne(n)) y.axes.back().push_back({n, Dim(1)});
    Shape rows_shape(root.begin(), root.begin() + t);
    rows_shape.push_back(k);
    Shape new_shape = rows_shape;
    new_shape.back() = n;
    std::optional<Plan> plan = PlanView(y, new_shape);
    if (!plan || plan->copies > a.copies) return false;
    Value* rows = a.root;
    if (root.size() != rows_shape.size() || root != rows_shape) {
      Attrs attrs;
      attrs.Set("shape", std::vector<Dim>(rows_shape.begin(), rows_shape.end()));
      KILN_ASSIGN_OR_RETURN(rows, Add(OpKind::kReshape, rows, std::move(attrs), a.root->name() + "_rows", g));
    }
    std::vector<Value*> inputs = g->inputs();
    inputs[0] = rows;
    return Sink(g, std::move(inputs), std::move(y), *plan);
  }

  // Replaces `old` by the same op on `inputs` (its rows in the root's order) followed by the
  // rearrangement `y` (a view of the new node's result, planned as `plan`).
  StatusOr<bool> Sink(Node* old, std::vector<Value*> inputs, View y, const Plan& plan) {
    KILN_ASSIGN_OR_RETURN(Node * sunk, graph_.AddNode(old->op(), std::move(inputs), old->attrs(),
                                                      {graph_.FreshName(old->output()->name() + "_rows")}));
    graph_.MoveBefore(sunk, old);
    y.root = sunk->output();
    KILN_ASSIGN_OR_RETURN(Value * out, Emit(y, plan, old));
    graph_.ReplaceAllUsesWith(old->output(), out);
    y.copies = plan.copies;
    y.nodes = plan.nodes;
    if (out != y.root) views_[out] = y;
    return true;
  }

  // x op b (add, sub, mul, div) whose x is a layout chain that rearranges whole rows of its root
  // (the root's last axis is x's) and whose b varies along the last axis only (a bias): it runs on
  // the root and the rearrangement moves after it, as for a gemm (an exported projection's bias
  // add then meets its gemm again in fuse-epilogue).
  StatusOr<bool> SinkIntoRowBroadcast(Node* e) {
    if (IsGraphOutput(graph_, e->output())) return false;
    auto it = views_.find(e->input(0));
    if (it == views_.end() || it->second.copies == 0 || it->second.offset != 0) return false;
    const View& x = it->second;
    const Value* b = e->input(1);
    const Shape& root = x.root->shape();
    if (root.empty() || x.shape.empty() || !(root.back() == x.shape.back()) ||
        x.axes.back().size() != 1 || !(x.axes.back()[0].stride == Dim(1)) ||
        e->output()->shape() != x.shape || e->output()->dtype() != x.root->dtype() ||
        b->rank() > static_cast<int64_t>(root.size())) {
      return false;
    }
    for (int64_t i = 0; i + 1 < b->rank(); ++i) {
      if (!IsOne(b->shape()[i])) return false;  // b must not vary along the rows
    }
    std::optional<Plan> plan = PlanView(x, root);
    if (!plan || plan->copies > x.copies) return false;
    return Sink(e, {x.root, e->input(1)}, x, *plan);
  }

  // The index of gather `n` when it is one integer known at compile time (a select: ONNX
  // exports pick q, k and v so), else nullopt.
  StatusOr<std::optional<int64_t>> SelectIndex(const Node& n) const {
    const Value* idx = n.input(1);
    if (idx->rank() != 0 || !IsSource(idx) || (idx->dtype() != DType::kI64 && idx->dtype() != DType::kI32)) {
      return std::optional<int64_t>();
    }
    KILN_ASSIGN_OR_RETURN(std::optional<std::vector<double>> values, SourceValues(graph_, idx));
    if (!values || values->size() != 1) return std::optional<int64_t>();
    return std::optional<int64_t>(static_cast<int64_t>((*values)[0]));
  }

  bool IsLayout(const Node& n) const {
    if (IsLayoutOp(n.op())) return true;
    if (n.op() != OpKind::kGather) return false;
    StatusOr<std::optional<int64_t>> i = SelectIndex(n);
    return i.ok() && i->has_value();
  }

  // A select (gather of one constant index along an axis): the axis goes, its index moves the
  // offset. nullopt where the axis is not one atom of a static stride.
  StatusOr<std::optional<View>> SelectStep(const Node& n, const View& in) const {
    KILN_ASSIGN_OR_RETURN(std::optional<int64_t> index, SelectIndex(n));
    const int64_t rank = static_cast<int64_t>(in.shape.size());
    int64_t a = n.GetInt("axis");
    if (a < 0) a += rank;
    if (!index || a < 0 || a >= rank || !in.shape[a].is_static()) return std::optional<View>();
    const int64_t dim = in.shape[a].value();
    const int64_t i = *index < 0 ? *index + dim : *index;
    if (i < 0 || i >= dim) return std::optional<View>();
    View out = in;
    if (dim != 1) {
      if (in.axes[a].size() != 1 || !in.axes[a][0].stride.is_static()) return std::optional<View>();
      out.offset += i * in.axes[a][0].stride.value();
    }
    out.axes.erase(out.axes.begin() + a);
    out.shape = n.output()->shape();
    ++out.copies;
    ++out.nodes;
    return std::optional<View>(std::move(out));
  }

  bool ReadByOtherOps(const Value* v) const {
    for (const Node* u : graph_.Users(v)) {
      if (!IsLayout(*u)) return true;
    }
    return false;
  }

  StatusOr<Value*> Add(OpKind op, Value* in, Attrs attrs, const std::string& hint, Node* before) {
    KILN_ASSIGN_OR_RETURN(Node * n,
                          AddNodeBefore(graph_, before, op, {in}, std::move(attrs), hint));
    return n->output();
  }

  StatusOr<Value*> Emit(const View& v, const Plan& p, Node* before) {
    const std::string hint = v.root->name() + "_view";
    Value* x = v.root;
    if (p.slice) {
      Attrs a;
      a.Set("starts", std::vector<Dim>{Dim(p.slice_start)});
      a.Set("ends", std::vector<Dim>{Dim(p.slice_start + p.slice_len)});
      a.Set("axes", std::vector<int64_t>{-1});
      KILN_ASSIGN_OR_RETURN(x, Add(OpKind::kSlice, x, std::move(a), hint, before));
    }
    if (x->shape() != p.tiled) {
      Attrs a;
      a.Set("shape", std::vector<Dim>(p.tiled.begin(), p.tiled.end()));
      KILN_ASSIGN_OR_RETURN(x, Add(OpKind::kReshape, x, std::move(a), hint, before));
    }
    if (!p.perm.empty()) {
      Attrs a;
      a.Set("perm", p.perm);
      KILN_ASSIGN_OR_RETURN(x, Add(OpKind::kTranspose, x, std::move(a), hint, before));
    }
    if (x->shape() != v.shape) {
      Attrs a;
      a.Set("shape", std::vector<Dim>(v.shape.begin(), v.shape.end()));
      KILN_ASSIGN_OR_RETURN(x, Add(OpKind::kReshape, x, std::move(a), hint, before));
    }
    return x;
  }

  Graph& graph_;
  std::unordered_map<const Value*, View> views_;
};

}  // namespace

StatusOr<bool> FoldViewsPass::Run(Graph& graph) { return Folder(graph).Run(); }

}  // namespace kiln
