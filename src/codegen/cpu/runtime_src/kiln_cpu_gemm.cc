// kiln_cpu gemm kernels: thin layers over cblas_sgemm plus broadcasting loops.
#include "kiln_cpu_gemm.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <vector>

namespace kiln_cpu {
namespace {

// Calls `fn(flat_batch_index, a_offset, b_offset)` for every batch index in row-major order.
template <typename Fn>
void ForEachBatch(int rank, const int64_t* dims, const int64_t* a_strides, const int64_t* b_strides,
                  Fn fn) {
  int64_t total = 1;
  for (int d = 0; d < rank; ++d) total *= dims[d];
  if (total == 0) return;
  std::vector<int64_t> idx(rank, 0);
  int64_t a_off = 0, b_off = 0;
  for (int64_t flat = 0; flat < total; ++flat) {
    fn(flat, a_off, b_off);
    // Odometer increment of the batch index, keeping the offsets in step.
    for (int d = rank - 1; d >= 0; --d) {
      a_off += a_strides[d];
      b_off += b_strides[d];
      if (++idx[d] < dims[d]) break;
      a_off -= a_strides[d] * dims[d];
      b_off -= b_strides[d] * dims[d];
      idx[d] = 0;
    }
  }
}

// The broadcast loops: dst contiguous, src strided; the innermost dim is a tight loop.
template <bool kAdd>
void BroadcastLoop(float* dst, const float* src, int rank, const int64_t* dims,
                   const int64_t* src_strides, float scale) {
  if (rank == 0) {
    dst[0] = kAdd ? dst[0] + src[0] : scale * src[0];
    return;
  }
  const int64_t inner = dims[rank - 1];
  const int64_t inner_stride = src_strides[rank - 1];
  int64_t outer = 1;
  for (int d = 0; d < rank - 1; ++d) outer *= dims[d];
  if (outer == 0 || inner == 0) return;
  std::vector<int64_t> idx(std::max(rank - 1, 1), 0);
  int64_t off = 0;
  for (int64_t o = 0; o < outer; ++o) {
    float* d = dst + o * inner;
    const float* s = src + off;
    if (inner_stride == 1) {
      for (int64_t i = 0; i < inner; ++i) d[i] = kAdd ? d[i] + s[i] : scale * s[i];
    } else if (inner_stride == 0) {
      const float v = s[0];
      for (int64_t i = 0; i < inner; ++i) d[i] = kAdd ? d[i] + v : scale * v;
    } else {
      for (int64_t i = 0; i < inner; ++i) {
        d[i] = kAdd ? d[i] + s[i * inner_stride] : scale * s[i * inner_stride];
      }
    }
    for (int d2 = rank - 2; d2 >= 0; --d2) {
      off += src_strides[d2];
      if (++idx[d2] < dims[d2]) break;
      off -= src_strides[d2] * dims[d2];
      idx[d2] = 0;
    }
  }
}

}  // namespace

void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    // No products: c = beta * c (BLAS would reject the zero leading dimensions).
    for (int64_t i = 0; i < m; ++i) {
      float* row = c + i * ldc;
      for (int64_t j = 0; j < n; ++j) row[j] = beta == 0.0f ? 0.0f : beta * row[j];
    }
    return;
  }
  // oneDNN's sgemm: row-major, JIT-generated for the host's vector ISA (AVX-512 where present,
  // about 1.5-2x OpenBLAS 0.3.21's AVX2 kernels on ResNet/BERT shapes), threaded with OpenMP.
  dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void GemmBatched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float* a, const float* b, float beta, float* c, int rank,
                 const int64_t* batch_dims, const int64_t* a_strides, const int64_t* b_strides) {
  const int64_t lda = trans_a ? m : k;
  const int64_t ldb = trans_b ? k : n;
  int64_t batch = 1;
  bool b_shared = true, a_dense = true;
  int64_t dense_stride = m * k;  // stride a would have on dim d if its matrices were contiguous
  for (int d = rank - 1; d >= 0; --d) {
    batch *= batch_dims[d];
    if (batch_dims[d] != 1) {
      b_shared = b_shared && b_strides[d] == 0;
      a_dense = a_dense && a_strides[d] == dense_stride;
    }
    dense_stride *= batch_dims[d];
  }
  if (batch == 0) return;
  if (batch == 1 || (b_shared && a_dense && !trans_a)) {
    // One gemm: either a single matrix, or all of a's rows against the shared b
    // ([batch*m, k] @ [k, n] is exactly the batched result, laid out the same).
    Gemm(trans_a, trans_b, batch * m, n, k, alpha, a, lda, b, ldb, beta, c, n);
    return;
  }
  ForEachBatch(rank, batch_dims, a_strides, b_strides,
               [&](int64_t flat, int64_t a_off, int64_t b_off) {
                 Gemm(trans_a, trans_b, m, n, k, alpha, a + a_off, lda, b + b_off, ldb, beta,
                      c + flat * m * n, n);
               });
}

void BroadcastCopy(float* dst, const float* src, int rank, const int64_t* dims,
                   const int64_t* src_strides, float scale) {
  BroadcastLoop<false>(dst, src, rank, dims, src_strides, scale);
}

void BroadcastAdd(float* dst, const float* src, int rank, const int64_t* dims,
                  const int64_t* src_strides) {
  BroadcastLoop<true>(dst, src, rank, dims, src_strides, 1.0f);
}

}  // namespace kiln_cpu
