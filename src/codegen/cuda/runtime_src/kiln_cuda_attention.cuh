// kiln_cuda: attention(q, k, v[, mask]) {causal, scale} in BSHD layout with grouped-query heads
// (src/ops/attention.cc), included by the generated kernels that need it
// (src/codegen/cuda/attention.cc). Two kernels:
//
// FlashAttentionKernel (f16 / bf16, head dims D, Dv <= 128 and multiples of 8; sm80 and sm90):
// FlashAttention-2 style. One CTA of kWarps warps per (query tile, head, batch entry); each warp
// owns kMF slices of 16 query rows. Q is loaded once into shared memory and from there into
// registers (or re-read per key tile when that would take too many registers); K and V tiles of
// kBlockN keys stream through one shared buffer each with cp.async, so that V of tile t loads while
// S = Q K^T of tile t runs and K of tile t+1 loads while O += P V of tile t runs (the FA2
// schedule). Both products are tensor-core mma.sync m16n8k16 (f16 / bf16 in, f32 accumulate),
// operands from ldmatrix (V through ldmatrix.trans); every K / V fragment feeds the warp's kMF
// slices. The S x S score matrix never exists: each warp keeps its score tile in registers and
// applies the online softmax (running row max and row sum, in log2 units: scores are
// pre-multiplied by scale * log2(e) and exponentiated with ex2.approx). Shared-memory rows are
// padded by 16 bytes, which makes every ldmatrix phase (8 rows x 16 bytes) and the output staging
// stores bank-conflict free. Head dims are padded to kD / kDv (multiples of 16) with zeros on load;
// keys past Sk and query rows past Sq are zero-filled and masked, so any Sq, Sk >= 0 work. Causal:
// key tiles past the diagonal are skipped and the query tiles are launched heaviest first.
//
// AttentionRowKernel (any dtype, any head dim: the fallback): one warp per query row, keys one at
// a time with the online softmax in f32 (expf), Dv in chunks of 256 values.
//
// Semantics as the reference op: scores = scale * (q . k) + mask, causal hides key j > i (top-left
// aligned), softmax over the keys, a query row whose keys are all hidden (-inf) gives zeros.
// Numerics: f32 accumulation; the probabilities P are rounded to the input dtype before P V (as in
// FlashAttention), the output once to the output dtype.
#ifndef KILN_CUDA_ATTENTION_CUH_
#define KILN_CUDA_ATTENTION_CUH_

#include <cstdint>
#include <type_traits>

#include "kiln_cuda.cuh"
#include "kiln_cuda_mma.cuh"

