// The resize op: nearest and bilinear resampling of the two spatial dims of a 4-D tensor (nchw or
// nhwc), with ONNX Resize (opset 13+) semantics for its coordinate transformation and nearest
// rounding modes. Two settings are PyTorch's F.interpolate:
//   nearest + asymmetric + floor                 == mode='nearest'
//   bilinear + half_pixel (or pytorch_half_pixel) == mode='bilinear', align_corners=False
//   bilinear + align_corners                      == mode='bilinear', align_corners=True
// The scale used in the coordinate transform is the given one (as ONNX and PyTorch with a
// scale_factor), or out/in when a size is given. Spatial dims must be static.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "ops/families.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

std::string Operand(const Node& node) {
  const Value* v = node.input(0);
  return "%" + v->name() + ": " + v->type().ToString();
}

// Axes of H and W in a 4-D tensor.
std::pair<int, int> SpatialAxes(const Node& node) {
  return node.GetEnum("layout") == "nhwc" ? std::pair{1, 2} : std::pair{2, 3};
}

StatusOr<std::vector<TensorType>> InferResize(const Node& node) {
  const TensorType& x = node.input(0)->type();
  const bool bilinear = node.GetEnum("mode") == "bilinear";
  const DType d = x.dtype;
  if (d == DType::kF8E4M3 || d == DType::kF8E5M2) {
    return OpError(node, "operand 0 has dtype " + std::string(DTypeName(d)) +
                             ", which is reserved: no op accepts fp8 tensors yet");
  }
  if (bilinear && !IsFloat(d)) {
    return OpError(node,
                   "bilinear resize needs a float operand (f32, f16, bf16), got " + Operand(node));
  }
  KILN_RETURN_IF_ERROR(CheckRank(node, 0, 4));
  const std::vector<double>& scales = node.GetFloats("scales");
  const std::vector<int64_t>& size = node.GetInts("size");
  if (scales.empty() == size.empty()) {
    return OpError(node, std::string("give exactly one of scales and size, got ") +
                             (scales.empty() ? "neither" : "both"));
  }
  if (!scales.empty() && scales.size() != 2) {
    return OpError(node, "scales has " + std::to_string(scales.size()) +
                             " values, expected 2 ([scale_h, scale_w])");
  }
  if (!size.empty() && size.size() != 2) {
    return OpError(
        node, "size has " + std::to_string(size.size()) + " values, expected 2 ([H_out, W_out])");
  }
  auto [ah, aw] = SpatialAxes(node);
  Shape out = x.shape;
  const int axes[2] = {ah, aw};
  for (int i = 0; i < 2; ++i) {
    const Dim& dim = x.shape[axes[i]];
    if (!dim.is_static()) {
      return OpError(node, "spatial dim " + std::to_string(axes[i]) + " of " + Operand(node) +
                               " is symbolic (" + dim.ToString() + "); resize needs it static");
    }
    if (dim.value() < 1) {
      return OpError(
          node, "spatial dim " + std::to_string(axes[i]) + " of " + Operand(node) + " is empty");
    }
    int64_t o;
    if (!scales.empty()) {
      if (!(scales[i] > 0) || !std::isfinite(scales[i])) {
        return OpError(node, "scale " + std::to_string(scales[i]) + " must be positive");
      }
      o = static_cast<int64_t>(std::floor(static_cast<double>(dim.value()) * scales[i]));
    } else {
      o = size[i];
    }
    if (o < 1) {
      return OpError(node, "output spatial dim " + std::to_string(axes[i]) + " would be " +
                               std::to_string(o) + " (input " + dim.ToString() +
                               "), expected >= 1");
    }
    out[axes[i]] = o;
  }
  return std::vector<TensorType>{{x.dtype, out}};
}

// Maps output coordinate `x` to the input coordinate (ONNX coordinate_transformation_mode).
double SourceCoord(const std::string& mode, int64_t x, int64_t in_len, int64_t out_len,
                   double scale) {
  if (mode == "align_corners") {
    return out_len == 1 ? 0.0
                        : static_cast<double>(x) * static_cast<double>(in_len - 1) /
                              static_cast<double>(out_len - 1);
  }
  if (mode == "asymmetric") return static_cast<double>(x) / scale;
  if (mode == "pytorch_half_pixel" && out_len == 1) return 0.0;
  return (static_cast<double>(x) + 0.5) / scale - 0.5;  // half_pixel, pytorch_half_pixel
}

// ONNX nearest_mode rounding, clamped into the input.
int64_t NearestIndex(const std::string& mode, double c, int64_t in_len) {
  double r;
  if (mode == "floor") {
    r = std::floor(c);
  } else if (mode == "ceil") {
    r = std::ceil(c);
  } else if (c - std::floor(c) == 0.5) {  // a tie: the mode picks the side
    r = mode == "round_prefer_ceil" ? std::ceil(c) : std::floor(c);
  } else {
    r = std::round(c);
  }
  return std::clamp<int64_t>(static_cast<int64_t>(r), 0, in_len - 1);
}

// For one spatial axis: the two input indices each output position blends and the weight of the
// second (nearest uses only the first).
struct AxisTaps {
  std::vector<int64_t> i0, i1;
  std::vector<double> w1;
};

