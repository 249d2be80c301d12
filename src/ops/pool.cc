// Pooling: max_pool2d and avg_pool2d over windows (PyTorch/ONNX semantics, including ceil_mode
// and count_include_pad), and global_avg_pool2d / global_max_pool2d, which keep H = W = 1.
// See Builder::MaxPool2d in ir/builder.h.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string>

#include "ops/epilogue.h"
#include "ops/families.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

bool IsPoolInt(DType d) {
  return d == DType::kI64 || d == DType::kI32 || d == DType::kI8 || d == DType::kU8;
}

// Checks x's dtype: floats for every pool, integers too for max pools.
Status CheckPoolDType(const Node& node, bool is_max) {
  const DType d = node.input(0)->dtype();
  if (IsComputeFloat(d) || (is_max && IsPoolInt(d))) return Status::Ok();
  return OpError(node, "x has dtype " + std::string(DTypeName(d)) + ", expected " +
                           (is_max ? "f32, f16, bf16 or an integer type" : "f32, f16 or bf16"));
}

// Positions of (c, h, w) in x for the node's layout.
SpatialAxes Axes(const Node& node) { return SpatialAxesOf(node.GetEnum("layout") == "nhwc"); }

// Validated window attributes.
struct Window {
  int64_t kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
  bool ceil_mode, count_include_pad;
};

StatusOr<Window> ReadWindow(const Node& node) {
  KILN_ASSIGN_OR_RETURN(auto k, IntListAttr(node, "kernel", 2, 1));
  KILN_ASSIGN_OR_RETURN(auto s, IntListAttr(node, "stride", 2, 1));
  KILN_ASSIGN_OR_RETURN(auto p, IntListAttr(node, "pad", 4, 0));
  KILN_ASSIGN_OR_RETURN(auto d, IntListAttr(node, "dilation", 2, 1));
  Window w{k[0],
           k[1],
           s[0],
           s[1],
           p[0],
           p[1],
           p[2],
           p[3],
           d[0],
           d[1],
           node.GetBool("ceil_mode"),
           node.GetBool("count_include_pad")};
  // A pad as large as the dilated window would produce windows that see only padding.
  const int64_t eh = w.dh * (w.kh - 1) + 1, ew = w.dw * (w.kw - 1) + 1;
  if (w.pt >= eh || w.pb >= eh || w.pl >= ew || w.pr >= ew) {
    return OpError(node, "pad " + IntsToString(p) + " must be smaller than the dilated kernel " +
                             std::to_string(eh) + "x" + std::to_string(ew) + " in each direction");
  }
  return w;
}

// Output size along one axis (PyTorch's pooling_output_shape): with ceil_mode the last window
// must still start inside the input or the leading padding.
StatusOr<int64_t> PooledSize(const Node& node, int64_t in, int64_t k, int64_t s, int64_t pad_lo,
                             int64_t pad_hi, int64_t d, bool ceil_mode, const char* axis) {
  const std::optional<int64_t> out = WindowCount(in, k, s, pad_lo, pad_hi, d, ceil_mode);
  if (!out) {
    return OpError(node, std::string("the dilated kernel (") + std::to_string(d * (k - 1) + 1) +
                             ") is larger than the padded input " + axis + " (" +
                             std::to_string(in + pad_lo + pad_hi) + ")");
  }
  return *out;
}

StatusOr<std::vector<TensorType>> InferWindowPool(const Node& node, bool is_max) {
  KILN_RETURN_IF_ERROR(CheckRank(node, 0, 4));
  KILN_RETURN_IF_ERROR(CheckPoolDType(node, is_max));
  KILN_ASSIGN_OR_RETURN(Window w, ReadWindow(node));
  const SpatialAxes ax = Axes(node);
  const Value* x = node.input(0);
  const Dim& h = x->shape()[ax.h];
  const Dim& wd = x->shape()[ax.w];
  if (!h.is_static() || !wd.is_static()) {
    return OpError(node, "x (%" + x->name() + ": " + x->type().ToString() +
                             ") has symbolic spatial dims; windowed pooling needs static H and W");
  }
  KILN_ASSIGN_OR_RETURN(
      int64_t oh, PooledSize(node, h.value(), w.kh, w.sh, w.pt, w.pb, w.dh, w.ceil_mode, "height"));
  KILN_ASSIGN_OR_RETURN(
      int64_t ow, PooledSize(node, wd.value(), w.kw, w.sw, w.pl, w.pr, w.dw, w.ceil_mode, "width"));
  Shape out = x->shape();
  out[ax.h] = oh;
  out[ax.w] = ow;
  return std::vector<TensorType>{{x->dtype(), out}};
}

