// kiln_cuda: data movement for the layout and indexing ops (transpose, expand, slice, concat,
// split, pad, gather/embedding), included by kiln_cuda.cuh. Elements move as opaque words of
// their size (1, 2, 4 or 8 bytes: the kernels are templated on the word type), so every dtype
// works and results are exact.
//
// - StridedCopy: dst[dst offset of i] = src[src offset of i] over an index space of up to 8 dims,
//   each side with its own element strides (transpose, expand with stride 0, slice with start
//   offset and step strides, concat / split as copies into / out of a column block); the space
//   coalesced, and moved in 16-, 8- or 4-byte words where its last axis is contiguous on both
//   sides (kiln_cuda_copy_geometry.h).
// - Transpose: a permutation that moves the last axis goes through tiles in shared memory, so
//   both the reads (along the input's last axis) and the writes (along the output's) are
//   coalesced: 16-byte vectors where both extents are multiples of one (f16: 64x64 tiles), else
//   32x32 tiles (64x64 moved as element pairs for 1- and 2-byte elements of even extents); other
//   permutations, and those whose new last axis is 16 long or shorter (an NCHW image's channels),
//   gather: one output row per thread and one store (ShortRows) where rows are 4, 8 or 16 bytes,
//   else a StridedCopy.
// - Pad (constant, reflect, edge), GatherRows and GatherElements: one thread per output element;
//   a constant pad of one axis (nothing inside it padded) as row blocks, 16 bytes per thread
//   where aligned.
// Index arithmetic is 32-bit where sizes allow (64-bit division is emulated on the GPU).
#ifndef KILN_CUDA_LAYOUT_CUH_
#define KILN_CUDA_LAYOUT_CUH_

#include <cstdint>
#include <cstring>

#include "kiln_cuda_copy_geometry.h"

namespace kiln_cuda {

/// The storage word of an element of `kBytes` bytes.
template <int kBytes>
struct Word;
template <>
struct Word<1> {
  using Type = uint8_t;
};
template <>
struct Word<2> {
  using Type = uint16_t;
};
template <>
struct Word<4> {
  using Type = uint32_t;
};
template <>
struct Word<8> {
  using Type = uint64_t;
};

/// kLen elements of T moved as one aligned word (a vector load / store).
template <typename T, int kLen>
struct alignas(sizeof(T) * kLen) Pack {
  T v[kLen];
};

/// 16 bytes, moved as one vector (a StridedCopy widened to 16-byte words).
template <>
struct Word<16> {
  using Type = Pack<uint32_t, 4>;
};

/// I: the index type, int32_t where every index and offset fits (the common case: 64-bit integer
/// division is emulated on the GPU and made these kernels compute-bound), else int64_t.
template <typename T, typename I>
__global__ void StridedCopyKernel(const T* src, T* dst, int64_t n, CopyGeometry g) {
  GridDependencyWait();
  I dims[kMaxCopyDims], ss[kMaxCopyDims], ds[kMaxCopyDims];
  for (int a = 0; a < g.rank; ++a) {
    dims[a] = static_cast<I>(g.dims[a]);
    ss[a] = static_cast<I>(g.src_strides[a]);
    ds[a] = static_cast<I>(g.dst_strides[a]);
  }
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    I s = 0, d = 0, rest = static_cast<I>(i);
    for (int a = g.rank - 1; a >= 0; --a) {
      const I idx = rest % dims[a];
      rest /= dims[a];
      s += idx * ss[a];
      d += idx * ds[a];
    }
    dst[d] = src[s];
  }
}

/// StridedCopyKernel over g as it is, in words of kBytes.
template <int kBytes>
void LaunchStridedCopy(const void* src, void* dst, const CopyGeometry& g, int64_t n, void* stream) {
  using T = typename Word<kBytes>::Type;
  const auto* s = static_cast<const T*>(src);
  auto* d = static_cast<T*>(dst);
  if (FitsInt32(g)) {
    Launch(StridedCopyKernel<T, int32_t>, GridFor(n, 256), 256, 0, AsStream(stream), s, d, n, g);
  } else {
    Launch(StridedCopyKernel<T, int64_t>, GridFor(n, 256), 256, 0, AsStream(stream), s, d, n, g);
  }
}

