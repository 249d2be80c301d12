// Convolutions with few input channels for generated CUDA kernels (namespace
// kiln_cuda::fixed_channels): the 7x7 stem of an image net, whose 3 channels the
// pad-conv-channels pass pads to 4. An implicit GEMM over the reduction (filter tap, channel) of
// only R * S * C values (196 for the stem) is all prologue and epilogue in a general GEMM kernel:
// CUTLASS's fixed-channels kernel (one 8-byte access per pixel, seven k-tiles of 32 per output
// tile) ran the ResNet-50 stem at 309 us for batch 64 on an H100, 12% occupancy, 10% of DRAM
// bandwidth. This kernel instead works from shared memory only:
//
// - One CTA of 8 warps computes a tile of kTileP x 16 output pixels (kRowsPerWarp output rows of 16
//   columns per warp) times 64 output channels. It copies the 64 filters (zero-padded to whole
//   k16 steps, rows padded so that ldmatrix is conflict-free) and the input patch the tile reads
//   ((kTileP - 1) * stride + (R - 1) * dilation + 1 rows, likewise columns, C channels per pixel;
//   pixels outside the image zero-filled) into shared memory with cp.async, one pixel or one filter
//   tap per access.
// - The reduction runs as tensor-core mma.sync m16n8k16 (f32 accumulate): B fragments of the
//   filters by ldmatrix, A fragments gathered straight from the patch: each A register is two
//   channels of one tap of one output pixel, a 4-byte shared load (conflict-free for C = 4).
//   Reduction columns past R * S * C read zero filters and are zeroed in A too.
// - Epilogue: + bias[k] (or not), relu (or not), rounded to the output dtype, staged per warp in
//   shared memory (over the operands, which are no longer needed) and stored as 16-byte rows of
//   the NHWC output. Any other epilogue is a separate elementwise pass (the emitter, conv.cc).
// - Max pool (RunConvMaxPool: conv2d's max_pool attribute, the stem's 3x3 / 2 pool): the tile is
//   then the conv outputs that a tile of pooled outputs reads (15 x 17 pixels for 7 x 8 pooled
//   ones), the staged tile is pooled in shared memory (16-byte max over the window's pixels) and
//   only the pooled pixels reach memory: a quarter of the conv's output bytes, and no pool kernel
//   reading them back. Conv pixels of a tile are numbered row by row over the tile's width, and an
//   m16 fragment covers 16 consecutive ones, so any tile width works (16 for the plain conv).
//
// Preconditions (checked by the emitter; the launcher reports a violation): NHWC activation and
// output, KRSC filter, groups 1, C == kC (4 or 8), K a multiple of 8, 16-byte aligned output and
// 8-byte aligned activation and filter, the shared memory (FixedChannelsSmemBytes) <= 227 KB.
#ifndef KILN_CUDA_CONV_FIXED_CHANNELS_CUH_
#define KILN_CUDA_CONV_FIXED_CHANNELS_CUH_

#include <cstdint>
#include <type_traits>

#include "kiln_cuda.cuh"
#include "kiln_cuda_conv_pool_tile.h"
#include "kiln_cuda_mma.cuh"

