// Hopper GEMM glue for generated cuda-sm90 kernels (namespace kiln_cuda::sm90): CUTLASS 3.x TMA
// warp-specialized kernels assembled with the collective builders, whose epilogue is a tree of
// kiln's epilogue steps (kiln_cuda_epilogue_sm90.cuh). A generated kernel
// (src/codegen/cuda/gemm_sm90.cc) spells out the tree, names the kernel
//
//   using Gemm = kiln_cuda::sm90::Gemm<..., Tile, Cluster, ..., E2>;
//
// and calls kiln_cuda::sm90::Run<Gemm>(...).
//
// Preconditions of Run (checked by the emitter from static shapes, by Run for pointers): 16-byte
// aligned base pointers, and contiguous extents and batch strides that are multiples of 16 bytes
// (TMA); batch strides may be 0 (an operand shared by every batch).
#ifndef KILN_CUDA_GEMM_SM90_CUH_
#define KILN_CUDA_GEMM_SM90_CUH_

#include <cstdint>

#include "cutlass/gemm/collective/collective_builder.hpp"
#include "cutlass/gemm/device/gemm_universal_adapter.h"
#include "cutlass/gemm/kernel/gemm_universal.hpp"
#include "kiln_cuda_epilogue_sm90.cuh"

namespace kiln_cuda::sm90 {

// ------------------------------------------------------------------------------------ kernels

/// The CUTLASS 3.x GEMM of A (LayoutA: RowMajor = K contiguous) times B (LayoutB: RowMajor = N
/// contiguous), f32 accumulation, source C (void: none) and D row-major, epilogue tree Fusion.
/// Stages: "auto" when Stages == 0 (what shared memory holds after the epilogue's share).
/// TileScheduler: void (CUTLASS's persistent data-parallel scheduler) or
/// cutlass::gemm::StreamKScheduler (cooperative kernels: CTAs split K when the output tiles are
/// fewer than the SMs, partial sums in the scratch Run gets). Swizzle: the scheduler's
/// max_swizzle_size (1, 2, 4, 8), a run-time argument of the same kernel: the CTAs of a wave
/// cover strips of that many tiles across the raster direction, sharing A and B tiles in L2.
template <class ElementA, class LayoutA, class ElementB, class LayoutB, class ElementC, class ElementD,
          class TileShape, class ClusterShape, int Stages, class KernelSchedule, class EpilogueSchedule,
          class Fusion, class TileScheduler = void, int Swizzle = 1>
struct Gemm {
  static constexpr int kAlignA = 16 / sizeof(ElementA);
  static constexpr int kAlignB = 16 / sizeof(ElementB);
  static constexpr int kAlignD = 16 / sizeof(ElementD);
  static constexpr int kAlignC = cute::is_void_v<ElementC> ? kAlignD : 16 / sizeof(cute::conditional_t<cute::is_void_v<ElementC>, ElementD, ElementC>);

  using CollectiveEpilogue = typename cutlass::epilogue::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, TileShape, ClusterShape,
      cutlass::epilogue::collective::EpilogueTileAuto, float, float, ElementC, cutlass::layout::RowMajor, kAlignC,
      ElementD, cutlass::layout::RowMajor, kAlignD, EpilogueSchedule, Fusion>::CollectiveOp;
  using StageCount = cute::conditional_t<
      Stages == 0,
      cutlass::gemm::collective::StageCountAutoCarveout<static_cast<int>(sizeof(typename CollectiveEpilogue::SharedStorage))>,
      cutlass::gemm::collective::StageCount<(Stages == 0 ? 2 : Stages)>>;
  using CollectiveMainloop = typename cutlass::gemm::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, ElementA, LayoutA, kAlignA, ElementB, LayoutB, kAlignB,
      float, TileShape, ClusterShape, StageCount, KernelSchedule>::CollectiveOp;
  using Kernel = cutlass::gemm::kernel::GemmUniversal<cute::Shape<int, int, int, int>, CollectiveMainloop,
                                                      CollectiveEpilogue, TileScheduler>;
  static constexpr bool kStreamK = cute::is_same_v<TileScheduler, cutlass::gemm::StreamKScheduler>;
  static constexpr int kSwizzle = Swizzle;
  using Device = cutlass::gemm::device::GemmUniversalAdapter<Kernel>;

