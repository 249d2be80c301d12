// kiln_cpu: attention kernel (kiln_cpu_attention.h).
//
// q, k, v are read in place through sgemm leading dimensions (the row stride of one head in BSHD
// is heads * d), so no head is ever transposed or copied.
#include "kiln_cpu_attention.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "kiln_cpu_gemm.h"
#include "kiln_cpu_norm.h"

namespace kiln_cpu {

void Attention(const float* q, const float* k, const float* v, const float* mask,
               const int64_t* mask_strides, float* out, int64_t batch, int64_t sq, int64_t sk,
               int64_t heads, int64_t kv_heads, int64_t d, int64_t dv, bool causal, float scale) {
  if (batch == 0 || sq == 0 || heads == 0 || dv == 0) return;
  const int64_t group = heads / kv_heads;
  if (sk == 0) {  // no keys: every row is fully masked
    std::fill(out, out + batch * sq * heads * dv, 0.0f);
    return;
  }
  // Query rows per block: keep the score block near 1 MiB (L2-sized), at least one row.
  const int64_t block = std::clamp<int64_t>((int64_t{1} << 18) / sk, 1, sq);
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const int64_t q_ld = heads * d, kv_ld = kv_heads * d, v_ld = kv_heads * dv, o_ld = heads * dv;
  // (batch, head) pairs run in parallel, each with single-threaded gemms (the sgemm called inside
  // an OpenMP region does not spawn threads of its own): BERT's heads are too small to split.
#pragma omp parallel
  {
    std::vector<float> scores(block * sk);
#pragma omp for collapse(2) schedule(static)
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t hk = h / group;
      const float* kb = k + b * sk * kv_ld + hk * d;
      const float* vb = v + b * sk * v_ld + hk * dv;
      for (int64_t i0 = 0; i0 < sq; i0 += block) {
        const int64_t rows = std::min(block, sq - i0);
        const float* qb = q + (b * sq + i0) * q_ld + h * d;
        float* ob = out + (b * sq + i0) * o_ld + h * dv;
        if (d == 0) {
          std::fill(scores.begin(), scores.begin() + rows * sk, 0.0f);
        } else {
          Gemm(false, true, rows, sk, d, scale, qb, q_ld, kb, kv_ld, 0.0f, scores.data(), sk);
        }
        for (int64_t r = 0; r < rows; ++r) {
          const int64_t i = i0 + r;
          float* s = scores.data() + r * sk;
          if (mask) {
            const float* m = mask + b * mask_strides[0] + h * mask_strides[1] + i * mask_strides[2];
            const int64_t ms = mask_strides[3];
            if (ms == 1) {
              for (int64_t j = 0; j < sk; ++j) s[j] += m[j];
            } else {
              for (int64_t j = 0; j < sk; ++j) s[j] += m[j * ms];
            }
          }
          if (causal) {
            for (int64_t j = i + 1; j < sk; ++j) s[j] = neg_inf;
          }
        }
        SafeSoftmaxRows(scores.data(), rows, sk, sk);
        Gemm(false, false, rows, dv, sk, 1.0f, scores.data(), sk, vb, v_ld, 0.0f, ob, o_ld);
      }
    }
  }
  }  // omp parallel
}

}  // namespace kiln_cpu