namespace kiln_cuda::fixed_channels {

using namespace kiln_cuda::mma;

/// The tile of one CTA and its shared-memory layout (b16 elements unless said otherwise).
template <int kC, int kR, int kS, int kRowsPerWarp>
struct Tile {
  static_assert(kC == 4 || kC == 8, "one pixel's channels are one 8- or 16-byte access");
  static constexpr int kWarps = 8, kThreads = 32 * kWarps;
  static constexpr int kTileQ = 16;                     // output columns: one m16 fragment
  static constexpr int kTileP = kWarps * kRowsPerWarp;  // output rows
  static constexpr int kTileK = 64;                     // output channels: eight n8 fragments
  static constexpr int kTaps = kR * kS;
  static constexpr int kRed = kTaps * kC;         // reduction length of one output value
  static constexpr int kSteps = (kRed + 15) / 16;  // k16 steps
  // A filter row: the kSteps * 16 reduction values plus 16 bytes, so that the 8 rows of an
  // ldmatrix phase start in distinct 16-byte bank groups (an odd multiple of 16 bytes).
  static constexpr int kWStride = kSteps * 16 + 8;
  static constexpr int kWBytes = kTileK * kWStride * 2;
};

/// The geometry of one launch, in ints (the launcher checks that the sizes fit).
struct Params {
  const uint16_t* x;
  const uint16_t* w;
  const void* bias;  // K values of the output dtype, or null
  void* out;
  int h, w_, k, p, q;
  int pad_h, pad_w, stride_h, stride_w, dil_h, dil_w;
  int tile_h, tile_w;    // conv output pixels of a tile: rows, columns
  int tiles_p, tiles_q;  // tiles per image: rows, columns (of pooled pixels when pooling)
  int patch_h, patch_w;  // input pixels one tile reads
  // Pooling only: the window, stride, leading pads, pooled output size and pooled tile.
  int pool_kh, pool_kw, pool_sh, pool_sw, pool_pt, pool_pl, pool_p, pool_q, pool_tile_h, pool_tile_w;
};

/// Elementwise max of two pairs of 16-bit floats, NaN if either is (max_pool2d's NaN rule).
template <bool kBF16>
__device__ __forceinline__ uint32_t MaxNan2(uint32_t a, uint32_t b) {
  uint32_t d;
  if constexpr (kBF16) {
    asm("max.NaN.bf16x2 %0, %1, %2;" : "=r"(d) : "r"(a), "r"(b));
  } else {
    asm("max.NaN.f16x2 %0, %1, %2;" : "=r"(d) : "r"(a), "r"(b));
  }
  return d;
}

/// Shared memory of one CTA: filters and patch, or (after the reduction) the output staging.
template <class Out, int kC, int kR, int kS, int kRowsPerWarp>
constexpr int64_t FixedChannelsSmemBytes(int64_t patch_h, int64_t patch_w) {
  using T = Tile<kC, kR, kS, kRowsPerWarp>;
  const int64_t operands = T::kWBytes + patch_h * patch_w * kC * 2;
  constexpr int64_t kOStride = T::kTileK + 16 / sizeof(typename Out::Storage);
  const int64_t staging = int64_t{T::kWarps} * kRowsPerWarp * 16 * kOStride * sizeof(typename Out::Storage);
  return operands > staging ? operands : staging;
}

/// One pixel (kC channels) or one filter tap, global -> shared, asynchronously.
template <int kC>
__device__ __forceinline__ void CopyPixel(uint32_t dst, const uint16_t* src, bool valid) {
  if constexpr (kC == 4) {
    CpAsync8(dst, src, valid);
  } else {
    CpAsync16(dst, src, valid);
  }
}

/// out = act(conv2d(x, w) + bias), max-pooled when kPool. Grid: (n * tiles_p * tiles_q, ceil(K / 64)).
template <bool kBF16, class Out, int kC, int kR, int kS, int kRowsPerWarp, bool kRelu, bool kPool>
__global__ void __launch_bounds__(256, 2) FixedChannelsKernel(const Params prm) {
  GridDependencyWait();
  using T = Tile<kC, kR, kS, kRowsPerWarp>;
  using OutS = typename Out::Storage;
  extern __shared__ uint4 fc_smem[];
  uint16_t* s_w = reinterpret_cast<uint16_t*>(fc_smem);
  uint16_t* s_x = s_w + T::kTileK * T::kWStride;

  int tile = static_cast<int>(blockIdx.x);
  const int tq = tile % prm.tiles_q;
  tile /= prm.tiles_q;
  const int tp = tile % prm.tiles_p;
  const int n = tile / prm.tiles_p;
  const int k0 = static_cast<int>(blockIdx.y) * T::kTileK;
  // The tile's first conv output pixel (p0, q0), before the image's first row or column for a
  // pooled tile whose windows reach into the pool's padding; (i0, j0): its first pooled pixel.
  const int i0 = tp * prm.pool_tile_h, j0 = tq * prm.pool_tile_w;
  const int p0 = kPool ? i0 * prm.pool_sh - prm.pool_pt : tp * prm.tile_h;
  const int q0 = kPool ? j0 * prm.pool_sw - prm.pool_pl : tq * prm.tile_w;

  // Filters k0 .. k0 + 63, one tap (kC values) per copy; rows past K are zeros.
  for (int i = static_cast<int>(threadIdx.x); i < T::kTileK * T::kTaps; i += T::kThreads) {
    const int row = i / T::kTaps, tap = i % T::kTaps;
    const bool valid = k0 + row < prm.k;
    const uint16_t* src = valid ? prm.w + static_cast<int64_t>(k0 + row) * T::kRed + tap * kC : prm.w;
    CopyPixel<kC>(SmemAddr(s_w + row * T::kWStride + tap * kC), src, valid);
  }
  constexpr int kPad = T::kSteps * 16 - T::kRed;  // reduction columns of the last step past kRed
  if constexpr (kPad > 0) {
    for (int i = static_cast<int>(threadIdx.x); i < T::kTileK * kPad; i += T::kThreads) {
      s_w[(i / kPad) * T::kWStride + T::kRed + i % kPad] = 0;
    }
  }
  // The input patch of the tile, pixels outside the image zero.
  const int h0 = p0 * prm.stride_h - prm.pad_h, w0 = q0 * prm.stride_w - prm.pad_w;
  for (int i = static_cast<int>(threadIdx.x); i < prm.patch_h * prm.patch_w; i += T::kThreads) {
    const int hh = h0 + i / prm.patch_w, ww = w0 + i % prm.patch_w;
    const bool valid = hh >= 0 && hh < prm.h && ww >= 0 && ww < prm.w_;
    const uint16_t* src =
        valid ? prm.x + ((static_cast<int64_t>(n) * prm.h + hh) * prm.w_ + ww) * kC : prm.x;
    CopyPixel<kC>(SmemAddr(s_x + i * kC), src, valid);
  }
  CpAsyncCommit();
  CpAsyncWaitAll();
  __syncthreads();

  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int g = lane / 4, t = lane % 4;  // fragment row group and column pair
  // A: fragment m of the warp covers the tile's conv pixels (warp * kRowsPerWarp + m) * 16 + 0..15;
  // this thread's rows g and g + 8 are pixels (r, c) of the tile, which at tap (rr, ss) read patch
  // pixel (r * stride_h + rr * dil_h, c * stride_w + ss * dil_w). pix: the patch offset of (r, c),
  // in 4-byte words (two channels); pixels past the tile read pixel (0, 0) and are never stored.
  const uint32_t* xw = reinterpret_cast<const uint32_t*>(s_x);
  constexpr int kPixelWords = kC / 2;
  const int row_words = prm.patch_w * kPixelWords;
  int pix[kRowsPerWarp][2];
#pragma unroll
  for (int m = 0; m < kRowsPerWarp; ++m) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int idx = (warp * kRowsPerWarp + m) * 16 + g + 8 * half;
      int r = idx / prm.tile_w, c = idx - r * prm.tile_w;
      if (r >= prm.tile_h) r = c = 0;
      pix[m][half] = (r * prm.stride_h * prm.patch_w + c * prm.stride_w) * kPixelWords;
    }
  }
  // B: ldmatrix x4 of n8 fragments j, j + 1 (matrices: j low k, j high k, j + 1 low, j + 1 high);
  // lane l gives row l % 8 of matrix l / 8.
  const uint32_t b_lane =
      SmemAddr(s_w + ((lane / 16) * 8 + lane % 8) * T::kWStride + ((lane / 8) % 2) * 8);

  float acc[kRowsPerWarp][8][4];
