// The CUDA gemm emitters and what they share. Two paths:
// - EmitGemmSm80 (gemm.cc): CUTLASS 2.x device GEMM (Ampere multistage mainloop, Turing-style for
//   odd alignment, SIMT for f32), per-batch loop, epilogue as a separate elementwise pass. The
//   cuda-sm80 emitter, and the cuda-sm90 fallback.
// - EmitGemmSm90 (gemm_sm90.cc): CUTLASS 3.x TMA warp-specialized kernels with the epilogue fused
//   as an epilogue visitor tree; falls back to EmitGemmSm80 for what TMA cannot move (f32, extents
//   that are not multiples of 16 bytes, symbolic contiguous extents).
#ifndef KILN_CODEGEN_CUDA_GEMM_H_
#define KILN_CODEGEN_CUDA_GEMM_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "codegen/cuda/emit_util.h"
#include "codegen/cuda/gemm_config.h"
#include "codegen/kernel_context.h"

namespace kiln::codegen::cuda {

/// "cutlass::half_t", "cutlass::bfloat16_t" or "float".
std::string CutlassType(DType d);

/// Largest vector width in {8, 4, 2, 1} (elements; 4 for f32) dividing every dim in `dims` for
/// every value of its symbols (a symbolic dim by the coefficients of its terms: "K8*8" gives 8).
int Alignment(const std::vector<Dim>& dims, DType d);

/// Whether an operand's batch dims are the output's ("full") or absent / all static 1
/// ("shared"); anything else ("") is a broadcast the emitters do not handle.
std::string BatchKind(const Shape& operand, const Shape& out);

/// `text` as a C++ string literal (quotes and backslashes escaped).
std::string CppString(const std::string& text);

/// How the sm90 kernel computes a gemm node (gemm_sm90.cc), or why it cannot.
struct Sm90Plan {
  std::string unsupported;  // non-empty: the reason the 2.x path takes the node
  GemmProblem problem;      // sizes after batch folding
  /// The source operand C of the CUTLASS epilogue: the node input (a full-size `c` or the first
  /// residual add; -1: none) and whether one [M, N] matrix serves every batch (batch stride 0).
  struct Source {
    int input = -1;
    bool batch_shared = false;
  } source;
  int c_row_vector =
      -1;  // input index of a `c` that is a row vector (added like a bias, times beta)
  bool fold_batch =
      false;  // a row-major `a` with batch dims times a shared `b`: batch folded into M
  std::string a_batch, b_batch;  // BatchKind of a and b
};
Sm90Plan PlanSm90(const Node& node);

Status EmitGemmSm80(const KernelContext& ctx, CodeWriter& w);
/// Appends one elementwise pass applying ctx.node()'s Epilogue in place to out0 (`count`
/// elements, written by the code before): bias(%b) adds b[(o / channel_stride) % channels] to
/// element o, residual adds read an operand of the output's shape (Unimplemented for one that
/// broadcasts). The 2.x gemm path and the direct conv kernel, whose mainloops store plain results.
Status EmitEpiloguePass(const KernelContext& ctx, CodeWriter& w, const std::string& count,
                        const std::string& channels, const std::string& channel_stride);
/// The cuda-sm90 emitter: EmitGemmSm90WithConfig with $KILN_GEMM_CONFIG when set, else with the
/// tuner's choice ctx.config() ("" when there is none: the heuristic).
Status EmitGemmSm90(const KernelContext& ctx, CodeWriter& w);
/// The sm90 kernel with config `config` (a GemmConfig::Name(); "": the heuristic's choice;
/// "sm80": the 2.x path), or the 2.x path when the node is not sm90-implementable.
/// InvalidArgument for a config name that does not parse or is not a valid kernel.
Status EmitGemmSm90WithConfig(const KernelContext& ctx, CodeWriter& w, const std::string& config);

/// Writes the sm90 GEMM type of `config` for `node` (a gemm, or a 1x1 conv) into `w`: the Tile and
/// Cluster aliases, the epilogue tree (EmitEpilogueTree with `source_input` and `c_row_vector`)
/// and `using Gemm = kiln_cuda::sm90::Gemm<...>` with A and B in `layout_a` / `layout_b`
/// (cutlass::layout::RowMajor or ColumnMajor), C of the source input's dtype (void without one)
/// and D of the output's. Returns the index of the tree's root (the `ep<root>` arguments).
int WriteSm90GemmType(const Node& node, const GemmConfig& config, const std::string& layout_a,
                      const std::string& layout_b, int source_input, int c_row_vector,
                      CodeWriter& w);

/// The kernel scratch of an sm90 gemm's variants (stream-K configs split K and keep partial sums
/// there): the variants' bodies end their kiln_cuda::sm90::Run call with RunEnd(config), which
/// passes the scratch pointer and its size (read from size[size_index], the entry after the
/// problem's sizes) to stream-K configs. Need(config, tiles) records a variant's bound for at
/// most `tiles` output tiles; AddTo appends the size entry and asks ctx for the scratch when some
/// variant needs it.
class Sm90Scratch {
 public:
  Sm90Scratch(const KernelContext& ctx, int size_index) : ctx_(ctx), size_index_(size_index) {}
  void Need(const GemmConfig& config, int64_t tiles);
  std::string RunEnd(const GemmConfig& config) const;
  void AddTo(std::vector<std::string>& sizes) const;

 private:
  const KernelContext& ctx_;
  int size_index_;
  int64_t bytes_ = 0;
};

/// The shared-function variants of an sm90 gemm (a gemm node or a 1x1 conv): one per tuned row
/// bucket when `by_rows` has two or more, else `config`, preceded, when `small` is set (a
/// symbolic M or batch on the heuristic's configs: SmallGemmConfig), by `small` for the runs with
/// fewer than a wave of `config`'s tiles. `rows` and `cols` are the C++ expressions of M (all
/// batches) and N over size[]; `body(config)` writes one variant; each choice is noted in `w`.
/// Records the stream-K configs' scratch in `scratch`: `config`'s for the static problem `p`'s
/// tiles, a tuned or forced one's (and a symbolic problem's) for two waves.
std::vector<SharedVariant> Sm90GemmVariants(const std::vector<RowsConfig<GemmConfig>>& by_rows,
                                            const GemmConfig& config,
                                            const std::optional<GemmConfig>& small,
                                            const GemmProblem& p, const std::string& rows,
                                            const std::string& cols,
                                            const std::function<CodeWriter(const GemmConfig&)>& body,
                                            Sm90Scratch& scratch, CodeWriter& w);

/// The runtime header a shared function running `config` includes first: stream-K kernels get
/// kiln_cuda_gemm_sm90_streamk.cuh (built without CUTLASS's griddepcontrol), the rest
/// kiln_cuda_gemm_sm90.cuh. An `#include "..."` line.
std::string Sm90GemmInclude(const GemmConfig& config);

}  // namespace kiln::codegen::cuda

#endif  // KILN_CODEGEN_CUDA_GEMM_H_
