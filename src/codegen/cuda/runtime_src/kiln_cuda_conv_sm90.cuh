// Hopper convolution glue for generated cuda-sm90 kernels (namespace kiln_cuda::sm90): a CUTLASS
// 3.x implicit-GEMM forward convolution (TMA im2col loads of the NHWC activation, TMA tiled loads of
// the KRSC filter, wgmma, warp-specialized producer/consumer) whose epilogue is the same visitor
// tree as the gemm's (kiln_cuda_gemm_sm90.cuh): bias per output channel, residual add as the
// source operand C, activations, the output cast.
//
// The implicit GEMM: M = N*P*Q output pixels, N = K output channels, K = R*S*C filter taps; the
// epilogue sees M as the nested mode (Q, P, N) with the NHWC strides of the output.
//
// Preconditions (checked by the emitter, src/codegen/cuda/conv.cc, from static shapes; by RunConv
// for pointers): NHWC activation and output, KRSC filter, groups 1, C and K multiples of 8 (16
// bytes of f16/bf16, what TMA moves), pads <= 256, 16-byte aligned base pointers.
#ifndef KILN_CUDA_CONV_SM90_CUH_
#define KILN_CUDA_CONV_SM90_CUH_

// clang-format off: cute before CUTLASS's conv headers, which use it without including it
#include "kiln_cuda_epilogue_sm90.cuh"
#include "cutlass/conv/collective/collective_builder.hpp"
#include "cutlass/conv/convnd_problem_shape.hpp"
#include "cutlass/conv/device/conv_universal_adapter.hpp"
#include "cutlass/conv/kernel/conv_universal.hpp"
// clang-format on

namespace kiln_cuda::sm90 {

/// The CUTLASS 3.x forward convolution of an NHWC `Element` activation with a KRSC filter, f32
/// accumulation, source C (void: none) and D NHWC, epilogue tree Fusion. Tile: (M, N, K) with K
/// wrapped as CUTLASS's conv builder wants it (cute::Shape<_128, _128, cute::Shape<_64>>).
/// Non-persistent warp-specialized kernel (the only sm90 conv schedule CUTLASS 4.2 has), so a
/// CTA's prologue (the first loads) and epilogue leave the tensor cores idle unless another CTA
/// on the SM is in its mainloop: kCtasPerSm 1 gives every byte of shared memory to pipeline
/// stages (CUTLASS's auto carveout: 9 stages of a 128x64x64 tile, as many as a 3x3 conv of 64
/// channels has k-blocks); 2 or 3 size the stages so that that many CTAs fit on an SM. Whether
/// they do also depends on registers: 256 threads x 2 CTAs leave 128 per thread, enough for up
/// to 64 accumulators per thread (tiles up to 128x64; the candidates, conv_config.cc, stop there).
template <class Element, class ElementC, class ElementD, class TileShape, class ClusterShape, class Fusion,
          int kCtasPerSm = 1>
struct Conv {
  static constexpr int kAlign = 16 / sizeof(Element);
  static constexpr int kAlignD = 16 / sizeof(ElementD);
  static constexpr int kAlignC = cute::is_void_v<ElementC> ? kAlignD : 16 / sizeof(cute::conditional_t<cute::is_void_v<ElementC>, ElementD, ElementC>);
  using Layout = cutlass::layout::TensorNHWC;