#pragma unroll
  for (int m = 0; m < kRowsPerWarp; ++m) {
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[m][j][0] = acc[m][j][1] = acc[m][j][2] = acc[m][j][3] = 0.f;
  }
#pragma unroll
  for (int kk = 0; kk < T::kSteps; ++kk) {
    uint32_t b[8][2];
#pragma unroll
    for (int j = 0; j < 8; j += 2) {
      uint32_t r4[4];
      LdMatrixX4(r4, b_lane + (j * 8 * T::kWStride + kk * 16) * 2);
      b[j][0] = r4[0];
      b[j][1] = r4[1];
      b[j + 1][0] = r4[2];
      b[j + 1][1] = r4[3];
    }
    // This thread's reduction columns 2t, 2t + 1 (half 0) and 2t + 8, 2t + 9 (half 1) of the step:
    // channels ch, ch + 1 of one tap each.
    int off[2];
    bool live[2];
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int col = kk * 16 + 2 * t + 8 * half;
      const int tap = col / kC, ch = col % kC;
      live[half] = tap < T::kTaps;
      const int r = tap / kS, s = tap % kS;
      off[half] = r * prm.dil_h * row_words + (s * prm.dil_w) * kPixelWords + ch / 2;
    }
#pragma unroll
    for (int m = 0; m < kRowsPerWarp; ++m) {
      uint32_t a[4];
      a[0] = live[0] ? xw[pix[m][0] + off[0]] : 0u;
      a[1] = live[0] ? xw[pix[m][1] + off[0]] : 0u;
      a[2] = live[1] ? xw[pix[m][0] + off[1]] : 0u;
      a[3] = live[1] ? xw[pix[m][1] + off[1]] : 0u;
#pragma unroll
      for (int j = 0; j < 8; ++j) Mma16816<kBF16>(acc[m][j], a, b[j][0], b[j][1]);
    }
  }

  // Epilogue: the operands' shared memory becomes the staging tile, [kRowsPerWarp * 16 pixels]
  // [64 channels + 16 bytes] per warp.
  __syncthreads();
  constexpr int kOStride = T::kTileK + 16 / static_cast<int>(sizeof(OutS));
  OutS* s_o = reinterpret_cast<OutS*>(fc_smem) + warp * (kRowsPerWarp * 16 * kOStride);
  const auto* bias = static_cast<const OutS*>(prm.bias);
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const int col = j * 8 + 2 * t;
    float b0 = 0.f, b1 = 0.f;
    if (bias != nullptr && k0 + col < prm.k) {  // K % 8 == 0: col + 1 is in range too
      b0 = Out::Load(bias[k0 + col]);
      b1 = Out::Load(bias[k0 + col + 1]);
    }