namespace kiln_cuda {

/// One attention call: q [batch, sq, heads, d], k [batch, sk, kv_heads, d], v [batch, sk,
/// kv_heads, dv], out [batch, sq, heads, dv] device tensors, row-major within a sequence position;
/// q_row, k_row, v_row: elements from one position to the next (heads * d etc. when dense, 3 *
/// heads * d when q, k and v are packed in one [batch, s, 3, heads, d] tensor); out dense. mask
/// (or null) an additive float mask read at b * mask_stride[0] + h * mask_stride[1] + i *
/// mask_stride[2] + j * mask_stride[3] (0 strides broadcast). Pre: heads % kv_heads == 0, scale
/// already resolved.
struct AttentionArgs {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  const void* mask = nullptr;
  void* out = nullptr;
  int64_t batch = 0, sq = 0, sk = 0, heads = 0, kv_heads = 1, d = 0, dv = 0;
  int64_t q_row = 0, k_row = 0, v_row = 0;
  int64_t mask_stride[4] = {0, 0, 0, 0};
  float scale = 1.f;
};

namespace attn {

using namespace kiln_cuda::mma;  // cp.async, ldmatrix, mma.sync wrappers


__device__ __forceinline__ float QuadMax(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ __forceinline__ float QuadSum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

// ---------------------------------------------------------------------------- flash kernel

/// Shared-memory row strides (b16 elements): 16 bytes of padding make the 8 rows of an ldmatrix
/// phase start in 8 distinct 16-byte bank groups (the stride is an odd multiple of 16 bytes).
template <int kCols>
constexpr int PaddedStride() {
  return kCols + 8;
}

template <int kD, int kDv, int kWarps, int kMF, int kBlockN_>
struct FlashShape {
  static constexpr int kBlockN = kBlockN_;  // keys per K / V tile (a multiple of 16)
  static_assert(kD % 16 == 0 && kDv % 16 == 0 && kD <= 128 && kDv <= 128, "head dims");
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kWarpRows = 16 * kMF;  // query rows per warp: kMF m16 fragments
  static constexpr int kBlockM = kWarpRows * kWarps;
  // Q fragments stay in registers for the whole tile loop when they are few (kMF * kD / 4 of
  // them); otherwise they are re-read from shared memory per key tile (as FlashAttention-2 does).
  static constexpr bool kQInRegs = kMF * kD <= 128;
  static constexpr int kQStride = PaddedStride<kD>();   // Q and K tiles
  static constexpr int kVStride = PaddedStride<kDv>();  // V tile and the output staging tile
  // The Q tile's space also stages the output tile: the larger of the two.
  static constexpr int kQElems = kBlockM * (kQStride > kVStride ? kQStride : kVStride);
  static constexpr int kSmemBytes = 2 * (kQElems + kBlockN * kQStride + kBlockN * kVStride);
};

/// Loads rows [row0, row0 + kRows) of a [rows, cols] b16 matrix (row stride `stride` elements) into
/// shared memory [kRows][kStride] (first kCols columns) with cp.async; rows >= rows and columns
/// >= cols are zero. Pre: cols % 8 == 0, src 16-byte aligned, stride % 8 == 0.
template <int kRows, int kCols, int kStride, int kThreads>
__device__ __forceinline__ void LoadTile(uint16_t* dst, const uint16_t* src, int64_t stride,
                                         int row0, int rows, int cols) {
  constexpr int kChunks = kCols / 8;  // 16-byte chunks per row
  constexpr int kTotal = kRows * kChunks;
#pragma unroll
  for (int c = static_cast<int>(threadIdx.x); c < kTotal; c += kThreads) {
    const int r = c / kChunks, ch = c % kChunks;
    const bool valid = row0 + r < rows && ch * 8 < cols;
    const uint16_t* from = valid ? src + (row0 + r) * stride + ch * 8 : src;
    CpAsync16(SmemAddr(dst + r * kStride + ch * 8), from, valid);
  }
}

/// The flash kernel (see the file comment). Grid: (query tiles, heads, batch); kWarps warps of
/// kMF * 16 query rows each. Register tiles per thread: S kMF x 8 n8 blocks, O kMF x kDv/8 n8
/// blocks (f32), two query rows per m16 fragment (fragment rows `group` and `group + 8`).
template <bool kBF16, int kD, int kDv, int kWarps, int kMF, int kBlockN, bool kCausal, class MaskT,
          bool kHasMask>
__global__ void __launch_bounds__(32 * kWarps, 1) FlashAttentionKernel(const AttentionArgs p) {
  GridDependencyWait();
  using Shape = FlashShape<kD, kDv, kWarps, kMF, kBlockN>;
  constexpr int kThreads = Shape::kThreads, kBlockM = Shape::kBlockM;
  constexpr int kWarpRows = Shape::kWarpRows;
  constexpr int kQStride = Shape::kQStride, kVStride = Shape::kVStride;
  constexpr bool kQInRegs = Shape::kQInRegs;
  constexpr int kNTiles = kBlockN / 8;  // n8 blocks of a score tile
  constexpr int kOTiles = kDv / 8;      // n8 blocks of the output rows
  extern __shared__ uint4 attn_smem[];
  uint16_t* s_q = reinterpret_cast<uint16_t*>(attn_smem);
  uint16_t* s_k = s_q + Shape::kQElems;
  uint16_t* s_v = s_k + kBlockN * kQStride;

  const int sq = static_cast<int>(p.sq), sk = static_cast<int>(p.sk);
  const int m_block = kCausal ? static_cast<int>(gridDim.x - 1 - blockIdx.x)  // heaviest first
                              : static_cast<int>(blockIdx.x);
  const int h = blockIdx.y;
  const int64_t b = blockIdx.z;
  const int64_t hk = h / (p.heads / p.kv_heads);
  const int m0 = m_block * kBlockM;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int group = lane / 4, tig = lane % 4;  // mma fragment coordinates

  const int64_t q_stride = p.q_row, k_stride = p.k_row, v_stride = p.v_row;
  const int64_t o_stride = p.heads * p.dv;
  const uint16_t* gq = static_cast<const uint16_t*>(p.q) + b * p.sq * q_stride + h * p.d;
  const uint16_t* gk = static_cast<const uint16_t*>(p.k) + b * p.sk * k_stride + hk * p.d;
  const uint16_t* gv = static_cast<const uint16_t*>(p.v) + b * p.sk * v_stride + hk * p.dv;
  uint16_t* go = static_cast<uint16_t*>(p.out) + (b * p.sq * p.heads + h) * p.dv;

  // Keys this query tile sees: all, or (causal) those up to its last row.
  int n_end = sk;
  if (kCausal && m0 + kBlockM < n_end) n_end = m0 + kBlockM;
  const int n_tiles = (n_end + kBlockN - 1) / kBlockN;

  LoadTile<kBlockM, kD, kQStride, kThreads>(s_q, gq, q_stride, m0, sq, p.d);
  if (n_tiles > 0) LoadTile<kBlockN, kD, kQStride, kThreads>(s_k, gk, k_stride, 0, sk, p.d);
  CpAsyncCommit();

  const int row0 = m0 + warp * kWarpRows;  // this warp's first query row
  // Keys past key_end are hidden from all of this warp's rows (past Sk, or causal: past its last
  // row): their 16-key steps are skipped (their scores are masked to -inf, P = 0, so the skip is
  // exact). A warp whose rows all lie past Sq skips the products (it still loads and syncs).
  const int key_end = kCausal && row0 + kWarpRows < sk ? row0 + kWarpRows : sk;
  const bool warp_rows = row0 < sq;
  const float scale_log2 = p.scale * kLog2e;
  // The mask rows of this thread's query rows (rows past Sq read row Sq-1: computed, never
  // stored); index [mf][half]: row row0 + 16 mf + group + 8 half.
  using MaskStorage = typename MaskT::Storage;
  const MaskStorage* mask_rows[kMF][2] = {};
  const int mask_key_stride = static_cast<int>(p.mask_stride[3]);  // 0 or 1 for a dense mask
  if constexpr (kHasMask) {
    const MaskStorage* mask =
        static_cast<const MaskStorage*>(p.mask) + b * p.mask_stride[0] + h * p.mask_stride[1];
#pragma unroll
    for (int mf = 0; mf < kMF; ++mf) {
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const int row = row0 + 16 * mf + group + 8 * r;
        mask_rows[mf][r] = mask + static_cast<int64_t>(row < sq ? row : sq - 1) * p.mask_stride[2];
      }
    }
  }
  float o[kMF][kOTiles][4];
#pragma unroll
  for (int mf = 0; mf < kMF; ++mf) {
#pragma unroll
    for (int j = 0; j < kOTiles; ++j) o[mf][j][0] = o[mf][j][1] = o[mf][j][2] = o[mf][j][3] = 0.f;
  }
  float row_max[kMF][2];  // log2 units
  float row_sum[kMF][2];  // this thread's partial sums (quad-reduced at the end)
#pragma unroll
  for (int mf = 0; mf < kMF; ++mf) {
    row_max[mf][0] = row_max[mf][1] = -INFINITY;
    row_sum[mf][0] = row_sum[mf][1] = 0.f;
  }

  // The warp's Q rows as A fragments of k-steps of 16 (ldmatrix x4: rows lane % 16, columns
  // + 8 for lanes 16..31).
  const uint16_t* q_frag_src = s_q + (warp * kWarpRows + lane % 16) * kQStride + (lane / 16) * 8;
  uint32_t qf[kQInRegs ? kMF : 1][kQInRegs ? kD / 16 : 1][4];
  CpAsyncWaitAll();
  __syncthreads();
  if constexpr (kQInRegs) {
#pragma unroll
    for (int mf = 0; mf < kMF; ++mf) {
#pragma unroll
      for (int ks = 0; ks < kD / 16; ++ks) {
        LdMatrixX4(qf[mf][ks], SmemAddr(q_frag_src + 16 * mf * kQStride + ks * 16));
      }
    }
  }

  for (int t = 0; t < n_tiles; ++t) {
    const int n0 = t * kBlockN;
    CpAsyncWaitAll();  // K tile t
    __syncthreads();   // ... visible to all; every warp is done with V tile t-1
    LoadTile<kBlockN, kDv, kVStride, kThreads>(s_v, gv, v_stride, n0, sk, p.dv);
    CpAsyncCommit();

    // S = Q K^T: kWarpRows x kBlockN per warp. ldmatrix x4 of K rows n..n+15, columns k..k+15 gives
    // the B fragments (b0, b1) of two n8 blocks, shared by the warp's kMF m16 fragments.
    float s[kMF][kNTiles][4];
#pragma unroll
    for (int mf = 0; mf < kMF; ++mf) {
#pragma unroll
      for (int j = 0; j < kNTiles; ++j) s[mf][j][0] = s[mf][j][1] = s[mf][j][2] = s[mf][j][3] = 0.f;
    }
#pragma unroll
    for (int ks = 0; ks < kD / 16; ++ks) {
      uint32_t a[kMF][4];
#pragma unroll
      for (int mf = 0; mf < kMF; ++mf) {
        if constexpr (kQInRegs) {
#pragma unroll
          for (int i = 0; i < 4; ++i) a[mf][i] = qf[mf][ks][i];
        } else {
          LdMatrixX4(a[mf], SmemAddr(q_frag_src + 16 * mf * kQStride + ks * 16));
        }
      }
#pragma unroll
      for (int j = 0; j < kNTiles / 2; ++j) {
        if (!warp_rows || n0 + 16 * j >= key_end) continue;  // hidden keys (warp-uniform)
        uint32_t kf[4];
        LdMatrixX4(kf, SmemAddr(s_k + (j * 16 + (lane / 16) * 8 + lane % 8) * kQStride + ks * 16 +
                                ((lane / 8) % 2) * 8));
#pragma unroll
        for (int mf = 0; mf < kMF; ++mf) {
          Mma16816<kBF16>(s[mf][2 * j], a[mf], kf[0], kf[1]);
          Mma16816<kBF16>(s[mf][2 * j + 1], a[mf], kf[2], kf[3]);
        }
      }
    }

    // Scores in log2 units; the mask, the key-length tail and the causal diagonal. Element e of
    // block j of fragment mf is row row0 + 16 mf + group + 8 (e / 2), key n0 + 8 j + 2 tig + e % 2.
    const bool edge = n0 + kBlockN > sk || (kCausal && n0 + kBlockN - 1 > row0);
#pragma unroll
    for (int mf = 0; mf < kMF; ++mf) {
#pragma unroll
      for (int j = 0; j < kNTiles; ++j) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          float x = s[mf][j][e] * scale_log2;
          const int row = row0 + 16 * mf + group + 8 * (e / 2), key = n0 + 8 * j + 2 * tig + e % 2;
          if constexpr (kHasMask) {
            if (key < sk) x += MaskT::Load(mask_rows[mf][e / 2][key * mask_key_stride]) * kLog2e;
          }
          if (edge && (key >= sk || (kCausal && key > row))) x = -INFINITY;
          s[mf][j][e] = x;
        }
      }
    }

