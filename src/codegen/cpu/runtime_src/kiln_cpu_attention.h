// kiln_cpu: attention kernel (see kiln_cpu.h for the conventions).
#ifndef KILN_CPU_ATTENTION_H_
#define KILN_CPU_ATTENTION_H_

#include <cstdint>

namespace kiln_cpu {

/// out = softmax(scale * q @ k^T + mask [+ causal]) @ v per batch item and query head, f32.
///
/// Layout BSHD, dense row-major: q [batch, sq, heads, d], k [batch, sk, kv_heads, d],
/// v [batch, sk, kv_heads, dv], out [batch, sq, heads, dv]. Query head h reads key/value head
/// h / (heads / kv_heads) (grouped-query attention; pre: heads % kv_heads == 0).
/// `mask` (may be null) is an additive f32 mask read at
/// mask[b*mask_strides[0] + h*mask_strides[1] + i*mask_strides[2] + j*mask_strides[3]]; a stride
/// of 0 broadcasts that axis of [batch, heads, sq, sk]. `causal` hides key j > i from query i
/// (top-left aligned, as torch SDPA). A query row with every key hidden gets zeros. `scale` is
/// used as given (the emitter resolves the op's 0 = 1/sqrt(d)).
///
/// Two sgemm calls per (batch, head, block of query rows): scores = q k^T, then p v; the
/// (batch, head) pairs are spread over the OpenMP threads.
/// Allocates scratch for one block of scores (at most about 1 MiB, or one query row).
void Attention(const float* q, const float* k, const float* v, const float* mask,
               const int64_t* mask_strides, float* out, int64_t batch, int64_t sq, int64_t sk,
               int64_t heads, int64_t kv_heads, int64_t d, int64_t dv, bool causal, float scale);

}  // namespace kiln_cpu

#endif  // KILN_CPU_ATTENTION_H_
