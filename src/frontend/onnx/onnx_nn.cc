// ONNX contractions, convolutions and pooling: Conv, ConvTranspose, Gemm, MatMul,
// BatchNormalization (inference), MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool.
// Convolutions and pools are 2-D (rank-4 NCHW); 1-D ones (rank 3) run as 2-D with a unit height.
#include <algorithm>

#include "frontend/onnx/onnx_op_table.h"

namespace kiln::onnx_import {

namespace {

// Spatial attributes of a conv / pool node, normalised to 2-D.
struct Spatial {
  bool one_d = false;                                     // rank-3 input run as rank 4 with H = 1
  std::vector<int64_t> kernel, strides, dilations, pads;  // pads: [top, left, bottom, right]
};

// Reads kernel_shape / strides / dilations / pads / auto_pad for a rank-(2 + n) input, n in {1, 2}.
// `kernel_from_weight` gives the kernel when the attribute is absent (conv); `allow_same`
// enables SAME_UPPER / SAME_LOWER (needs static spatial input dims).
std::optional<Spatial> ReadSpatial(NodeContext& ctx, const Shape& x_shape,
                                   std::vector<int64_t> kernel_from_weight, bool allow_same,
                                   bool has_dilations = true) {
  int64_t rank = static_cast<int64_t>(x_shape.size());
  if (rank != 3 && rank != 4) {
    ctx.Unsupported("input of rank " + std::to_string(rank) +
                    " (only 1-D and 2-D spatial: rank 3 or 4)");
    return std::nullopt;
  }
  size_t n = static_cast<size_t>(rank - 2);
  Spatial s;
  s.one_d = n == 1;
  std::vector<int64_t> kernel = ctx.Ints("kernel_shape", kernel_from_weight);
  std::vector<int64_t> strides = ctx.Ints("strides", std::vector<int64_t>(n, 1));
  std::vector<int64_t> dilations = has_dilations ? ctx.Ints("dilations", std::vector<int64_t>(n, 1))
                                                 : std::vector<int64_t>(n, 1);
  std::vector<int64_t> pads = ctx.Ints("pads", std::vector<int64_t>(2 * n, 0));
  std::string auto_pad = ctx.Str("auto_pad", "NOTSET");
  if (!ctx.ok()) return std::nullopt;
  if (kernel.size() != n || strides.size() != n || dilations.size() != n || pads.size() != 2 * n) {
    ctx.Error("kernel_shape/strides/dilations/pads have " + std::to_string(kernel.size()) + "/" +
              std::to_string(strides.size()) + "/" + std::to_string(dilations.size()) + "/" +
              std::to_string(pads.size()) + " values, expected " + std::to_string(n) + "/" +
              std::to_string(n) + "/" + std::to_string(n) + "/" + std::to_string(2 * n));
    return std::nullopt;
  }
  constexpr int64_t kMaxWindow = int64_t{1} << 31;  // keeps the window arithmetic in range
  for (size_t i = 0; i < n; ++i) {
    if (kernel[i] < 1 || strides[i] < 1 || dilations[i] < 1 || kernel[i] > kMaxWindow ||
        strides[i] > kMaxWindow || dilations[i] > kMaxWindow) {
      ctx.Error("kernel_shape, strides and dilations must be in [1, 2^31]");
      return std::nullopt;
    }
  }
  for (int64_t p : pads) {
    if (p < 0 || p > kMaxWindow) {
      ctx.Error("pads must be in [0, 2^31], got " + std::to_string(p));
      return std::nullopt;
    }
  }
  if (auto_pad == "VALID") {
    std::fill(pads.begin(), pads.end(), 0);
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    if (!allow_same) {
      ctx.Unsupported("auto_pad=" + auto_pad);
      return std::nullopt;
    }
    for (size_t i = 0; i < n; ++i) {
      const Dim& in = x_shape[2 + i];
      if (!in.is_static()) {
        ctx.Unsupported("auto_pad=" + auto_pad + " with the symbolic spatial dim " + in.ToString());
        return std::nullopt;
      }
      int64_t out = (in.value() + strides[i] - 1) / strides[i];
      int64_t total = std::max<int64_t>(
          0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - in.value());
      int64_t small = total / 2;
      pads[i] = auto_pad == "SAME_UPPER" ? small : total - small;
      pads[i + n] = total - pads[i];
    }
  } else if (auto_pad != "NOTSET") {
    ctx.Error("auto_pad='" + auto_pad + "' (expected NOTSET, SAME_UPPER, SAME_LOWER or VALID)");
    return std::nullopt;
  }
  if (s.one_d) {
    s.kernel = {1, kernel[0]};
    s.strides = {1, strides[0]};
    s.dilations = {1, dilations[0]};
    s.pads = {0, pads[0], 0, pads[1]};
  } else {
    s.kernel = kernel;
    s.strides = strides;
    s.dilations = dilations;
    s.pads = pads;
  }
  return s;
}

// ConvTranspose with output_shape or auto_pad=SAME_*: pads from the requested output size
// (SAME: input * stride), as ONNX: total = stride * (in - 1) + output_padding + (k - 1) * d + 1
// - out, split total / 2 first (SAME_UPPER) or last (otherwise). A negative end pad becomes
// extra output_padding; a negative begin pad (a crop at the start) is Unimplemented.
bool TransposePadsForOutputShape(NodeContext& ctx, const Shape& x_shape,
                                 const std::string& auto_pad, Spatial& s,
                                 std::vector<int64_t>& output_padding) {
  const size_t n = x_shape.size() - 2;
  std::vector<int64_t> out = ctx.Ints("output_shape");
  if (out.size() == n + 2) out.erase(out.begin(), out.begin() + 2);  // N, C given too
  const bool from_same = out.empty();
  if ((!from_same && out.size() != n) || output_padding.size() != n) {
    ctx.Error("output_shape has " + std::to_string(out.size()) + " values and output_padding " +
              std::to_string(output_padding.size()) + " for " + std::to_string(n) +
              " spatial dims");
    return false;
  }
  for (size_t i = 0; i < n; ++i) {
    const Dim& in = x_shape[2 + i];
    if (!in.is_static()) {
      ctx.Unsupported("output_shape / auto_pad with the symbolic spatial dim " + in.ToString());
      return false;
    }
    const size_t j = s.one_d ? 1 : i;  // index in the 2-D form
    const int64_t target = from_same ? in.value() * s.strides[j] : out[i];
    const int64_t total = s.strides[j] * (in.value() - 1) + output_padding[i] +
                          (s.kernel[j] - 1) * s.dilations[j] + 1 - target;
    const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);  // floor(total / 2)
    int64_t begin = auto_pad == "SAME_UPPER" ? half : total - half;
    int64_t end = total - begin;
    if (begin < 0) {
      ctx.Unsupported("output_shape " + std::to_string(target) + " needs cropping " +
                      std::to_string(-begin) + " at the start of spatial dim " + std::to_string(i));
      return false;
    }
    if (end < 0) {
      output_padding[i] += -end;
      end = 0;
    }
    s.pads[j] = begin;
    s.pads[j + 2] = end;
  }
  return true;
}

std::vector<int64_t> WeightKernel(const Value* w) {
  std::vector<int64_t> k;
  if (!w) return k;
  for (int64_t i = 2; i < w->rank(); ++i) {
    k.push_back(w->shape()[i].is_static() ? w->shape()[i].value() : 0);
  }
  return k;
}

Value* To2d(NodeContext& ctx, Value* x, const Spatial& s) {
  return s.one_d ? ctx.b().Unsqueeze(x, {2}) : x;
}
Value* From2d(NodeContext& ctx, Value* y, const Spatial& s) {
  return s.one_d ? ctx.b().Squeeze(y, {2}) : y;
}

void ImportConvLike(NodeContext& ctx, bool transpose) {
  if (!ctx.ExpectInputs(2, 3) || !ctx.ExpectMaxOutputs(1)) return;
  Value* x = ctx.Input(0);
  Value* w = ctx.Input(1);
  Value* bias = ctx.has_input(2) ? ctx.Input(2) : nullptr;
  if (!ctx.ok()) return;
  if (w->rank() != x->rank()) {
    ctx.Error("weight rank " + std::to_string(w->rank()) + " differs from input rank " +
              std::to_string(x->rank()));
    return;
  }
  int64_t group = ctx.Int("group", 1);
  if (group < 1) {
    ctx.Error("group must be >= 1, got " + std::to_string(group));
    return;
  }
  std::vector<int64_t> output_padding;
  const std::string auto_pad = ctx.Str("auto_pad", "NOTSET");
  const bool same = auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER";
  if (transpose) {
    output_padding = ctx.Ints("output_padding", std::vector<int64_t>(x->rank() - 2, 0));
  }
  std::optional<Spatial> s = ReadSpatial(ctx, x->shape(), WeightKernel(w), !transpose || same);
  if (!s) return;
  if (transpose && (same || ctx.HasAttr("output_shape")) &&
      !TransposePadsForOutputShape(ctx, x->shape(), auto_pad, *s, output_padding)) {
    return;
  }
  std::vector<int64_t> wk = WeightKernel(w);
  std::vector<int64_t> want_k = s->one_d ? std::vector<int64_t>{s->kernel[1]} : s->kernel;
  if (wk != want_k) {
    ctx.Error("kernel_shape does not match the weight's spatial dims");
    return;
  }
  Conv2dOptions o;
  o.stride = s->strides;
  o.pad = s->pads;
  o.dilation = s->dilations;
  o.groups = group;
  if (transpose) {
    if (output_padding.size() != static_cast<size_t>(x->rank() - 2)) {
      ctx.Error("output_padding has " + std::to_string(output_padding.size()) + " values");
      return;
    }
    o.output_padding = s->one_d ? std::vector<int64_t>{0, output_padding[0]} : output_padding;
  }
  if (bias) o.epilogue.push_back(Bias(bias));
  Value* x2 = To2d(ctx, x, *s);
  Value* w2 = To2d(ctx, w, *s);
  Value* y = transpose ? ctx.b().ConvTranspose2d(x2, w2, o) : ctx.b().Conv2d(x2, w2, o);
  ctx.SetOutput(0, From2d(ctx, y, *s));
}

void ImportConv(NodeContext& ctx) { ImportConvLike(ctx, false); }
void ImportConvTranspose(NodeContext& ctx) { ImportConvLike(ctx, true); }

void ImportGemm(NodeContext& ctx) {
  if (!ctx.ExpectInputs(2, 3) || !ctx.ExpectMaxOutputs(1)) return;
  GemmOptions o;
  o.alpha = ctx.Float("alpha", 1.0);
  o.beta = ctx.Float("beta", 1.0);
  o.trans_a = ctx.Int("transA", 0) != 0;
  o.trans_b = ctx.Int("transB", 0) != 0;
  Value* a = ctx.Input(0);
  Value* b = ctx.Input(1);
  if (!ctx.ok()) return;
  if (a->rank() != 2 || b->rank() != 2) {
    ctx.Error("A and B must be 2-D, got " + a->type().ToString() + " and " + b->type().ToString());
    return;
  }
  if (ctx.has_input(2)) {
    Value* c = ctx.Input(2);
    if (!c) return;
    Dim n = o.trans_b ? b->shape()[0] : b->shape()[1];
    if (o.beta == 1.0 && c->rank() == 1 && c->shape()[0] == n) {
      o.epilogue.push_back(Bias(c));  // nn.Linear's bias: fused into the gemm
    } else {
      o.c = c;
    }
  }
  ctx.SetOutput(0, ctx.b().Gemm(a, b, o));
}

void ImportMatMul(NodeContext& ctx) {
  if (!ctx.ExpectInputs(2, 2) || !ctx.ExpectMaxOutputs(1)) return;
  Value* a = ctx.Input(0);
  Value* b = ctx.Input(1);
  if (!ctx.ok()) return;
  bool a1 = a->rank() == 1, b1 = b->rank() == 1;
  if (a->rank() == 0 || b->rank() == 0) {
    ctx.Error("MatMul operands must have rank >= 1");
    return;
  }
  if (a1) a = ctx.b().Unsqueeze(a, {0});
  if (b1) b = ctx.b().Unsqueeze(b, {1});
  Value* y = ctx.b().Gemm(a, b);
  if (a1) y = ctx.b().Squeeze(y, {-2});
  if (b1) y = ctx.b().Squeeze(y, {-1});
  ctx.SetOutput(0, y);
}

// BatchNormalization-14+ with training_mode=1: normalises with the batch statistics (mean and
// biased variance over every axis but 1) and returns the updated running statistics
// (input * momentum + batch * (1 - momentum)), as ONNX's reference.
void ImportBatchNormTraining(NodeContext& ctx, double eps, double momentum) {
  Value* x = ctx.Input(0);
  Value* mean_in = ctx.Input(3);
  Value* var_in = ctx.Input(4);
  if (!x || !mean_in || !var_in) return;
  if (x->rank() < 2) {
    ctx.Error("input " + x->type().ToString() + " must have rank >= 2");
    return;
  }
  Builder& b = ctx.b();
  std::vector<int64_t> axes;
  Shape per_channel(x->rank(), Dim(1));
  per_channel[1] = x->shape()[1];
  for (int64_t i = 0; i < x->rank(); ++i) {
    if (i != 1) axes.push_back(i);
  }
  Value* mean = b.ReduceMean(x, axes);
  Value* d = b.Sub(x, b.Reshape(mean, per_channel));
  Value* var = b.ReduceMean(b.Mul(d, d), axes);
  ctx.SetOutput(0, b.BatchNorm(x, ctx.Input(1), ctx.Input(2), mean, var, eps, 1));
  Value* m = b.Scalar(momentum, x->dtype());
  Value* one_m = b.Scalar(1.0 - momentum, x->dtype());
  ctx.SetOutput(1, b.Add(b.Mul(mean_in, m), b.Mul(mean, one_m)));
  ctx.SetOutput(2, b.Add(b.Mul(var_in, m), b.Mul(var, one_m)));
}

void ImportBatchNorm(NodeContext& ctx) {
  const bool training = ctx.opset() >= 14 && ctx.Int("training_mode", 0) != 0;
  if (!ctx.ExpectInputs(5, 5) || !ctx.ExpectMaxOutputs(training ? 3 : 1)) return;
  double eps = ctx.Float("epsilon", 1e-5);
  double momentum = ctx.Float("momentum", 0.9);  // only used in training
  if (training) {
    ImportBatchNormTraining(ctx, eps, momentum);
    return;
  }
  if (ctx.Int("training_mode", 0) != 0) {
    ctx.Unsupported("training_mode=1 before opset 14");
    return;
  }
  ctx.SetOutput(0, ctx.b().BatchNorm(ctx.Input(0), ctx.Input(1), ctx.Input(2), ctx.Input(3),
                                     ctx.Input(4), eps, 1));
}

void ImportPool(NodeContext& ctx, bool is_max) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  Value* x = ctx.Input(0);
  if (!x) return;
  if (!ctx.HasAttr("kernel_shape")) {
    ctx.Error("attribute 'kernel_shape' is required");
    return;
  }
  bool ceil_mode = ctx.Int("ceil_mode", 0) != 0;
  bool count_include_pad = false;
  if (is_max) {
    if (ctx.Int("storage_order", 0) != 0) {
      ctx.Unsupported("storage_order=1");
      return;
    }
  } else {
    count_include_pad = ctx.Int("count_include_pad", 0) != 0;
  }
  // AveragePool has dilations from opset 19; kiln's average pool does not dilate.
  std::optional<Spatial> s = ReadSpatial(ctx, x->shape(), {}, true);
  if (!s) return;
  if (!is_max && (s->dilations[0] != 1 || s->dilations[1] != 1)) {
    ctx.Unsupported("dilations other than 1 in AveragePool");
    return;
  }
  Pool2dOptions o;
  o.kernel = s->kernel;
  o.stride = s->strides;
  o.pad = s->pads;
  o.dilation = s->dilations;
  o.ceil_mode = ceil_mode;
  if (!is_max) o.dilation = 1;
  o.count_include_pad = count_include_pad;
  Value* x2 = To2d(ctx, x, *s);
  Value* y = is_max ? ctx.b().MaxPool2d(x2, o) : ctx.b().AvgPool2d(x2, o);
  ctx.SetOutput(0, From2d(ctx, y, *s));
}