    // Online softmax per row: new max, rescale the partial sum and O, P = 2^(s - max). O is only
    // rescaled when some row of the warp has a new max (corr != 1; after the first tiles that is
    // rare, and skipping a multiplication by 1 is exact).
    float corr[kMF][2];
    bool any_corr = false;
#pragma unroll
    for (int mf = 0; mf < kMF; ++mf) {
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        float mx = row_max[mf][r];
#pragma unroll
        for (int j = 0; j < kNTiles; ++j) {
          mx = fmaxf(mx, fmaxf(s[mf][j][2 * r], s[mf][j][2 * r + 1]));
        }
        mx = QuadMax(mx);
        // A row with no visible key so far keeps max -inf: subtract 0 instead (P = 0, not NaN).
        const float base = mx == -INFINITY ? 0.f : mx;
        corr[mf][r] = Exp2(row_max[mf][r] - base);
        any_corr |= corr[mf][r] != 1.f;
        row_max[mf][r] = mx;
        row_sum[mf][r] *= corr[mf][r];
#pragma unroll
        for (int j = 0; j < kNTiles; ++j) {
          s[mf][j][2 * r] = Exp2(s[mf][j][2 * r] - base);
          s[mf][j][2 * r + 1] = Exp2(s[mf][j][2 * r + 1] - base);
          row_sum[mf][r] += s[mf][j][2 * r] + s[mf][j][2 * r + 1];
        }
      }
    }
    if (__any_sync(0xffffffffu, any_corr)) {
#pragma unroll
      for (int mf = 0; mf < kMF; ++mf) {
#pragma unroll
        for (int j = 0; j < kOTiles; ++j) {
          o[mf][j][0] *= corr[mf][0];
          o[mf][j][1] *= corr[mf][0];
          o[mf][j][2] *= corr[mf][1];
          o[mf][j][3] *= corr[mf][1];
        }
      }
    }

