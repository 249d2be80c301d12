// kiln_cuda: the Hopper flash-attention kernel (sm90a only), for f16 / bf16 and head dims 64 and
// 128 (d, dv <= kD, multiples of 8), included by generated kernels whose tiling is "wgmma"
// (src/codegen/cuda/attention.cc). Same semantics and arguments as kiln_cuda_attention.cuh's
// FlashAttentionKernel (AttentionArgs; BSHD, grouped-query heads, additive mask, causal).
//
// One CTA of kWG warp groups (128 kWG threads) per (64 kWG query rows, head, batch entry); each
// warp group owns 64 rows. Both products are warp-group MMAs (wgmma, CuTe's SM90 GMMA atoms): S = Q K^T with
// Q and K in shared memory (K-major, 128-byte swizzle), O += P V with P in registers (the S
// accumulators rounded to the input dtype: their register layout is the A operand's) and V in
// shared memory as an MN-major operand. K and V tiles of kBlockN keys are double-buffered: the
// cp.async loads of tile t+1 run while tile t is multiplied. The online softmax works on the
// accumulators in registers as in the mma.sync kernel (log2 units, ex2.approx); a thread holds
// rows r and r+8 of its warp's 16 and, per 8-key block j, keys 8j + 2 (lane % 4) + {0, 1}
// (CuTe's CLayout_64xN), so row statistics are quad shuffles.
#ifndef KILN_CUDA_ATTENTION_SM90_CUH_
#define KILN_CUDA_ATTENTION_SM90_CUH_

#include <cstdint>
#include <type_traits>

#include "cute/arch/mma_sm90.hpp"
#include "cute/atom/mma_traits_sm90_gmma.hpp"
#include "cute/tensor.hpp"
#include "cutlass/arch/barrier.h"
#include "cutlass/bfloat16.h"
#include "cutlass/half.h"
#include "kiln_cuda_attention.cuh"