StatusOr<std::vector<TensorType>> InferGlobalPool(const Node& node, bool is_max) {
  KILN_RETURN_IF_ERROR(CheckRank(node, 0, 4));
  KILN_RETURN_IF_ERROR(CheckPoolDType(node, is_max));
  const SpatialAxes ax = Axes(node);
  Shape out = node.input(0)->shape();
  out[ax.h] = 1;
  out[ax.w] = 1;
  return std::vector<TensorType>{{node.input(0)->dtype(), out}};
}

// Writes double values into `out`'s buffer with Tensor's conversion rules.
void StoreF64(const std::vector<double>& values, Tensor& out) {
  Tensor converted = Tensor::FromF64(out.dtype(), out.shape(), values);
  std::memcpy(out.mutable_data(), converted.data(), converted.nbytes());
}

// Element strides of (n, c, h, w) for a concrete 4-D shape.
struct Strides4 {
  int64_t n, c, h, w;
};
Strides4 StridesOf(const std::vector<int64_t>& shape, const SpatialAxes& ax) {
  std::vector<int64_t> s = Strides(shape);
  return {s[0], s[ax.c], s[ax.h], s[ax.w]};
}

KILN_HOT_LOOP Status RefWindowPool(const Node& node, std::span<const Tensor> inputs,
                                   std::span<Tensor> outputs, bool is_max) {
  auto window = ReadWindow(node);
  if (!window.ok()) return window.status();
  const Window& w = *window;
  const SpatialAxes ax = Axes(node);
  const Tensor& x = inputs[0];
  Tensor& out = outputs[0];
  const std::vector<double> xv = x.ToF64();
  const int64_t n = x.dim(0), c = x.dim(ax.c), h = x.dim(ax.h), wd = x.dim(ax.w);
  const int64_t oh = out.dim(ax.h), ow = out.dim(ax.w);
  const Strides4 xs = StridesOf(x.shape(), ax);
  const Strides4 os = StridesOf(out.shape(), ax);
  std::vector<double> result(out.numel());
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t ch = 0; ch < c; ++ch) {
      const double* xc = xv.data() + b * xs.n + ch * xs.c;
      for (int64_t y = 0; y < oh; ++y) {
        for (int64_t z = 0; z < ow; ++z) {
          const int64_t y0 = y * w.sh - w.pt, z0 = z * w.sw - w.pl;
          double best = -std::numeric_limits<double>::infinity();
          double sum = 0.0;
          int64_t rows_in = 0, rows_padded = 0, cols_in = 0, cols_padded = 0;
          // Window positions inside the input, and inside input + padding (never beyond the
          // trailing padding, where a ceil_mode window may overhang).
          for (int64_t i = 0; i < w.kh; ++i) {
            const int64_t iy = y0 + i * w.dh;
            rows_padded += iy < h + w.pb ? 1 : 0;
            rows_in += iy >= 0 && iy < h ? 1 : 0;
          }
          for (int64_t j = 0; j < w.kw; ++j) {
            const int64_t iz = z0 + j * w.dw;
            cols_padded += iz < wd + w.pr ? 1 : 0;
            cols_in += iz >= 0 && iz < wd ? 1 : 0;
          }
          for (int64_t i = 0; i < w.kh; ++i) {
            const int64_t iy = y0 + i * w.dh;
            if (iy < 0 || iy >= h) continue;
            for (int64_t j = 0; j < w.kw; ++j) {
              const int64_t iz = z0 + j * w.dw;
              if (iz < 0 || iz >= wd) continue;
              const double v = xc[iy * xs.h + iz * xs.w];
              // NaN propagates, as in PyTorch.
              if (v > best || std::isnan(v)) best = std::isnan(best) ? best : v;
              sum += v;
            }
          }
          double r;
          if (is_max) {
            r = best;
          } else {
            const int64_t count =
                w.count_include_pad ? rows_padded * cols_padded : rows_in * cols_in;
            r = count > 0 ? sum / static_cast<double>(count) : 0.0;
          }
          result[b * os.n + ch * os.c + y * os.h + z * os.w] = r;
        }
      }
    }
  }
  StoreF64(result, out);
  return Status::Ok();
}

