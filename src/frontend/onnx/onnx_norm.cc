// ONNX normalisations, softmax and reductions: LayerNormalization, GroupNormalization,
// Softmax, LogSoftmax, ReduceSum / Mean / Max / Min / Prod and the composites ReduceSumSquare,
// ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp.
#include "frontend/onnx/onnx_op_table.h"

namespace kiln::onnx_import {

namespace {

// stash_type: the precision of the statistics; kiln always computes them in at least f32.
bool CheckStashType(NodeContext& ctx) {
  int64_t stash = ctx.Int("stash_type", 1);
  if (stash != 1) {
    ctx.Unsupported("stash_type=" + std::to_string(stash) + " (only 1: float)");
    return false;
  }
  return true;
}

// The optional outputs Mean and InvStdDev are computed separately (reductions over axis.., kept
// as 1s), the normalised output by kiln's layer_norm.
void ImportLayerNorm(NodeContext& ctx) {
  if (!ctx.ExpectInputs(2, 3) || !ctx.ExpectMaxOutputs(3)) return;
  int64_t axis = ctx.Int("axis", -1);
  double eps = ctx.Float("epsilon", 1e-5);
  if (!CheckStashType(ctx)) return;
  Value* x = ctx.Input(0);
  Value* scale = ctx.Input(1);
  Value* bias = ctx.has_input(2) ? ctx.Input(2) : nullptr;
  if (!x) return;
  ctx.SetOutput(0, ctx.b().LayerNorm(x, scale, bias, eps, axis));
  if (ctx.has_output(1) || ctx.has_output(2)) {
    int64_t first = axis < 0 ? axis + x->rank() : axis;
    if (first < 0 || first >= x->rank()) {
      ctx.Error("axis " + std::to_string(axis) + " out of range for " + x->type().ToString());
      return;
    }
    std::vector<int64_t> axes;
    for (int64_t i = first; i < x->rank(); ++i) axes.push_back(i);
    Builder& b = ctx.b();
    Value* mean = b.ReduceMean(x, axes, true);
    Value* d = b.Sub(x, mean);
    Value* var = b.ReduceMean(b.Mul(d, d), axes, true);
    ctx.SetOutput(1, mean);
    ctx.SetOutput(2, b.Rsqrt(b.Add(var, b.Scalar(eps, x->dtype()))));
  }
}

// Opsets 18..20 give scale and bias per group ([G]); opset 21 per channel ([C]). Per-group
// constants are repeated to per-channel; per-group non-constant ones are rejected.
void ImportGroupNorm(NodeContext& ctx) {
  if (!ctx.ExpectInputs(3, 3) || !ctx.ExpectMaxOutputs(1)) return;
  if (!ctx.HasAttr("num_groups")) {
    ctx.Error("attribute 'num_groups' is required");
    return;
  }
  int64_t groups = ctx.Int("num_groups", 1);
  double eps = ctx.Float("epsilon", 1e-5);
  if (ctx.opset() >= 21 && !CheckStashType(ctx)) return;
  Value* x = ctx.Input(0);
  if (!x) return;
  if (x->rank() < 3 || !x->shape()[1].is_static()) {
    ctx.Unsupported("input " + x->type().ToString() +
                    " (needs rank >= 3 and a static channel dim)");
    return;
  }
  int64_t channels = x->shape()[1].value();
  if (groups < 1 || channels % groups != 0) {
    ctx.Error("num_groups=" + std::to_string(groups) + " does not divide " +
              std::to_string(channels) + " channels");
    return;
  }
  Value* params[2] = {nullptr, nullptr};
  for (int k = 0; k < 2; ++k) {
    std::optional<TensorType> t = ctx.InputType(1 + k);
    if (!t) return;
    if (t->rank() == 1 && t->shape[0] == Dim(groups) && groups != channels) {
      const Tensor* c = ctx.Constant(1 + k);
      if (!c) {
        ctx.Unsupported("per-group scale/bias that are not constants");
        return;
      }
      std::vector<double> per_group = c->ToF64();
      std::vector<double> per_channel;
      for (int64_t ch = 0; ch < channels; ++ch) {
        per_channel.push_back(per_group[ch / (channels / groups)]);
      }
      params[k] = ctx.b().Constant(c->dtype(), {channels}, per_channel);
    } else {
      params[k] = ctx.Input(1 + k);
    }
  }
  Value* y = nullptr;
  if (x->rank() == 4) {
    y = ctx.b().GroupNorm(x, params[0], params[1], groups, eps);
  } else {
    // Other ranks: flatten the spatial dims into [N, C, prod, 1].
    Dim spatial = 1;
    for (int64_t i = 2; i < x->rank(); ++i) spatial = spatial * x->shape()[i];
    Value* x4 = ctx.b().Reshape(x, {x->shape()[0], channels, spatial, 1});
    y = ctx.b().Reshape(ctx.b().GroupNorm(x4, params[0], params[1], groups, eps), x->shape());
  }
  ctx.SetOutput(0, y);
}

void ImportSoftmax(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  int64_t axis = ctx.Int("axis", -1);
  Value* x = ctx.Input(0);
  ctx.SetOutput(
      0, ctx.op_type() == "Softmax" ? ctx.b().Softmax(x, axis) : ctx.b().LogSoftmax(x, axis));
}

enum class Reduce { kSum, kMean, kMax, kMin, kProd, kSumSquare, kL1, kL2, kLogSum, kLogSumExp };

template <Reduce kind>
void ImportReduce(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 2) || !ctx.ExpectMaxOutputs(1)) return;
  bool keepdims = ctx.Int("keepdims", 1) != 0;
  // Axes are an input for ReduceSum from opset 13 and for the others from 18; an attribute before.
  bool axes_input = kind == Reduce::kSum || ctx.opset() >= 18;
  bool noop_if_empty = false;
  if (axes_input) noop_if_empty = ctx.Int("noop_with_empty_axes", 0) != 0;
  std::vector<int64_t> axes;
  if (axes_input) {
    if (ctx.has_input(1)) {
      auto a = ctx.IntsInput(1, "axes");
      if (!a) return;
      axes = *a;
    }
  } else {
    if (ctx.has_input(1)) {
      ctx.Unsupported("axes as an input before opset 18");
      return;
    }
    axes = ctx.Ints("axes");
  }
  Value* x = ctx.Input(0);
  if (!x) return;
  if (axes.empty() && noop_if_empty) {
    ctx.SetOutput(0, x);
    return;
  }
  if (axes.empty()) {
    for (int64_t i = 0; i < x->rank(); ++i) axes.push_back(i);
  }
  Builder& b = ctx.b();
  Value* y = nullptr;
  switch (kind) {
    case Reduce::kSum:
      y = b.ReduceSum(x, axes, keepdims);
      break;
    case Reduce::kMean:
      y = b.ReduceMean(x, axes, keepdims);
      break;
    case Reduce::kMax:
      y = b.ReduceMax(x, axes, keepdims);
      break;
    case Reduce::kMin:
      y = b.ReduceMin(x, axes, keepdims);
      break;
    case Reduce::kProd:
      y = b.ReduceProd(x, axes, keepdims);
      break;
    case Reduce::kSumSquare:
      y = b.ReduceSum(b.Mul(x, x), axes, keepdims);
      break;
    case Reduce::kL1:
      y = b.ReduceSum(b.Abs(x), axes, keepdims);
      break;
    case Reduce::kL2:
      y = b.Sqrt(b.ReduceSum(b.Mul(x, x), axes, keepdims));
      break;
    case Reduce::kLogSum:
      y = b.Log(b.ReduceSum(x, axes, keepdims));
      break;
    case Reduce::kLogSumExp: {  // max + log(sum(exp(x - max))), stable for large x
      Value* m = b.ReduceMax(x, axes, true);
      y = b.Add(b.Log(b.ReduceSum(b.Exp(b.Sub(x, m)), axes, keepdims)),
                b.ReduceMax(x, axes, keepdims));
      break;
    }
  }
  ctx.SetOutput(0, y);
}

