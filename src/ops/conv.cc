// conv2d and conv_transpose2d: 2-D convolutions in nchw or nhwc layout with groups, asymmetric
// padding, dilation and a fused epilogue (bias along the channel axis); conv2d may also carry a
// max pool applied after its epilogue (`max_pool`, the fused ResNet stem). See Builder::Conv2d.
//
// The references lower to the shared f32 matmul kernel: conv2d by im2col (one column per output
// pixel, so the kernel vectorises over output width), conv_transpose2d by a matmul into columns
// followed by col2im scatter-adds. Both work on bands of rows so the column buffer stays small.
// A conv2d with `max_pool` computes the conv and its epilogue over the unpooled shape, pools in
// f32 and stores: max commutes with the (monotone) rounding to the output dtype, so this equals
// conv2d, stored, then max_pool2d.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "ops/epilogue.h"
#include "ops/families.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

// Largest column buffer (in floats) a reference allocates at once: 16 MiB.
constexpr int64_t kColumnBudget = int64_t{1} << 22;

// Validated attributes of a conv node.
struct ConvParams {
  int64_t sh = 1, sw = 1;                  // stride
  int64_t pt = 0, pl = 0, pb = 0, pr = 0;  // pad: top, left, bottom, right
  int64_t dh = 1, dw = 1;                  // dilation
  int64_t oph = 0, opw = 0;                // output_padding (transpose only)
  int64_t groups = 1;
  bool nhwc = false;
  // conv2d's max_pool, applied to the conv's (epilogue's) result: kernel, stride, pads (top,
  // left, bottom, right); dilation 1, floor mode. `pooled` is false when the list is empty.
  bool pooled = false;
  int64_t pkh = 1, pkw = 1, psh = 1, psw = 1, ppt = 0, ppl = 0, ppb = 0, ppr = 0;
};

// Reads and validates conv2d's `max_pool`: [] (no pool) or [kh, kw, sh, sw, pt, pl, pb, pr] with
// kernel and stride >= 1 and 0 <= pad < kernel in each direction (every window then overlaps
// the conv output, so no pooled value comes from padding alone).
Status ReadMaxPool(const Node& node, ConvParams& p) {
  const std::vector<int64_t>& v = node.GetInts("max_pool");
  if (v.empty()) return Status::Ok();
  if (v.size() != 8) {
    const std::string expected = "[] or 8 values [kh,kw,sh,sw,pt,pl,pb,pr]";
    return OpError(node, "attribute 'max_pool' must be " + expected + ", got " +
                             std::to_string(v.size()) + " values " + IntsToString(v));
  }
  if (v[0] < 1 || v[1] < 1 || v[2] < 1 || v[3] < 1) {
    return OpError(node, "attribute 'max_pool' " + IntsToString(v) +
                             ": kernel and stride (values 0-3) must be >= 1");
  }
  for (int i = 4; i < 8; ++i) {
    const int64_t kernel = (i % 2 == 0) ? v[0] : v[1];  // pt, pb along kh; pl, pr along kw
    if (v[i] < 0 || v[i] >= kernel) {
      return OpError(node, "attribute 'max_pool' " + IntsToString(v) + ": pads [pt,pl,pb,pr] " +
                               "must be >= 0 and smaller than the pool kernel " +
                               std::to_string(v[0]) + "x" + std::to_string(v[1]) +
                               " in each direction");
    }
  }
  p.pooled = true;
  p.pkh = v[0], p.pkw = v[1], p.psh = v[2], p.psw = v[3];
  p.ppt = v[4], p.ppl = v[5], p.ppb = v[6], p.ppr = v[7];
  return Status::Ok();
}

