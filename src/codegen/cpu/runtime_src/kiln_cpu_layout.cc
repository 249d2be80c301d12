// kiln_cpu: layout and indexing kernels (kiln_cpu_layout.h).
//
// Elements move with fixed-size std::memcpy (compiled to one load and store for 1/2/4/8 bytes),
// which stays within the aliasing rules whatever the real element type is.
#include "kiln_cpu_layout.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace kiln_cpu {
namespace {

// Moves one element; N == 0 means a run-time size.
template <int N>
inline void MoveElem(uint8_t* d, const uint8_t* s, int64_t esize) {
  if constexpr (N == 0) {
    std::memcpy(d, s, esize);
  } else {
    std::memcpy(d, s, N);
  }
}

// n elements from s (stride ss elements) to d (stride ds elements).
template <int N>
void CopyLine(const uint8_t* s, int64_t ss, uint8_t* d, int64_t ds, int64_t n, int64_t esize) {
  const int64_t es = N == 0 ? esize : N;
  for (int64_t i = 0; i < n; ++i) MoveElem<N>(d + i * ds * es, s + i * ss * es, esize);
}

// The coalesced form of a strided copy: size-1 axes dropped, mergeable neighbours merged.
struct CopyPlan {
  std::vector<int64_t> dims, ss, ds;
};

// False when there is nothing to copy (an empty axis).
bool MakePlan(const int64_t* src_strides, const int64_t* dst_strides, const int64_t* dims,
              int64_t rank, CopyPlan* p) {
  for (int64_t a = 0; a < rank; ++a) {
    if (dims[a] == 0) return false;
    if (dims[a] == 1) continue;
    if (!p->dims.empty() && p->ss.back() == src_strides[a] * dims[a] &&
        p->ds.back() == dst_strides[a] * dims[a]) {
      p->dims.back() *= dims[a];
      p->ss.back() = src_strides[a];
      p->ds.back() = dst_strides[a];
      continue;
    }
    p->dims.push_back(dims[a]);
    p->ss.push_back(src_strides[a]);
    p->ds.push_back(dst_strides[a]);
  }
  return true;
}

// Calls fn(src_offset, dst_offset) (in elements) for every index of the axes a with !skip[a].
template <typename Fn>
void ForEachOuter(const CopyPlan& p, const std::vector<bool>& skip, Fn fn) {
  const int64_t r = static_cast<int64_t>(p.dims.size());
  std::vector<int64_t> idx(r, 0);
  int64_t so = 0, dof = 0;
  for (;;) {
    fn(so, dof);
    int64_t a = r - 1;
    for (; a >= 0; --a) {
      if (skip[a]) continue;
      if (++idx[a] < p.dims[a]) {
        so += p.ss[a];
        dof += p.ds[a];
        break;
      }
      so -= p.ss[a] * (p.dims[a] - 1);
      dof -= p.ds[a] * (p.dims[a] - 1);
      idx[a] = 0;
    }
    if (a < 0) return;
  }
}

template <int N>
void StridedCopyN(const uint8_t* src, uint8_t* dst, const CopyPlan& p, int64_t esize) {
  const int64_t es = N == 0 ? esize : N;
  const int64_t r = static_cast<int64_t>(p.dims.size());
  const int64_t last = r - 1;
  std::vector<bool> skip(r, false);
  skip[last] = true;
  if (p.ds[last] == 1) {
    // Transpose pattern: the source is contiguous along another axis t. Copy (t, last) in
    // square tiles so both sides stay in cache.
    int64_t t = -1;
    for (int64_t a = 0; a < last; ++a) {
      if (p.ss[a] == 1) t = a;
    }
    if (t >= 0 && p.ss[last] != 1) {
      constexpr int64_t kTile = 32;
      skip[t] = true;
      const int64_t n_i = p.dims[t], n_j = p.dims[last];
      const int64_t d_i = p.ds[t], s_j = p.ss[last];
      ForEachOuter(p, skip, [&](int64_t so, int64_t dof) {
        for (int64_t i0 = 0; i0 < n_i; i0 += kTile) {
          const int64_t i1 = std::min(n_i, i0 + kTile);
          for (int64_t j0 = 0; j0 < n_j; j0 += kTile) {
            const int64_t j1 = std::min(n_j, j0 + kTile);
            for (int64_t i = i0; i < i1; ++i) {
              const uint8_t* s = src + (so + i + j0 * s_j) * es;
              uint8_t* d = dst + (dof + i * d_i + j0) * es;
              CopyLine<N>(s, s_j, d, 1, j1 - j0, esize);
            }
          }
        }
      });
      return;
    }
  }
  const int64_t n = p.dims[last], ss = p.ss[last], ds = p.ds[last];
  if (ss == 1 && ds == 1) {
    ForEachOuter(p, skip, [&](int64_t so, int64_t dof) {
      std::memcpy(dst + dof * es, src + so * es, n * es);
    });
    return;
  }
  ForEachOuter(p, skip, [&](int64_t so, int64_t dof) {
    CopyLine<N>(src + so * es, ss, dst + dof * es, ds, n, esize);
  });
}

std::vector<int64_t> DenseStrides(const int64_t* dims, int64_t rank) {
  std::vector<int64_t> s(rank);
  int64_t acc = 1;
  for (int64_t a = rank; a-- > 0;) {
    s[a] = acc;
    acc *= dims[a];
  }
  return s;
}

// The source index that padded position i (source coordinates) reads; -1 for the fill value.
int64_t PadSource(int64_t i, int64_t n, PadMode mode) {
  if (i >= 0 && i < n) return i;
  if (mode == PadMode::kConstant) return -1;
  if (mode == PadMode::kEdge || n == 1) return std::clamp<int64_t>(i, 0, n - 1);
  const int64_t period = 2 * (n - 1);
  const int64_t m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

template <int N>
void PadN(const uint8_t* src, const int64_t* src_dims, const int64_t* pads_begin, int64_t rank,
          PadMode mode, const uint8_t* fill, uint8_t* dst, const int64_t* dst_dims, int64_t esize) {
  const int64_t es = N == 0 ? esize : N;
  int64_t total = 1;
  for (int64_t a = 0; a < rank; ++a) total *= dst_dims[a];
  if (total == 0) return;
  if (rank == 0) {
    MoveElem<N>(dst, src, esize);
    return;
  }
  // table[a][i]: source index of output position i along axis a, or -1.
  std::vector<std::vector<int64_t>> table(rank);
  for (int64_t a = 0; a < rank; ++a) {
    table[a].resize(dst_dims[a]);
    for (int64_t i = 0; i < dst_dims[a]; ++i) {
      table[a][i] = PadSource(i - pads_begin[a], src_dims[a], mode);
    }
  }
  const std::vector<int64_t> ss = DenseStrides(src_dims, rank);
  const int64_t last = rank - 1, n = dst_dims[last];
  const std::vector<int64_t>& tl = table[last];
  // The run of the last axis that copies the source straight through.
  int64_t lo = std::clamp<int64_t>(pads_begin[last], 0, n);
  int64_t hi = std::clamp<int64_t>(pads_begin[last] + src_dims[last], lo, n);
  std::vector<int64_t> idx(rank, 0);
  for (int64_t row = 0; row < total / n; ++row) {
    int64_t off = 0;
    bool inside = true;
    for (int64_t a = 0; a < last; ++a) {
      const int64_t t = table[a][idx[a]];
      inside = inside && t >= 0;
      off += t * ss[a];
    }
    uint8_t* d = dst + row * n * es;
    if (!inside) {
      for (int64_t j = 0; j < n; ++j) MoveElem<N>(d + j * es, fill, esize);
    } else {
      const uint8_t* s = src + off * es;
      for (int64_t j = 0; j < lo; ++j) {
        MoveElem<N>(d + j * es, tl[j] < 0 ? fill : s + tl[j] * es, esize);
      }
      if (hi > lo) std::memcpy(d + lo * es, s + tl[lo] * es, (hi - lo) * es);
      for (int64_t j = hi; j < n; ++j) {
        MoveElem<N>(d + j * es, tl[j] < 0 ? fill : s + tl[j] * es, esize);
      }
    }
    for (int64_t a = last - 1; a >= 0; --a) {
      if (++idx[a] < dst_dims[a]) break;
      idx[a] = 0;
    }
  }
}

template <typename I>
int64_t GatherImpl(const void* data, const I* indices, int64_t num_indices, void* dst,
                   int64_t outer, int64_t axis_len, int64_t inner, int64_t elem_size) {
  const auto* src = static_cast<const uint8_t*>(data);
  auto* out = static_cast<uint8_t*>(dst);
  const int64_t row = inner * elem_size;
  int64_t bad = 0;
  for (int64_t j = 0; j < num_indices; ++j) {
    const int64_t ix = static_cast<int64_t>(indices[j]);
    bad += ix < -axis_len || ix >= axis_len;
  }
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < num_indices; ++j) {
      int64_t ix = static_cast<int64_t>(indices[j]);
      uint8_t* d = out + (o * num_indices + j) * row;
      if (ix < -axis_len || ix >= axis_len) {
        std::memset(d, 0, row);
        continue;
      }
      if (ix < 0) ix += axis_len;
      std::memcpy(d, src + (o * axis_len + ix) * row, row);
    }
  }
  return bad;
}

}  // namespace