namespace kiln_cuda {
namespace attn90 {

using mma::CpAsync16;
using mma::CpAsyncCommit;
using mma::CpAsyncWait;
using mma::CpAsyncWaitAll;
using mma::SmemAddr;

template <bool kBF16, int kD, int kWG, int kBlockN>
struct Sm90Flash {
  static_assert(kD == 64 || kD == 128, "head dims 64 and 128");
  static_assert((kWG == 1 || kWG == 2) && (kBlockN == 64 || kBlockN == 128), "tiling");
  using T = std::conditional_t<kBF16, cutlass::bfloat16_t, cutlass::half_t>;
  static constexpr int kBlockM = 64 * kWG;  // kWG warp groups of 64 query rows
  static constexpr int kThreads = 128 * kWG;
  // K and V stages: tile t is multiplied (S = Q K_t^T) while tile t-1's P V_{t-1} still runs and
  // tile t+1 loads.
  static constexpr int kStages = 3;
  using SmemQ = decltype(cute::tile_to_shape(cute::GMMA::Layout_K_SW128_Atom<T>{},
                                             cute::Shape<cute::Int<kBlockM>, cute::Int<kD>>{}));
  using SmemK = decltype(cute::tile_to_shape(
      cute::GMMA::Layout_K_SW128_Atom<T>{},
      cute::Shape<cute::Int<kBlockN>, cute::Int<kD>, cute::Int<kStages>>{}));
  // V as the B operand of P V: (N = dv, K = keys), dv contiguous (MN-major).
  using SmemVt = decltype(cute::tile_to_shape(
      cute::GMMA::Layout_MN_SW128_Atom<T>{},
      cute::Shape<cute::Int<kD>, cute::Int<kBlockN>, cute::Int<kStages>>{}));
  using MmaS = decltype(cute::make_tiled_mma(
      cute::GMMA::ss_op_selector<T, T, float, cute::Shape<cute::_64, cute::Int<kBlockN>, cute::_16>,
                                 cute::GMMA::Major::K, cute::GMMA::Major::K>(),
      cute::Layout<cute::Shape<cute::Int<kWG>, cute::_1, cute::_1>>{}));
  using MmaO = decltype(cute::make_tiled_mma(
      cute::GMMA::rs_op_selector<T, T, float, cute::Shape<cute::_64, cute::Int<kD>, cute::_16>,
                                 cute::GMMA::Major::K, cute::GMMA::Major::MN>(),
      cute::Layout<cute::Shape<cute::Int<kWG>, cute::_1, cute::_1>>{}));
  static constexpr int kQElems = cute::cosize_v<SmemQ>;
  static constexpr int kKElems = cute::cosize_v<SmemK>;
  static constexpr int kVElems = cute::cosize_v<SmemVt>;
  // Q and the K and V stages, 1024-byte aligned (the swizzle is on address bits 4..9).
  static constexpr int kSmemBytes = 2 * (kQElems + kKElems + kVElems) + 1024;
  static_assert(kSmemBytes <= 227 * 1024, "shared memory of one sm90 CTA");
};

/// Loads rows [row0, row0 + kRows) of a [rows, cols] b16 matrix (row stride `stride`) into a
/// CuTe smem tensor `s` addressed s(row, col) (`kTransposed`: s(col, row)); rows >= rows and
/// columns >= cols are zero-filled. Each thread moves one 16-byte column chunk of every kStep-th
/// row: its shared-memory address is computed once and advances by a constant per pass, since a
/// pass moves whole 8-row (128-byte swizzle) atoms and the swizzle repeats per atom (the identity
/// is checked for every tile of the kernel by tests/kernels/attention_sm90_layout_check.cu).
template <int kRows, int kCols, bool kTransposed, int kThreads, class Smem>
__device__ __forceinline__ void LoadTile(Smem&& s, const uint16_t* src, int64_t stride, int row0,
                                         int rows, int cols) {
  constexpr int kChunks = kCols / 8;
  constexpr int kStep = kThreads / kChunks;  // rows per pass
  static_assert(kThreads % kChunks == 0 && kRows % kStep == 0 && kStep % 8 == 0,
                "whole passes of whole swizzle atoms");
  const int r = static_cast<int>(threadIdx.x) / kChunks, col = static_cast<int>(threadIdx.x) % kChunks * 8;
  auto at = [&](int row, int c) { return kTransposed ? &s(c, row) : &s(row, c); };
  const auto* to = at(r, col);
  const auto step = at(kStep, 0) - at(0, 0);  // elements per pass (a compile-time constant)
  const uint16_t* from = src + static_cast<int64_t>(row0 + r) * stride + col;
#pragma unroll
  for (int i = 0; i < kRows / kStep; ++i) {
    const bool valid = row0 + r + i * kStep < rows && col < cols;
    CpAsync16(SmemAddr(to + i * step), valid ? from + i * kStep * stride : src, valid);
  }
}

/// Issues C (+)= A B on the warp group's tensor cores as one wgmma batch and returns without
/// waiting (warpgroup_wait). A is a register fragment (kRegA: P) or smem descriptors (Q).
template <bool kZeroInit, bool kRegA, class Mma, class TA, class TB, class TC>
__device__ __forceinline__ void IssueGemm(Mma& mma, TA& a, const TB& b, TC& c) {
  using namespace cute;
  warpgroup_fence_operand(c);
  if constexpr (kRegA) warpgroup_fence_operand(a);
  warpgroup_arrive();
  mma.accumulate_ = kZeroInit ? GMMA::ScaleOut::Zero : GMMA::ScaleOut::One;
  CUTE_UNROLL
  for (int kb = 0; kb < size<2>(a); ++kb) {
    gemm(mma, a(_, _, kb), b(_, _, kb), c);
    mma.accumulate_ = GMMA::ScaleOut::One;
  }
  warpgroup_commit_batch();
  warpgroup_fence_operand(c);
  if constexpr (kRegA) warpgroup_fence_operand(a);
}

/// The online softmax of one thread's rows of a 64-row warp-group MMA accumulator (CuTe's
/// CLayout_64xN: the thread holds rows row_base and row_base + 8 and, per 8-key block j, keys
/// 8j + key_lane + {0, 1}; value i of its accumulators is row row_base + 8 ((i / 2) % 2), key
/// n0 + 8 (i / 4) + key_lane + i % 2), in log2 units with ex2.approx; row statistics are quad
/// shuffles. Shared by the sm90 kernels.
template <int kBlockN, bool kCausal, class MaskT, bool kHasMask>
struct RowSoftmax {
  using MaskStorage = typename MaskT::Storage;
  float row_max[2] = {-INFINITY, -INFINITY};  // log2 units
  float row_sum[2] = {0.f, 0.f};              // this thread's partial sums
  const MaskStorage* mask_rows[2] = {nullptr, nullptr};
  int mask_key_stride = 0;
  float scale_log2;
  int sk, m0, row_base, key_lane;