  using CollectiveEpilogue = typename cutlass::epilogue::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, TileShape, ClusterShape,
      cutlass::epilogue::collective::EpilogueTileAuto, float, float, ElementC, Layout, kAlignC, ElementD, Layout,
      kAlignD, cutlass::epilogue::TmaWarpSpecialized, Fusion>::CollectiveOp;
  // The shared memory not given to stages: the epilogue's (kCtasPerSm 1, as before), else all but
  // this CTA's share of the SM (228 KB, of which each CTA's 1 KB is the system's). The kernel's
  // epilogue storage is a union with the stages' (it runs after the mainloop), so the share bounds
  // the stages plus their barriers.
  static_assert(kCtasPerSm >= 1 && kCtasPerSm <= 3, "1, 2 or 3 CTAs per SM");
  static constexpr int kSmemPerSm = 228 * 1024, kSmemPerCtaMax = 227 * 1024;
  static constexpr int kCarveoutBytes = kCtasPerSm == 1
      ? static_cast<int>(sizeof(typename CollectiveEpilogue::SharedStorage))
      : kSmemPerCtaMax - (kSmemPerSm / kCtasPerSm - 1024);
  using CollectiveMainloop = typename cutlass::conv::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, cutlass::conv::Operator::kFprop, Element, Layout, kAlign,
      Element, Layout, kAlign, float, TileShape, ClusterShape,
      cutlass::conv::collective::StageCountAutoCarveout<kCarveoutBytes>,
      cutlass::conv::KernelImplicitTmaWarpSpecializedSm90>::CollectiveOp;
  using ProblemShape = cutlass::conv::ConvProblemShape<cutlass::conv::Operator::kFprop, 2>;
  using Kernel = cutlass::conv::kernel::ConvUniversal<ProblemShape, CollectiveMainloop, CollectiveEpilogue>;
  using Device = cutlass::conv::device::ConvUniversalAdapter<Kernel>;
  using StrideC = typename Kernel::StrideC;
  using StrideD = typename Kernel::StrideD;
  using ElementCOrD = cute::conditional_t<cute::is_void_v<ElementC>, ElementD, ElementC>;
  static_assert(kCtasPerSm == 1 || sizeof(typename Kernel::SharedStorage) + 1024 <= kSmemPerSm / kCtasPerSm,
                "the stages leave no room for the CTAs per SM asked for");
  static_assert(CollectiveMainloop::DispatchPolicy::Stages >= 2, "a tile too large for the CTAs per SM asked for");
};

/// The epilogue's (M, N, L) stride of an NHWC tensor of the output's shape: M = (Q, P, N).
template <class Stride>
Stride OutputStride(const ConvGeometry& g) {
  Stride s{};
  cute::get<0, 0>(s) = g.k;
  cute::get<0, 1>(s) = g.q * g.k;
  cute::get<0, 2>(s) = g.p * g.q * g.k;
  return s;
}

/// Enqueues d = Fusion(conv2d(x, w), c) on `stream`; c (a residual of the output's shape) may be
/// null when C::ElementC is void. Failures are reported through kiln_rt::DeviceReportError.
template <class C>
void RunConv(const char* what, const ConvGeometry& g, const void* x, const void* w, const void* c, void* d,
             typename C::CollectiveEpilogue::FusionCallbacks::Arguments const& fusion, void* stream) {
  using Device = typename C::Device;
  if (g.n <= 0) return;
  if (g.n * g.p * g.q > INT32_MAX || g.n * g.h * g.w * g.c > INT32_MAX * int64_t{8}) {
    kiln_rt::DeviceReportError(what, "the convolution is too large for CUTLASS's int problem shape");
    return;
  }
  if (!Aligned16(x) || !Aligned16(w) || !Aligned16(d) || (c != nullptr && !Aligned16(c))) {
    kiln_rt::DeviceReportError(what, "an operand pointer is not 16-byte aligned (TMA needs it)");
    return;
  }
  typename C::ProblemShape problem(
      cutlass::conv::Mode::kCrossCorrelation,
      {static_cast<int>(g.n), static_cast<int>(g.h), static_cast<int>(g.w), static_cast<int>(g.c)},
      {static_cast<int>(g.k), static_cast<int>(g.r), static_cast<int>(g.s), static_cast<int>(g.c)},
      {g.pad_h, g.pad_w}, {g.pad_h_end, g.pad_w_end}, {g.stride_h, g.stride_w}, {g.dilation_h, g.dilation_w},
      1);
  cutlass::KernelHardwareInfo hw;
  cudaGetDevice(&hw.device_id);
  hw.sm_count = SmCount();
  typename Device::Arguments args{
      problem,
      {static_cast<const typename C::CollectiveMainloop::ElementA*>(x),
       static_cast<const typename C::CollectiveMainloop::ElementB*>(w)},
      {fusion, static_cast<const typename C::ElementCOrD*>(c), OutputStride<typename C::StrideC>(g),
       static_cast<typename C::CollectiveEpilogue::ElementD*>(d), OutputStride<typename C::StrideD>(g)},
      hw};
  Launch<Device>(what, args, stream);
}

}  // namespace kiln_cuda::sm90

#endif  // KILN_CUDA_CONV_SM90_CUH_