/// Copies every index of g's space: dst[sum idx*dst_strides] = src[sum idx*src_strides] (element
/// units, from the given base pointers). Pre: g.rank <= 8; the written elements are distinct.
/// The space is coalesced first, and moved in 16-, 8- or 4-byte words where its contiguous last
/// axis and alignment allow (kiln_cuda_copy_geometry.h).
template <int kBytes>
void StridedCopy(const void* src, void* dst, const CopyGeometry& geometry, void* stream) {
  int64_t n = 1;
  for (int a = 0; a < geometry.rank; ++a) n *= geometry.dims[a];
  if (n <= 0) return;
  CopyGeometry g = CoalesceCopy(geometry);
  int words = 0;  // bytes per moved word, when wider than an element
  for (int w : {16, 8, 4}) {
    if (w > kBytes && WidenCopy(kBytes, w, src, dst, &g)) {
      words = w;
      break;
    }
  }
  switch (words) {
    case 16: return LaunchStridedCopy<16>(src, dst, g, n * kBytes / 16, stream);
    case 8: return LaunchStridedCopy<8>(src, dst, g, n * kBytes / 8, stream);
    case 4: return LaunchStridedCopy<4>(src, dst, g, n * kBytes / 4, stream);
    default: return LaunchStridedCopy<kBytes>(src, dst, g, n, stream);
  }
}

/// Copies `rows` rows of `cols` elements: row r of src starts at src + r * src_pitch, of dst at
/// dst + r * dst_pitch (element units). Concat copies each operand [outer, len_i * inner] into
/// its column block of the result, split the other way round.
template <int kBytes>
void CopyRows(const void* src, int64_t src_pitch, void* dst, int64_t dst_pitch, int64_t rows,
              int64_t cols, void* stream) {
  CopyGeometry g;
  g.rank = 2;
  g.dims[0] = rows;
  g.dims[1] = cols;
  g.src_strides[0] = src_pitch;
  g.dst_strides[0] = dst_pitch;
  g.src_strides[1] = g.dst_strides[1] = 1;
  StridedCopy<kBytes>(src, dst, g, stream);
}

/// y (dst_dims) = x (src_dims) sliced: y[i] = x[starts + i * steps] per axis (steps may be
/// negative; starts already clamped and in range). Pre: rank <= 8.
template <int kBytes>
void Slice(const void* x, const int64_t* src_dims, const int64_t* starts, const int64_t* steps,
           int rank, void* y, const int64_t* dst_dims, void* stream) {
  CopyGeometry g;
  g.rank = rank;
  int64_t src_stride = 1, dst_stride = 1, base = 0;
  for (int a = rank - 1; a >= 0; --a) {
    g.dims[a] = dst_dims[a];
    g.src_strides[a] = src_stride * steps[a];
    g.dst_strides[a] = dst_stride;
    base += starts[a] * src_stride;
    src_stride *= src_dims[a];
    dst_stride *= dst_dims[a];
  }
  StridedCopy<kBytes>(static_cast<const typename Word<kBytes>::Type*>(x) + base, y, g, stream);
}

/// y (dst_dims, dst_rank) = x (src_dims, src_rank <= dst_rank) broadcast numpy-style (dims
/// aligned at the end; a src dim of 1 repeats). Pre: dst_rank <= 8.
template <int kBytes>
void Expand(const void* x, const int64_t* src_dims, int src_rank, void* y, const int64_t* dst_dims,
            int dst_rank, void* stream) {
  CopyGeometry g;
  g.rank = dst_rank;
  int64_t src_stride = 1, dst_stride = 1;
  for (int a = dst_rank - 1; a >= 0; --a) {
    const int sa = a - (dst_rank - src_rank);  // the aligned src axis, < 0 when absent
    const int64_t sd = sa >= 0 ? src_dims[sa] : 1;
    g.dims[a] = dst_dims[a];
    g.src_strides[a] = sd == 1 ? 0 : src_stride;
    g.dst_strides[a] = dst_stride;
    src_stride *= sd;
    dst_stride *= dst_dims[a];
  }
  StridedCopy<kBytes>(x, y, g, stream);
}

/// The offsets in x (src strides) and y (dst strides) of index o of the axes a transpose tile
/// does not cover.
__device__ __forceinline__ void RestOffsets(const CopyGeometry& rest, int64_t o, int64_t* xs,
                                            int64_t* ys) {
  for (int d = rest.rank - 1; d >= 0; --d) {
    const int64_t idx = o % rest.dims[d];
    o /= rest.dims[d];
    *xs += idx * rest.src_strides[d];
    *ys += idx * rest.dst_strides[d];
  }
}

