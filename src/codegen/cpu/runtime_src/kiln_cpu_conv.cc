// kiln_cpu convolution kernels: oneDNN's convolution primitive for nhwc conv2d, im2col / col2im
// around sgemm otherwise, direct loops for depthwise.
#include "kiln_cpu_conv.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kiln_cpu_gemm.h"

namespace kiln_cpu {
namespace {

// Largest column buffer (floats) one band uses: 8 MiB, big enough that sgemm sees thousands of
// rows on ResNet-sized layers, small enough to stay in the last-level cache.
constexpr int64_t kColumnBudget = int64_t{1} << 21;

// Thread-local scratch buffer `slot` with room for at least `n` floats (contents unspecified).
float* Scratch(int slot, int64_t n) {
  thread_local std::vector<float> buffers[2];
  std::vector<float>& b = buffers[slot];
  if (static_cast<int64_t>(b.size()) < n) b.resize(n);
  return b.data();
}

// Output rows per band so that `floats_per_row` * rows stays within the column budget.
int64_t BandRows(int64_t floats_per_row, int64_t total_rows) {
  return std::clamp<int64_t>(kColumnBudget / std::max<int64_t>(1, floats_per_row), 1,
                             std::max<int64_t>(1, total_rows));
}

// [lo, hi) of t in [0, count) with 0 <= t * s + off < limit.
std::pair<int64_t, int64_t> ValidRange(int64_t off, int64_t s, int64_t limit, int64_t count) {
  auto floor_div = [](int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); };
  const int64_t lo = std::max<int64_t>(0, -floor_div(off, s));  // ceil(-off / s)
  const int64_t hi = std::min(count, floor_div(limit - 1 - off, s) + 1);
  return {lo, std::max(lo, hi)};
}

// Whether the conv is a plain 1x1 (unit stride, no padding, output the input's size), so that
// the input itself is the im2col matrix and one gemm per group does the work.
bool IsPointwise(const ConvShape& s) {
  return s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && s.pt == 0 && s.pl == 0 &&
         s.oh == s.h && s.ow == s.w;
}

// nhwc im2col of output rows [oh0, oh0 + rows) of image `xn`, channels [c0, c0 + cg):
// col[(r*ow + t)*K + (i*kw + j)*cg + cc] = x[ih][iw][c0 + cc] (0 in the padding), K = kh*kw*cg,
// which is the order of the nhwc weight rows [kh, kw, C/g].
void Im2ColNhwc(const ConvShape& s, const float* xn, int64_t c0, int64_t cg, int64_t oh0,
                int64_t rows, float* col) {
  const int64_t k = s.kh * s.kw * cg;
  const int64_t run = s.kw * cg;  // one kernel row of one pixel
  // With unit width dilation and all channels, a kernel row is one contiguous run of x.
  const bool contiguous = s.dw == 1 && cg == s.c;
  const int64_t pixels = rows * s.ow;
  for (int64_t p = 0; p < pixels; ++p) {
    const int64_t r = p / s.ow, t = p % s.ow;
    float* dst = col + p * k;
    const int64_t iw0 = t * s.sw - s.pl;
    for (int64_t i = 0; i < s.kh; ++i) {
      float* di = dst + i * run;
      const int64_t ih = (oh0 + r) * s.sh - s.pt + i * s.dh;
      if (ih < 0 || ih >= s.h) {
        std::fill(di, di + run, 0.0f);
        continue;
      }
      const float* xrow = xn + ih * s.w * s.c + c0;
      if (contiguous) {
        const int64_t jlo = std::clamp<int64_t>(-iw0, 0, s.kw);
        const int64_t jhi = std::clamp<int64_t>(s.w - iw0, jlo, s.kw);
        std::fill(di, di + jlo * cg, 0.0f);
        if (jhi > jlo) {
          std::memcpy(di + jlo * cg, xrow + (iw0 + jlo) * s.c, (jhi - jlo) * cg * sizeof(float));
        }
        std::fill(di + jhi * cg, di + run, 0.0f);
        continue;
      }
      for (int64_t j = 0; j < s.kw; ++j) {
        const int64_t iw = iw0 + j * s.dw;
        float* dj = di + j * cg;
        if (iw < 0 || iw >= s.w) {
          std::fill(dj, dj + cg, 0.0f);
        } else {
          std::memcpy(dj, xrow + iw * s.c, cg * sizeof(float));
        }
      }
    }
  }
}

// nchw im2col of output rows [oh0, oh0 + rows) of image `xn`, channels [c0, c0 + cg):
// col[(cc*kh + i)*kw + j][r*ow + t] = x[c0 + cc][ih][iw] (0 in the padding), the order of the
// nchw weight rows [C/g, kh, kw].
void Im2ColNchw(const ConvShape& s, const float* xn, int64_t c0, int64_t cg, int64_t oh0,
                int64_t rows, float* col) {
  const int64_t band = rows * s.ow;
  for (int64_t cc = 0; cc < cg; ++cc) {
    const float* xc = xn + (c0 + cc) * s.h * s.w;
    for (int64_t i = 0; i < s.kh; ++i) {
      for (int64_t j = 0; j < s.kw; ++j) {
        float* row = col + ((cc * s.kh + i) * s.kw + j) * band;
        const int64_t off_w = j * s.dw - s.pl;
        const auto [lo, hi] = ValidRange(off_w, s.sw, s.w, s.ow);
        for (int64_t r = 0; r < rows; ++r) {
          float* dst = row + r * s.ow;
          const int64_t ih = (oh0 + r) * s.sh - s.pt + i * s.dh;
          if (ih < 0 || ih >= s.h) {
            std::fill(dst, dst + s.ow, 0.0f);
            continue;
          }
          const float* src = xc + ih * s.w;
          std::fill(dst, dst + lo, 0.0f);
          if (s.sw == 1) {
            for (int64_t t = lo; t < hi; ++t) dst[t] = src[t + off_w];
          } else {
            for (int64_t t = lo; t < hi; ++t) dst[t] = src[t * s.sw + off_w];
          }
          std::fill(dst + hi, dst + s.ow, 0.0f);
        }
      }
    }
  }
}

// Depthwise-style conv (one input channel per group, o = c * m) in nhwc: every output pixel
// accumulates its taps in place, vectorised over the channels. Weights are transposed to
// [kh*kw, o] first so that a tap's weights are contiguous.
void DepthwiseNhwc(const ConvShape& s, const float* x, const float* w, float* y) {
  const int64_t kk = s.kh * s.kw;
  const int64_t m = s.o / s.c;
  float* wt = Scratch(1, kk * s.o);
  for (int64_t oc = 0; oc < s.o; ++oc) {
    for (int64_t tap = 0; tap < kk; ++tap) wt[tap * s.o + oc] = w[oc * kk + tap];
  }
  const int64_t pixels = s.n * s.oh * s.ow;
  for (int64_t p = 0; p < pixels; ++p) {
    const int64_t img = p / (s.oh * s.ow), r = (p / s.ow) % s.oh, t = p % s.ow;
    float* __restrict__ yp = y + p * s.o;
    std::fill(yp, yp + s.o, 0.0f);
    for (int64_t i = 0; i < s.kh; ++i) {
      const int64_t ih = r * s.sh - s.pt + i * s.dh;
      if (ih < 0 || ih >= s.h) continue;
      for (int64_t j = 0; j < s.kw; ++j) {
        const int64_t iw = t * s.sw - s.pl + j * s.dw;
        if (iw < 0 || iw >= s.w) continue;
        const float* __restrict__ xp = x + ((img * s.h + ih) * s.w + iw) * s.c;
        const float* __restrict__ wp = wt + (i * s.kw + j) * s.o;
        if (m == 1) {
          for (int64_t oc = 0; oc < s.o; ++oc) yp[oc] += xp[oc] * wp[oc];
        } else {
          for (int64_t cc = 0; cc < s.c; ++cc) {
            for (int64_t q = 0; q < m; ++q) yp[cc * m + q] += xp[cc] * wp[cc * m + q];
          }
        }
      }
    }
  }
}

// Depthwise-style conv in nchw: each output plane accumulates kh*kw shifted input rows.
void DepthwiseNchw(const ConvShape& s, const float* x, const float* w, float* y) {
  const int64_t kk = s.kh * s.kw;
  const int64_t m = s.o / s.c;
  for (int64_t plane = 0; plane < s.n * s.o; ++plane) {
    const int64_t img = plane / s.o, oc = plane % s.o;
    const float* xp = x + (img * s.c + oc / m) * s.h * s.w;
    float* yp = y + plane * s.oh * s.ow;
    std::fill(yp, yp + s.oh * s.ow, 0.0f);
    for (int64_t i = 0; i < s.kh; ++i) {
      for (int64_t j = 0; j < s.kw; ++j) {
        const float wv = w[oc * kk + i * s.kw + j];
        const int64_t off_w = j * s.dw - s.pl;
        const auto [lo, hi] = ValidRange(off_w, s.sw, s.w, s.ow);
        for (int64_t r = 0; r < s.oh; ++r) {
          const int64_t ih = r * s.sh - s.pt + i * s.dh;
          if (ih < 0 || ih >= s.h) continue;
          float* dst = yp + r * s.ow;
          const float* src = xp + ih * s.w;
          for (int64_t t = lo; t < hi; ++t) dst[t] += wv * src[t * s.sw + off_w];
        }
      }
    }
  }
}

// ---- oneDNN convolution (nhwc) ----
//
// oneDNN's JIT convolutions (AVX-512 / AVX2 direct kernels on blocked weights) beat im2col +
// sgemm by skipping the column matrix. The primitive is created once per geometry with weights
// format `any`, kiln's weights are reordered once into the layout it prefers, and both are cached
// process-wide (per loaded model library) keyed by the geometry and the weight pointer: kiln's
// conv weights are constants of a loaded instance. Because a freed instance's weight memory may
// be reused by a later one (or a graph could feed computed weights), each entry also keeps a
// fingerprint of sampled weight values that every call re-checks; a mismatch reorders again.

// Floats reordered weights may occupy in the cache before it is emptied (4 GiB): a bound on the
// memory held for weights no longer in use, far above any single model's conv weights.
constexpr int64_t kDnnlCacheFloats = int64_t{1} << 30;

// Fingerprint of `n` floats from evenly spaced samples (both ends included): cheap enough for
// every call (a few cache lines), and differs for any realistic change of a weight tensor.
uint64_t WeightFingerprint(const float* w, int64_t n) {
  constexpr int64_t kSamples = 64;
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the sampled bit patterns
  const int64_t samples = std::min(n, kSamples);
  for (int64_t i = 0; i < samples; ++i) {
    const int64_t idx = samples == 1 ? 0 : i * (n - 1) / (samples - 1);
    uint32_t bits;
    std::memcpy(&bits, w + idx, sizeof(bits));
    h = (h ^ bits) * 1099511628211ull;
  }
  return h;
}

// SetConv2dUsesOneDnn's switch.
std::atomic<bool> g_conv_use_dnnl{true};

using DnnlKey = std::array<int64_t, 17>;

DnnlKey KeyOf(const ConvShape& s, const float* w) {
  return {s.n,  s.c,  s.h,  s.w,  s.o,  s.oh,     s.ow,
          s.kh, s.kw, s.sh, s.sw, s.pt, s.pl,     s.dh,
          s.dw, s.groups, static_cast<int64_t>(reinterpret_cast<uintptr_t>(w))};
}

// One cached convolution: the primitive, its memory descriptors and the reordered weights.
// Immutable once built; shared_ptr keeps it alive while a call uses it, even if evicted.
struct DnnlConv {
  dnnl::convolution_forward prim;
  dnnl::memory::desc src_md, dst_md;
  dnnl::memory weights;      // in prim's preferred layout
  size_t scratch_bytes = 0;  // user-mode scratchpad size
  uint64_t fingerprint = 0;  // of kiln's weights when reordered
  int64_t weight_floats = 0;
};

// Builds the primitive for `s` and reorders `w` into its weight layout. Throws dnnl::error when
// oneDNN rejects the geometry.
std::shared_ptr<DnnlConv> BuildDnnlConv(const dnnl::engine& eng, const ConvShape& s,
                                        const float* w, uint64_t fingerprint) {
  using dnnl::memory;
  using tag = memory::format_tag;
  const memory::data_type f32 = memory::data_type::f32;
  const int64_t cg = s.c / s.groups, og = s.o / s.groups;
  // Trailing pads from the output size; a negative one (input rows the windows never reach) is
  // clamped to 0, which leaves the output size unchanged (the caller checks it is < stride).
  const int64_t pb = (s.oh - 1) * s.sh + (s.kh - 1) * s.dh + 1 - s.h - s.pt;
  const int64_t pr = (s.ow - 1) * s.sw + (s.kw - 1) * s.dw + 1 - s.w - s.pl;
  auto entry = std::make_shared<DnnlConv>();
  entry->src_md = memory::desc({s.n, s.c, s.h, s.w}, f32, tag::nhwc);
  entry->dst_md = memory::desc({s.n, s.o, s.oh, s.ow}, f32, tag::nhwc);
  // kiln's nhwc weights are [O, kh, kw, C/g]: ohwi, or gohwi with the groups split off O.
  const memory::desc user_w =
      s.groups == 1 ? memory::desc({s.o, s.c, s.kh, s.kw}, f32, tag::ohwi)
                    : memory::desc({s.groups, og, cg, s.kh, s.kw}, f32, tag::gohwi);
  const memory::desc any_w(user_w.dims(), f32, tag::any);
  dnnl::convolution_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, entry->src_md,
      any_w, entry->dst_md, {s.sh, s.sw}, {s.dh - 1, s.dw - 1}, {s.pt, s.pl},
      {std::max<int64_t>(pb, 0), std::max<int64_t>(pr, 0)});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::convolution_forward::primitive_desc pd(desc, attr, eng);
  entry->prim = dnnl::convolution_forward(pd);
  entry->scratch_bytes = pd.scratchpad_desc().get_size();
  entry->weights = memory(pd.weights_desc(), eng);
  memory user_mem(user_w, eng, const_cast<float*>(w));
  dnnl::stream strm(eng);
  dnnl::reorder(user_mem, entry->weights).execute(strm, user_mem, entry->weights);
  strm.wait();
  entry->fingerprint = fingerprint;
  entry->weight_floats = s.o * cg * s.kh * s.kw;
  return entry;
}