StatusOr<ConvParams> ReadParams(const Node& node, bool transpose) {
  ConvParams p;
  KILN_ASSIGN_OR_RETURN(auto stride, IntListAttr(node, "stride", 2, 1));
  KILN_ASSIGN_OR_RETURN(auto pad, IntListAttr(node, "pad", 4, 0));
  KILN_ASSIGN_OR_RETURN(auto dilation, IntListAttr(node, "dilation", 2, 1));
  p.sh = stride[0], p.sw = stride[1];
  p.pt = pad[0], p.pl = pad[1], p.pb = pad[2], p.pr = pad[3];
  p.dh = dilation[0], p.dw = dilation[1];
  p.groups = node.GetInt("groups");
  if (p.groups < 1) {
    return OpError(node, "groups must be >= 1, got " + std::to_string(p.groups));
  }
  p.nhwc = node.GetEnum("layout") == "nhwc";
  if (transpose) {
    KILN_ASSIGN_OR_RETURN(auto op, IntListAttr(node, "output_padding", 2, 0));
    p.oph = op[0], p.opw = op[1];
    if (p.oph >= std::max(p.sh, p.dh) || p.opw >= std::max(p.sw, p.dw)) {
      return OpError(node, "output_padding " + IntsToString(op) +
                               " must be smaller than stride or dilation in each dim (stride " +
                               IntsToString(stride) + ", dilation " + IntsToString(dilation) + ")");
    }
  } else {
    KILN_RETURN_IF_ERROR(ReadMaxPool(node, p));
  }
  return p;
}

std::string Describe(const Value* v) { return "%" + v->name() + ": " + v->type().ToString(); }

StatusOr<int64_t> StaticSpatial(const Node& node, const Dim& d, const std::string& what) {
  if (!d.is_static()) {
    return OpError(node, what + " is symbolic (" + d.ToString() +
                             "); convolution needs static spatial dims (only the batch may be "
                             "symbolic)");
  }
  return d.value();
}

