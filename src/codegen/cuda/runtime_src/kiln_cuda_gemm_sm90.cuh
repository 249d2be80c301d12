// Hopper GEMM glue for generated cuda-sm90 kernels (namespace kiln_cuda::sm90): CUTLASS 3.x TMA
// warp-specialized kernels assembled with the collective builders, and the epilogue steps of
// kiln's gemm (alpha, beta * c, bias, residual add, activations, scale, cast) as nodes of a CUTLASS
// epilogue visitor tree (EVT) that runs on the accumulators before the single store of D.
//
// A generated kernel (src/codegen/cuda/gemm_sm90.cc) spells out the tree, one node per IR step:
//
//   using Tile = cute::Shape<cute::_128, cute::_256, cute::_64>;
//   using E0 = kiln_cuda::sm90::Acc;                                  // alpha * acc, f32
//   using E1 = kiln_cuda::sm90::Node<kiln_cuda::sm90::Plus, float, E0, kiln_cuda::sm90::Bias<cutlass::half_t, Tile>>;
//   using E2 = kiln_cuda::sm90::Node<kiln_cuda::sm90::Gelu, cutlass::half_t, E1>;   // root: D's type
//   using Gemm = kiln_cuda::sm90::Gemm<..., Tile, Cluster, ..., E2>;
//   typename E2::Arguments ep{{{}, {bias_ptr}, {}}, {}};   // children first, then the node's own
//
// and calls kiln_cuda::sm90::Run<Gemm>(...). Every compute node works in f32; the root converts
// to D's type (round to nearest). Functors follow the reference ops (kiln_scalar.h): gelu is the
// erf form, gelu_tanh the tanh approximation, silu x * sigmoid(x).
//
// Preconditions of Run (checked by the emitter from static shapes, by Run for pointers): 16-byte
// aligned base pointers, and contiguous extents and batch strides that are multiples of 16 bytes
// (TMA); batch strides may be 0 (an operand shared by every batch).
#ifndef KILN_CUDA_GEMM_SM90_CUH_
#define KILN_CUDA_GEMM_SM90_CUH_

#include <cstdint>

#include "cute/tensor.hpp"
#include "cutlass/cutlass.h"
#include "cutlass/epilogue/collective/collective_builder.hpp"
#include "cutlass/epilogue/fusion/sm90_callbacks_tma_warpspecialized.hpp"
#include "cutlass/gemm/collective/collective_builder.hpp"
#include "cutlass/gemm/device/gemm_universal_adapter.h"
#include "cutlass/gemm/kernel/gemm_universal.hpp"
#include "kiln_cuda.cuh"