// The cache: geometry + weight pointer -> entry, and the geometries oneDNN rejected. Destroyed
// when the model library is unloaded (the engine last: the entries' memory refers to it).
struct DnnlCache {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  std::mutex mu;
  std::map<DnnlKey, std::shared_ptr<DnnlConv>> entries;
  std::set<DnnlKey> rejected;  // keys with the weight pointer zeroed: rejection is geometric
  int64_t floats = 0;  // reordered weights held
};

DnnlCache& Cache() {
  static DnnlCache cache;
  return cache;
}

// The cached entry for (s, w), built on first use (or when the fingerprint shows the weights at
// `w` changed); null when oneDNN cannot run this geometry.
std::shared_ptr<DnnlConv> FindDnnlConv(const ConvShape& s, const float* w) {
  const int64_t weight_floats = s.o * (s.c / s.groups) * s.kh * s.kw;
  const uint64_t fingerprint = WeightFingerprint(w, weight_floats);
  const DnnlKey key = KeyOf(s, w);
  DnnlCache& cache = Cache();
  std::lock_guard<std::mutex> lock(cache.mu);
  DnnlKey geometry = key;
  geometry.back() = 0;
  if (cache.rejected.count(geometry)) return nullptr;
  auto it = cache.entries.find(key);
  if (it != cache.entries.end()) {
    if (it->second->fingerprint == fingerprint) return it->second;
    cache.floats -= it->second->weight_floats;
    cache.entries.erase(it);
  }
  std::shared_ptr<DnnlConv> entry;
  try {
    entry = BuildDnnlConv(cache.engine, s, w, fingerprint);
  } catch (const dnnl::error&) {
    cache.rejected.insert(geometry);
    return nullptr;
  }
  if (cache.floats + weight_floats > kDnnlCacheFloats) {  // drop everything: the simple bound
    cache.entries.clear();
    cache.floats = 0;
  }
  cache.entries[key] = entry;
  cache.floats += weight_floats;
  return entry;
}

