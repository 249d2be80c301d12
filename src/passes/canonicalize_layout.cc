#include "passes/canonicalize_layout.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "passes/rewrite_util.h"
#include "support/check.h"
#include "support/tensor.h"

namespace kiln {
namespace {

const std::vector<int64_t> kToNhwc = {0, 2, 3, 1};
const std::vector<int64_t> kToNchw = {0, 3, 1, 2};

bool IsTransposeBy(const Node* n, const std::vector<int64_t>& perm) {
  return n != nullptr && n->op() == OpKind::kTranspose && n->GetInts("perm") == perm;
}

bool IsConv(const Node& n) {
  return n.op() == OpKind::kConv2d || n.op() == OpKind::kConvTranspose2d;
}

bool IsNchwConv(const Node& n) { return IsConv(n) && n.GetEnum("layout") == "nchw"; }

bool IsStaticOne(const Dim& d) { return d.is_static() && d.value() == 1; }

// Non-conv ops that have an nhwc form, when `n` is in nchw form (rank-4 batch_norm on axis 1).
bool IsNchwLayoutOp(const Node& n) {
  switch (n.op()) {
    case OpKind::kMaxPool2d:
    case OpKind::kAvgPool2d:
    case OpKind::kGlobalAvgPool2d:
    case OpKind::kGlobalMaxPool2d:
    case OpKind::kGroupNorm:
    case OpKind::kResize:
      return n.GetEnum("layout") == "nchw";
    case OpKind::kBatchNorm: {
      const int64_t rank = n.input(0)->rank();
      int64_t axis = n.GetInt("axis");
      if (axis < 0) axis += rank;
      return rank == 4 && axis == 1;
    }
    default:
      return false;
  }
}

bool IsElementwise(const Node& n) {
  const FusionKind k = n.def().fusion;
  return (k == FusionKind::kElementwise || k == FusionKind::kBroadcast) && n.num_outputs() == 1 &&
         n.output()->rank() == 4;
}

// How an operand of a converted elementwise op (or a conv's epilogue add) reaches NHWC.
enum class OperandPlan {
  kNone,       // cannot be brought to NHWC for free: the op stays NCHW
  kKeep,       // scalar or all-ones shape: broadcasts the same in both layouts
  kPermute,    // rank 4: its NHWC form (available, or a weight/constant permuted at compile time)
  kReshape4,   // [N,C,1,1] -> [N,1,1,C]
  kReshape3,   // [C,1,1] -> [1,1,C]
};

// Permutes row-major data of static NCHW shape `s` into NHWC order.
std::vector<double> PermuteToNhwc(const std::vector<double>& in, const std::vector<int64_t>& s) {
  std::vector<double> out(in.size());
  const int64_t n = s[0], c = s[1], h = s[2], w = s[3];
  for (int64_t i0 = 0; i0 < n; ++i0) {
    for (int64_t i1 = 0; i1 < c; ++i1) {
      for (int64_t i2 = 0; i2 < h; ++i2) {
        for (int64_t i3 = 0; i3 < w; ++i3) {
          out[((i0 * h + i2) * w + i3) * c + i1] = in[((i0 * c + i1) * h + i2) * w + i3];
        }
      }
    }
  }
  return out;
}

std::optional<std::vector<int64_t>> StaticDims(const Shape& shape) {
  std::vector<int64_t> dims;
  for (const Dim& d : shape) {
    if (!d.is_static()) return std::nullopt;
    dims.push_back(d.value());
  }
  return dims;
}

class LayoutConverter {
 public:
  explicit LayoutConverter(Graph& graph) : graph_(graph) {}

  StatusOr<bool> Run() {
    bool has_conv = false;
    for (const auto& n : graph_.nodes()) has_conv = has_conv || IsNchwConv(*n);
    if (!has_conv) return false;
    std::vector<Node*> order;
    for (const auto& n : graph_.nodes()) order.push_back(n.get());
    for (Node* node : order) KILN_RETURN_IF_ERROR(Visit(node));
    KILN_RETURN_IF_ERROR(RestoreNchwUses());
    // Until nothing more goes: a bypassed transpose may be the last user of another candidate.
    for (bool removed = true; removed;) {
      removed = false;
      for (auto it = maybe_dead_.begin(); it != maybe_dead_.end();) {
        Node* n = *it;
        if (graph_.Users(n->output()).empty() && !IsGraphOutput(graph_, n->output())) {
          graph_.RemoveNode(n);
          it = maybe_dead_.erase(it);
          removed = true;
        } else {
          ++it;
        }
      }
    }
    return true;
  }

