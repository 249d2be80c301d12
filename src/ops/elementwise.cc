// The elementwise op family: unary math (incl. trigonometric, hyperbolic and rounding functions),
// binary arithmetic and comparisons with numpy broadcasting, where, cast and clip.
//
// Each op is a row in one of two tables (unary, binary); one generic inference and one generic
// CPU reference serve every row. Float dtypes compute in double and round once on store, which
// for +, -, *, / and sqrt gives the correctly rounded f32/f16/bf16 result. Integer dtypes take an
// exact int64 path (never through double, so i64 above 2^53 survives); narrower integers wrap on
// store like a C cast, i.e. modular arithmetic in the operand dtype.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "ops/families.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

// The default clip bounds: the f32 range (builder.h).
constexpr double kF32Max = 3.4028234663852886e38;
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();

std::string Name(DType d) { return std::string(DTypeName(d)); }

// fp8 types are reserved: they parse and print, but have no host storage and no op accepts them.
bool IsFp8(DType d) { return d == DType::kF8E4M3 || d == DType::kF8E5M2; }
// Integer and bool values take the exact int64 path; float values the double path.
bool UsesIntPath(DType d) { return IsInteger(d) || d == DType::kBool; }

// Wrapping int64 arithmetic (signed overflow is undefined in C++, unsigned wraps).
int64_t WrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t WrapSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
int64_t WrapMul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}

// Truncates toward zero and saturates to int64; NaN becomes 0 (a C cast would be undefined).
int64_t SaturateToI64(double v) {
  if (std::isnan(v)) return 0;
  if (v >= 9223372036854775808.0) return kI64Max;
  if (v < -9223372036854775808.0) return kI64Min;
  return static_cast<int64_t>(v);
}

// Value range of an integer dtype, so integer clip bounds never produce an unrepresentable value.
std::pair<int64_t, int64_t> IntRange(DType d) {
  switch (d) {
    case DType::kI32:
      return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
    case DType::kI8:
      return {-128, 127};
    case DType::kU8:
      return {0, 255};
    case DType::kBool:
      return {0, 1};
    default:
      return {kI64Min, kI64Max};
  }
}

// ------------------------------------------------------------------------------------ unary

// Attribute values a unary function may need, read once per node.
struct UnaryParams {
  bool gelu_tanh = false;
  double lo = -kF32Max;  // clip, float form
  double hi = kF32Max;
  int64_t ilo = kI64Min;  // clip, integer form: ceil(lo) / floor(hi) within the dtype's range
  int64_t ihi = kI64Max;
};

using UnaryFloatFn = double (*)(double x, const UnaryParams& p);
using UnaryIntFn = int64_t (*)(int64_t x, const UnaryParams& p);

struct UnaryOp {
  OpKind kind;
  const char* summary;
  UnaryFloatFn f;
  UnaryIntFn i;  // nullptr: the op is defined for float dtypes only
};

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Nearest integer with ties to even, independent of the floating-point rounding mode.
double RoundHalfEven(double x) {
  double r = std::round(x);  // ties away from zero
  if (std::fabs(x - std::trunc(x)) == 0.5) r = 2.0 * std::round(x / 2.0);
  return r;
}

double Gelu(double x, const UnaryParams& p) {
  if (p.gelu_tanh) {
    constexpr double kSqrt2OverPi = 0.79788456080286535588;  // sqrt(2/pi)
    return 0.5 * x * (1.0 + std::tanh(kSqrt2OverPi * (x + 0.044715 * x * x * x)));
  }
  return 0.5 * x * (1.0 + std::erf(x * 0.70710678118654752440));  // x / sqrt(2)
}