StatusOr<std::vector<TensorType>> InferConv(const Node& node, bool transpose) {
  if (node.num_explicit_inputs() != 2) {
    return OpError(node, "expects x and w before its epilogue operands, got " +
                             std::to_string(node.num_explicit_inputs()) + " explicit operands");
  }
  KILN_ASSIGN_OR_RETURN(ConvParams p, ReadParams(node, transpose));
  const Value* x = node.input(0);
  const Value* w = node.input(1);
  if (!IsComputeFloat(x->dtype())) {
    return OpError(node, "x (" + Describe(x) + ") must have dtype f32, f16 or bf16");
  }
  KILN_RETURN_IF_ERROR(CheckSameDType(node, {0, 1}));
  KILN_RETURN_IF_ERROR(CheckRank(node, 0, 4));
  KILN_RETURN_IF_ERROR(CheckRank(node, 1, 4));
  // Weights [W0, W1, kh, kw] (nchw) or [W0, kh, kw, W1] (nhwc) share x's axis positions.
  const SpatialAxes ax = SpatialAxesOf(p.nhwc);
  const std::string layout = p.nhwc ? "nhwc" : "nchw";
  const Shape& xs = x->shape();
  const Shape& ws = w->shape();
  const Dim& channels = xs[ax.c];
  const Dim& w0 = ws[0];
  const Dim& w1 = ws[ax.c];
  const std::string groups = std::to_string(p.groups);
  Dim out_channels;
  if (!transpose) {
    // w [O, C/g, kh, kw]: C must equal (C/g) * groups and O must split into the groups.
    if (w1 * Dim(p.groups) != channels) {
      return OpError(node, "input channels " + channels.ToString() + " of x (" + Describe(x) +
                               ", " + layout + ") do not match weight channels " + w1.ToString() +
                               " x groups " + groups + " of w (" + Describe(w) + ")");
    }
    if (!w0.DivExact(p.groups).ok()) {
      return OpError(node, "output channels " + w0.ToString() + " (dim 0 of w " + Describe(w) +
                               ") are not divisible by groups " + groups);
    }
    out_channels = w0;
  } else {
    // w [C, O/g, kh, kw]: C must match x and split into the groups.
    if (w0 != channels) {
      return OpError(node, "input channels " + channels.ToString() + " of x (" + Describe(x) +
                               ", " + layout + ") do not match dim 0 of w (" + Describe(w) + ")");
    }
    if (!channels.DivExact(p.groups).ok()) {
      return OpError(
          node, "input channels " + channels.ToString() + " are not divisible by groups " + groups);
    }
    out_channels = w1 * Dim(p.groups);
  }
  KILN_ASSIGN_OR_RETURN(int64_t h, StaticSpatial(node, xs[ax.h], "input height"));
  KILN_ASSIGN_OR_RETURN(int64_t wd, StaticSpatial(node, xs[ax.w], "input width"));
  KILN_ASSIGN_OR_RETURN(int64_t kh, StaticSpatial(node, ws[ax.h], "kernel height"));
  KILN_ASSIGN_OR_RETURN(int64_t kw, StaticSpatial(node, ws[ax.w], "kernel width"));
  if (kh < 1 || kw < 1) {
    return OpError(node, "kernel " + ShapeToString(ws) + " has an empty spatial extent");
  }
  int64_t oh, ow;
  if (!transpose) {
    const std::optional<int64_t> rows = WindowCount(h, kh, p.sh, p.pt, p.pb, p.dh, false);
    const std::optional<int64_t> cols = WindowCount(wd, kw, p.sw, p.pl, p.pr, p.dw, false);
    if (!rows || !cols) {
      return OpError(node,
                     "the dilated kernel " + std::to_string(p.dh * (kh - 1) + 1) + "x" +
                         std::to_string(p.dw * (kw - 1) + 1) + " is larger than the padded input " +
                         std::to_string(h + p.pt + p.pb) + "x" + std::to_string(wd + p.pl + p.pr));
    }
    oh = *rows;
    ow = *cols;
  } else {
    oh = (h - 1) * p.sh - p.pt - p.pb + p.dh * (kh - 1) + p.oph + 1;
    ow = (wd - 1) * p.sw - p.pl - p.pr + p.dw * (kw - 1) + p.opw + 1;
    if (oh < 1 || ow < 1) {
      return OpError(node, "the output would be " + std::to_string(oh) + "x" + std::to_string(ow) +
                               ": padding removes the whole output");
    }
  }
  Shape out = p.nhwc ? Shape{xs[0], oh, ow, out_channels} : Shape{xs[0], out_channels, oh, ow};
  // The epilogue's operands (bias, residual add) run over the conv's own, unpooled result.
  KILN_ASSIGN_OR_RETURN(DType dtype, InferEpilogue(node, out, ax.c, 2, 2));
  if (p.pooled) {
    const std::optional<int64_t> rows = WindowCount(oh, p.pkh, p.psh, p.ppt, p.ppb, 1, false);
    const std::optional<int64_t> cols = WindowCount(ow, p.pkw, p.psw, p.ppl, p.ppr, 1, false);
    if (!rows || !cols) {
      return OpError(node, "the max_pool kernel " + std::to_string(p.pkh) + "x" +
                               std::to_string(p.pkw) + " is larger than the padded conv output " +
                               std::to_string(oh + p.ppt + p.ppb) + "x" +
                               std::to_string(ow + p.ppl + p.ppr) + " (conv output " +
                               std::to_string(oh) + "x" + std::to_string(ow) + ")");
    }
    out[ax.h] = *rows;
    out[ax.w] = *cols;
  }
  return std::vector<TensorType>{{dtype, out}};
}

// [lo, hi) of t in [0, count) with 0 <= t * s + off < limit.
std::pair<int64_t, int64_t> ValidRange(int64_t off, int64_t s, int64_t limit, int64_t count) {
  auto floor_div = [](int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); };
  int64_t lo = std::max<int64_t>(0, -floor_div(off, s));  // ceil(-off / s)
  int64_t hi = std::min(count, floor_div(limit - 1 - off, s) + 1);
  return {lo, std::max(lo, hi)};
}