// y = conv2d(x, w) through oneDNN; false (y untouched) when oneDNN cannot run this geometry.
bool DnnlConv2d(const ConvShape& s, const float* x, const float* w, float* y) {
  if (!g_conv_use_dnnl.load(std::memory_order_relaxed)) return false;
  // Trailing pads below -(stride - 1) would mean an output smaller than kiln's shape rules give.
  if ((s.oh - 1) * s.sh + (s.kh - 1) * s.dh + 1 - s.h - s.pt <= -s.sh ||
      (s.ow - 1) * s.sw + (s.kw - 1) * s.dw + 1 - s.w - s.pl <= -s.sw) {
    return false;
  }
  std::shared_ptr<DnnlConv> conv;
  if (s.const_weights) {
    conv = FindDnnlConv(s, w);
  } else {  // weights computed at run time: nothing cached, their values change between calls
    try {
      conv = BuildDnnlConv(Cache().engine, s, w, 0);
    } catch (const dnnl::error&) {
      conv = nullptr;
    }
  }
  if (!conv) return false;
  thread_local std::vector<uint8_t> scratch;
  if (scratch.size() < conv->scratch_bytes) scratch.resize(conv->scratch_bytes);
  const dnnl::engine& eng = Cache().engine;
  dnnl::stream strm(eng);  // per call: cheap on the CPU, and nothing outlives the library
  dnnl::memory src(conv->src_md, eng, const_cast<float*>(x));
  dnnl::memory dst(conv->dst_md, eng, y);
  std::unordered_map<int, dnnl::memory> args = {
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, conv->weights}, {DNNL_ARG_DST, dst}};
  if (conv->scratch_bytes > 0) {
    args[DNNL_ARG_SCRATCHPAD] =
        dnnl::memory(dnnl::memory::desc({static_cast<int64_t>(conv->scratch_bytes)},
                                        dnnl::memory::data_type::u8, dnnl::memory::format_tag::a),
                     eng, scratch.data());
  }
  conv->prim.execute(strm, args);
  strm.wait();
  return true;
}

