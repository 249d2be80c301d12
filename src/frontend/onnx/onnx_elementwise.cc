// ONNX elementwise ops and activations: unary math, binary arithmetic and comparisons (with the
// integer shape arithmetic of exported models folded into symbolic dims), variadic Max / Min /
// Sum / Mean, Clip, Cast, CastLike, Where, Identity, Dropout (inference), Gelu and composite
// activations (LeakyRelu, PRelu, HardSigmoid, HardSwish, Reciprocal).
#include <cmath>
#include <limits>
#include <set>

#include "frontend/onnx/onnx_op_table.h"
#include "frontend/onnx/onnx_tensor.h"

namespace kiln::onnx_import {

namespace {

template <Value* (Builder::*Method)(Value*)>
void Unary(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  ctx.SetOutput(0, (ctx.b().*Method)(ctx.Input(0)));
}

// Integer arithmetic on shape values: elementwise over dims with a scalar or same-length operand.
bool DimsBinary(NodeContext& ctx, const std::string& op) {
  if (!ctx.IsDims(0) && !ctx.IsDims(1)) return false;
  bool sa = false, sb = false;
  auto a = ctx.DimsInput(0, "operand A", &sa);
  auto b = ctx.DimsInput(1, "operand B", &sb);
  if (!a || !b) return true;
  for (const auto* v : {&*a, &*b}) {
    for (const Dim& d : *v) {
      if (d.is_static() && (d.value() > kMaxDim || d.value() < -kMaxDim)) {
        ctx.Unsupported("shape arithmetic with the value " + std::to_string(d.value()) +
                        " (beyond 2^40)");
        return true;
      }
    }
  }
  size_t n = std::max(a->size(), b->size());
  if ((a->size() != n && a->size() != 1) || (b->size() != n && b->size() != 1)) {
    ctx.Error("shape arithmetic on " + std::to_string(a->size()) + " and " +
              std::to_string(b->size()) + " elements");
    return true;
  }
  std::vector<Dim> out;
  for (size_t i = 0; i < n; ++i) {
    const Dim& x = (*a)[a->size() == 1 ? 0 : i];
    const Dim& y = (*b)[b->size() == 1 ? 0 : i];
    if (op == "Add") {
      out.push_back(x + y);
    } else if (op == "Sub") {
      out.push_back(x - y);
    } else if (op == "Mul") {
      out.push_back(x * y);
    } else if (x.is_static() && y.is_static() && y.value() != 0) {
      out.push_back(x.value() / y.value());  // integer Div truncates toward zero, as C++
    } else {  // a symbolic dim (non-negative: floor == trunc) by a positive value, or exactly
      StatusOr<Dim> q =
          y.is_static()
              ? (y.value() > 0 ? x.FloorDiv(y.value())
                               : StatusOr<Dim>(InvalidArgument("division by " + y.ToString())))
              : x.DivExact(y);
      if (!q.ok()) {
        ctx.Unsupported("shape arithmetic " + x.ToString() + " / " + y.ToString() + ": " +
                        q.status().message());
        return true;
      }
      out.push_back(*q);
    }
  }
  ctx.SetDimsOutput(0, std::move(out), sa && sb);
  return true;
}

// The smallest value a dim can take: its value, or for a lone symbol its range's minimum;
// nullopt for other polynomials.
std::optional<int64_t> DimMin(NodeContext& ctx, const Dim& d) {
  if (d.is_static()) return d.value();
  std::set<std::string> syms = d.Symbols();
  if (syms.size() != 1 || d != Dim::Symbol(*syms.begin())) return std::nullopt;
  const auto& ranges = ctx.b().graph().symbols();
  auto it = ranges.find(*syms.begin());
  if (it == ranges.end()) return std::nullopt;
  return it->second.min;
}

// Equal on shape values (PyTorch's expand(-1, ...) exports compare a shape with -1): decided at
// import time when both sides are the same dim, both static, or a lone symbol (>= its range's
// minimum) against a constant below that minimum. The result is a constant bool tensor.
bool DimsEqual(NodeContext& ctx) {
  if (!ctx.IsDims(0) && !ctx.IsDims(1)) return false;
  bool sa = false, sb = false;
  auto a = ctx.DimsInput(0, "operand A", &sa);
  auto b = ctx.DimsInput(1, "operand B", &sb);
  if (!a || !b) return true;
  size_t n = std::max(a->size(), b->size());
  if ((a->size() != n && a->size() != 1) || (b->size() != n && b->size() != 1)) {
    ctx.Error("comparing shape values of " + std::to_string(a->size()) + " and " +
              std::to_string(b->size()) + " elements");
    return true;
  }
  std::vector<int64_t> shape;
  if (!(sa && sb)) shape.push_back(static_cast<int64_t>(n));
  Tensor out(DType::kBool, shape);
  for (size_t i = 0; i < n; ++i) {
    const Dim& x = (*a)[a->size() == 1 ? 0 : i];
    const Dim& y = (*b)[b->size() == 1 ? 0 : i];
    bool eq = false;
    if (x == y) {
      eq = true;
    } else if (x.is_static() && y.is_static()) {
      eq = false;
    } else {
      const Dim& sym = x.is_static() ? y : x;
      const Dim& con = x.is_static() ? x : y;
      std::optional<int64_t> lo = DimMin(ctx, sym);
      if (!con.is_static() || !lo || con.value() >= *lo) {
        ctx.Unsupported("cannot decide " + x.ToString() + " == " + y.ToString() +
                        " at import time");
        return true;
      }
    }
    out.mutable_data_as<uint8_t>()[i] = eq ? 1 : 0;
  }
  ctx.SetConstOutput(0, out);
  return true;
}

template <Value* (Builder::*Method)(Value*, Value*)>
void Binary(NodeContext& ctx) {
  if (!ctx.ExpectInputs(2, 2) || !ctx.ExpectMaxOutputs(1)) return;
  const std::string& op = ctx.op_type();
  if ((op == "Add" || op == "Sub" || op == "Mul" || op == "Div") && DimsBinary(ctx, op)) return;
  if (op == "Equal" && DimsEqual(ctx)) return;
  ctx.SetOutput(0, (ctx.b().*Method)(ctx.Input(0), ctx.Input(1)));
}

// Pow allows an exponent of another type; a constant exponent is converted to the base's dtype,
// a run-time one as described below.
void ImportPow(NodeContext& ctx) {
  if (!ctx.ExpectInputs(2, 2) || !ctx.ExpectMaxOutputs(1)) return;
  Value* x = ctx.Input(0);
  if (!x) return;
  std::optional<TensorType> et = ctx.InputType(1);
  if (!et) return;
  Value* e = nullptr;
  if (et->dtype != x->dtype()) {
    const Tensor* c = ctx.Constant(1);
    if (!c) {
      // Run-time exponent of another type: with an f32 exponent (and an integer, f16 or bf16
      // base) the power is taken in f32 and converted back to the base's type (numpy's
      // power(x, y).astype(x.dtype); integers truncate); otherwise the exponent converts to the
      // base's type (exact for integer exponents and for f16 / bf16 ones on an f32 base).
      Value* y = ctx.Input(1);
      if (!y) return;
      Builder& b = ctx.b();
      if (y->dtype() == DType::kF32 || (!IsFloat(x->dtype()) && IsFloat(y->dtype()))) {
        ctx.SetOutput(0, b.Cast(b.Pow(b.Cast(x, y->dtype()), y), x->dtype()));
      } else {
        ctx.SetOutput(0, b.Pow(x, b.Cast(y, x->dtype())));
      }
      return;
    }
    std::vector<double> values = c->ToF64();
    if (!IsFloat(x->dtype())) {
      for (double v : values) {
        if (v != std::trunc(v)) {
          ctx.Unsupported("integer base with the fractional exponent " + std::to_string(v));
          return;
        }
      }
    }
    e = ctx.b().Constant(x->dtype(), c->shape(), values);
  } else {
    e = ctx.Input(1);
  }
  ctx.SetOutput(0, ctx.b().Pow(x, e));
}

template <Value* (Builder::*Method)(Value*, Value*)>
void Variadic(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, -1) || !ctx.ExpectMaxOutputs(1)) return;
  Value* acc = ctx.Input(0);
  for (int i = 1; i < ctx.num_inputs(); ++i) acc = (ctx.b().*Method)(acc, ctx.Input(i));
  ctx.SetOutput(0, acc);
}