// Element strides of a 4-D activation for (n, c, h, w) in either layout.
struct Strides4 {
  int64_t n, c, h, w;
};
Strides4 ActStrides(bool nhwc, int64_t c, int64_t h, int64_t w) {
  return nhwc ? Strides4{h * w * c, 1, w * c, c} : Strides4{c * h * w, h * w, w, 1};
}

// The weight as [W0, W1, kh, kw] floats whatever the layout.
std::vector<float> CanonicalWeight(const Tensor& w, bool nhwc) {
  std::vector<float> v = w.ToF32();
  if (!nhwc) return v;
  const int64_t w0 = w.dim(0), kh = w.dim(1), kw = w.dim(2), w1 = w.dim(3);
  std::vector<float> out(v.size());
  for (int64_t a = 0; a < w0; ++a)
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j)
        for (int64_t b = 0; b < w1; ++b)
          out[((a * w1 + b) * kh + i) * kw + j] = v[((a * kh + i) * kw + j) * w1 + b];
  return out;
}

// Geometry of one reference call, all concrete.
struct ConvGeometry {
  int64_t n, c, h, w;  // input
  int64_t o, oh, ow;   // output
  int64_t kh, kw;
  int64_t cg, og;  // channels per group, input and output
};

// `out` is the conv's own (unpooled) output shape.
ConvGeometry Geometry(const Tensor& x, const Tensor& w, const std::vector<int64_t>& out,
                      const ConvParams& p) {
  const SpatialAxes ax = SpatialAxesOf(p.nhwc);
  ConvGeometry g;
  g.n = x.dim(0), g.c = x.dim(ax.c), g.h = x.dim(ax.h), g.w = x.dim(ax.w);
  g.o = out[ax.c], g.oh = out[ax.h], g.ow = out[ax.w];
  g.kh = w.dim(ax.h), g.kw = w.dim(ax.w);
  g.cg = g.c / p.groups;
  g.og = g.o / p.groups;
  return g;
}

// Fills rows [oh0, oh0 + rows) of the im2col matrix of image `xn`, group channel base `c0`:
// col[(c*kh + i)*kw + j][(oh - oh0)*ow + ow] = x[c0 + c][oh*sh - pt + i*dh][ow*sw - pl + j*dw].
KILN_HOT_LOOP void Im2Col(const float* xn, const Strides4& xs, const ConvGeometry& g,
                          const ConvParams& p, int64_t c0, int64_t oh0, int64_t rows, float* col) {
  const int64_t band = rows * g.ow;
  for (int64_t c = 0; c < g.cg; ++c) {
    const float* xc = xn + (c0 + c) * xs.c;
    for (int64_t i = 0; i < g.kh; ++i) {
      for (int64_t j = 0; j < g.kw; ++j) {
        float* row = col + ((c * g.kh + i) * g.kw + j) * band;
        const int64_t off_w = j * p.dw - p.pl;
        auto [lo, hi] = ValidRange(off_w, p.sw, g.w, g.ow);
        for (int64_t r = 0; r < rows; ++r) {
          float* dst = row + r * g.ow;
          const int64_t ih = (oh0 + r) * p.sh - p.pt + i * p.dh;
          if (ih < 0 || ih >= g.h) {
            std::fill(dst, dst + g.ow, 0.0f);
            continue;
          }
          const float* src = xc + ih * xs.h;
          std::fill(dst, dst + lo, 0.0f);
          for (int64_t t = lo; t < hi; ++t) dst[t] = src[(t * p.sw + off_w) * xs.w];
          std::fill(dst + hi, dst + g.ow, 0.0f);
        }
      }
    }
  }
}

