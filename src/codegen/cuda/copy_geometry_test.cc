// The strided-copy rewrites of runtime_src/kiln_cuda_copy_geometry.h, run on the host: a copy
// walked element by element over the original geometry must write exactly what the coalesced
// and the widened geometries write, and the rewrites must apply (or not) where stated.
#include "codegen/cuda/runtime_src/kiln_cuda_copy_geometry.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <vector>

namespace kiln_cuda {
namespace {

// dst[dst offset of i] = src[src offset of i] for every index i of g, elements of `bytes` bytes:
// what StridedCopyKernel does, one index at a time.
void Walk(const CopyGeometry& g, int bytes, const uint8_t* src, uint8_t* dst) {
  int64_t n = 1;
  for (int a = 0; a < g.rank; ++a) n *= g.dims[a];
  for (int64_t i = 0; i < n; ++i) {
    int64_t rest = i, s = 0, d = 0;
    for (int a = g.rank - 1; a >= 0; --a) {
      const int64_t idx = rest % g.dims[a];
      rest /= g.dims[a];
      s += idx * g.src_strides[a];
      d += idx * g.dst_strides[a];
    }
    std::memcpy(dst + d * bytes, src + s * bytes, bytes);
  }
}

CopyGeometry Geometry(std::vector<int64_t> dims, std::vector<int64_t> src_strides,
                      std::vector<int64_t> dst_strides) {
  CopyGeometry g;
  g.rank = static_cast<int>(dims.size());
  for (int a = 0; a < g.rank; ++a) {
    g.dims[a] = dims[a];
    g.src_strides[a] = src_strides[a];
    g.dst_strides[a] = dst_strides[a];
  }
  return g;
}

// Row-major strides of `dims` permuted: the source strides of a transpose walking the output.
std::vector<int64_t> PermutedStrides(const std::vector<int64_t>& dims, const std::vector<int>& perm) {
  std::vector<int64_t> strides(dims.size());
  int64_t s = 1;
  for (int a = static_cast<int>(dims.size()) - 1; a >= 0; --a) {
    strides[a] = s;
    s *= dims[a];
  }
  std::vector<int64_t> out;
  for (int p : perm) out.push_back(strides[p]);
  return out;
}

std::vector<int64_t> RowMajor(const std::vector<int64_t>& dims) {
  std::vector<int64_t> strides(dims.size());
  int64_t s = 1;
  for (int a = static_cast<int>(dims.size()) - 1; a >= 0; --a) {
    strides[a] = s;
    s *= dims[a];
  }
  return strides;
}

// Buffers of `elems` elements of `bytes` bytes, 16-byte aligned at `offset` bytes past it.
struct Buffers {
  Buffers(int64_t src_elems, int64_t dst_elems, int bytes, int offset = 0)
      : src_store(src_elems * bytes + 32), a_store(dst_elems * bytes + 32),
        b_store(dst_elems * bytes + 32), bytes(bytes), dst_bytes(dst_elems * bytes) {
    std::iota(src_store.begin(), src_store.end(), uint8_t{7});
    src = Aligned(src_store) + offset;
    a = Aligned(a_store) + offset;
    b = Aligned(b_store) + offset;
  }
  static uint8_t* Aligned(std::vector<uint8_t>& v) {
    const uintptr_t p = reinterpret_cast<uintptr_t>(v.data());
    return v.data() + (16 - p % 16) % 16;
  }
  bool Same() const { return std::memcmp(a, b, dst_bytes) == 0; }
  std::vector<uint8_t> src_store, a_store, b_store;
  int bytes;
  int64_t dst_bytes;
  uint8_t *src, *a, *b;
};

// Walks g into buffer a and its coalesced (and, when `word` > 0, widened) form into b.
// Returns whether widening applied.
bool CopyBothWays(const CopyGeometry& g, Buffers& buf, int word) {
  Walk(g, buf.bytes, buf.src, buf.a);
  CopyGeometry c = CoalesceCopy(g);
  const bool widened = word > 0 && WidenCopy(buf.bytes, word, buf.src, buf.a, &c);
  Walk(c, widened ? word : buf.bytes, buf.src, buf.b);
  return widened;
}

TEST(CopyGeometryTest, PatchExtractionTransposeMovesSixteenByteWords) {
  // ViT's patchify, batch 2, 3 channels, 32x32 pixels, 16x16 patches: [N,3,2,16,2,16] ->
  // [N,2,2,3,16,16] (perm 0,2,4,1,3,5) as kiln_cuda's Transpose walks it. Rows of 16 f16 values
  // are contiguous on both sides: 2 words of 16 bytes.
  const std::vector<int64_t> in = {2, 3, 2, 16, 2, 16};
  const std::vector<int> perm = {0, 2, 4, 1, 3, 5};
  std::vector<int64_t> out;
  for (int p : perm) out.push_back(in[p]);
  const CopyGeometry g = Geometry(out, PermutedStrides(in, perm), RowMajor(out));
  Buffers buf(2 * 3 * 32 * 32, 2 * 3 * 32 * 32, 2);
  ASSERT_TRUE(CopyBothWays(g, buf, 16));
  EXPECT_TRUE(buf.Same());
  CopyGeometry c = CoalesceCopy(g);
  ASSERT_TRUE(WidenCopy(2, 16, buf.src, buf.a, &c));
  EXPECT_EQ(c.rank, 6);
  EXPECT_EQ(c.dims[5], 2);  // 16 f16 = two 16-byte words
  EXPECT_EQ(c.src_strides[4], 32 / 8);  // a pixel row of 32 f16 is 4 words
}

TEST(CopyGeometryTest, ConcatColumnBlockAndExpandAreOneWideAxisEach) {
  // Concat's copy of an operand [4, 196*8] into the column block of [4, 197*8] at column 8.
  const CopyGeometry concat = Geometry({4, 196 * 8}, {196 * 8, 1}, {197 * 8, 1});
  Buffers buf(4 * 196 * 8, 4 * 197 * 8, 2);
  ASSERT_TRUE(CopyBothWays(concat, buf, 16));
  EXPECT_TRUE(buf.Same());
  // Expand of a [1,1,24] row to [3,1,24]: stride 0 across the batch; the axis of extent 1 goes.
  const CopyGeometry expand = Geometry({3, 1, 24}, {0, 24, 1}, {24, 24, 1});
  Buffers e(24, 3 * 24, 4);
  ASSERT_TRUE(CopyBothWays(expand, e, 16));
  EXPECT_TRUE(e.Same());
  const CopyGeometry c = CoalesceCopy(expand);
  EXPECT_EQ(c.rank, 2);
  EXPECT_EQ(c.src_strides[0], 0);
}

TEST(CopyGeometryTest, CoalescingMergesRunsOnBothSidesOnly) {
  // A contiguous [2,3,4] copy is one axis of 24.
  const CopyGeometry whole = Geometry({2, 3, 4}, RowMajor({2, 3, 4}), RowMajor({2, 3, 4}));
  const CopyGeometry c = CoalesceCopy(whole);
  ASSERT_EQ(c.rank, 1);
  EXPECT_EQ(c.dims[0], 24);
  // Axes contiguous in src but not in dst stay apart.
  const CopyGeometry half = Geometry({2, 3, 4}, RowMajor({2, 3, 4}), {24, 8, 1});
  EXPECT_EQ(CoalesceCopy(half).rank, 2);  // 2x3 merge on both sides (24 = 3 * 8, 12 = 3 * 4)
  Buffers buf(24, 48, 2);
  CopyBothWays(half, buf, 0);
  EXPECT_TRUE(buf.Same());
  // A reversed axis (negative step) merges with a reversed outer axis of the same run.
  const CopyGeometry reversed = Geometry({3, 4}, {-4, -1}, {4, 1});
  const CopyGeometry r = CoalesceCopy(reversed);
  ASSERT_EQ(r.rank, 1);
  EXPECT_EQ(r.src_strides[0], -1);
}

TEST(CopyGeometryTest, WideningNeedsContiguousLastAxisExtentStridesAndAlignment) {
  const CopyGeometry rows = Geometry({4, 16}, {24, 1}, {16, 1});  // a slice of 16 of 24 columns
  {
    Buffers buf(4 * 24, 4 * 16, 2);
    EXPECT_TRUE(CopyBothWays(rows, buf, 16));  // 24 and 16 f16 are multiples of 8
    EXPECT_TRUE(buf.Same());
  }
  {
    Buffers buf(4 * 24, 4 * 16, 2, /*offset=*/8);  // 8-byte aligned: words of 8, not 16
    CopyGeometry g = CoalesceCopy(rows);
    EXPECT_FALSE(WidenCopy(2, 16, buf.src, buf.a, &g));
    EXPECT_TRUE(WidenCopy(2, 8, buf.src, buf.a, &g));
    EXPECT_EQ(g.dims[1], 4);
  }
  {
    const CopyGeometry odd = Geometry({4, 12}, {20, 1}, {12, 1});  // rows of 12 f16: 8-byte words
    Buffers buf(4 * 20, 4 * 12, 2);
    CopyGeometry g = CoalesceCopy(odd);
    EXPECT_FALSE(WidenCopy(2, 16, buf.src, buf.a, &g));
    EXPECT_TRUE(CopyBothWays(odd, buf, 8));
    EXPECT_TRUE(buf.Same());
  }
  {
    const CopyGeometry short_rows = Geometry({4, 3}, {5, 1}, {3, 1});  // 3 f16: no word at all
    Buffers buf(4 * 5, 4 * 3, 2);
    for (int w : {16, 8, 4}) {
      CopyGeometry g = CoalesceCopy(short_rows);
      EXPECT_FALSE(WidenCopy(2, w, buf.src, buf.a, &g)) << w;
    }
  }
  {
    const CopyGeometry transposed = Geometry({8, 8}, {1, 8}, {8, 1});  // last axis strided in src
    Buffers buf(64, 64, 2);
    CopyGeometry g = CoalesceCopy(transposed);
    EXPECT_FALSE(WidenCopy(2, 4, buf.src, buf.a, &g));
    CopyBothWays(transposed, buf, 0);
    EXPECT_TRUE(buf.Same());
  }
}

}  // namespace
}  // namespace kiln_cuda
