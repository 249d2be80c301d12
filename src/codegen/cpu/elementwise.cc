// CPU kernel emitters: elementwise and broadcasting ops, and `fusion` nodes (whose bodies hold
// only such ops, see passes/fuse_elementwise.h).
//
// Both become one loop nest over an iteration shape (a result's shape). Every value of the body
// is computed per iteration point into a local, so the intermediate values of a fusion never
// touch memory. Operands are read with broadcasting strides; adjacent dims that broadcast alike
// in every operand are merged, so the innermost loop has literal stride 1 or 0 and vectorises.
// A fusion whose results have different shapes gets one loop nest per distinct shape, each
// recomputing the values it needs (cheap for elementwise work).
//
// Arithmetic follows the reference ops (src/ops/elementwise.cc): float dtypes compute in f32
// (f16/bf16 round after each op, as the reference stores each intermediate), integer and bool
// dtypes in int64 with wrap-around, narrowed after each op to their dtype. One deviation:
// integer division by zero and integer pow with a negative exponent give 0 (the reference
// reports an error; a kernel cannot).
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "codegen/cpu/families.h"
#include "ir/printer.h"
#include "support/check.h"
#include "support/dtype.h"

namespace kiln::codegen::cpu {
namespace {

bool FloatPath(DType d) { return d == DType::kF32 || d == DType::kF16 || d == DType::kBF16; }

std::string ComputeType(DType d) { return FloatPath(d) ? "float" : "int64_t"; }

// Storage element `ptr[index]` converted to the compute type.
std::string Load(DType d, const std::string& elem) {
  switch (d) {
    case DType::kF32: return elem;
    case DType::kF16: return "kiln_cpu::HalfToFloat(" + elem + ")";
    case DType::kBF16: return "kiln_cpu::BF16ToFloat(" + elem + ")";
    default: return "static_cast<int64_t>(" + elem + ")";
  }
}

// A compute-type value converted to storage.
std::string Store(DType d, const std::string& v) {
  switch (d) {
    case DType::kF32: return v;
    case DType::kF16: return "kiln_cpu::FloatToHalf(" + v + ")";
    case DType::kBF16: return "kiln_cpu::FloatToBF16(" + v + ")";
    case DType::kBool: return "(" + v + " != 0)";
    case DType::kI64: return v;
    default: return "static_cast<" + CpuStorageType(d) + ">(" + v + ")";
  }
}

// Rounds a freshly computed value to what its dtype can hold (the reference stores every
// intermediate in its dtype).
std::string Narrow(DType d, const std::string& v) {
  switch (d) {
    case DType::kF16: return "kiln_cpu::HalfToFloat(kiln_cpu::FloatToHalf(" + v + "))";
    case DType::kBF16: return "kiln_cpu::BF16ToFloat(kiln_cpu::FloatToBF16(" + v + "))";
    case DType::kI32: return "static_cast<int64_t>(static_cast<int32_t>(" + v + "))";
    case DType::kI8: return "static_cast<int64_t>(static_cast<int8_t>(" + v + "))";
    case DType::kU8: return "static_cast<int64_t>(static_cast<uint8_t>(" + v + "))";
    case DType::kBool: return "static_cast<int64_t>(" + v + " != 0)";
    default: return v;
  }
}

std::string IntLiteral(int64_t v) {
  return v == INT64_MIN ? "INT64_MIN" : "INT64_C(" + std::to_string(v) + ")";
}

// The range of an integer dtype (clip's integer bounds are clamped into it).
std::pair<int64_t, int64_t> IntRange(DType d) {
  switch (d) {
    case DType::kI32: return {INT32_MIN, INT32_MAX};
    case DType::kI8: return {-128, 127};
    case DType::kU8: return {0, 255};
    case DType::kBool: return {0, 1};
    default: return {INT64_MIN, INT64_MAX};
  }
}

int64_t SaturateToI64(double v) {
  if (std::isnan(v)) return 0;
  if (v >= 9.2233720368547758e18) return INT64_MAX;
  if (v <= -9.2233720368547758e18) return INT64_MIN;
  return static_cast<int64_t>(v);
}

// The C++ expression computing `node`'s result from its operands' locals `a` (compute type of
// their dtypes). Unimplemented for ops this family does not handle.
StatusOr<std::string> OpExpr(const Node& node, const std::vector<std::string>& a) {
  DType in = node.input(0)->dtype();
  bool f = FloatPath(in);
  switch (node.op()) {
    case OpKind::kAbs: return f ? "std::fabs(" + a[0] + ")" : "kiln_cpu::IntAbs(" + a[0] + ")";
    case OpKind::kNeg: return f ? "-" + a[0] : "kiln_cpu::WrapSub(0, " + a[0] + ")";
    case OpKind::kRelu: return f ? "kiln_cpu::Relu(" + a[0] + ")" : "(" + a[0] + " < 0 ? INT64_C(0) : " + a[0] + ")";
    case OpKind::kErf: return "std::erf(" + a[0] + ")";
    case OpKind::kExp: return "std::exp(" + a[0] + ")";
    case OpKind::kLog: return "std::log(" + a[0] + ")";
    case OpKind::kRsqrt: return "(1.f / std::sqrt(" + a[0] + "))";
    case OpKind::kSqrt: return "std::sqrt(" + a[0] + ")";
    case OpKind::kTanh: return "std::tanh(" + a[0] + ")";
    case OpKind::kSigmoid: return "kiln_cpu::Sigmoid(" + a[0] + ")";
    case OpKind::kSilu: return "(" + a[0] + " * kiln_cpu::Sigmoid(" + a[0] + "))";
    case OpKind::kGelu:
      return (node.GetEnum("approximate") == "tanh" ? "kiln_cpu::GeluTanh(" : "kiln_cpu::Gelu(") + a[0] + ")";
    case OpKind::kClip: {
      double lo = node.GetFloat("min"), hi = node.GetFloat("max");
      if (f) return "std::min(std::max(" + a[0] + ", " + FloatLiteralExpr(lo) + "), " + FloatLiteralExpr(hi) + ")";
      auto [tmin, tmax] = IntRange(in);
      int64_t ilo = std::clamp(SaturateToI64(std::ceil(lo)), tmin, tmax);
      int64_t ihi = std::clamp(SaturateToI64(std::floor(hi)), tmin, tmax);
      return "std::min(std::max(" + a[0] + ", " + IntLiteral(ilo) + "), " + IntLiteral(ihi) + ")";
    }
    case OpKind::kAdd: return f ? "(" + a[0] + " + " + a[1] + ")" : "kiln_cpu::WrapAdd(" + a[0] + ", " + a[1] + ")";
    case OpKind::kSub: return f ? "(" + a[0] + " - " + a[1] + ")" : "kiln_cpu::WrapSub(" + a[0] + ", " + a[1] + ")";
    case OpKind::kMul: return f ? "(" + a[0] + " * " + a[1] + ")" : "kiln_cpu::WrapMul(" + a[0] + ", " + a[1] + ")";
    case OpKind::kDiv: return f ? "(" + a[0] + " / " + a[1] + ")" : "kiln_cpu::IntDiv(" + a[0] + ", " + a[1] + ")";
    case OpKind::kPow: return f ? "std::pow(" + a[0] + ", " + a[1] + ")" : "kiln_cpu::IntPow(" + a[0] + ", " + a[1] + ")";
    case OpKind::kMax: return f ? "kiln_cpu::FMax(" + a[0] + ", " + a[1] + ")" : "std::max(" + a[0] + ", " + a[1] + ")";
    case OpKind::kMin: return f ? "kiln_cpu::FMin(" + a[0] + ", " + a[1] + ")" : "std::min(" + a[0] + ", " + a[1] + ")";
    case OpKind::kEqual: return "static_cast<int64_t>(" + a[0] + " == " + a[1] + ")";
    case OpKind::kNotEqual: return "static_cast<int64_t>(" + a[0] + " != " + a[1] + ")";
    case OpKind::kLess: return "static_cast<int64_t>(" + a[0] + " < " + a[1] + ")";
    case OpKind::kLessEqual: return "static_cast<int64_t>(" + a[0] + " <= " + a[1] + ")";
    case OpKind::kGreater: return "static_cast<int64_t>(" + a[0] + " > " + a[1] + ")";
    case OpKind::kGreaterEqual: return "static_cast<int64_t>(" + a[0] + " >= " + a[1] + ")";
    case OpKind::kWhere: return "(" + a[0] + " != 0 ? " + a[1] + " : " + a[2] + ")";
    case OpKind::kCast: {
      DType to = node.GetDType("to");
      if (to == DType::kBool) return "static_cast<int64_t>(" + a[0] + " != 0)";
      if (FloatPath(to)) return f ? a[0] : "static_cast<float>(" + a[0] + ")";
      return f ? "kiln_cpu::SaturateToI64(" + a[0] + ")" : a[0];
    }
    default:
      return Unimplemented(node.Describe() + ": op " + std::string(node.op_name()) +
                           " is not an elementwise op on the cpu target");
  }
}

// One loop nest over `shape` computing the body values that `stores` need.
class LoopEmitter {
 public:
  // `inputs`: the values read from memory and the pointer each is read through ("in0", or the
  // static array of a body constant), in the order they are loaded.
  LoopEmitter(const KernelContext& ctx, std::vector<std::pair<const Value*, std::string>> inputs)
      : ctx_(ctx), inputs_(std::move(inputs)) {}