void RefConv2d(const Tensor& x, const Tensor& w, const ConvParams& p, const ConvGeometry& g,
               std::vector<float>& acc) {
  const std::vector<float> xf = x.ToF32();
  const std::vector<float> wf = CanonicalWeight(w, p.nhwc);  // [O, Cg, kh, kw]
  const Strides4 xs = ActStrides(p.nhwc, g.c, g.h, g.w);
  const Strides4 os = ActStrides(p.nhwc, g.o, g.oh, g.ow);
  const int64_t kdim = g.cg * g.kh * g.kw;
  const int64_t band_rows =
      std::clamp<int64_t>(kColumnBudget / std::max<int64_t>(1, kdim * g.ow), 1, g.oh);
  std::vector<float> col(kdim * band_rows * g.ow);
  std::vector<float> tmp;
  for (int64_t n = 0; n < g.n; ++n) {
    const float* xn = xf.data() + n * xs.n;
    float* on = acc.data() + n * os.n;
    for (int64_t grp = 0; grp < p.groups; ++grp) {
      const float* wg = wf.data() + grp * g.og * kdim;
      for (int64_t oh0 = 0; oh0 < g.oh; oh0 += band_rows) {
        const int64_t rows = std::min(band_rows, g.oh - oh0);
        const int64_t band = rows * g.ow;
        Im2Col(xn, xs, g, p, grp * g.cg, oh0, rows, col.data());
        if (!p.nhwc) {
          // Output channel planes are contiguous: accumulate straight into them.
          float* dst = on + grp * g.og * os.c + oh0 * g.ow;
          MatMulAccF32(wg, col.data(), dst, g.og, kdim, band, kdim, band, os.c);
          continue;
        }
        tmp.assign(g.og * band, 0.0f);
        MatMulAccF32(wg, col.data(), tmp.data(), g.og, kdim, band, kdim, band, band);
        for (int64_t pix = 0; pix < band; ++pix) {
          float* dst = on + (oh0 * g.ow + pix) * os.w + grp * g.og;
          for (int64_t o = 0; o < g.og; ++o) dst[o] = tmp[o * band + pix];
        }
      }
    }
  }
}

void RefConvTranspose2d(const Tensor& x, const Tensor& w, const ConvParams& p,
                        const ConvGeometry& g, std::vector<float>& acc) {
  const std::vector<float> xf = x.ToF32();
  const std::vector<float> wf = CanonicalWeight(w, p.nhwc);  // [C, Og, kh, kw]
  const Strides4 xs = ActStrides(p.nhwc, g.c, g.h, g.w);
  const Strides4 os = ActStrides(p.nhwc, g.o, g.oh, g.ow);
  const int64_t kk = g.kh * g.kw;
  const int64_t mdim = g.og * kk;  // rows of the column matrix: (o, i, j)
  const int64_t hw = g.h * g.w;
  // Per group, wt[(o*kh + i)*kw + j][c] = w[grp*Cg + c][o][i][j].
  std::vector<float> wt(p.groups * mdim * g.cg);
  for (int64_t grp = 0; grp < p.groups; ++grp)
    for (int64_t c = 0; c < g.cg; ++c)
      for (int64_t r = 0; r < mdim; ++r)
        wt[(grp * mdim + r) * g.cg + c] = wf[(grp * g.cg + c) * mdim + r];
  const int64_t band_rows =
      std::clamp<int64_t>(kColumnBudget / std::max<int64_t>(1, mdim * g.w), 1, g.h);
  std::vector<float> xg(g.cg * hw);
  std::vector<float> col(mdim * band_rows * g.w);
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t grp = 0; grp < p.groups; ++grp) {
      // The group's input channels as a contiguous [Cg, H*W] matrix.
      for (int64_t c = 0; c < g.cg; ++c)
        for (int64_t ih = 0; ih < g.h; ++ih)
          for (int64_t iw = 0; iw < g.w; ++iw)
            xg[c * hw + ih * g.w + iw] =
                xf[n * xs.n + (grp * g.cg + c) * xs.c + ih * xs.h + iw * xs.w];
      for (int64_t ih0 = 0; ih0 < g.h; ih0 += band_rows) {
        const int64_t rows = std::min(band_rows, g.h - ih0);
        const int64_t band = rows * g.w;
        std::fill(col.begin(), col.begin() + mdim * band, 0.0f);
        MatMulAccF32(wt.data() + grp * mdim * g.cg, xg.data() + ih0 * g.w, col.data(), mdim, g.cg,
                     band, g.cg, hw, band);
        // col2im: input pixel (ih, iw) with tap (i, j) lands on (ih*sh - pt + i*dh, ...).
        for (int64_t o = 0; o < g.og; ++o) {
          float* oc = acc.data() + n * os.n + (grp * g.og + o) * os.c;
          for (int64_t i = 0; i < g.kh; ++i) {
            for (int64_t j = 0; j < g.kw; ++j) {
              const float* row = col.data() + ((o * g.kh + i) * g.kw + j) * band;
              const int64_t off_w = j * p.dw - p.pl;
              auto [lo, hi] = ValidRange(off_w, p.sw, g.ow, g.w);
              for (int64_t r = 0; r < rows; ++r) {
                const int64_t oh = (ih0 + r) * p.sh - p.pt + i * p.dh;
                if (oh < 0 || oh >= g.oh) continue;
                float* dst = oc + oh * os.h;
                const float* src = row + r * g.w;
                for (int64_t iw = lo; iw < hi; ++iw) dst[(iw * p.sw + off_w) * os.w] += src[iw];
              }
            }
          }
        }
      }
    }
  }
}

