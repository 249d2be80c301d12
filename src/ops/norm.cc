// The normalisation op family: batch_norm (inference form), layer_norm, group_norm, rms_norm.
//
// Parameters (scale, bias, mean, var, weight) share the dtype of x so a backend never mixes
// precisions inside one kernel; an importer casts them first. References accumulate statistics in
// double, with the biased variance (divide by n) as PyTorch uses for normalisation.
#include <cmath>
#include <string>

#include "ops/families.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

// Error unless x (operand 0) is a float and every other operand has its dtype.
Status CheckFloatOperands(const Node& node) {
  DType d = node.input(0)->dtype();
  if (!IsComputeFloat(d)) {
    return OpError(node, "operand 0 (x) has dtype " + std::string(DTypeName(d)) +
                             ", expected f32, f16 or bf16");
  }
  std::vector<int> all;
  for (int i = 0; i < node.num_inputs(); ++i) all.push_back(i);
  return CheckSameDType(node, all);
}

// Error unless operand `i` (called `what`) has exactly shape `expected`.
Status CheckParamShape(const Node& node, int i, const char* what, const Shape& expected,
                       const std::string& why) {
  const Shape& actual = node.input(i)->shape();
  if (actual != expected) {
    return OpError(node, std::string(what) + " (operand " + std::to_string(i) + ") has shape " +
                             ShapeToString(actual) + ", expected " + ShapeToString(expected) +
                             " (" + why + ")");
  }
  return Status::Ok();
}

// Product of concrete dims [begin, end).
int64_t Product(const std::vector<int64_t>& shape, int64_t begin, int64_t end) {
  int64_t p = 1;
  for (int64_t i = begin; i < end; ++i) p *= shape[i];
  return p;
}

// ------------------------------------------------------------------------------------ batch_norm

StatusOr<std::vector<TensorType>> BatchNormInfer(const Node& node) {
  KILN_RETURN_IF_ERROR(CheckFloatOperands(node));
  const TensorType& x = node.input(0)->type();
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), x.rank()));
  const char* names[] = {"x", "scale", "bias", "mean", "var"};
  for (int i = 1; i < 5; ++i) {
    KILN_RETURN_IF_ERROR(
        CheckParamShape(node, i, names[i], {x.shape[axis]},
                        "x.shape[" + std::to_string(axis) + "] of " + x.ToString()));
  }
  return std::vector<TensorType>{x};
}

// y = (x - mean) / sqrt(var + eps) * scale + bias, per channel along `axis`.
Status BatchNormReference(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  const Tensor& x = in[0];
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), x.rank()));
  const double eps = node.GetFloat("eps");
  std::vector<double> v = x.ToF64();
  std::vector<double> scale = in[1].ToF64(), bias = in[2].ToF64(), mean = in[3].ToF64(),
                      var = in[4].ToF64();
  const int64_t channels = x.dim(axis);
  const int64_t inner = Product(x.shape(), axis + 1, x.rank());
  for (int64_t k = 0; k < x.numel(); ++k) {
    const int64_t c = (k / inner) % channels;
    out[0].SetF64(k, (v[k] - mean[c]) / std::sqrt(var[c] + eps) * scale[c] + bias[c]);
  }
  return Status::Ok();
}

// ------------------------------------------------------------------------------------ layer_norm,
// rms_norm

// Shared by layer_norm and rms_norm: normalise over axes axis..rank-1; optional operands 1, 2
// (weight, bias) have shape x.shape[axis:].
StatusOr<std::vector<TensorType>> TrailingNormInfer(const Node& node) {
  KILN_RETURN_IF_ERROR(CheckFloatOperands(node));
  const TensorType& x = node.input(0)->type();
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), x.rank()));
  Shape trailing(x.shape.begin() + axis, x.shape.end());
  const char* names[] = {"x", "weight", "bias"};
  for (int i = 1; i < node.num_inputs(); ++i) {
    KILN_RETURN_IF_ERROR(CheckParamShape(
        node, i, names[i], trailing, "x.shape[" + std::to_string(axis) + ":] of " + x.ToString()));
  }
  return std::vector<TensorType>{x};
}

// layer_norm: (x - mean) / sqrt(var + eps) * weight + bias over each trailing block;
// rms_norm: x / sqrt(mean(x^2) + eps) * weight.
Status TrailingNormReference(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  const Tensor& x = in[0];
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), x.rank()));
  const bool rms = node.op() == OpKind::kRmsNorm;
  const double eps = node.GetFloat("eps");
  const int64_t inner = Product(x.shape(), axis, x.rank());
  const int64_t outer = Product(x.shape(), 0, axis);
  std::vector<double> v = x.ToF64();
  std::vector<double> weight = in.size() > 1 ? in[1].ToF64() : std::vector<double>(inner, 1.0);
  std::vector<double> bias = in.size() > 2 ? in[2].ToF64() : std::vector<double>(inner, 0.0);
  for (int64_t o = 0; o < outer; ++o) {
    const double* row = v.data() + o * inner;
    double mean = 0.0;
    if (!rms) {
      for (int64_t i = 0; i < inner; ++i) mean += row[i];
      mean /= static_cast<double>(inner);
    }
    double sq = 0.0;  // layer_norm: sum of squared deviations; rms_norm: sum of squares
    for (int64_t i = 0; i < inner; ++i) sq += (row[i] - mean) * (row[i] - mean);
    const double inv = 1.0 / std::sqrt(sq / static_cast<double>(inner) + eps);
    for (int64_t i = 0; i < inner; ++i) {
      out[0].SetF64(o * inner + i, (row[i] - mean) * inv * weight[i] + bias[i]);
    }
  }
  return Status::Ok();
}