const UnaryOp kUnaryOps[] = {
    {OpKind::kAbs, "|x|", [](double x, const UnaryParams&) { return std::fabs(x); },
     [](int64_t x, const UnaryParams&) { return x < 0 ? WrapSub(0, x) : x; }},
    {OpKind::kErf, "erf(x)", [](double x, const UnaryParams&) { return std::erf(x); }, nullptr},
    {OpKind::kExp, "e^x", [](double x, const UnaryParams&) { return std::exp(x); }, nullptr},
    {OpKind::kLog, "natural log", [](double x, const UnaryParams&) { return std::log(x); },
     nullptr},
    {OpKind::kNeg, "-x", [](double x, const UnaryParams&) { return -x; },
     [](int64_t x, const UnaryParams&) { return WrapSub(0, x); }},
    // `x < 0 ? 0 : x` keeps NaN (as torch.relu does).
    {OpKind::kRelu, "max(x, 0)", [](double x, const UnaryParams&) { return x < 0 ? 0.0 : x; },
     [](int64_t x, const UnaryParams&) { return x < 0 ? int64_t{0} : x; }},
    {OpKind::kRsqrt, "1/sqrt(x)", [](double x, const UnaryParams&) { return 1.0 / std::sqrt(x); },
     nullptr},
    {OpKind::kSigmoid, "1/(1+e^-x)", [](double x, const UnaryParams&) { return Sigmoid(x); },
     nullptr},
    {OpKind::kSilu, "x*sigmoid(x)", [](double x, const UnaryParams&) { return x * Sigmoid(x); },
     nullptr},
    {OpKind::kSqrt, "square root", [](double x, const UnaryParams&) { return std::sqrt(x); },
     nullptr},
    {OpKind::kTanh, "tanh(x)", [](double x, const UnaryParams&) { return std::tanh(x); }, nullptr},
    {OpKind::kGelu, "GELU {approximate=none (erf) | tanh}", Gelu, nullptr},
    // Trigonometric, hyperbolic and rounding functions (ONNX Sin..Atanh, Floor, Ceil, Round):
    // float dtypes only, as in ONNX. round is half to even (numpy.round, ONNX Round).
    {OpKind::kSin, "sin(x)", [](double x, const UnaryParams&) { return std::sin(x); }, nullptr},
    {OpKind::kCos, "cos(x)", [](double x, const UnaryParams&) { return std::cos(x); }, nullptr},
    {OpKind::kTan, "tan(x)", [](double x, const UnaryParams&) { return std::tan(x); }, nullptr},
    {OpKind::kAsin, "asin(x)", [](double x, const UnaryParams&) { return std::asin(x); }, nullptr},
    {OpKind::kAcos, "acos(x)", [](double x, const UnaryParams&) { return std::acos(x); }, nullptr},
    {OpKind::kAtan, "atan(x)", [](double x, const UnaryParams&) { return std::atan(x); }, nullptr},
    {OpKind::kSinh, "sinh(x)", [](double x, const UnaryParams&) { return std::sinh(x); }, nullptr},
    {OpKind::kCosh, "cosh(x)", [](double x, const UnaryParams&) { return std::cosh(x); }, nullptr},
    {OpKind::kAsinh, "asinh(x)", [](double x, const UnaryParams&) { return std::asinh(x); },
     nullptr},
    {OpKind::kAcosh, "acosh(x)", [](double x, const UnaryParams&) { return std::acosh(x); },
     nullptr},
    {OpKind::kAtanh, "atanh(x)", [](double x, const UnaryParams&) { return std::atanh(x); },
     nullptr},
    {OpKind::kFloor, "largest integer <= x",
     [](double x, const UnaryParams&) { return std::floor(x); }, nullptr},
    {OpKind::kCeil, "smallest integer >= x",
     [](double x, const UnaryParams&) { return std::ceil(x); }, nullptr},
    {OpKind::kRound, "nearest integer, halves to even",
     [](double x, const UnaryParams&) { return RoundHalfEven(x); }, nullptr},

    // max-then-min, as numpy.clip: min > max yields max everywhere; NaN propagates.
    {OpKind::kClip, "clamp to [min, max]",
     [](double x, const UnaryParams& p) { return std::min(std::max(x, p.lo), p.hi); },
     [](int64_t x, const UnaryParams& p) { return std::min(std::max(x, p.ilo), p.ihi); }},
};

UnaryParams ReadUnaryParams(const Node& node, DType dtype) {
  UnaryParams p;
  if (node.op() == OpKind::kGelu) p.gelu_tanh = node.GetEnum("approximate") == "tanh";
  if (node.op() == OpKind::kClip) {
    p.lo = node.GetFloat("min");
    p.hi = node.GetFloat("max");
    auto [tmin, tmax] = IntRange(dtype);
    p.ilo = std::clamp(SaturateToI64(std::ceil(p.lo)), tmin, tmax);
    p.ihi = std::clamp(SaturateToI64(std::floor(p.hi)), tmin, tmax);
  }
  return p;
}