    // P as A fragments: the accumulators of n8 blocks 2kk and 2kk+1 are the A fragment of k-step
    // kk (rows group / group+8, keys 2 tig, 2 tig + 1 and + 8).
    uint32_t pf[kMF][kBlockN / 16][4];
#pragma unroll
    for (int mf = 0; mf < kMF; ++mf) {
#pragma unroll
      for (int kk = 0; kk < kBlockN / 16; ++kk) {
        pf[mf][kk][0] = PackTwo<kBF16>(s[mf][2 * kk][0], s[mf][2 * kk][1]);
        pf[mf][kk][1] = PackTwo<kBF16>(s[mf][2 * kk][2], s[mf][2 * kk][3]);
        pf[mf][kk][2] = PackTwo<kBF16>(s[mf][2 * kk + 1][0], s[mf][2 * kk + 1][1]);
        pf[mf][kk][3] = PackTwo<kBF16>(s[mf][2 * kk + 1][2], s[mf][2 * kk + 1][3]);
      }
    }

    CpAsyncWaitAll();  // V tile t
    __syncthreads();   // ... visible to all; every warp is done with K tile t
    if (t + 1 < n_tiles) {
      LoadTile<kBlockN, kD, kQStride, kThreads>(s_k, gk, k_stride, n0 + kBlockN, sk, p.d);
    }
    CpAsyncCommit();