// LRN {size, alpha=1e-4, beta=0.75, bias=1}: x / (bias + alpha / size * s)^beta, s the sum of
// squares over the channel window [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)]: the
// squares padded with zeros along the channels, then `size` shifted slices added.
void ImportLrn(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  if (!ctx.HasAttr("size")) {
    ctx.Error("attribute 'size' is required");
    return;
  }
  int64_t size = ctx.Int("size", 1);
  double alpha = ctx.Float("alpha", 1e-4);
  double beta = ctx.Float("beta", 0.75);
  double bias = ctx.Float("bias", 1.0);
  Value* x = ctx.Input(0);
  if (!x) return;
  if (x->rank() < 3 || !x->shape()[1].is_static() || size < 1 || size > 1024) {
    ctx.Unsupported("input " + x->type().ToString() + " with size " + std::to_string(size) +
                    " (needs rank >= 3, static channels, size 1..1024)");
    return;
  }
  Builder& b = ctx.b();
  const int64_t c = x->shape()[1].value();
  std::vector<int64_t> pads(2 * x->rank(), 0);
  pads[1] = (size - 1) / 2;
  pads[x->rank() + 1] = size - 1 - (size - 1) / 2;
  Value* padded = b.Pad(b.Mul(x, x), pads);
  Value* sum = nullptr;
  for (int64_t i = 0; i < size; ++i) {
    SliceOptions s;
    s.starts = {Dim(i)};
    s.ends = {Dim(i + c)};
    s.axes = {1};
    Value* part = b.Slice(padded, s);
    sum = sum ? b.Add(sum, part) : part;
  }
  Value* base = b.Add(b.Mul(sum, b.Scalar(alpha / static_cast<double>(size), x->dtype())),
                      b.Scalar(bias, x->dtype()));
  ctx.SetOutput(0, b.Div(x, b.Pow(base, b.Scalar(beta, x->dtype()))));
}

