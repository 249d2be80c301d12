// GemmConfig: naming, validity, the candidate list and the GPU-free heuristic (see gemm_config.h).
//
// The heuristic reasons in waves over the H100's 132 SMs: a problem with at least a full wave of
// 128x256 tiles takes the largest cooperative tile with a 2x1 cluster (B tiles multicast to the
// CTA pair: highest arithmetic intensity, the CUTLASS profiler's usual winner for large GEMMs)
// unless K is short; one with a wave of 128x128 tiles takes the 128x128 cooperative kernel;
// smaller problems take 64x128 pingpong (more, smaller tiles fill more SMs; pingpong hides the
// epilogue), also with a long K: 128x128 cooperative stream-K (CTAs split K, partial sums reduced
// in scratch) measured 40-45% slower on the H100 for 197x768x3072, 384x768x3072 and 49x512x2048
// (bench/results/gemm_small_m_streamk_h100.md), so it is left to the tuner; N <= 64 takes 128x64
// pingpong so that half of every tile is not padding. Short K
// (a mainloop of a few k-steps per tile, so the epilogue weighs as much) takes 128x128 pingpong,
// whose two consumer warp groups overlap one tile's epilogue with the next one's mainloop:
// measured on the H100 (bench/results/gemm_configs_h100.md) 6272x2048x512 at 539
// TFLOP/s against 402 for 128x256 cooperative, 12608x3072x768 at 607 against 564 (symbolic M)
// and 540 (128x128 cooperative). Up to K = 512 always; at any K when N <= 1024 (49152x768x768:
// 621 against 556; 12608x768x3072: 648 against 591 as 128x128 and 569 as 128x256 cooperative,
// bench/results/gemm_ffn2_h100.md); up to K = 1024 when the epilogue has a transcendental
// activation, whose cost a cooperative kernel pays in full (bias+GELU, gemm_epilogue_h100.md:
// 12608x3072x768 at 586 against 475, 49152x3072x768 at 554 against 530); a plain 49152x3072x768
// stays cooperative (557 against 529). But a K <= 256 whose epilogue reads a residual (C) stays on
// 128x128 cooperative: pingpong orders the two warp groups' epilogues one after the other, and
// with so short a mainloop the C load and D store are the tile's cost. ResNet-50's 1x1 expansion
// convs with the residual add (batch 64, symbolic M; bench/results/resnet50_b64_ncu_h100.txt,
// session 12 cooperative against session 18 pingpong) took 80.5 -> 97.7 us at K = 64, 41.0 ->
// 47.9 at K = 128 and 25.3 -> 27.7 at K = 256 as pingpong, while at K = 512 pingpong was faster
// (23.7 -> 22.5) and so were the ones without a residual (K = 64: 49.3 -> 44.7). Symbolic sizes
// take 128x128, pingpong when K <= 1024 or N <= 1024 unless the residual rule says cooperative.
#include "codegen/cuda/gemm_config.h"

#include <algorithm>
#include <regex>

#include "support/check.h"

