// pack-qkv: self-attention reads q, k and v in place from one projection's output. Without it,
// a transformer layer projects x three times (or once into [B, S, 3E] and then splits that, a
// copy of every q, k and v element: 23% of ViT-B/16's kernel time at batch 64 on an H100) before
// the attention kernel reads them. CUDA pipelines only (the CPU attention kernel takes dense
// q, k, v; the packed form is rejected there by name).
//
// What: attention(q, k, v[, mask]) {causal, scale} whose q, k and v are [B, S, H, D] (one shape,
// so self-attention with as many key/value heads as query heads), each a reshape of a
// [B, S, E] value (E = H * D), where those three values are either
//   - the results of split(x) {axis=-1, sizes=[E, E, E]}, x [B, S, 3E]: x is the projection; or
//   - three gemms of one a operand, not transposed, with the same trans_b and alpha, weights
//     (and bias epilogues, [bias] or none on all three) whose values are known at compile time,
//     each read only by its reshape: they become one gemm of the concatenated weights
//     "<wq>.qkv" ([3E, K] or [K, 3E]) and biases "<bq>.qkv" [3E], which is the projection x;
// becomes
//   attention(reshape(x) [B, S, 3, H, D][, mask]) {causal, scale, packed=true}
// (packed: q, k, v at index 0, 1, 2 of the third axis; the reshape is a view). The gemm form
// computes each output element with the same sum as before, so results are bit-identical.
//
// Runs after fuse-epilogue, so the projections' bias adds are already gemm epilogues.
// Preconditions: a verified graph. Postconditions: a verified graph computing the same values;
// returns false, with the graph untouched, when no attention qualifies.
#ifndef KILN_PASSES_PACK_QKV_H_
#define KILN_PASSES_PACK_QKV_H_

#include "passes/pass.h"

namespace kiln {

/// See the file comment.
class PackQkvPass : public Pass {
 public:
  std::string_view name() const override { return "pack-qkv"; }
  StatusOr<bool> Run(Graph& graph) override;
};

}  // namespace kiln

#endif  // KILN_PASSES_PACK_QKV_H_