// nhwc conv2d (not depthwise) by sgemm: directly on x for a plain 1x1, else over im2col bands.
void GemmConv2dNhwc(const ConvShape& s, const float* x, const float* w, float* y) {
  const int64_t cg = s.c / s.groups, og = s.o / s.groups;
  const int64_t k = s.kh * s.kw * cg;
  const int64_t pixels = s.oh * s.ow;
  if (IsPointwise(s)) {
    // y[P, O] = x[P, C] @ w[O, C]^T per group, P over the whole batch.
    for (int64_t g = 0; g < s.groups; ++g) {
      Gemm(false, true, s.n * pixels, og, cg, 1.0f, x + g * cg, s.c, w + g * og * cg, cg, 0.0f,
           y + g * og, s.o);
    }
    return;
  }
  const int64_t band_rows = BandRows(k * s.ow, s.oh);
  float* col = Scratch(0, band_rows * s.ow * k);
  for (int64_t img = 0; img < s.n; ++img) {
    const float* xn = x + img * s.h * s.w * s.c;
    for (int64_t oh0 = 0; oh0 < s.oh; oh0 += band_rows) {
      const int64_t rows = std::min(band_rows, s.oh - oh0);
      float* yb = y + (img * pixels + oh0 * s.ow) * s.o;
      for (int64_t g = 0; g < s.groups; ++g) {
        Im2ColNhwc(s, xn, g * cg, cg, oh0, rows, col);
        // y[band, og] = col[band, K] @ w_g[og, K]^T, written into the group's channel slice.
        Gemm(false, true, rows * s.ow, og, k, 1.0f, col, k, w + g * og * k, k, 0.0f, yb + g * og,
             s.o);
      }
    }
  }
}