/// Tiled transpose of x (dims[0..rank)) by perm (out dim i = in dim perm[i]) for permutations
/// that move the last axis: a is the input's last axis, b = perm[rank-1] the input axis that
/// becomes the output's last. Each block moves one 32x32 tile of (b, a) for one index of the
/// other axes (blockIdx.z, grid-strided).
template <typename T>
__global__ void TransposeTileKernel(const T* x, T* y, int64_t len_a, int64_t len_b,
                                    int64_t in_stride_b, int64_t out_stride_a, int64_t others,
                                    CopyGeometry rest) {
  GridDependencyWait();
  __shared__ T tile[32][33];  // +1 column: no bank conflicts on the transposed reads
  const int64_t a0 = static_cast<int64_t>(blockIdx.x) * 32,
                b0 = static_cast<int64_t>(blockIdx.y) * 32;
  for (int64_t o = blockIdx.z; o < others; o += gridDim.z) {
    int64_t xs = 0, ys = 0;
    RestOffsets(rest, o, &xs, &ys);
    // Read rows b of the tile along a (contiguous in x).
    for (int i = threadIdx.y; i < 32; i += blockDim.y) {
      const int64_t a = a0 + threadIdx.x, b = b0 + i;
      if (a < len_a && b < len_b) tile[i][threadIdx.x] = x[xs + b * in_stride_b + a];
    }
    __syncthreads();
    // Write rows a of the tile along b (contiguous in y).
    for (int i = threadIdx.y; i < 32; i += blockDim.y) {
      const int64_t b = b0 + threadIdx.x, a = a0 + i;
      if (a < len_a && b < len_b) y[ys + a * out_stride_a + b] = tile[threadIdx.x][i];
    }
    __syncthreads();
  }
}

/// TransposeTileKernel for 1- and 2-byte elements: 64x64 tiles whose rows move as words of two
/// elements (P), so a warp reads and writes 128-byte runs of 2-byte elements where the one-element
/// tile moves 64. Pre: len_a and len_b even, x and y aligned to P (every offset is then even).
template <typename T, typename P>
__global__ void TransposePairTileKernel(const T* x, T* y, int64_t len_a, int64_t len_b,
                                        int64_t in_stride_b, int64_t out_stride_a, int64_t others,
                                        CopyGeometry rest) {
  GridDependencyWait();
  static_assert(sizeof(P) == 2 * sizeof(T), "P holds two elements");
  __shared__ T
      tile[64][65];  // odd row length: the column reads of the write phase hit distinct banks
  const int64_t a0 = static_cast<int64_t>(blockIdx.x) * 64,
                b0 = static_cast<int64_t>(blockIdx.y) * 64;
  const int tx = 2 * threadIdx.x;
  for (int64_t o = blockIdx.z; o < others; o += gridDim.z) {
    int64_t xs = 0, ys = 0;
    RestOffsets(rest, o, &xs, &ys);
    for (int i = threadIdx.y; i < 64; i += blockDim.y) {  // rows b, pairs along a
      const int64_t a = a0 + tx, b = b0 + i;
      if (a < len_a && b < len_b) {
        const P p = *reinterpret_cast<const P*>(x + xs + b * in_stride_b + a);
        const T* e = reinterpret_cast<const T*>(&p);
        tile[i][tx] = e[0];
        tile[i][tx + 1] = e[1];
      }
    }
    __syncthreads();
    for (int i = threadIdx.y; i < 64; i += blockDim.y) {  // rows a, pairs along b
      const int64_t b = b0 + tx, a = a0 + i;
      if (a < len_a && b < len_b) {
        P p;
        T* e = reinterpret_cast<T*>(&p);
        e[0] = tile[tx][i];
        e[1] = tile[tx + 1][i];
        *reinterpret_cast<P*>(y + ys + a * out_stride_a + b) = p;
      }
    }
    __syncthreads();
  }
}