  // `nodes`: the body in order; `stores`: (value, kernel output index), all of shape `shape`.
  Status Emit(const Shape& shape, const std::vector<const Node*>& nodes,
              const std::vector<std::pair<const Value*, int>>& stores, CodeWriter& w) {
    // Which nodes the stores need.
    std::set<const Value*> needed;
    for (const auto& s : stores) needed.insert(s.first);
    std::vector<const Node*> used;
    for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
      const Node* n = *it;
      bool any = false;
      for (const Value* o : n->outputs()) any |= needed.count(o) > 0;
      if (!any) continue;
      used.insert(used.begin(), n);
      for (const Value* i : n->inputs()) needed.insert(i);
    }
    std::vector<const Value*> loads;
    std::vector<std::string> pointers;
    for (const auto& [v, ptr] : inputs_) {
      if (needed.count(v)) {
        loads.push_back(v);
        pointers.push_back(ptr);
      }
    }

    // Merge dims: drop static 1s, then join neighbours that broadcast alike in every load.
    const int64_t rank = static_cast<int64_t>(shape.size());
    std::vector<std::vector<int64_t>> groups;  // iteration dims per merged dim
    std::vector<std::string> pattern_of_group;
    for (int64_t d = 0; d < rank; ++d) {
      if (shape[d].is_static() && shape[d].value() == 1) continue;
      std::string pattern;
      for (const Value* v : loads) pattern += Broadcasts(v->shape(), shape, d) ? 'B' : 'N';
      if (!groups.empty() && pattern_of_group.back() == pattern) {
        groups.back().push_back(d);
      } else {
        groups.push_back({d});
        pattern_of_group.push_back(pattern);
      }
    }
    if (groups.empty()) {
      groups.push_back({});
      pattern_of_group.push_back(std::string(loads.size(), 'B'));
    }
    const size_t g = groups.size();
    w.Open("{");
    for (size_t k = 0; k < g; ++k) {
      std::string size = groups[k].empty() ? "1" : ctx_.Product(shape, groups[k].front(), groups[k].back() + 1);
      w.Line("const int64_t n" + std::to_string(k) + " = " + size + ";");
    }
    // Strides of each load per merged dim: 0 where it broadcasts, else the product of its own
    // dims right of the group.
    std::vector<std::vector<std::string>> strides(loads.size());
    for (size_t l = 0; l < loads.size(); ++l) {
      const Shape& s = loads[l]->shape();
      for (size_t k = 0; k < g; ++k) {
        if (groups[k].empty() || pattern_of_group[k][l] == 'B') {
          strides[l].push_back("0");
          continue;
        }
        int64_t last = groups[k].back() - (rank - static_cast<int64_t>(s.size()));
        strides[l].push_back(ctx_.Product(s, last + 1, static_cast<int64_t>(s.size())));
      }
    }
    std::string index = "i0";
    for (size_t k = 0; k < g; ++k) {
      std::string i = "i" + std::to_string(k);
      w.Open("for (int64_t " + i + " = 0; " + i + " < n" + std::to_string(k) + "; ++" + i + ") {");
      if (k > 0) index = "(" + index + ") * n" + std::to_string(k) + " + " + i;
    }
    w.Line("const int64_t o = " + index + ";");
    std::map<const Value*, std::string> local;
    for (size_t l = 0; l < loads.size(); ++l) {
      std::string offset;
      for (size_t k = 0; k < g; ++k) {
        if (strides[l][k] == "0") continue;
        std::string term = "i" + std::to_string(k) + (strides[l][k] == "1" ? "" : " * " + strides[l][k]);
        offset += (offset.empty() ? "" : " + ") + term;
      }
      if (offset.empty()) offset = "0";
      std::string name = "x" + std::to_string(l);
      DType d = loads[l]->dtype();
      w.Line("const " + ComputeType(d) + " " + name + " = " + Load(d, pointers[l] + "[" + offset + "]") + ";");
      local[loads[l]] = name;
    }
    for (const Node* n : used) {
      if (n->op() == OpKind::kConstant) continue;  // loaded from its array above
      std::vector<std::string> args;
      for (const Value* i : n->inputs()) args.push_back(local.at(i));
      KILN_ASSIGN_OR_RETURN(std::string expr, OpExpr(*n, args));
      const Value* out = n->output();
      std::string name = "v" + std::to_string(next_local_++);
      w.Line("const " + ComputeType(out->dtype()) + " " + name + " = " + Narrow(out->dtype(), expr) +
             ";  // %" + out->name() + " = " + std::string(n->op_name()));
      local[out] = name;
    }
    for (const auto& [v, k] : stores) {
      w.Line(KernelContext::Out(k) + "[o] = " + Store(v->dtype(), local.at(v)) + ";");
    }
    for (size_t k = 0; k < g; ++k) w.Close();
    w.Close();
    return Status::Ok();
  }