namespace kiln_cuda::sm90 {

// ---------------------------------------------------------------------------- epilogue functors
// Compute functors of Sm90Compute: instantiated with cutlass::Array<float, N> on the device (and
// with float on the host, where only their Arguments type is read). Those with an Arguments type
// get the node's runtime arguments as the last call argument.

template <class T, class F>
CUTLASS_HOST_DEVICE T Map(T const& x, F f) {
  if constexpr (cute::is_same_v<T, float>) {
    return f(x);
  } else {
    T y;
    CUTLASS_PRAGMA_UNROLL
    for (int i = 0; i < T::kElements; ++i) y[i] = f(x[i]);
    return y;
  }
}

template <class T, class F>
CUTLASS_HOST_DEVICE T Map2(T const& a, T const& b, F f) {
  if constexpr (cute::is_same_v<T, float>) {
    return f(a, b);
  } else {
    T y;
    CUTLASS_PRAGMA_UNROLL
    for (int i = 0; i < T::kElements; ++i) y[i] = f(a[i], b[i]);
    return y;
  }
}

/// x * factor (alpha, scale steps).
struct FactorArgs {
  float factor = 1.f;
};
template <class T>
struct Mul {
  using Arguments = FactorArgs;
  CUTLASS_HOST_DEVICE T operator()(T const& x, Arguments const& a) const {
    return Map(x, [&](float v) { return v * a.factor; });
  }
};

/// x + y (bias, residual add).
template <class T>
struct Plus {
  CUTLASS_HOST_DEVICE T operator()(T const& x, T const& y) const { return Map2(x, y, [](float a, float b) { return a + b; }); }
};

/// x + factor * y (the beta * c of the gemm).
template <class T>
struct PlusScaled {
  using Arguments = FactorArgs;
  CUTLASS_HOST_DEVICE T operator()(T const& x, T const& y, Arguments const& a) const {
    return Map2(x, y, [&](float u, float v) { return u + a.factor * v; });
  }
};

#define KILN_SM90_UNARY(NAME, EXPR)                                                   \
  template <class T>                                                                  \
  struct NAME {                                                                       \
    CUTLASS_HOST_DEVICE T operator()(T const& x) const {                              \
      return Map(x, [](float v) { return EXPR; });                                    \
    }                                                                                 \
  };
KILN_SM90_UNARY(Identity, v)
KILN_SM90_UNARY(Relu, kiln_scalar::Relu(v))
KILN_SM90_UNARY(Gelu, kiln_scalar::Gelu(v))
KILN_SM90_UNARY(GeluTanh, kiln_scalar::GeluTanh(v))
KILN_SM90_UNARY(Silu, v * kiln_scalar::Sigmoid(v))
KILN_SM90_UNARY(Sigmoid, kiln_scalar::Sigmoid(v))
KILN_SM90_UNARY(Tanh, tanhf(v))
#undef KILN_SM90_UNARY

// ------------------------------------------------------------------------------- tree nodes

/// The accumulators (f32) of the output element.
using Acc = cutlass::epilogue::fusion::Sm90AccFetch;
/// The source operand C (the gemm's c, or a residual add), loaded by TMA alongside the tile.
template <class ElementC>
using Source = cutlass::epilogue::fusion::Sm90SrcFetch<ElementC>;
/// A bias vector of N elements broadcast over the rows (and batches) of the output.
template <class Element, class Tile>
using Bias = cutlass::epilogue::fusion::Sm90RowBroadcast<0, Tile, Element, float, cute::Stride<cute::_0, cute::_1, cute::_0>>;
/// Fn applied to the children's values (converted to f32), producing ElementOut.
template <template <class> class Fn, class ElementOut, class... Children>
using Node = cutlass::epilogue::fusion::Sm90EVT<
    cutlass::epilogue::fusion::Sm90Compute<Fn, ElementOut, float, cutlass::FloatRoundStyle::round_to_nearest>,
    Children...>;

// ------------------------------------------------------------------------------------ kernels

/// The CUTLASS 3.x GEMM of A (LayoutA: RowMajor = K contiguous) times B (LayoutB: RowMajor = N
/// contiguous), f32 accumulation, source C (void: none) and D row-major, epilogue tree Fusion.
/// Stages: "auto" when Stages == 0 (what shared memory holds after the epilogue's share).
template <class ElementA, class LayoutA, class ElementB, class LayoutB, class ElementC, class ElementD,
          class TileShape, class ClusterShape, int Stages, class KernelSchedule, class EpilogueSchedule,
          class Fusion>
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
                                                      CollectiveEpilogue>;
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

inline bool Aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

/// SMs of the current device, queried once (CUTLASS sizes the persistent grid with it).
inline int SmCount() {
  static int sms = [] {
    int device = 0, n = 0;
    cudaGetDevice(&device);
    cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device);
    return n;
  }();
  return sms;
}

/// Enqueues D = Fusion(A @ B, C) for `l` batches of M x N x K on `stream`. `ldX`/`batch_X` are in
/// elements; c may be null when G::ElementC is void. Failures (CUTLASS refusing the problem, a
/// misaligned pointer) are reported through kiln_rt::DeviceReportError with `what`.
template <class G>
void Run(const char* what, int64_t m, int64_t n, int64_t k, int64_t l, const void* a, int64_t lda, int64_t batch_a,
         const void* b, int64_t ldb, int64_t batch_b, const void* c, int64_t ldc, int64_t batch_c, void* d,
         int64_t ldd, int64_t batch_d, typename G::CollectiveEpilogue::FusionCallbacks::Arguments const& fusion,
         void* stream) {
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
  Device op;
  cutlass::Status status = op.can_implement(args);
  if (status != cutlass::Status::kSuccess) {
    kiln_rt::DeviceReportError(what, cutlass::cutlassGetStatusString(status));
    return;
  }
  if (Device::get_workspace_size(args) != 0) {
    kiln_rt::DeviceReportError(what, "the sm90 gemm kernel asks for a workspace, which kiln does not provide");
    return;
  }
  status = op.run(args, nullptr, static_cast<cudaStream_t>(stream));
  if (status != cutlass::Status::kSuccess) kiln_rt::DeviceReportError(what, cutlass::cutlassGetStatusString(status));
}

}  // namespace kiln_cuda::sm90

#endif  // KILN_CUDA_GEMM_SM90_CUH_