void ImportIdentity(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  bool scalar = false;
  if (ctx.IsDims(0)) {
    auto d = ctx.DimsInput(0, "input", &scalar);
    if (d) ctx.SetDimsOutput(0, *d, scalar);
    return;
  }
  ctx.SetOutput(0, ctx.Input(0));
}

// Dropout in inference: the identity, and an all-true mask if requested. training_mode=1 is
// rejected unless ratio is 0.
void ImportDropout(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 3) || !ctx.ExpectMaxOutputs(2)) return;
  ctx.Ignore("seed");
  if (ctx.has_input(2)) {
    auto training = ctx.ScalarInput(2, "training_mode");
    if (!training) return;
    // Training with ratio 0 (known at import time) keeps every element: the identity too.
    const Tensor* ratio = ctx.Constant(1);
    bool keeps_all = ratio && ratio->numel() == 1 && ratio->ToF64()[0] == 0.0;
    if (*training != 0 && !keeps_all) {
      ctx.Unsupported("training_mode=true with a non-zero ratio (only inference)");
      return;
    }
  }
  Value* x = ctx.Input(0);
  ctx.SetOutput(0, x);
  if (ctx.has_output(1) && x) {
    ctx.SetOutput(1, ctx.b().Expand(ctx.b().Constant(DType::kBool, {}, {1.0}), x->shape()));
  }
}