  /// m0: the first query row of the CTA (the causal edge test), row_base: this thread's first row.
  __device__ __forceinline__ RowSoftmax(const AttentionArgs& p, int64_t b, int h, int m0_, int row_base_, int lane)
      : scale_log2(p.scale * kLog2e), sk(static_cast<int>(p.sk)), m0(m0_), row_base(row_base_), key_lane(2 * (lane % 4)) {
    if constexpr (kHasMask) {
      const int sq = static_cast<int>(p.sq);
      const MaskStorage* mask =
          static_cast<const MaskStorage*>(p.mask) + b * p.mask_stride[0] + h * p.mask_stride[1];
      mask_key_stride = static_cast<int>(p.mask_stride[3]);
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const int row = row_base + 8 * r;
        mask_rows[r] = mask + static_cast<int64_t>(row < sq ? row : sq - 1) * p.mask_stride[2];
      }
    }
  }

  /// Key tile t's scores in s become P (unnormalised, f32, in place); corr: each row's factor for
  /// the output accumulated so far.
  template <class TS>
  __device__ __forceinline__ void Step(TS& s, int t, float (&corr)[2]) {
    const int n0 = t * kBlockN;
    const bool edge = n0 + kBlockN > sk || (kCausal && n0 + kBlockN - 1 > m0);
    CUTE_UNROLL
    for (int i = 0; i < cute::size(s); ++i) {
      float x = s(i) * scale_log2;
      const int r = (i / 2) % 2, key = n0 + 8 * (i / 4) + key_lane + i % 2;
      if constexpr (kHasMask) {
        if (key < sk) x += MaskT::Load(mask_rows[r][key * mask_key_stride]) * kLog2e;
      }
      if (edge && (key >= sk || (kCausal && key > row_base + 8 * r))) x = -INFINITY;
      s(i) = x;
    }
    CUTE_UNROLL
    for (int r = 0; r < 2; ++r) {
      float mx = row_max[r];
      CUTE_UNROLL
      for (int j = 0; j < kBlockN / 8; ++j) mx = fmaxf(mx, fmaxf(s(4 * j + 2 * r), s(4 * j + 2 * r + 1)));
      mx = attn::QuadMax(mx);
      const float base = mx == -INFINITY ? 0.f : mx;
      corr[r] = Exp2(row_max[r] - base);
      row_max[r] = mx;
      float sum = row_sum[r] * corr[r];
      CUTE_UNROLL
      for (int j = 0; j < kBlockN / 8; ++j) {
        s(4 * j + 2 * r) = Exp2(s(4 * j + 2 * r) - base);
        s(4 * j + 2 * r + 1) = Exp2(s(4 * j + 2 * r + 1) - base);
        sum += s(4 * j + 2 * r) + s(4 * j + 2 * r + 1);
      }
      row_sum[r] = sum;
    }
  }