// ------------------------------------------------------------------------------------ group_norm

// Channel axis of x for the node's layout (x has rank >= 2).
int64_t ChannelAxis(const Node& node, int64_t rank) {
  return node.GetEnum("layout") == "nhwc" ? rank - 1 : 1;
}

StatusOr<std::vector<TensorType>> GroupNormInfer(const Node& node) {
  KILN_RETURN_IF_ERROR(CheckFloatOperands(node));
  const TensorType& x = node.input(0)->type();
  if (x.rank() < 2) {
    return OpError(node, "x has type " + x.ToString() + ", expected rank >= 2 (batch, channels)");
  }
  const Dim& c = x.shape[ChannelAxis(node, x.rank())];
  const int64_t groups = node.GetInt("groups");
  if (groups <= 0) return OpError(node, "groups must be positive, got " + std::to_string(groups));
  if (!c.is_static()) {
    return OpError(node,
                   "the channel dim of " + x.ToString() + " must be static, got " + c.ToString());
  }
  if (c.value() % groups != 0) {
    return OpError(node, "channels " + std::to_string(c.value()) + " of " + x.ToString() +
                             " are not divisible by groups " + std::to_string(groups));
  }
  const char* names[] = {"x", "weight", "bias"};
  for (int i = 1; i < 3; ++i) {
    KILN_RETURN_IF_ERROR(
        CheckParamShape(node, i, names[i], {c}, "the channel count of " + x.ToString()));
  }
  return std::vector<TensorType>{x};
}

// Statistics over (channels of one group) x (all spatial positions) per batch item, then a
// per-channel affine transform.
Status GroupNormReference(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  const Tensor& x = in[0];
  const int64_t c_axis = ChannelAxis(node, x.rank());
  const int64_t batch = x.dim(0), channels = x.dim(c_axis);
  const int64_t groups = node.GetInt("groups");
  const int64_t per_group = channels / groups;
  const int64_t spatial = x.numel() == 0 ? 0 : x.numel() / (batch * channels);
  const bool nhwc = c_axis != 1;
  // Flat index of (n, c, s): nchw is [N, C, S], nhwc is [N, S, C].
  const int64_t c_stride = nhwc ? 1 : spatial;
  const int64_t s_stride = nhwc ? channels : 1;
  const double eps = node.GetFloat("eps");
  std::vector<double> v = x.ToF64(), weight = in[1].ToF64(), bias = in[2].ToF64();
  const double count = static_cast<double>(per_group * spatial);
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t g = 0; g < groups; ++g) {
      auto index = [&](int64_t c, int64_t s) {
        return n * channels * spatial + c * c_stride + s * s_stride;
      };
      const int64_t c0 = g * per_group, c1 = c0 + per_group;
      double mean = 0.0;
      for (int64_t c = c0; c < c1; ++c) {
        for (int64_t s = 0; s < spatial; ++s) mean += v[index(c, s)];
      }
      mean /= count;
      double var = 0.0;
      for (int64_t c = c0; c < c1; ++c) {
        for (int64_t s = 0; s < spatial; ++s)
          var += (v[index(c, s)] - mean) * (v[index(c, s)] - mean);
      }
      const double inv = 1.0 / std::sqrt(var / count + eps);
      for (int64_t c = c0; c < c1; ++c) {
        for (int64_t s = 0; s < spatial; ++s) {
          const int64_t k = index(c, s);
          out[0].SetF64(k, (v[k] - mean) * inv * weight[c] + bias[c]);
        }
      }
    }
  }
  return Status::Ok();
}

AttrSpec Eps(double value) { return {"eps", AttrKind::kFloat, AttrValue(value)}; }
AttrSpec Axis(int64_t value) { return {"axis", AttrKind::kInt, AttrValue(value)}; }

}  // namespace

void RegisterNormOps() {
  RegisterOp({.kind = OpKind::kBatchNorm,
              .fusion = FusionKind::kReduction,
              .min_inputs = 5,
              .max_inputs = 5,
              .attrs = {Eps(1e-5), Axis(1)},
              .infer = BatchNormInfer,
              .reference = BatchNormReference,
              .summary = "(x - mean) / sqrt(var + eps) * scale + bias along {axis}"});
  RegisterOp({.kind = OpKind::kLayerNorm,
              .fusion = FusionKind::kReduction,
              .min_inputs = 1,
              .max_inputs = 3,
              .attrs = {Axis(-1), Eps(1e-5)},
              .infer = TrailingNormInfer,
              .reference = TrailingNormReference,
              .summary = "normalise over axes {axis}..rank-1, then * weight + bias"});
  RegisterOp(
      {.kind = OpKind::kGroupNorm,
       .fusion = FusionKind::kReduction,
       .min_inputs = 3,
       .max_inputs = 3,
       .attrs = {{"groups", AttrKind::kInt, std::nullopt},
                 Eps(1e-5),
                 {"layout", AttrKind::kEnum, AttrValue(EnumValue{"nchw"}), {"nchw", "nhwc"}}},
       .infer = GroupNormInfer,
       .reference = GroupNormReference,
       .summary = "normalise over channel groups {groups} x spatial, then per-channel affine"});
  RegisterOp({.kind = OpKind::kRmsNorm,
              .fusion = FusionKind::kReduction,
              .min_inputs = 1,
              .max_inputs = 2,
              .attrs = {Axis(-1), Eps(1e-6)},
              .infer = TrailingNormInfer,
              .reference = TrailingNormReference,
              .summary = "x / sqrt(mean(x^2 over axes {axis}..) + eps) * weight"});
}

}  // namespace kiln