#pragma unroll
    for (int m = 0; m < kRowsPerWarp; ++m) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {  // fragment rows g and g + 8
        float v0 = acc[m][j][2 * half] + b0, v1 = acc[m][j][2 * half + 1] + b1;
        if constexpr (kRelu) {
          v0 = fmaxf(v0, 0.f);
          v1 = fmaxf(v1, 0.f);
        }
        OutS* dst = s_o + (m * 16 + g + 8 * half) * kOStride + col;
        if constexpr (sizeof(OutS) == 2) {
          *reinterpret_cast<uint32_t*>(dst) = PackTwo<std::is_same_v<Out, BF16>>(v0, v1);
        } else {
          *reinterpret_cast<float2*>(dst) = make_float2(v0, v1);
        }
      }
    }
  }
  constexpr int kChunkElems = 16 / static_cast<int>(sizeof(OutS));
  constexpr int kChunks = T::kTileK / kChunkElems;  // 16-byte pieces of a pixel's 64 channels
  auto* out = static_cast<OutS*>(prm.out);
  if constexpr (!kPool) {
    __syncwarp();
    const int first = warp * kRowsPerWarp * 16;  // the warp's first pixel in the tile
#pragma unroll 4
    for (int i = lane; i < kRowsPerWarp * 16 * kChunks; i += 32) {
      const int pixel = i / kChunks, chunk = i % kChunks;
      const int r = (first + pixel) / prm.tile_w, c = (first + pixel) % prm.tile_w;
      const int p = p0 + r, q = q0 + c, k = k0 + chunk * kChunkElems;
      if (r < prm.tile_h && p < prm.p && q < prm.q && k < prm.k) {
        *reinterpret_cast<uint4*>(out + ((static_cast<int64_t>(n) * prm.p + p) * prm.q + q) * prm.k + k) =
            *reinterpret_cast<const uint4*>(s_o + pixel * kOStride + chunk * kChunkElems);
      }
    }
  } else {
    // Every warp's pixels staged: pooled pixel (i0 + a, j0 + b) is the max over conv pixels
    // (a * pool_sh + dr, b * pool_sw + dc) of the tile that lie in the image (the rest is the
    // pool's -inf padding), 8 channels per 16-byte access.
    static_assert(sizeof(OutS) == 2, "the fused max pool takes 16-bit outputs");
    __syncthreads();
    const OutS* s_all = reinterpret_cast<const OutS*>(fc_smem);
    constexpr bool kOutBF16 = std::is_same_v<Out, BF16>;
    const uint32_t neg_inf = kOutBF16 ? 0xFF80FF80u : 0xFC00FC00u;
    for (int i = static_cast<int>(threadIdx.x); i < prm.pool_tile_h * prm.pool_tile_w * kChunks;
         i += T::kThreads) {
      const int px = i / kChunks, chunk = i % kChunks;
      const int a = px / prm.pool_tile_w, b = px % prm.pool_tile_w;
      const int oi = i0 + a, oj = j0 + b, k = k0 + chunk * kChunkElems;
      if (oi >= prm.pool_p || oj >= prm.pool_q || k >= prm.k) continue;
      uint4 best = make_uint4(neg_inf, neg_inf, neg_inf, neg_inf);
      for (int dr = 0; dr < prm.pool_kh; ++dr) {
        const int r = a * prm.pool_sh + dr;
        if (p0 + r < 0 || p0 + r >= prm.p) continue;
        for (int dc = 0; dc < prm.pool_kw; ++dc) {
          const int c = b * prm.pool_sw + dc;
          if (q0 + c < 0 || q0 + c >= prm.q) continue;
          const uint4 v = *reinterpret_cast<const uint4*>(s_all + (r * prm.tile_w + c) * kOStride + chunk * kChunkElems);
          best.x = MaxNan2<kOutBF16>(best.x, v.x);
          best.y = MaxNan2<kOutBF16>(best.y, v.y);
          best.z = MaxNan2<kOutBF16>(best.z, v.z);
          best.w = MaxNan2<kOutBF16>(best.w, v.w);
        }
      }
      *reinterpret_cast<uint4*>(out + ((static_cast<int64_t>(n) * prm.pool_p + oi) * prm.pool_q + oj) * prm.k + k) = best;
    }
  }
}

