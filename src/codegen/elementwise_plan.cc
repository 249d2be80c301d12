#include "codegen/elementwise_plan.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "support/dtype.h"

namespace kiln::codegen {
namespace {

bool FloatPath(DType d) { return d == DType::kF32 || d == DType::kF16 || d == DType::kBF16; }

std::string ComputeType(DType d) { return FloatPath(d) ? "float" : "int64_t"; }

// Storage element `ptr[index]` converted to the compute type.
std::string Load(DType d, const std::string& elem, const std::string& ns) {
  switch (d) {
    case DType::kF32: return elem;
    case DType::kF16: return ns + "::HalfToFloat(" + elem + ")";
    case DType::kBF16: return ns + "::BF16ToFloat(" + elem + ")";
    default: return "static_cast<int64_t>(" + elem + ")";
  }
}

// A compute-type value converted to storage.
std::string Store(DType d, const std::string& v, const std::string& ns) {
  switch (d) {
    case DType::kF32: return v;
    case DType::kF16: return ns + "::FloatToHalf(" + v + ")";
    case DType::kBF16: return ns + "::FloatToBF16(" + v + ")";
    case DType::kBool: return "(" + v + " != 0)";
    case DType::kI64: return v;
    default: return "static_cast<" + CpuStorageType(d) + ">(" + v + ")";
  }
}

// Rounds a freshly computed value to what its dtype can hold (the reference stores every
// intermediate in its dtype).
std::string Narrow(DType d, const std::string& v, const std::string& ns) {
  switch (d) {
    case DType::kF16: return ns + "::HalfToFloat(" + ns + "::FloatToHalf(" + v + "))";
    case DType::kBF16: return ns + "::BF16ToFloat(" + ns + "::FloatToBF16(" + v + "))";
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
StatusOr<std::string> OpExpr(const Node& node, const std::vector<std::string>& a, const std::string& ns) {
  DType in = node.input(0)->dtype();
  bool f = FloatPath(in);
  switch (node.op()) {
    case OpKind::kAbs: return f ? "std::fabs(" + a[0] + ")" : ns + "::IntAbs(" + a[0] + ")";
    case OpKind::kNeg: return f ? "-" + a[0] : ns + "::WrapSub(0, " + a[0] + ")";
    case OpKind::kRelu: return f ? ns + "::Relu(" + a[0] + ")" : "(" + a[0] + " < 0 ? INT64_C(0) : " + a[0] + ")";
    case OpKind::kErf: return "std::erf(" + a[0] + ")";
    case OpKind::kExp: return "std::exp(" + a[0] + ")";
    case OpKind::kLog: return "std::log(" + a[0] + ")";
    case OpKind::kRsqrt: return "(1.f / std::sqrt(" + a[0] + "))";
    case OpKind::kSqrt: return "std::sqrt(" + a[0] + ")";
    case OpKind::kTanh: return "std::tanh(" + a[0] + ")";
    case OpKind::kSin: return "std::sin(" + a[0] + ")";
    case OpKind::kCos: return "std::cos(" + a[0] + ")";
    case OpKind::kTan: return "std::tan(" + a[0] + ")";
    case OpKind::kAsin: return "std::asin(" + a[0] + ")";
    case OpKind::kAcos: return "std::acos(" + a[0] + ")";
    case OpKind::kAtan: return "std::atan(" + a[0] + ")";
    case OpKind::kSinh: return "std::sinh(" + a[0] + ")";
    case OpKind::kCosh: return "std::cosh(" + a[0] + ")";
    case OpKind::kAsinh: return "std::asinh(" + a[0] + ")";
    case OpKind::kAcosh: return "std::acosh(" + a[0] + ")";
    case OpKind::kAtanh: return "std::atanh(" + a[0] + ")";
    case OpKind::kFloor: return "std::floor(" + a[0] + ")";
    case OpKind::kCeil: return "std::ceil(" + a[0] + ")";
    // The default rounding mode rounds halves to even, as the reference and ONNX Round.
    case OpKind::kRound: return "std::nearbyint(" + a[0] + ")";
    case OpKind::kSigmoid: return ns + "::Sigmoid(" + a[0] + ")";
    case OpKind::kSilu: return "(" + a[0] + " * " + ns + "::Sigmoid(" + a[0] + "))";
    case OpKind::kGelu:
      return (node.GetEnum("approximate") == "tanh" ? ns + "::GeluTanh(" : ns + "::Gelu(") + a[0] + ")";
    case OpKind::kClip: {
      double lo = node.GetFloat("min"), hi = node.GetFloat("max");
      if (f) return "std::min(std::max(" + a[0] + ", " + FloatLiteralExpr(lo) + "), " + FloatLiteralExpr(hi) + ")";
      auto [tmin, tmax] = IntRange(in);
      int64_t ilo = std::clamp(SaturateToI64(std::ceil(lo)), tmin, tmax);
      int64_t ihi = std::clamp(SaturateToI64(std::floor(hi)), tmin, tmax);
      return "std::min(std::max(" + a[0] + ", " + IntLiteral(ilo) + "), " + IntLiteral(ihi) + ")";
    }
    case OpKind::kAdd: return f ? "(" + a[0] + " + " + a[1] + ")" : ns + "::WrapAdd(" + a[0] + ", " + a[1] + ")";
    case OpKind::kSub: return f ? "(" + a[0] + " - " + a[1] + ")" : ns + "::WrapSub(" + a[0] + ", " + a[1] + ")";
    case OpKind::kMul: return f ? "(" + a[0] + " * " + a[1] + ")" : ns + "::WrapMul(" + a[0] + ", " + a[1] + ")";
    case OpKind::kDiv: return f ? "(" + a[0] + " / " + a[1] + ")" : ns + "::IntDiv(" + a[0] + ", " + a[1] + ")";
    case OpKind::kPow: return f ? "std::pow(" + a[0] + ", " + a[1] + ")" : ns + "::IntPow(" + a[0] + ", " + a[1] + ")";
    case OpKind::kMax: return f ? ns + "::FMax(" + a[0] + ", " + a[1] + ")" : "std::max(" + a[0] + ", " + a[1] + ")";
    case OpKind::kMin: return f ? ns + "::FMin(" + a[0] + ", " + a[1] + ")" : "std::min(" + a[0] + ", " + a[1] + ")";
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
      return f ? ns + "::SaturateToI64(" + a[0] + ")" : a[0];
    }
    default:
      return Unimplemented(node.Describe() + ": op " + std::string(node.op_name()) +
                           " is not an elementwise op");
  }
}


// Whether a value of shape `s` broadcasts along iteration dim `d` of `shape` (right-aligned).
bool Broadcasts(const Shape& s, const Shape& shape, int64_t d) {
  int64_t j = d - (static_cast<int64_t>(shape.size()) - static_cast<int64_t>(s.size()));
  if (j < 0) return true;
  return s[j].is_static() && s[j].value() == 1;
}

// The nest over `shape` computing what `stores` need from `nodes`, reading `inputs`.
EwNest PlanNest(const Shape& shape, const std::vector<std::pair<const Value*, std::string>>& inputs,
                const std::vector<const Node*>& nodes, std::vector<std::pair<const Value*, int>> stores) {
  EwNest nest;
  nest.stores = std::move(stores);
  std::set<const Value*> needed;
  for (const auto& s : nest.stores) needed.insert(s.first);
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    const Node* n = *it;
    bool any = false;
    for (const Value* o : n->outputs()) any |= needed.count(o) > 0;
    if (!any) continue;
    if (n->op() != OpKind::kConstant) nest.nodes.insert(nest.nodes.begin(), n);
    for (const Value* i : n->inputs()) needed.insert(i);
  }
  for (const auto& [v, ptr] : inputs) {
    if (needed.count(v)) nest.loads.push_back({v, ptr, {}});
  }
  // Merge dims: drop static 1s, then join neighbours that broadcast alike in every load.
  const int64_t rank = static_cast<int64_t>(shape.size());
  std::vector<std::vector<int64_t>> groups;
  std::vector<std::string> patterns;
  for (int64_t d = 0; d < rank; ++d) {
    if (shape[d].is_static() && shape[d].value() == 1) continue;
    std::string pattern;
    for (const EwLoad& l : nest.loads) pattern += Broadcasts(l.value->shape(), shape, d) ? 'B' : 'N';
    if (!groups.empty() && patterns.back() == pattern) {
      groups.back().push_back(d);
    } else {
      groups.push_back({d});
      patterns.push_back(pattern);
    }
  }
  if (groups.empty()) {  // a single element
    nest.sizes.push_back("1");
    for (EwLoad& l : nest.loads) l.strides.push_back("0");
    return nest;
  }
  for (const auto& g : groups) nest.sizes.push_back(ProductExpr(shape, g.front(), g.back() + 1));
  // Stride of a load per merged dim: 0 where it broadcasts, else the product of its own dims
  // right of the group.
  for (size_t l = 0; l < nest.loads.size(); ++l) {
    const Shape& s = nest.loads[l].value->shape();
    for (size_t k = 0; k < groups.size(); ++k) {
      if (patterns[k][l] == 'B') {
        nest.loads[l].strides.push_back("0");
        continue;
      }
      int64_t last = groups[k].back() - (rank - static_cast<int64_t>(s.size()));
      nest.loads[l].strides.push_back(ProductExpr(s, last + 1, static_cast<int64_t>(s.size())));
    }
  }
  return nest;
}

}  // namespace

const std::vector<OpKind>& ElementwiseOps() {
  static const std::vector<OpKind> ops = {
      OpKind::kAbs,   OpKind::kNeg,     OpKind::kRelu,      OpKind::kErf,     OpKind::kExp,
      OpKind::kLog,   OpKind::kRsqrt,   OpKind::kSqrt,      OpKind::kTanh,    OpKind::kSigmoid,
      OpKind::kSilu,  OpKind::kGelu,    OpKind::kClip,      OpKind::kAdd,     OpKind::kSub,
      OpKind::kMul,   OpKind::kDiv,     OpKind::kPow,       OpKind::kMax,     OpKind::kMin,
      OpKind::kEqual, OpKind::kNotEqual, OpKind::kLess,     OpKind::kLessEqual, OpKind::kGreater,
      OpKind::kGreaterEqual, OpKind::kWhere, OpKind::kCast, OpKind::kSin,   OpKind::kCos,
      OpKind::kTan,   OpKind::kAsin,    OpKind::kAcos,      OpKind::kAtan,    OpKind::kSinh,
      OpKind::kCosh,  OpKind::kAsinh,   OpKind::kAcosh,     OpKind::kAtanh,   OpKind::kFloor,
      OpKind::kCeil,  OpKind::kRound,   OpKind::kFusion};
  return ops;
}

StatusOr<EwKernel> PlanElementwise(const KernelContext& ctx) {
  const Node& node = ctx.node();
  EwKernel kernel;
  if (node.op() != OpKind::kFusion) {
    std::vector<std::pair<const Value*, std::string>> inputs;
    for (int i = 0; i < node.num_inputs(); ++i) inputs.emplace_back(node.input(i), KernelContext::In(i));
    kernel.nests.push_back(PlanNest(node.output()->shape(), inputs, {&node}, {{node.output(), 0}}));
    return kernel;
  }
  const Graph& body = node.GetGraph("body");
  std::vector<std::pair<const Value*, std::string>> inputs;
  for (size_t i = 0; i < body.inputs().size(); ++i) {
    inputs.emplace_back(body.inputs()[i], KernelContext::In(static_cast<int>(i)));
  }
  std::vector<const Node*> nodes;
  for (const auto& n : body.nodes()) {
    if (n->op() == OpKind::kConstant) {
      // A constant pulled into the body: an array, read with broadcasting like an input.
      EwConstant c;
      c.name = "kc" + std::to_string(kernel.constants.size());
      c.dtype = n->output()->dtype();
      c.comment = "%" + n->output()->name();
      const std::vector<double>& values = n->GetFloats("value");
      int64_t numel = 1;
      for (int64_t dim : n->GetInts("shape")) numel *= dim;
      for (int64_t i = 0; i < numel; ++i) {
        c.literals.push_back(LiteralExpr(values.size() == 1 ? values[0] : values[i], c.dtype));
      }
      inputs.emplace_back(n->output(), c.name);
      kernel.constants.push_back(std::move(c));
    }
    nodes.push_back(n.get());
  }
  // Group results by shape: one nest per distinct shape.
  std::vector<std::pair<Shape, std::vector<std::pair<const Value*, int>>>> by_shape;
  for (size_t k = 0; k < body.outputs().size(); ++k) {
    const Value* v = body.outputs()[k];
    if (v->producer() == nullptr || v->producer()->op() == OpKind::kConstant) {
      return Unimplemented(node.Describe() + ": a fusion result that is a body input or constant is not supported");
    }
    auto it = std::find_if(by_shape.begin(), by_shape.end(), [&](const auto& e) { return e.first == v->shape(); });
    if (it == by_shape.end()) {
      by_shape.push_back({v->shape(), {}});
      it = by_shape.end() - 1;
    }
    it->second.push_back({v, static_cast<int>(k)});
  }
  for (auto& [shape, stores] : by_shape) kernel.nests.push_back(PlanNest(shape, inputs, nodes, std::move(stores)));
  return kernel;
}

std::string LoadOffset(const EwLoad& load, const std::vector<std::string>& index) {
  std::string offset;
  for (size_t k = 0; k < index.size(); ++k) {
    if (load.strides[k] == "0") continue;
    std::string term = index[k] + (load.strides[k] == "1" ? "" : " * " + load.strides[k]);
    offset += (offset.empty() ? "" : " + ") + term;
  }
  return offset.empty() ? "0" : offset;
}

Status EmitElement(const EwNest& nest, const std::vector<std::string>& index, const std::string& flat,
                   CodeWriter& w) {
  const std::string ns = "kiln_scalar";
  std::map<const Value*, std::string> local;
  for (size_t l = 0; l < nest.loads.size(); ++l) {
    const EwLoad& load = nest.loads[l];
    const std::string offset = LoadOffset(load, index);
    std::string name = "x" + std::to_string(l);
    DType d = load.value->dtype();
    w.Line("const " + ComputeType(d) + " " + name + " = " + Load(d, load.pointer + "[" + offset + "]", ns) + ";");
    local[load.value] = name;
  }
  int next = 0;
  for (const Node* n : nest.nodes) {
    std::vector<std::string> args;
    for (const Value* i : n->inputs()) args.push_back(local.at(i));
    KILN_ASSIGN_OR_RETURN(std::string expr, OpExpr(*n, args, ns));
    const Value* out = n->output();
    std::string name = "v" + std::to_string(next++);
    w.Line("const " + ComputeType(out->dtype()) + " " + name + " = " + Narrow(out->dtype(), expr, ns) + ";  // %" +
           out->name() + " = " + std::string(n->op_name()));
    local[out] = name;
  }
  for (const auto& [v, k] : nest.stores) {
    w.Line(KernelContext::Out(k) + "[" + flat + "] = " + Store(v->dtype(), local.at(v), ns) + ";");
  }
  return Status::Ok();
}

}  // namespace kiln::codegen
