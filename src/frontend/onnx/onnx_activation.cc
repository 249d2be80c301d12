// ONNX unary math and activations that are kiln unary ops or short compositions of them:
// Sin Cos Tan Asin Acos Atan Sinh Cosh Asinh Acosh Atanh Floor Ceil Round (kiln unary ops),
// Sign, IsNaN, IsInf, Softplus, Softsign, Elu, Selu, Celu, ThresholdedRelu, Shrink (where /
// compare / arithmetic compositions written as ONNX's reference formulas) and Mod (integer
// arithmetic with floor or truncated division; for floats a - b * trunc(a / b)) and BitShift
// (multiplication / division by powers of two).
#include <cmath>
#include <limits>

#include "frontend/onnx/onnx_op_table.h"

namespace kiln::onnx_import {

namespace {

// The input of a one-input activation; nullptr (with an error recorded) if absent.
Value* OneInput(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return nullptr;
  return ctx.Input(0);
}

// A scalar constant of x's dtype; nullptr when x is (an earlier builder error, already recorded).
Value* Like(NodeContext& ctx, Value* x, double v) {
  return x == nullptr ? nullptr : ctx.b().Scalar(v, x->dtype());
}

// A one-result kiln op by kind; nullptr after an error.
Value* KilnOp(Builder& b, OpKind kind, Value* x) {
  std::vector<Value*> out = b.Op(kind, {x});
  return out.empty() ? nullptr : out[0];
}

template <OpKind kKind>
void KilnUnary(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  Value* x = ctx.Input(0);
  if (!x) return;
  ctx.SetOutput(0, KilnOp(ctx.b(), kKind, x));
}

// Float inputs only (the ONNX type constraints of the compositions below).
bool RequireFloat(NodeContext& ctx, Value* x) {
  if (!IsFloat(x->dtype())) {
    ctx.Error("input has dtype " + std::string(DTypeName(x->dtype())) + ", expected a float type");
    return false;
  }
  return true;
}

// Sign: where(x > 0, 1, where(x < 0, -1, x * 0)); x * 0 keeps NaN (NaN) and zero (0).
void ImportSign(NodeContext& ctx) {
  Value* x = OneInput(ctx);
  if (!x) return;
  Builder& b = ctx.b();
  Value* zero = b.Mul(x, Like(ctx, x, 0.0));
  Value* neg = x->dtype() == DType::kU8
                   ? zero
                   : b.Where(b.Less(x, Like(ctx, x, 0.0)), Like(ctx, x, -1.0), zero);
  ctx.SetOutput(0, b.Where(b.Greater(x, Like(ctx, x, 0.0)), Like(ctx, x, 1.0), neg));
}

// IsNaN: x != x.
void ImportIsNaN(NodeContext& ctx) {
  Value* x = OneInput(ctx);
  if (!x || !RequireFloat(ctx, x)) return;
  ctx.SetOutput(0, ctx.b().NotEqual(x, x));
}

// IsInf {detect_positive=1, detect_negative=1}: x == +inf, x == -inf, or either.
void ImportIsInf(NodeContext& ctx) {
  bool pos = ctx.Int("detect_positive", 1) != 0;
  bool neg = ctx.Int("detect_negative", 1) != 0;
  Value* x = OneInput(ctx);
  if (!x || !RequireFloat(ctx, x)) return;
  Builder& b = ctx.b();
  const double inf = std::numeric_limits<double>::infinity();
  Value* p = b.Equal(x, Like(ctx, x, inf));
  Value* n = b.Equal(x, Like(ctx, x, -inf));
  if (pos && neg) {
    ctx.SetOutput(0, b.Where(p, p, n));
  } else if (pos) {
    ctx.SetOutput(0, p);
  } else if (neg) {
    ctx.SetOutput(0, n);
  } else {
    ctx.SetOutput(0, b.Less(x, x));  // all false
  }
}

// Softplus: log(exp(x) + 1).
void ImportSoftplus(NodeContext& ctx) {
  Value* x = OneInput(ctx);
  if (!x || !RequireFloat(ctx, x)) return;
  Builder& b = ctx.b();
  ctx.SetOutput(0, b.Log(b.Add(b.Exp(x), Like(ctx, x, 1.0))));
}

// Softsign: x / (1 + |x|).
void ImportSoftsign(NodeContext& ctx) {
  Value* x = OneInput(ctx);
  if (!x || !RequireFloat(ctx, x)) return;
  Builder& b = ctx.b();
  ctx.SetOutput(0, b.Div(x, b.Add(Like(ctx, x, 1.0), b.Abs(x))));
}

// Elu {alpha=1}: where(x < 0, alpha * (exp(x) - 1), x).
void ImportElu(NodeContext& ctx) {
  double alpha = ctx.Float("alpha", 1.0);
  Value* x = OneInput(ctx);
  if (!x || !RequireFloat(ctx, x)) return;
  Builder& b = ctx.b();
  Value* e = b.Mul(b.Sub(b.Exp(x), Like(ctx, x, 1.0)), Like(ctx, x, alpha));
  ctx.SetOutput(0, b.Where(b.Less(x, Like(ctx, x, 0.0)), e, x));
}

// Selu {alpha, gamma}: gamma * where(x <= 0, alpha * exp(x) - alpha, x).
void ImportSelu(NodeContext& ctx) {
  double alpha = ctx.Float("alpha", 1.67326319217681884765625);
  double gamma = ctx.Float("gamma", 1.05070102214813232421875);
  Value* x = OneInput(ctx);
  if (!x || !RequireFloat(ctx, x)) return;
  Builder& b = ctx.b();
  Value* e = b.Sub(b.Mul(b.Exp(x), Like(ctx, x, alpha)), Like(ctx, x, alpha));
  Value* y = b.Where(b.LessEqual(x, Like(ctx, x, 0.0)), e, x);
  ctx.SetOutput(0, b.Mul(y, Like(ctx, x, gamma)));
}

// Celu {alpha=1}: max(0, x) + min(0, alpha * (exp(x / alpha) - 1)).
void ImportCelu(NodeContext& ctx) {
  double alpha = ctx.Float("alpha", 1.0);
  Value* x = OneInput(ctx);
  if (!x || !RequireFloat(ctx, x)) return;
  Builder& b = ctx.b();
  Value* zero = Like(ctx, x, 0.0);
  Value* e =
      b.Mul(b.Sub(b.Exp(b.Div(x, Like(ctx, x, alpha))), Like(ctx, x, 1.0)), Like(ctx, x, alpha));
  ctx.SetOutput(0, b.Add(b.Max(x, zero), b.Min(e, zero)));
}

// ThresholdedRelu {alpha=1}: where(x > alpha, x, 0).
void ImportThresholdedRelu(NodeContext& ctx) {
  double alpha = ctx.Float("alpha", 1.0);
  Value* x = OneInput(ctx);
  if (!x || !RequireFloat(ctx, x)) return;
  Builder& b = ctx.b();
  ctx.SetOutput(0, b.Where(b.Greater(x, Like(ctx, x, alpha)), x, Like(ctx, x, 0.0)));
}

// Shrink {lambd=0.5, bias=0}: x < -lambd: x + bias; x > lambd: x - bias; else 0.
void ImportShrink(NodeContext& ctx) {
  double lambd = ctx.Float("lambd", 0.5);
  double bias = ctx.Float("bias", 0.0);
  Value* x = OneInput(ctx);
  if (!x) return;
  if (!IsFloat(x->dtype()) && (lambd != std::trunc(lambd) || bias != std::trunc(bias))) {
    ctx.Unsupported("fractional lambd or bias on an integer input");
    return;
  }
  Builder& b = ctx.b();
  Value* hi =
      b.Where(b.Greater(x, Like(ctx, x, lambd)), b.Sub(x, Like(ctx, x, bias)), Like(ctx, x, 0.0));
  ctx.SetOutput(0, b.Where(b.Less(x, Like(ctx, x, -lambd)), b.Add(x, Like(ctx, x, bias)), hi));
}

// Mod {fmod=0}: integers with fmod=0 take the divisor's sign (r = a - b * trunc(a / b), plus b
// where r is non-zero and its sign differs from b's); fmod=1 (required for floats) the
// dividend's (C fmod). Float fmod is a - b * trunc(a / b), trunc(q) = q < 0 ? ceil(q) : floor(q)
// (rounding error of a few ulps of a, unlike C's exact fmod).
void ImportMod(NodeContext& ctx) {
  if (!ctx.ExpectInputs(2, 2) || !ctx.ExpectMaxOutputs(1)) return;
  bool fmod = ctx.Int("fmod", 0) != 0;
  Value* a = ctx.Input(0);
  Value* d = ctx.Input(1);
  if (!a || !d) return;
  Builder& b = ctx.b();
  if (IsFloat(a->dtype())) {
    if (!fmod) {
      ctx.Error("fmod=0 on float inputs (ONNX requires fmod=1 for floats)");
      return;
    }
    Value* q = b.Div(a, d);
    Value* t = b.Where(b.Less(q, Like(ctx, q, 0.0)), KilnOp(b, OpKind::kCeil, q),
                       KilnOp(b, OpKind::kFloor, q));
    ctx.SetOutput(0, b.Sub(a, b.Mul(d, t)));
    return;
  }
  Value* r = b.Sub(a, b.Mul(b.Div(a, d), d));  // integer division truncates toward zero
  if (fmod) {
    ctx.SetOutput(0, r);
    return;
  }
  Value* zero = Like(ctx, r, 0.0);
  Value* differ = b.NotEqual(b.Less(r, zero), b.Less(d, zero));
  Value* fix = b.Where(b.NotEqual(r, zero), differ, b.Constant(DType::kBool, {}, {0.0}));
  ctx.SetOutput(0, b.Where(fix, b.Add(r, d), r));
}

// BitShift {direction=LEFT|RIGHT} on unsigned integers (u8 is kiln's only one): x * 2^y
// (wrapping in the dtype) or x / 2^y (truncating = flooring for unsigned); shifts of the bit width
// or more give 0.
void ImportBitShift(NodeContext& ctx) {
  if (!ctx.ExpectInputs(2, 2) || !ctx.ExpectMaxOutputs(1)) return;
  std::string dir = ctx.Str("direction", "");
  if (dir != "LEFT" && dir != "RIGHT") {
    ctx.Error("direction='" + dir + "' (expected LEFT or RIGHT)");
    return;
  }
  Value* x = ctx.Input(0);
  Value* y = ctx.Input(1);
  if (!x || !y) return;
  if (x->dtype() != DType::kU8 || y->dtype() != DType::kU8) {
    ctx.Unsupported("operands " + x->type().ToString() + ", " + y->type().ToString() +
                    " (only u8 is supported)");
    return;
  }
  Builder& b = ctx.b();
  Value* big = b.GreaterEqual(y, Like(ctx, y, 8.0));
  Value* pow2 = b.Pow(Like(ctx, x, 2.0), b.Min(y, Like(ctx, y, 7.0)));
  Value* shifted = dir == "LEFT" ? b.Mul(x, pow2) : b.Div(x, pow2);
  ctx.SetOutput(0, b.Where(big, Like(ctx, x, 0.0), shifted));
}

}  // namespace

void RegisterActivationOps(OnnxOpRegistry& r) {
  r.Add("BitShift", 11, 21, ImportBitShift);
  r.Add("Sin", 7, 21, KilnUnary<OpKind::kSin>);
  r.Add("Cos", 7, 21, KilnUnary<OpKind::kCos>);
  r.Add("Tan", 7, 21, KilnUnary<OpKind::kTan>);
  r.Add("Asin", 7, 21, KilnUnary<OpKind::kAsin>);
  r.Add("Acos", 7, 21, KilnUnary<OpKind::kAcos>);
  r.Add("Atan", 7, 21, KilnUnary<OpKind::kAtan>);
  r.Add("Sinh", 9, 21, KilnUnary<OpKind::kSinh>);
  r.Add("Cosh", 9, 21, KilnUnary<OpKind::kCosh>);
  r.Add("Asinh", 9, 21, KilnUnary<OpKind::kAsinh>);
  r.Add("Acosh", 9, 21, KilnUnary<OpKind::kAcosh>);
  r.Add("Atanh", 9, 21, KilnUnary<OpKind::kAtanh>);
  r.Add("Floor", 6, 21, KilnUnary<OpKind::kFloor>);
  r.Add("Ceil", 6, 21, KilnUnary<OpKind::kCeil>);
  r.Add("Round", 11, 21, KilnUnary<OpKind::kRound>);
  r.Add("Sign", 9, 21, ImportSign);
  r.Add("IsNaN", 9, 21, ImportIsNaN);
  r.Add("IsInf", 10, 21, ImportIsInf);
  r.Add("Softplus", 1, 21, ImportSoftplus);
  r.Add("Softsign", 1, 21, ImportSoftsign);
  r.Add("Elu", 6, 21, ImportElu);
  r.Add("Selu", 6, 21, ImportSelu);
  r.Add("Celu", 12, 21, ImportCelu);
  r.Add("ThresholdedRelu", 10, 21, ImportThresholdedRelu);
  r.Add("Shrink", 9, 21, ImportShrink);
  r.Add("Mod", 10, 21, ImportMod);
}

}  // namespace kiln::onnx_import
