// The configuration of one Hopper (sm90) CUTLASS 3.x GEMM kernel: CTA tile, thread-block
// cluster, pipeline stages, kernel and epilogue schedule, together with the facts of the problem
// it implements (dtypes, layouts, alignments, sizes where static). The cuda-sm90 gemm emitter
// (gemm_sm90.cc) writes one GemmConfig into the generated kernel as template arguments of
// kiln_cuda::sm90::Gemm (runtime_src/kiln_cuda_gemm_sm90.cuh).
//
// Sm90GemmCandidates lists the configs worth profiling for a problem (the tuner times them on a
// GPU); HeuristicGemmConfig picks one without a GPU. The environment variable
//
//   KILN_GEMM_CONFIG=<name>   e.g. 128x256x64_2x1_coop or 128x128x64_1x1_coop_s4
//   KILN_GEMM_CONFIG=sm80     the CUTLASS 2.x kernel, as on cuda-sm80
//
// read at compile time by the emitter forces one config for every gemm of the compiled graph, over
// the tuner's choice (KernelContext::config) and the heuristic. <name> is a GemmConfig::Name():
// tile MxNxK, cluster MxN, schedule, optional _s<stages>, optional _streamk (CUTLASS's stream-K
// scheduler) or _splitk<N> (the same scheduler, each tile's K in N slices; 2..16: forced only,
// 10-21% slower than 64x128 pingpong on small-M long-K gemms, bench/results/
// gemm_small_m_splitk_h100.md). A forced name
// that does not parse or is not a valid kernel is a compile error naming the gemm; a gemm the
// sm90 kernels cannot implement (see Sm90Unsupported) keeps the 2.x path whatever is forced.
#ifndef KILN_CODEGEN_CUDA_GEMM_CONFIG_H_
#define KILN_CODEGEN_CUDA_GEMM_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kiln/status.h"
#include "support/dtype.h"

namespace kiln::codegen::cuda {

/// What a GEMM computes, as far as choosing a kernel is concerned: D[l] = epilogue(A[l] @ B[l]),
/// A MxK (row-major, or column-major when trans_a), B KxN (row-major, or column-major when
/// trans_b), C (optional source operand) and D row-major MxN.
struct GemmProblem {
  DType a = DType::kF16;   // a and b share the dtype
  std::optional<DType> c;  // the source operand (c, or a residual add) if the epilogue reads one
  DType d = DType::kF16;
  bool trans_a = false, trans_b = false;
  /// Elements per access that divide every contiguous extent (and batch stride) of the operand
  /// for every value of the symbols: 8, 4, 2 or 1.
  int align_a = 1, align_b = 1, align_c = 1, align_d = 1;
  /// Sizes after batch folding; -1 where symbolic.
  int64_t m = -1, n = -1, k = -1, batch = -1;
  /// The epilogue computes a transcendental activation per element (gelu, silu, sigmoid, tanh):
  /// with a short K it costs as much as the mainloop, which only pingpong overlaps.
  bool costly_epilogue = false;
};

enum class KernelSchedule {
  kCooperative,  // TMA warp-specialized, 2 consumer warp groups share one tile (tile M >= 128)
  kPingpong,     // TMA warp-specialized, 2 consumer warp groups alternate tiles (overlaps epilogue)
};

struct GemmConfig {
  int tile_m = 128, tile_n = 128, tile_k = 64;
  int cluster_m = 1, cluster_n = 1;
  int stages = 0;  // 0: as many as shared memory holds after the epilogue (StageCountAutoCarveout)
  KernelSchedule schedule = KernelSchedule::kCooperative;
  /// CUTLASS's stream-K tile scheduler (cooperative only): when the output tiles are fewer than
  /// the SMs, CTAs also split K (stream-K or split-K as CUTLASS's heuristic decides at run time)
  /// and reduce their partial sums in kernel scratch (StreamKScratchBytes).
  bool stream_k = false;
  /// With stream_k: 0 lets CUTLASS decide how K is split; 2..16 splits every tile's K into that
  /// many slices (the scheduler's split-K decomposition), whatever the tile count.
  int splits = 0;
  /// CUTLASS's persistent tile scheduler walks the output tiles in strips this many tiles wide
  /// across its raster direction (max_swizzle_size: 1, 2, 4 or 8). It rasters along the shorter
  /// side (along N when there are at least as many M tiles), so a wave re-reads the other
  /// operand's tiles only when that side is long: square-ish problems (8192^3: 32 N tiles per
  /// row of 64), where a strip keeps the wave's A and B tiles together in L2.
  int swizzle = 1;
  GemmProblem problem;