    // O += P V: ldmatrix.trans x4 of V rows (keys) kk*16.., columns (dv) n..n+15 gives the B
    // fragments of two n8 blocks of dv.
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) {
      if (!warp_rows || n0 + 16 * kk >= key_end) continue;  // P = 0 there
#pragma unroll
      for (int j = 0; j < kOTiles / 2; ++j) {
        uint32_t vf[4];
        LdMatrixX4Trans(
            vf, SmemAddr(s_v + (kk * 16 + lane % 16) * kVStride + j * 16 + (lane / 16) * 8));
#pragma unroll
        for (int mf = 0; mf < kMF; ++mf) {
          Mma16816<kBF16>(o[mf][2 * j], pf[mf][kk], vf[0], vf[1]);
          Mma16816<kBF16>(o[mf][2 * j + 1], pf[mf][kk], vf[2], vf[3]);
        }
      }
    }
  }

  // Epilogue: O / rowsum (0 for a row that saw no key), staged through the warp's own rows of the
  // Q tile for 16-byte global stores.
  CpAsyncWaitAll();  // nothing may still land in shared memory (no key tiles: the Q load)
  __syncthreads();   // every warp is done reading Q
  uint16_t* s_o = s_q + warp * kWarpRows * kVStride;
#pragma unroll
  for (int mf = 0; mf < kMF; ++mf) {
    float inv[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const float sum = QuadSum(row_sum[mf][r]);
      inv[r] = sum > 0.f ? 1.f / sum : 0.f;
    }
#pragma unroll
    for (int j = 0; j < kOTiles; ++j) {
      uint16_t* at = s_o + (16 * mf + group) * kVStride + 8 * j + 2 * tig;
      *reinterpret_cast<uint32_t*>(at) = PackTwo<kBF16>(o[mf][j][0] * inv[0], o[mf][j][1] * inv[0]);
      *reinterpret_cast<uint32_t*>(at + 8 * kVStride) =
          PackTwo<kBF16>(o[mf][j][2] * inv[1], o[mf][j][3] * inv[1]);
    }
  }
  __syncwarp();
  constexpr int kChunks = kDv / 8;