AxisTaps ComputeTaps(const Node& node, bool bilinear, int64_t in_len, int64_t out_len,
                     double scale) {
  const std::string& coord = node.GetEnum("coordinate_mode");
  const std::string& nearest = node.GetEnum("nearest_mode");
  AxisTaps t;
  for (int64_t x = 0; x < out_len; ++x) {
    double c = SourceCoord(coord, x, in_len, out_len, scale);
    if (!bilinear) {
      t.i0.push_back(NearestIndex(nearest, c, in_len));
      t.i1.push_back(t.i0.back());
      t.w1.push_back(0.0);
      continue;
    }
    // Linear interpolation between floor(c) and floor(c)+1, both clamped into the input: at the
    // borders this reads the edge pixel, as ONNX and PyTorch (which clamps c at 0) do.
    double f = std::floor(c);
    t.i0.push_back(std::clamp<int64_t>(static_cast<int64_t>(f), 0, in_len - 1));
    t.i1.push_back(std::clamp<int64_t>(static_cast<int64_t>(f) + 1, 0, in_len - 1));
    t.w1.push_back(c - f);
  }
  return t;
}

Status ResizeReference(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  const Tensor& x = in[0];
  Tensor& y = out[0];
  const bool bilinear = node.GetEnum("mode") == "bilinear";
  const bool nhwc = node.GetEnum("layout") == "nhwc";
  auto [ah, aw] = SpatialAxes(node);
  const std::vector<double>& scales = node.GetFloats("scales");
  const int64_t h = x.dim(ah), w = x.dim(aw), oh = y.dim(ah), ow = y.dim(aw);
  const double sh = scales.empty() ? static_cast<double>(oh) / h : scales[0];
  const double sw = scales.empty() ? static_cast<double>(ow) / w : scales[1];
  const AxisTaps th = ComputeTaps(node, bilinear, h, oh, sh);
  const AxisTaps tw = ComputeTaps(node, bilinear, w, ow, sw);
  // View both tensors as [N, C, H, W] through strides, whatever the layout.
  const int64_t n = x.dim(0), c = nhwc ? x.dim(3) : x.dim(1);
  const std::vector<int64_t> xs = Strides(x.shape()), ys = Strides(y.shape());
  const int ac = nhwc ? 3 : 1;
  const int64_t esize = DTypeSize(x.dtype());
  std::vector<double> xv;
  if (bilinear) xv = x.ToF64();
  const auto* src = static_cast<const uint8_t*>(x.data());
  auto* dst = static_cast<uint8_t*>(y.mutable_data());
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t ch = 0; ch < c; ++ch) {
      const int64_t xbase = b * xs[0] + ch * xs[ac];
      const int64_t ybase = b * ys[0] + ch * ys[ac];
      for (int64_t i = 0; i < oh; ++i) {
        for (int64_t j = 0; j < ow; ++j) {
          const int64_t yo = ybase + i * ys[ah] + j * ys[aw];
          auto at = [&, ah = ah, aw = aw](int64_t r, int64_t q) {  // clang 14: no binding captures
            return xbase + r * xs[ah] + q * xs[aw];
          };
          if (!bilinear) {
            std::memcpy(dst + yo * esize, src + at(th.i0[i], tw.i0[j]) * esize, esize);
            continue;
          }
          const double wy = th.w1[i], wx = tw.w1[j];
          const double top =
              (1 - wx) * xv[at(th.i0[i], tw.i0[j])] + wx * xv[at(th.i0[i], tw.i1[j])];
          const double bot =
              (1 - wx) * xv[at(th.i1[i], tw.i0[j])] + wx * xv[at(th.i1[i], tw.i1[j])];
          y.SetF64(yo, (1 - wy) * top + wy * bot);
        }
      }
    }
  }
  return Status::Ok();
}

}  // namespace

void RegisterResizeOps() {
  OpDef d;
  d.kind = OpKind::kResize;
  d.fusion = FusionKind::kOpaque;
  d.min_inputs = 1;
  d.max_inputs = 1;
  d.attrs = {
      {"mode", AttrKind::kEnum, AttrValue(EnumValue{"nearest"}), {"nearest", "bilinear"}},
      {"scales", AttrKind::kFloats, AttrValue(std::vector<double>{})},
      {"size", AttrKind::kInts, AttrValue(std::vector<int64_t>{})},
      {"coordinate_mode",
       AttrKind::kEnum,
       AttrValue(EnumValue{"half_pixel"}),
       {"half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel"}},
      {"nearest_mode",
       AttrKind::kEnum,
       AttrValue(EnumValue{"round_prefer_floor"}),
       {"floor", "ceil", "round_prefer_floor", "round_prefer_ceil"}},
      {"layout", AttrKind::kEnum, AttrValue(EnumValue{"nchw"}), {"nchw", "nhwc"}},
  };
  d.infer = InferResize;
  d.reference = ResizeReference;
  d.summary =
      "nearest/bilinear resize of H, W {mode, scales | size, coordinate_mode, "
      "nearest_mode, layout} (ONNX Resize)";
  RegisterOp(std::move(d));
}

}  // namespace kiln