// MeanVarianceNormalization {axes=[0,2,3]}: (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9), as
// ONNX's function body.
void ImportMvn(NodeContext& ctx) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  std::vector<int64_t> axes = ctx.Ints("axes", {0, 2, 3});
  Value* x = ctx.Input(0);
  if (!x) return;
  if (!IsFloat(x->dtype())) {
    ctx.Error("input has dtype " + std::string(DTypeName(x->dtype())) + ", expected a float type");
    return;
  }
  Builder& b = ctx.b();
  Value* mean = b.ReduceMean(x, axes, true);
  Value* ex2 = b.ReduceMean(b.Mul(x, x), axes, true);
  Value* std = b.Sqrt(b.Sub(ex2, b.Mul(mean, mean)));
  ctx.SetOutput(0, b.Div(b.Sub(x, mean), b.Add(std, b.Scalar(1e-9, x->dtype()))));
}

// InstanceNormalization {epsilon=1e-5}(x, scale [C], B [C]): group_norm with one group per
// channel (NCHW).
void ImportInstanceNorm(NodeContext& ctx) {
  if (!ctx.ExpectInputs(3, 3) || !ctx.ExpectMaxOutputs(1)) return;
  double eps = ctx.Float("epsilon", 1e-5);
  Value* x = ctx.Input(0);
  Value* scale = ctx.Input(1);
  Value* bias = ctx.Input(2);
  if (!x || !scale || !bias) return;
  if (x->rank() < 3 || !x->shape()[1].is_static()) {
    ctx.Unsupported("input " + x->type().ToString() + " (needs rank >= 3 with static channels)");
    return;
  }
  ctx.SetOutput(0, ctx.b().GroupNorm(x, scale, bias, x->shape()[1].value(), eps));
}

}  // namespace

void RegisterNormOps(OnnxOpRegistry& r) {
  r.Add("LayerNormalization", 17, 21, ImportLayerNorm);
  r.Add("GroupNormalization", 18, 21, ImportGroupNorm);
  r.Add("InstanceNormalization", 6, 21, ImportInstanceNorm);
  r.Add("LRN", 1, 21, ImportLrn);
  r.Add("MeanVarianceNormalization", 9, 21, ImportMvn);
  r.Add("Softmax", 13, 21, ImportSoftmax);
  r.Add("LogSoftmax", 13, 21, ImportSoftmax);
  r.Add("ReduceSum", 13, 21, ImportReduce<Reduce::kSum>);
  r.Add("ReduceMean", 1, 21, ImportReduce<Reduce::kMean>);
  r.Add("ReduceMax", 1, 21, ImportReduce<Reduce::kMax>);
  r.Add("ReduceMin", 1, 21, ImportReduce<Reduce::kMin>);
  r.Add("ReduceProd", 1, 21, ImportReduce<Reduce::kProd>);
  r.Add("ReduceSumSquare", 1, 21, ImportReduce<Reduce::kSumSquare>);
  r.Add("ReduceL1", 1, 21, ImportReduce<Reduce::kL1>);
  r.Add("ReduceL2", 1, 21, ImportReduce<Reduce::kL2>);
  r.Add("ReduceLogSum", 1, 21, ImportReduce<Reduce::kLogSum>);
  r.Add("ReduceLogSumExp", 1, 21, ImportReduce<Reduce::kLogSumExp>);
}

}  // namespace kiln::onnx_import