/// Transpose tiles moved as 16-byte vectors of V = 16 / sizeof(T) elements (f16: 8; 1-, 2- and
/// 4-byte elements): a tile is 8V rows b x 8V elements a (one 128-byte row of 8 vectors per b),
/// 128 threads, each loading 4 input vectors and storing 4 output vectors. A thread builds an
/// output vector (V consecutive b at one a) from V shared-memory reads down a column; the tile's
/// vector slots are swizzled by row group (slot v of row r at v ^ (r / V)), so those reads, one
/// per row group per warp, hit distinct banks, as do the 16-byte writes of the load phase.
/// Pre: len_a and len_b multiples of V, x and y 16-byte aligned (every offset is then a multiple of
/// V: all strides but the last are multiples of len_a in x and of len_b in y).
template <typename T>
__global__ void __launch_bounds__(128)
    TransposeVectorTileKernel(const T* x, T* y, int64_t len_a, int64_t len_b, int64_t in_stride_b,
                              int64_t out_stride_a, int64_t others, CopyGeometry rest) {
  GridDependencyWait();
  constexpr int V = 16 / sizeof(T), kRows = 8 * V;
  using Vec = Pack<T, V>;
  __shared__ Vec tile[kRows][8];
  const int64_t a0 = static_cast<int64_t>(blockIdx.x) * kRows,
                b0 = static_cast<int64_t>(blockIdx.y) * kRows;
  for (int64_t o = blockIdx.z; o < others; o += gridDim.z) {
    int64_t xs = 0, ys = 0;
    RestOffsets(rest, o, &xs, &ys);
#pragma unroll
    for (int k = 0; k < kRows * 8 / 128; ++k) {  // rows b, vectors along a
      const int i = threadIdx.x + 128 * k, r = i / 8, v = i % 8;
      const int64_t a = a0 + v * V, b = b0 + r;
      if (a < len_a && b < len_b)
        tile[r][v ^ (r / V)] = *reinterpret_cast<const Vec*>(x + xs + b * in_stride_b + a);
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kRows * 8 / 128; ++k) {  // rows a, vectors along b
      const int i = threadIdx.x + 128 * k, r = i / 8, g = i % 8;
      const int64_t a = a0 + r, b = b0 + g * V;
      if (a < len_a && b < len_b) {
        Vec out;
#pragma unroll
        for (int j = 0; j < V; ++j) out.v[j] = tile[g * V + j][(r / V) ^ g].v[r % V];
        *reinterpret_cast<Vec*>(y + ys + a * out_stride_a + b) = out;
      }
    }
    __syncthreads();
  }
}

/// A gather whose output rows are kLen elements long: thread r reads row r's elements (the row's
/// offset from g, the index space of the output without its last axis; the elements
/// `last_stride` apart) and writes them as one kLen-word store. An NCHW image with 4 channels
/// becomes NHWC as one 8-byte store per pixel, with a quarter of the index arithmetic.
template <typename T, int kLen, typename I>
__global__ void ShortRowsKernel(const T* src, Pack<T, kLen>* dst, int64_t rows, CopyGeometry g,
                                int64_t last_stride) {
  GridDependencyWait();
  I dims[kMaxCopyDims], ss[kMaxCopyDims];
  for (int a = 0; a < g.rank; ++a) {
    dims[a] = static_cast<I>(g.dims[a]);
    ss[a] = static_cast<I>(g.src_strides[a]);
  }
  const I step = static_cast<I>(last_stride);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; r < rows;
       r += stride) {
    I s = 0, rest = static_cast<I>(r);
    for (int a = g.rank - 1; a >= 0; --a) {
      const I idx = rest % dims[a];
      rest /= dims[a];
      s += idx * ss[a];
    }
    Pack<T, kLen> p;
#pragma unroll
    for (int i = 0; i < kLen; ++i) p.v[i] = src[s + i * step];
    dst[r] = p;
  }
}

