// kiln_cuda: the warp-specialized Hopper flash-attention kernel (sm90a only), for f16 / bf16 and
// head dims 64 and 128 (d, dv <= kD), included by generated kernels whose tiling is "wgmma-ws"
// (src/codegen/cuda/attention.cc). Same semantics and arguments as FlashSm90Kernel
// (kiln_cuda_attention_sm90.cuh): BSHD, grouped-query heads, additive mask, causal.
//
// A persistent grid of one CTA per SM (three warp groups each) walks the work tiles (128 query
// rows of one head and batch entry) round-robin. Warp group 0 is the producer: one thread issues
// TMA loads of each tile's Q and of every K and V tile of kBlockN keys into kStages-deep rings,
// each stage guarded by a full barrier (the TMA's bytes landed) and an empty barrier (both
// consumers are done with it; CUTLASS's PipelineTmaAsync), and gives its registers to the
// consumers (setmaxnreg). The rings run on across work tiles, and the next tile's Q is loaded as
// soon as the consumers' last Q K^T of the current one is done (q_empty), so the next tile's
// loads overlap the current one's last P V and output store: what short sequences (S = 197, 384:
// two or three key tiles per work tile) would otherwise spend waiting at every CTA's start.
// Warp groups 1 and 2 are the consumers, 64 query rows
// each (one consumer and 64-row work tiles when 128-row tiles would leave SMs idle and 64-row
// ones fit in one wave: BERT at batch 1), and run FlashSm90Kernel's loop without any block-wide
// barrier: S_t = Q K_t^T is issued
// with P_{t-1} V_{t-1}, the online softmax of S_t runs while P V does (RowSoftmax), and each
// stage is released as soon as its MMA has completed, so the loads of later tiles overlap the
// math and the two consumers drift apart (one's softmax under the other's MMAs). V is stored like
// K (key rows, head-dim columns, 128-byte swizzle) and read through a transposed view as the
// MN-major B operand of P V.
#ifndef KILN_CUDA_ATTENTION_SM90_WS_CUH_
#define KILN_CUDA_ATTENTION_SM90_WS_CUH_

#include <cstdint>
#include <type_traits>

#include "kiln_cuda_attention_sm90.cuh"  // first: cute/tensor.hpp before the TMA atoms
#include "cute/atom/copy_traits_sm90_tma.hpp"
#include "cutlass/arch/reg_reconfig.h"
#include "cutlass/pipeline/sm90_pipeline.hpp"