InferFn UnaryInfer(const UnaryOp& op) {
  return [&op](const Node& node) -> StatusOr<std::vector<TensorType>> {
    const TensorType& x = node.input(0)->type();
    if (op.i == nullptr && !IsComputeFloat(x.dtype)) {
      return OpError(node, "operand 0 has dtype " + Name(x.dtype) + ", expected f32, f16 or bf16");
    }
    if (op.i != nullptr && !IsComputeFloat(x.dtype) && !IsInteger(x.dtype)) {
      return OpError(node, "operand 0 has dtype " + Name(x.dtype) +
                               ", expected a float (f32, f16, bf16) or integer dtype");
    }
    return std::vector<TensorType>{x};
  };
}

ReferenceFn UnaryReference(const UnaryOp& op) {
  return [&op](const Node& node, std::span<const Tensor> in, std::span<Tensor> out) -> Status {
    const Tensor& x = in[0];
    Tensor& y = out[0];
    UnaryParams p = ReadUnaryParams(node, x.dtype());
    if (UsesIntPath(x.dtype())) {
      std::vector<int64_t> v = x.ToI64();
      for (int64_t k = 0; k < x.numel(); ++k) StoreI64(y, k, op.i(v[k], p));
    } else {
      std::vector<double> v = x.ToF64();
      for (int64_t k = 0; k < x.numel(); ++k) y.SetF64(k, op.f(v[k], p));
    }
    return Status::Ok();
  };
}

std::vector<AttrSpec> UnaryAttrs(OpKind kind) {
  if (kind == OpKind::kGelu) {
    return {{"approximate", AttrKind::kEnum, AttrValue(EnumValue{"none"}), {"none", "tanh"}}};
  }
  if (kind == OpKind::kClip) {
    return {{"min", AttrKind::kFloat, AttrValue(-kF32Max)},
            {"max", AttrKind::kFloat, AttrValue(kF32Max)}};
  }
  return {};
}

// ------------------------------------------------------------------------------------ binary

// Exact integer form of a binary op; returns false on a data-dependent error.
using BinaryIntFn = bool (*)(int64_t a, int64_t b, int64_t* out);
using BinaryFloatFn = double (*)(double a, double b);

struct BinaryOp {
  OpKind kind;
  const char* summary;
  bool compare;  // result is bool; bool operands allowed
  BinaryFloatFn f;
  BinaryIntFn i;
  const char* int_error;  // what a false return of `i` means
};

// Integer power by squaring with wrap-around; negative exponents have no integer result.
bool IntPow(int64_t base, int64_t exp, int64_t* out) {
  if (exp < 0) return false;
  int64_t r = 1;
  while (exp > 0) {
    if (exp & 1) r = WrapMul(r, base);
    base = WrapMul(base, base);
    exp >>= 1;
  }
  *out = r;
  return true;
}

// Division truncating toward zero, as C; INT64_MIN / -1 wraps to INT64_MIN.
bool IntDiv(int64_t a, int64_t b, int64_t* out) {
  if (b == 0) return false;
  *out = (b == -1) ? WrapSub(0, a) : a / b;
  return true;
}

// numpy.maximum / minimum: a NaN operand gives NaN.
double FMax(double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b); }
double FMin(double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b); }

#define KILN_INT_FN(expr)                \
  [](int64_t a, int64_t b, int64_t* o) { \
    *o = (expr);                         \
    return true;                         \
  }
#define KILN_CMP(op) \
  [](double a, double b) { return (a op b) ? 1.0 : 0.0; }, KILN_INT_FN(a op b), ""

