// kiln_cpu: gemm kernels, broadcasting helpers and the epilogue's scalar functions (see kiln_cpu.h
// for the conventions).
//
// Gemm and GemmBatched wrap oneDNN's dnnl_sgemm (multithreaded with OpenMP). The
// broadcast helpers serve the gemm's optional `c` addend and the epilogue's residual `add` when
// its operand is smaller than the output. The inline activations are the epilogue steps' exact
// formulas (those of kiln's reference, src/ops/epilogue.cc), for loops written by the emitters.
#ifndef KILN_CPU_GEMM_H_
#define KILN_CPU_GEMM_H_

#include <cmath>
#include <cstdint>

namespace kiln_cpu {

/// c = alpha * op(a) @ op(b) + beta * c with op(a) [m, k] and op(b) [k, n], all row-major with
/// leading dimensions lda, ldb, ldc (op transposes when trans_a / trans_b: a is then stored
/// [k, m], b [n, k]). beta == 0 never reads c (it may hold garbage, NaN included). Any of m, n, k
/// may be 0.
void Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

/// Batched gemm with broadcast batch dims: for every index (i_0, ..., i_{rank-1}) of the batch
/// dims `batch_dims`, the contiguous output matrix c[i] ([m, n], matrices stored one after the
/// other in row-major batch order) = alpha * op(a + sum_d i_d*a_strides[d]) @
/// op(b + sum_d i_d*b_strides[d]) + beta * c[i]. Strides are in elements; 0 broadcasts a
/// dimension. Matrices of a and b are dense (lda = row length). rank 0 is one plain gemm.
/// When b is shared by all batches and a's matrices are contiguous, runs one gemm over all rows.
void GemmBatched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float* a, const float* b, float beta, float* c, int rank,
                 const int64_t* batch_dims, const int64_t* a_strides, const int64_t* b_strides);

/// dst (contiguous, shape `dims` of length `rank`) = scale * src, where src is read with element
/// strides `src_strides` (0 on broadcast dims). rank 0 copies one element.
void BroadcastCopy(float* dst, const float* src, int rank, const int64_t* dims,
                   const int64_t* src_strides, float scale);

/// dst (contiguous, shape `dims`) += src read with strides `src_strides` (0 on broadcast dims).
void BroadcastAdd(float* dst, const float* src, int rank, const int64_t* dims,
                  const int64_t* src_strides);

// Epilogue activations, named apart from kiln_scalar.h's elementwise ones because they follow
// the epilogue reference (src/ops/epilogue.cc) exactly: relu maps NaN to 0, gelu is the erf form,
// gelu_tanh the tanh approximation, silu x * sigmoid(x).
inline float EpilogueRelu(float x) { return x > 0.0f ? x : 0.0f; }
inline float EpilogueGelu(float x) {
  return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
}
inline float EpilogueGeluTanh(float x) {
  return 0.5f * x * (1.0f + std::tanh(0.79788456080286536f * (x + 0.044715f * x * x * x)));
}
inline float EpilogueSilu(float x) { return x / (1.0f + std::exp(-x)); }
inline float EpilogueSigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
inline float EpilogueTanh(float x) { return std::tanh(x); }

}  // namespace kiln_cpu

#endif  // KILN_CPU_GEMM_H_
