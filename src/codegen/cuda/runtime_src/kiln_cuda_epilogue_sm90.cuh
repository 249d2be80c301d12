// The epilogue visitor tree (EVT) pieces of kiln's Hopper kernels (namespace kiln_cuda::sm90),
// shared by the CUTLASS 3.x gemm (kiln_cuda_gemm_sm90.cuh) and conv (kiln_cuda_conv_sm90.cuh):
// the epilogue steps (alpha, beta * c, bias, residual add, activations, scale, cast) as compute
// nodes that run on the f32 accumulators before the single store of D, and the leaves they read
// (the accumulators, the source operand C, a bias row). A generated kernel spells the tree out,
// one node per IR step (src/codegen/cuda/epilogue_sm90.cc):
//
//   using Tile = cute::Shape<cute::_128, cute::_256, cute::_64>;
//   using E0 = kiln_cuda::sm90::Acc;                                  // the f32 accumulators
//   using E1 = kiln_cuda::sm90::Node<kiln_cuda::sm90::Plus, float, E0, kiln_cuda::sm90::Bias<cutlass::half_t, Tile>>;
//   using E2 = kiln_cuda::sm90::Node<kiln_cuda::sm90::Gelu, cutlass::half_t, E1>;   // root: D's type
//   typename E2::Arguments ep{{{}, {bias_ptr}, {}}, {}};   // children first, then the node's own
//
// Every compute node works in f32; the root converts to D's type (round to nearest). Functors
// follow the reference ops (kiln_scalar.h): gelu is the erf form, gelu_tanh the tanh
// approximation, silu x * sigmoid(x); a tree whose output is 16-bit computes both GELUs with one
// tanh.approx (Gelu16 below: errors about the output's own rounding, at half the epilogue's cost).
//
// Launch at the end is the checked launch both kernels end with. Kept apart from the gemm header
// on purpose: CUTLASS's gemm device adapter pulls in the 2.x
// GemmUniversal, whose partial specialization also matches the conv kernel's problem shape.
#ifndef KILN_CUDA_EPILOGUE_SM90_CUH_
#define KILN_CUDA_EPILOGUE_SM90_CUH_

#include <cmath>
#include <cstdint>

#include "cute/tensor.hpp"
#include "cutlass/cutlass.h"
#include "cutlass/epilogue/collective/collective_builder.hpp"
#include "cutlass/epilogue/fusion/sm90_callbacks_tma_warpspecialized.hpp"
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
/// tanh by the one-instruction tanh.approx.f32 on the device (relative error <= 2^-11, PTX ISA),
/// std::tanh on the host.
CUTLASS_HOST_DEVICE float TanhApprox(float u) {
#if defined(__CUDA_ARCH__)
  float t;
  asm("tanh.approx.f32 %0, %1;" : "=f"(t) : "f"(u));
  return t;
#else
  return std::tanh(u);
#endif
}

/// GELU (the erf form) for trees whose output D is f16 or bf16 (EmitEpilogueTree picks it):
/// 0.5 x (1 + tanh(x (a + b x^2))) with a, b fitted to x * Phi(x) (max |error| of the fit 2.7e-4
/// over [-10, 10]; the classic 0.79788 / 0.035677 of gelu_tanh give 4.7e-4) and TanhApprox, so
/// |error| stays near 1e-3 at worst, about the rounding of a 16-bit output of magnitude 1
/// (measured: CudaGemmTest.GeluEpilogueAccuracy). One MUFU op and five FP instructions against
/// kiln_scalar::Gelu's two and twelve: the multi-function unit takes a warp instruction every 8
/// cycles per SM sub-partition, so the accurate form costs a gemm epilogue twice the time.
CUTLASS_HOST_DEVICE float Gelu16(float x) {
  const float h = 0.5f * x;
  return fmaf(h, TanhApprox(x * fmaf(x * x, 0.03470089f, 0.80015708f)), h);
}
/// gelu_tanh (0.5 x (1 + tanh(0.79788 (x + 0.044715 x^3)))) with TanhApprox, for 16-bit D.
CUTLASS_HOST_DEVICE float GeluTanh16(float x) {
  const float h = 0.5f * x;
  return fmaf(h, TanhApprox(x * fmaf(x * x, 0.0356774081363001f, 0.79788456080286535588f)), h);
}

KILN_SM90_UNARY(Identity, v)
KILN_SM90_UNARY(Relu, kiln_scalar::Relu(v))
KILN_SM90_UNARY(Gelu, kiln_scalar::Gelu(v))
KILN_SM90_UNARY(GeluTanh, kiln_scalar::GeluTanh(v))
KILN_SM90_UNARY(GeluFor16BitOutput, Gelu16(v))
KILN_SM90_UNARY(GeluTanhFor16BitOutput, GeluTanh16(v))
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

inline bool Aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

/// Checks `args` with the CUTLASS 3.x device operator Device (can_implement, and a workspace of at
/// most `workspace_bytes`: kernel scratch, which only stream-K gemms get) and enqueues it on
/// `stream` (CUTLASS first clears what of the workspace must start zeroed); a refusal or launch
/// failure is reported through kiln_rt::DeviceReportError with `what`. The last step of the gemm
/// and conv kernels. kPdl: a programmatic dependent launch (KILN_PDL, see kiln_cuda.cuh), for
/// kernels that wait on griddepcontrol (CUTLASS's sm90 gemms under CUTLASS_ENABLE_GDC_FOR_SM90;
/// its sm90 convs do not).
template <class Device, bool kPdl = false>
void Launch(const char* what, typename Device::Arguments const& args, void* stream,
            void* workspace = nullptr, int64_t workspace_bytes = 0) {
  Device op;
  cutlass::Status status = op.can_implement(args);
  if (status != cutlass::Status::kSuccess) {
    kiln_rt::DeviceReportError(what, cutlass::cutlassGetStatusString(status));
    return;
  }
  if (static_cast<int64_t>(Device::get_workspace_size(args)) > workspace_bytes) {
    kiln_rt::DeviceReportError(what, "the CUTLASS kernel asks for more workspace than kiln reserved for it");
    return;
  }
  if constexpr (kPdl) {
    status = op.run(args, workspace, static_cast<cudaStream_t>(stream), nullptr,
                    /*launch_with_pdl=*/true);
  } else {
    status = op.run(args, workspace, static_cast<cudaStream_t>(stream));
  }
  if (status != cutlass::Status::kSuccess) kiln_rt::DeviceReportError(what, cutlass::cutlassGetStatusString(status));
}

}  // namespace kiln_cuda::sm90

#endif  // KILN_CUDA_EPILOGUE_SM90_CUH_