// Dropout-10 {ratio}: the identity in inference, and an all-true mask if requested.
void ImportDropoutOld(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(2)) return;
  ctx.Ignore("ratio");  // unused in inference
  Value* x = ctx.Input(0);
  ctx.SetOutput(0, x);
  if (ctx.has_output(1) && x) {
    ctx.SetOutput(1, ctx.b().Expand(ctx.b().Constant(DType::kBool, {}, {1.0}), x->shape()));
  }
}

// Mean of the inputs: their sum divided by the count.
void ImportMean(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, -1) || !ctx.ExpectMaxOutputs(1)) return;
  Value* acc = ctx.Input(0);
  for (int i = 1; i < ctx.num_inputs(); ++i) acc = ctx.b().Add(acc, ctx.Input(i));
  if (!acc) return;
  ctx.SetOutput(0, ctx.b().Div(acc, ctx.b().Scalar(ctx.num_inputs(), acc->dtype())));
}

// PRelu: where(x < 0, x * slope, x), slope broadcast to x.
void ImportPRelu(NodeContext& ctx) {
  if (!ctx.ExpectInputs(2, 2) || !ctx.ExpectMaxOutputs(1)) return;
  Value* x = ctx.Input(0);
  Value* slope = ctx.Input(1);
  if (!x) return;
  Builder& b = ctx.b();
  ctx.SetOutput(0, b.Where(b.Less(x, b.Scalar(0.0, x->dtype())), b.Mul(x, slope), x));
}

void ImportClip(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 3) || !ctx.ExpectMaxOutputs(1)) return;
  Value* x = ctx.Input(0);
  if (!x) return;
  // Bounds computed at run time: max(x, min) then min(., max).
  if ((ctx.has_input(1) && !ctx.Constant(1)) || (ctx.has_input(2) && !ctx.Constant(2))) {
    Value* y = x;
    if (ctx.has_input(1)) y = ctx.b().Max(y, ctx.Input(1));
    if (ctx.has_input(2)) y = ctx.b().Min(y, ctx.Input(2));
    ctx.SetOutput(0, y);
    return;
  }
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  if (IsFloat(x->dtype())) {
    lo = -std::numeric_limits<float>::max();
    hi = std::numeric_limits<float>::max();
  } else {
    lo = static_cast<double>(std::numeric_limits<int64_t>::min());
    hi = static_cast<double>(std::numeric_limits<int64_t>::max());
  }
  if (ctx.has_input(1)) {
    auto v = ctx.ScalarInput(1, "min");
    if (!v) return;
    lo = *v;
  }
  if (ctx.has_input(2)) {
    auto v = ctx.ScalarInput(2, "max");
    if (!v) return;
    hi = *v;
  }
  ctx.SetOutput(0, ctx.b().Clip(x, lo, hi));
}

void ImportCast(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  if (!ctx.HasAttr("to")) {
    ctx.Error("attribute 'to' is required");
    return;
  }
  int64_t to = ctx.Int("to", 0);
  StatusOr<DType> dtype = FromOnnxDType(static_cast<int32_t>(to));
  if (!dtype.ok()) {
    ctx.Unsupported("to=" + OnnxDTypeName(static_cast<int32_t>(to)) + ": " +
                    dtype.status().message());
    return;
  }
  // saturate (opset 19) only affects float8 targets, which are rejected above.
  ctx.Ignore("saturate");
  if (ctx.IsDims(0)) {
    if (*dtype != DType::kI64 && *dtype != DType::kI32) {
      ctx.Unsupported("cast of a shape value to " + std::string(DTypeName(*dtype)));
      return;
    }
    bool scalar = false;
    auto d = ctx.DimsInput(0, "input", &scalar);
    if (d) ctx.SetDimsOutput(0, *d, scalar);
    return;
  }
  Value* x = ctx.Input(0);
  if (!x) return;
  ctx.SetOutput(0, x->dtype() == *dtype ? x : ctx.b().Cast(x, *dtype));
}