void StridedCopy(const void* src, const int64_t* src_strides, void* dst, const int64_t* dst_strides,
                 const int64_t* dims, int64_t rank, int64_t elem_size) {
  CopyPlan p;
  if (!MakePlan(src_strides, dst_strides, dims, rank, &p)) return;
  const auto* s = static_cast<const uint8_t*>(src);
  auto* d = static_cast<uint8_t*>(dst);
  if (p.dims.empty()) {  // a single element
    std::memcpy(d, s, elem_size);
    return;
  }
  switch (elem_size) {
    case 1:
      return StridedCopyN<1>(s, d, p, elem_size);
    case 2:
      return StridedCopyN<2>(s, d, p, elem_size);
    case 4:
      return StridedCopyN<4>(s, d, p, elem_size);
    case 8:
      return StridedCopyN<8>(s, d, p, elem_size);
    default:
      return StridedCopyN<0>(s, d, p, elem_size);
  }
}

void Transpose(const void* src, const int64_t* src_dims, const int64_t* perm, int64_t rank,
               void* dst, int64_t elem_size) {
  const std::vector<int64_t> in = DenseStrides(src_dims, rank);
  std::vector<int64_t> dims(rank), ss(rank);
  for (int64_t a = 0; a < rank; ++a) {
    dims[a] = src_dims[perm[a]];
    ss[a] = in[perm[a]];
  }
  const std::vector<int64_t> ds = DenseStrides(dims.data(), rank);
  StridedCopy(src, ss.data(), dst, ds.data(), dims.data(), rank, elem_size);
}