#pragma unroll
  for (int c = lane; c < kWarpRows * kChunks; c += 32) {
    const int r = c / kChunks, ch = c % kChunks;
    if (row0 + r < sq && ch * 8 < p.dv) {
      *reinterpret_cast<uint4*>(go + (row0 + r) * o_stride + ch * 8) =
          *reinterpret_cast<const uint4*>(s_o + r * kVStride + ch * 8);
    }
  }
}

// ------------------------------------------------------------------------- fallback kernel

constexpr int kRowWarps = 4;      // warps (query rows) per block of the fallback
constexpr int kRowDvPerLane = 8;  // output values per lane and chunk: chunks of 256

template <class T, class MaskT, bool kCausal, bool kHasMask>
__global__ void __launch_bounds__(32 * kRowWarps) AttentionRowKernel(const AttentionArgs p) {
  GridDependencyWait();
  using S = typename T::Storage;
  const S* q = static_cast<const S*>(p.q);
  const S* k = static_cast<const S*>(p.k);
  const S* v = static_cast<const S*>(p.v);
  S* out = static_cast<S*>(p.out);
  const typename MaskT::Storage* mask = static_cast<const typename MaskT::Storage*>(p.mask);
  const int lane = threadIdx.x % 32;
  const int64_t total = p.batch * p.sq * p.heads;
  const int64_t group = p.heads / p.kv_heads;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kRowWarps + threadIdx.x / 32; row < total;
       row += static_cast<int64_t>(gridDim.x) * kRowWarps) {
    // BSHD: row = (b * sq + i) * heads + h, so out rows are contiguous at row * dv.
    const int64_t h = row % p.heads, i = (row / p.heads) % p.sq, b = row / (p.heads * p.sq);
    const int64_t hk = h / group;
    const S* qrow = q + (b * p.sq + i) * p.q_row + h * p.d;
    const int64_t keys = kCausal ? (i + 1 < p.sk ? i + 1 : p.sk) : p.sk;
    for (int64_t c0 = 0; c0 < p.dv; c0 += 32 * kRowDvPerLane) {
      float acc[kRowDvPerLane] = {};
      float mx = -INFINITY, sum = 0.f;
      for (int64_t j = 0; j < keys; ++j) {
        const S* krow = k + (b * p.sk + j) * p.k_row + hk * p.d;
        float dot = 0.f;
        for (int64_t t = lane; t < p.d; t += 32) dot += T::Load(qrow[t]) * T::Load(krow[t]);
        dot = GroupReduce<32>(dot, SumOp{}, nullptr);
        float s = dot * p.scale;
        if constexpr (kHasMask) {
          s += MaskT::Load(mask[b * p.mask_stride[0] + h * p.mask_stride[1] + i * p.mask_stride[2] +
                                j * p.mask_stride[3]]);
        }
        if (s == -INFINITY) continue;  // a hidden key (the same for the whole warp)
        const float new_max = fmaxf(mx, s);
        const float corr = expf(mx - new_max), w = expf(s - new_max);
        mx = new_max;
        sum = sum * corr + w;
        const S* vrow = v + (b * p.sk + j) * p.v_row + hk * p.dv;
#pragma unroll
        for (int u = 0; u < kRowDvPerLane; ++u) {
          const int64_t col = c0 + lane + 32 * u;
          acc[u] = acc[u] * corr + (col < p.dv ? w * T::Load(vrow[col]) : 0.f);
        }
      }
      const float inv = sum > 0.f ? 1.f / sum : 0.f;
#pragma unroll
      for (int u = 0; u < kRowDvPerLane; ++u) {
        const int64_t col = c0 + lane + 32 * u;
        if (col < p.dv) out[row * p.dv + col] = T::Store(acc[u] * inv);
      }
    }
  }
}

