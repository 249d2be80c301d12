// Convolutions with few input channels and large filters for generated cuda-sm90 kernels
// (namespace kiln_cuda::fixed_channels_cutlass): those whose filters and input patch do not fit
// the shared memory of kiln's few-channel kernel (kiln_cuda_conv_fixed_channels.cuh), e.g. the
// 16x16 stride-16 patch embedding of a vision transformer. CUTLASS 2.x implicit GEMM (Ampere mma.sync mainloop with
// cp.async, which Hopper runs too) with the fixed-channels activation iterator: one access moves
// all C channels of one pixel (8 bytes for C = 4), so a K tile of 32 covers 8 filter taps. The
// Hopper TMA kernel (kiln_cuda_conv_sm90.cuh) needs C to be a multiple of 8 and then spends a
// whole k-block on 8 channels of one tap.
//
// The epilogue: D = act(acc + bias[k]) with the bias read as the source operand C with zero
// pixel strides (every pixel reads the same K values), act relu or identity. Other epilogues are
// a separate elementwise pass after this kernel (the emitter, src/codegen/cuda/conv.cc).
//
// Preconditions (checked by the emitter from static shapes, and by CUTLASS's can_implement at
// run time): NHWC activation and output, KRSC filter, groups 1, C == the access width
// (kChannels: 2, 4 or 8 halves), K a multiple of the output alignment, 16-byte aligned bases.
#ifndef KILN_CUDA_CONV_FIXED_CHANNELS_CUTLASS_CUH_
#define KILN_CUDA_CONV_FIXED_CHANNELS_CUTLASS_CUH_

#include <type_traits>

// clang-format off: the kernel headers first (the device adapter uses their problem-size helpers)
#include "cutlass/cutlass.h"
#include "cutlass/conv/kernel/default_conv2d_fprop.h"
#include "cutlass/conv/device/implicit_gemm_convolution.h"
// clang-format on
#include "cutlass/epilogue/thread/linear_combination.h"
#include "cutlass/epilogue/thread/linear_combination_relu.h"
#include "kiln_cuda.cuh"

namespace kiln_cuda::fixed_channels_cutlass {

/// The CUTLASS 2.x forward convolution of an NHWC `Element` activation of exactly kChannels
/// channels with a KRSC filter, f32 accumulation, NHWC `ElementD` output of alignment kAlignD,
/// epilogue act(acc + C) (kRelu: relu, else identity). Tile (M, N, K) with warps of
/// (M/2, N/2, K): four warps.
template <class Element, class ElementD, int kChannels, int kAlignD, bool kRelu, int kTileM, int kTileN,
          int kTileK, int kStages>
struct Conv {
  using Layout = cutlass::layout::TensorNHWC;
  using Epilogue = std::conditional_t<
      kRelu, cutlass::epilogue::thread::LinearCombinationRelu<ElementD, kAlignD, float, float>,
      cutlass::epilogue::thread::LinearCombination<ElementD, kAlignD, float, float>>;
  using Kernel = typename cutlass::conv::kernel::DefaultConv2dFprop<
      Element, Layout, Element, Layout, ElementD, Layout, float, cutlass::arch::OpClassTensorOp,
      cutlass::arch::Sm80, cutlass::gemm::GemmShape<kTileM, kTileN, kTileK>,
      cutlass::gemm::GemmShape<kTileM / 2, kTileN / 2, kTileK>, cutlass::gemm::GemmShape<16, 8, 16>, Epilogue,
      cutlass::gemm::threadblock::GemmIdentityThreadblockSwizzle<>, kStages, cutlass::arch::OpMultiplyAdd,
      cutlass::conv::IteratorAlgorithm::kFixedChannels, cutlass::conv::StrideSupport::kStrided, kChannels,
      kChannels>::Kernel;
  using Device = cutlass::conv::device::ImplicitGemmConvolution<Kernel>;
};

/// Enqueues d = act(conv2d(x, w) + bias) on `stream` (bias: K values, or null for none).
/// Failures are reported through kiln_rt::DeviceReportError.
template <class C>
void RunConv(const char* what, const ConvGeometry& g, const void* x, const void* w, const void* bias, void* d,
             void* stream) {
  using Device = typename C::Device;
  using ElementA = typename Device::ElementA;
  using ElementC = typename Device::ElementC;
  using Layout = typename C::Layout;
  if (g.n <= 0) return;
  if (g.n * g.h * g.w * g.c > INT32_MAX || g.n * g.p * g.q * g.k > INT32_MAX) {
    kiln_rt::DeviceReportError(what, "the convolution is too large for CUTLASS's int problem shape");
    return;
  }
  cutlass::conv::Conv2dProblemSize problem(
      static_cast<int>(g.n), static_cast<int>(g.h), static_cast<int>(g.w), static_cast<int>(g.c),
      static_cast<int>(g.k), static_cast<int>(g.r), static_cast<int>(g.s), static_cast<int>(g.p),
      static_cast<int>(g.q), g.pad_h, g.pad_w, g.stride_h, g.stride_w, g.dilation_h, g.dilation_w,
      cutlass::conv::Mode::kCrossCorrelation);
  const Layout lx = Layout::packed({static_cast<int>(g.n), static_cast<int>(g.h), static_cast<int>(g.w), static_cast<int>(g.c)});
  const Layout lw = Layout::packed({static_cast<int>(g.k), static_cast<int>(g.r), static_cast<int>(g.s), static_cast<int>(g.c)});
  const Layout ld = Layout::packed({static_cast<int>(g.n), static_cast<int>(g.p), static_cast<int>(g.q), static_cast<int>(g.k)});
  auto* out = static_cast<ElementC*>(d);
  // The bias as C: zero W, H and N strides, so pixel (n, p, q) channel k reads bias[k].
  const cutlass::TensorRef<ElementC, Layout> c =
      bias != nullptr ? cutlass::TensorRef<ElementC, Layout>(static_cast<ElementC*>(const_cast<void*>(bias)),
                                                             Layout(typename Layout::Stride(0)))
                      : cutlass::TensorRef<ElementC, Layout>(out, ld);
  typename Device::Arguments args(problem, {static_cast<ElementA*>(const_cast<void*>(x)), lx},
                                  {static_cast<ElementA*>(const_cast<void*>(w)), lw}, c, {out, ld},
                                  {1.0f, bias != nullptr ? 1.0f : 0.0f});
  Device op;
  cutlass::Status status = op.can_implement(args);
  if (status == cutlass::Status::kSuccess && Device::get_workspace_size(args) != 0) {
    kiln_rt::DeviceReportError(what, "the CUTLASS kernel asks for a workspace, which kiln does not provide");
    return;
  }
  if (status == cutlass::Status::kSuccess) status = op(args, nullptr, static_cast<cudaStream_t>(stream));
  if (status != cutlass::Status::kSuccess) kiln_rt::DeviceReportError(what, cutlass::cutlassGetStatusString(status));
}

}  // namespace kiln_cuda::fixed_channels_cutlass

#endif  // KILN_CUDA_CONV_FIXED_CHANNELS_CUTLASS_CUH_