/// g's copy as ShortRowsKernel when its destination is packed rows of kRowBytes (4, 8 or 16)
/// bytes, at least two elements each, at an aligned address; false (nothing launched) otherwise.
template <int kBytes, int kRowBytes>
bool ShortRows(const void* src, void* dst, const CopyGeometry& g, void* stream) {
  using T = typename Word<kBytes>::Type;
  constexpr int kLen = kRowBytes / kBytes;
  if constexpr (kLen < 2) {
    return false;
  } else {
    const int last = g.rank - 1;
    if (g.rank < 1 || g.dims[last] != kLen || g.dst_strides[last] != 1 ||
        reinterpret_cast<uintptr_t>(dst) % kRowBytes != 0) {
      return false;
    }
    CopyGeometry rows;  // the output without its last axis
    rows.rank = last;
    int64_t n = 1;
    for (int a = last - 1; a >= 0; --a) {
      if (g.dst_strides[a] != n * kLen) return false;  // not packed rows
      rows.dims[a] = g.dims[a];
      rows.src_strides[a] = g.src_strides[a];
      rows.dst_strides[a] = 0;
      n *= g.dims[a];
    }
    if (n <= 0) return true;
    auto* d = static_cast<Pack<T, kLen>*>(dst);
    const auto* s = static_cast<const T*>(src);
    if (FitsInt32(g)) {
      Launch(ShortRowsKernel<T, kLen, int32_t>, GridFor(n, 256), 256, 0, AsStream(stream), s, d, n,
             rows, g.src_strides[last]);
    } else {
      Launch(ShortRowsKernel<T, kLen, int64_t>, GridFor(n, 256), 256, 0, AsStream(stream), s, d, n,
             rows, g.src_strides[last]);
    }
    return true;
  }
}

/// y = transpose of x (row-major, dims[0..rank)) by perm: out dim i = in dim perm[i].
/// Pre: rank <= 8.
template <int kBytes>
void Transpose(const void* x, const int64_t* dims, const int64_t* perm, int rank, void* y,
               void* stream) {
  using T = typename Word<kBytes>::Type;
  int64_t in_strides[kMaxCopyDims], out_dims[kMaxCopyDims], out_strides[kMaxCopyDims];
  int64_t n = 1;
  for (int a = rank - 1; a >= 0; --a) {
    in_strides[a] = n;
    n *= dims[a];
  }
  if (n <= 0) return;
  int64_t s = 1;
  for (int i = rank - 1; i >= 0; --i) {
    out_dims[i] = dims[perm[i]];
    out_strides[i] = s;
    s *= out_dims[i];
  }
  const int last = rank - 1;
  // A 32x32 tile needs both transposed extents to be long: with 16 or fewer along the new last
  // axis (an NCHW image's 3 channels) most of its threads would idle; the gather below is
  // coalesced enough there (adjacent threads read 16-element runs of adjacent rows).
  if (rank >= 2 && perm[last] != last && dims[last] > 1 && dims[perm[last]] > 16) {
    // The input's last axis a lands at output position pa; b = perm[last] becomes the last.
    int pa = 0;
    while (perm[pa] != last) ++pa;
    const int b = static_cast<int>(perm[last]);
    CopyGeometry rest;
    for (int i = 0; i < rank; ++i) {
      if (i == pa || i == last) continue;  // output positions of a and b
      rest.dims[rest.rank] = out_dims[i];
      rest.src_strides[rest.rank] = in_strides[perm[i]];
      rest.dst_strides[rest.rank] = out_strides[i];
      ++rest.rank;
    }
    const int64_t others = n / (dims[last] * dims[b]);
    const unsigned z = static_cast<unsigned>(others < 65535 ? others : 65535);
    if constexpr (kBytes <= 4) {
      constexpr int V = 16 / kBytes;
      if (dims[last] % V == 0 && dims[b] % V == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 &&
          reinterpret_cast<uintptr_t>(y) % 16 == 0) {
        const dim3 grid(static_cast<unsigned>((dims[last] + 8 * V - 1) / (8 * V)),
                        static_cast<unsigned>((dims[b] + 8 * V - 1) / (8 * V)), z);
        Launch(TransposeVectorTileKernel<T>, grid, 128, 0, AsStream(stream),
               static_cast<const T*>(x), static_cast<T*>(y), dims[last], dims[b], in_strides[b],
               out_strides[pa], others, rest);
        return;
      }
    }
    if constexpr (kBytes <= 2) {
      using P = typename Word<2 * kBytes>::Type;
      if (dims[last] % 2 == 0 && dims[b] % 2 == 0 &&
          reinterpret_cast<uintptr_t>(x) % sizeof(P) == 0 &&
          reinterpret_cast<uintptr_t>(y) % sizeof(P) == 0) {
        const dim3 grid(static_cast<unsigned>((dims[last] + 63) / 64),
                        static_cast<unsigned>((dims[b] + 63) / 64), z);
        Launch(TransposePairTileKernel<T, P>, grid, dim3(32, 8), 0, AsStream(stream),
               static_cast<const T*>(x), static_cast<T*>(y), dims[last], dims[b], in_strides[b],
               out_strides[pa], others, rest);
        return;
      }
    }
    const dim3 grid(static_cast<unsigned>((dims[last] + 31) / 32),
                    static_cast<unsigned>((dims[b] + 31) / 32), z);
    Launch(TransposeTileKernel<T>, grid, dim3(32, 8), 0, AsStream(stream), static_cast<const T*>(x),
           static_cast<T*>(y), dims[last], dims[b], in_strides[b], out_strides[pa], others, rest);
    return;
  }
  // The last axis stays (or a moved axis is 1 long, or the new last axis short): walk the
  // output, gather from the input; short new rows of 4, 8 or 16 bytes as one store each.
  CopyGeometry g;
  g.rank = rank;
  for (int i = 0; i < rank; ++i) {
    g.dims[i] = out_dims[i];
    g.src_strides[i] = in_strides[perm[i]];
    g.dst_strides[i] = out_strides[i];
  }
  if (perm[last] != last &&
      (ShortRows<kBytes, 16>(x, y, g, stream) || ShortRows<kBytes, 8>(x, y, g, stream) ||
       ShortRows<kBytes, 4>(x, y, g, stream))) {
    return;
  }
  StridedCopy<kBytes>(x, y, g, stream);
}