  /// O / rowsum (0 for a row that saw no key) stored from the registers of o (column c of row
  /// r at value i: row row_base + 8 ((i / 2) % 2), column 8 (i / 4) + key_lane + i % 2) to rows
  /// go + row * o_stride, row < sq, columns < dv.
  template <bool kBF16, class TO>
  __device__ __forceinline__ void Store(const TO& o, uint16_t* go, int64_t o_stride, int sq, int dv) {
    float inv[2];
    CUTE_UNROLL
    for (int r = 0; r < 2; ++r) {
      const float sum = attn::QuadSum(row_sum[r]);
      inv[r] = sum > 0.f ? 1.f / sum : 0.f;
    }
    CUTE_UNROLL
    for (int i = 0; i < cute::size(o); i += 2) {
      const int r = (i / 2) % 2, row = row_base + 8 * r, col = 8 * (i / 4) + key_lane;
      if (row < sq && col < dv) {
        *reinterpret_cast<uint32_t*>(go + row * o_stride + col) =
            mma::PackTwo<kBF16>(o(i) * inv[r], o(i + 1) * inv[r]);
      }
    }
  }
};

template <bool kBF16, int kD, int kWG, int kBlockN, bool kCausal, class MaskT, bool kHasMask>
__global__ void __launch_bounds__(128 * kWG, 1) FlashSm90Kernel(const AttentionArgs p) {
  GridDependencyWait();
  using namespace cute;
  using F = Sm90Flash<kBF16, kD, kWG, kBlockN>;
  using T = typename F::T;
  constexpr int kBlockM = F::kBlockM, kThreads = F::kThreads, kStages = F::kStages;
  extern __shared__ uint8_t flash90_smem_raw[];
  T* smem = reinterpret_cast<T*>((reinterpret_cast<uintptr_t>(flash90_smem_raw) + 1023) & ~uintptr_t{1023});
  Tensor sQ = make_tensor(make_smem_ptr(smem), typename F::SmemQ{});
  Tensor sK = make_tensor(make_smem_ptr(smem + F::kQElems), typename F::SmemK{});
  Tensor sV = make_tensor(make_smem_ptr(smem + F::kQElems + F::kKElems), typename F::SmemVt{});

  const int sq = static_cast<int>(p.sq), sk = static_cast<int>(p.sk);
  const int m_block = kCausal ? static_cast<int>(gridDim.x - 1 - blockIdx.x) : static_cast<int>(blockIdx.x);
  const int h = blockIdx.y;
  const int64_t b = blockIdx.z;
  const int64_t hk = h / (p.heads / p.kv_heads);
  const int m0 = m_block * kBlockM;
  const int tid = threadIdx.x, lane = tid % 32;
  const int row_base = m0 + 16 * (tid / 32) + lane / 4;  // this thread's rows: + 0 and + 8
  const uint16_t* gq = static_cast<const uint16_t*>(p.q) + b * p.sq * p.q_row + h * p.d;
  const uint16_t* gk = static_cast<const uint16_t*>(p.k) + b * p.sk * p.k_row + hk * p.d;
  const uint16_t* gv = static_cast<const uint16_t*>(p.v) + b * p.sk * p.v_row + hk * p.dv;
  uint16_t* go = static_cast<uint16_t*>(p.out) + (b * p.sq * p.heads + h) * p.dv;
  const int64_t o_stride = p.heads * p.dv;

  int n_end = sk;
  if (kCausal && m0 + kBlockM < n_end) n_end = m0 + kBlockM;
  const int n_tiles = (n_end + kBlockN - 1) / kBlockN;

  auto load_kv = [&](int t) {
    const int stage = t % kStages;
    LoadTile<kBlockN, kD, false, kThreads>(sK(_, _, stage), gk, p.k_row, t * kBlockN, sk, p.d);
    LoadTile<kBlockN, kD, true, kThreads>(sV(_, _, stage), gv, p.v_row, t * kBlockN, sk, p.dv);
  };

  typename F::MmaS mma_s;
  typename F::MmaO mma_o;
  auto thr_s = mma_s.get_thread_slice(tid);
  auto thr_o = mma_o.get_thread_slice(tid);
  Tensor tSrQ = thr_s.make_fragment_A(thr_s.partition_A(sQ));
  Tensor tSrK = thr_s.make_fragment_B(thr_s.partition_B(sK));  // (mma, n, k, stage)
  Tensor tOrV = thr_o.make_fragment_B(thr_o.partition_B(sV));  // (mma, n, k, stage)
  Tensor tSrS = partition_fragment_C(mma_s, Shape<Int<kBlockM>, Int<kBlockN>>{});
  Tensor tOrO = partition_fragment_C(mma_o, Shape<Int<kBlockM>, Int<kD>>{});
  Tensor tOrP = make_tensor<T>(partition_shape_A(mma_o, Shape<Int<kBlockM>, Int<kBlockN>>{}));
  static_assert(decltype(size(tSrS))::value == 4 * (kBlockN / 8), "S: rows r, r+8 x 8-key blocks");
  static_assert(decltype(size(tOrP))::value == decltype(size(tSrS))::value, "P matches S");
  static_assert(decltype(size(tOrO))::value == 4 * (kD / 8), "O: rows r, r+8 x 8-column blocks");
  clear(tOrO);

  RowSoftmax<kBlockN, kCausal, MaskT, kHasMask> softmax(p, b, h, m0, row_base, lane);
  auto to_p = [&] {
    CUTE_UNROLL
    for (int i = 0; i < size(tSrS); ++i) tOrP(i) = static_cast<T>(tSrS(i));
  };

  // Prologue: Q and tile 0 (group 0), tile 1 (group 1); S_0 and its softmax.
  LoadTile<kBlockM, kD, false, kThreads>(sQ, gq, p.q_row, m0, sq, p.d);
  if (n_tiles > 0) load_kv(0);
  CpAsyncCommit();
  if (n_tiles > 1) load_kv(1);
  CpAsyncCommit();
  if (n_tiles > 0) {
    CpAsyncWait<1>();
    cutlass::arch::fence_view_async_shared();  // cp.async writes -> the wgmma (async proxy) reads
    __syncthreads();
    IssueGemm<true, false>(mma_s, tSrQ, tSrK(_, _, _, 0), tSrS);
    warpgroup_wait<0>();
    float corr[2];
    softmax.Step(tSrS, 0, corr);
    to_p();
  }
  // Tile t: S_t = Q K_t^T runs with P_{t-1} V_{t-1}; the softmax of S_t runs while P V does; then
  // the output is rescaled to S_t's row maxima.
  for (int t = 1; t < n_tiles; ++t) {
    CpAsyncWait<0>();  // tile t
    cutlass::arch::fence_view_async_shared();
    __syncthreads();  // ... loaded by everyone; everyone is done with tile t-2's stage
    if (t + 1 < n_tiles) load_kv(t + 1);
    CpAsyncCommit();
    IssueGemm<true, false>(mma_s, tSrQ, tSrK(_, _, _, t % kStages), tSrS);
    IssueGemm<false, true>(mma_o, tOrP, tOrV(_, _, _, (t - 1) % kStages), tOrO);
    warpgroup_wait<1>();  // S_t
    warpgroup_fence_operand(tSrS);
    float corr[2];
    softmax.Step(tSrS, t, corr);
    warpgroup_wait<0>();  // P_{t-1} V_{t-1}
    warpgroup_fence_operand(tOrO);
    warpgroup_fence_operand(tOrP);
    CUTE_UNROLL
    for (int i = 0; i < size(tOrO); ++i) tOrO(i) *= corr[(i / 2) % 2];
    to_p();
  }
  if (n_tiles > 0) {
    IssueGemm<false, true>(mma_o, tOrP, tOrV(_, _, _, (n_tiles - 1) % kStages), tOrO);
    warpgroup_wait<0>();
    warpgroup_fence_operand(tOrO);
  }
  CpAsyncWaitAll();

  softmax.template Store<kBF16>(tOrO, go, o_stride, sq, p.dv);
}

template <bool kBF16, int kD, int kWG, int kBlockN, bool kCausal, class MaskT, bool kHasMask>
void LaunchFlashSm90(const AttentionArgs& a, void* stream) {
  using F = Sm90Flash<kBF16, kD, kWG, kBlockN>;
  auto kernel = FlashSm90Kernel<kBF16, kD, kWG, kBlockN, kCausal, MaskT, kHasMask>;
  const cudaError_t attr =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, F::kSmemBytes);
  if (attr != cudaSuccess) {
    kiln_rt::DeviceReportError("attention: cudaFuncSetAttribute(shared memory)", cudaGetErrorString(attr));
    return;
  }
  const dim3 grid(static_cast<unsigned>((a.sq + F::kBlockM - 1) / F::kBlockM),
                  static_cast<unsigned>(a.heads), static_cast<unsigned>(a.batch));
  Launch(kernel, grid, F::kThreads, F::kSmemBytes, AsStream(stream), a);
}

}  // namespace attn90