  using StrideA = typename Kernel::StrideA;
  using StrideB = typename Kernel::StrideB;
  using StrideC = typename Kernel::StrideC;
  using StrideD = typename Kernel::StrideD;
  using ElementCOrD = cute::conditional_t<cute::is_void_v<ElementC>, ElementD, ElementC>;
};

/// A CUTLASS 3.x (M, K, L) / (N, K, L) / (M, N, L) stride: the one dynamic mode of the matrix gets
/// `ld` (elements between rows or columns), the batch mode `batch_stride` (0: shared).
template <class Stride>
Stride MakeStride(int64_t ld, int64_t batch_stride) {
  Stride s{};
  if constexpr (cute::is_same_v<cute::remove_cvref_t<decltype(cute::get<0>(s))>, int64_t>) {
    cute::get<0>(s) = ld;
  } else {
    cute::get<1>(s) = ld;
  }
  cute::get<2>(s) = batch_stride;
  return s;
}


/// Enqueues D = Fusion(A @ B, C) for `l` batches of M x N x K on `stream`. `ldX`/`batch_X` are in
/// elements; c may be null when G::ElementC is void. Failures (CUTLASS refusing the problem, a
/// misaligned pointer) are reported through kiln_rt::DeviceReportError with `what`. A stream-K
/// kernel gets `scratch_bytes` of scratch (the generated kernel's bound, KernelContext scratch):
/// CUTLASS decides at run time whether and how CTAs split K (stream-K, split-K or none, from the
/// tiles and the SMs), or with `splits` >= 2 each tile's K in that many slices (split-K); a
/// decomposition that would need more scratch than that runs unsplit.
template <class G>
void Run(const char* what, int64_t m, int64_t n, int64_t k, int64_t l, const void* a, int64_t lda, int64_t batch_a,
         const void* b, int64_t ldb, int64_t batch_b, const void* c, int64_t ldc, int64_t batch_c, void* d,
         int64_t ldd, int64_t batch_d, typename G::CollectiveEpilogue::FusionCallbacks::Arguments const& fusion,
         void* stream, void* scratch = nullptr, int64_t scratch_bytes = 0, int splits = 0) {
  using Device = typename G::Device;
  if (m <= 0 || n <= 0 || l <= 0) return;
  if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX || l > INT32_MAX) {
    kiln_rt::DeviceReportError(what, "a gemm extent exceeds 2^31-1 (CUTLASS problem shapes are int)");
    return;
  }
  if (!Aligned16(a) || !Aligned16(b) || !Aligned16(d) || (c != nullptr && !Aligned16(c))) {
    kiln_rt::DeviceReportError(what, "an operand pointer is not 16-byte aligned (TMA needs it; compile for cuda-sm80 "
                                     "or pass aligned buffers)");
    return;
  }
  cutlass::KernelHardwareInfo hw;
  cudaGetDevice(&hw.device_id);
  hw.sm_count = SmCount();
  typename Device::Arguments args{
      cutlass::gemm::GemmUniversalMode::kGemm,
      {static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), static_cast<int>(l)},
      {static_cast<const typename G::CollectiveMainloop::ElementA*>(a), MakeStride<typename G::StrideA>(lda, batch_a),
       static_cast<const typename G::CollectiveMainloop::ElementB*>(b), MakeStride<typename G::StrideB>(ldb, batch_b)},
      {fusion, static_cast<const typename G::ElementCOrD*>(c), MakeStride<typename G::StrideC>(ldc, batch_c),
       static_cast<typename G::CollectiveEpilogue::ElementD*>(d), MakeStride<typename G::StrideD>(ldd, batch_d)},
      hw};
  args.scheduler.max_swizzle_size = G::kSwizzle;
  if constexpr (G::kStreamK) {
    using Decomposition = typename G::Kernel::TileScheduler::DecompositionMode;
    if (splits >= 2) {
      args.scheduler.splits = splits;
      args.scheduler.decomposition_mode = Decomposition::SplitK;
    }
    if (static_cast<int64_t>(Device::get_workspace_size(args)) > scratch_bytes)
      args.scheduler.decomposition_mode = Decomposition::DataParallel;
  }
  // A stream-K kernel is built without griddepcontrol (kiln_cuda_gemm_sm90_streamk.cuh).
  Launch<Device, KILN_PDL != 0 && !G::kStreamK>(what, args, stream, scratch, scratch_bytes);
}

}  // namespace kiln_cuda::sm90

#endif  // KILN_CUDA_GEMM_SM90_CUH_