const BinaryOp kBinaryOps[] = {
    {OpKind::kAdd, "a + b", false, [](double a, double b) { return a + b; },
     KILN_INT_FN(WrapAdd(a, b)), ""},
    {OpKind::kSub, "a - b", false, [](double a, double b) { return a - b; },
     KILN_INT_FN(WrapSub(a, b)), ""},
    {OpKind::kMul, "a * b", false, [](double a, double b) { return a * b; },
     KILN_INT_FN(WrapMul(a, b)), ""},
    {OpKind::kDiv, "a / b (integers truncate toward zero)", false,
     [](double a, double b) { return a / b; }, IntDiv, "integer division by zero"},
    {OpKind::kPow, "a ^ b", false, [](double a, double b) { return std::pow(a, b); }, IntPow,
     "integer pow with a negative exponent"},
    {OpKind::kMax, "elementwise maximum", false, FMax, KILN_INT_FN(std::max(a, b)), ""},
    {OpKind::kMin, "elementwise minimum", false, FMin, KILN_INT_FN(std::min(a, b)), ""},
    {OpKind::kEqual, "a == b", true, KILN_CMP(==)},
    {OpKind::kNotEqual, "a != b", true, KILN_CMP(!=)},
    {OpKind::kLess, "a < b", true, KILN_CMP(<)},
    {OpKind::kLessEqual, "a <= b", true, KILN_CMP(<=)},
    {OpKind::kGreater, "a > b", true, KILN_CMP(>)},
    {OpKind::kGreaterEqual, "a >= b", true, KILN_CMP(>=)},
};

#undef KILN_CMP
#undef KILN_INT_FN

InferFn BinaryInfer(const BinaryOp& op) {
  return [&op](const Node& node) -> StatusOr<std::vector<TensorType>> {
    KILN_RETURN_IF_ERROR(CheckSameDType(node, {0, 1}));
    DType d = node.input(0)->dtype();
    if (IsFp8(d) || (!op.compare && d == DType::kBool)) {
      return OpError(node, "operands have dtype " + Name(d) +
                               ", expected a float (f32, f16, bf16)" +
                               (op.compare ? ", integer or bool dtype" : " or integer dtype"));
    }
    KILN_ASSIGN_OR_RETURN(Shape shape,
                          BroadcastShapes(node, node.input(0)->shape(), node.input(1)->shape()));
    return std::vector<TensorType>{{op.compare ? DType::kBool : d, std::move(shape)}};
  };
}

ReferenceFn BinaryReference(const BinaryOp& op) {
  return [&op](const Node& node, std::span<const Tensor> in, std::span<Tensor> out) -> Status {
    const Tensor& a = in[0];
    const Tensor& b = in[1];
    Tensor& y = out[0];
    std::vector<int64_t> ma = BroadcastIndexMap(y.shape(), a.shape());
    std::vector<int64_t> mb = BroadcastIndexMap(y.shape(), b.shape());
    if (UsesIntPath(a.dtype())) {
      std::vector<int64_t> va = a.ToI64(), vb = b.ToI64();
      for (int64_t k = 0; k < y.numel(); ++k) {
        int64_t r = 0;
        if (!op.i(va[ma[k]], vb[mb[k]], &r)) {
          return OpError(node, std::string(op.int_error) + " at output element " +
                                   std::to_string(k) + " (" + std::to_string(va[ma[k]]) + ", " +
                                   std::to_string(vb[mb[k]]) + ")");
        }
        StoreI64(y, k, r);
      }
    } else {
      std::vector<double> va = a.ToF64(), vb = b.ToF64();
      for (int64_t k = 0; k < y.numel(); ++k) y.SetF64(k, op.f(va[ma[k]], vb[mb[k]]));
    }
    return Status::Ok();
  };
}

// ------------------------------------------------------------------------------------ where, cast

StatusOr<std::vector<TensorType>> WhereInfer(const Node& node) {
  DType c = node.input(0)->dtype();
  if (c != DType::kBool) {
    return OpError(node, "condition (operand 0) must be bool, got " + Name(c));
  }
  KILN_RETURN_IF_ERROR(CheckSameDType(node, {1, 2}));
  DType d = node.input(1)->dtype();
  if (IsFp8(d))
    return OpError(node, "operands 1 and 2 have dtype " + Name(d) + ", which has no arithmetic");
  KILN_ASSIGN_OR_RETURN(Shape s,
                        BroadcastShapes(node, node.input(0)->shape(), node.input(1)->shape()));
  KILN_ASSIGN_OR_RETURN(s, BroadcastShapes(node, s, node.input(2)->shape()));
  return std::vector<TensorType>{{d, std::move(s)}};
}

