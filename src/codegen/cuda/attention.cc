// CUDA kernel emitter: attention(q, k, v[, mask]) {causal, scale} in BSHD layout with
// grouped-query heads (or packed: q, k, v read in place from one [B, S, 3, H, D] input, rows of
// 3 * H * D elements), one call of kiln_cuda::Attention (runtime_src/kiln_cuda_attention.cuh)
// with the sizes, the mask's broadcast strides and the resolved scale. f16 / bf16 with static head
// dims D, Dv <= 128 that are multiples of 8 get the flash kernel (tensor cores, online softmax),
// built for the head dims rounded up to multiples of 16 (40 -> 48, 80 stays 80); everything else
// (f32, larger or odd head dims) the fallback kernel, which is correct for any shape. On
// cuda-sm90 the flash kernel is by default the warp-specialized one
// (runtime_src/kiln_cuda_attention_sm90_ws.cuh: TMA producer, wgmma consumers taking turns);
// the tilings "wgmma..." (the cp.async wgmma kernel) and "<warps>x<mf>x<keys>" (the mma.sync
// kernel, the cuda-sm80 default) force the others.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <vector>

#include "codegen/cuda/emit_util.h"
#include "codegen/cuda/families.h"

namespace kiln::codegen::cuda {
namespace {

constexpr int64_t kMaxFlashHeadDim = 128;

// The head dim the flash kernel is built for (a multiple of 16), or 0 with `why` set when the
// fallback must run.
int64_t FlashHeadDim(const kiln::Dim& d, const char* which, std::string* why) {
  if (!d.is_static()) {
    *why = std::string(which) + " is symbolic";
    return 0;
  }
  const int64_t v = d.value();
  if (v <= 0 || v > kMaxFlashHeadDim || v % 8 != 0) {
    *why = std::string(which) + " = " + std::to_string(v) + " is not a multiple of 8 in [8, " +
           std::to_string(kMaxFlashHeadDim) + "]";
    return 0;
  }
  return (v + 15) / 16 * 16;
}

// The flash kernel's tiling: kWarps warps per CTA, each warp kMF 16-row slices sharing every K / V
// fragment it reads, kBlockN keys per K / V tile.
struct FlashTiling {
  int warps, m_frags, block_n;
  std::string Name() const {
    return std::to_string(warps) + "x" + std::to_string(m_frags) + "x" + std::to_string(block_n);
  }
};

// The untuned default: 4 warps of 16 rows (64-row query tiles) and 64-key tiles; 32-key tiles at
// head dim 128 with a mask, whose loads need registers too (ptxas -v on sm_90a and sm_80:
// 165-250 registers, no local memory). Measured with ncu on an H100 (2026-12-06), BERT's masked
// packed attention at S 384, H 12, D 64: batch 1 50.0 -> 18.5 us, batch 8 102.3 -> 40.5 us against
// the earlier default for head dims <= 96 (4x2x32: 128-row tiles, 32 keys; 4x1x32 35.7 / 77.4,
// 2x1x64 20.1 / 48.7, 8x1x64 20.9 / 57.0); ViT's unmasked S 197: batch 1 13.8 -> 9.7 us, batch 64
// 85.4 -> 84.2 us. More, shorter CTAs fill the 132 SMs at small batches, and 64-key tiles halve
// the barriers per key.
FlashTiling DefaultTiling(int64_t d, int64_t dv, bool has_mask) {
  if (d <= 96 && dv <= 96) return {4, 1, 64};
  return {4, 1, has_mask ? 32 : 64};
}

// Parses "<warps>x<mf>x<block_n>" (KILN_ATTENTION_TILING, e.g. "4x2x32") with warps in {1, 2, 4,
// 8}, mf in {1, 2} and block_n in {16, 32, 64, 128}. Every such tiling fits in shared memory (at
// most 136 KiB at head dim 128: a 256-row Q tile, a 128-key K and V tile); large ones may spill
// registers (ptxas -v tells).
StatusOr<FlashTiling> ParseTiling(const Node& node, const std::string& text) {
  FlashTiling t{};
  char x1 = 0, x2 = 0, extra = 0;
  const bool parsed = std::sscanf(text.c_str(), "%d%c%d%c%d%c", &t.warps, &x1, &t.m_frags, &x2,
                                  &t.block_n, &extra) == 5 &&
                      x1 == 'x' && x2 == 'x';
  const auto one_of = [](int v, std::initializer_list<int> set) {
    return std::find(set.begin(), set.end(), v) != set.end();
  };
  if (!parsed || !one_of(t.warps, {1, 2, 4, 8}) || !one_of(t.m_frags, {1, 2}) ||
      !one_of(t.block_n, {16, 32, 64, 128})) {
    return InvalidArgument(
        node.Describe() + ": attention tiling \"" + text +
        "\" (KILN_ATTENTION_TILING) does not parse: expected <warps>x<mf>x<keys> "
        "with warps in {1, 2, 4, 8}, mf in {1, 2}, keys in {16, 32, 64, 128}, "
        "e.g. 4x2x32");
  }
  return t;
}

// sm90: the tiling "wgmma" selects the warp-group-MMA kernel (kiln_cuda_attention_sm90.cuh).
Status EmitAttention(const KernelContext& ctx, CodeWriter& w, bool sm90) {
  const Node& node = ctx.node();
  const Value* q = node.input(0);
  KILN_ASSIGN_OR_RETURN(std::string traits, FloatTraits(node, q));
  // packed: q, k and v are [B, S, H, D] slices of one [B, S, 3, H, D] input.
  const bool packed = node.GetBool("packed");
  const Shape packed_qs =
      packed ? Shape{q->shape()[0], q->shape()[1], q->shape()[3], q->shape()[4]} : Shape{};
  const Shape& qs = packed ? packed_qs : q->shape();               // [B, Sq, H, D]
  const Shape& ks = packed ? packed_qs : node.input(1)->shape();  // [B, Sk, Hk, D]
  const Shape& vs = packed ? packed_qs : node.input(2)->shape();  // [B, Sk, Hk, Dv]
  const int mask_input = packed ? 1 : 3;
  const bool has_mask = node.num_inputs() == mask_input + 1;
  const bool causal = node.GetBool("causal");
  std::string mask_traits = "kiln_cuda::F32";  // unused without a mask
  if (has_mask) {
    KILN_ASSIGN_OR_RETURN(mask_traits, FloatTraits(node, node.input(mask_input)));
  }

  // Which kernel: the flash kernel's padded head dims, or 0 / 0 and the reason for the fallback.
  std::string why;
  int64_t flash_d = 0, flash_dv = 0;
  if (q->dtype() == DType::kF32) {
    why = "f32 (the flash kernel takes f16 / bf16)";
  } else {
    flash_d = FlashHeadDim(qs[3], "D", &why);
    if (flash_d > 0) flash_dv = FlashHeadDim(vs[3], "Dv", &why);
    if (flash_dv == 0) flash_d = 0;
  }

  w.Line("#include \"kiln_cuda_attention.cuh\"");
  const std::string mask_text = has_mask ? ", mask " + node.input(mask_input)->type().ToString() : "";
  if (packed) {
    w.Line("// attention of q, k, v packed in " + q->type().ToString() + " [B, S, 3, H, D]" + mask_text +
           (causal ? ", causal" : "") + " (BSHD, rows of 3 * H * D)");
  } else {
    w.Line("// attention of q " + q->type().ToString() + ", k " + node.input(1)->type().ToString() +
           ", v " + node.input(2)->type().ToString() + mask_text + (causal ? ", causal" : "") +
           " (BSHD)");
  }
  if (flash_d > 0) {
    w.Line("// flash kernel for head dims " + std::to_string(flash_d) + " / " +
           std::to_string(flash_dv) +
           " (tensor cores, online softmax; the fallback runs for unaligned pointers)");
  } else {
    w.Line("// fallback kernel (one warp per query row): " + why);
  }
  w.Line("kiln_cuda::AttentionArgs a;");
  if (packed) {
    const std::string hd = ctx.Dim(qs[2]) + " * " + ctx.Dim(qs[3]);
    w.Line("a.q = in0;");
    w.Line("a.k = in0 + " + hd + ";");
    w.Line("a.v = in0 + 2 * " + hd + ";");
    w.Line("a.q_row = a.k_row = a.v_row = 3 * " + hd + ";");
  } else {
    w.Line("a.q = in0;");
    w.Line("a.k = in1;");
    w.Line("a.v = in2;");
    w.Line("a.q_row = " + ctx.Dim(qs[2]) + " * " + ctx.Dim(qs[3]) + ";");
    w.Line("a.k_row = " + ctx.Dim(ks[2]) + " * " + ctx.Dim(ks[3]) + ";");
    w.Line("a.v_row = " + ctx.Dim(vs[2]) + " * " + ctx.Dim(vs[3]) + ";");
  }
  w.Line(has_mask ? "a.mask = in" + std::to_string(mask_input) + ";" : "a.mask = nullptr;");
  w.Line("a.out = out0;");
  w.Line("a.batch = " + ctx.Dim(qs[0]) + ";");
  w.Line("a.sq = " + ctx.Dim(qs[1]) + ";");
  w.Line("a.sk = " + ctx.Dim(ks[1]) + ";");
  w.Line("a.heads = " + ctx.Dim(qs[2]) + ";");
  w.Line("a.kv_heads = " + ctx.Dim(ks[2]) + ";");
  w.Line("a.d = " + ctx.Dim(qs[3]) + ";");
  w.Line("a.dv = " + ctx.Dim(vs[3]) + ";");
  if (has_mask) {
    // Strides of the mask right-aligned against the scores [B, H, Sq, Sk]; 0 where it broadcasts
    // (a missing or static-1 dim).
    const Shape& ms = node.input(mask_input)->shape();
    const int64_t rank = static_cast<int64_t>(ms.size());
    std::vector<std::string> strides(4, "0");
    for (int64_t i = 0; i < rank; ++i) {
      if (ms[i] == kiln::Dim(1)) continue;
      strides[4 - rank + i] = ctx.Product(ms, i + 1, rank);
    }
    for (int i = 0; i < 4; ++i) {
      w.Line("a.mask_stride[" + std::to_string(i) + "] = " + strides[i] + ";" +
             (i == 0 ? "  // over [B, H, Sq, Sk]; 0 broadcasts" : ""));
    }
  }
  // scale 0 means 1/sqrt(D), computed in double and rounded to float as the reference does.
  const double attr_scale = node.GetFloat("scale");
  if (attr_scale != 0.0) {
    w.Line("a.scale = " + FloatLiteralExpr(attr_scale) + ";");
  } else if (qs[3].is_static()) {
    w.Line("a.scale = " + FloatLiteralExpr(1.0 / std::sqrt(static_cast<double>(qs[3].value()))) +
           ";  // 1/sqrt(D)");
  } else {
    w.Line("a.scale = static_cast<float>(1.0 / sqrt(static_cast<double>(a.d)));");
  }
  const std::string flags = std::string(", /*causal=*/") + (causal ? "true" : "false") +
                            ", /*mask=*/" + (has_mask ? "true" : "false");
  if (flash_d == 0) {
    w.Line("kiln_cuda::AttentionFallback<" + traits + ", " + mask_traits + flags + ">(a, stream);");
    return Status::Ok();
  }
  // The tiling: $KILN_ATTENTION_TILING, else the tuner's (KernelContext::config), else the default.
  const char* env = std::getenv("KILN_ATTENTION_TILING");
  std::string forced = env != nullptr && *env != '\0' ? env : ctx.config();
  // sm90 default: the warp-specialized kernel with ping-pong consumers, 128-key tiles, 2 stages,
  // on a persistent grid. H100 (session 18): 231 TFLOP/s at B32 H12 S384 D64 (mma.sync kernel
  // 131), 457 at B16 H16 S1024 D128 and 508 at B8 H16 S4096 D128 (cp.async wgmma kernel 350 and
  // 402); bench/results/attention_h100.md. Head dims up to 64 pad to 64, up to 128 to 128.
  const bool ws_default = sm90 && forced.empty();
  if (ws_default) forced = "wgmma-wspp";
  if (forced.rfind("wgmma-ws", 0) == 0) {  // "wgmma-ws[pp]" or "wgmma-ws[pp]<keys>x<stages>"
    const bool ping_pong = forced.rfind("wgmma-wspp", 0) == 0;
    const std::string prefix = ping_pong ? "wgmma-wspp" : "wgmma-ws";
    if (!sm90) {
      return InvalidArgument(node.Describe() + ": attention tiling \"" + forced +
                             "\" (KILN_ATTENTION_TILING) needs the cuda-sm90 target (TMA, warp-group MMA)");
    }
    int keys = 128, stages = 2;
    char x = 0, extra = 0;
    if (forced != prefix &&
        (std::sscanf(forced.c_str() + prefix.size(), "%d%c%d%c", &keys, &x, &stages, &extra) != 3 ||
         x != 'x' || (keys != 64 && keys != 128) || stages < 2 || stages > 4)) {
      return InvalidArgument(node.Describe() + ": attention tiling \"" + forced +
                             "\" (KILN_ATTENTION_TILING) does not parse: expected wgmma-ws[pp] or "
                             "wgmma-ws[pp]<keys>x<stages> with keys in {64, 128} and 2 to 4 stages, "
                             "e.g. wgmma-ws128x3 (pp: the consumers take turns at the tensor cores)");
    }
    const int64_t d = std::max(flash_d, flash_dv) <= 64 ? 64 : 128;
    const int64_t smem = 2 * (128 * d + 2 * stages * keys * d);  // b16 Q tile, K and V rings
    if (smem > 225 * 1024) {
      return InvalidArgument(node.Describe() + ": attention tiling \"" + forced + "\" needs " +
                             std::to_string(smem / 1024) + " KiB of shared memory at head dim " +
                             std::to_string(d) + " (an sm90 CTA has 227 KiB)");
    }
    w.Line("#include \"kiln_cuda_attention_sm90_ws.cuh\"");
    w.Line("// warp-specialized kernel (TMA producer, two warp-group-MMA consumers" +
           std::string(ping_pong ? " taking turns" : "") + "): 128 query rows per CTA, " +
           std::to_string(keys) + "-key tiles in " + std::to_string(stages) + " stages, head dims padded to " +
           std::to_string(d) + (ws_default ? " (the sm90 default)" : " (forced: KILN_ATTENTION_TILING or tuned)"));
    w.Line("kiln_cuda::AttentionSm90Ws<" + traits + ", " + mask_traits + ", /*kD=*/" + std::to_string(d) +
           ", /*kBlockN=*/" + std::to_string(keys) + ", /*kStages=*/" + std::to_string(stages) +
           ", /*kPingPong=*/" + (ping_pong ? "true" : "false") + flags + ">(a, stream);");
    return Status::Ok();
  }
  if (forced.rfind("wgmma", 0) == 0) {  // "wgmma" or "wgmma<rows>x<keys>"
    if (!sm90) {
      return InvalidArgument(node.Describe() + ": attention tiling \"" + forced +
                             "\" (KILN_ATTENTION_TILING) needs the cuda-sm90 target (warp-group MMA)");
    }
    int rows = 128, keys = 128;
    char x = 0, extra = 0;
    if (forced != "wgmma" &&
        (std::sscanf(forced.c_str(), "wgmma%d%c%d%c", &rows, &x, &keys, &extra) != 3 || x != 'x' ||
         (rows != 64 && rows != 128) || (keys != 64 && keys != 128))) {
      return InvalidArgument(node.Describe() + ": attention tiling \"" + forced +
                             "\" (KILN_ATTENTION_TILING) does not parse: expected wgmma or "
                             "wgmma<rows>x<keys> with rows and keys in {64, 128}, e.g. wgmma64x128");
    }
    const int64_t d = std::max(flash_d, flash_dv) <= 64 ? 64 : 128;
    w.Line("#include \"kiln_cuda_attention_sm90.cuh\"");
    w.Line("// warp-group MMA kernel: " + std::to_string(rows) + " query rows per CTA, " +
           std::to_string(keys) + "-key tiles, head dims padded to " + std::to_string(d) +
           " (forced: KILN_ATTENTION_TILING or tuned)");
    w.Line("kiln_cuda::AttentionSm90<" + traits + ", " + mask_traits + ", /*kD=*/" + std::to_string(d) +
           ", /*kWG=*/" + std::to_string(rows / 64) + ", /*kBlockN=*/" + std::to_string(keys) + flags +
           ">(a, stream);");
    return Status::Ok();
  }
  FlashTiling tiling = DefaultTiling(flash_d, flash_dv, has_mask);
  if (!forced.empty()) {
    KILN_ASSIGN_OR_RETURN(tiling, ParseTiling(node, forced));
  }
  w.Line("// tiling " + tiling.Name() + ": " + std::to_string(tiling.warps) + " warps of " +
         std::to_string(16 * tiling.m_frags) + " query rows, " + std::to_string(tiling.block_n) +
         "-key tiles (" + (forced.empty() ? "default" : "forced: KILN_ATTENTION_TILING or tuned") +
         ")");
  w.Line("kiln_cuda::Attention<" + traits + ", " + mask_traits + ", /*kD=*/" +
         std::to_string(flash_d) + ", /*kDv=*/" + std::to_string(flash_dv) + ", /*kWarps=*/" +
         std::to_string(tiling.warps) + ", /*kMF=*/" + std::to_string(tiling.m_frags) +
         ", /*kBlockN=*/" + std::to_string(tiling.block_n) + flags + ">(a, stream);");
  return Status::Ok();
}

Status EmitAttentionSm80(const KernelContext& ctx, CodeWriter& w) { return EmitAttention(ctx, w, false); }
Status EmitAttentionSm90(const KernelContext& ctx, CodeWriter& w) { return EmitAttention(ctx, w, true); }

}  // namespace

void RegisterAttentionEmitters() {
  RegisterEmitter(OpKind::kAttention, EmitAttentionSm80);
  RegisterSm90Emitter(OpKind::kAttention, EmitAttentionSm90);
}

}  // namespace kiln::codegen::cuda
