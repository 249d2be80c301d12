// recognize-attention: rewrites the unfused scaled-dot-product attention that ONNX and PyTorch
// exports produce into one `attention` node, so a backend can run it as a fused (flash-style)
// kernel instead of materialising the [B, H, Sq, Sk] scores in memory three times.
//
// What: the BHSD chain, anchored at a softmax over the last axis of a rank-4 tensor,
//   q4 = transpose(Q, [0,2,1,3])      Q [B,Sq,H,D]; optionally pre-scaled: mul/div of Q or q4 by
//                                     a one-element constant (either side of the transpose)
//   k4 = transpose(K, [0,2,1,3])      K [B,Sk,H,D]
//   v4 = transpose(V, [0,2,1,3])      V [B,Sk,H,Dv]
//   s  = gemm(q4, k4) {trans_b=true, alpha=a}        or gemm(q4, kt) with
//        kt = transpose(k4, [0,1,3,2]) or kt = transpose(K, [0,2,3,1]) (what simplification
//        makes of the two transposes)
//   s' = mul(s, c) | mul(c, s) | div(s, c)           optional; c a one-element constant
//   s''= add(s', m) | add(m, s')                     optional; m broadcasts to [B,H,Sq,Sk]
//   p  = softmax(s'') {axis=-1}
//   o  = gemm(p, v4)                                 [B,H,Sq,Dv]
//   y  = transpose(o, [0,2,1,3])                     optional, [B,Sq,H,Dv]
// becomes y = attention(Q, K, V[, m]) {scale=a*c} (scale 1.0 when no scale was present: the
// attention op reads 0 as 1/sqrt(D), so the exact matched factor is always stored). y keeps the
// final transpose's name. Without the final transpose (a consumer wants BHSD), o is replaced by
// transpose(attention(...), [0,2,1,3]), which keeps o's name.
//
// Conditions: s, s', s'' and p have exactly one user and are not graph outputs, and so has o
// when the final transpose is matched; both gemms have no c operand and no epilogue, the second
// has alpha 1 and no transposition; Q, K and V agree exactly on B and H (no broadcasting, no
// grouped-query heads); the constant scale is finite and the combined scale is not 0. The
// transposes of Q, K and V and the q pre-scale may have other users (they then stay).
//
// Not done here: causal patterns beyond an additive mask (a triangular -inf mask constant is
// matched as an ordinary mask and stays a mask operand; `where(tril, s, -inf)` forms and the
// `causal` flag are left for later), grouped-query attention (K/V heads expanded with
// expand/repeat), and scores built with matmul over 3-D [B*H, S, D] reshapes.
//
// Numerics: the same mathematical function. The attention op accumulates the scaled scores and
// the softmax in f32/f64, so f16/bf16 graphs differ by the rounding of the intermediate scores
// the unfused chain stored; a row whose mask is -inf everywhere yields zeros (as torch's SDPA)
// where the unfused softmax yields NaN.
//
// Preconditions: a verified graph (run after algebraic-simplification, before the fusion passes
// that would absorb the scale and mask arithmetic into gemm epilogues and fusion nodes).
// Postconditions: a verified graph; graph inputs and output names unchanged; the matched chain's
// nodes are removed where nothing else uses them. Returns false, leaving the graph untouched,
// when no chain matches.
#ifndef KILN_PASSES_RECOGNIZE_ATTENTION_H_
#define KILN_PASSES_RECOGNIZE_ATTENTION_H_

#include "passes/pass.h"

namespace kiln {

/// See the file comment.
class RecognizeAttentionPass : public Pass {
 public:
  std::string_view name() const override { return "recognize-attention"; }
  StatusOr<bool> Run(Graph& graph) override;
};

}  // namespace kiln

#endif  // KILN_PASSES_RECOGNIZE_ATTENTION_H_