 private:
  bool Available(const Value* v) const { return nhwc_.count(v) > 0; }

  Status Visit(Node* node) {
    if (IsNchwConv(*node)) return ConvertConv(node);
    if (IsNchwLayoutOp(*node) && Available(node->input(0))) return ConvertLayoutOp(node);
    if (IsElementwise(*node)) return ConvertElementwise(node);
    if (IsTransposeBy(node, kToNhwc) && Available(node->input(0))) {
      Value* x = nhwc_.at(node->input(0));
      if (CanReplaceNode(graph_, *node, {x})) ReplaceNode(graph_, node, {x});
      return Status::Ok();
    }
    if ((node->op() == OpKind::kReshape || node->op() == OpKind::kFlatten) &&
        node->input(0)->rank() == 4 && Available(node->input(0)) &&
        IsStaticOne(node->input(0)->shape()[2]) &&
        IsStaticOne(node->input(0)->shape()[3])) {
      return ReadNhwcDirectly(node);
    }
    return Status::Ok();
  }

  // Adds a node before `before` whose single result is named after `hint`.
  StatusOr<Node*> AddBefore(OpKind op, std::vector<Value*> inputs, Attrs attrs,
                            const std::string& hint, Node* before) {
    return AddNodeBefore(graph_, before, op, std::move(inputs), std::move(attrs), hint);
  }

  // `v` (rank 4, NCHW) in NHWC: the cached form, the operand of a transpose back, a permuted
  // weight or constant, or a new transpose. `weight_suffix` names a permuted weight.
  StatusOr<Value*> ToNhwc(Value* v, Node* before, const std::string& weight_suffix = ".nhwc") {
    if (auto it = nhwc_.find(v); it != nhwc_.end()) return it->second;
    Node* p = v->producer();
    Value* result = nullptr;
    if (IsTransposeBy(p, kToNchw)) {
      result = p->input(0);
      maybe_dead_.insert(p);
    } else if (p != nullptr && (p->op() == OpKind::kWeight || p->op() == OpKind::kConstant) &&
               StaticDims(v->shape())) {
      KILN_ASSIGN_OR_RETURN(result, PermuteSource(v, weight_suffix));
    }
    if (result == nullptr) {
      // A graph input's transpose goes to the start, so the boundary is easy to see.
      Node* at = p == nullptr ? graph_.nodes().front().get() : before;
      KILN_ASSIGN_OR_RETURN(
          Node * t, AddBefore(OpKind::kTranspose, {v}, Attrs{{"perm", kToNhwc}},
                              v->name() + "_nhwc", at));
      result = t->output();
    }
    nhwc_[v] = result;
    return result;
  }

  // A permuted copy of weight/constant `v`; nullptr when its data is not available (a weight
  // without data: the caller inserts a transpose, correct for whatever data comes later).
  StatusOr<Value*> PermuteSource(Value* v, const std::string& weight_suffix) {
    Node* p = v->producer();
    const std::vector<int64_t> dims = *StaticDims(v->shape());
    const std::vector<int64_t> out_dims = {dims[0], dims[2], dims[3], dims[1]};
    Attrs attrs;
    if (p->op() == OpKind::kConstant) {
      std::vector<double> values = p->GetFloats("value");
      if (values.size() != 1) values = PermuteToNhwc(values, dims);
      attrs.Set("value", values);
    } else {
      if (graph_.weights() == nullptr) return nullptr;
      const std::string& name = p->GetString("name");
      auto it = graph_.weights()->find(name);
      if (it == graph_.weights()->end()) return nullptr;
      const Tensor& t = it->second;
      if (t.dtype() != v->dtype() || t.shape() != dims) {
        return InvalidArgument("canonicalize-layout: weight \"" + name + "\" of " +
                               p->Describe() + " is declared " + v->type().ToString() +
                               " but its data is " + t.TypeString());
      }
      const std::string new_name = FreshWeightName(*graph_.weights(), name + weight_suffix);
      graph_.weights()->emplace(
          new_name, Tensor::FromF64(v->dtype(), out_dims, PermuteToNhwc(t.ToF64(), dims)));
      attrs.Set("name", new_name);
    }
    attrs.Set("dtype", v->dtype());
    attrs.Set("shape", out_dims);
    maybe_dead_.insert(p);
    KILN_ASSIGN_OR_RETURN(Node * n, AddBefore(p->op(), {}, std::move(attrs),
                                              v->name() + "_nhwc", p));
    return n->output();
  }