// oneDNN first: measured on a 2-core AVX-512 host it wins on every shape tried (ResNet-50's 1x1,
// 3x3 and 7x7-stem convs 1.0-4x, depthwise and grouped 5-25x). The loops below are the fallback.
void Conv2dNhwc(const ConvShape& s, const float* x, const float* w, float* y) {
  if (DnnlConv2d(s, x, w, y)) return;
  if (s.c == s.groups && s.groups > 1) {  // depthwise: a gemm per channel would have K = kh*kw
    DepthwiseNhwc(s, x, w, y);
    return;
  }
  GemmConv2dNhwc(s, x, w, y);
}

void Conv2dNchw(const ConvShape& s, const float* x, const float* w, float* y) {
  const int64_t cg = s.c / s.groups, og = s.o / s.groups;
  const int64_t k = s.kh * s.kw * cg;
  const int64_t pixels = s.oh * s.ow;
  const bool pointwise = IsPointwise(s);
  if (cg == 1 && s.groups > 1) {
    DepthwiseNchw(s, x, w, y);
    return;
  }
  const int64_t band_rows = pointwise ? s.oh : BandRows(k * s.ow, s.oh);
  float* col = pointwise ? nullptr : Scratch(0, band_rows * s.ow * k);
  for (int64_t img = 0; img < s.n; ++img) {
    for (int64_t g = 0; g < s.groups; ++g) {
      const float* wg = w + g * og * k;
      float* yg = y + (img * s.o + g * og) * pixels;
      if (pointwise) {
        // y_g[og, P] = w_g[og, cg] @ x_g[cg, P].
        Gemm(false, false, og, pixels, cg, 1.0f, wg, cg, x + (img * s.c + g * cg) * pixels, pixels,
             0.0f, yg, pixels);
        continue;
      }
      for (int64_t oh0 = 0; oh0 < s.oh; oh0 += band_rows) {
        const int64_t rows = std::min(band_rows, s.oh - oh0);
        const int64_t band = rows * s.ow;
        Im2ColNchw(s, x + img * s.c * s.h * s.w, g * cg, cg, oh0, rows, col);
        Gemm(false, false, og, band, k, 1.0f, wg, k, col, band, 0.0f, yg + oh0 * s.ow, pixels);
      }
    }
  }
}

