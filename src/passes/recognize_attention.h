// recognize-attention: rewrites the unfused scaled-dot-product attention that ONNX and PyTorch
// exports produce into one `attention` node, so a backend can run it as a fused (flash-style)
// kernel instead of materialising the [B, H, Sq, Sk] scores in memory three times.
//
// What: the BHSD chain, anchored at a softmax over the last axis of a rank-4 tensor,
//   q4 = transpose(Q, [0,2,1,3])      Q [B,Sq,H,D]; optionally pre-scaled: mul/div of Q or q4 by
//                                     a one-element constant (either side of the transpose)
//   k4 = transpose(K, [0,2,1,3])      K [B,Sk,Hkv,D]
//   v4 = transpose(V, [0,2,1,3])      V [B,Sk,Hkv,Dv]
//   k4, v4 may repeat their heads for grouped-query attention (HF `repeat_kv`), in BHSD after
//   the transpose or in BSHD before it: reshape(expand(unsqueeze(t))) where unsqueeze (or a
//   reshape) inserts a 1 right after the head axis, expand makes it a static G, and reshape
//   merges [Hkv, G] into H = Hkv*G heads (query head h reads K/V head h / G, as the op's GQA)
//   s  = gemm(q4, k4) {trans_b=true, alpha=a}        or gemm(q4, kt) with
//        kt = transpose(k4, [0,1,3,2]) or kt = transpose(K, [0,2,3,1]) (what simplification
//        makes of the two transposes)
//   s' = mul(s, c) | mul(c, s) | div(s, c)           optional; c a one-element constant
//   s''= up to two mask steps on s', in either order and either operand order:
//        add(s', m)                                  m broadcasts to [B,H,Sq,Sk]: mask operand
//        where(keep, s', f) | where(hide, f, s')     causal: keep[i,j] = (j <= i) (hide = not
//                                                    keep), f = -inf or a finite fill <= -1e4
//        add(s', cm)                                 causal: cm[i,j] = 0 for j <= i, and -inf
//                                                    or <= -1e4 for j > i
//   p  = softmax(s'') {axis=-1}
//   o  = gemm(p, v4)                                 [B,H,Sq,Dv]
//   y  = transpose(o, [0,2,1,3])                     optional, [B,Sq,H,Dv]
// becomes y = attention(Q, K, V[, m]) {scale=a*c[, causal=true]} with K and V of Hkv heads
// (scale 1.0 when no scale was present: the attention op reads 0 as 1/sqrt(D), so the exact
// matched factor is always stored). y keeps the final transpose's name. Without the final
// transpose (a consumer wants BHSD), o is replaced by transpose(attention(...), [0,2,1,3]),
// which keeps o's name.
//
// Causal masks: the attention op's causal flag hides key j from query i when j > i, counted
// from the top-left corner also when Sq != Sk (PyTorch's is_causal convention, not the
// bottom-right one of KV-cache decoding), so a mask is causal here only when its last two dims
// are the scores' Sq and Sk themselves (no broadcasting there) and each [Sq, Sk] matrix has
// exactly that pattern. keep/hide/cm are proven so by value: a sub-graph of constants (and
// weights with data, e.g. a registered `bias` buffer) of at most 32 nodes and 4M elements per
// tensor, evaluated on the reference interpreter (comparisons of index constants, casts and
// arithmetic fold away this way), or a slice of such a tensor that starts at 0 with step 1 on
// every sliced axis (GPT-2's bias[:, :, :S, :S] with symbolic S): every top-left window of a
// causal matrix is causal. The causal step's nodes are removed with the chain where nothing
// else uses them.
//
// Conditions: s, s', s'' (and the mask steps between them) and p have exactly one user and are
// not graph outputs, and so has o when the final transpose is matched; both gemms have no c
// operand and no epilogue, the second has alpha 1 and no transposition; Q, K and V agree
// exactly on B; Q has H heads and K, V (after undoing a repeat) the same Hkv heads with
// H = Hkv*G, G the repeat (1 without one; heads broadcast by the gemm itself are not matched);
// the constant scale is finite and the combined scale is not 0. The transposes of Q, K and V,
// the head repeats and the q pre-scale may have other users (they then stay).
//
// Not done here: a tiled head repeat (`k.repeat(1, G, 1, 1)`, head h reads h % Hkv), bottom-right
// aligned causal masks (Sq < Sk with the KV cache's diagonal), causal masks built from
// run-time values (the iota of a dynamic length), and scores built with matmul over 3-D
// [B*H, S, D] reshapes.
//
// Numerics: the same mathematical function. The attention op accumulates the scaled scores and
// the softmax in f32/f64, so f16/bf16 graphs differ by the rounding of the intermediate scores
// the unfused chain stored; a row whose mask is -inf everywhere yields zeros (as torch's SDPA)
// where the unfused softmax yields NaN. A finite causal fill f (HF's finfo.min, -1e9, -1e4)
// gives a hidden key the weight exp(f - max) (where) or exp(f + s - max) (add) in the chain and
// exactly 0 in the op; the two agree in f32, whose exp underflows to 0 below -104, whenever the
// row's scores lie within +-(|f| - 104) / 2 (+-4948 for f = -1e4). A row whose visible keys are
// all -inf-masked by another mask gets uniform weights over its hidden keys in the chain and
// zeros in the op.
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