void Expand(const void* src, const int64_t* src_dims, int64_t src_rank, void* dst,
            const int64_t* dst_dims, int64_t dst_rank, int64_t elem_size) {
  const std::vector<int64_t> in = DenseStrides(src_dims, src_rank);
  std::vector<int64_t> ss(dst_rank, 0);
  const int64_t offset = dst_rank - src_rank;
  for (int64_t a = 0; a < src_rank; ++a) {
    ss[offset + a] = src_dims[a] == 1 ? 0 : in[a];
  }
  const std::vector<int64_t> ds = DenseStrides(dst_dims, dst_rank);
  StridedCopy(src, ss.data(), dst, ds.data(), dst_dims, dst_rank, elem_size);
}

void Slice(const void* src, const int64_t* src_dims, const int64_t* starts, const int64_t* steps,
           int64_t rank, void* dst, const int64_t* dst_dims, int64_t elem_size) {
  for (int64_t a = 0; a < rank; ++a) {
    if (dst_dims[a] == 0) return;  // nothing to read (starts may then be anywhere)
  }
  const std::vector<int64_t> in = DenseStrides(src_dims, rank);
  std::vector<int64_t> ss(rank);
  int64_t offset = 0;
  for (int64_t a = 0; a < rank; ++a) {
    offset += starts[a] * in[a];
    ss[a] = in[a] * steps[a];
  }
  const std::vector<int64_t> ds = DenseStrides(dst_dims, rank);
  StridedCopy(static_cast<const uint8_t*>(src) + offset * elem_size, ss.data(), dst, ds.data(),
              dst_dims, rank, elem_size);
}

void Concat(const void* const* srcs, const int64_t* row_bytes, int64_t num_srcs, int64_t outer,
            void* dst) {
  auto* d = static_cast<uint8_t*>(dst);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t t = 0; t < num_srcs; ++t) {
      if (row_bytes[t] == 0) continue;
      std::memcpy(d, static_cast<const uint8_t*>(srcs[t]) + o * row_bytes[t], row_bytes[t]);
      d += row_bytes[t];
    }
  }
}

void Split(const void* src, void* const* dsts, const int64_t* row_bytes, int64_t num_dsts,
           int64_t outer) {
  const auto* s = static_cast<const uint8_t*>(src);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t t = 0; t < num_dsts; ++t) {
      if (row_bytes[t] == 0) continue;
      std::memcpy(static_cast<uint8_t*>(dsts[t]) + o * row_bytes[t], s, row_bytes[t]);
      s += row_bytes[t];
    }
  }
}

void Pad(const void* src, const int64_t* src_dims, const int64_t* pads_begin, int64_t rank,
         PadMode mode, const void* fill, void* dst, const int64_t* dst_dims, int64_t elem_size) {
  const auto* s = static_cast<const uint8_t*>(src);
  const auto* f = static_cast<const uint8_t*>(fill);
  auto* d = static_cast<uint8_t*>(dst);
  switch (elem_size) {
    case 1:
      return PadN<1>(s, src_dims, pads_begin, rank, mode, f, d, dst_dims, elem_size);
    case 2:
      return PadN<2>(s, src_dims, pads_begin, rank, mode, f, d, dst_dims, elem_size);
    case 4:
      return PadN<4>(s, src_dims, pads_begin, rank, mode, f, d, dst_dims, elem_size);
    case 8:
      return PadN<8>(s, src_dims, pads_begin, rank, mode, f, d, dst_dims, elem_size);
    default:
      return PadN<0>(s, src_dims, pads_begin, rank, mode, f, d, dst_dims, elem_size);
  }
}

int64_t Gather(const void* data, const int64_t* indices, int64_t num_indices, void* dst,
               int64_t outer, int64_t axis_len, int64_t inner, int64_t elem_size) {
  return GatherImpl(data, indices, num_indices, dst, outer, axis_len, inner, elem_size);
}

int64_t Gather(const void* data, const int32_t* indices, int64_t num_indices, void* dst,
               int64_t outer, int64_t axis_len, int64_t inner, int64_t elem_size) {
  return GatherImpl(data, indices, num_indices, dst, outer, axis_len, inner, elem_size);
}

}  // namespace kiln_cpu