  /// "128x256x64_2x1_coop" (+ "_s<stages>" when not automatic, "_sw<swizzle>" when not 1,
  /// "_streamk" or "_splitk<splits>"): the KILN_GEMM_CONFIG spelling.
  std::string Name() const;
  /// The CUTLASS types, e.g. "cutlass::gemm::KernelTmaWarpSpecializedCooperative".
  std::string KernelScheduleType() const;
  std::string EpilogueScheduleType() const;
  /// "cute::Shape<cute::_128, cute::_256, cute::_64>" and the cluster's "cute::Shape<_2, _1, _1>".
  std::string TileShapeType() const;
  std::string ClusterShapeType() const;
  /// "cutlass::gemm::collective::StageCountAutoCarveout<...>" or "...StageCount<4>".
  std::string StageCountType(const std::string& epilogue_shared_storage) const;
  /// "void" (CUTLASS's default persistent scheduler) or "cutlass::gemm::StreamKScheduler".
  std::string TileSchedulerType() const;
};

/// The scratch a stream_k config's kernel may use for `tiles` output tiles: CUTLASS keeps one f32
/// accumulator tile per split output tile, or with a separate reduction one per worker CTA (a
/// wave of them at most, kSm90Sms), plus barrier flags. A bound: the kernel falls back to no split when
/// the GPU asks for more (more SMs than planned for).
int64_t StreamKScratchBytes(const GemmConfig& config, int64_t tiles);

/// Why the sm90 TMA kernels cannot implement `p` (unsupported dtype, an extent that is not a
/// multiple of 16 bytes, ...), or "" when they can.
std::string Sm90Unsupported(const GemmProblem& p);

/// Whether `config`'s tile and schedule fit together (cooperative needs tile M 128 or 256,
/// pingpong 64 or 128; tile N a multiple of 64 up to 256; at most 128x128 accumulators per warp
/// group; clusters of 1, 2 or 4 CTAs).
bool ValidSm90Config(const GemmConfig& config);

/// The configs worth profiling for `p` (empty when Sm90Unsupported(p) is not ""): cooperative
/// 128x128, 128x256, 256x128 and pingpong 64x128, 128x128, 128x64 (K tile 64, 16-bit inputs)
/// with clusters 1x1, 2x1, 1x2, and cooperative stream-K 128x128 and 128x64, less tiles far
/// larger than a static M or N (64x64 pingpong when that leaves none).
std::vector<GemmConfig> Sm90GemmCandidates(const GemmProblem& p);

/// One of Sm90GemmCandidates(p) chosen from the static sizes without a GPU (see gemm_config.cc).
/// Precondition: Sm90Unsupported(p) == "".
GemmConfig HeuristicGemmConfig(const GemmProblem& p);

/// Streaming multiprocessors the heuristics plan for (an H100 / H200 SXM: 132).
constexpr int64_t kSm90Sms = 132;

/// The K from which the stream-K candidates (CTAs split K) are offered to the tuner, for problems
/// with less than a wave of output tiles; the heuristic does not pick them (measured slower).
constexpr int64_t kStreamKMinK = 1024;

/// For a problem whose M or batch is symbolic (HeuristicGemmConfig then picks for many rows): the
/// heuristic's config at a small size (M = 64, one batch), for the runs in which the symbolic-size
/// config's tiles would not fill the GPU (fewer than kSm90Sms of them); nullopt when the sizes are
/// static or the two configs are the same.
std::optional<GemmConfig> SmallGemmConfig(const GemmProblem& p);

/// Parses a GemmConfig::Name() spelling into the tile/cluster/schedule/stages of a config for
/// `p`; InvalidArgument naming the text and the expected form when it does not parse or the
/// config is not valid.
StatusOr<GemmConfig> ParseGemmConfig(const std::string& text, const GemmProblem& p);

}  // namespace kiln::codegen::cuda

#endif  // KILN_CODEGEN_CUDA_GEMM_CONFIG_H_
