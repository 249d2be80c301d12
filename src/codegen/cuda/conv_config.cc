// See conv_config.h.
#include "codegen/cuda/conv_config.h"

#include <algorithm>
#include <regex>

#include "ops/epilogue.h"
#include "support/dtype.h"

namespace kiln::codegen::cuda {
namespace {

std::string Int(int64_t v) { return std::to_string(v); }

// The full-size residual read as the source operand C by the sm90 kernels (-1: none), or why
// those kernels cannot take the epilogue.
struct EpiloguePlan {
  int source = -1;
  std::string unsupported;
};

EpiloguePlan PlanEpilogue(const Node& node) {
  EpiloguePlan plan;
  int operand = node.num_explicit_inputs();
  for (const EpilogueOp& step : node.GetEpilogue()) {
    if (step.kind == EpilogueOp::Kind::kBias) ++operand;
    if (step.kind != EpilogueOp::Kind::kAdd) continue;
    const Value* r = node.input(operand++);
    if (r->shape() != node.output()->shape()) {
      plan.unsupported = "a residual add of %" + r->name() + " (" + r->type().ToString() + "), which broadcasts";
    } else if (plan.source >= 0) {
      plan.unsupported = "two residual adds";
    } else {
      plan.source = operand - 1;
    }
  }
  return plan;
}

// Why the sm90 kernels cannot take the conv, or "".
std::string Sm90ConvUnsupported(const Node& node, const ConvAttrs& a, const EpiloguePlan& epi) {
  const DType d = node.input(0)->dtype();
  if (d != DType::kF16 && d != DType::kBF16) return std::string(DTypeName(d)) + " operands";
  if (!a.nhwc) return "nchw layout";
  if (a.groups != 1) return "groups " + Int(a.groups);
  if (a.c % 8 != 0) return "input channels " + Int(a.c) + " not a multiple of 8 (16 bytes for TMA)";
  if (a.o % 8 != 0) return "output channels " + Int(a.o) + " not a multiple of 8 (16 bytes for TMA)";
  for (int64_t p : a.pad) {
    if (p > 256) return "padding " + Int(p) + " > 256 (TMA im2col's limit)";
  }
  if ((a.kh - 1) * a.dilation[0] >= 255 || (a.kw - 1) * a.dilation[1] >= 255)
    return "a dilated kernel wider than TMA im2col's offsets reach";
  return epi.unsupported;
}

}  // namespace

ConvAttrs ReadConvAttrs(const Node& node) {
  ConvAttrs a;
  a.nhwc = node.GetEnum("layout") == "nhwc";
  a.groups = node.GetInt("groups");
  a.stride = node.GetInts("stride");
  a.pad = node.GetInts("pad");
  a.dilation = node.GetInts("dilation");
  const Shape& x = node.input(0)->shape();
  const Shape& wt = node.input(1)->shape();
  const Shape& y = node.output()->shape();
  const int c = a.nhwc ? 3 : 1, h = a.nhwc ? 1 : 2, w = a.nhwc ? 2 : 3;
  a.n = x[0];
  a.c = x[c].value();
  a.h = x[h].value();
  a.w = x[w].value();
  a.o = y[c].value();
  a.oh = y[h].value();
  a.ow = y[w].value();
  a.kh = wt[h].value();
  a.kw = wt[w].value();
  if (node.op() == OpKind::kConv2d) a.max_pool = node.GetInts("max_pool");
  if (!a.max_pool.empty()) {  // the output is pooled: the conv's own size from its input
    a.pool_oh = a.oh;
    a.pool_ow = a.ow;
    a.oh = (a.h + a.pad[0] + a.pad[2] - a.dilation[0] * (a.kh - 1) - 1) / a.stride[0] + 1;
    a.ow = (a.w + a.pad[1] + a.pad[3] - a.dilation[1] * (a.kw - 1) - 1) / a.stride[1] + 1;
  }
  return a;
}

kiln_cuda::fixed_channels::MaxPool FixedChannelsPool(const ConvAttrs& a) {
  const std::vector<int64_t>& p = a.max_pool;
  return {static_cast<int>(p[0]), static_cast<int>(p[1]), static_cast<int>(p[2]), static_cast<int>(p[3]),
          static_cast<int>(p[4]),  static_cast<int>(p[5]), a.pool_oh,         a.pool_ow};
}

bool ConvAttrs::Pointwise() const {
  return kh == 1 && kw == 1 && stride[0] == 1 && stride[1] == 1 && dilation[0] == 1 &&
         dilation[1] == 1 && pad[0] == 0 && pad[1] == 0 && pad[2] == 0 && pad[3] == 0;
}


namespace {
// The shared memory of the few-channel kernel's 16x16-pixel tile, or with a max pool the tile of
// 256 conv pixels its launcher takes (its FixedChannelsSmemBytes, for an f32 output, the
// largest): 64 filters of R*S*C values padded to k16 steps plus 8, and the input patch the tile
// reads, or the output staging tile if larger. Past the limit, or a pool window that no tile
// holds: -1.
constexpr int64_t kFixedChannelsMaxSmem = 227 * 1024;
int64_t FixedChannelsSmemBytes(const ConvAttrs& a) {
  const int64_t steps = (a.kh * a.kw * a.c + 15) / 16;
  int64_t tile_h = 16, tile_w = 16;
  if (!a.max_pool.empty()) {
    const kiln_cuda::fixed_channels::PoolTile t = kiln_cuda::fixed_channels::PooledTile(FixedChannelsPool(a), 256);
    if (t.ph < 1) return -1;
    tile_h = t.th;
    tile_w = t.tw;
  }
  const int64_t patch_h = (tile_h - 1) * a.stride[0] + (a.kh - 1) * a.dilation[0] + 1;
  const int64_t patch_w = (tile_w - 1) * a.stride[1] + (a.kw - 1) * a.dilation[1] + 1;
  const int64_t operands = 64 * (steps * 16 + 8) * 2 + patch_h * patch_w * a.c * 2;
  const int64_t staging = 16 * 16 * (64 + 4) * 4;
  return std::max(operands, staging);
}
}  // namespace

ConvSm90Plan PlanConvSm90(const Node& node) {
  ConvSm90Plan plan;
  plan.attrs = ReadConvAttrs(node);
  const ConvAttrs& a = plan.attrs;
  const EpiloguePlan epi = PlanEpilogue(node);
  plan.source = epi.source;
  const DType d = node.input(0)->dtype();
  if ((d == DType::kF16 || d == DType::kBF16) && a.nhwc && a.groups == 1 && (a.c == 4 || a.c == 8) &&
      !a.Pointwise()) {
    plan.fixed_channels = true;  // its epilogue is fused or a pass after it (conv.cc)
    const int64_t smem = FixedChannelsSmemBytes(a);
    plan.fixed_channels_smem = a.o % 8 == 0 && smem >= 0 && smem <= kFixedChannelsMaxSmem;
    return plan;
  }
  plan.unsupported = Sm90ConvUnsupported(node, a, epi);
  if (!plan.unsupported.empty() || !a.Pointwise()) return plan;
  GemmProblem& p = plan.gemm;
  p.a = node.input(0)->dtype();
  p.d = node.output()->dtype();
  if (epi.source >= 0) p.c = node.input(epi.source)->dtype();
  p.trans_b = true;  // w [O, C]: K contiguous
  p.align_a = p.align_b = p.align_c = p.align_d = 8;
  p.m = a.n.is_static() ? a.n.value() * a.h * a.w : -1;
  p.n = a.o;
  p.k = a.c;
  p.batch = 1;
  plan.unsupported = Sm90Unsupported(p);
  return plan;
}

std::string ConvTile::Name() const {
  return "conv_" + Int(m) + "x" + Int(n) + "x" + Int(k) + (ctas_per_sm > 1 ? "_" + Int(ctas_per_sm) + "cta" : "");
}

std::string ConvTile::ShapeType() const {
  return "cute::Shape<cute::_" + Int(m) + ", cute::_" + Int(n) + ", cute::Shape<cute::_" + Int(k) + ">>";
}

namespace {
// One k-block reads tile-K channels of one filter tap: fewer than 64 input channels (the padded
// stem's 8) take a K tile of 16 or 32 instead of multiplying mostly zeros.
int TileK(const ConvAttrs& a) { return a.c <= 16 ? 16 : (a.c <= 32 ? 32 : 64); }
}  // namespace

std::vector<ConvTile> ConvTileCandidates(const ConvAttrs& a) {
  std::vector<ConvTile> out;
  for (int m : {128, 64}) {
    for (int n : {128, 64}) {
      if (n == 128 && a.o <= 64) continue;  // half the columns would be padding
      out.push_back({m, n, TileK(a)});
      for (int ctas = 2; ctas <= 3; ++ctas) {
        if (m * n <= 8192 * 2 / ctas) out.push_back({m, n, TileK(a), ctas});
      }
    }
  }
  return out;
}

// N 64 when there are at most 64 output channels (no wasted columns), else 128; M 64 when
// 128-row tiles would not fill the 132 SMs once (small batches, late stages), else 128. 64-wide
// tiles run two CTAs per SM: on an H100 (tuner, batch 64) ResNet-50's 56x56x64 3x3 conv took
// 54.2 us with conv_128x64x64_2cta, 66.9 us with conv_128x64x64; 128-wide tiles (154 registers
// per thread) stay at one, the fastest for the 128- to 512-channel 3x3 convs (31.7-38.6 us).
ConvTile HeuristicConvTile(const ConvAttrs& a, std::string* why) {
  ConvTile t;
  t.n = a.o <= 64 ? 64 : 128;
  t.ctas_per_sm = t.n == 64 ? 2 : 1;
  t.m = 128;
  if (a.n.is_static()) {
    const int64_t m = a.n.value() * a.oh * a.ow;
    const int64_t tiles = (m + 127) / 128 * ((a.o + t.n - 1) / t.n);
    if (tiles < 132) t.m = 64;
  }
  t.k = TileK(a);
  *why = t.m == 64 ? "fewer 128-row tiles than SMs: 64-row tiles"
                   : (a.n.is_static() ? "at least a wave of 128-row tiles" : "symbolic batch: 128-row tiles");
  if (t.n == 64) *why += "; <= 64 output channels: 64-wide tiles, two CTAs per SM";
  if (t.k < 64) *why += "; " + Int(a.c) + " input channels: K tile " + Int(t.k);
  return t;
}

StatusOr<ConvTile> ParseConvTile(const std::string& text) {
  static const std::regex kForm(R"(conv_(64|128)x(64|128)x(16|32|64)(?:_([23])cta)?)");
  std::smatch m;
  if (!std::regex_match(text, m, kForm)) {
    return InvalidArgument("conv config \"" + text +
                           "\" does not parse: expected conv_<tileM>x<tileN>x<tileK>[_<2|3>cta] with M, N in "
                           "{64, 128} and K in {16, 32, 64}, e.g. conv_128x64x64 or conv_128x64x64_2cta");
  }
  ConvTile t;
  t.m = std::stoi(m[1]);
  t.n = std::stoi(m[2]);
  t.k = std::stoi(m[3]);
  t.ctas_per_sm = m[4].matched ? std::stoi(m[4]) : 1;
  return t;
}

}  // namespace kiln::codegen::cuda