// The max pool of conv2d's `max_pool` over `in` (the conv's result, concrete shape `in_shape`)
// into `out_shape`: PyTorch / ONNX MaxPool with dilation 1 and floor mode, padding never wins,
// NaN propagates (as max_pool2d's reference in pool.cc).
KILN_HOT_LOOP std::vector<float> MaxPool(const std::vector<float>& in,
                                         const std::vector<int64_t>& in_shape,
                                         const std::vector<int64_t>& out_shape,
                                         const ConvParams& p) {
  const SpatialAxes ax = SpatialAxesOf(p.nhwc);
  const int64_t n = in_shape[0], c = in_shape[ax.c], h = in_shape[ax.h], wd = in_shape[ax.w];
  const int64_t oh = out_shape[ax.h], ow = out_shape[ax.w];
  const Strides4 is = ActStrides(p.nhwc, c, h, wd);
  const Strides4 os = ActStrides(p.nhwc, c, oh, ow);
  std::vector<float> out(n * c * oh * ow);
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t ch = 0; ch < c; ++ch) {
      const float* src = in.data() + b * is.n + ch * is.c;
      for (int64_t y = 0; y < oh; ++y) {
        const int64_t y0 = y * p.psh - p.ppt;
        const int64_t i0 = std::max<int64_t>(y0, 0), i1 = std::min(y0 + p.pkh, h);
        for (int64_t z = 0; z < ow; ++z) {
          const int64_t z0 = z * p.psw - p.ppl;
          const int64_t j0 = std::max<int64_t>(z0, 0), j1 = std::min(z0 + p.pkw, wd);
          float best = -std::numeric_limits<float>::infinity();
          for (int64_t i = i0; i < i1; ++i) {
            for (int64_t j = j0; j < j1; ++j) {
              const float v = src[i * is.h + j * is.w];
              if (v > best || std::isnan(v)) best = std::isnan(best) ? best : v;
            }
          }
          out[b * os.n + ch * os.c + y * os.h + z * os.w] = best;
        }
      }
    }
  }
  return out;
}