// Copies element bytes, so every dtype is selected exactly.
Status WhereReference(const Node&, std::span<const Tensor> in, std::span<Tensor> out) {
  const Tensor& cond = in[0];
  Tensor& y = out[0];
  std::vector<int64_t> mc = BroadcastIndexMap(y.shape(), cond.shape());
  std::vector<int64_t> mx = BroadcastIndexMap(y.shape(), in[1].shape());
  std::vector<int64_t> my = BroadcastIndexMap(y.shape(), in[2].shape());
  const int64_t size = DTypeSize(y.dtype());
  const auto* c = cond.data_as<uint8_t>();
  const auto* x = in[1].data_as<uint8_t>();
  const auto* z = in[2].data_as<uint8_t>();
  auto* dst = y.mutable_data_as<uint8_t>();
  for (int64_t k = 0; k < y.numel(); ++k) {
    const uint8_t* src = c[mc[k]] ? x + mx[k] * size : z + my[k] * size;
    std::memcpy(dst + k * size, src, size);
  }
  return Status::Ok();
}

StatusOr<std::vector<TensorType>> CastInfer(const Node& node) {
  DType from = node.input(0)->dtype();
  DType to = node.GetDType("to");
  if (IsFp8(from) || IsFp8(to)) {
    return OpError(node, "cast from " + Name(from) + " to " + Name(to) +
                             " is not supported (fp8 types are reserved)");
  }
  return std::vector<TensorType>{{to, node.input(0)->shape()}};
}

// Integer/bool sources convert exactly through int64; float -> integer truncates toward zero,
// saturates to the int64 range (NaN -> 0) and then wraps to narrower types like a C cast;
// anything -> bool is `v != 0` (NaN -> true).
Status CastReference(const Node&, std::span<const Tensor> in, std::span<Tensor> out) {
  const Tensor& x = in[0];
  Tensor& y = out[0];
  if (UsesIntPath(x.dtype())) {
    std::vector<int64_t> v = x.ToI64();
    for (int64_t k = 0; k < x.numel(); ++k) StoreI64(y, k, v[k]);
  } else if (IsInteger(y.dtype())) {
    std::vector<double> v = x.ToF64();
    for (int64_t k = 0; k < x.numel(); ++k) StoreI64(y, k, SaturateToI64(v[k]));
  } else {
    std::vector<double> v = x.ToF64();
    for (int64_t k = 0; k < x.numel(); ++k) y.SetF64(k, v[k]);
  }
  return Status::Ok();
}

}  // namespace

void RegisterElementwiseOps() {
  for (const UnaryOp& op : kUnaryOps) {
    RegisterOp({.kind = op.kind,
                .fusion = FusionKind::kElementwise,
                .min_inputs = 1,
                .max_inputs = 1,
                .attrs = UnaryAttrs(op.kind),
                .infer = UnaryInfer(op),
                .reference = UnaryReference(op),
                .summary = op.summary});
  }
  for (const BinaryOp& op : kBinaryOps) {
    RegisterOp({.kind = op.kind,
                .fusion = FusionKind::kBroadcast,
                .min_inputs = 2,
                .max_inputs = 2,
                .attrs = {},
                .infer = BinaryInfer(op),
                .reference = BinaryReference(op),
                .summary = op.summary});
  }
  RegisterOp({.kind = OpKind::kWhere,
              .fusion = FusionKind::kBroadcast,
              .min_inputs = 3,
              .max_inputs = 3,
              .attrs = {},
              .infer = WhereInfer,
              .reference = WhereReference,
              .summary = "cond ? x : y with three-way broadcasting"});
  RegisterOp({.kind = OpKind::kCast,
              .fusion = FusionKind::kElementwise,
              .min_inputs = 1,
              .max_inputs = 1,
              .attrs = {{"to", AttrKind::kDType, std::nullopt}},
              .infer = CastInfer,
              .reference = CastReference,
              .summary = "convert to dtype {to}"});
}

}  // namespace kiln