KILN_HOT_LOOP Status RefGlobalPool(const Node& node, std::span<const Tensor> inputs,
                                   std::span<Tensor> outputs, bool is_max) {
  const SpatialAxes ax = Axes(node);
  const Tensor& x = inputs[0];
  const std::vector<double> xv = x.ToF64();
  const int64_t n = x.dim(0), c = x.dim(ax.c), h = x.dim(ax.h), wd = x.dim(ax.w);
  const Strides4 xs = StridesOf(x.shape(), ax);
  std::vector<double> result(n * c);  // [N, C] is the flat order of both output layouts
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t ch = 0; ch < c; ++ch) {
      const double* xc = xv.data() + b * xs.n + ch * xs.c;
      double best = -std::numeric_limits<double>::infinity(), sum = 0.0;
      for (int64_t i = 0; i < h; ++i) {
        for (int64_t j = 0; j < wd; ++j) {
          const double v = xc[i * xs.h + j * xs.w];
          if (v > best || std::isnan(v)) best = std::isnan(best) ? best : v;
          sum += v;
        }
      }
      const int64_t count = h * wd;
      result[b * c + ch] = is_max ? best : (count > 0 ? sum / static_cast<double>(count) : 0.0);
    }
  }
  StoreF64(result, outputs[0]);
  return Status::Ok();
}

AttrSpec LayoutAttr() {
  return {"layout", AttrKind::kEnum, AttrValue(EnumValue{"nchw"}), {"nchw", "nhwc"}};
}

}  // namespace

void RegisterPoolOps() {
  for (bool is_max : {true, false}) {
    OpDef def;
    def.kind = is_max ? OpKind::kMaxPool2d : OpKind::kAvgPool2d;
    def.fusion = FusionKind::kOpaque;
    def.attrs = {
        {"kernel", AttrKind::kInts, std::nullopt},
        {"stride", AttrKind::kInts, AttrValue(std::vector<int64_t>{1, 1})},
        {"pad", AttrKind::kInts, AttrValue(std::vector<int64_t>{0, 0, 0, 0})},
        {"dilation", AttrKind::kInts, AttrValue(std::vector<int64_t>{1, 1})},
        {"ceil_mode", AttrKind::kBool, AttrValue(false)},
        {"count_include_pad", AttrKind::kBool, AttrValue(false)},
        LayoutAttr(),
    };
    def.infer = [is_max](const Node& node) { return InferWindowPool(node, is_max); };
    def.reference = [is_max](const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
      return RefWindowPool(node, in, out, is_max);
    };
    def.summary = is_max ? "2-D max pooling over windows" : "2-D average pooling over windows";
    RegisterOp(std::move(def));

    OpDef global;
    global.kind = is_max ? OpKind::kGlobalMaxPool2d : OpKind::kGlobalAvgPool2d;
    global.fusion = FusionKind::kReduction;
    global.attrs = {LayoutAttr()};
    global.infer = [is_max](const Node& node) { return InferGlobalPool(node, is_max); };
    global.reference = [is_max](const Node& node, std::span<const Tensor> in,
                                std::span<Tensor> out) {
      return RefGlobalPool(node, in, out, is_max);
    };
    global.summary = is_max ? "max over H and W (kept as 1)" : "mean over H and W (kept as 1)";
    RegisterOp(std::move(global));
  }
}

}  // namespace kiln