 private:
  // Whether a value of shape `s` broadcasts along iteration dim `d` of `shape` (right-aligned).
  static bool Broadcasts(const Shape& s, const Shape& shape, int64_t d) {
    int64_t j = d - (static_cast<int64_t>(shape.size()) - static_cast<int64_t>(s.size()));
    if (j < 0) return true;
    return s[j].is_static() && s[j].value() == 1;
  }

  const KernelContext& ctx_;
  std::vector<std::pair<const Value*, std::string>> inputs_;
  int next_local_ = 0;
};

Status EmitSingle(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  std::vector<std::pair<const Value*, std::string>> inputs;
  for (int i = 0; i < node.num_inputs(); ++i) inputs.emplace_back(node.input(i), KernelContext::In(i));
  LoopEmitter loop(ctx, inputs);
  return loop.Emit(node.output()->shape(), {&node}, {{node.output(), 0}}, w);
}

Status EmitFusion(const KernelContext& ctx, CodeWriter& w) {
  const Node& node = ctx.node();
  const Graph& body = node.GetGraph("body");
  std::vector<std::pair<const Value*, std::string>> inputs;
  for (size_t i = 0; i < body.inputs().size(); ++i) {
    inputs.emplace_back(body.inputs()[i], KernelContext::In(static_cast<int>(i)));
  }
  std::vector<const Node*> nodes;
  for (const auto& n : body.nodes()) {
    if (n->op() == OpKind::kConstant) {
      // A constant pulled into the body: a static array, read with broadcasting like an input.
      std::string name = "kc" + std::to_string(inputs.size());
      DType d = n->output()->dtype();
      const std::vector<double>& values = n->GetFloats("value");
      int64_t numel = 1;
      for (int64_t dim : n->GetInts("shape")) numel *= dim;
      std::string list;
      for (int64_t i = 0; i < numel; ++i) {
        list += (i ? ", " : "") + LiteralExpr(values.size() == 1 ? values[0] : values[i], d);
      }
      w.Line("static const " + CpuStorageType(d) + " " + name + "[" + std::to_string(std::max<int64_t>(numel, 1)) +
             "] = {" + list + "};  // %" + n->output()->name());
      inputs.emplace_back(n->output(), name);
    }
    nodes.push_back(n.get());
  }
  // Group results by shape: one loop nest per distinct shape.
  std::vector<std::pair<Shape, std::vector<std::pair<const Value*, int>>>> by_shape;
  for (size_t k = 0; k < body.outputs().size(); ++k) {
    const Value* v = body.outputs()[k];
    if (v->producer() == nullptr || v->producer()->op() == OpKind::kConstant) {
      return Unimplemented(node.Describe() + ": a fusion result that is a body input or constant is not supported on the cpu target");
    }
    auto it = std::find_if(by_shape.begin(), by_shape.end(), [&](const auto& e) { return e.first == v->shape(); });
    if (it == by_shape.end()) {
      by_shape.push_back({v->shape(), {}});
      it = by_shape.end() - 1;
    }
    it->second.push_back({v, static_cast<int>(k)});
  }
  LoopEmitter loop(ctx, inputs);
  for (const auto& [shape, stores] : by_shape) KILN_RETURN_IF_ERROR(loop.Emit(shape, nodes, stores, w));
  return Status::Ok();
}

}  // namespace

void RegisterElementwiseEmitters() {
  for (OpKind op : {OpKind::kAbs, OpKind::kNeg, OpKind::kRelu, OpKind::kErf, OpKind::kExp,
                    OpKind::kLog, OpKind::kRsqrt, OpKind::kSqrt, OpKind::kTanh, OpKind::kSigmoid,
                    OpKind::kSilu, OpKind::kGelu, OpKind::kClip, OpKind::kAdd, OpKind::kSub,
                    OpKind::kMul, OpKind::kDiv, OpKind::kPow, OpKind::kMax, OpKind::kMin,
                    OpKind::kEqual, OpKind::kNotEqual, OpKind::kLess, OpKind::kLessEqual,
                    OpKind::kGreater, OpKind::kGreaterEqual, OpKind::kWhere, OpKind::kCast}) {
    RegisterEmitter(op, EmitSingle);
  }
  RegisterEmitter(OpKind::kFusion, EmitFusion);
}

}  // namespace kiln::codegen::cpu