/// How pad fills positions outside the operand.
enum class PadMode : int { kConstant = 0, kReflect = 1, kEdge = 2 };

struct PadGeometry {
  int rank = 0;
  int64_t src_dims[kMaxCopyDims], dst_dims[kMaxCopyDims], pads_begin[kMaxCopyDims];
};

template <typename T, PadMode kMode, typename I>
__global__ void PadKernel(const T* x, T* y, int64_t n, PadGeometry g, T fill) {
  GridDependencyWait();
  I src_dims[kMaxCopyDims], dst_dims[kMaxCopyDims], pads[kMaxCopyDims];
  for (int a = 0; a < g.rank; ++a) {
    src_dims[a] = static_cast<I>(g.src_dims[a]);
    dst_dims[a] = static_cast<I>(g.dst_dims[a]);
    pads[a] = static_cast<I>(g.pads_begin[a]);
  }
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < n;
       k += stride) {
    I rest = static_cast<I>(k), offset = 0, src_stride = 1;
    bool inside = true;
    for (int a = g.rank - 1; a >= 0; --a) {
      const I len = src_dims[a];
      I i = rest % dst_dims[a] - pads[a];
      rest /= dst_dims[a];
      if (i < 0 || i >= len) {
        if (kMode == PadMode::kConstant) {
          inside = false;
        } else if (kMode == PadMode::kEdge || len == 1) {
          i = i < 0 ? 0 : len - 1;
        } else {  // reflect without repeating the edge, period 2 (len - 1)
          const I period = 2 * (len - 1);
          const I m = ((i % period) + period) % period;
          i = m < len ? m : period - m;
        }
      }
      offset += i * src_stride;
      src_stride *= len;
    }
    y[k] = inside ? x[offset] : fill;
  }
}

template <typename T, typename I>
void LaunchPad(PadMode mode, unsigned grid, cudaStream_t s, const T* xs, T* ys, int64_t n,
               const PadGeometry& g, T f) {
  switch (mode) {
    case PadMode::kConstant:
      Launch(PadKernel<T, PadMode::kConstant, I>, grid, 256, 0, s, xs, ys, n, g, f);
      break;
    case PadMode::kReflect:
      Launch(PadKernel<T, PadMode::kReflect, I>, grid, 256, 0, s, xs, ys, n, g, f);
      break;
    case PadMode::kEdge:
      Launch(PadKernel<T, PadMode::kEdge, I>, grid, 256, 0, s, xs, ys, n, g, f);
      break;
  }
}