namespace kiln_cuda {
namespace attn90 {

template <bool kBF16, int kD, int kBlockN, int kStages_, int kConsumers_ = 2>
struct Sm90FlashWs {
  static_assert(kD == 64 || kD == 128, "head dims 64 and 128");
  static_assert(kBlockN == 64 || kBlockN == 128, "key tiles of 64 or 128");
  using T = std::conditional_t<kBF16, cutlass::bfloat16_t, cutlass::half_t>;
  static_assert(kConsumers_ == 1 || kConsumers_ == 2, "one or two consumer warp groups");
  static constexpr int kConsumers = kConsumers_;        // warp groups of 64 query rows
  static constexpr int kBlockM = 64 * kConsumers;
  static constexpr int kThreads = 128 * (kConsumers + 1);
  static constexpr int kStages = kStages_;
  using SmemQ = decltype(cute::tile_to_shape(cute::GMMA::Layout_K_SW128_Atom<T>{},
                                             cute::Shape<cute::Int<kBlockM>, cute::Int<kD>>{}));
  // K and V tiles: (keys, head dim, stage), head dim contiguous; V read as (head dim, keys).
  using SmemKV = decltype(cute::tile_to_shape(
      cute::GMMA::Layout_K_SW128_Atom<T>{},
      cute::Shape<cute::Int<kBlockN>, cute::Int<kD>, cute::Int<kStages>>{}));
  using SmemVt = decltype(cute::composition(
      SmemKV{}, cute::make_ordered_layout(
                    cute::Shape<cute::Int<kD>, cute::Int<kBlockN>, cute::Int<kStages>>{},
                    cute::Step<cute::_2, cute::_1, cute::_3>{})));
  using MmaS = decltype(cute::make_tiled_mma(
      cute::GMMA::ss_op_selector<T, T, float, cute::Shape<cute::_64, cute::Int<kBlockN>, cute::_16>,
                                 cute::GMMA::Major::K, cute::GMMA::Major::K>(),
      cute::Layout<cute::Shape<cute::Int<kConsumers>, cute::_1, cute::_1>>{}));
  using MmaO = decltype(cute::make_tiled_mma(
      cute::GMMA::rs_op_selector<T, T, float, cute::Shape<cute::_64, cute::Int<kD>, cute::_16>,
                                 cute::GMMA::Major::K, cute::GMMA::Major::MN>(),
      cute::Layout<cute::Shape<cute::Int<kConsumers>, cute::_1, cute::_1>>{}));
  using Pipeline = cutlass::PipelineTmaAsync<kStages>;
  struct alignas(1024) Shared {
    cute::array_aligned<T, cute::cosize_v<SmemQ>, 1024> q;
    cute::array_aligned<T, cute::cosize_v<SmemKV>, 1024> k;
    cute::array_aligned<T, cute::cosize_v<SmemKV>, 1024> v;
    typename Pipeline::SharedStorage pipe_k, pipe_v;
    cutlass::arch::ClusterTransactionBarrier q_full;  // the work tile's Q landed
    cutlass::arch::ClusterBarrier q_empty;            // the consumers' last Q K^T of it is done
  };
  static constexpr int kSmemBytes = static_cast<int>(sizeof(Shared)) + 1024;  // + alignment
  static_assert(kSmemBytes <= 227 * 1024, "shared memory of one sm90 CTA");
  // Q, K, V in global memory as (rows, head dim, heads, batch); strides in elements.
  using GmemLayout = cute::Layout<cute::Shape<int32_t, int32_t, int32_t, int32_t>,
                                  cute::Stride<int64_t, cute::_1, int64_t, int64_t>>;
  using GmemTensor = decltype(cute::make_tensor(cute::make_gmem_ptr(static_cast<const T*>(nullptr)), GmemLayout{}));
  using TmaQ = decltype(cute::make_tma_copy(cute::SM90_TMA_LOAD{}, GmemTensor{}, SmemQ{}));
  using TmaKV = decltype(cute::make_tma_copy(cute::SM90_TMA_LOAD{}, GmemTensor{},
                                             cute::take<0, 2>(SmemKV{})));
  struct Params {
    AttentionArgs a;
    TmaQ q;
    TmaKV k, v;
  };
  static constexpr uint32_t kKVTileBytes = kBlockN * kD * sizeof(T);
  static constexpr uint32_t kQTileBytes = kBlockM * kD * sizeof(T);
};

/// The persistent kernel's work tiles: (query block, head, batch entry) for linear index `i`. The
/// query blocks of a head are neighbours, so the CTAs that read the same K and V run at the same
/// time (L2 hits). Causal: in windows of kWindow heads, the longest rows (last query blocks) of
/// the window's heads first, so that the round-robin mixes long and short tiles on every CTA.
template <bool kCausal>
struct WorkTiles {
  static constexpr int kWindow = 8;
  int m_blocks, heads, batch;
  __device__ int Count() const { return m_blocks * heads * batch; }
  __device__ void Decode(int i, int& m_block, int& h, int& b) const {
    int rest;
    if constexpr (kCausal) {
      const int first = i / (kWindow * m_blocks) * kWindow, hb = heads * batch;
      const int in_window = hb - first < kWindow ? hb - first : kWindow, j = i - first * m_blocks;
      m_block = m_blocks - 1 - j / in_window;
      rest = first + j % in_window;
    } else {
      m_block = i % m_blocks;
      rest = i / m_blocks;
    }
    h = rest % heads;
    b = rest / heads;
  }
};

template <bool kBF16, int kD, int kBlockN, int kStages, int kConsumers, bool kPingPong, bool kCausal, class MaskT,
          bool kHasMask>
__global__ void __launch_bounds__(128 * (kConsumers + 1), 1)
    FlashSm90WsKernel(const __grid_constant__ typename Sm90FlashWs<kBF16, kD, kBlockN, kStages, kConsumers>::Params params) {
  GridDependencyWait();
  using namespace cute;
  using F = Sm90FlashWs<kBF16, kD, kBlockN, kStages, kConsumers>;
  using T = typename F::T;
  using Pipeline = typename F::Pipeline;
  using PipelineState = typename Pipeline::PipelineState;
  constexpr int kBlockM = F::kBlockM;
  extern __shared__ uint8_t flash90ws_smem_raw[];
  auto& shared = *reinterpret_cast<typename F::Shared*>(
      (reinterpret_cast<uintptr_t>(flash90ws_smem_raw) + 1023) & ~uintptr_t{1023});
  Tensor sQ = make_tensor(make_smem_ptr(shared.q.data()), typename F::SmemQ{});
  Tensor sK = make_tensor(make_smem_ptr(shared.k.data()), typename F::SmemKV{});
  Tensor sV = make_tensor(make_smem_ptr(shared.v.data()), typename F::SmemKV{});
  Tensor sVt = make_tensor(make_smem_ptr(shared.v.data()), typename F::SmemVt{});

  const AttentionArgs& p = params.a;
  const int sq = static_cast<int>(p.sq), sk = static_cast<int>(p.sk);
  const WorkTiles<kCausal> work{(sq + kBlockM - 1) / kBlockM, static_cast<int>(p.heads), static_cast<int>(p.batch)};
  const int group = static_cast<int>(p.heads / p.kv_heads);
  auto key_tiles = [&](int m0) {  // K / V tiles of the work tile whose first query row is m0
    const int n_end = kCausal && m0 + kBlockM < sk ? m0 + kBlockM : sk;
    return (n_end + kBlockN - 1) / kBlockN;
  };
  const int warp_group = threadIdx.x / 128;

  typename Pipeline::Params pipe_params;
  pipe_params.transaction_bytes = F::kKVTileBytes;
  pipe_params.role = warp_group == 0 ? Pipeline::ThreadCategory::Producer : Pipeline::ThreadCategory::Consumer;
  pipe_params.is_leader = threadIdx.x == 0;
  pipe_params.num_consumers = 128 * F::kConsumers;
  Pipeline pipe_k(shared.pipe_k, pipe_params, Shape<_1, _1, _1>{});
  Pipeline pipe_v(shared.pipe_v, pipe_params, Shape<_1, _1, _1>{});
  if (threadIdx.x == 0) {
    shared.q_full.init(1);
    shared.q_empty.init(128 * F::kConsumers);
  }
  cutlass::arch::fence_barrier_init();
  __syncthreads();

  if (warp_group == 0) {  // the producer
    // 40 registers: ptxas allocates each setmaxnreg region to its count, and the producer's
    // TMA coordinate code spilled at 24. 40 x 128 + 232 x 256 <= 64 Ki registers.
    cutlass::arch::warpgroup_reg_dealloc<40>();
    if (threadIdx.x != 0) return;
    Tensor mQ = params.q.get_tma_tensor(make_shape(sq, static_cast<int>(p.d), static_cast<int>(p.heads),
                                                   static_cast<int>(p.batch)));
    Tensor mK = params.k.get_tma_tensor(make_shape(sk, static_cast<int>(p.d), static_cast<int>(p.kv_heads),
                                                   static_cast<int>(p.batch)));
    Tensor mV = params.v.get_tma_tensor(make_shape(sk, static_cast<int>(p.dv), static_cast<int>(p.kv_heads),
                                                   static_cast<int>(p.batch)));
    PipelineState write = cutlass::make_producer_start_state<Pipeline>();
    int iter = 0;
    for (int w = blockIdx.x; w < work.Count(); w += gridDim.x, ++iter) {
      int m_block, h, b;
      work.Decode(w, m_block, h, b);
      const int hk = h / group;
      Tensor gQ = local_tile(mQ(_, _, h, b), Shape<Int<kBlockM>, Int<kD>>{}, make_coord(m_block, 0));
      Tensor gK = local_tile(mK(_, _, hk, b), Shape<Int<kBlockN>, Int<kD>>{}, make_coord(_, 0));  // (n, d, tile)
      Tensor gV = local_tile(mV(_, _, hk, b), Shape<Int<kBlockN>, Int<kD>>{}, make_coord(_, 0));
      auto [tQg, tQs] = tma_partition(params.q, Int<0>{}, Layout<_1>{}, group_modes<0, 2>(sQ), group_modes<0, 2>(gQ));
      auto [tKg, tKs] = tma_partition(params.k, Int<0>{}, Layout<_1>{}, group_modes<0, 2>(sK), group_modes<0, 2>(gK));
      auto [tVg, tVs] = tma_partition(params.v, Int<0>{}, Layout<_1>{}, group_modes<0, 2>(sV), group_modes<0, 2>(gV));
      if (iter > 0) shared.q_empty.wait((iter - 1) & 1);  // the previous tile's Q K^T are done
      shared.q_full.arrive_and_expect_tx(F::kQTileBytes);
      copy(params.q.with(reinterpret_cast<typename Pipeline::ProducerBarrierType&>(shared.q_full)), tQg, tQs);
      const int n_tiles = key_tiles(m_block * kBlockM);
      for (int t = 0; t < n_tiles; ++t) {
        pipe_k.producer_acquire(write);
        copy(params.k.with(*pipe_k.producer_get_barrier(write)), tKg(_, t), tKs(_, write.index()));
        pipe_v.producer_acquire(write);
        copy(params.v.with(*pipe_v.producer_get_barrier(write)), tVg(_, t), tVs(_, write.index()));
        ++write;
      }
    }
    pipe_k.producer_tail(write);  // no exit while loads are in flight
    pipe_v.producer_tail(write);
    return;
  }

  // The consumers: warp group 1 + c owns query rows m0 + 64 c ... + 63.
  cutlass::arch::warpgroup_reg_alloc<232>();
  const int tid = threadIdx.x - 128, lane = tid % 32;
  const int64_t o_stride = p.heads * p.dv;

  typename F::MmaS mma_s;
  typename F::MmaO mma_o;
  auto thr_s = mma_s.get_thread_slice(tid);
  auto thr_o = mma_o.get_thread_slice(tid);
  Tensor tSrQ = thr_s.make_fragment_A(thr_s.partition_A(sQ));
  Tensor tSrK = thr_s.make_fragment_B(thr_s.partition_B(sK));   // (mma, n, k, stage)
  Tensor tOrV = thr_o.make_fragment_B(thr_o.partition_B(sVt));  // (mma, n, k, stage)
  Tensor tSrS = partition_fragment_C(mma_s, Shape<Int<kBlockM>, Int<kBlockN>>{});
  Tensor tOrO = partition_fragment_C(mma_o, Shape<Int<kBlockM>, Int<kD>>{});
  Tensor tOrP = make_tensor<T>(partition_shape_A(mma_o, Shape<Int<kBlockM>, Int<kBlockN>>{}));
  static_assert(decltype(size(tSrS))::value == 4 * (kBlockN / 8), "S: rows r, r+8 x 8-key blocks");
  static_assert(decltype(size(tOrP))::value == decltype(size(tSrS))::value, "P matches S");
  static_assert(decltype(size(tOrO))::value == 4 * (kD / 8), "O: rows r, r+8 x 8-column blocks");
  auto to_p = [&] {
    CUTE_UNROLL
    for (int i = 0; i < size(tSrS); ++i) tOrP(i) = static_cast<T>(tSrS(i));
  };

  // kPingPong: the consumers take turns issuing their MMAs (named barrier c: "consumer c may
  // issue"), so that one's softmax runs under the other's MMAs (FA3's inter-warp-group schedule).
  // Consumer 0 goes first; the turns alternate across work tiles (both consumers take n_tiles + 1
  // per tile), and consumer 1's last turn passes to no one (no arrival left pending). A single
  // consumer has no one to take turns with.
  constexpr bool kTurns = kPingPong && kConsumers == 2;
  const int consumer = warp_group - 1;
  auto my_turn = [&] {
    if constexpr (kTurns) cutlass::arch::NamedBarrier::sync(256, consumer);
  };
  auto your_turn = [&](bool last) {
    if constexpr (kTurns) {
      if (!(last && consumer == 1)) cutlass::arch::NamedBarrier::arrive(256, 1 - consumer);
    }
  };
  PipelineState read_k, read_v;
  if (kTurns && consumer == 1 && sk > 0) your_turn(false);
  int iter = 0;
  for (int w = blockIdx.x; w < work.Count(); w += gridDim.x, ++iter) {
    int m_block, h, b;
    work.Decode(w, m_block, h, b);
    const int m0 = m_block * kBlockM, n_tiles = key_tiles(m0);
    const bool last = w + static_cast<int>(gridDim.x) >= work.Count();
    const int row_base = m0 + 16 * (tid / 32) + lane / 4;  // this thread's rows: + 0 and + 8
    uint16_t* go = static_cast<uint16_t*>(p.out) + (static_cast<int64_t>(b) * p.sq * p.heads + h) * p.dv;
    clear(tOrO);
    RowSoftmax<kBlockN, kCausal, MaskT, kHasMask> softmax(p, b, h, m0, row_base, lane);
    shared.q_full.wait(iter & 1);
    if (n_tiles == 0) shared.q_empty.arrive();  // no keys (sk = 0): the output is zeros
    if (n_tiles > 0) {
      my_turn();
      pipe_k.consumer_wait(read_k);
      IssueGemm<true, false>(mma_s, tSrQ, tSrK(_, _, _, read_k.index()), tSrS);
      your_turn(false);
      warpgroup_wait<0>();
      pipe_k.consumer_release(read_k);
      ++read_k;
      if (n_tiles == 1) shared.q_empty.arrive();
      float corr[2];
      softmax.Step(tSrS, 0, corr);
      to_p();
    }
    for (int t = 1; t < n_tiles; ++t) {
      my_turn();
      pipe_k.consumer_wait(read_k);
      IssueGemm<true, false>(mma_s, tSrQ, tSrK(_, _, _, read_k.index()), tSrS);
      pipe_v.consumer_wait(read_v);
      IssueGemm<false, true>(mma_o, tOrP, tOrV(_, _, _, read_v.index()), tOrO);
      your_turn(false);
      warpgroup_wait<1>();  // S_t
      warpgroup_fence_operand(tSrS);
      pipe_k.consumer_release(read_k);
      ++read_k;
      if (t == n_tiles - 1) shared.q_empty.arrive();
      float corr[2];
      softmax.Step(tSrS, t, corr);
      warpgroup_wait<0>();  // P_{t-1} V_{t-1}
      warpgroup_fence_operand(tOrO);
      warpgroup_fence_operand(tOrP);
      pipe_v.consumer_release(read_v);
      ++read_v;
      CUTE_UNROLL
      for (int i = 0; i < size(tOrO); ++i) tOrO(i) *= corr[(i / 2) % 2];
      to_p();
    }
    if (n_tiles > 0) {
      my_turn();
      pipe_v.consumer_wait(read_v);
      IssueGemm<false, true>(mma_o, tOrP, tOrV(_, _, _, read_v.index()), tOrO);
      your_turn(last);
      warpgroup_wait<0>();
      warpgroup_fence_operand(tOrO);
      pipe_v.consumer_release(read_v);
      ++read_v;  // the rings run on into the next work tile
    }
    softmax.template Store<kBF16>(tOrO, go, o_stride, sq, p.dv);
  }
}

/// Q, K or V of `a` as the TMA's global tensor: (rows, head dim, heads, batch).
template <class F>
typename F::GmemTensor GmemQkv(const void* base, int64_t rows, int64_t cols, int64_t heads,
                               int64_t batch, int64_t row_stride, int64_t head_stride) {
  using namespace cute;
  return make_tensor(make_gmem_ptr(static_cast<const typename F::T*>(base)),
                     make_layout(make_shape(static_cast<int32_t>(rows), static_cast<int32_t>(cols),
                                            static_cast<int32_t>(heads), static_cast<int32_t>(batch)),
                                 make_stride(row_stride, _1{}, head_stride, rows * row_stride)));
}

template <bool kBF16, int kD, int kBlockN, int kStages, int kConsumers, bool kPingPong, bool kCausal, class MaskT,
          bool kHasMask>
void LaunchFlashSm90Ws(const AttentionArgs& a, void* stream) {
  using F = Sm90FlashWs<kBF16, kD, kBlockN, kStages, kConsumers>;
  auto kernel = FlashSm90WsKernel<kBF16, kD, kBlockN, kStages, kConsumers, kPingPong, kCausal, MaskT, kHasMask>;
  const cudaError_t attr =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, F::kSmemBytes);
  if (attr != cudaSuccess) {
    kiln_rt::DeviceReportError("attention: cudaFuncSetAttribute(shared memory)", cudaGetErrorString(attr));
    return;
  }
  typename F::Params params{
      a,
      cute::make_tma_copy(cute::SM90_TMA_LOAD{}, GmemQkv<F>(a.q, a.sq, a.d, a.heads, a.batch, a.q_row, a.d),
                          typename F::SmemQ{}),
      cute::make_tma_copy(cute::SM90_TMA_LOAD{}, GmemQkv<F>(a.k, a.sk, a.d, a.kv_heads, a.batch, a.k_row, a.d),
                          cute::take<0, 2>(typename F::SmemKV{})),
      cute::make_tma_copy(cute::SM90_TMA_LOAD{}, GmemQkv<F>(a.v, a.sk, a.dv, a.kv_heads, a.batch, a.v_row, a.dv),
                          cute::take<0, 2>(typename F::SmemKV{}))};
  const int64_t tiles = (a.sq + F::kBlockM - 1) / F::kBlockM * a.heads * a.batch;
  const dim3 grid(static_cast<unsigned>(tiles < SmCount() ? tiles : SmCount()));  // persistent
  Launch(kernel, grid, F::kThreads, F::kSmemBytes, AsStream(stream), params);
}

}  // namespace attn90

