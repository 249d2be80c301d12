// recognize-norms: rewrites the decomposed layer norm, RMS norm and softmax that ONNX and PyTorch
// exports write op by op into the single `layer_norm`, `rms_norm` and `softmax` nodes, so a
// backend runs each as one reduction kernel (and recognize-attention, which anchors at
// `softmax`, sees exported attention whose softmax was decomposed).
//
// What (A and B stand for either operand order of a commutative mul/add):
//   layer norm, over the trailing axes a..rank-1 of x:
//     mean = reduce_mean(x) {axes=a..rank-1, keepdims}
//     d    = sub(x, mean)
//     sq   = mul(d, d) | pow(d, c2)                c2 a one-element constant equal to 2
//     var  = reduce_mean(sq) {the same axes, keepdims}
//     ve   = add(var, eps)                         eps a one-element constant, finite, >= 0
//     n    = div(d, sqrt(ve)) | mul(d, rsqrt(ve)) | mul(d, div(c1, sqrt(ve)))   c1 equal to 1
//     y    = add(mul(n, w), b)                     optional: w alone, or w then b
//   -> y = layer_norm(x[, w[, b]]) {axis=a-rank, eps}
//   RMS norm: the same chain without mean and d (x squared directly; n = x * rsqrt(...));
//     only a weight is absorbed   -> y = rms_norm(x[, w]) {axis=a-rank, eps}
//   softmax, along one axis a:
//     m = reduce_max(x) {axes=[a], keepdims}; z = sub(x, m)        optional (plain z = x)
//     e = exp(z); s = reduce_sum(e) {axes=[a], keepdims}; y = div(e, s)
//   -> y = softmax(x) {axis=a} (axis -1 when a is the last axis)
// y keeps its name; eps is the constant's literal value (which rounds to the element the chain
// added in its dtype). Written axes may be negative or not, in any order.
//
// Conditions: every intermediate (mean, d, sq, var, ve, the sqrt/rsqrt/reciprocal, n, mul(n, w),
// m, z, e, s) has only the chain's own users and is not a graph output (d is read exactly by sq
// and the normalising node, e exactly by s and the div); x may have other users. The reduced
// axes of a norm form a contiguous trailing block, as layer_norm / rms_norm normalise over
// x.shape[a:]; keepdims is set on every reduction. w and b are absorbed only when their shape is
// exactly x.shape[a:] (no broadcasting growth) and their dtype is x's; otherwise the mul/add
// stays after the norm. Float dtypes only (f32, f16, bf16). A layer norm whose mean or d has
// another user is not a layer norm here; its tail mean(d^2) -> rsqrt -> d * r is still an RMS
// norm of d and becomes rms_norm(d).
//
// Not done here: variance written as mean(x^2) - mean(x)^2, reduce_sum / D instead of
// reduce_mean, norms inside casts to f32 and back (HF Llama's `.to(float32)`), weights with
// leading 1-dims ([1,1,D]), bias without weight, group norm, log-softmax, softmax as
// mul(e, reciprocal(s)).
//
// Numerics: the same mathematical functions. The single ops accumulate in f32/f64 where the
// chain rounded each intermediate to its dtype, so results differ by that rounding; a softmax
// written without the max subtraction overflows to inf/NaN in the chain for large inputs, where
// the softmax op (which subtracts the maximum) stays finite.
//
// Preconditions: a verified graph (run after constant-folding, which turns constant eps / 2 / 1
// expressions into the single constants matched here, and before the fusion passes, which would
// absorb the chains' elementwise links into fusion nodes).
// Postconditions: a verified graph; graph inputs and output names unchanged; the matched chains'
// nodes (their eps/exponent constants included) are removed where nothing else uses them.
// Returns false, leaving the graph untouched, when nothing matches.
#ifndef KILN_PASSES_RECOGNIZE_NORMS_H_
#define KILN_PASSES_RECOGNIZE_NORMS_H_

#include "passes/pass.h"

namespace kiln {

/// See the file comment.
class RecognizeNormsPass : public Pass {
 public:
  std::string_view name() const override { return "recognize-norms"; }
  StatusOr<bool> Run(Graph& graph) override;
};

}  // namespace kiln

#endif  // KILN_PASSES_RECOGNIZE_NORMS_H_