/// A constant pad of one axis with every axis inside it whole: y as [outer, dst_cols] rows, x as
/// [outer, src_cols], y[r, c] = x[r, c - begin] where that is inside x's row, else fill. kVec
/// elements per thread (one vector load / store) where every column count and begin are
/// multiples of kVec and both bases aligned: an NCHW image's extra zero channel is a few
/// row-block copies at copy bandwidth, where the per-element kernel below divides by every dim.
template <typename T, int kVec, typename I>
__global__ void PadRowsKernel(const T* x, T* y, I outer, I src_cols, I dst_cols, I begin, T fill) {
  GridDependencyWait();
  using V = Pack<T, kVec>;
  V f;
#pragma unroll
  for (int i = 0; i < kVec; ++i) f.v[i] = fill;
  const I chunks = dst_cols / kVec;  // per row
  const int64_t n = static_cast<int64_t>(outer) * chunks;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < n;
       k += stride) {
    const I kk = static_cast<I>(k);  // I's division: int32 where the launch found it fits
    const I row = kk / chunks, col = (kk - row * chunks) * kVec, j = col - begin;
    const V v = j >= 0 && j < src_cols ? *reinterpret_cast<const V*>(x + row * src_cols + j) : f;
    *reinterpret_cast<V*>(y + row * dst_cols + col) = v;
  }
}

template <typename T, typename I>
void LaunchPadRows(const T* x, T* y, int64_t outer, int64_t src_cols, int64_t dst_cols,
                   int64_t begin, T fill, cudaStream_t s) {
  constexpr int kVec = 16 / static_cast<int>(sizeof(T));
  const bool vec = src_cols % kVec == 0 && dst_cols % kVec == 0 && begin % kVec == 0 &&
                   reinterpret_cast<uintptr_t>(x) % 16 == 0 &&
                   reinterpret_cast<uintptr_t>(y) % 16 == 0;
  if (vec) {
    Launch(PadRowsKernel<T, kVec, I>, GridFor(outer * dst_cols / kVec, 256), 256, 0, s, x, y,
           static_cast<I>(outer), static_cast<I>(src_cols), static_cast<I>(dst_cols),
           static_cast<I>(begin), fill);
  } else {
    Launch(PadRowsKernel<T, 1, I>, GridFor(outer * dst_cols, 256), 256, 0, s, x, y,
           static_cast<I>(outer), static_cast<I>(src_cols), static_cast<I>(dst_cols),
           static_cast<I>(begin), fill);
  }
}

/// y (dst_dims) = x (src_dims) padded by pads_begin (negative: cropped) with `mode`; `fill` is the
/// constant's bytes in the element dtype. Pre: rank <= 8; reflect / edge pad no empty axis.
template <int kBytes>
void Pad(const void* x, const int64_t* src_dims, const int64_t* pads_begin, int rank, PadMode mode,
         const uint8_t* fill, void* y, const int64_t* dst_dims, void* stream) {
  using T = typename Word<kBytes>::Type;
  PadGeometry g;
  g.rank = rank;
  int64_t n = 1;
  for (int a = 0; a < rank; ++a) {
    g.src_dims[a] = src_dims[a];
    g.dst_dims[a] = dst_dims[a];
    g.pads_begin[a] = pads_begin[a];
    n *= dst_dims[a];
  }
  if (n <= 0) return;
  T f;
  memcpy(&f, fill, sizeof(T));
  const auto* xs = static_cast<const T*>(x);
  auto* ys = static_cast<T*>(y);
  const unsigned grid = GridFor(n, 256);
  const cudaStream_t s = AsStream(stream);
  // A constant pad whose padded axes are all one axis a, with nothing padded inside it: rows.
  int a = 0;
  while (a < rank && src_dims[a] == dst_dims[a] && pads_begin[a] == 0) ++a;
  bool rows = mode == PadMode::kConstant && a < rank && src_dims[a] > 0;
  int64_t outer = 1, src_cols = 1, dst_cols = 1;
  for (int b = 0; b < rank; ++b) {
    if (b < a) outer *= dst_dims[b];
    if (b > a) rows = rows && src_dims[b] == dst_dims[b] && pads_begin[b] == 0;
    if (b >= a) {
      src_cols *= src_dims[b];
      dst_cols *= dst_dims[b];
    }
  }
  if (rows) {
    const int64_t begin = pads_begin[a] * (src_cols / src_dims[a]);  // in elements
    const int64_t span = outer * (src_cols > dst_cols ? src_cols : dst_cols);
    const int64_t reach = begin < 0 ? -begin : begin;
    if (span < (int64_t{1} << 31) && reach < (int64_t{1} << 30)) {
      LaunchPadRows<T, int32_t>(xs, ys, outer, src_cols, dst_cols, begin, f, s);
    } else {
      LaunchPadRows<T, int64_t>(xs, ys, outer, src_cols, dst_cols, begin, f, s);
    }
    return;
  }
  // int32 indices where the output, the input and every pad fit (see StridedCopyKernel).
  int64_t src_n = 1, widest = 0;
  for (int a = 0; a < rank; ++a) {
    src_n *= src_dims[a];
    const int64_t p = pads_begin[a] < 0 ? -pads_begin[a] : pads_begin[a];
    widest = widest > p ? widest : p;
  }
  constexpr int64_t kMax = int64_t{1} << 30;  // headroom for the reflect arithmetic
  if (n < kMax && src_n < kMax && widest < kMax) {
    LaunchPad<T, int32_t>(mode, grid, s, xs, ys, n, g, f);
  } else {
    LaunchPad<T, int64_t>(mode, grid, s, xs, ys, n, g, f);
  }
}