/// attention on `stream` by the warp-specialized sm90 kernel where it applies (d, dv <= kD,
/// multiples of 8, row strides multiples of 8, 16-byte aligned tensors: the TMA's rules), else the
/// fallback. T: F16 or BF16; kBlockN keys per K / V tile, kStages tiles in flight, kPingPong: the
/// consumers take turns at the tensor cores.
template <class T, class MaskT, int kD, int kBlockN, int kStages, bool kPingPong, bool kCausal, bool kHasMask>
void AttentionSm90Ws(const AttentionArgs& a, void* stream) {
  static_assert(std::is_same_v<T, F16> || std::is_same_v<T, BF16>, "the sm90 kernel is f16/bf16");
  if (a.batch <= 0 || a.sq <= 0 || a.heads <= 0 || a.dv <= 0) return;
  if (!attn90::Fits(a, kD)) {
    AttentionFallback<T, MaskT, kCausal, kHasMask>(a, stream);
    return;
  }
  // Fewer 128-row work tiles than SMs (BERT at batch 1: 36 on 132): CTAs of one consumer and 64
  // query rows, twice as many, while they still fit in one wave.
  constexpr bool kBF = std::is_same_v<T, BF16>;
  const int64_t tiles64 = (a.sq + 63) / 64 * a.heads * a.batch;
  if (tiles64 <= SmCount() && (a.sq + 127) / 128 * a.heads * a.batch < SmCount()) {
    attn90::LaunchFlashSm90Ws<kBF, kD, kBlockN, kStages, 1, kPingPong, kCausal, MaskT, kHasMask>(a, stream);
  } else {
    attn90::LaunchFlashSm90Ws<kBF, kD, kBlockN, kStages, 2, kPingPong, kCausal, MaskT, kHasMask>(a, stream);
  }
}
}  // namespace kiln_cuda

#endif  // KILN_CUDA_ATTENTION_SM90_WS_CUH_