namespace kiln::codegen::cuda {
namespace {

constexpr int64_t kSms = kSm90Sms;

int Bytes(DType d) { return d == DType::kF32 ? 4 : 2; }

bool Is16Bit(DType d) { return d == DType::kF16 || d == DType::kBF16; }

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

GemmConfig StreamK(GemmConfig c) {
  c.stream_k = true;
  return c;
}

GemmConfig Make(const GemmProblem& p, int tm, int tn, int cm, int cn, KernelSchedule s) {
  GemmConfig c;
  c.tile_m = tm;
  c.tile_n = tn;
  c.tile_k = 64;
  c.cluster_m = cm;
  c.cluster_n = cn;
  c.schedule = s;
  c.problem = p;
  return c;
}

}  // namespace

std::string GemmConfig::Name() const {
  std::string s = std::to_string(tile_m) + "x" + std::to_string(tile_n) + "x" +
                  std::to_string(tile_k) + "_" + std::to_string(cluster_m) + "x" +
                  std::to_string(cluster_n) + "_" +
                  (schedule == KernelSchedule::kCooperative ? "coop" : "pingpong");
  if (stages != 0) s += "_s" + std::to_string(stages);
  if (swizzle != 1) s += "_sw" + std::to_string(swizzle);
  if (stream_k) s += splits > 0 ? "_splitk" + std::to_string(splits) : std::string("_streamk");
  return s;
}

std::string GemmConfig::TileSchedulerType() const {
  return stream_k ? "cutlass::gemm::StreamKScheduler" : "void";
}

int64_t StreamKScratchBytes(const GemmConfig& config, int64_t tiles) {
  const int64_t tile_bytes = int64_t{config.tile_m} * config.tile_n * 4;  // f32 accumulators
  // Split-K: one accumulator tile per output tile; stream-K: one per split tile, or one per
  // worker CTA (at most a wave) when CUTLASS reduces separately.
  const int64_t partials = std::max(tiles, kSm90Sms);
  return partials * tile_bytes + (tiles + kSm90Sms) * 64 + 4096;   // + barrier flags, alignment
}

std::string GemmConfig::KernelScheduleType() const {
  return schedule == KernelSchedule::kCooperative
             ? "cutlass::gemm::KernelTmaWarpSpecializedCooperative"
             : "cutlass::gemm::KernelTmaWarpSpecializedPingpong";
}

std::string GemmConfig::EpilogueScheduleType() const {
  return schedule == KernelSchedule::kCooperative
             ? "cutlass::epilogue::TmaWarpSpecializedCooperative"
             : "cutlass::epilogue::TmaWarpSpecialized";
}

std::string GemmConfig::TileShapeType() const {
  return "cute::Shape<cute::_" + std::to_string(tile_m) + ", cute::_" + std::to_string(tile_n) +
         ", cute::_" + std::to_string(tile_k) + ">";
}

std::string GemmConfig::ClusterShapeType() const {
  return "cute::Shape<cute::_" + std::to_string(cluster_m) + ", cute::_" +
         std::to_string(cluster_n) + ", cute::_1>";
}

std::string GemmConfig::StageCountType(const std::string& epilogue_shared_storage) const {
  if (stages != 0) return "cutlass::gemm::collective::StageCount<" + std::to_string(stages) + ">";
  return "cutlass::gemm::collective::StageCountAutoCarveout<static_cast<int>(sizeof(" +
         epilogue_shared_storage + "))>";
}

std::string Sm90Unsupported(const GemmProblem& p) {
  if (!Is16Bit(p.a))
    return std::string(DTypeName(p.a)) + " operands (the sm90 kernels take f16 or bf16)";
  if (p.d != DType::kF32 && !Is16Bit(p.d)) return "output dtype " + std::string(DTypeName(p.d));
  if (p.c.has_value() && *p.c != DType::kF32 && !Is16Bit(*p.c))
    return "source dtype " + std::string(DTypeName(*p.c));
  // TMA moves 16-byte aligned boxes: every contiguous extent must be a multiple of 16 bytes.
  auto misaligned = [](int align, DType d) { return align * Bytes(d) % 16 != 0; };
  if (misaligned(p.align_a, p.a))
    return std::string("a's contiguous extent (") + (p.trans_a ? "M" : "K") +
           ") is not a multiple of 16 bytes";
  if (misaligned(p.align_b, p.a))
    return std::string("b's contiguous extent (") + (p.trans_b ? "K" : "N") +
           ") is not a multiple of 16 bytes";
  if (misaligned(p.align_d, p.d)) return "the output's N is not a multiple of 16 bytes";
  if (p.c.has_value() && misaligned(p.align_c, *p.c))
    return "the source operand's N is not a multiple of 16 bytes";
  if (p.m == 0 || p.n == 0 || p.k == 0 || p.batch == 0) return "an empty problem";
  return "";
}

bool ValidSm90Config(const GemmConfig& c) {
  const bool coop = c.schedule == KernelSchedule::kCooperative;
  if (coop ? (c.tile_m != 128 && c.tile_m != 256) : (c.tile_m != 64 && c.tile_m != 128))
    return false;
  if (c.tile_n < 64 || c.tile_n > 256 || c.tile_n % 64 != 0) return false;
  if (c.tile_k != 32 && c.tile_k != 64 && c.tile_k != 128) return false;
  // Accumulator registers: each consumer warp group holds at most a 128x128 f32 tile (cooperative
  // splits the CTA tile between two groups, pingpong gives each group a whole tile).
  if (c.tile_m * c.tile_n > (coop ? 2 : 1) * 128 * 128) return false;
  auto pow2 = [](int x) { return x == 1 || x == 2 || x == 4; };
  if (!pow2(c.cluster_m) || !pow2(c.cluster_n) || c.cluster_m * c.cluster_n > 4) return false;
  if (c.stream_k && !coop) return false;  // CUTLASS's stream-K scheduler: cooperative kernels
  if (c.splits != 0 && (!c.stream_k || c.splits < 2 || c.splits > 16)) return false;
  if (c.swizzle != 1 && c.swizzle != 2 && c.swizzle != 4 && c.swizzle != 8) return false;
  return c.stages == 0 || (c.stages >= 2 && c.stages <= 8);
}

std::vector<GemmConfig> Sm90GemmCandidates(const GemmProblem& p) {
  if (!Sm90Unsupported(p).empty()) return {};
  using KS = KernelSchedule;
  const std::vector<GemmConfig> all = {
      Make(p, 128, 128, 1, 1, KS::kCooperative), Make(p, 128, 128, 2, 1, KS::kCooperative),
      Make(p, 128, 256, 1, 1, KS::kCooperative), Make(p, 128, 256, 2, 1, KS::kCooperative),
      Make(p, 256, 128, 1, 1, KS::kCooperative), Make(p, 256, 128, 1, 2, KS::kCooperative),
      Make(p, 64, 128, 1, 1, KS::kPingpong),     Make(p, 128, 128, 1, 1, KS::kPingpong),
      Make(p, 128, 128, 2, 1, KS::kPingpong),    Make(p, 128, 64, 1, 1, KS::kPingpong),
      StreamK(Make(p, 128, 128, 1, 1, KS::kCooperative)),
      StreamK(Make(p, 128, 64, 1, 1, KS::kCooperative)),
  };
  // Drop tiles more than twice a static extent (mostly padding) and clusters wider than the grid;
  // stream-K (only for K >= kStreamKMinK) keeps its 128 rows for a small M: its CTAs split K.
  std::vector<GemmConfig> out;
  for (const GemmConfig& c : all) {
    if (c.stream_k) continue;
    if (p.m > 0 && c.tile_m > 64 && c.tile_m / 2 >= p.m) continue;
    if (p.n > 0 && c.tile_n > 64 && c.tile_n / 2 >= p.n) continue;
    if (p.m > 0 && c.cluster_m > 1 && CeilDiv(p.m, c.tile_m) < c.cluster_m) continue;
    if (p.n > 0 && c.cluster_n > 1 && CeilDiv(p.n, c.tile_n) < c.cluster_n) continue;
    out.push_back(c);
  }
  if (out.empty()) out.push_back(Make(p, 64, 64, 1, 1, KS::kPingpong));  // tiny in M and N
  for (const GemmConfig& c : all) {
    if (!c.stream_k || p.k < kStreamKMinK) continue;
    if (p.n > 0 && c.tile_n > 64 && c.tile_n / 2 >= p.n) continue;
    out.push_back(c);
  }
  return out;
}

GemmConfig HeuristicGemmConfig(const GemmProblem& p) {
  const std::vector<GemmConfig> candidates = Sm90GemmCandidates(p);
  KILN_CHECK(!candidates.empty()) << "no sm90 gemm config for an unsupported problem: " << Sm90Unsupported(p);
  auto pick = [&](int tm, int tn, int cm, int cn, KernelSchedule s) -> const GemmConfig* {
    for (const GemmConfig& c : candidates) {
      if (c.tile_m == tm && c.tile_n == tn && c.cluster_m == cm && c.cluster_n == cn &&
          c.schedule == s && !c.stream_k)
        return &c;
    }
    return nullptr;
  };
  const GemmConfig* chosen = nullptr;
  const bool short_k = p.k > 0 && p.k <= 1024;
  // The epilogue reads a full-size source (a residual) after a mainloop of at most 4 k-steps: its
  // load of C and store of D are the tile's whole cost, and cooperative runs both warp groups'
  // halves of them at once where pingpong takes turns.
  const bool source_bound = p.c.has_value() && p.k > 0 && p.k <= 256;
  // A narrow output takes pingpong at any K (see the file comment).
  const bool narrow = p.n > 0 && p.n <= 1024;
  if (p.m < 0 || p.n < 0 || p.batch < 0) {
    chosen = pick(128, 128, 1, 1,
                  (short_k || narrow) && !source_bound ? KernelSchedule::kPingpong
                                                       : KernelSchedule::kCooperative);
  } else {
    auto tiles = [&](int tm, int tn) { return p.batch * CeilDiv(p.m, tm) * CeilDiv(p.n, tn); };
    if (p.n <= 64) {
      chosen = pick(128, 64, 1, 1, KernelSchedule::kPingpong);
    } else if (source_bound && tiles(128, 128) >= kSms) {
      chosen = pick(128, 128, 1, 1, KernelSchedule::kCooperative);
    } else if (tiles(128, 128) >= kSms &&
               (p.k <= 512 || narrow || (short_k && p.costly_epilogue))) {
      chosen = pick(128, 128, 1, 1, KernelSchedule::kPingpong);
    } else if (tiles(128, 256) >= kSms) {
      chosen = pick(128, 256, 2, 1, KernelSchedule::kCooperative);
    } else if (tiles(128, 128) >= kSms) {
      chosen = pick(128, 128, 1, 1, KernelSchedule::kCooperative);
    } else {
      chosen = pick(64, 128, 1, 1, KernelSchedule::kPingpong);
    }
  }
  return chosen != nullptr ? *chosen : candidates.front();
}

std::optional<GemmConfig> SmallGemmConfig(const GemmProblem& p) {
  if (p.m >= 0 && p.batch >= 0) return std::nullopt;
  GemmProblem small = p;
  small.m = 64;
  small.batch = 1;
  const GemmConfig large = HeuristicGemmConfig(p), chosen = HeuristicGemmConfig(small);
  if (chosen.Name() == large.Name()) return std::nullopt;
  return chosen;
}

StatusOr<GemmConfig> ParseGemmConfig(const std::string& text, const GemmProblem& p) {
  static const std::regex re(
      R"((\d+)x(\d+)x(\d+)_(\d+)x(\d+)_(coop|pingpong)(?:_s(\d+))?(?:_sw(\d+))?(_streamk|_splitk(\d+))?)");
  std::smatch m;
  const std::string expected =
      "expected <tileM>x<tileN>x<tileK>_<clusterM>x<clusterN>_<coop|pingpong>[_s<stages>][_sw<swizzle>]"
      "[_streamk|_splitk<N>], e.g. 128x256x64_2x1_coop, 128x128x64_1x1_pingpong_sw8, "
      "128x128x64_1x1_coop_streamk or 128x128x64_1x1_coop_splitk4, or sm80";
  if (!std::regex_match(text, m, re))
    return InvalidArgument("gemm config \"" + text + "\" does not parse: " + expected);
  GemmConfig c;
  c.tile_m = std::stoi(m[1]);
  c.tile_n = std::stoi(m[2]);
  c.tile_k = std::stoi(m[3]);
  c.cluster_m = std::stoi(m[4]);
  c.cluster_n = std::stoi(m[5]);
  c.schedule = m[6] == "coop" ? KernelSchedule::kCooperative : KernelSchedule::kPingpong;
  c.stages = m[7].matched ? std::stoi(m[7]) : 0;
  c.swizzle = m[8].matched ? std::stoi(m[8]) : 1;
  c.stream_k = m[9].matched;
  c.splits = m[10].matched ? std::stoi(m[10]) : 0;
  c.problem = p;
  if (!ValidSm90Config(c)) {
    return InvalidArgument(
        "gemm config \"" + text +
        "\" is not a valid sm90 kernel: cooperative takes tile M 128 or 256, pingpong 64 or "
        "128; tile N a multiple of 64 up to 256; tile K 32, 64 or 128; at most 128x128 "
        "accumulators per warp group; clusters of 1, 2 or 4 (4 CTAs at most); stages 2..8; "
        "swizzle 1, 2, 4 or 8; stream-K and split-K (2 to 16 splits) with cooperative kernels only");
  }
  return c;
}

}  // namespace kiln::codegen::cuda