template <typename T, typename I>
__global__ void GatherRowsKernel(const T* data, const I* indices, int64_t count, T* y,
                                 int64_t outer, int64_t len, int64_t inner) {
  GridDependencyWait();
  const int64_t n = outer * count * inner;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < n;
       k += stride) {
    const int64_t e = k % inner, j = (k / inner) % count, o = k / (inner * count);
    int64_t row = static_cast<int64_t>(indices[j]);
    if (row < 0) row += len;
    // An out-of-range index (the reference reports an error) gives zeros, never a wild read.
    y[k] = row >= 0 && row < len ? data[(o * len + row) * inner + e] : T{};
  }
}

/// y[o, j, :] = data[o, indices[j], :] for data viewed as [outer, len, inner] and `count`
/// indices (negative ones count from the end; out-of-range ones give zeros).
template <int kBytes, typename I>
void GatherRows(const void* data, const I* indices, int64_t count, void* y, int64_t outer,
                int64_t len, int64_t inner, void* stream) {
  using T = typename Word<kBytes>::Type;
  const int64_t n = outer * count * inner;
  if (n <= 0) return;
  Launch(GatherRowsKernel<T, I>, GridFor(n, 256), 256, 0, AsStream(stream),
         static_cast<const T*>(data), indices, count, static_cast<T*>(y), outer, len, inner);
}

template <typename T, typename I>
__global__ void GatherElementsKernel(const T* data, const I* indices, T* y, int64_t n,
                                     CopyGeometry g, int axis, int64_t axis_len,
                                     int64_t axis_stride) {
  GridDependencyWait();
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < n;
       k += stride) {
    int64_t xs = 0, ys = 0;
    RestOffsets(g, k, &xs, &ys);  // the axis has stride 0 in g
    int64_t j = static_cast<int64_t>(indices[k]);
    if (j < 0) j += axis_len;
    // An out-of-range index (the reference reports an error) gives zero, never a wild read.
    y[k] = j >= 0 && j < axis_len ? data[xs + j * axis_stride] : T{};
  }
}

/// gather_elements along `axis`: y[i] = data[i with its `axis` coordinate replaced by
/// indices[i]] for every i of indices' (and y's) shape `index_dims` (both contiguous, same rank
/// as data's `data_dims`); negative indices count from the end of the axis, out-of-range ones
/// give zeros. Pre: rank <= kMaxCopyDims.
template <int kBytes, typename I>
void GatherElements(const void* data, const int64_t* data_dims, const I* indices,
                    const int64_t* index_dims, int rank, int axis, void* y, void* stream) {
  using T = typename Word<kBytes>::Type;
  CopyGeometry g;
  g.rank = rank;
  int64_t n = 1, data_stride = 1, axis_stride = 0;
  for (int a = rank - 1; a >= 0; --a) {
    g.dims[a] = index_dims[a];
    g.src_strides[a] = a == axis ? 0 : data_stride;
    g.dst_strides[a] = 0;  // y is indexed directly
    if (a == axis) axis_stride = data_stride;
    data_stride *= data_dims[a];
    n *= index_dims[a];
  }
  if (n <= 0) return;
  Launch(GatherElementsKernel<T, I>, GridFor(n, 256), 256, 0, AsStream(stream),
         static_cast<const T*>(data), indices, static_cast<T*>(y), n, g, axis, data_dims[axis],
         axis_stride);
}

}  // namespace kiln_cuda

#endif  // KILN_CUDA_LAYOUT_CUH_
