#include "passes/hoist_slice.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "passes/rewrite_util.h"

namespace kiln {
namespace {

// A slice's attributes with its axes normalised (non-negative) and every list filled in.
struct SliceSpec {
  std::vector<int64_t> axes;
  std::vector<Dim> starts, ends;
  std::vector<int64_t> steps;
};

std::optional<SliceSpec> SpecOf(const Node& slice) {
  SliceSpec s{slice.GetInts("axes"), slice.GetDims("starts"), slice.GetDims("ends"),
              slice.GetInts("steps")};
  const int64_t rank = slice.input(0)->rank();
  if (s.axes.empty()) {
    for (size_t i = 0; i < s.starts.size(); ++i) s.axes.push_back(static_cast<int64_t>(i));
  }
  if (s.steps.empty()) s.steps.assign(s.starts.size(), 1);
  if (s.axes.size() != s.starts.size() || s.ends.size() != s.starts.size() ||
      s.steps.size() != s.starts.size()) {
    return std::nullopt;
  }
  for (int64_t& a : s.axes) {
    if (a < 0) a += rank;
    if (a < 0 || a >= rank) return std::nullopt;
  }
  return s;
}

// Whether the slice keeps at most half of the elements of its axes, all of static extent.
bool Pays(const Node& slice, const SliceSpec& s) {
  double kept = 1, all = 1;
  for (int64_t a : s.axes) {
    const Dim& in = slice.input(0)->shape()[a];
    const Dim& out = slice.output()->shape()[a];
    if (!in.is_static() || !out.is_static()) return false;
    kept *= static_cast<double>(out.value());
    all *= static_cast<double>(in.value());
  }
  return 2 * kept <= all;
}

// The axis of `operand` that axis `a` of `out` reads under numpy broadcasting (aligned from the
// right), -1 when the operand lacks it or broadcasts along it (extent 1), nullopt when the
// extents disagree otherwise.
std::optional<int64_t> BroadcastAxis(const Value& operand, const Value& out, int64_t a) {
  const int64_t ax = a - (out.rank() - operand.rank());
  if (ax < 0) return -1;
  const Dim& d = operand.shape()[ax];
  if (d == out.shape()[a]) return ax;
  if (d.is_static() && d.value() == 1) return -1;
  return std::nullopt;
}

// Per operand of `p`, per sliced axis of the spec: the operand's axis to slice (-1: none), or
// nullopt when the slice cannot move above `p` (see the file comment).
using OperandAxes = std::vector<std::vector<int64_t>>;

std::optional<OperandAxes> Plan(const Node& p, const SliceSpec& s) {
  if (p.num_outputs() != 1) return std::nullopt;
  const Value& out = *p.output();
  const int64_t r = out.rank();
  OperandAxes plan(p.num_inputs(), std::vector<int64_t>(s.axes.size(), -1));
  auto broadcast = [&](int i) {
    for (size_t k = 0; k < s.axes.size(); ++k) {
      std::optional<int64_t> ax = BroadcastAxis(*p.input(i), out, s.axes[k]);
      if (!ax) return false;
      plan[i][k] = *ax;
    }
    return true;
  };
  auto all_before = [&](int64_t axis) {  // every sliced axis precedes `axis`
    for (int64_t a : s.axes) {
      if (a >= axis) return false;
    }
    return true;
  };
  auto normalised = [&](int64_t axis) { return axis < 0 ? axis + r : axis; };
  switch (p.op()) {
    case OpKind::kLayerNorm:
    case OpKind::kRmsNorm:  // normalises axes axis..r-1 of operand 0
      if (!all_before(normalised(p.GetInt("axis")))) return std::nullopt;
      plan[0] = s.axes;
      return plan;
    case OpKind::kSoftmax:
    case OpKind::kLogSoftmax:
      for (int64_t a : s.axes) {
        if (a == normalised(p.GetInt("axis"))) return std::nullopt;
      }
      plan[0] = s.axes;
      return plan;
    case OpKind::kReshape: {  // keeps the dims up to the last sliced axis
      const Value& in = *p.input(0);
      for (int64_t a : s.axes) {
        for (int64_t i = 0; i <= a; ++i) {
          if (i >= in.rank() || in.shape()[i] != out.shape()[i]) return std::nullopt;
        }
      }
      plan[0] = s.axes;
      return plan;
    }
    case OpKind::kGemm:
      if (!all_before(r - 1)) return std::nullopt;  // the N axis would slice b
      for (int i = 0; i < p.num_inputs(); ++i) {
        for (size_t k = 0; k < s.axes.size(); ++k) {
          if (i < 2 && s.axes[k] == r - 2) {  // the row axis: a's M axis, nothing of b
            const int64_t ra = p.input(0)->rank();
            plan[i][k] = i == 1 ? -1 : p.GetBool("trans_a") ? ra - 1 : ra - 2;
            continue;
          }
          // A batch axis of a and b; c and the epilogue operands broadcast to the output (a
          // bias is rank 1 along N).
          std::optional<int64_t> ax = BroadcastAxis(*p.input(i), out, s.axes[k]);
          if (!ax) return std::nullopt;
          plan[i][k] = *ax;
        }
      }
      return plan;
    default:
      break;
  }
  const FusionKind fusion = p.def().fusion;
  if (fusion != FusionKind::kElementwise && fusion != FusionKind::kBroadcast) return std::nullopt;
  for (int i = 0; i < p.num_inputs(); ++i) {
    if (!broadcast(i)) return std::nullopt;
  }
  return plan;
}

// A slice that can move above its operand's producer (see the file comment).
bool Movable(const Graph& graph, const Node& slice) {
  if (slice.op() != OpKind::kSlice) return false;
  const Value* v = slice.input(0);
  const Node* p = v->producer();
  if (p == nullptr || IsGraphOutput(graph, v)) return false;
  std::optional<SliceSpec> spec = SpecOf(slice);
  if (!spec || !Pays(slice, *spec) || !Plan(*p, *spec)) return false;
  int graph_outputs = 0;  // at most one can take the sliced producer's result as its name
  for (const Node* u : graph.Users(v)) {
    if (u->op() != OpKind::kSlice || !(u->attrs() == slice.attrs())) return false;
    graph_outputs += IsGraphOutput(graph, u->output());
  }
  return graph_outputs <= 1;
}

// slice(x) with `spec`'s attributes (steps only where one is not 1), placed before `before`.
StatusOr<Value*> AddSlice(Graph& graph, Value* x, const SliceSpec& spec, Node* before) {
  Attrs attrs{{"starts", spec.starts}, {"ends", spec.ends}, {"axes", spec.axes}};
  if (std::any_of(spec.steps.begin(), spec.steps.end(), [](int64_t step) { return step != 1; })) {
    attrs.Set("steps", spec.steps);
  }
  KILN_ASSIGN_OR_RETURN(Node * cut, AddNodeBefore(graph, before, OpKind::kSlice, {x},
                                                  std::move(attrs), x->name() + ".slice"));
  return cut->output();
}

// A select (gather of one constant index along a static axis, ONNX's `x[:, 0]`) as the slice of
// that index; nullopt for any other node.
std::optional<SliceSpec> SelectAsSlice(const Graph& graph, const Node& gather) {
  if (gather.op() != OpKind::kGather) return std::nullopt;
  const Value* x = gather.input(0);
  const Value* index = gather.input(1);
  if (index->rank() != 0 || !IsSource(index)) return std::nullopt;
  StatusOr<std::optional<std::vector<double>>> values = SourceValues(graph, index);
  if (!values.ok() || !*values || (*values)->size() != 1) return std::nullopt;
  int64_t a = gather.GetInt("axis");
  if (a < 0) a += x->rank();
  if (a < 0 || a >= x->rank() || !x->shape()[a].is_static()) return std::nullopt;
  const int64_t dim = x->shape()[a].value();
  int64_t i = static_cast<int64_t>((**values)[0]);
  if (i < 0) i += dim;
  if (i < 0 || i >= dim || dim < 2) return std::nullopt;
  return SliceSpec{{a}, {Dim(i)}, {Dim(i + 1)}, {1}};
}

// A select whose operand's only reader it is, made by an op the slice of that index can move
// above.
bool SelectToSlice(const Graph& graph, const Node& gather) {
  std::optional<SliceSpec> spec = SelectAsSlice(graph, gather);
  if (!spec) return false;
  const Value* x = gather.input(0);
  return x->producer() != nullptr && SoleUser(graph, x) == &gather && Plan(*x->producer(), *spec);
}

// gather(x, i) {axis=a} -> squeeze(slice(x) {starts=[i], ends=[i+1], axes=[a]}) {axes=[a]}.
Status RewriteSelect(Graph& graph, Node* gather) {
  const SliceSpec spec = *SelectAsSlice(graph, *gather);
  KILN_ASSIGN_OR_RETURN(Value * cut, AddSlice(graph, gather->input(0), spec, gather));
  KILN_ASSIGN_OR_RETURN(
      Node * squeeze, AddNodeBefore(graph, gather, OpKind::kSqueeze, {cut},
                                    Attrs{{"axes", spec.axes}}, gather->output()->name() + ".row"));
  if (squeeze->output()->type() != gather->output()->type() ||
      !CanReplaceNode(graph, *gather, {squeeze->output()})) {
    return InternalError("hoist-slice: " + gather->Describe() + " as a slice gives " +
                         squeeze->output()->type().ToString());
  }
  ReplaceNode(graph, gather, {squeeze->output()});
  return Status::Ok();
}

Status Hoist(Graph& graph, Node* slice) {
  Value* v = slice->input(0);
  Node* p = v->producer();
  const SliceSpec spec = *SpecOf(*slice);
  const OperandAxes plan = *Plan(*p, spec);
  std::vector<Value*> operands;
  for (int i = 0; i < p->num_inputs(); ++i) {
    SliceSpec own;  // the spec's entries for the axes this operand has, in its numbering
    for (size_t k = 0; k < spec.axes.size(); ++k) {
      if (plan[i][k] < 0) continue;
      own.axes.push_back(plan[i][k]);
      own.starts.push_back(spec.starts[k]);
      own.ends.push_back(spec.ends[k]);
      own.steps.push_back(spec.steps[k]);
    }
    if (own.axes.empty()) {
      operands.push_back(p->input(i));
      continue;
    }
    KILN_ASSIGN_OR_RETURN(Value * cut, AddSlice(graph, p->input(i), own, p));
    operands.push_back(cut);
  }
  Attrs attrs = p->attrs();
  const Shape& sliced = slice->output()->shape();
  if (p->op() == OpKind::kReshape) attrs.Set("shape", std::vector<Dim>(sliced.begin(), sliced.end()));
  KILN_ASSIGN_OR_RETURN(Node * q, AddNodeBefore(graph, p, p->op(), std::move(operands),
                                                std::move(attrs), v->name() + ".rows"));
  if (q->output()->type() != slice->output()->type()) {
    return InternalError("hoist-slice: " + p->Describe() + " on the sliced operands gives " +
                         q->output()->type().ToString() + ", not the slice's " +
                         slice->output()->type().ToString());
  }
  for (Node* u : graph.Users(v)) ReplaceNode(graph, u, {q->output()});
  graph.RemoveNode(p);
  return Status::Ok();
}

}  // namespace

StatusOr<bool> HoistSlicePass::Run(Graph& graph) {
  KILN_ASSIGN_OR_RETURN(bool selects, RewriteEachNode(graph, SelectToSlice, RewriteSelect));
  KILN_ASSIGN_OR_RETURN(bool moved, RewriteEachNode(graph, Movable, Hoist));
  return selects || moved;
}

}  // namespace kiln