void ConvTransposeNhwc(const ConvShape& s, const float* x, const float* w, float* y) {
  const int64_t cg = s.c / s.groups, og = s.o / s.groups;
  const int64_t kk = s.kh * s.kw;
  const int64_t mdim = kk * og;  // columns per input pixel: (i, j, o), the order of w's rows
  const int64_t band_rows = BandRows(mdim * s.w, s.h);
  float* col = Scratch(0, band_rows * s.w * mdim);
  for (int64_t img = 0; img < s.n; ++img) {
    float* yn = y + img * s.oh * s.ow * s.o;
    for (int64_t g = 0; g < s.groups; ++g) {
      for (int64_t ih0 = 0; ih0 < s.h; ih0 += band_rows) {
        const int64_t rows = std::min(band_rows, s.h - ih0);
        // col[pix, (i, j, o)] = x_g[pix, cg] @ w_g[cg, (i, j, o)].
        Gemm(false, false, rows * s.w, mdim, cg, 1.0f, x + ((img * s.h + ih0) * s.w) * s.c + g * cg,
             s.c, w + g * cg * mdim, mdim, 0.0f, col, mdim);
        // col2im: input pixel (ih, iw) with tap (i, j) lands on (ih*sh - pt + i*dh, ...).
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t i = 0; i < s.kh; ++i) {
            const int64_t oh = (ih0 + r) * s.sh - s.pt + i * s.dh;
            if (oh < 0 || oh >= s.oh) continue;
            for (int64_t iw = 0; iw < s.w; ++iw) {
              for (int64_t j = 0; j < s.kw; ++j) {
                const int64_t ow = iw * s.sw - s.pl + j * s.dw;
                if (ow < 0 || ow >= s.ow) continue;
                float* __restrict__ dst = yn + (oh * s.ow + ow) * s.o + g * og;
                const float* __restrict__ src = col + (r * s.w + iw) * mdim + (i * s.kw + j) * og;
                for (int64_t oc = 0; oc < og; ++oc) dst[oc] += src[oc];
              }
            }
          }
        }
      }
    }
  }
}