// CastLike: Cast to the dtype of input 1.
void ImportCastLike(NodeContext& ctx) {
  if (!ctx.ExpectInputs(2, 2) || !ctx.ExpectMaxOutputs(1)) return;
  ctx.Ignore("saturate");  // float8 targets only, which are rejected
  std::optional<TensorType> like = ctx.InputType(1);
  Value* x = ctx.Input(0);
  if (!like || !x) return;
  ctx.SetOutput(0, x->dtype() == like->dtype ? x : ctx.b().Cast(x, like->dtype));
}

// And, Or, Xor, Not on bool tensors, written with kiln's where/compare ops (kiln has no logical
// ops): and(a, b) = where(a, b, a), or(a, b) = where(a, a, b), xor(a, b) = not_equal(a, b),
// not(a) = equal(a, false); broadcasting as ONNX's.
template <int kOp>  // 0 and, 1 or, 2 xor, 3 not
void ImportLogical(NodeContext& ctx) {
  const int n = kOp == 3 ? 1 : 2;
  if (!ctx.ExpectInputs(n, n) || !ctx.ExpectMaxOutputs(1)) return;
  for (int i = 0; i < n; ++i) {
    std::optional<TensorType> t = ctx.InputType(i);
    if (!t) return;
    if (t->dtype != DType::kBool) {
      ctx.Error("input " + std::to_string(i) + " is " + std::string(DTypeName(t->dtype)) +
                ", expected bool");
      return;
    }
  }
  Value* a = ctx.Input(0);
  Value* b = n == 2 ? ctx.Input(1) : nullptr;
  if (!a || (n == 2 && !b)) return;
  Builder& bl = ctx.b();
  switch (kOp) {
    case 0: ctx.SetOutput(0, bl.Where(a, b, a)); break;
    case 1: ctx.SetOutput(0, bl.Where(a, a, b)); break;
    case 2: ctx.SetOutput(0, bl.NotEqual(a, b)); break;
    default: ctx.SetOutput(0, bl.Equal(a, bl.Constant(DType::kBool, {}, {0.0}))); break;
  }
}

void ImportWhere(NodeContext& ctx) {
  if (!ctx.ExpectInputs(3, 3) || !ctx.ExpectMaxOutputs(1)) return;
  if (ctx.IsDims(1) || ctx.IsDims(2)) {  // selecting between shape values by a constant mask
    const Tensor* cond = ctx.Constant(0);
    bool sx = false, sy = false;
    auto x = ctx.DimsInput(1, "X", &sx);
    auto y = ctx.DimsInput(2, "Y", &sy);
    if (!x || !y) return;
    if (!cond || cond->rank() > 1) {
      ctx.Unsupported("where on shape values needs a condition known at import time");
      return;
    }
    std::vector<double> c = cond->ToF64();
    size_t n = std::max({c.size(), x->size(), y->size()});
    for (size_t len : {c.size(), x->size(), y->size()}) {
      if (len != n && len != 1) {
        ctx.Error("where on shape values of different lengths");
        return;
      }
    }
    std::vector<Dim> out;
    for (size_t i = 0; i < n; ++i) {
      bool pick_x = c[c.size() == 1 ? 0 : i] != 0;
      out.push_back(pick_x ? (*x)[x->size() == 1 ? 0 : i] : (*y)[y->size() == 1 ? 0 : i]);
    }
    ctx.SetDimsOutput(0, out, sx && sy && cond->rank() == 0);
    return;
  }
  ctx.SetOutput(0, ctx.b().Where(ctx.Input(0), ctx.Input(1), ctx.Input(2)));
}

// Gelu (opset 20): approximate = none | tanh.
void ImportGelu(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  std::string approx = ctx.Str("approximate", "none");
  if (approx != "none" && approx != "tanh") {
    ctx.Unsupported("approximate='" + approx + "' (expected none or tanh)");
    return;
  }
  ctx.SetOutput(0, ctx.b().Gelu(ctx.Input(0), approx == "tanh"));
}

Value* ScalarLike(NodeContext& ctx, Value* x, double v) {
  return x ? ctx.b().Scalar(v, x->dtype()) : nullptr;
}

void ImportReciprocal(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  Value* x = ctx.Input(0);
  ctx.SetOutput(0, ctx.b().Div(ScalarLike(ctx, x, 1.0), x));
}