template <bool kBF16, int kD, int kDv, int kWarps, int kMF, int kBlockN, bool kCausal, class MaskT,
          bool kHasMask>
void LaunchFlash(const AttentionArgs& a, void* stream) {
  using Shape = FlashShape<kD, kDv, kWarps, kMF, kBlockN>;
  auto kernel =
      FlashAttentionKernel<kBF16, kD, kDv, kWarps, kMF, kBlockN, kCausal, MaskT, kHasMask>;
  if constexpr (Shape::kSmemBytes > 48 * 1024) {
    // Past the default limit: opt in (per launch: the attribute belongs to the current device).
    const cudaError_t attr = cudaFuncSetAttribute(
        kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, Shape::kSmemBytes);
    if (attr != cudaSuccess) {
      kiln_rt::DeviceReportError("attention: cudaFuncSetAttribute(shared memory)",
                                 cudaGetErrorString(attr));
      return;
    }
  }
  const dim3 grid(static_cast<unsigned>((a.sq + Shape::kBlockM - 1) / Shape::kBlockM),
                  static_cast<unsigned>(a.heads), static_cast<unsigned>(a.batch));
  Launch(kernel, grid, Shape::kThreads, Shape::kSmemBytes, AsStream(stream), a);
}

}  // namespace attn

/// attention on `stream` by the fallback kernel only (any dtype and head dims; see Attention).
template <class T, class MaskT, bool kCausal, bool kHasMask>
void AttentionFallback(const AttentionArgs& a, void* stream) {
  if (a.batch <= 0 || a.sq <= 0 || a.heads <= 0 || a.dv <= 0) return;
  const int64_t rows = a.batch * a.sq * a.heads;
  Launch(attn::AttentionRowKernel<T, MaskT, kCausal, kHasMask>, GridFor(rows, attn::kRowWarps),
         32 * attn::kRowWarps, 0, AsStream(stream), a);
}

/// attention on `stream` by the flash kernel where it applies, else the fallback. T: the dtype of
/// q, k, v and out (F16 or BF16); MaskT: the mask's (any float traits when there is none). kD /
/// kDv: the head dims, padded to multiples of 16 (<= 128), that the flash kernel is built for;
/// kWarps, kMF, kBlockN: its tiling (warps per CTA, 16-row slices per warp, keys per K / V tile).
/// The flash kernel runs when d <= kD, dv <= kDv, d, dv and the row strides are multiples of 8,
/// the tensors are 16-byte aligned and the grid fits (heads, batch <= 65535); otherwise the fallback does.
template <class T, class MaskT, int kD, int kDv, int kWarps, int kMF, int kBlockN, bool kCausal,
          bool kHasMask>
void Attention(const AttentionArgs& a, void* stream) {
  static_assert(std::is_same_v<T, F16> || std::is_same_v<T, BF16>, "the flash kernel is f16/bf16");
  if (a.batch <= 0 || a.sq <= 0 || a.heads <= 0 || a.dv <= 0) return;
  const bool fits = a.d <= kD && a.dv <= kDv && a.d % 8 == 0 && a.dv % 8 == 0 && a.q_row % 8 == 0 &&
                    a.k_row % 8 == 0 && a.v_row % 8 == 0 && Aligned16(a.q) &&
                    Aligned16(a.k) && Aligned16(a.v) && Aligned16(a.out) && a.heads <= 65535 &&
                    a.batch <= 65535 && a.sq < (int64_t{1} << 30) && a.sk < (int64_t{1} << 30);
  if (fits) {
    attn::LaunchFlash<std::is_same_v<T, BF16>, kD, kDv, kWarps, kMF, kBlockN, kCausal, MaskT,
                      kHasMask>(a, stream);
  } else {
    AttentionFallback<T, MaskT, kCausal, kHasMask>(a, stream);
  }
}

}  // namespace kiln_cuda

#endif  // KILN_CUDA_ATTENTION_CUH_