  // How `v`, an operand of an elementwise op with a rank-4 result, reaches NHWC.
  OperandPlan Plan(const Value* v) const {
    const Shape& s = v->shape();
    bool all_ones = true;
    for (const Dim& d : s) all_ones = all_ones && IsStaticOne(d);
    if (all_ones) return OperandPlan::kKeep;
    if (s.size() == 4) {
      const Node* p = v->producer();
      if (Available(v) || IsTransposeBy(p, kToNchw)) return OperandPlan::kPermute;
      if (p != nullptr && (p->op() == OpKind::kWeight || p->op() == OpKind::kConstant)) {
        return OperandPlan::kPermute;
      }
      if (IsStaticOne(s[2]) && IsStaticOne(s[3])) return OperandPlan::kReshape4;
      return OperandPlan::kNone;
    }
    if (s.size() == 3 && IsStaticOne(s[1]) && IsStaticOne(s[2])) return OperandPlan::kReshape3;
    return OperandPlan::kNone;
  }

  StatusOr<Value*> Apply(OperandPlan plan, Value* v, Node* before) {
    switch (plan) {
      case OperandPlan::kKeep:
        return v;
      case OperandPlan::kPermute:
        return ToNhwc(v, before);
      case OperandPlan::kReshape4:
      case OperandPlan::kReshape3: {
        if (auto it = nhwc_.find(v); it != nhwc_.end()) return it->second;
        const Shape& s = v->shape();
        Shape target = plan == OperandPlan::kReshape4 ? Shape{s[0], 1, 1, s[1]}
                                                      : Shape{1, 1, s[0]};
        Node* p = v->producer();
        Node* n = nullptr;
        if (p != nullptr && p->op() == OpKind::kConstant) {
          // Same values, same order: only the shape changes.
          Attrs attrs = p->attrs();
          attrs.Set("shape", *StaticDims(target));
          KILN_ASSIGN_OR_RETURN(n, AddBefore(OpKind::kConstant, {}, std::move(attrs),
                                             v->name() + "_nhwc", p));
          maybe_dead_.insert(p);
        } else {
          KILN_ASSIGN_OR_RETURN(n, AddBefore(OpKind::kReshape, {v}, Attrs{{"shape", target}},
                                             v->name() + "_nhwc", before));
        }
        nhwc_[v] = n->output();
        return n->output();
      }
      case OperandPlan::kNone:
        break;
    }
    KILN_CHECK(false) << "canonicalize-layout: operand %" << v->name() << " has no NHWC plan";
    return v;
  }

  // Adds the NHWC form of `node` (inputs `inputs`, attributes `attrs`) and records it.
  Status AddConverted(Node* node, std::vector<Value*> inputs, Attrs attrs) {
    Value* y = node->output();
    StatusOr<Node*> n = AddBefore(node->op(), std::move(inputs), std::move(attrs),
                                  y->name() + "_nhwc", node);
    if (!n.ok()) {
      return InternalError("canonicalize-layout: the nhwc form of " + node->Describe() +
                           " does not verify: " + n.status().ToString());
    }
    const Shape& s = y->shape();
    const TensorType want{y->dtype(), {s[0], s[2], s[3], s[1]}};
    KILN_CHECK((*n)->output()->type() == want)
        << "canonicalize-layout: nhwc form of " << node->Describe() << " has type "
        << (*n)->output()->type().ToString() << ", expected " << want.ToString();
    (*n)->set_line(node->line());
    nhwc_[y] = (*n)->output();
    converted_.push_back(node);
    return Status::Ok();
  }

  Status ConvertConv(Node* node) {
    // The epilogue `add` operands must reach NHWC for free or through a transpose (rank 4);
    // anything else keeps the conv NCHW.
    const Epilogue& epilogue = node->GetEpilogue();
    std::vector<std::pair<int, OperandPlan>> operand_plans;
    int next = node->num_explicit_inputs();
    for (const EpilogueOp& step : epilogue) {
      if (!step.TakesOperand()) continue;
      const int index = next++;
      if (step.kind == EpilogueOp::Kind::kBias) continue;
      OperandPlan plan = Plan(node->input(index));
      if (plan == OperandPlan::kNone && node->input(index)->rank() == 4) {
        plan = OperandPlan::kPermute;
      }
      if (plan == OperandPlan::kNone) return Status::Ok();
      operand_plans.emplace_back(index, plan);
    }
    std::vector<Value*> inputs = node->inputs();
    KILN_ASSIGN_OR_RETURN(inputs[0], ToNhwc(node->input(0), node));
    const std::string suffix = node->op() == OpKind::kConv2d ? ".ohwi" : ".ihwo";
    KILN_ASSIGN_OR_RETURN(inputs[1], ToNhwc(node->input(1), node, suffix));
    for (const auto& [index, plan] : operand_plans) {
      KILN_ASSIGN_OR_RETURN(inputs[index], Apply(plan, node->input(index), node));
    }
    Attrs attrs = node->attrs();
    attrs.Set("layout", EnumValue{"nhwc"});
    return AddConverted(node, std::move(inputs), std::move(attrs));
  }