// LeakyRelu: where(x >= 0, x, alpha * x).
void ImportLeakyRelu(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  double alpha = ctx.Float("alpha", 0.01);
  Value* x = ctx.Input(0);
  Builder& b = ctx.b();
  Value* pos = b.GreaterEqual(x, ScalarLike(ctx, x, 0.0));
  ctx.SetOutput(0, b.Where(pos, x, b.Mul(x, ScalarLike(ctx, x, alpha))));
}

// HardSigmoid: clip(alpha * x + beta, 0, 1); HardSwish: x * HardSigmoid(alpha=1/6, beta=0.5).
Value* HardSigmoidOf(NodeContext& ctx, Value* x, double alpha, double beta) {
  Builder& b = ctx.b();
  return b.Clip(b.Add(b.Mul(x, ScalarLike(ctx, x, alpha)), ScalarLike(ctx, x, beta)), 0.0, 1.0);
}

void ImportHardSigmoid(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  double alpha = ctx.Float("alpha", 0.2);
  double beta = ctx.Float("beta", 0.5);
  ctx.SetOutput(0, HardSigmoidOf(ctx, ctx.Input(0), alpha, beta));
}

void ImportHardSwish(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  Value* x = ctx.Input(0);
  ctx.SetOutput(0, ctx.b().Mul(x, HardSigmoidOf(ctx, x, 1.0 / 6.0, 0.5)));
}

}  // namespace

void RegisterElementwiseOps(OnnxOpRegistry& r) {
  r.Add("Abs", 7, 21, Unary<&Builder::Abs>);
  r.Add("Erf", 9, 21, Unary<&Builder::Erf>);
  r.Add("Exp", 7, 21, Unary<&Builder::Exp>);
  r.Add("Log", 7, 21, Unary<&Builder::Log>);
  r.Add("Neg", 7, 21, Unary<&Builder::Neg>);
  r.Add("Relu", 7, 21, Unary<&Builder::Relu>);
  r.Add("Sigmoid", 7, 21, Unary<&Builder::Sigmoid>);
  r.Add("Sqrt", 7, 21, Unary<&Builder::Sqrt>);
  r.Add("Tanh", 7, 21, Unary<&Builder::Tanh>);
  r.Add("Reciprocal", 7, 21, ImportReciprocal);
  r.Add("LeakyRelu", 7, 21, ImportLeakyRelu);
  r.Add("HardSigmoid", 6, 21, ImportHardSigmoid);
  r.Add("HardSwish", 14, 21, ImportHardSwish);
  r.Add("Gelu", 20, 21, ImportGelu);
  r.Add("Add", 7, 21, Binary<&Builder::Add>);
  r.Add("Sub", 7, 21, Binary<&Builder::Sub>);
  r.Add("Mul", 7, 21, Binary<&Builder::Mul>);
  r.Add("Div", 7, 21, Binary<&Builder::Div>);
  r.Add("Pow", 12, 21, ImportPow);
  r.Add("Equal", 11, 21, Binary<&Builder::Equal>);
  r.Add("And", 7, 21, ImportLogical<0>);
  r.Add("Or", 7, 21, ImportLogical<1>);
  r.Add("Xor", 7, 21, ImportLogical<2>);
  r.Add("Not", 1, 21, ImportLogical<3>);
  r.Add("Less", 9, 21, Binary<&Builder::Less>);
  r.Add("LessOrEqual", 12, 21, Binary<&Builder::LessEqual>);
  r.Add("Greater", 9, 21, Binary<&Builder::Greater>);
  r.Add("GreaterOrEqual", 12, 21, Binary<&Builder::GreaterEqual>);
  r.Add("Max", 8, 21, Variadic<&Builder::Max>);
  r.Add("Min", 8, 21, Variadic<&Builder::Min>);
  r.Add("Sum", 8, 21, Variadic<&Builder::Add>);
  r.Add("Mean", 8, 21, ImportMean);
  r.Add("PRelu", 9, 21, ImportPRelu);
  r.Add("CastLike", 15, 21, ImportCastLike);
  r.Add("Clip", 11, 21, ImportClip);
  r.Add("Cast", 7, 21, ImportCast);
  r.Add("Where", 9, 21, ImportWhere);
  r.Add("Identity", 7, 21, ImportIdentity);
  r.Add("Dropout", 10, 11, ImportDropoutOld);
  r.Add("Dropout", 12, 21, ImportDropout);
}

}  // namespace kiln::onnx_import