/// Enqueues the kernel for d = act(conv2d(x, w) + bias), max-pooled by `pool` when kPool (In: F16
/// or BF16; Out: F16, BF16 or F32, 16-bit when pooling; bias: K values of Out, or null for none;
/// kRelu: relu, else identity). Failures are reported through kiln_rt::DeviceReportError.
template <class In, class Out, int kC, int kR, int kS, int kRowsPerWarp, bool kRelu, bool kPool>
void Enqueue(const char* what, const ConvGeometry& g, const MaxPool* pool, const void* x, const void* w,
            const void* bias, void* d, void* stream) {
  static_assert(std::is_same_v<In, F16> || std::is_same_v<In, BF16>, "tensor-core inputs are f16 / bf16");
  using T = Tile<kC, kR, kS, kRowsPerWarp>;
  if (g.n <= 0 || g.p <= 0 || g.q <= 0 || g.k <= 0) return;
  if (g.c != kC || g.r != kR || g.s != kS || g.k % 8 != 0) {
    kiln_rt::DeviceReportError(what, "the convolution does not match the kernel it was built for");
    return;
  }
  if (reinterpret_cast<uintptr_t>(x) % (2 * kC) != 0 || reinterpret_cast<uintptr_t>(w) % (2 * kC) != 0 ||
      !Aligned16(d) || (bias != nullptr && reinterpret_cast<uintptr_t>(bias) % 4 != 0)) {
    kiln_rt::DeviceReportError(what, "misaligned operand (the activation and filter need one pixel's "
                               "alignment, the output 16 bytes)");
    return;
  }
  Params prm{};
  // The tile: 16 columns of conv pixels by one row per warp fragment, or the conv pixels of a
  // pooled tile (PooledTile over the CTA's kTileP * 16 pixels).
  int64_t tiles_p, tiles_q;
  if constexpr (kPool) {
    if (pool->kh < 1 || pool->kw < 1 || pool->sh < 1 || pool->sw < 1 || pool->p < 1 || pool->q < 1) {
      kiln_rt::DeviceReportError(what, "invalid max pool window");
      return;
    }
    const PoolTile pt = PooledTile(*pool, T::kTileP * T::kTileQ);
    const int ph = pt.ph, pw = pt.pw;
    if (ph < 1) {
      kiln_rt::DeviceReportError(what, "the max pool window is too large for the few-channel kernel's tile");
      return;
    }
    prm.pool_kh = pool->kh, prm.pool_kw = pool->kw, prm.pool_sh = pool->sh, prm.pool_sw = pool->sw;
    prm.pool_pt = pool->pt, prm.pool_pl = pool->pl;
    prm.pool_p = static_cast<int>(pool->p), prm.pool_q = static_cast<int>(pool->q);
    prm.pool_tile_h = ph, prm.pool_tile_w = pw;
    prm.tile_h = pt.th, prm.tile_w = pt.tw;
    tiles_p = (pool->p + ph - 1) / ph;
    tiles_q = (pool->q + pw - 1) / pw;
  } else {
    prm.tile_h = T::kTileP, prm.tile_w = T::kTileQ;
    tiles_p = (g.p + T::kTileP - 1) / T::kTileP;
    tiles_q = (g.q + T::kTileQ - 1) / T::kTileQ;
  }
  const int64_t patch_h = (prm.tile_h - 1) * int64_t{g.stride_h} + (kR - 1) * int64_t{g.dilation_h} + 1;
  const int64_t patch_w = (prm.tile_w - 1) * int64_t{g.stride_w} + (kS - 1) * int64_t{g.dilation_w} + 1;
  const int64_t smem = FixedChannelsSmemBytes<Out, kC, kR, kS, kRowsPerWarp>(patch_h, patch_w);
  const int64_t blocks = g.n * tiles_p * tiles_q;
  if (g.n * g.h * g.w * g.c > INT32_MAX || g.n * g.p * g.q > INT32_MAX || blocks > INT32_MAX ||
      smem > 227 * 1024 || (g.k + T::kTileK - 1) / T::kTileK > 65535) {
    kiln_rt::DeviceReportError(what, "the convolution is too large for the few-channel kernel");
    return;
  }
  auto kernel = FixedChannelsKernel<std::is_same_v<In, BF16>, Out, kC, kR, kS, kRowsPerWarp, kRelu, kPool>;
  if (smem > 48 * 1024) {
    // Past the default limit: opt in (per launch: the attribute belongs to the current device).
    const cudaError_t attr =
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
    if (attr != cudaSuccess) {
      kiln_rt::DeviceReportError(what, cudaGetErrorString(attr));
      return;
    }
  }
  prm.x = static_cast<const uint16_t*>(x);
  prm.w = static_cast<const uint16_t*>(w);
  prm.bias = bias;
  prm.out = d;
  prm.h = static_cast<int>(g.h);
  prm.w_ = static_cast<int>(g.w);
  prm.k = static_cast<int>(g.k);
  prm.p = static_cast<int>(g.p);
  prm.q = static_cast<int>(g.q);
  prm.pad_h = g.pad_h;
  prm.pad_w = g.pad_w;
  prm.stride_h = g.stride_h;
  prm.stride_w = g.stride_w;
  prm.dil_h = g.dilation_h;
  prm.dil_w = g.dilation_w;
  prm.tiles_p = static_cast<int>(tiles_p);
  prm.tiles_q = static_cast<int>(tiles_q);
  prm.patch_h = static_cast<int>(patch_h);
  prm.patch_w = static_cast<int>(patch_w);
  const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>((g.k + T::kTileK - 1) / T::kTileK));
  kiln_cuda::Launch(kernel, grid, T::kThreads, static_cast<size_t>(smem), AsStream(stream), prm);
}