void ImportMaxPool(NodeContext& ctx) { ImportPool(ctx, true); }
void ImportAveragePool(NodeContext& ctx) { ImportPool(ctx, false); }

void ImportGlobalPool(NodeContext& ctx, bool is_max) {
  if (!ctx.ExpectInputs(1, 1) || !ctx.ExpectMaxOutputs(1)) return;
  Value* x = ctx.Input(0);
  if (!x) return;
  if (x->rank() < 3) {
    ctx.Error("input must have rank >= 3, got " + x->type().ToString());
    return;
  }
  if (x->rank() == 4) {
    ctx.SetOutput(0, is_max ? ctx.b().GlobalMaxPool2d(x) : ctx.b().GlobalAvgPool2d(x));
    return;
  }
  std::vector<int64_t> axes;
  for (int64_t i = 2; i < x->rank(); ++i) axes.push_back(i);
  ctx.SetOutput(0, is_max ? ctx.b().ReduceMax(x, axes, true) : ctx.b().ReduceMean(x, axes, true));
}

void ImportGlobalAveragePool(NodeContext& ctx) { ImportGlobalPool(ctx, false); }
void ImportGlobalMaxPool(NodeContext& ctx) { ImportGlobalPool(ctx, true); }

}  // namespace

void RegisterNnOps(OnnxOpRegistry& r) {
  r.Add("Conv", 11, 21, ImportConv);
  r.Add("ConvTranspose", 11, 21, ImportConvTranspose);
  r.Add("Gemm", 11, 21, ImportGemm);
  r.Add("MatMul", 9, 21, ImportMatMul);
  r.Add("BatchNormalization", 9, 21, ImportBatchNorm);
  r.Add("MaxPool", 11, 21, ImportMaxPool);
  r.Add("AveragePool", 11, 21, ImportAveragePool);
  r.Add("GlobalAveragePool", 1, 21, ImportGlobalAveragePool);
  r.Add("GlobalMaxPool", 1, 21, ImportGlobalMaxPool);
}

}  // namespace kiln::onnx_import
