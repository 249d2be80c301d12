// recognize-gelu: rewrites the exact GELU that ONNX exports (and PyTorch decompositions) write op
// by op into one `gelu` node, so that fuse-epilogue can put it in the producing gemm's epilogue
// (BERT's and ViT's FFN) instead of leaving a five-op elementwise kernel after the gemm.
//
// What: a product whose factors, however the muls group them, are exactly
//   x,  h (a one-element constant equal to 0.5),  add(erf(s), o) | add(o, erf(s))
// with o a one-element constant equal to 1 and s = div(x, r) with r equal to sqrt(2), or
// s = mul(x, q) | mul(q, x) with q equal to 1/sqrt(2),
//   -> gelu(x) {approximate=none}, keeping the product's name; and the tanh approximation
// (GPT-2's gelu_new) with the same factors x and h and
//   add(tanh(s), o) | add(o, tanh(s)),   s = (x + x^3 scaled by 0.044715) scaled by sqrt(2/pi)
// (x^3 as pow(x, 3), mul(mul(x, x), x) or mul(x, mul(x, x)); "scaled by c": mul by c in either
// order or div by 1/c; the add in either order)  -> gelu(x) {approximate=tanh}.
// The muls grouped away from the root (e.g. x * 0.5 first) and the links (s, erf / tanh, the add,
// the cubic) have no other users and are no graph outputs; x may have other users. Constants
// compare by their literal values to a relative 1e-3 (a model converted to f16 writes sqrt(2) as
// 1.4141).
//
// Not done here: 0.5 * x * erfc(-s), x * Phi(x) written through the normal CDF, the tanh form
// with x factored out of its cubic (x * (1 + 0.044715 x^2)), sigmoid-based approximations.
//
// Numerics: the same function; the gelu op evaluates it in f32 where the chain rounded each
// intermediate to its dtype.
//
// Preconditions: a verified graph, after constant folding (which leaves the constants above as
// single constants) and before the fusion passes (which would hide the chain in fusion nodes).
// Postconditions: a verified graph, interface names unchanged, the chains' nodes removed where
// nothing else uses them. Returns false, leaving the graph untouched, when nothing matches.
#ifndef KILN_PASSES_RECOGNIZE_GELU_H_
#define KILN_PASSES_RECOGNIZE_GELU_H_

#include "passes/pass.h"

namespace kiln {

/// See the file comment.
class RecognizeGeluPass : public Pass {
 public:
  std::string_view name() const override { return "recognize-gelu"; }
  StatusOr<bool> Run(Graph& graph) override;
};

}  // namespace kiln

#endif  // KILN_PASSES_RECOGNIZE_GELU_H_
