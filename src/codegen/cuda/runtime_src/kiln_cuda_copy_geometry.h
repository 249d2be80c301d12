// kiln_cuda: the index space of a strided copy (CopyGeometry) and the host-side rewrites that
// make it cheaper to walk without changing what it copies. Plain C++ (no CUDA), so the unit
// tests (src/codegen/cuda/copy_geometry_test.cc) run them on the host; included by
// kiln_cuda_layout.cuh.
//
// - CoalesceCopy merges adjacent axes that both sides walk as one run and drops axes of extent
//   1: fewer index divisions per element.
// - WidenCopy re-expresses a copy whose last axis is contiguous on both sides in words of 4, 8
//   or 16 bytes: one vector load and store per word instead of one per element. A transpose
//   that keeps rows of 16 f16 values (ViT's patch extraction) moves 16-byte words.
#ifndef KILN_CUDA_COPY_GEOMETRY_H_
#define KILN_CUDA_COPY_GEOMETRY_H_

#include <cstdint>

namespace kiln_cuda {

constexpr int kMaxCopyDims = 8;

/// An index space (dims, outermost first) and the element strides of each dim in src and dst.
struct CopyGeometry {
  int rank = 0;
  int64_t dims[kMaxCopyDims];
  int64_t src_strides[kMaxCopyDims];
  int64_t dst_strides[kMaxCopyDims];
};

/// Whether every index of g's space and every offset it reaches fits in int32_t.
inline bool FitsInt32(const CopyGeometry& g) {
  int64_t n = 1, src_span = 0, dst_span = 0;
  for (int a = 0; a < g.rank; ++a) {
    n *= g.dims[a];
    src_span += (g.dims[a] - 1) * (g.src_strides[a] < 0 ? -g.src_strides[a] : g.src_strides[a]);
    dst_span += (g.dims[a] - 1) * (g.dst_strides[a] < 0 ? -g.dst_strides[a] : g.dst_strides[a]);
  }
  constexpr int64_t kMax = int64_t{1} << 31;
  return n < kMax && src_span < kMax && dst_span < kMax;
}

/// g without its axes of extent 1 and with each axis merged into the next where both src and
/// dst step over the next axis's whole extent in one of its steps (outer stride = inner extent x
/// inner stride on both sides). The same elements are copied in the same order. Pre: no extent
/// is 0.
inline CopyGeometry CoalesceCopy(const CopyGeometry& g) {
  CopyGeometry c;
  for (int a = 0; a < g.rank; ++a) {
    if (g.dims[a] == 1) continue;
    const int last = c.rank - 1;
    if (c.rank > 0 && c.src_strides[last] == g.dims[a] * g.src_strides[a] &&
        c.dst_strides[last] == g.dims[a] * g.dst_strides[a]) {
      c.dims[last] *= g.dims[a];
      c.src_strides[last] = g.src_strides[a];
      c.dst_strides[last] = g.dst_strides[a];
      continue;
    }
    c.dims[c.rank] = g.dims[a];
    c.src_strides[c.rank] = g.src_strides[a];
    c.dst_strides[c.rank] = g.dst_strides[a];
    ++c.rank;
  }
  return c;
}

/// g in words of `word_bytes` (a multiple of `elem_bytes`), in place, when its last axis is
/// contiguous on both sides and the last extent, every other stride and both base addresses
/// are multiples of a word: then element offsets map to word offsets exactly. Returns false,
/// leaving g unchanged, otherwise.
inline bool WidenCopy(int elem_bytes, int word_bytes, const void* src, const void* dst,
                      CopyGeometry* g) {
  const int64_t k = word_bytes / elem_bytes;
  const int last = g->rank - 1;
  if (k < 2 || last < 0 || g->src_strides[last] != 1 || g->dst_strides[last] != 1 ||
      g->dims[last] % k != 0 || reinterpret_cast<uintptr_t>(src) % word_bytes != 0 ||
      reinterpret_cast<uintptr_t>(dst) % word_bytes != 0) {
    return false;
  }
  for (int a = 0; a < last; ++a) {
    if (g->src_strides[a] % k != 0 || g->dst_strides[a] % k != 0) return false;
  }
  g->dims[last] /= k;
  for (int a = 0; a < last; ++a) {
    g->src_strides[a] /= k;
    g->dst_strides[a] /= k;
  }
  return true;
}

}  // namespace kiln_cuda

#endif  // KILN_CUDA_COPY_GEOMETRY_H_