namespace attn90 {
/// Whether the sm90 kernels take `a` with head dims padded to kD: d, dv <= kD and multiples of 8,
/// row strides multiples of 8 elements and 16-byte aligned tensors (cp.async / TMA), grid limits.
inline bool Fits(const AttentionArgs& a, int kD) {
  return a.d <= kD && a.dv <= kD && a.d % 8 == 0 && a.dv % 8 == 0 && a.q_row % 8 == 0 &&
         a.k_row % 8 == 0 && a.v_row % 8 == 0 && Aligned16(a.q) && Aligned16(a.k) &&
         Aligned16(a.v) && Aligned16(a.out) && a.heads <= 65535 && a.batch <= 65535 &&
         a.sq < (int64_t{1} << 30) && a.sk < (int64_t{1} << 30);
}
}  // namespace attn90

/// attention on `stream` by the sm90 kernel where it applies (d, dv <= kD, multiples of 8, row
/// strides multiples of 8, 16-byte aligned tensors), else the fallback. T: F16 or BF16; kWG warp
/// groups of 64 query rows per CTA, kBlockN keys per K / V tile.
template <class T, class MaskT, int kD, int kWG, int kBlockN, bool kCausal, bool kHasMask>
void AttentionSm90(const AttentionArgs& a, void* stream) {
  static_assert(std::is_same_v<T, F16> || std::is_same_v<T, BF16>, "the sm90 kernel is f16/bf16");
  if (a.batch <= 0 || a.sq <= 0 || a.heads <= 0 || a.dv <= 0) return;
  if (attn90::Fits(a, kD)) {
    attn90::LaunchFlashSm90<std::is_same_v<T, BF16>, kD, kWG, kBlockN, kCausal, MaskT, kHasMask>(a, stream);
  } else {
    AttentionFallback<T, MaskT, kCausal, kHasMask>(a, stream);
  }
}

}  // namespace kiln_cuda

#endif  // KILN_CUDA_ATTENTION_SM90_CUH_