Status RefConv(const Node& node, std::span<const Tensor> inputs, std::span<Tensor> outputs,
               bool transpose) {
  auto params = ReadParams(node, transpose);
  if (!params.ok()) return params.status();
  const ConvParams& p = *params;
  Tensor& out = outputs[0];
  // The conv's own result shape: the output's, or with max_pool the shape before pooling.
  std::vector<int64_t> conv_shape = out.shape();
  if (p.pooled) {
    const SpatialAxes ax = SpatialAxesOf(p.nhwc);
    conv_shape[ax.h] =
        *WindowCount(inputs[0].dim(ax.h), inputs[1].dim(ax.h), p.sh, p.pt, p.pb, p.dh, false);
    conv_shape[ax.w] =
        *WindowCount(inputs[0].dim(ax.w), inputs[1].dim(ax.w), p.sw, p.pl, p.pr, p.dw, false);
  }
  const ConvGeometry g = Geometry(inputs[0], inputs[1], conv_shape, p);
  int64_t conv_numel = 1;
  for (int64_t d : conv_shape) conv_numel *= d;
  std::vector<float> acc(conv_numel, 0.0f);
  if (inputs[0].numel() == 0 || inputs[1].numel() == 0) {
    // Nothing to accumulate (an empty batch, or no channels): the epilogue sees zeros.
  } else if (transpose) {
    RefConvTranspose2d(inputs[0], inputs[1], p, g, acc);
  } else {
    RefConv2d(inputs[0], inputs[1], p, g, acc);
  }
  ApplyEpilogue(node, conv_shape, SpatialAxesOf(p.nhwc).c,
                inputs.subspan(node.num_explicit_inputs()), acc);
  if (p.pooled) acc = MaxPool(acc, conv_shape, out.shape(), p);
  StoreF32(acc, out);
  return Status::Ok();
}

std::vector<AttrSpec> ConvAttrs(bool transpose) {
  std::vector<AttrSpec> attrs = {
      {"stride", AttrKind::kInts, AttrValue(std::vector<int64_t>{1, 1})},
      {"pad", AttrKind::kInts, AttrValue(std::vector<int64_t>{0, 0, 0, 0})},
  };
  if (transpose) {
    attrs.push_back({"output_padding", AttrKind::kInts, AttrValue(std::vector<int64_t>{0, 0})});
  }
  attrs.push_back({"dilation", AttrKind::kInts, AttrValue(std::vector<int64_t>{1, 1})});
  attrs.push_back({"groups", AttrKind::kInt, AttrValue(int64_t{1})});
  attrs.push_back({"layout", AttrKind::kEnum, AttrValue(EnumValue{"nchw"}), {"nchw", "nhwc"}});
  attrs.push_back({"epilogue", AttrKind::kEpilogue, AttrValue(Epilogue{})});
  if (!transpose) {
    // [] or [kh, kw, sh, sw, pt, pl, pb, pr]: a max pool of the epilogue's result (ReadMaxPool).
    attrs.push_back({"max_pool", AttrKind::kInts, AttrValue(std::vector<int64_t>{})});
  }
  return attrs;
}

}  // namespace

void RegisterConvOps() {
  for (bool transpose : {false, true}) {
    OpDef def;
    def.kind = transpose ? OpKind::kConvTranspose2d : OpKind::kConv2d;
    def.fusion = FusionKind::kOutEwiseFusable;
    def.min_inputs = 2;
    def.max_inputs = 2;
    def.attrs = ConvAttrs(transpose);
    def.infer = [transpose](const Node& node) { return InferConv(node, transpose); };
    def.reference = [transpose](const Node& node, std::span<const Tensor> inputs,
                                std::span<Tensor> outputs) {
      return RefConv(node, inputs, outputs, transpose);
    };
    def.summary = transpose ? "transposed 2-D convolution (nchw|nhwc, groups, epilogue)"
                            : "2-D convolution (nchw|nhwc, groups, dilation, epilogue, max_pool)";
    RegisterOp(std::move(def));
  }
}

}  // namespace kiln