/// Enqueues d = act(conv2d(x, w) + bias) on `stream` (see Enqueue).
template <class In, class Out, int kC, int kR, int kS, int kRowsPerWarp, bool kRelu>
void RunConv(const char* what, const ConvGeometry& g, const void* x, const void* w, const void* bias, void* d,
             void* stream) {
  Enqueue<In, Out, kC, kR, kS, kRowsPerWarp, kRelu, false>(what, g, nullptr, x, w, bias, d, stream);
}

/// Enqueues d = max_pool(act(conv2d(x, w) + bias)) on `stream`: conv2d's max_pool attribute, the
/// conv's output never stored (see Enqueue; g.p, g.q: the conv's output size, pool.p, pool.q: d's).
template <class In, class Out, int kC, int kR, int kS, int kRowsPerWarp, bool kRelu>
void RunConvMaxPool(const char* what, const ConvGeometry& g, const MaxPool& pool, const void* x, const void* w,
                    const void* bias, void* d, void* stream) {
  Enqueue<In, Out, kC, kR, kS, kRowsPerWarp, kRelu, true>(what, g, &pool, x, w, bias, d, stream);
}

}  // namespace kiln_cuda::fixed_channels

#endif  // KILN_CUDA_CONV_FIXED_CHANNELS_CUH_