void ConvTransposeNchw(const ConvShape& s, const float* x, const float* w, float* y) {
  const int64_t cg = s.c / s.groups, og = s.o / s.groups;
  const int64_t kk = s.kh * s.kw;
  const int64_t mdim = og * kk;  // rows of the column matrix: (o, i, j), the order of w's columns
  const int64_t hw = s.h * s.w;
  const int64_t band_rows = BandRows(mdim * s.w, s.h);
  float* col = Scratch(0, band_rows * s.w * mdim);
  for (int64_t img = 0; img < s.n; ++img) {
    for (int64_t g = 0; g < s.groups; ++g) {
      for (int64_t ih0 = 0; ih0 < s.h; ih0 += band_rows) {
        const int64_t rows = std::min(band_rows, s.h - ih0);
        const int64_t band = rows * s.w;
        // col[(o, i, j), pix] = w_g[cg, (o, i, j)]^T @ x_g[cg, pix].
        Gemm(true, false, mdim, band, cg, 1.0f, w + g * cg * mdim, mdim,
             x + (img * s.c + g * cg) * hw + ih0 * s.w, hw, 0.0f, col, band);
        for (int64_t oc = 0; oc < og; ++oc) {
          float* yc = y + (img * s.o + g * og + oc) * s.oh * s.ow;
          for (int64_t i = 0; i < s.kh; ++i) {
            for (int64_t j = 0; j < s.kw; ++j) {
              const float* crow = col + ((oc * s.kh + i) * s.kw + j) * band;
              const int64_t off_w = j * s.dw - s.pl;
              const auto [lo, hi] = ValidRange(off_w, s.sw, s.ow, s.w);
              for (int64_t r = 0; r < rows; ++r) {
                const int64_t oh = (ih0 + r) * s.sh - s.pt + i * s.dh;
                if (oh < 0 || oh >= s.oh) continue;
                float* dst = yc + oh * s.ow;
                const float* src = crow + r * s.w;
                for (int64_t iw = lo; iw < hi; ++iw) dst[iw * s.sw + off_w] += src[iw];
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace

void Conv2d(const ConvShape& s, const float* x, const float* w, float* y) {
  const int64_t out_numel = s.n * s.o * s.oh * s.ow;
  if (out_numel <= 0) return;
  if (s.c == 0) {  // no input channels: nothing to accumulate
    std::fill(y, y + out_numel, 0.0f);
    return;
  }
  if (s.nhwc) {
    Conv2dNhwc(s, x, w, y);
  } else {
    Conv2dNchw(s, x, w, y);
  }
}

void SetConv2dUsesOneDnn(bool enabled) { g_conv_use_dnnl.store(enabled); }

void ConvTranspose2d(const ConvShape& s, const float* x, const float* w, float* y) {
  const int64_t out_numel = s.n * s.o * s.oh * s.ow;
  if (out_numel <= 0) return;
  std::fill(y, y + out_numel, 0.0f);
  if (s.c == 0 || s.h * s.w == 0) return;
  if (s.nhwc) {
    ConvTransposeNhwc(s, x, w, y);
  } else {
    ConvTransposeNchw(s, x, w, y);
  }
}

}  // namespace kiln_cpu