  Status ConvertLayoutOp(Node* node) {
    std::vector<Value*> inputs = node->inputs();
    inputs[0] = nhwc_.at(node->input(0));
    Attrs attrs = node->attrs();
    if (node->op() == OpKind::kBatchNorm) {
      attrs.Set("axis", int64_t{3});
    } else {
      attrs.Set("layout", EnumValue{"nhwc"});
    }
    return AddConverted(node, std::move(inputs), std::move(attrs));
  }

  Status ConvertElementwise(Node* node) {
    bool any_available = false;
    std::vector<OperandPlan> plans;
    for (Value* v : node->inputs()) {
      any_available = any_available || (v->rank() == 4 && Available(v));
      plans.push_back(Plan(v));
      if (plans.back() == OperandPlan::kNone) return Status::Ok();
    }
    if (!any_available) return Status::Ok();
    std::vector<Value*> inputs;
    for (int i = 0; i < node->num_inputs(); ++i) {
      KILN_ASSIGN_OR_RETURN(Value * v, Apply(plans[i], node->input(i), node));
      inputs.push_back(v);
    }
    return AddConverted(node, std::move(inputs), node->attrs());
  }

  // reshape / flatten of [N,C,1,1]: [N,1,1,C] has the same memory order, so the op reads the
  // NHWC value and produces the same result.
  Status ReadNhwcDirectly(Node* node) {
    StatusOr<Node*> n = graph_.AddNode(node->op(), {nhwc_.at(node->input(0))}, node->attrs());
    if (!n.ok()) return Status::Ok();  // e.g. flatten{axis=2}: not the same shape any more
    if ((*n)->output()->type() != node->output()->type() ||
        !CanReplaceNode(graph_, *node, {(*n)->output()})) {
      graph_.RemoveNode(*n);
      return Status::Ok();
    }
    graph_.MoveBefore(*n, node);
    (*n)->set_line(node->line());
    const std::string name = node->output()->name();
    const bool is_output = IsGraphOutput(graph_, node->output());
    ReplaceNode(graph_, node, {(*n)->output()});
    if (!is_output) KILN_RETURN_IF_ERROR(graph_.RenameValue((*n)->output(), name));
    return Status::Ok();
  }

  // Removes the converted NCHW nodes; where their result is still used (graph outputs, ops left
  // in NCHW) a transpose of the NHWC result takes its place and name. Last first, so the
  // converted users of a result are gone when it is looked at.
  Status RestoreNchwUses() {
    for (auto it = converted_.rbegin(); it != converted_.rend(); ++it) {
      Node* node = *it;
      Value* y = node->output();
      if (graph_.Users(y).empty() && !IsGraphOutput(graph_, y)) {
        graph_.RemoveNode(node);
        continue;
      }
      const std::string name = y->name();
      KILN_ASSIGN_OR_RETURN(Node * t, AddBefore(OpKind::kTranspose, {nhwc_.at(y)},
                                                Attrs{{"perm", kToNchw}}, name + "_nchw", node));
      graph_.ReplaceAllUsesWith(y, t->output());
      graph_.RemoveNode(node);
      KILN_RETURN_IF_ERROR(graph_.RenameValue(t->output(), name));
    }
    return Status::Ok();
  }

  Graph& graph_;
  // Value -> the same data in NHWC (for [C,1,1] operands: its [1,1,C] form).
  std::map<const Value*, Value*> nhwc_;
  // Original nodes with an NHWC replacement, in graph order.
  std::vector<Node*> converted_;
  // Weights, constants and transposes that may have lost their last user.
  std::set<Node*> maybe_dead_;
};

}  // namespace

StatusOr<bool> CanonicalizeLayoutPass::Run(Graph& graph) { return LayoutConverter(graph).Run(); }

}  // namespace kiln
